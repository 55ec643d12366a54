//! CardioRisk's backend: storage, services and the Tauri shell.

pub mod assessments;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod db;
pub mod gateway;
pub mod models;
pub mod patients;
pub mod private;
pub mod report;
pub mod service;
mod shell;
pub mod signals;
pub mod training;

pub use shell::run;
