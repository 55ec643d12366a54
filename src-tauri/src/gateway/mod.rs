//! The local REST gateway: the original system's external contract on 127.0.0.1,
//! with API keys, per-plan rate limits, the prediction cache and a log entry for
//! every request. Off by default; `cardiorisk serve` runs it without the window.

pub mod clients;
pub mod limiter;

use crate::audit::{Action, Event, Status};
use crate::service::Services;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cardiorisk_contract::{AuditFilter, CommandError, ErrorKind, Measurements};
use limiter::{Clock, RateLimiter};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const RISK_PATH: &str = "/external/api/riesgocardiaco";

struct Gateway {
    services: Arc<Services>,
    limiter: RateLimiter,
    log: mpsc::Sender<Event>,
    sent: AtomicU64,
    written: Arc<AtomicU64>,
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn error_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn command_error(e: CommandError) -> Response {
    reply(
        error_status(e.kind),
        json!({"message": e.message, "errors": e.fields}),
    )
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl Gateway {
    fn log(&self, started: Instant, status: StatusCode, endpoint: &str, client: Option<i64>) {
        let outcome = match status.as_u16() {
            200..=299 => Status::Ok,
            400 => Status::Invalid,
            401 | 403 | 429 => Status::Denied,
            _ => Status::Error,
        };
        let mut event = Event::new(Action::GatewayRequest, outcome, started)
            .detail(format!("{endpoint} {}", status.as_u16()));
        if let Some(id) = client {
            event = event.about(format!("client:{id}"));
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        let _ = self.log.send(event);
    }

    /// Waits (up to 2 s) until every request logged so far is in the audit log.
    async fn flush_log(&self) {
        let target = self.sent.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.written.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn risk(&self, headers: &HeaderMap, raw: Option<&str>) -> (Response, Option<i64>) {
        let Some(key) = headers.get("api-Key").and_then(|v| v.to_str().ok()) else {
            return (
                reply(
                    StatusCode::FORBIDDEN,
                    json!({"message": "missing api-Key header"}),
                ),
                None,
            );
        };
        let client = match self.services.authenticate_key(key) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return (
                    reply(StatusCode::FORBIDDEN, json!({"message": "invalid api-Key"})),
                    None,
                )
            }
            Err(e) => return (command_error(e), None),
        };
        if let Err(wait) = self.limiter.check(client.id, client.per_minute) {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"message": format!("rate limit of {} requests per minute exceeded; retry in {wait} s", client.per_minute)}),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return (r, Some(client.id));
        }
        let pairs = query_pairs(raw);
        let inputs = match Measurements::parse(|name| first(&pairs, name)) {
            Ok(m) => m,
            Err(e) => {
                return (
                    reply(
                        StatusCode::BAD_REQUEST,
                        json!({"message": e.to_string(), "errors": e.0}),
                    ),
                    Some(client.id),
                )
            }
        };
        let (p, cached) = self.services.score(&inputs);
        let verdict = if p.at_risk {
            "Si, existe riesgo cardíaco"
        } else {
            "No existe riesgo cardíaco"
        };
        let contributions: serde_json::Map<String, Value> = p
            .contributions
            .iter()
            .map(|c| (c.field.clone(), json!(c.value)))
            .collect();
        let body = json!({"status": "ok", "data": {
            "riesgo_cardiaco": verdict,
            "valor": p.probability,
            "umbral": p.threshold,
            "banda": p.band.as_str(),
            "contribuciones": contributions,
            "version_modelo": p.model_version,
            "cache": cached,
        }});
        (reply(StatusCode::OK, body), Some(client.id))
    }
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim()
        .to_string()
}

async fn risk(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let started = Instant::now();
    let (response, client) = g.risk(&headers, q.as_deref());
    g.log(started, response.status(), RISK_PATH, client);
    response
}

async fn session(State(g): State<Arc<Gateway>>, body: Option<Json<Value>>) -> Response {
    let started = Instant::now();
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    let field = |n: &str| {
        body.get(n)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let response = match g.services.sign_in(&field("username"), &field("password")) {
        Ok(s) => reply(
            StatusCode::OK,
            json!({"status": "ok", "data": {"token": s.token, "role": s.user.role}}),
        ),
        Err(e) => command_error(e),
    };
    g.log(started, response.status(), "/internal/api/session", None);
    response
}

async fn list_clients(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let response = match g.services.list_clients(&bearer(&headers)) {
        Ok(list) => reply(StatusCode::OK, json!({"status": "ok", "data": list})),
        Err(e) => command_error(e),
    };
    g.log(started, response.status(), "GET /internal/api/user", None);
    response
}

async fn create_client(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let started = Instant::now();
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    let name = body
        .get("name")
        .or_else(|| body.get("username"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let plan = body.get("plan").and_then(Value::as_str).unwrap_or("");
    let response = match g.services.create_client(&bearer(&headers), name, plan) {
        Ok(created) => reply(
            StatusCode::CREATED,
            json!({"status": "ok", "data": created}),
        ),
        Err(e) => command_error(e),
    };
    g.log(started, response.status(), "POST /internal/api/user", None);
    response
}

async fn delete_client(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Option<Json<Value>>,
) -> Response {
    let started = Instant::now();
    let pairs = query_pairs(q.as_deref());
    let id = first(&pairs, "id")
        .and_then(|v| v.parse::<i64>().ok())
        .or_else(|| body.and_then(|Json(v)| v.get("id").and_then(Value::as_i64)));
    let response = match id {
        None => reply(
            StatusCode::BAD_REQUEST,
            json!({"message": "id is missing: give the client's id as ?id=N"}),
        ),
        Some(id) => match g.services.delete_client(&bearer(&headers), id) {
            Ok(()) => {
                g.limiter.forget(id);
                reply(StatusCode::OK, json!({"status": "ok"}))
            }
            Err(e) => command_error(e),
        },
    };
    g.log(started, response.status(), "DELETE /internal/api/user", id);
    response
}

async fn logs(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let started = Instant::now();
    let pairs = query_pairs(q.as_deref());
    let text = |n: &str| first(&pairs, n).map(str::to_string);
    let number = |n: &str, default: u32| {
        first(&pairs, n)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let filter = AuditFilter {
        username: text("user"),
        action: text("action"),
        status: text("status"),
        from: text("from"),
        to: text("to"),
    };
    g.flush_log().await;
    let response = match g.services.audit(
        &bearer(&headers),
        &filter,
        number("limit", 100),
        number("offset", 0),
    ) {
        Ok(page) => reply(StatusCode::OK, json!({"status": "ok", "data": page})),
        Err(e) => command_error(e),
    };
    g.log(started, response.status(), "GET /internal/api/log", None);
    response
}

async fn not_found() -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"message": "no such endpoint"}),
    )
}

/// Lets request handling win the CPU over log writing: on a busy two-core laptop
/// the writer otherwise takes a time slice from a request now and then (the p99).
/// The log only lags; every event is still written, in order.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority on this thread's own id; no memory is touched.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        }
    }
}

/// Writes gateway log events in batches: one transaction per batch keeps logging
/// off the request's critical path and well above 20,000 requests per second.
fn start_log_writer(services: Arc<Services>, written: Arc<AtomicU64>) -> mpsc::Sender<Event> {
    let (tx, rx) = mpsc::channel::<Event>();
    std::thread::Builder::new()
        .name("cardiorisk-gateway-log".into())
        .spawn(move || {
            lower_priority();
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter().take(4999));
                if let Err(e) = services.record_batch(&batch) {
                    eprintln!("gateway log: {e}");
                }
                written.fetch_add(batch.len() as u64, Ordering::SeqCst);
            }
        })
        .expect("spawn the gateway log writer");
    tx
}

fn router(state: Arc<Gateway>) -> Router {
    Router::new()
        .route(RISK_PATH, get(risk))
        .route("/internal/api/session", post(session))
        .route(
            "/internal/api/user",
            get(list_clients).post(create_client).delete(delete_client),
        )
        .route("/internal/api/log", get(logs))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .with_state(state)
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the gateway listens on loopback only; {0} is not a loopback address")]
    NotLoopback(std::net::IpAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running gateway; dropping it stops the server.
pub struct GatewayHandle {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GatewayHandle {
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Blocks until the server stops.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts the gateway on `addr` (loopback only; port 0 picks a free port).
pub fn start(
    services: Arc<Services>,
    addr: SocketAddr,
    clock: Clock,
) -> Result<GatewayHandle, GatewayError> {
    if !addr.ip().is_loopback() {
        return Err(GatewayError::NotLoopback(addr.ip()));
    }
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| GatewayError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| GatewayError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| GatewayError::Bind { addr, source })?;
    let written = Arc::new(AtomicU64::new(0));
    let state = Arc::new(Gateway {
        log: start_log_writer(Arc::clone(&services), Arc::clone(&written)),
        services,
        limiter: RateLimiter::new(clock),
        sent: AtomicU64::new(0),
        written,
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("cardiorisk-gateway".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let _ = axum::serve(listener, router(state))
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        })
        .expect("spawn the gateway");
    Ok(GatewayHandle {
        addr: local,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// The in-app switch: the gateway is off unless an administrator turned it on; the
/// choice and the port are kept in the settings and restored at start-up.
pub struct Control {
    services: Arc<Services>,
    running: std::sync::Mutex<Option<GatewayHandle>>,
    error: std::sync::Mutex<Option<String>>,
}

const ENABLED_KEY: &str = "gateway.enabled";
const PORT_KEY: &str = "gateway.port";

impl Control {
    pub fn new(services: Arc<Services>) -> Self {
        Control {
            services,
            running: std::sync::Mutex::new(None),
            error: std::sync::Mutex::new(None),
        }
    }

    fn stored(&self) -> (bool, u16) {
        let enabled = self.services.setting(ENABLED_KEY).ok().flatten().as_deref() == Some("true");
        let port = self
            .services
            .setting(PORT_KEY)
            .ok()
            .flatten()
            .and_then(|p| p.parse().ok())
            .unwrap_or(cardiorisk_contract::DEFAULT_GATEWAY_PORT);
        (enabled, port)
    }

    fn apply(&self, enabled: bool, port: u16) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = running.take() {
            handle.stop();
        }
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        *error = None;
        if enabled {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            match start(Arc::clone(&self.services), addr, limiter::system_clock()) {
                Ok(handle) => *running = Some(handle),
                Err(e) => *error = Some(e.to_string()),
            }
        }
    }

    /// Starts the gateway if it was left on.
    pub fn restore(&self) {
        let (enabled, port) = self.stored();
        if enabled {
            self.apply(true, port);
        }
    }

    fn status_now(&self) -> cardiorisk_contract::GatewayStatus {
        let (enabled, port) = self.stored();
        let listening = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|h| h.addr.to_string());
        let error = self.error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        cardiorisk_contract::GatewayStatus {
            enabled,
            port,
            listening,
            error,
        }
    }

    pub fn status(&self, token: &str) -> Result<cardiorisk_contract::GatewayStatus, CommandError> {
        self.services.require_admin(token)?;
        Ok(self.status_now())
    }

    /// Turns the gateway on or off on `port` (1024 to 65535), and remembers it.
    pub fn set(
        &self,
        token: &str,
        enabled: bool,
        port: u16,
    ) -> Result<cardiorisk_contract::GatewayStatus, CommandError> {
        self.services.require_admin(token)?;
        if port < cardiorisk_contract::MIN_GATEWAY_PORT {
            return Err(CommandError::fields(vec![(
                "port".into(),
                format!(
                    "port must be from {} to 65535",
                    cardiorisk_contract::MIN_GATEWAY_PORT
                ),
            )]));
        }
        self.services.set_settings(
            token,
            &[
                (ENABLED_KEY, enabled.to_string()),
                (PORT_KEY, port.to_string()),
            ],
        )?;
        self.apply(enabled, port);
        Ok(self.status_now())
    }
}
