//! The Tauri shell: window, state and the IPC commands, each a thin wrapper over
//! [`Services`]. Also starts the UI notifier, a bus subscriber.

use cardiorisk_contract::{
    ApiClient, AssessmentOutcome, AssessmentRecord, AuditFilter, AuditPage, CacheStats,
    CommandError, ErrorCode, ErrorKind, GatewayStatus, Measurements, ModelStatus, NewApiClient,
    NewUser, Patient, PatientInput, PatientRecord, Prediction, Preferences, Role, SessionInfo,
    UserInfo,
};
use cardiorisk_contract::{ModelCard, TrainingStatus};
use cardiorisk_core::gateway::Control;
use cardiorisk_core::service::{Services, DATA_DIR_ENV};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Emitter, Manager};

mod files;

use files::DataDir;

type State<'a> = tauri::State<'a, Arc<Services>>;
type Reply<T> = Result<T, CommandError>;

/// Runs a service call on the blocking pool: commands are async, so neither the
/// window's thread nor the async runtime's workers wait on hashing, the disk or the
/// model. A failure is noted in the support log under the command's name.
async fn off_main<S: Send + Sync + 'static, T: Send + 'static, F>(s: &Arc<S>, call: F) -> Reply<T>
where
    F: FnOnce(&S) -> Reply<T> + Send + 'static,
{
    logged(command_name::<F>(), on_blocking_pool(s, call).await)
}

/// [`off_main`] for a command that logs its own failure (one that also waits on a
/// file dialog, on the async side).
async fn on_blocking_pool<S: Send + Sync + 'static, T: Send + 'static, F>(
    s: &Arc<S>,
    call: F,
) -> Reply<T>
where
    F: FnOnce(&S) -> Reply<T> + Send + 'static,
{
    let s = Arc::clone(s);
    tauri::async_runtime::spawn_blocking(move || call(&s))
        .await
        .unwrap_or_else(|e| {
            Err(CommandError::coded(
                ErrorCode::CommandStopped,
                &[("detail", &e.to_string())],
            ))
        })
}

/// The command a closure was written in: "sign_in" for
/// `cardiorisk_app::shell::sign_in::{{closure}}::{{closure}}`.
fn command_name<F>() -> &'static str {
    let path = std::any::type_name::<F>();
    let path = path.split("::{{closure}}").next().unwrap_or(path);
    path.rsplit("::").next().unwrap_or(path)
}

/// Notes a failed command in the support log: its name, the error's code and, for a
/// failure inside the app, the underlying error's text. Never the other arguments:
/// they may name a patient, a user or a file.
pub(super) fn logged<T>(command: &str, reply: Reply<T>) -> Reply<T> {
    if let Err(e) = &reply {
        let code = e.code.as_str();
        if e.kind == ErrorKind::Internal {
            let detail = e
                .args
                .iter()
                .find(|(name, _)| name == "detail")
                .map(|(_, value)| value.as_str())
                .unwrap_or_default();
            tracing::error!(command, code, detail, "command failed");
        } else {
            tracing::info!(command, code, "command refused");
        }
    }
    reply
}

#[tauri::command(rename_all = "snake_case")]
async fn needs_setup(s: State<'_>) -> Reply<bool> {
    off_main(s.inner(), move |s| s.needs_setup()).await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_up(
    s: State<'_>,
    username: String,
    display_name: String,
    password: String,
) -> Reply<SessionInfo> {
    off_main(s.inner(), move |s| {
        s.set_up(&username, &display_name, &password)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
async fn sign_in(s: State<'_>, username: String, password: String) -> Reply<SessionInfo> {
    off_main(s.inner(), move |s| s.sign_in(&username, &password)).await
}

/// Where the app notes that its first screen is up and takes input, when
/// `scripts/bench-client.sh` asks (it measures the time from exec to that note).
pub const READY_FILE_ENV: &str = "CARDIORISK_READY_FILE";

/// When `run` began: start-up milestones are measured from here.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn since_start_ms() -> f64 {
    STARTED
        .get()
        .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0)
}

/// The UI's first screen is painted and takes input. The support log notes how long
/// start-up took and where the time went.
#[tauri::command(rename_all = "snake_case")]
async fn ui_ready(wasm_ms: f64, painted_ms: f64) -> Reply<()> {
    let ready = since_start_ms();
    let page_started = ready - painted_ms;
    tracing::info!(
        ready_ms = ready.round() as i64,
        page_started_ms = page_started.round() as i64,
        wasm_started_ms = (page_started + wasm_ms).round() as i64,
        "first screen ready"
    );
    if let Some(path) = std::env::var_os(READY_FILE_ENV) {
        let path = std::path::PathBuf::from(path);
        tauri::async_runtime::spawn_blocking(move || {
            let _ = cardiorisk_files::write_atomic(&path, b"ready\n");
        });
    }
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
async fn keep_alive(s: State<'_>, token: String) -> Reply<()> {
    off_main(s.inner(), move |s| s.keep_alive(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn sign_out(s: State<'_>, token: String) -> Reply<()> {
    off_main(s.inner(), move |s| s.sign_out(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn predict(
    s: State<'_>,
    token: String,
    patient_id: Option<i64>,
    inputs: Measurements,
) -> Reply<AssessmentOutcome> {
    off_main(s.inner(), move |s| s.assess(&token, patient_id, &inputs)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn what_if(s: State<'_>, token: String, inputs: Measurements) -> Reply<Prediction> {
    off_main(s.inner(), move |s| s.what_if(&token, &inputs)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn preferences(s: State<'_>) -> Reply<Preferences> {
    off_main(s.inner(), move |s| s.preferences()).await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_preference(s: State<'_>, token: String, key: String, value: String) -> Reply<()> {
    off_main(s.inner(), move |s| s.set_preference(&token, &key, &value)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn list_clients(s: State<'_>, token: String) -> Reply<Vec<ApiClient>> {
    off_main(s.inner(), move |s| s.list_clients(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn create_client(
    s: State<'_>,
    token: String,
    name: String,
    plan: String,
) -> Reply<NewApiClient> {
    off_main(s.inner(), move |s| s.create_client(&token, &name, &plan)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn delete_client(s: State<'_>, token: String, client_id: i64) -> Reply<()> {
    off_main(s.inner(), move |s| s.delete_client(&token, client_id)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn recent_assessments(
    s: State<'_>,
    token: String,
    limit: u32,
) -> Reply<Vec<AssessmentRecord>> {
    off_main(s.inner(), move |s| s.recent(&token, limit)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn model_status(s: State<'_>) -> Reply<ModelStatus> {
    off_main(s.inner(), move |s| Ok(s.model_status())).await
}

#[tauri::command(rename_all = "snake_case")]
async fn cache_stats(s: State<'_>, token: String) -> Reply<CacheStats> {
    off_main(s.inner(), move |s| s.cache_stats(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn create_patient(s: State<'_>, token: String, patient: PatientInput) -> Reply<Patient> {
    off_main(s.inner(), move |s| s.create_patient(&token, &patient)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn update_patient(
    s: State<'_>,
    token: String,
    patient_id: i64,
    patient: PatientInput,
) -> Reply<Patient> {
    off_main(s.inner(), move |s| {
        s.update_patient(&token, patient_id, &patient)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
async fn search_patients(
    s: State<'_>,
    token: String,
    query: String,
    limit: u32,
) -> Reply<Vec<Patient>> {
    off_main(s.inner(), move |s| s.search_patients(&token, &query, limit)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn patient_record(s: State<'_>, token: String, patient_id: i64) -> Reply<PatientRecord> {
    off_main(s.inner(), move |s| s.patient_record(&token, patient_id)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn audit_log(
    s: State<'_>,
    token: String,
    filter: AuditFilter,
    limit: u32,
    offset: u32,
) -> Reply<AuditPage> {
    off_main(s.inner(), move |s| s.audit(&token, &filter, limit, offset)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn list_users(s: State<'_>, token: String) -> Reply<Vec<UserInfo>> {
    off_main(s.inner(), move |s| s.list_users(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn create_user(s: State<'_>, token: String, user: NewUser) -> Reply<UserInfo> {
    off_main(s.inner(), move |s| s.create_user(&token, &user)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_user_disabled(s: State<'_>, token: String, user_id: i64, disabled: bool) -> Reply<()> {
    off_main(s.inner(), move |s| {
        s.set_disabled(&token, user_id, disabled)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_user_role(s: State<'_>, token: String, user_id: i64, role: Role) -> Reply<()> {
    off_main(s.inner(), move |s| s.set_role(&token, user_id, role)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn reset_password(
    s: State<'_>,
    token: String,
    user_id: i64,
    new_password: String,
) -> Reply<()> {
    off_main(s.inner(), move |s| {
        s.reset_password(&token, user_id, &new_password)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
async fn gateway_status(g: tauri::State<'_, Arc<Control>>, token: String) -> Reply<GatewayStatus> {
    off_main(g.inner(), move |g| g.status(&token)).await
}

/// Starting or stopping the gateway waits for its port and for requests in flight,
/// so it runs off the window's thread.
#[tauri::command(rename_all = "snake_case")]
async fn set_gateway(
    g: tauri::State<'_, Arc<Control>>,
    token: String,
    enabled: bool,
    port: u16,
) -> Reply<GatewayStatus> {
    off_main(g.inner(), move |g| g.set(&token, enabled, port)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn list_models(s: State<'_>, token: String) -> Reply<Vec<ModelCard>> {
    off_main(s.inner(), move |s| s.list_models(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn training_status(s: State<'_>, token: String) -> Reply<TrainingStatus> {
    off_main(s.inner(), move |s| s.training_status(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn cancel_training(s: State<'_>, token: String) -> Reply<()> {
    off_main(s.inner(), move |s| s.cancel_training(&token)).await
}

#[tauri::command(rename_all = "snake_case")]
async fn activate_model(s: State<'_>, token: String, version: String) -> Reply<()> {
    off_main(s.inner(), move |s| s.activate_model(&token, &version)).await
}

/// Sessions end after this long without a command: 15 minutes, or
/// `$CARDIORISK_IDLE_TIMEOUT_SECS` where a clinic wants another limit.
fn idle_timeout() -> std::time::Duration {
    std::env::var(IDLE_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(std::time::Duration::from_secs)
        .unwrap_or(cardiorisk_core::auth::IDLE_TIMEOUT)
}

pub const IDLE_TIMEOUT_ENV: &str = "CARDIORISK_IDLE_TIMEOUT_SECS";

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(app.path().app_data_dir()?),
    }
}

/// The support log's folder: the system's log folder for the app, or `logs` in a
/// data directory chosen with CARDIORISK_DATA_DIR (tests, portable use).
fn log_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir).join("logs")),
        _ => Ok(app.path().app_log_dir()?),
    }
}

/// Versions and the system, for the log's start line and the support bundle.
pub(super) fn support_facts(services: &Services) -> Vec<(&'static str, String)> {
    vec![
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("system", cardiorisk_core::support::system_description()),
        (
            "webview",
            tauri::webview_version().unwrap_or_else(|e| format!("unavailable ({e})")),
        ),
        ("model", {
            let model = services.model_status();
            format!("{} ({})", model.version, model.source)
        }),
    ]
}

/// Tells the UI about each committed event (Tauri event "audit"; the audit row
/// itself committed with the change) and about retraining progress as it happens
/// (Tauri event "training", a `TrainingStatus`), so the Model page never polls.
fn start_ui_notifier(services: &Services, app: tauri::AppHandle) {
    let app_for_training = app.clone();
    let mut events = services.subscribe();
    std::thread::Builder::new()
        .name("cardiorisk-notifier".into())
        .spawn(move || loop {
            match events.blocking_recv() {
                Ok(event) => {
                    let _ = app.emit("audit", &event.action);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        })
        .expect("spawn the UI notifier");
    let mut training = services.subscribe_training();
    let app = app_for_training;
    std::thread::Builder::new()
        .name("cardiorisk-training-feed".into())
        .spawn(move || loop {
            match training.blocking_recv() {
                Ok(status) => {
                    let _ = app.emit("training", &status);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        })
        .expect("spawn the training feed");
}

/// WebKitGTK draws a page of forms, tables and SVG charts faster and in less memory
/// without its GPU compositing and DMA-BUF renderer (ADR 0021): measured 890 -> 560 ms
/// to the first screen and 316 -> 235 MB PSS. A user's own setting of either wins.
#[cfg(target_os = "linux")]
fn prefer_simple_webkit_rendering() {
    for name in [
        "WEBKIT_DISABLE_COMPOSITING_MODE",
        "WEBKIT_DISABLE_DMABUF_RENDERER",
    ] {
        if std::env::var_os(name).is_none() {
            // Before any thread starts: nothing else reads the environment yet.
            std::env::set_var(name, "1");
        }
    }
}

/// Windows: the window needs the WebView2 Runtime (Windows 10 and 11 normally have it).
/// Without it, say so plainly in a box and on stderr, and stop (exit status 3), rather
/// than letting Tauri fail later with a panic.
#[cfg(windows)]
fn require_webview2() {
    if tauri::webview_version().is_ok() {
        return;
    }
    // No language is chosen before the window opens: every catalogue's text.
    let text = cardiorisk_i18n::Language::ALL
        .iter()
        .map(|&language| cardiorisk_i18n::text(language, "no-webview2-window"))
        .collect::<Vec<_>>()
        .join("\n\n");
    eprintln!("{text}");
    let _ = rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title("CardioRisk")
        .set_description(text)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
    std::process::exit(3);
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    #[cfg(windows)]
    require_webview2();
    #[cfg(target_os = "linux")]
    prefer_simple_webkit_rendering();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let setup_began = since_start_ms();
            let dir = data_dir(app)?;
            let logs = log_dir(app)?;
            if let Err(e) = cardiorisk_core::support::start_logging(&logs) {
                eprintln!("CardioRisk runs without its support log: {e}");
            }
            let services = match Services::open_with(&dir, idle_timeout()) {
                Ok(services) => services.shared(),
                Err(e) => {
                    tracing::error!(error = %e, "the data could not be opened");
                    return Err(e.into());
                }
            };
            let services_opened = since_start_ms();
            let facts = support_facts(&services);
            let fact = |name| facts.iter().find(|f| f.0 == name).map(|f| f.1.as_str());
            tracing::info!(
                version = fact("version"),
                system = fact("system"),
                webview = fact("webview"),
                model = fact("model"),
                "CardioRisk started"
            );
            app.manage(files::SupportLog(logs));
            app.manage(DataDir(dir));
            start_ui_notifier(&services, app.handle().clone());
            let gateway = Control::new(Arc::clone(&services));
            gateway.restore();
            app.manage(Arc::new(gateway));
            app.manage(services);
            let handle = app.handle().clone();
            cardiorisk_core::signals::on_stop_signal(move || {
                tracing::info!("stop signal received");
                handle.exit(0)
            });
            crate::stall::start(app.handle().clone());
            tracing::info!(
                window_ms = setup_began.round() as i64,
                services_ms = services_opened.round() as i64,
                setup_ms = since_start_ms().round() as i64,
                "services open"
            );
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            needs_setup,
            set_up,
            sign_in,
            sign_out,
            keep_alive,
            ui_ready,
            predict,
            what_if,
            preferences,
            set_preference,
            list_clients,
            create_client,
            delete_client,
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
            set_user_role,
            reset_password,
            gateway_status,
            set_gateway,
            files::export_audit,
            files::backup,
            files::restore,
            files::data_location,
            files::support_log_location,
            files::export_support_bundle,
            files::print_page,
            files::export_report,
            list_models,
            files::start_training,
            training_status,
            cancel_training,
            activate_model,
        ])
        .build(tauri::generate_context!())
        .expect("CardioRisk failed to start")
        .run(|app, event| {
            // Window closed, or SIGTERM/SIGINT: requests in flight on the gateway
            // finish with their log entries before the process ends.
            if let tauri::RunEvent::Exit = event {
                if let Some(gateway) = app.try_state::<Arc<Control>>() {
                    gateway.stop();
                }
                tracing::info!("CardioRisk stopped");
            }
        });
}
