//! Commands that go through a native file dialog (the webview never sees or chooses
//! a path), and the data directory shown in Settings.

use super::commands::{Cx, Handler};
use super::Reply;
use cardiorisk_contract::{command, CommandError, ErrorCode};
use cardiorisk_core::audit::Action;
use cardiorisk_core::service::BackupSecret;
use std::path::PathBuf;
use tauri::Manager;
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
impl Handler for command::ExportAudit {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let check = a.token.clone();
        cx.services(move |s| s.require_admin_for(&check, Action::AuditExported))
            .await?;
        let name = format!("cardiorisk-audit-{}.csv", today());
        let Some(path) = pick(&cx.app, Pick::Save { name, filter: CSV }).await else {
            return Ok(None);
        };
        let target = path.clone();
        cx.services(move |s| s.export_audit(&a.token, &a.filter, &target))
            .await?;
        Ok(Some(path.display().to_string()))
    }
}

impl Handler for command::Backup {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let check = a.token.clone();
        cx.services(move |s| s.require_admin_for(&check, Action::DatabaseBackup))
            .await?;
        let name = format!("cardiorisk-backup-{}.db", today());
        let filter = DATABASE;
        let Some(path) = pick(&cx.app, Pick::Save { name, filter }).await else {
            return Ok(None);
        };
        let target = path.clone();
        cx.services(move |s| s.backup(&a.token, &target)).await?;
        Ok(Some(path.display().to_string()))
    }
}

/// The backup the last restore dialog chose when another installation's seal stopped
/// it, kept for [`command::RestoreWithSecret`]: the webview never names a path.
#[derive(Default)]
pub(super) struct PendingRestore(std::sync::Mutex<Option<PathBuf>>);

impl PendingRestore {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<PathBuf>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Handler for command::Restore {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let check = a.token.clone();
        cx.services(move |s| s.require_admin_for(&check, Action::DatabaseRestored))
            .await?;
        let Some(path) = pick(&cx.app, Pick::Open { filter: DATABASE }).await else {
            return Ok(None);
        };
        let source = path.clone();
        let restored = cx.services(move |s| s.restore(&a.token, &source)).await;
        let pending = cx.app.state::<PendingRestore>();
        *pending.slot() = match &restored {
            Err(e) if e.code == ErrorCode::BackupFromElsewhere => Some(path.clone()),
            _ => None,
        };
        restored?;
        restored_from(&cx, path).await
    }
}

/// Restores the backup kept by [`PendingRestore`] with an account's password in it
/// or its installation's recovery key.
impl Handler for command::RestoreWithSecret {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let username = a.username.filter(|u| !u.trim().is_empty());
        let mut problems = Vec::new();
        if let Some(name) = &username {
            problems.extend(cardiorisk_contract::check_username(name).err());
        }
        if a.secret.trim().is_empty() || a.secret.len() > 256 {
            problems.push(cardiorisk_contract::FieldError::rule("secret", &[]));
        }
        if !problems.is_empty() {
            return Err(CommandError::fields(problems));
        }
        let Some(path) = cx.app.state::<PendingRestore>().slot().clone() else {
            return Err(CommandError::coded(
                ErrorCode::NotABackup,
                &[(
                    "detail",
                    "no backup is waiting: choose it again with Restore",
                )],
            ));
        };
        let source = path.clone();
        let secret = match username {
            Some(username) => BackupSecret::Password {
                username,
                password: a.secret,
            },
            None => BackupSecret::Recovery(a.secret),
        };
        cx.services(move |s| s.restore_with(&a.token, &source, Some(&secret)))
            .await?;
        *cx.app.state::<PendingRestore>().slot() = None;
        restored_from(&cx, path).await
    }
}

/// After a restore: the restored database has its own gateway setting (and clients).
async fn restored_from(cx: &Cx, path: PathBuf) -> Reply<Option<String>> {
    cx.gateway(|g| {
        g.reload();
        Ok(())
    })
    .await?;
    Ok(Some(path.display().to_string()))
}

/// Saves the patient's report (HTML or PDF, in the UI's language) where the user chooses.
impl Handler for command::ExportReport {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let kind = a.format;
        // Fails (session, unknown patient) before any dialog opens.
        let (check, patient_id) = (a.token.clone(), a.patient_id);
        let patient = cx
            .services(move |s| s.patient_for_report(&check, patient_id))
            .await?;
        let name = format!(
            "cardiorisk-report-{}-{}.{}",
            patient.record_number.replace('/', "-"),
            today(),
            kind.as_str()
        );
        let filter = match kind {
            cardiorisk_core::report::Format::Html => ("HTML", &["html"][..]),
            cardiorisk_core::report::Format::Pdf => ("PDF", &["pdf"][..]),
        };
        let Some(path) = pick(&cx.app, Pick::Save { name, filter }).await else {
            return Ok(None);
        };
        let target = path.clone();
        cx.services(move |s| {
            s.export_report(&a.token, patient_id, kind, a.language, a.units, &target)
        })
        .await?;
        Ok(Some(path.display().to_string()))
    }
}

/// Opens the system's print dialog for what the window shows (the webview's own
/// `window.print()` does nothing in WebKitGTK), after noting in the audit log whose
/// report it is. Only the report page offers it.
impl Handler for command::PrintReport {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        cx.services(move |s| s.report_printed(&a.token, a.patient_id))
            .await?;
        print_window(&cx)
    }
}

/// Prints the recovery key card the window shows alone (at first run, at the sealing of
/// an earlier release's data, or just reissued), through the webview's print dialog,
/// for the signed-in user it is shown to.
impl Handler for command::PrintRecoveryKey {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        cx.services(move |s| s.keep_alive(&a.token).map(|_| ()))
            .await?;
        print_window(&cx)
    }
}

/// The system's print dialog for what the window shows.
fn print_window(cx: &Cx) -> Reply<()> {
    let _shown = crate::stall::NativeDialog::shown();
    cx.webview.print().map_err(|e| {
        CommandError::coded(
            ErrorCode::PrintingUnavailable,
            &[("detail", &e.to_string())],
        )
    })
}

impl Handler for command::DataLocation {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let file = cx
            .app
            .state::<DataDir>()
            .0
            .join(cardiorisk_core::service::DB_FILE);
        let file = file.display().to_string();
        cx.services(move |s| s.require_admin(&a.token).map(|_| file))
            .await
    }
}

/// Where the support log is, for any signed-in user.
impl Handler for command::SupportLogLocation {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let dir = cx.app.state::<SupportLog>().0.display().to_string();
        cx.services(move |s| s.keep_alive(&a.token).map(|_| dir))
            .await
    }
}

/// Saves the support bundle (versions, the system, the support log; no patient
/// data) where the user chooses; the path, or `None` if cancelled.
impl Handler for command::ExportSupportBundle {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let check = a.token.clone();
        cx.services(move |s| s.keep_alive(&check)).await?;
        let name = format!("cardiorisk-support-{}.txt", today());
        let Some(path) = pick(&cx.app, Pick::Save { name, filter: TEXT }).await else {
            return Ok(None);
        };
        let dir = cx.app.state::<SupportLog>().0.clone();
        let target = path.clone();
        cx.services(move |s| {
            let facts = super::support_facts(Some(s));
            s.export_support_bundle(&a.token, &dir, &facts, &target)
        })
        .await?;
        Ok(Some(path.display().to_string()))
    }
}

/// Asks for the training CSV with the native dialog, then starts retraining;
/// `None` when the user cancels the dialog.
impl Handler for command::StartTraining {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let check = a.token.clone();
        cx.services(move |s| s.require_admin_for(&check, Action::ModelTrained))
            .await?;
        let Some(path) = pick(&cx.app, Pick::Open { filter: CSV }).await else {
            return Ok(None);
        };
        cx.services(move |s| s.start_training(&a.token, &path, &a.request).map(Some))
            .await
    }
}
