//! The CardioRisk desktop app: the Tauri shell over `cardiorisk-core`, whose modules
//! are re-exported here.

pub use cardiorisk_core::*;

mod shell;

pub use shell::run;
