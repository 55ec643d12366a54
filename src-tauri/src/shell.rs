//! The Tauri shell: window, state and the IPC commands, each a thin wrapper over [`Services`].

use crate::service::{Services, DATA_DIR_ENV};
use cardiorisk_contract::{
    AssessmentOutcome, AssessmentRecord, CommandError, Measurements, ModelStatus,
};
use std::path::PathBuf;
use tauri::Manager;

#[tauri::command(rename_all = "snake_case")]
fn predict(
    services: tauri::State<'_, Services>,
    inputs: Measurements,
) -> Result<AssessmentOutcome, CommandError> {
    services.assess(&inputs)
}

#[tauri::command(rename_all = "snake_case")]
fn recent_assessments(
    services: tauri::State<'_, Services>,
    limit: u32,
) -> Result<Vec<AssessmentRecord>, CommandError> {
    services.recent(limit)
}

#[tauri::command(rename_all = "snake_case")]
fn model_status(services: tauri::State<'_, Services>) -> ModelStatus {
    services.model_status()
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(app.path().app_data_dir()?),
    }
}

pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            let services = Services::open(&dir)?;
            app.manage(services);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            predict,
            recent_assessments,
            model_status
        ])
        .run(tauri::generate_context!())
        .expect("CardioRisk failed to start");
}
