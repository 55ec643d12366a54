//! CardioRisk's services with no UI framework in sight: storage, accounts and
//! sessions, patients, assessments, the audit log, models and retraining, backup and
//! restore, and the local REST gateway. The desktop app (Tauri shell), the
//! `cardiorisk` CLI and the tests all call these.

// SQLite3 Multiple Ciphers: linked here, for every binary that uses core.
use cardiorisk_sqlite as _;

pub mod assessments;
pub mod audit;
pub mod auth;
pub mod backup_file;
pub mod bounded;
pub mod cache;
pub mod changes;
pub mod clients;
pub mod db;
pub mod gateway;
pub mod keys;
pub mod models;
pub mod patients;
pub mod platform;
pub mod private;
pub mod report;
pub mod service;
pub mod signals;
pub mod support;
pub mod vault;

/// Where a test can stop the process dead, as a SIGKILL at that moment would
/// (`CARDIORISK_FAULT_AT=<name>`): for moments too short to hit at random. Debug
/// builds only; a release build never reads the variable.
pub(crate) fn fault_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("CARDIORISK_FAULT_AT").is_some_and(|at| at == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
