//! Commands that go through a native file dialog (the webview never sees or chooses
//! a path), and the data directory shown in Settings.

use super::{logged, on_blocking_pool as blocking, Reply, State};
use cardiorisk_contract::{
    AuditFilter, CommandError, ErrorCode, Language, ReportFormat, TrainRequest, TrainingStatus,
    Units,
};
use cardiorisk_core::audit::Action;
use cardiorisk_core::gateway::Control;
use std::path::PathBuf;
use std::sync::Arc;
use tauri_plugin_dialog::DialogExt;

/// The data directory in use, shown in Settings.
pub(super) struct DataDir(pub(super) PathBuf);

/// The support log's folder, shown in Settings and packed into the support bundle.
pub(super) struct SupportLog(pub(super) PathBuf);

/// What a native file dialog is for.
enum Pick {
    Save {
        name: String,
        filter: (&'static str, &'static [&'static str]),
    },
    Open {
        filter: (&'static str, &'static [&'static str]),
    },
}

/// Shows a native file dialog (the webview never sees or chooses paths itself);
/// `None` when the user cancels.
async fn pick(app: &tauri::AppHandle, what: Pick) -> Option<PathBuf> {
    let _shown = crate::stall::NativeDialog::shown();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = app.dialog().file();
    match what {
        Pick::Save { name, filter } => dialog
            .add_filter(filter.0, filter.1)
            .set_file_name(name)
            .save_file(move |p| {
                let _ = tx.send(p);
            }),
        Pick::Open { filter } => dialog.add_filter(filter.0, filter.1).pick_file(move |p| {
            let _ = tx.send(p);
        }),
    }
    rx.await.ok().flatten().and_then(|p| p.into_path().ok())
}

fn today() -> String {
    humantime::format_rfc3339(std::time::SystemTime::now())
        .to_string()
        .chars()
        .take(10)
        .collect()
}

const CSV: (&str, &[&str]) = ("CSV", &["csv"]);
const TEXT: (&str, &[&str]) = ("Text", &["txt"]);
const DATABASE: (&str, &[&str]) = ("CardioRisk backup", &["db", "sqlite"]);

/// Saves the filtered audit log as CSV where the user chooses; the path, or `None` if cancelled.
#[tauri::command(rename_all = "snake_case")]
pub(super) async fn export_audit(
    app: tauri::AppHandle,
    s: State<'_>,
    token: String,
    filter: AuditFilter,
) -> Reply<Option<String>> {
    logged(
        "export_audit",
        async {
            let check = token.clone();
            blocking(&s, move |s| {
                s.require_admin_for(&check, Action::AuditExported)
            })
            .await?;
            let name = format!("cardiorisk-audit-{}.csv", today());
            let Some(path) = pick(&app, Pick::Save { name, filter: CSV }).await else {
                return Ok(None);
            };
            let target = path.clone();
            blocking(&s, move |s| s.export_audit(&token, &filter, &target)).await?;
            Ok(Some(path.display().to_string()))
        }
        .await,
    )
}

#[tauri::command(rename_all = "snake_case")]
pub(super) async fn backup(
    app: tauri::AppHandle,
    s: State<'_>,
    token: String,
) -> Reply<Option<String>> {
    logged(
        "backup",
        async {
            let check = token.clone();
            blocking(&s, move |s| {
                s.require_admin_for(&check, Action::DatabaseBackup)
            })
            .await?;
            let name = format!("cardiorisk-backup-{}.db", today());
            let Some(path) = pick(
                &app,
                Pick::Save {
                    name,
                    filter: DATABASE,
                },
            )
            .await
            else {
                return Ok(None);
            };
            let target = path.clone();
            blocking(&s, move |s| s.backup(&token, &target)).await?;
            Ok(Some(path.display().to_string()))
        }
        .await,
    )
}

#[tauri::command(rename_all = "snake_case")]
pub(super) async fn restore(
    app: tauri::AppHandle,
    s: State<'_>,
    gateway: tauri::State<'_, Arc<Control>>,
    token: String,
) -> Reply<Option<String>> {
    logged(
        "restore",
        async {
            let check = token.clone();
            blocking(&s, move |s| {
                s.require_admin_for(&check, Action::DatabaseRestored)
            })
            .await?;
            let Some(path) = pick(&app, Pick::Open { filter: DATABASE }).await else {
                return Ok(None);
            };
            let (source, gateway) = (path.clone(), Arc::clone(gateway.inner()));
            blocking(&s, move |s| {
                s.restore(&token, &source)?;
                // The restored database has its own gateway setting (and clients).
                gateway.reload();
                Ok(())
            })
            .await?;
            Ok(Some(path.display().to_string()))
        }
        .await,
    )
}

/// Saves the patient's report (HTML or PDF, in the UI's language) where the user chooses.
#[tauri::command(rename_all = "snake_case")]
pub(super) async fn export_report(
    app: tauri::AppHandle,
    s: State<'_>,
    token: String,
    patient_id: i64,
    format: ReportFormat,
    language: Language,
    units: Units,
) -> Reply<Option<String>> {
    logged(
        "export_report",
        async {
            let kind = format;
            // Fails (session, unknown patient) before any dialog opens.
            let check = token.clone();
            let record = blocking(&s, move |s| s.patient_record(&check, patient_id)).await?;
            let name = format!(
                "cardiorisk-report-{}-{}.{}",
                record.patient.record_number.replace('/', "-"),
                today(),
                kind.as_str()
            );
            let filter = match kind {
                cardiorisk_core::report::Format::Html => ("HTML", &["html"][..]),
                cardiorisk_core::report::Format::Pdf => ("PDF", &["pdf"][..]),
            };
            let Some(path) = pick(&app, Pick::Save { name, filter }).await else {
                return Ok(None);
            };
            let target = path.clone();
            blocking(&s, move |s| {
                s.export_report(&token, patient_id, kind, language, units, &target)
            })
            .await?;
            Ok(Some(path.display().to_string()))
        }
        .await,
    )
}

/// Opens the system's print dialog for what the window shows (the webview's own
/// `window.print()` does nothing in WebKitGTK). Only the report page offers it.
#[tauri::command(rename_all = "snake_case")]
pub(super) fn print_page(window: tauri::WebviewWindow) -> Reply<()> {
    let _shown = crate::stall::NativeDialog::shown();
    window.print().map_err(|e| {
        CommandError::coded(
            ErrorCode::PrintingUnavailable,
            &[("detail", &e.to_string())],
        )
    })
}

#[tauri::command(rename_all = "snake_case")]
pub(super) async fn data_location(
    s: State<'_>,
    dir: tauri::State<'_, DataDir>,
    token: String,
) -> Reply<String> {
    let file = dir
        .0
        .join(cardiorisk_core::service::DB_FILE)
        .display()
        .to_string();
    super::off_main(s.inner(), move |s| s.require_admin(&token).map(|_| file)).await
}

/// Where the support log is, for any signed-in user.
#[tauri::command(rename_all = "snake_case")]
pub(super) async fn support_log_location(
    s: State<'_>,
    logs: tauri::State<'_, SupportLog>,
    token: String,
) -> Reply<String> {
    let dir = logs.0.display().to_string();
    super::off_main(s.inner(), move |s| s.keep_alive(&token).map(|_| dir)).await
}

/// Saves the support bundle (versions, the system, the support log; no patient
/// data) where the user chooses; the path, or `None` if cancelled.
#[tauri::command(rename_all = "snake_case")]
pub(super) async fn export_support_bundle(
    app: tauri::AppHandle,
    s: State<'_>,
    logs: tauri::State<'_, SupportLog>,
    token: String,
) -> Reply<Option<String>> {
    logged(
        "export_support_bundle",
        async {
            let check = token.clone();
            blocking(&s, move |s| s.keep_alive(&check)).await?;
            let name = format!("cardiorisk-support-{}.txt", today());
            let Some(path) = pick(&app, Pick::Save { name, filter: TEXT }).await else {
                return Ok(None);
            };
            let dir = logs.0.clone();
            let target = path.clone();
            blocking(&s, move |s| {
                let facts = super::support_facts(s);
                s.export_support_bundle(&token, &dir, &facts, &target)
            })
            .await?;
            Ok(Some(path.display().to_string()))
        }
        .await,
    )
}

/// Asks for the training CSV with the native dialog, then starts retraining;
/// `None` when the user cancels the dialog.
#[tauri::command(rename_all = "snake_case")]
pub(super) async fn start_training(
    app: tauri::AppHandle,
    s: State<'_>,
    token: String,
    request: TrainRequest,
) -> Reply<Option<TrainingStatus>> {
    logged(
        "start_training",
        async {
            let check = token.clone();
            blocking(&s, move |s| {
                s.require_admin_for(&check, Action::ModelTrained)
            })
            .await?;
            let Some(path) = pick(&app, Pick::Open { filter: CSV }).await else {
                return Ok(None);
            };
            blocking(&s, move |s| {
                s.start_training(&token, &path, &request).map(Some)
            })
            .await
        }
        .await,
    )
}
