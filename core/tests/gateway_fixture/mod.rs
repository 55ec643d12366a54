//! A gateway on 127.0.0.1 over a fresh database, an administrator signed in through
//! it, and a clock the test moves; shared by the gateway test files.

#![allow(dead_code)] // each test file uses its own part

use super::support;
use cardiorisk_core::gateway::{self, limiter::Clock, GatewayHandle, RISK_PATH};
use cardiorisk_core::service::Services;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct Fixture {
    pub base: String,
    pub admin: String,
    pub now: Arc<AtomicU64>,
    pub services: Arc<Services>,
    _server: GatewayHandle,
    _dir: tempfile::TempDir,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let services = Arc::new(Services::open(dir.path(), &test_key()).unwrap());
    support::admin(&services);
    let now = Arc::new(AtomicU64::new(1_000_000_000_000));
    let t = Arc::clone(&now);
    let clock: Clock = Arc::new(move || t.load(Ordering::SeqCst));
    let server =
        gateway::start(Arc::clone(&services), "127.0.0.1:0".parse().unwrap(), clock).unwrap();
    let base = format!("http://{}", server.addr);
    let (_, body) = send(
        ureq::post(&format!("{base}/internal/api/session")),
        Some(json!({"username": "admin", "password": support::ADMIN_PASSWORD})),
    );
    let admin = body["data"]["token"].as_str().unwrap().to_string();
    Fixture {
        base,
        admin,
        now,
        services,
        _server: server,
        _dir: dir,
    }
}

pub fn send(req: ureq::Request, body: Option<Value>) -> (u16, Value) {
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    (status, response.into_json().unwrap_or(Value::Null))
}

impl Fixture {
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Creates a clinician account and returns its session token.
    pub fn clinician(&self, username: &str) -> String {
        support::clinician(&self.services, &self.admin, username, "Doc")
    }

    pub fn add_client(&self, name: &str, plan: &str) -> (i64, String) {
        let (status, body) = send(
            ureq::post(&format!("{}/internal/api/user", self.base))
                .set("Authorization", &format!("Bearer {}", self.admin)),
            Some(json!({"name": name, "plan": plan})),
        );
        assert_eq!(status, 201, "{body}");
        (
            body["data"]["client"]["id"].as_i64().unwrap(),
            body["data"]["api_key"].as_str().unwrap().to_string(),
        )
    }

    pub fn risk(&self, key: Option<&str>, query: &str) -> (u16, Value, Option<String>) {
        let mut req = ureq::get(&format!("{}{RISK_PATH}?{query}", self.base));
        if let Some(k) = key {
            req = req.set("api-Key", k);
        }
        let response = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let retry = response.header("Retry-After").map(str::to_string);
        let status = response.status();
        (status, response.into_json().unwrap_or(Value::Null), retry)
    }
}

pub const HIGH: &str = "colesterol=2.5&presion=1.6&glucosa=0.9&edad=45&sobrepeso=0&tabaquismo=0";
pub const LOW: &str = "colesterol=1.5&presion=1.0&glucosa=0.8&edad=30&sobrepeso=0&tabaquismo=1";

/// A raw HTTP/1.1 exchange, for requests ureq will not send as they are.
pub fn raw(f: &Fixture, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(f.base.trim_start_matches("http://")).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The data key these tests seal their databases with.
fn test_key() -> cardiorisk_core::keys::DataKey {
    cardiorisk_core::keys::DataKey::from_bytes([7; 32])
}
