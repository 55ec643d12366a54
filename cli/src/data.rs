//! The commands that open a data directory: the vault's door for the terminal, each
//! unsealing the data with an account's password from the environment or typed at
//! the terminal, never a key on the command line.

use crate::prompt;
use cardiorisk_contract::AuditChainFault;
use cardiorisk_core::service::Services;
use cardiorisk_core::vault::{Lock, Vault};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The data directory: `--data-dir`, else $CARDIORISK_DATA_DIR, else the app's own.
fn data_dir_of(data_dir: Option<PathBuf>) -> Result<PathBuf, String> {
    Ok(data_dir
        .or_else(|| std::env::var_os(cardiorisk_core::service::DATA_DIR_ENV).map(PathBuf::from))
        .or_else(cardiorisk_core::platform::default_data_dir)
        .ok_or("no data directory: give --data-dir")?)
}

/// Opens the data with `username`'s password from the environment and signs in, as
/// the window's sign-in does (the database is sealed; only a password opens it).
fn sign_in(
    dir: &std::path::Path,
    username: &str,
) -> Result<(Services, cardiorisk_contract::SessionInfo), String> {
    let vault = Vault::new(dir);
    if vault.lock() == Lock::Fresh {
        return Err(format!(
            "no database in {} yet: run `cardiorisk setup` (or start the app) first",
            dir.display()
        ));
    }
    let password = prompt::secret("CARDIORISK_PASSWORD", &format!("{username}'s password"))?;
    let (services, session) = vault
        .sign_in_paced(username, &password)
        .map_err(|e| e.to_string())?;
    if let Some(recovery) = &session.recovery_key {
        print_recovery_key(recovery);
    }
    Ok((services, session))
}

/// The recovery key on stdout (for a printer or a file the administrator chooses),
/// the warning on stderr.
fn print_recovery_key(recovery: &str) {
    eprintln!(
        "RECOVERY KEY (shown only this once): print it or write it down and keep it away \
         from this computer. If every password is lost, only this key opens the data \
         (`cardiorisk recover`); without a password or this key the data cannot be recovered."
    );
    println!("{recovery}");
}

/// The REST gateway on 127.0.0.1:`port`, until SIGTERM or Ctrl-C.
pub fn serve(
    port: u16,
    username: Option<String>,
    data_dir: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let dir = data_dir_of(data_dir)?;
    let username = match username {
        Some(name) => name,
        None => std::env::var("CARDIORISK_USERNAME").map_err(|_| {
            "give --username, or set CARDIORISK_USERNAME, to the account that opens the data"
                .to_string()
        })?,
    };
    // Warnings and errors (a fallback model, a log entry that cannot be
    // written) to the terminal and to the size-capped support log.
    let logs = dir.join("logs");
    if let Err(e) = cardiorisk_core::support::start_logging_with_stderr(&logs) {
        eprintln!(
            "serve runs without its support log in {}: {e}",
            logs.display()
        );
    }
    let (services, session) = sign_in(&dir, &username)?;
    // The data is open; serve acts for API clients, not for this account.
    services
        .sign_out(&session.token)
        .map_err(|e| e.to_string())?;
    let services = services.shared();
    log_changes(&services);
    // A fallback to the built-in model was logged as a warning by `open`.
    tracing::info!(
        model = services.model().predictor.version(),
        port,
        "serve starting"
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let services_for_head = Arc::clone(&services);
    let mut server = cardiorisk_core::gateway::start(
        services,
        addr,
        cardiorisk_core::gateway::limiter::system_clock(),
    )
    .map_err(|e| e.to_string())?;
    let stop = server.stopper();
    cardiorisk_core::signals::on_stop_signal(move || {
        eprintln!("stopping: finishing requests in flight");
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
    });
    eprintln!("CardioRisk gateway listening on http://{}", server.addr);
    server.wait();
    services_for_head.keep_audit_head();
    eprintln!("CardioRisk gateway stopped; every answered request is in the log");
    Ok(ExitCode::SUCCESS)
}

/// First run without the window: the administrator, the data key and its wraps.
pub fn setup(
    username: &str,
    display_name: &str,
    data_dir: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let dir = data_dir_of(data_dir)?;
    let (_, session) = Vault::new(&dir)
        .set_up(
            username,
            display_name,
            &prompt::new_secret("CARDIORISK_PASSWORD", &format!("{username}'s password"))?,
        )
        .map_err(|e| e.to_string())?;
    eprintln!(
        "administrator {username} created; the data in {} is sealed",
        dir.display()
    );
    if let Some(recovery) = &session.recovery_key {
        print_recovery_key(recovery);
    }
    Ok(ExitCode::SUCCESS)
}

/// Sets an API plan's per-minute limit, as an administrator.
pub fn set_plan(
    name: &str,
    per_minute: u32,
    username: &str,
    data_dir: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let (services, session) = sign_in(&data_dir_of(data_dir)?, username)?;
    services
        .set_plan(&session.token, name, per_minute)
        .map_err(|e| e.to_string())?;
    eprintln!("plan {name}: {per_minute} requests per minute");
    Ok(ExitCode::SUCCESS)
}

/// A new password for `username`, the data opened with the recovery key.
pub fn recover(username: &str, data_dir: Option<PathBuf>) -> Result<ExitCode, String> {
    let dir = data_dir_of(data_dir)?;
    let recovery = prompt::secret("CARDIORISK_RECOVERY_KEY", "the recovery key")?;
    let new_password =
        prompt::new_secret("CARDIORISK_PASSWORD", &format!("{username}'s new password"))?;
    Vault::new(&dir)
        .recover(&recovery, username, &new_password)
        .map_err(|e| e.to_string())?;
    eprintln!("{username}'s password is set; it opens the data from now on");
    Ok(ExitCode::SUCCESS)
}

/// Checks the audit trail's chain: exit 0 when it holds, 1 with the first broken link.
pub fn audit_verify(username: &str, data_dir: Option<PathBuf>) -> Result<ExitCode, String> {
    let (services, session) = sign_in(&data_dir_of(data_dir)?, username)?;
    let report = services
        .verify_audit(&session.token)
        .map_err(|e| e.to_string())?;
    let zone = cardiorisk_core::platform::SystemZone::new();
    let local = |at: &str| {
        cardiorisk_contract::LocalTime::of(at, &zone)
            .map(|t| t.iso())
            .unwrap_or_else(|| at.to_string())
    };
    let before = match report.unchained {
        0 => String::new(),
        n => format!("; {n} earlier entries were written before the chain began"),
    };
    let since = report
        .chained_since
        .as_deref()
        .map(|at| format!(", chained since {}", local(at)))
        .unwrap_or_default();
    match report.broken {
        None => {
            println!(
                "audit trail verified: {} entries{since}{before}",
                report.entries
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            let what = match broken.reason {
                    AuditChainFault::Changed => {
                        "its content is not what was written, or it was moved"
                    }
                    AuditChainFault::Missing => "entries before it are missing",
                    AuditChainFault::Truncated => {
                        "it was recorded as the last entry and the log now ends before it: the newest entries were removed"
                    }
                    AuditChainFault::Unlinked => {
                        "it carries no link although the chain had begun"
                    }
                };
            println!(
                "audit trail BROKEN at entry {} ({}): {what}",
                broken.id,
                local(&broken.at)
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Notes in serve's support log each change of state committed while it runs
/// (accounts, clients, plans, settings, the model, a restore; never a patient's
/// data, and not the request lines, which the audit log keeps): entity, id and
/// operation only.
fn log_changes(services: &Services) {
    use cardiorisk_core::changes::Entity;
    use tokio::sync::broadcast::error::RecvError;
    let mut committed = services.subscribe_domain_changes();
    let spawned = std::thread::Builder::new()
        .name("cardiorisk-change-log".into())
        .spawn(move || loop {
            match committed.blocking_recv() {
                Ok(commit) => {
                    let changes = commit.iter().flat_map(|c| &c.changes);
                    for change in changes.filter(|c| c.entity != Entity::AuditEntry) {
                        tracing::info!(
                            entity = change.entity.as_str(),
                            id = %change.entity_id,
                            op = change.op.as_str(),
                            change = %change.id,
                            "change committed"
                        );
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the change feed fell behind")
                }
                Err(RecvError::Closed) => break,
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "serve runs without its change feed");
    }
}
