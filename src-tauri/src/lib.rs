//! The CardioRisk desktop app: the Tauri shell over `cardiorisk-core`, whose modules
//! are re-exported here.

pub use cardiorisk_core::*;

mod shell;
mod stall;

pub use shell::run;
