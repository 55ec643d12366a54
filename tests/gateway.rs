//! The REST gateway against the real server on 127.0.0.1 and a real database file,
//! covering the original system's eleven test cases and more. Rate limits use an
//! injected clock, never sleeps.

mod support;

use cardiorisk_app::gateway::{self, limiter::Clock, GatewayHandle, RISK_PATH};
use cardiorisk_app::service::{Services, DB_FILE};
use cardiorisk_contract::{ErrorKind, Measurements};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Fixture {
    base: String,
    admin: String,
    now: Arc<AtomicU64>,
    services: Arc<Services>,
    _server: GatewayHandle,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let services = Arc::new(Services::open(dir.path()).unwrap());
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

fn send(req: ureq::Request, body: Option<Value>) -> (u16, Value) {
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
    fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Creates a clinician account and returns its session token.
    fn clinician(&self, username: &str) -> String {
        self.services
            .create_user(
                &self.admin,
                &cardiorisk_contract::NewUser {
                    username: username.into(),
                    display_name: "Doc".into(),
                    password: "clinician-pass-1".into(),
                    role: cardiorisk_contract::Role::Clinician,
                },
            )
            .unwrap();
        self.services
            .sign_in(username, "clinician-pass-1")
            .unwrap()
            .token
    }

    fn add_client(&self, name: &str, plan: &str) -> (i64, String) {
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

    fn risk(&self, key: Option<&str>, query: &str) -> (u16, Value, Option<String>) {
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

const HIGH: &str = "colesterol=2.5&presion=1.6&glucosa=0.9&edad=45&sobrepeso=0&tabaquismo=0";
const LOW: &str = "colesterol=1.5&presion=1.0&glucosa=0.8&edad=30&sobrepeso=0&tabaquismo=1";

#[test]
fn clients_are_added_listed_used_and_deleted() {
    let f = fixture();
    // 1. add a client: the key is shown once.
    let (id, key) = f.add_client("clinic-lab", "PREMIUM");
    assert!(key.starts_with("crk_"));
    // 2. list clients: plan and rate, never the key or its hash.
    let (status, body) = send(
        ureq::get(&format!("{}/internal/api/user", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["name"], "clinic-lab");
    assert_eq!(body["data"][0]["per_minute"], 50);
    assert!(
        !body.to_string().contains(&key[13..]),
        "the secret is not listed"
    );
    assert!(!body.to_string().contains("argon2"));
    // 3 and 6. a prediction, with the original's body.
    let (status, body, _) = f.risk(Some(&key), HIGH);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(
        body["data"]["riesgo_cardiaco"],
        "Si, existe riesgo cardíaco"
    );
    assert!(body["data"]["valor"].as_f64().unwrap() > 0.9);
    let (_, body, _) = f.risk(Some(&key), LOW);
    assert_eq!(body["data"]["riesgo_cardiaco"], "No existe riesgo cardíaco");
    // 10. the same request again is answered from the cache.
    let (_, first, _) = f.risk(
        Some(&key),
        "colesterol=2.2&presion=1.3&glucosa=1.3&edad=70&sobrepeso=1&tabaquismo=0",
    );
    let (_, again, _) = f.risk(
        Some(&key),
        "colesterol=2.2&presion=1.3&glucosa=1.3&edad=70&sobrepeso=1&tabaquismo=0",
    );
    assert_eq!(
        (
            first["data"]["cache"].as_bool(),
            again["data"]["cache"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(first["data"]["valor"], again["data"]["valor"]);
    // 11. delete the client: its key now gets 403.
    let (status, _) = send(
        ureq::delete(&format!("{}/internal/api/user?id={id}", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(f.risk(Some(&key), HIGH).0, 403);
    let (status, _) = send(
        ureq::delete(&format!("{}/internal/api/user?id={id}", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 404);
}

#[test]
fn missing_or_unknown_keys_get_403_in_the_original_envelope() {
    let f = fixture();
    // 4. invalid key.
    let (status, body, _) = f.risk(None, HIGH);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"status": "error", "data": {"message": "No api-Key header detectado", "detail": "missing api-Key header"}})
    );
    for key in [
        "nope",
        "crk_00000000_000000000000000000000000000000000000000000000000",
    ] {
        let (status, body, _) = f.risk(Some(key), HIGH);
        assert_eq!(status, 403);
        assert_eq!(body["status"], "error");
        assert_eq!(body["data"]["message"], "No permitido", "{body}");
        assert_eq!(body["data"]["detail"], "invalid api-Key");
    }
}

#[test]
fn bad_parameters_get_400_naming_every_one() {
    let f = fixture();
    let (_, key) = f.add_client("c", "PREMIUM");
    // 5. invalid request.
    let (status, body, _) = f.risk(
        Some(&key),
        "colesterol=9&presion=abc&glucosa=1.0&edad=40.5&sobrepeso=1",
    );
    assert_eq!(status, 400);
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["data"]["error"],
        " Colesterol fuera de rango (1 a 3); Presion no es un numero valido; \
         Edad debe ser un numero entero; Tabaquismo no especificado",
        "{body}"
    );
    let fields: Vec<&str> = body["data"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["colesterol", "presion", "edad", "tabaquismo"]);
    assert!(body["data"]["detail"]
        .as_str()
        .unwrap()
        .contains("colesterol is out of range: valid is 1.0 to 3.0 g/L"));
    // Nothing given: every parameter named, in the original's words.
    let (status, body, _) = f.risk(Some(&key), "");
    assert_eq!(status, 400);
    assert_eq!(
        body["data"]["error"],
        " Colesterol no especificado; Presion no especificada; Glucosa no especificada; \
         Edad no especificada; Sobrepeso no especificado; Tabaquismo no especificado"
    );
    // Malformed encodings do not crash the server.
    let (status, _, _) = f.risk(Some(&key), "colesterol=%ZZ&presion=%&&&==");
    assert_eq!(status, 400);
    assert_eq!(f.risk(Some(&key), HIGH).0, 200, "still serving");
}

#[test]
fn plans_limit_requests_in_any_60_seconds_and_say_when_to_retry() {
    let f = fixture();
    let (_, premium) = f.add_client("premium", "PREMIUM");
    let (_, free) = f.add_client("free", "FREEMIUM");
    // 15 s into a minute (1_000_000_020_000 ms is a multiple of 60 000).
    let start = 1_000_000_020_000 + 15_000;
    f.now.store(start, Ordering::SeqCst);
    // 7. the 51st PREMIUM request within 60 s gets 429.
    for i in 0..50 {
        assert_eq!(f.risk(Some(&premium), HIGH).0, 200, "request {}", i + 1);
    }
    let (status, body, retry) = f.risk(Some(&premium), HIGH);
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body["data"]["message"], "Limite de consultas (50) alcanzado.",
        "{body}"
    );
    assert_eq!(
        retry.as_deref(),
        Some("61"),
        "60.1 s until the first leaves"
    );
    assert_eq!(body["data"]["retry_after"], 61);
    // 8. the 6th FREEMIUM request gets 429.
    for _ in 0..5 {
        assert_eq!(f.risk(Some(&free), LOW).0, 200);
    }
    assert_eq!(f.risk(Some(&free), LOW).0, 429);
    // The next calendar minute is no new window: 45 s later, still refused.
    f.now.store(start + 45_000, Ordering::SeqCst);
    assert_eq!(f.risk(Some(&free), LOW).0, 429);
    // Once 60 s have passed since the first answers, they are allowed again.
    f.now.store(start + 60_100, Ordering::SeqCst);
    assert_eq!(f.risk(Some(&free), LOW).0, 200);
    assert_eq!(f.risk(Some(&premium), LOW).0, 200);
}

#[test]
fn ten_requests_across_a_minute_boundary_give_five_answers_then_429() {
    let f = fixture();
    let (_, free) = f.add_client("free", "FREEMIUM");
    let minute = 1_000_000_020_000;
    f.now.store(minute + 57_800, Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(f.risk(Some(&free), LOW).0, 200);
    }
    f.now.store(minute + 60_000 + 400, Ordering::SeqCst);
    for _ in 0..5 {
        let (status, body, retry) = f.risk(Some(&free), LOW);
        assert_eq!(status, 429, "{body}");
        assert_eq!(retry.as_deref(), Some("58"));
    }
}

#[test]
fn every_request_is_logged_with_its_time_status_and_client_never_the_key() {
    let f = fixture();
    let (id, key) = f.add_client("logged", "PREMIUM");
    f.risk(Some(&key), HIGH);
    f.risk(Some(&key), "colesterol=9");
    f.risk(Some("bad"), HIGH);
    // 9. query the logs.
    let (status, body) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=gateway.request&limit=50",
            f.base
        ))
        .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let entries = body["data"]["entries"].as_array().unwrap();
    let risk: Vec<&Value> = entries
        .iter()
        .filter(|e| e["detail"].as_str().unwrap().starts_with(RISK_PATH))
        .collect();
    assert_eq!(risk.len(), 3, "{body}");
    let details: Vec<&str> = risk.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert!(details.contains(&format!("{RISK_PATH} 200").as_str()));
    assert!(details.contains(&format!("{RISK_PATH} 400").as_str()));
    assert!(details.contains(&format!("{RISK_PATH} 403").as_str()));
    assert!(risk.iter().all(|e| e["elapsed_ms"].as_f64().unwrap() > 0.0));
    assert!(risk.iter().any(|e| e["subject"] == format!("client:{id}")));
    assert!(!body.to_string().contains(&key), "the key is never logged");
    drop(f.services);
}

#[test]
fn administration_needs_an_administrator_token() {
    let f = fixture();
    let url = format!("{}/internal/api/user", f.base);
    assert_eq!(send(ureq::get(&url), None).0, 401);
    assert_eq!(
        send(ureq::get(&url).set("Authorization", "Bearer forged"), None).0,
        401
    );
    assert_eq!(
        send(ureq::get(&format!("{}/internal/api/log", f.base)), None).0,
        401
    );
    let doc = f.clinician("doc");
    assert_eq!(
        send(
            ureq::get(&url).set("Authorization", &format!("Bearer {doc}")),
            None
        )
        .0,
        403
    );
    let (status, body) = send(
        ureq::post(&url).set("Authorization", &format!("Bearer {}", f.admin)),
        Some(json!({"name": "x", "plan": "GOLD"})),
    );
    assert_eq!(status, 400);
    assert_eq!(body["data"]["errors"][0]["field"], "plan", "{body}");
    assert_eq!(send(ureq::get(&format!("{}/nothing", f.base)), None).0, 404);
}

#[test]
fn only_loopback_addresses_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let services = Arc::new(Services::open(dir.path()).unwrap());
    let err = gateway::start(
        services,
        "0.0.0.0:0".parse().unwrap(),
        gateway::limiter::system_clock(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("loopback only"), "{err}");
}

#[test]
fn the_in_app_switch_is_off_by_default_and_remembers_its_port() {
    use cardiorisk_app::gateway::Control;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    {
        let services = Arc::new(Services::open(dir.path()).unwrap());
        let token = support::admin(&services);
        let control = Control::new(Arc::clone(&services));
        control.restore();
        let status = control.status(&token).unwrap();
        assert_eq!((status.enabled, status.listening), (false, None));
        assert_eq!(
            control.set(&token, true, 80).unwrap_err().fields[0].field,
            "port"
        );
        let status = control.set(&token, true, port).unwrap();
        assert_eq!(status.listening, Some(format!("127.0.0.1:{port}")));
        assert_eq!(
            send(
                ureq::get(&format!("http://127.0.0.1:{port}{RISK_PATH}")),
                None
            )
            .0,
            403
        );
    }
    // A restart brings it back on the same port.
    let services = Arc::new(Services::open(dir.path()).unwrap());
    let token = support::sign_in_admin(&services);
    let control = Control::new(Arc::clone(&services));
    control.restore();
    assert_eq!(
        control.status(&token).unwrap().listening,
        Some(format!("127.0.0.1:{port}"))
    );
    let off = control.set(&token, false, port).unwrap();
    assert_eq!((off.enabled, off.listening), (false, None));
    assert!(ureq::get(&format!("http://127.0.0.1:{port}{RISK_PATH}"))
        .call()
        .is_err());
}

#[test]
fn wrong_secrets_for_a_real_prefix_are_throttled_before_any_hash_and_valid_keys_still_pass() {
    let f = fixture();
    let (_, key) = f.add_client("target", "PREMIUM");
    assert_eq!(
        f.risk(Some(&key), LOW).0,
        200,
        "the valid key is now cached"
    );
    let prefix = &key[..13]; // "crk_" + 8 hex + "_"
    let wrong = format!("{prefix}{}", "0".repeat(48));
    for _ in 0..5 {
        assert_eq!(f.risk(Some(&wrong), LOW).0, 403);
    }
    let (status, body, retry) = f.risk(Some(&wrong), LOW);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["status"], "error");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        f.risk(Some(&key), LOW).0,
        200,
        "a valid client is not locked out"
    );
    // Tokens return with time (injected clock).
    f.now.fetch_add(12_000, Ordering::SeqCst);
    assert_eq!(f.risk(Some(&wrong), LOW).0, 403);
}

#[test]
fn sign_ins_lock_alike_for_unknown_and_existing_names_and_423_is_logged_as_denied() {
    let f = fixture();
    let sign_in = |name: &str| {
        send(
            ureq::post(&format!("{}/internal/api/session", f.base)),
            Some(json!({"username": name, "password": "not the password"})),
        )
    };
    for attempt in 1..=6 {
        let (known, known_body) = sign_in("admin");
        let (unknown, unknown_body) = sign_in("nobody-here");
        assert_eq!(known, unknown, "attempt {attempt}");
        assert_eq!(known_body, unknown_body, "attempt {attempt}");
        assert_eq!(
            known,
            if attempt < 5 { 401 } else { 423 },
            "attempt {attempt}"
        );
    }
    let conn = Connection::open(f.dir().join(DB_FILE)).unwrap();
    let statuses: Vec<String> = conn
        .prepare("SELECT status FROM audit_log WHERE detail LIKE '/internal/api/session 423%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses.len(), 4);
    assert!(statuses.iter().all(|s| s == "denied"), "{statuses:?}");
}

#[test]
fn a_model_output_that_is_not_a_probability_is_a_server_error_never_a_class() {
    let f = fixture();
    let (_, key) = f.add_client("c", "PREMIUM");
    let admin = support::sign_in_admin(&f.services);
    let model = support::bump_model();
    cardiorisk_app::models::Registry::new(f.dir())
        .store(&model)
        .unwrap();
    f.services.activate_model(&admin, &model.version).unwrap();
    let (status, body, _) = f.risk(Some(&key), LOW);
    assert_eq!(status, 200, "valid elsewhere: {body}");
    let sliver = format!(
        "colesterol=2.9&presion=1.7&glucosa={}&edad=90&sobrepeso=1&tabaquismo=1",
        support::BUMP_GLUCOSA
    );
    let (status, body, _) = f.risk(Some(&key), &sliver);
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["status"], "error");
    assert!(!body.to_string().contains("riesgo_cardiaco"), "{body}");
    assert!(body["data"]["detail"]
        .as_str()
        .unwrap()
        .contains("not a probability"));
    let conn = Connection::open(f.dir().join(DB_FILE)).unwrap();
    let logged: String = conn
        .query_row(
            "SELECT status FROM audit_log WHERE detail LIKE '%riesgocardiaco 500%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, "error");

    // The app refuses to store such an assessment, and says so in the audit log.
    let err = f
        .services
        .assess(
            &admin,
            None,
            &Measurements::from_array([2.9, 1.7, support::BUMP_GLUCOSA, 90.0, 1.0, 1.0]),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal);
    let assessments: i64 = conn
        .query_row("SELECT COUNT(*) FROM assessments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(assessments, 0);
    let refused: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'assessment.refused' AND status = 'error'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refused, 1);
}

#[test]
fn a_model_giving_nan_is_refused_at_activation_and_at_start_with_the_reason() {
    let f = fixture();
    let admin = support::sign_in_admin(&f.services);
    let model = support::nan_model();
    let registry = cardiorisk_app::models::Registry::new(f.dir());
    registry.store(&model).unwrap();
    let err = f
        .services
        .activate_model(&admin, &model.version)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("not a probability"), "{}", err.message);
    assert_ne!(f.services.model_status().version, model.version);

    // Made active behind the app's back: the app starts on the built-in model and
    // says why.
    std::fs::write(f.dir().join("models/active"), &model.version).unwrap();
    let reopened = Services::open(f.dir()).unwrap();
    let status = reopened.model_status();
    assert_eq!(status.source, "fallback");
    assert!(
        status.warning.unwrap().contains("not a probability"),
        "the reason is on screen"
    );
}

#[test]
fn sign_ins_through_the_gateway_are_in_the_log_while_it_runs() {
    let f = fixture();
    for _ in 0..3 {
        send(
            ureq::post(&format!("{}/internal/api/session", f.base)),
            Some(json!({"username": "admin", "password": support::ADMIN_PASSWORD})),
        );
    }
    let (status, body) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=sign_in.succeeded&limit=50",
            f.base
        ))
        .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200, "{body}");
    // The fixture's own sign-in plus these three, with no restart in between.
    assert_eq!(body["data"]["total"], 4, "{body}");
}

#[test]
fn idle_and_half_sent_connections_are_closed_and_cannot_starve_real_clients() {
    use std::io::{Read, Write};
    let f = fixture();
    let (_, key) = f.add_client("real", "PREMIUM");
    let addr = f.base.trim_start_matches("http://").to_string();
    // More idle connections than the server keeps open, each with half a request.
    let mut idle: Vec<std::net::TcpStream> = (0..gateway::MAX_CONNECTIONS + 50)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /external/api/riesgocardiaco HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    // A real client gets its answer once the server has dropped the half-sent ones.
    let started = std::time::Instant::now();
    let (status, body, _) = f.risk(Some(&key), LOW);
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "answered after {:?} behind {} idle connections",
        started.elapsed(),
        idle.len()
    );
    // The first ones were closed by the server (end of file, or a reset).
    let mut first = idle.remove(0);
    first
        .set_read_timeout(Some(gateway::HEADER_READ_TIMEOUT * 3))
        .unwrap();
    let mut buf = [0u8; 256];
    match first.read(&mut buf) {
        Ok(n) => assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "still open"),
    }
}

/// A raw HTTP/1.1 exchange, for requests ureq will not send as they are.
fn raw(f: &Fixture, request: &str) -> (u16, String) {
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

#[test]
fn every_error_status_answers_in_the_envelope_and_is_logged() {
    let f = fixture();
    let auth = format!("Bearer {}", f.admin);
    let user = format!("{}/internal/api/user", f.base);
    let mut seen = Vec::new();
    let mut check = |status: u16, body: &Value, message: &str| {
        assert_eq!(body["status"], "error", "{status}: {body}");
        assert_eq!(body["data"]["message"], message, "{status}: {body}");
        seen.push(status);
    };
    // 401: no or a forged token.
    let (status, body) = send(ureq::get(&user), None);
    check(status, &body, "No autenticado");
    // 403: a clinician's token.
    let doc = f.clinician("doc");
    let (status, body) = send(
        ureq::get(&user).set("Authorization", &format!("Bearer {doc}")),
        None,
    );
    check(status, &body, "No permitido");
    // 404: an unknown path, and an unknown client.
    let (status, body) = send(ureq::get(&format!("{}/nothing/here?x=1", f.base)), None);
    check(status, &body, "Recurso no encontrado");
    let (status, body) = send(
        ureq::delete(&format!("{user}?id=999")).set("Authorization", &auth),
        None,
    );
    check(status, &body, "Recurso no encontrado");
    // 405: a known path with the wrong method.
    let (status, body) = send(ureq::put(&format!("{}{RISK_PATH}", f.base)), None);
    check(status, &body, "Metodo no permitido");
    // 413: a body over 16 KiB.
    let big = json!({"name": "x".repeat(20_000), "plan": "PREMIUM"});
    let (status, body) = send(ureq::post(&user).set("Authorization", &auth), Some(big));
    check(status, &body, "Solicitud demasiado grande");
    // 415: not JSON.
    let (status, body) = send(
        ureq::post(&user)
            .set("Authorization", &auth)
            .set("Content-Type", "text/plain"),
        None,
    );
    check(status, &body, "Se espera un cuerpo application/json");
    // Malformed JSON.
    let (status, text) = raw(
        &f,
        &format!(
            "POST /internal/api/user HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{{\"name\":"
        ),
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    check(status, &body, "JSON no valido");
    // 423: a locked account.
    for _ in 0..5 {
        send(
            ureq::post(&format!("{}/internal/api/session", f.base)),
            Some(json!({"username": "doc", "password": "wrong password"})),
        );
    }
    let (status, body) = send(
        ureq::post(&format!("{}/internal/api/session", f.base)),
        Some(json!({"username": "doc", "password": "wrong password"})),
    );
    check(status, &body, "Cuenta bloqueada");
    assert_eq!(seen, [401, 403, 404, 404, 405, 413, 415, 400, 423]);

    // Every one of them is in the log, with its status and "anonymous" when no
    // client was identified.
    let (_, log) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=gateway.request&limit=100",
            f.base
        ))
        .set("Authorization", &auth),
        None,
    );
    let details: Vec<String> = log["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["subject"].as_str().unwrap_or(""),
                e["detail"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "anonymous GET /nothing/here 404",
        &format!("anonymous PUT {RISK_PATH} 405"),
        "anonymous POST /internal/api/user 413",
        "anonymous POST /internal/api/user 415",
        "anonymous POST /internal/api/user 400",
        "anonymous /internal/api/session 423",
        "client:999 DELETE /internal/api/user 404",
    ] {
        assert!(
            details.iter().any(|d| d == expected),
            "{expected} not in {details:#?}"
        );
    }
    assert!(
        !details.iter().any(|d| d.contains("x=1")),
        "queries of unknown paths are not logged"
    );
}
