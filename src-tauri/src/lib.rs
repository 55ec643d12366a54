//! The CardioRisk desktop app: the Tauri shell over `cardiorisk-core`.

mod shell;
mod stall;

pub use shell::run;
