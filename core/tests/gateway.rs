//! The REST gateway against the real server on 127.0.0.1 and a real database file:
//! the original system's eleven test cases, its envelope, plans and the request log.
//! Rate limits use an injected clock, never sleeps.

mod gateway_fixture;
#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_core::gateway::RISK_PATH;
use gateway_fixture::{fixture, raw, send, HIGH, LOW};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

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
        Some("60"),
        "60 s until the first leaves, never more than the window"
    );
    assert_eq!(body["data"]["retry_after"], 60);
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
                e["username"]
                    .as_str()
                    .or(e["subject"].as_str())
                    .unwrap_or(""),
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
        "admin DELETE /internal/api/user 404",
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

#[test]
fn the_log_pages_by_id_so_nothing_is_skipped_while_it_grows() {
    let f = fixture();
    let (_, key) = f.add_client("paged", "PREMIUM");
    for _ in 0..20 {
        f.risk(Some(&key), LOW);
    }
    let page = |before: Option<i64>| {
        let mut url = format!("{}/internal/api/log?limit=7", f.base);
        if let Some(b) = before {
            url.push_str(&format!("&before={b}"));
        }
        let (status, body) = send(
            ureq::get(&url).set("Authorization", &format!("Bearer {}", f.admin)),
            None,
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let mut seen: Vec<i64> = Vec::new();
    let mut before = None;
    loop {
        let body = page(before);
        seen.extend(
            body["data"]["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        // The log grows between pages: the requests themselves, and more.
        f.risk(Some(&key), LOW);
        f.risk(Some(&key), LOW);
        match body["data"]["next_before"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let newest = seen[0];
    let mut expected: Vec<i64> = (1..=newest).collect();
    expected.reverse();
    assert_eq!(
        seen, expected,
        "every entry up to the first page's newest, once"
    );
    let (status, body) = send(
        ureq::get(&format!("{}/internal/api/log?before=x", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("before must be a whole number"),
        "{body}"
    );
}

#[test]
fn an_administrators_calls_are_logged_under_their_name_and_a_client_is_not_an_account() {
    let f = fixture();
    let (id, _) = f.add_client("named", "PREMIUM");
    let (status, _) = send(
        ureq::get(&format!("{}/internal/api/user", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200);
    let (_, body) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=gateway.request&limit=50",
            f.base
        ))
        .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    let entries = body["data"]["entries"].as_array().unwrap();
    for endpoint in ["POST /internal/api/user 201", "GET /internal/api/user 200"] {
        let e = entries
            .iter()
            .find(|e| e["detail"] == endpoint)
            .unwrap_or_else(|| panic!("{endpoint} logged: {body}"));
        assert_eq!(e["username"], "admin", "{e}");
    }
    let signed_in = entries
        .iter()
        .find(|e| e["detail"] == "/internal/api/session 200")
        .unwrap();
    assert_eq!(signed_in["username"], "admin", "{signed_in}");
    let (_, body) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=client.created&limit=50",
            f.base
        ))
        .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    let created = body["data"]["entries"].as_array().unwrap();
    assert_eq!(created.len(), 1, "{body}");
    assert_eq!(created[0]["subject"], format!("client:{id}"));
    let (_, body) = send(
        ureq::get(&format!(
            "{}/internal/api/log?action=account.created&limit=50",
            f.base
        ))
        .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(body["data"]["total"], 0, "no account was created: {body}");
}

#[test]
fn the_log_filters_by_a_patients_record_number() {
    let f = fixture();
    let patient = f
        .services
        .create_patient(
            &f.admin,
            &cardiorisk_contract::PatientInput {
                record_number: "HC-77".into(),
                name: "Eva Ruiz".into(),
                birth_year: None,
                notes: String::new(),
            },
        )
        .unwrap();
    f.services.patient_record(&f.admin, patient.id).unwrap();
    let (status, body) = send(
        ureq::get(&format!("{}/internal/api/log?patient=hc-77", f.base))
            .set("Authorization", &format!("Bearer {}", f.admin)),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let actions: Vec<&str> = body["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["patient.viewed", "patient.created"], "{body}");
}

/// A request line is published once committed, like every other change, so the
/// audit page follows the gateway live.
#[test]
fn each_answered_request_is_published_after_its_line_commits() {
    let f = fixture();
    let (_, key) = f.add_client("live", "PREMIUM");
    let mut feed = f.services.subscribe();
    let (status, _, _) = f.risk(Some(&key), HIGH);
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    while let Ok(commit) = feed.try_recv() {
        seen.extend(commit.iter().cloned());
    }
    let line = seen
        .iter()
        .find(|c| c.event.action == cardiorisk_contract::AuditAction::GatewayRequest)
        .expect("the request's line was published before its answer left");
    assert_eq!(
        line.changes[0].entity,
        cardiorisk_core::changes::Entity::AuditEntry
    );
}
