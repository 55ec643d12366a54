//! CardioRisk's backend: storage, services and the Tauri shell.

pub mod assessments;
pub mod db;
pub mod models;
pub mod service;
mod shell;

pub use shell::run;
