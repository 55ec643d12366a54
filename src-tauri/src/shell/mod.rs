//! The Tauri shell: window, state and the IPC commands (`commands.rs`, `files.rs`),
//! each a thin wrapper over [`Services`]. Also starts the UI notifier, a bus
//! subscriber.

use cardiorisk_contract::{CommandError, ErrorCode, ErrorKind, Preferences, SessionInfo};
use cardiorisk_core::gateway::Control;
use cardiorisk_core::service::{Services, DATA_DIR_ENV};
use cardiorisk_core::vault::{Lock, Vault};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tauri::{Emitter, Manager};

mod commands;
mod files;

use files::DataDir;

type Reply<T> = Result<T, CommandError>;

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

/// Notes in the support log how long start-up took and where the time went, once
/// the UI's first screen is painted and takes input (page milestones in ms of the
/// page's clock).
fn note_ui_ready(wasm_ms: f64, painted_ms: f64) {
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

/// An account whose password ([`UNLOCK_PASSWORD_ENV`]) opens the data at start, for a
/// computer whose gateway must answer with nobody signed in (as `cardiorisk serve`).
pub const UNLOCK_USERNAME_ENV: &str = "CARDIORISK_USERNAME";
pub const UNLOCK_PASSWORD_ENV: &str = "CARDIORISK_PASSWORD";

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
pub(super) fn support_facts(services: Option<&Services>) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("system", cardiorisk_core::support::system_description()),
        (
            "webview",
            tauri::webview_version().unwrap_or_else(|e| format!("unavailable ({e})")),
        ),
    ];
    if let Some(services) = services {
        let model = services.model_status();
        facts.push(("model", format!("{} ({})", model.version, model.source)));
    }
    facts
}

/// The display preferences of the sign-in screen, kept beside the sealed database
/// (they name no one): the clinic's language before anyone has signed in.
const SCREEN_PREFERENCES_FILE: &str = "screen-preferences.json";

/// The app's data: sealed until a first run or a sign-in opens it (`Vault`), then
/// the services for the rest of the process's life, with the UI notifier and the
/// gateway started on them.
pub(super) struct Data {
    vault: Vault,
    open: OnceLock<Arc<Services>>,
    /// One first run or unlocking sign-in at a time.
    opening: Mutex<()>,
}

impl Data {
    fn new(vault: Vault) -> Data {
        Data {
            vault,
            open: OnceLock::new(),
            opening: Mutex::new(()),
        }
    }

    pub(super) fn services(&self) -> Reply<Arc<Services>> {
        self.open
            .get()
            .cloned()
            .ok_or_else(|| CommandError::coded(ErrorCode::SignInFirst, &[]))
    }

    pub(super) fn needs_setup(&self) -> Reply<bool> {
        match self.open.get() {
            Some(services) => services.needs_setup(),
            None => Ok(self.vault.lock() == Lock::Fresh),
        }
    }

    pub(super) fn set_up(
        &self,
        app: &tauri::AppHandle,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Reply<SessionInfo> {
        let _one = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(services) = self.open.get() {
            return services.set_up(username, display_name, password);
        }
        let (services, session) = self.vault.set_up(username, display_name, password)?;
        self.install(app, services);
        Ok(session)
    }

    pub(super) fn sign_in(
        &self,
        app: &tauri::AppHandle,
        username: &str,
        password: &str,
    ) -> Reply<SessionInfo> {
        if let Some(services) = self.open.get() {
            return services.sign_in(username, password);
        }
        let _one = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(services) = self.open.get() {
            return services.sign_in(username, password);
        }
        let (services, session) = self.vault.sign_in_paced(username, password)?;
        self.install(app, services);
        Ok(session)
    }

    /// Opens the data at start without anyone at the screen (a computer whose gateway
    /// must answer after a restart), with an account's credentials from the
    /// environment, as `cardiorisk serve` does; nobody is signed in on screen.
    fn open_unattended(&self, app: &tauri::AppHandle, username: &str, password: &str) {
        match self.sign_in(app, username, password) {
            Ok(session) => {
                if let Ok(services) = self.services() {
                    let _ = services.sign_out(&session.token);
                }
                tracing::info!("the data was opened at start with {UNLOCK_USERNAME_ENV}");
            }
            Err(e) => tracing::error!(
                code = e.code.as_str(),
                "the data could not be opened at start"
            ),
        }
    }

    pub(super) fn preferences(&self) -> Reply<Preferences> {
        match self.open.get() {
            Some(services) => services.preferences(),
            None => Ok(read_screen_preferences(self.vault.dir()).unwrap_or_default()),
        }
    }

    pub(super) fn set_preference(&self, token: &str, key: &str, value: &str) -> Reply<()> {
        let services = self.services()?;
        services.set_preference(token, key, value)?;
        keep_screen_preferences(self.vault.dir(), &services);
        Ok(())
    }

    /// The data is open: the services for the rest of the process, and what runs on them.
    fn install(&self, app: &tauri::AppHandle, services: Services) {
        let services = services.shared();
        keep_screen_preferences(self.vault.dir(), &services);
        let facts = support_facts(Some(&services));
        let model = facts.iter().find(|f| f.0 == "model").map(|f| f.1.as_str());
        tracing::info!(model, "data opened");
        start_ui_notifier(&services, app.clone());
        let gateway = Control::new(Arc::clone(&services));
        gateway.restore();
        app.manage(Arc::new(gateway));
        let _ = self.open.set(services);
    }
}

/// The clinic's display preferences, for the sign-in screen of the next start.
fn keep_screen_preferences(dir: &Path, services: &Services) {
    let Ok(preferences) = services.preferences() else {
        return;
    };
    let file = dir.join(SCREEN_PREFERENCES_FILE);
    if read_screen_preferences(dir).as_ref() == Some(&preferences) {
        return;
    }
    let json = serde_json::to_vec(&preferences).expect("preferences serialise");
    if let Err(e) = cardiorisk_files::write_atomic(&file, &json) {
        tracing::warn!(error = %e, "the sign-in screen's preferences were not kept");
    }
}

fn read_screen_preferences(dir: &Path) -> Option<Preferences> {
    let bytes = cardiorisk_files::read_limited(&dir.join(SCREEN_PREFERENCES_FILE), 4096).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How often, at most, the UI hears that the audit log grew: the gateway can
/// commit thousands of request lines a second, and each notice reloads a page.
const AUDIT_NOTICE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Tells the UI what committed (Tauri event "audit": the distinct actions committed
/// since the last notice, gateway requests included, at most every
/// [`AUDIT_NOTICE_EVERY`]) and about retraining progress as it happens (Tauri event
/// "training", a `TrainingStatus`), so no page polls.
fn start_ui_notifier(services: &Services, app: tauri::AppHandle) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let app_for_training = app.clone();
    let mut committed = services.subscribe();
    std::thread::Builder::new()
        .name("cardiorisk-notifier".into())
        .spawn(move || {
            let mut last_notice: Option<std::time::Instant> = None;
            loop {
                let mut actions = Vec::new();
                let mut add = |commit: &[cardiorisk_core::service::Committed]| {
                    for c in commit {
                        if !actions.contains(&c.event.action) {
                            actions.push(c.event.action);
                        }
                    }
                };
                match committed.blocking_recv() {
                    Ok(commit) => add(&commit),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
                if let Some(wait) =
                    last_notice.and_then(|t| AUDIT_NOTICE_EVERY.checked_sub(t.elapsed()))
                {
                    std::thread::sleep(wait);
                }
                loop {
                    match committed.try_recv() {
                        Ok(commit) => add(&commit),
                        Err(TryRecvError::Lagged(_)) => {}
                        Err(_) => break,
                    }
                }
                let _ = app.emit("audit", &actions);
                last_notice = Some(std::time::Instant::now());
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
            // Sealed until a sign-in opens it: nothing of the database is read here.
            if let Err(e) = cardiorisk_core::private::create_private_dir(&dir) {
                tracing::error!(error = ?e, "the data directory could not be made private");
            }
            let vault = Vault::new(&dir).with_idle(idle_timeout());
            let lock = vault.lock();
            let services_opened = since_start_ms();
            let facts = support_facts(None);
            let fact = |name| facts.iter().find(|f| f.0 == name).map(|f| f.1.as_str());
            tracing::info!(
                version = fact("version"),
                system = fact("system"),
                webview = fact("webview"),
                data = ?lock,
                "CardioRisk started"
            );
            app.manage(files::SupportLog(logs));
            app.manage(DataDir(dir));
            app.manage(files::PendingRestore::default());
            let data = Arc::new(Data::new(vault));
            app.manage(Arc::clone(&data));
            if let (Some(username), Ok(password)) = (
                std::env::var_os(UNLOCK_USERNAME_ENV),
                std::env::var(UNLOCK_PASSWORD_ENV),
            ) {
                let app = app.handle().clone();
                let username = username.to_string_lossy().into_owned();
                // Hashing and opening off the window's thread.
                std::thread::spawn(move || data.open_unattended(&app, &username, &password));
            }
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
        .invoke_handler(commands::dispatch)
        .build(tauri::generate_context!())
        .expect("CardioRisk failed to start")
        .run(|app, event| {
            // Window closed, or SIGTERM/SIGINT: requests in flight on the gateway
            // finish with their log entries before the process ends.
            if let tauri::RunEvent::Exit = event {
                if let Some(gateway) = app.try_state::<Arc<Control>>() {
                    gateway.stop();
                }
                if let Some(services) = app.try_state::<Arc<Data>>().and_then(|d| d.services().ok())
                {
                    services.keep_audit_head();
                }
                tracing::info!("CardioRisk stopped");
            }
        });
}
