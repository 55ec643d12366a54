//! The local REST gateway: the original system's external contract on 127.0.0.1,
//! with API keys, per-plan rate limits, the prediction cache and a log entry for
//! every request, committed before the answer leaves (`log.rs`). Off by default;
//! `cardiorisk serve` runs it without the window.

pub mod answer;
mod control;
mod internal;
pub mod limiter;
pub mod log;
mod server;

use crate::audit::{Action, Event, Status};
use crate::clients;
use crate::service::Services;
use answer::command_error;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use cardiorisk_contract::{CommandError, Measurements};
use limiter::{Clock, RateLimiter};
use log::RequestLog;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use control::Control;
pub use server::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS};

pub const RISK_PATH: &str = "/external/api/riesgocardiaco";
const SESSION_PATH: &str = "/internal/api/session";

/// argon2 computations at once. A password check takes one core for tens of
/// milliseconds; a key check well under one. Failures are not throttled by address
/// (on loopback every caller has the same one): wrong passwords lock their account
/// (`auth`), unknown names and prefixes cost no hash, and a wrong key is remembered.
const HASHING_AT_ONCE: usize = 1;
/// How long a request waits for its turn to hash before it is answered 503.
const HASHING_WAIT: Duration = Duration::from_secs(5);
/// A last resort for clients too slow to send their request; every handler answers
/// well within it (its waits are bounded above), so it never cuts a logged request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct Gateway {
    services: Arc<Services>,
    limiter: RateLimiter,
    log: RequestLog,
    hashing: tokio::sync::Semaphore,
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

/// A client's `X-Request-Id`, kept in the log line when it is a plain token
/// (letters, digits, `-`, `_`, `.`; at most 64), so a client can match its own
/// requests with the log.
fn request_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get("x-request-id")?.to_str().ok()?;
    (!id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| id.to_string())
}

fn outcome(status: StatusCode) -> Status {
    match status.as_u16() {
        200..=299 => Status::Ok,
        400 => Status::Invalid,
        401 | 403 | 423 | 429 => Status::Denied,
        _ => Status::Error,
    }
}

/// Who a request was answered for, carried on the response to the log layer: an
/// integration client, or the administrator whose token it carried.
#[derive(Clone)]
enum Caller {
    Client(i64),
    Person { user_id: i64, username: String },
}

fn for_client(mut response: Response, id: i64) -> Response {
    response.extensions_mut().insert(Caller::Client(id));
    response
}

fn for_person(mut response: Response, user_id: i64, username: &str) -> Response {
    response.extensions_mut().insert(Caller::Person {
        user_id,
        username: username.to_string(),
    });
    response
}

/// How a request is named in the log: a route's own method is implied
/// (`/external/api/riesgocardiaco`, `/internal/api/session`); any other request is
/// `METHOD path`, the path without its query (which could carry anything), at most
/// 100 characters.
fn endpoint(method: &Method, uri: &Uri) -> String {
    match (method, uri.path()) {
        (&Method::GET, RISK_PATH) => RISK_PATH.to_string(),
        (&Method::POST, SESSION_PATH) => SESSION_PATH.to_string(),
        (_, path) => format!("{method} {}", path.chars().take(100).collect::<String>()),
    }
}

/// Every request passes here, whatever answers it (a route, a fallback, a refused
/// body): its log entry is written, then the answer goes out; 503 when the entry
/// cannot be written.
async fn log_every_request(
    State(g): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let _in_flight = g.log.begin();
    let endpoint = endpoint(request.method(), request.uri());
    let id = request_id(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let mut detail = format!("{endpoint} {}", status.as_u16());
    if let Some(id) = id {
        detail.push_str(" id=");
        detail.push_str(&id);
    }
    let event = Event::new(Action::GatewayRequest, outcome(status), started).detail(detail);
    let event = match response.extensions().get::<Caller>() {
        Some(Caller::Client(id)) => event.about(format!("client:{id}")),
        Some(Caller::Person { user_id, username }) => event.by(*user_id, username),
        None => event.about("anonymous"),
    };
    match g.log.write(event).await {
        Ok(()) => response,
        Err(log::Unavailable) => answer::log_unavailable(),
    }
}

impl Gateway {
    /// Runs blocking work (argon2, the database) on the blocking pool, one hash at a
    /// time, so request handling threads never wait on it.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Response> {
        let _permit = tokio::time::timeout(HASHING_WAIT, self.hashing.acquire())
            .await
            .map_err(|_| answer::busy())?
            .map_err(|_| answer::busy())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| command_error(CommandError::internal("the check stopped")))
    }

    /// The client of `key`: from memory when it was checked before; otherwise by
    /// argon2 on the blocking pool when its prefix exists. A refusal that needed no
    /// hash is answered after as long as one takes, without holding a thread.
    async fn client_of(&self, key: &str) -> Result<clients::ClientAuth, Response> {
        if let Some(c) = self.services.cached_key(key) {
            return Ok(c);
        }
        if clients::prefix_of(key).is_none() {
            return Err(answer::invalid_key());
        }
        let services = Arc::clone(&self.services);
        let owned = key.to_string();
        let (outcome, not_before) = self
            .hashing(move || services.authenticate_key_paced(&owned))
            .await?;
        tokio::time::sleep_until(not_before.into()).await;
        match outcome {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(answer::invalid_key()),
            Err(e) => Err(command_error(e)),
        }
    }

    async fn risk(&self, headers: &HeaderMap, raw: Option<&str>) -> Response {
        let Some(key) = headers.get("api-Key").and_then(|v| v.to_str().ok()) else {
            return answer::missing_key();
        };
        let client = match self.client_of(key).await {
            Ok(c) => c,
            Err(r) => return r,
        };
        let answer = |response| for_client(response, client.id);
        if let Err(wait) = self.limiter.check(client.id, client.per_minute) {
            return answer(answer::rate_limited(client.per_minute, wait));
        }
        let pairs = query_pairs(raw);
        let inputs = match Measurements::parse(|name| first(&pairs, name)) {
            Ok(m) => m,
            Err(e) => return answer(answer::bad_parameters(&e.0, e.to_string())),
        };
        let (p, cached) = match self.services.score(&inputs) {
            Ok(scored) => scored,
            Err(e) => return answer(answer::model_failed(e.message)),
        };
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
        let data = json!({
            "riesgo_cardiaco": verdict,
            "valor": p.probability,
            "umbral": p.threshold,
            "banda": p.band.as_str(),
            "contribuciones": contributions,
            "version_modelo": p.model_version,
            "cache": cached,
        });
        answer(answer::ok(StatusCode::OK, data))
    }
}

async fn risk(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    g.risk(&headers, q.as_deref()).await
}

/// An unknown path: 404 in the envelope (logged like any request, by the log layer).
async fn not_found() -> Response {
    answer::not_found()
}

/// A known path with a method it does not take: 405.
async fn method_not_allowed() -> Response {
    answer::method_not_allowed()
}

fn router(state: Arc<Gateway>) -> Router {
    Router::new()
        .route(RISK_PATH, get(risk))
        .route(SESSION_PATH, post(internal::session))
        .route(
            "/internal/api/user",
            get(internal::list_clients)
                .post(internal::create_client)
                .delete(internal::delete_client),
        )
        .route("/internal/api/log", get(internal::logs))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            log_every_request,
        ))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
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

/// A running gateway; dropping it stops the server gracefully.
pub struct GatewayHandle {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GatewayHandle {
    /// Stops accepting, lets requests in flight finish (each with its log entry
    /// written), then returns.
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

    /// A sender that stops the server from another thread (a signal handler).
    pub fn stopper(&mut self) -> Option<tokio::sync::oneshot::Sender<()>> {
        self.shutdown.take()
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
    server::raise_descriptor_limit();
    let (log, writer) = RequestLog::start(Arc::clone(&services));
    let state = Arc::new(Gateway {
        services,
        limiter: RateLimiter::new(clock),
        log,
        hashing: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("cardiorisk-gateway".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(HASHING_AT_ONCE + 2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                server::serve(listener, router(state), async {
                    let _ = rx.await;
                })
                .await;
            });
            // Every task (and with them the log's senders) is gone: the writer ends
            // once the entries already queued are committed.
            drop(runtime);
            let _ = writer.join();
        })
        .expect("spawn the gateway");
    Ok(GatewayHandle {
        addr: local,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
