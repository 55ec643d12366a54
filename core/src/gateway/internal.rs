//! The administration routes under `/internal/api`: sign-in for a bearer token,
//! integration clients (list, add, delete) and the audit log.

use super::answer::{self, body_rejected, command_error};
use super::{first, for_person, query_pairs, Gateway};
use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use cardiorisk_contract::AuditFilter;
use serde_json::{json, Value};
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
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    match json_body(&headers, body) {
        Err(rejection) => body_rejected(&rejection),
        Ok(body) => g.sign_in(&body).await,
    }
}

impl Gateway {
    /// Failures count against the name signed in with (its lock-out), never the
    /// caller's address; an unknown name is answered after a password check's time,
    /// waited here without holding the hashing turn or a thread.
    async fn sign_in(&self, body: &Value) -> Response {
        let field = |n: &str| {
            body.get(n)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let services = Arc::clone(&self.services);
        let (username, password) = (field("username"), field("password"));
        let (outcome, not_before) = match self
            .hashing(move || services.sign_in_paced(&username, &password))
            .await
        {
            Err(r) => return r,
            Ok(paced) => paced,
        };
        tokio::time::sleep_until(not_before.into()).await;
        match outcome {
            Ok(s) => for_person(
                answer::ok(
                    StatusCode::OK,
                    json!({"token": s.token, "role": s.user.role}),
                ),
                s.user.id,
                &s.user.username,
            ),
            Err(e) => command_error(e),
        }
    }

    /// The answer, naming the person whose token it carried in the log.
    fn by_token_owner(&self, token: &str, response: Response) -> Response {
        match self.services.session_owner(token) {
            Some((id, username)) => for_person(response, id, &username),
            None => response,
        }
    }
}

pub(super) async fn list_clients(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    let response = match g.services.list_clients(&token) {
        Ok(list) => answer::ok(StatusCode::OK, json!(list)),
        Err(e) => command_error(e),
    };
    g.by_token_owner(&token, response)
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
            let owner = token.clone();
            let response = match g
                .hashing(move || services.create_client(&token, &name, &plan))
                .await
            {
                Err(r) => r,
                Ok(Ok(created)) => answer::ok(StatusCode::CREATED, json!(created)),
                Ok(Err(e)) => command_error(e),
            };
            g.by_token_owner(&owner, response)
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
    g.by_token_owner(&bearer(&headers), response)
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
        patient: text("patient"),
        username: text("user"),
        action: text("action"),
        status: text("status"),
        from: text("from"),
        to: text("to"),
    };
    let token = bearer(&headers);
    let limit = number("limit", 100);
    // `before=<id>` pages by id (nothing skipped while the log grows); `offset`
    // is still read for callers of the original contract.
    let page = match first(&pairs, "offset") {
        Some(_) => g
            .services
            .audit(&token, &filter, limit, number("offset", 0)),
        None => {
            let before = match first(&pairs, "before").map(str::parse::<i64>) {
                None => None,
                Some(Ok(id)) => Some(id),
                Some(Err(_)) => {
                    return g.by_token_owner(
                        &token,
                        command_error(cardiorisk_contract::FieldError::rule("before", &[]).into()),
                    )
                }
            };
            g.services.audit_before(&token, &filter, limit, before)
        }
    };
    let response = match page {
        Ok(page) => {
            let next_before = (page.entries.len() as u32 == limit)
                .then(|| page.entries.last().map(|e| e.id))
                .flatten();
            let mut data = json!(page);
            data["next_before"] = json!(next_before);
            answer::ok(StatusCode::OK, data)
        }
        Err(e) => command_error(e),
    };
    g.by_token_owner(&token, response)
}
