//! SQLite3 Multiple Ciphers, linked under rusqlite (see `build.rs`).
//!
//! Depend on this crate from every crate that opens a database, and name it once
//! (`use cardiorisk_sqlite as _;`) so that it is linked.

/// The SQLite3 Multiple Ciphers release compiled in, as `sqlite3mc_version()` reports it.
pub const SQLITE3MC_VERSION: &str = "SQLite3 Multiple Ciphers 2.6.1";
