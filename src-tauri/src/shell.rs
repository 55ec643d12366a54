//! The Tauri shell: window, state and the IPC commands, each a thin wrapper over
//! [`Services`]. Also starts the bus consumers: the audit writer and the UI notifier.

use crate::gateway::Control;
use crate::service::{Services, DATA_DIR_ENV};
use cardiorisk_contract::{
    AssessmentOutcome, AssessmentRecord, AuditFilter, AuditPage, CacheStats, CommandError,
    GatewayStatus, Measurements, ModelStatus, NewUser, Patient, PatientInput, PatientRecord,
    SessionInfo, UserInfo,
};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Emitter, Manager};

type State<'a> = tauri::State<'a, Arc<Services>>;
type Reply<T> = Result<T, CommandError>;

#[tauri::command(rename_all = "snake_case")]
fn needs_setup(s: State<'_>) -> Reply<bool> {
    s.needs_setup()
}

#[tauri::command(rename_all = "snake_case")]
fn set_up(
    s: State<'_>,
    username: String,
    display_name: String,
    password: String,
) -> Reply<SessionInfo> {
    s.set_up(&username, &display_name, &password)
}

#[tauri::command(rename_all = "snake_case")]
fn sign_in(s: State<'_>, username: String, password: String) -> Reply<SessionInfo> {
    s.sign_in(&username, &password)
}

#[tauri::command(rename_all = "snake_case")]
fn sign_out(s: State<'_>, token: String) -> Reply<()> {
    s.sign_out(&token)
}

#[tauri::command(rename_all = "snake_case")]
fn predict(
    s: State<'_>,
    token: String,
    patient_id: Option<i64>,
    inputs: Measurements,
) -> Reply<AssessmentOutcome> {
    s.assess(&token, patient_id, &inputs)
}

#[tauri::command(rename_all = "snake_case")]
fn recent_assessments(s: State<'_>, token: String, limit: u32) -> Reply<Vec<AssessmentRecord>> {
    s.recent(&token, limit)
}

#[tauri::command(rename_all = "snake_case")]
fn model_status(s: State<'_>) -> ModelStatus {
    s.model_status()
}

#[tauri::command(rename_all = "snake_case")]
fn cache_stats(s: State<'_>, token: String) -> Reply<CacheStats> {
    s.cache_stats(&token)
}

#[tauri::command(rename_all = "snake_case")]
fn create_patient(s: State<'_>, token: String, patient: PatientInput) -> Reply<Patient> {
    s.create_patient(&token, &patient)
}

#[tauri::command(rename_all = "snake_case")]
fn update_patient(
    s: State<'_>,
    token: String,
    patient_id: i64,
    patient: PatientInput,
) -> Reply<Patient> {
    s.update_patient(&token, patient_id, &patient)
}

#[tauri::command(rename_all = "snake_case")]
fn search_patients(s: State<'_>, token: String, query: String, limit: u32) -> Reply<Vec<Patient>> {
    s.search_patients(&token, &query, limit)
}

#[tauri::command(rename_all = "snake_case")]
fn patient_record(s: State<'_>, token: String, patient_id: i64) -> Reply<PatientRecord> {
    s.patient_record(&token, patient_id)
}

#[tauri::command(rename_all = "snake_case")]
fn audit_log(
    s: State<'_>,
    token: String,
    filter: AuditFilter,
    limit: u32,
    offset: u32,
) -> Reply<AuditPage> {
    s.audit(&token, &filter, limit, offset)
}

#[tauri::command(rename_all = "snake_case")]
fn list_users(s: State<'_>, token: String) -> Reply<Vec<UserInfo>> {
    s.list_users(&token)
}

#[tauri::command(rename_all = "snake_case")]
fn create_user(s: State<'_>, token: String, user: NewUser) -> Reply<UserInfo> {
    s.create_user(&token, &user)
}

#[tauri::command(rename_all = "snake_case")]
fn set_user_disabled(s: State<'_>, token: String, user_id: i64, disabled: bool) -> Reply<()> {
    s.set_disabled(&token, user_id, disabled)
}

#[tauri::command(rename_all = "snake_case")]
fn reset_password(s: State<'_>, token: String, user_id: i64, new_password: String) -> Reply<()> {
    s.reset_password(&token, user_id, &new_password)
}

#[tauri::command(rename_all = "snake_case")]
fn gateway_status(g: tauri::State<'_, Control>, token: String) -> Reply<GatewayStatus> {
    g.status(&token)
}

#[tauri::command(rename_all = "snake_case")]
fn set_gateway(
    g: tauri::State<'_, Control>,
    token: String,
    enabled: bool,
    port: u16,
) -> Reply<GatewayStatus> {
    g.set(&token, enabled, port)
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(app.path().app_data_dir()?),
    }
}

/// The audit consumer: every published event triggers a drain of the outbox into
/// the audit log, then the UI is told (Tauri event "audit").
fn start_audit_consumer(services: Arc<Services>, app: tauri::AppHandle) {
    let mut events = services.subscribe();
    std::thread::Builder::new()
        .name("cardiorisk-audit".into())
        .spawn(move || loop {
            match events.blocking_recv() {
                Ok(event) => {
                    if let Err(e) = services.drain_outbox() {
                        eprintln!("audit: {e}");
                    }
                    let _ = app.emit("audit", &event.action);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = services.drain_outbox();
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        })
        .expect("spawn the audit consumer");
}

pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            let services = Arc::new(Services::open(&dir)?);
            start_audit_consumer(Arc::clone(&services), app.handle().clone());
            let gateway = Control::new(Arc::clone(&services));
            gateway.restore();
            app.manage(gateway);
            app.manage(services);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            needs_setup,
            set_up,
            sign_in,
            sign_out,
            predict,
            recent_assessments,
            model_status,
            cache_stats,
            create_patient,
            update_patient,
            search_patients,
            patient_record,
            audit_log,
            list_users,
            create_user,
            set_user_disabled,
            reset_password,
            gateway_status,
            set_gateway,
        ])
        .run(tauri::generate_context!())
        .expect("CardioRisk failed to start");
}
