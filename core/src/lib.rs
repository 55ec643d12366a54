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
