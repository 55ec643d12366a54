//! The REST gateway under misuse: who may administer it, loopback only, throttled
//! wrong keys, lock-outs, bad models, idle connections.

mod gateway_fixture;
#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{ErrorKind, Measurements};
use cardiorisk_core::gateway::{self, RISK_PATH};
use cardiorisk_core::service::{Services, DB_FILE};
use gateway_fixture::{fixture, send, LOW};
use serde_json::json;
use std::sync::Arc;

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
    let services = Arc::new(Services::open(dir.path(), &support::test_key()).unwrap());
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
    use cardiorisk_core::gateway::Control;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    {
        let services = Arc::new(Services::open(dir.path(), &support::test_key()).unwrap());
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
    let services = Arc::new(Services::open(dir.path(), &support::test_key()).unwrap());
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
fn wrong_secrets_for_a_real_prefix_never_lock_its_client_out() {
    let f = fixture();
    let (_, key) = f.add_client("target", "PREMIUM");
    let prefix = &key[..13]; // "crk_" + 8 hex + "_"
    for n in 0..12 {
        let wrong = format!("{prefix}{n:048}");
        let (status, body, _) = f.risk(Some(&wrong), LOW);
        assert_eq!(status, 403, "wrong secret {n}: {body}");
    }
    assert_eq!(
        f.risk(Some(&key), LOW).0,
        200,
        "the client's key, used for the first time after twelve wrong ones"
    );
    // An unknown prefix and a malformed key are refused alike.
    let unknown = format!("crk_00000000_{}", "0".repeat(48));
    assert_eq!(f.risk(Some(&unknown), LOW).0, 403);
    assert_eq!(f.risk(Some("crk_short"), LOW).0, 403);
}

#[test]
fn a_key_made_by_an_older_version_still_verifies_and_is_hashed_again_cheaply() {
    let f = fixture();
    let (id, key) = f.add_client("old", "PREMIUM");
    // As an older version stored it: argon2id with the password profile.
    let conn = support::open_db(&f.dir().join(DB_FILE)).unwrap();
    conn.execute(
        "UPDATE api_clients SET key_hash = ?2 WHERE id = ?1",
        rusqlite::params![id, cardiorisk_core::auth::hash_password(&key)],
    )
    .unwrap();
    assert_eq!(f.risk(Some(&key), LOW).0, 200);
    let hash: String = conn
        .query_row(
            "SELECT key_hash FROM api_clients WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$") && hash.contains("$m=256,t=1,p=1$"),
        "{hash}"
    );
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
    let conn = support::open_db(&f.dir().join(DB_FILE)).unwrap();
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
    cardiorisk_core::models::Registry::new(f.dir())
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
    let conn = support::open_db(&f.dir().join(DB_FILE)).unwrap();
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
    let registry = cardiorisk_core::models::Registry::new(f.dir());
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
    let reopened = Services::open(f.dir(), &support::test_key()).unwrap();
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
