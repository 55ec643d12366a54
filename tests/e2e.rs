//! End to end: the real app window under Xvfb, driven through tauri-driver and
//! WebKitWebDriver, then the database it wrote is checked.

mod support;

use rusqlite::Connection;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::webdriver::Session;
use support::{display, free_port, workspace_root, Guard, APP};

/// A screenshot of the whole virtual display as X shows it (WebKit's WebDriver
/// screenshot can lag behind the last repaint).
fn screenshot(display: &str, path: &std::path::Path) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(path)
        .status()
        .expect("run ImageMagick's import");
    assert!(status.success(), "screenshot failed");
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let local = PathBuf::from(home).join(".cargo/bin/tauri-driver");
    if local.exists() {
        local
    } else {
        PathBuf::from("tauri-driver")
    }
}

#[test]
fn assess_a_patient_in_the_real_window_and_find_it_in_the_database() {
    let data = tempfile::tempdir().unwrap();
    let (display, _xvfb) = display();
    let port = free_port();
    let native_port = free_port();
    let _driver = Guard(
        Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("CARDIORISK_DATA_DIR", data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver (cargo install tauri-driver)"),
    );
    let s = Session::start(port, APP);

    // First run: create the administrator.
    for (id, value) in [
        ("setup-username", "admin"),
        ("setup-display-name", "Ada Admin"),
        ("setup-password", "correct horse battery"),
        ("setup-confirm", "correct horse battery"),
    ] {
        s.type_text(&s.wait(&format!("#{id}")), value);
    }
    s.click(&s.wait("#setup-submit"));
    s.wait_text("#who", |t| t == "Ada Admin (admin)");

    // Empty states first.
    s.wait_text("#recent-empty", |t| t.contains("No assessments yet"));

    // An out-of-range value gets an inline error naming the range.
    let colesterol = s.wait("#colesterol");
    s.type_text(&colesterol, "3.5");
    s.click(&s.wait("#presion"));
    let error = s.wait_text("#error-colesterol", |t| !t.is_empty());
    assert_eq!(error, "colesterol is out of range: valid is 1.0 to 3.0 g/L");
    let shots = workspace_root().join("target/e2e-shots");
    std::fs::create_dir_all(&shots).unwrap();
    screenshot(&display, &shots.join("range-error.png"));
    // Submitting with errors stores nothing and shows every missing field.
    s.click(&s.wait("#assess"));
    s.wait_text("#error-edad", |t| t.contains("edad is missing"));

    s.clear(&colesterol);
    s.type_text(&colesterol, "2.4");
    for (id, value) in [("presion", "1.6"), ("glucosa", "0.9"), ("edad", "45")] {
        let e = s.wait(&format!("#{id}"));
        s.clear(&e);
        s.type_text(&e, value);
    }
    s.click(&s.wait("#tabaquismo option[value='1']"));
    s.click(&s.wait("#assess"));

    let shown = s.wait_text("#result-probability", |t| t.ends_with('%'));
    let verdict = s.wait_text("#result-class", |t| !t.is_empty());
    assert_eq!(verdict, "Cardiac risk: yes");
    // Cholesterol and pressure are both high: they drive this result most.
    let chol = s.wait_text("#contributions li[data-field='colesterol'] .c-value", |t| {
        t.ends_with("pts")
    });
    let glucose = s.wait_text("#contributions li[data-field='glucosa'] .c-value", |t| {
        t.ends_with("pts")
    });
    let points = |t: &str| t.trim_end_matches(" pts").parse::<f64>().unwrap();
    assert!(points(&chol) > 10.0, "{chol}");
    assert!(points(&glucose).abs() < 1.0, "{glucose}");
    assert!(s
        .text(&s.wait("#model-version"))
        .unwrap()
        .starts_with("Model "));
    s.wait_text("#recent tbody tr", |t| t.contains("2.4"));
    assert!(s
        .find("#error-colesterol")
        .map(|e| s.text(&e).unwrap())
        .unwrap_or_default()
        .is_empty());

    screenshot(&display, &shots.join("assessment.png"));

    // Sign out; a wrong password is refused; the right one signs back in.
    s.click(&s.wait("#sign-out"));
    s.type_text(&s.wait("#signin-username"), "admin");
    s.type_text(&s.wait("#signin-password"), "not the password");
    s.click(&s.wait("#signin-submit"));
    s.wait_text("#signin-error", |t| t == "Wrong username or password.");
    s.type_text(&s.wait("#signin-password"), "correct horse battery");
    s.click(&s.wait("#signin-submit"));
    s.wait_text("#recent tbody tr", |t| t.contains("2.4"));

    // Settings (administrators): turn the REST gateway on, and it answers on loopback.
    s.click(&s.wait("#tab-settings"));
    s.wait_text("#gateway-state", |t| t == "Off.");
    let gateway_port = free_port();
    let port_field = s.wait("#gateway-port");
    s.clear(&port_field);
    s.type_text(&port_field, &gateway_port.to_string());
    s.click(&s.wait("#gateway-toggle"));
    let expected = format!("On: listening on 127.0.0.1:{gateway_port}.");
    s.wait_text("#gateway-state", |t| t == expected);
    screenshot(&display, &shots.join("settings.png"));
    let answer = ureq::get(&format!(
        "http://127.0.0.1:{gateway_port}/external/api/riesgocardiaco"
    ))
    .call();
    assert!(
        matches!(answer, Err(ureq::Error::Status(403, _))),
        "no key: 403"
    );
    s.click(&s.wait("#tab-assess"));

    let conn = Connection::open(data.path().join("cardiorisk.db")).unwrap();
    let (n, c, p, e, t, prob): (i64, f64, f64, i64, i64, f64) = conn
        .query_row(
            "SELECT COUNT(*), colesterol, presion, edad, tabaquismo, probability FROM assessments",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!((n, c, p, e, t), (1, 2.4, 1.6, 45, 1));
    assert_eq!(shown, cardiorisk_contract::percent_text(prob));
    // The audit consumer drained the outbox while the app ran.
    let audited: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('setup.completed', 'assessment.created', 'sign_in.failed', 'sign_in.succeeded', 'sign_out', 'settings.changed')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 6);
}
