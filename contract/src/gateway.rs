//! The local REST gateway and its integration clients, and the prediction cache: IPC types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
}

/// An integration client of the REST gateway (the original system's external user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub per_minute: u32,
    /// The key's public prefix, to tell keys apart; the key itself is never stored.
    pub key_prefix: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateClientArgs {
    pub token: String,
    pub name: String,
    pub plan: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientArgs {
    pub token: String,
    pub client_id: i64,
}

/// A newly created client with its key, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiClient {
    pub client: ApiClient,
    pub api_key: String,
}

/// The local REST gateway's setting and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayStatus {
    pub enabled: bool,
    pub port: u16,
    /// Where it listens now, e.g. "127.0.0.1:8080"; `None` when off.
    pub listening: Option<String>,
    /// Why it is not listening although enabled (e.g. the port is taken).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetGatewayArgs {
    pub token: String,
    pub enabled: bool,
    pub port: u16,
}

/// Ports below this are refused (they need privileges).
pub const MIN_GATEWAY_PORT: u16 = 1024;
pub const DEFAULT_GATEWAY_PORT: u16 = 8080;
