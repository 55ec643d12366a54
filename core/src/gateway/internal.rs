//! The administration routes under `/internal/api`: sign-in for a bearer token,
//! integration clients (list, add, delete) and the audit log.

use super::answer::{self, body_rejected, command_error};
use super::{first, for_client, query_pairs, Gateway};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use cardiorisk_contract::{AuditFilter, ErrorKind};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A JSON body: `Null` when none was sent (no content type), the rejection when one
/// was sent but cannot be read (too large, not JSON, malformed).
fn json_body(
    headers: &HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Value, JsonRejection> {
    match body {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_))
            if !headers.contains_key(header::CONTENT_TYPE) =>
        {
            Ok(Value::Null)
        }
        Err(rejection) => Err(rejection),
    }
}

pub(super) async fn session(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    match json_body(&headers, body) {
        Err(rejection) => body_rejected(&rejection),
        Ok(body) => g.sign_in(&body, peer).await,
    }
}

impl Gateway {
    async fn sign_in(&self, body: &Value, peer: SocketAddr) -> Response {
        let field = |n: &str| {
            body.get(n)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let address = peer.ip().to_string();
        if let Err(wait) = self.by_address.check(&address) {
            return answer::too_many_failures(wait);
        }
        let services = Arc::clone(&self.services);
        let (username, password) = (field("username"), field("password"));
        match self
            .hashing(move || services.sign_in(&username, &password))
            .await
        {
            Err(r) => r,
            Ok(Ok(s)) => answer::ok(
                StatusCode::OK,
                json!({"token": s.token, "role": s.user.role}),
            ),
            Ok(Err(e)) => {
                if matches!(e.kind, ErrorKind::Unauthenticated | ErrorKind::Locked) {
                    self.by_address.failed(&address);
                }
                command_error(e)
            }
        }
    }
}

pub(super) async fn list_clients(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    match g.services.list_clients(&bearer(&headers)) {
        Ok(list) => answer::ok(StatusCode::OK, json!(list)),
        Err(e) => command_error(e),
    }
}

pub(super) async fn create_client(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    match json_body(&headers, body) {
        Err(rejection) => body_rejected(&rejection),
        Ok(body) => {
            let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
            let name = text("name")
                .or_else(|| text("username"))
                .unwrap_or_default();
            let plan = text("plan").unwrap_or_default();
            let services = Arc::clone(&g.services);
            let token = bearer(&headers);
            match g
                .hashing(move || services.create_client(&token, &name, &plan))
                .await
            {
                Err(r) => r,
                Ok(Ok(created)) => answer::ok(StatusCode::CREATED, json!(created)),
                Ok(Err(e)) => command_error(e),
            }
        }
    }
}

pub(super) async fn delete_client(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let pairs = query_pairs(q.as_deref());
    let body = json_body(&headers, body);
    let id = first(&pairs, "id")
        .and_then(|v| v.parse::<i64>().ok())
        .or_else(|| {
            body.as_ref()
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_i64))
        });
    let response = match (body, id) {
        (Err(rejection), _) => body_rejected(&rejection),
        (Ok(_), None) => {
            answer::command_error(cardiorisk_contract::FieldError::rule("id", &[]).into())
        }
        (Ok(_), Some(id)) => match g.services.delete_client(&bearer(&headers), id) {
            Ok(()) => {
                g.limiter.forget(id);
                answer::ok(StatusCode::OK, json!({"deleted": id}))
            }
            Err(e) => command_error(e),
        },
    };
    match id {
        Some(id) => for_client(response, id),
        None => response,
    }
}

pub(super) async fn logs(
    State(g): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
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
    match g.services.audit(
        &bearer(&headers),
        &filter,
        number("limit", 100),
        number("offset", 0),
    ) {
        Ok(page) => answer::ok(StatusCode::OK, json!(page)),
        Err(e) => command_error(e),
    }
}
