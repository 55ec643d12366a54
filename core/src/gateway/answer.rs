//! Every answer of the gateway in the original system's envelope:
//! `{"status": "ok", "data": ...}` on success and `{"status": "error", "data": {...}}`
//! on every error, with the original's keys and Spanish wording (`message`, or
//! `error` for a 400 naming every parameter) and this gateway's details as extra keys
//! inside `data`: `detail` (English), `errors` (one entry per field),
//! `retry_after` (seconds).

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cardiorisk_contract::{CommandError, ErrorKind, FieldError, Problem, FIELDS};
use serde_json::{json, Map, Value};

pub fn ok(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({"status": "ok", "data": data}))).into_response()
}

/// An error in the envelope: `data` holds `message` (or whatever `key` says) and
/// every entry of `extra`.
fn error_with(status: StatusCode, key: &str, text: &str, extra: Value) -> Response {
    let mut data = Map::new();
    data.insert(key.into(), text.into());
    if let Value::Object(more) = extra {
        data.extend(more);
    }
    (
        status,
        Json(json!({"status": "error", "data": Value::Object(data)})),
    )
        .into_response()
}

pub fn error(status: StatusCode, message: &str, detail: impl Into<String>) -> Response {
    error_with(status, "message", message, json!({"detail": detail.into()}))
}

fn with_retry_after(mut response: Response, wait_secs: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    response
}

fn retry_later(status: StatusCode, message: &str, detail: String, wait_secs: u64) -> Response {
    with_retry_after(
        error_with(
            status,
            "message",
            message,
            json!({"detail": detail, "retry_after": wait_secs}),
        ),
        wait_secs,
    )
}

pub fn missing_key() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "No api-Key header detectado",
        "missing api-Key header",
    )
}

pub fn invalid_key() -> Response {
    error(StatusCode::FORBIDDEN, "No permitido", "invalid api-Key")
}

pub fn rate_limited(per_minute: u32, wait_secs: u64) -> Response {
    retry_later(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Limite de consultas ({per_minute}) alcanzado."),
        format!("rate limit of {per_minute} requests per minute exceeded; retry in {wait_secs} s"),
        wait_secs,
    )
}

/// The answer when the request log cannot be written: the request did not happen.
pub fn log_unavailable() -> Response {
    retry_later(
        StatusCode::SERVICE_UNAVAILABLE,
        "Servicio no disponible temporalmente",
        "the request log cannot be written (disk full or database busy); nothing was done, try again"
            .into(),
        5,
    )
}

pub fn busy() -> Response {
    retry_later(
        StatusCode::SERVICE_UNAVAILABLE,
        "Servicio ocupado",
        "too many key checks and sign-ins at once; try again".into(),
        1,
    )
}

pub fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Recurso no encontrado",
        "no such endpoint",
    )
}

pub fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Metodo no permitido",
        "this endpoint does not accept that method",
    )
}

pub fn model_failed(detail: String) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error interno del modelo",
        detail,
    )
}

/// The original system's name of a parameter and whether Spanish makes it feminine.
fn original_name(field: &str) -> (&'static str, bool) {
    match field {
        "colesterol" => ("Colesterol", false),
        "presion" => ("Presion", true),
        "glucosa" => ("Glucosa", true),
        "edad" => ("Edad", true),
        "sobrepeso" => ("Sobrepeso", false),
        "tabaquismo" => ("Tabaquismo", false),
        _ => ("Parametro", false),
    }
}

/// One problem in the original's words: "Colesterol no especificado".
fn original_words(e: &FieldError) -> String {
    let (name, feminine) = original_name(&e.field);
    let range = FIELDS
        .iter()
        .find(|f| f.name == e.field)
        .map(|f| format!("{} a {}", f.min, f.max))
        .unwrap_or_default();
    match e.problem {
        Problem::Missing => format!("{name} no especificad{}", if feminine { "a" } else { "o" }),
        Problem::NotANumber | Problem::NotFinite => format!("{name} no es un numero valido"),
        Problem::OutOfRange => format!("{name} fuera de rango ({range})"),
        Problem::NotWhole => format!("{name} debe ser un numero entero"),
        Problem::NotFlag => format!("{name} debe ser 0 o 1"),
        Problem::Invalid => format!("{name} no valido"),
    }
}

/// 400 naming every bad parameter, as the original did: `error` holds one string
/// (" Colesterol no especificado; Presion no especificada").
pub fn bad_parameters(errors: &[FieldError], english: String) -> Response {
    let text = format!(
        " {}",
        errors
            .iter()
            .map(original_words)
            .collect::<Vec<_>>()
            .join("; ")
    );
    error_with(
        StatusCode::BAD_REQUEST,
        "error",
        &text,
        json!({"detail": english, "errors": errors}),
    )
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
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

/// A service's refusal (administration endpoints, sign-in).
pub fn command_error(e: CommandError) -> Response {
    let message = match e.kind {
        ErrorKind::Invalid => "Solicitud no valida",
        ErrorKind::Unauthenticated => "No autenticado",
        ErrorKind::Forbidden => "No permitido",
        ErrorKind::Locked => "Cuenta bloqueada",
        ErrorKind::NotFound => "Recurso no encontrado",
        ErrorKind::Conflict => "Conflicto con el estado actual",
        ErrorKind::Internal => "Error interno",
    };
    error_with(
        status_of(e.kind),
        "message",
        message,
        json!({"detail": e.message, "errors": e.fields}),
    )
}

/// A JSON body that could not be read: too large (413), not JSON (415), malformed.
pub fn body_rejected(rejection: &JsonRejection) -> Response {
    let status = rejection.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Solicitud demasiado grande",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Se espera un cuerpo application/json",
        _ => "JSON no valido",
    };
    error(status, message, rejection.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parameters_read_as_the_original_did() {
        let errors: Vec<FieldError> = FIELDS
            .iter()
            .map(|f| FieldError::new(f, Problem::Missing))
            .collect();
        let words: Vec<String> = errors.iter().map(original_words).collect();
        assert_eq!(
            format!(" {}", words.join("; ")),
            " Colesterol no especificado; Presion no especificada; Glucosa no especificada; \
             Edad no especificada; Sobrepeso no especificado; Tabaquismo no especificado"
        );
    }
}
