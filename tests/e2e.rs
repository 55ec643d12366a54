//! End to end: the real app window under Xvfb, driven through tauri-driver and
//! WebKitWebDriver, each flow from a clean data directory; native file dialogs are
//! answered with xdotool as a user would type a path. Screenshots of the main
//! screens go to target/e2e-shots/ (scripts/screenshots.sh copies them to docs/).

mod e2e_app;
mod e2e_bench;
mod support;

use e2e_app::{App, ONE_AT_A_TIME};

use support::{count, free_port, ADMIN_PASSWORD};

#[test]
fn first_run_sign_in_failed_sign_in_and_session_expiry() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[("CARDIORISK_IDLE_TIMEOUT_SECS", "4")]);
    let s = &app.s;

    // First run: the administrator, with the two passwords checked against each other.
    app.fill("setup-username", "admin");
    app.fill("setup-display-name", "Ada Admin");
    app.fill("setup-password", ADMIN_PASSWORD);
    app.fill("setup-confirm", "something else");
    app.click("#setup-submit");
    s.wait_text("#setup-error", |t| t == "The two passwords differ.");
    app.shot("first-run");
    app.fill("setup-confirm", ADMIN_PASSWORD);
    app.click("#setup-submit");
    s.wait_text("#recovery-key", |t| t.split('-').count() == 8);
    s.wait_text("#recovery-print", |t| t == "Print…");
    app.shot("recovery-key");
    app.acknowledge_recovery_key();
    s.wait_text("#who", |t| t == "Ada Admin (admin)");
    s.wait_text("#patients-empty", |t| t.contains("No patients yet"));

    app.click("#sign-out");
    app.sign_in("admin", "not the password");
    s.wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.shot("sign-in-failed");
    app.sign_in("admin", ADMIN_PASSWORD);
    s.wait_text("#who", |t| t.starts_with("Ada Admin"));

    // A restart: the data is sealed again until a password opens it.
    drop(app);
    let app = App::start(data.path(), &[("CARDIORISK_IDLE_TIMEOUT_SECS", "4")]);
    let s = &app.s;
    app.sign_in("admin", "not the password");
    s.wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.sign_in("admin", ADMIN_PASSWORD);
    s.wait_text("#who", |t| t.starts_with("Ada Admin"));

    // Idle past the (shortened) timeout: back to sign-in, saying why.
    s.wait_text("#signin-notice", |t| t.contains("without activity"));
    assert_eq!(
        count(
            data.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'"
        ),
        2,
        "the one refused while open, and the one refused while sealed"
    );
    let log = support::support_log(
        data.path(),
        &[ADMIN_PASSWORD, "not the password", "Ada Admin"],
    );
    assert!(
        log.contains("command refused") && log.contains("wrong-credentials"),
        "the refused sign-in is in the support log by its code:\n{log}"
    );
}

#[test]
fn register_a_patient_assess_and_save_see_history_what_if_and_report() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();

    // Register, with a record number the rules refuse first.
    app.click("#patient-new");
    app.fill("patient-record", "HC 1");
    app.fill("patient-name", "María Ibáñez");
    app.fill("patient-birth-year", "1958");
    app.click("#patient-save");
    s.wait_text("#patient-record-error", |t| t.contains("record_number"));
    app.fill("patient-record", "HC-1001");
    app.click("#patient-save");
    s.wait_text("#patient-title", |t| t == "María Ibáñez");
    s.wait_text("#history-empty", |t| t.contains("No assessments"));

    // Assess for this patient: a range error first, then a saved result.
    app.click("#patient-assess");
    s.wait_text("#assess-patient", |t| t.contains("María Ibáñez"));
    app.fill("colesterol", "3.4");
    app.click("#presion");
    s.wait_text("#error-colesterol", |t| {
        t == "colesterol is out of range: valid is 1.0 to 3.0 g/L"
    });
    app.shot("range-error");
    for (id, value) in [
        ("colesterol", "2.4"),
        ("presion", "1.6"),
        ("glucosa", "0.9"),
        ("edad", "45"),
    ] {
        app.fill(id, value);
    }
    app.click("#assess");
    let shown = s.wait_text("#result-probability", |t| t.ends_with('%'));
    s.wait_text("#result-meta", |t| {
        t.contains("saved to the record of María Ibáñez")
    });
    s.wait_text("#result-summary", |t| t.contains("Mostly raised by"));
    assert!(s.count("#gauge svg") == 1, "the gauge is drawn");
    assert_eq!(s.count("#gauge path.zone"), 3, "three risk zones");
    assert_eq!(s.count("#gauge line.needle"), 1, "one needle");
    println!(
        "assessment, click to painted result: {}",
        app.click_to_paint()
    );
    println!(
        "IPC round trip of a read-only command, median of 50: {:.2} ms",
        app.ipc_round_trip_ms()
    );

    // What-if: lowering cholesterol with the slider lowers the risk; nothing is stored.
    let slider = s.wait("#whatif-colesterol");
    for _ in 0..8 {
        s.type_text(&slider, "\u{E012}"); // arrow left: 0.1 g/L less each
    }
    let what_if = s.wait_text("#whatif-probability", |t| t.ends_with('%') && t != shown);
    let delta = s.wait_text("#whatif-delta", |t| t.starts_with('-'));
    let round_trip = s
        .attr(&s.wait("#whatif-delta"), "data-round-trip-ms")
        .unwrap_or_default();
    println!("what-if: {shown} -> {what_if} ({delta}); last round trip {round_trip} ms");
    app.shot_at("body", "assessment");
    app.shot_at("#whatif", "what-if");

    // A second assessment, then the patient page has two points on its charts.
    app.fill("colesterol", "1.8");
    app.fill("presion", "1.2");
    app.click("#assess");
    s.wait_text("#result-probability", |t| t != shown);
    println!(
        "assessment, click to painted result: {}",
        app.click_to_paint()
    );
    app.click("#assess-patient a");
    s.wait_count("#history tbody tr", 2);
    assert_eq!(
        s.count("#risk-chart svg circle"),
        2,
        "one dot per assessment"
    );
    assert_eq!(
        s.count("#measure-charts svg"),
        6,
        "one chart per measurement"
    );
    app.shot_at("body", "patient");

    // The report: exported to PDF through the native save dialog.
    app.click("#patient-report");
    s.wait_text("#report-patient", |t| t == "María Ibáñez");
    app.shot_at("body", "report");
    let pdf = data.path().join("maria.pdf");
    app.click("#report-pdf");
    app.answer_file_dialog(&pdf);
    let saved = s.wait_text("#report-exported", |t| t.contains("maria.pdf"));
    println!("{saved}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = support::pdf_text(&pdf) {
        assert!(text.contains("María Ibáñez"), "{text}");
    }
    // Print opens the system's print dialog (closed again here).
    app.click("#report-print");
    let (print, title) = app.wait_dialog();
    println!("print dialog: {title:?}");
    app.close_dialog(&print);

    app.click("#tab-patients");
    s.wait_text("#patients tbody", |t| t.contains("HC-1001"));
    app.shot_at("body", "patients");

    // The smallest window the app allows still shows everything without sideways scrolling.
    s.set_window_size(1024, 700);
    app.click("#patients tbody tr .patient-link");
    s.wait("#risk-chart svg");
    s.settle_layout();
    let fits = s.execute("return document.documentElement.scrollWidth <= window.innerWidth;");
    app.shot_at("body", "patient-1024x700");
    assert_eq!(
        fits,
        serde_json::json!(true),
        "no horizontal scrolling at 1024x700"
    );

    // Who looked at this record: the audit log, filtered by the patient's record
    // number, shows every view of it, the report shown, printed and exported.
    s.set_window_size(1280, 800);
    app.click("#patient-audit");
    s.wait("#audit-patient");
    assert_eq!(
        s.execute("return document.getElementById('audit-patient').value;"),
        serde_json::json!("HC-1001")
    );
    for action in [
        "patient.created",
        "assessment.created",
        "patient.viewed",
        "report.viewed",
        "report.printed",
        "report.exported",
    ] {
        s.wait(&format!("#audit tbody tr[data-action='{action}']"));
    }
    let shown = s.wait_text("#audit-count", |t| !t.is_empty());
    app.shot_at("body", "audit-patient");
    let db = data.path();
    let about_her = count(
        db,
        "SELECT COUNT(*) FROM audit_log WHERE patient_id = (SELECT id FROM patients WHERE record_number = 'HC-1001')",
    );
    assert!(
        shown.ends_with(&format!("of {about_her}")),
        "the page shows every entry about HC-1001: {shown} ({about_her} in the database)"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'patients.searched' AND detail LIKE '%Ibáñez%'"
        ),
        0,
        "a search's text is never audited"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM assessments WHERE patient_id IS NOT NULL"
        ),
        2,
        "what-if scores are not stored"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'report.exported'"
        ),
        1
    );
    support::support_log(
        db,
        &[
            ADMIN_PASSWORD,
            "Ibáñez",
            "Maria",
            "HC-1001",
            "HC 1",
            "maria.pdf",
        ],
    );
}

#[test]
fn administration_audit_gateway_and_language() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    {
        let app = App::start(data.path(), &[]);
        let s = &app.s;
        app.set_up_admin();

        // A clinician account.
        app.click("#tab-admin");
        app.fill("user-username", "cleo");
        app.fill("user-display-name", "Cleo Clinician");
        app.fill("user-password", "short");
        app.click("#user-create");
        s.wait_text("#user-password-error", |t| t.contains("10"));
        app.fill("user-password", "a long enough password");
        app.click("#user-create");
        s.wait_text("#users-notice", |t| t.contains("cleo"));
        s.wait_text("#users tr[data-username='cleo']", |t| {
            t.contains("clinician")
        });
        // Roles change from the list; the role cell says which.
        let role = "#users tr[data-username='cleo'] td:nth-child(3)";
        app.click("#users tr[data-username='cleo'] .user-role");
        s.wait_text(role, |t| t == "administrator");
        app.click("#users tr[data-username='cleo'] .user-role");
        s.wait_text(role, |t| t == "clinician");

        // An integration client: the key is shown once, then only its prefix.
        app.fill("client-name", "Lab system");
        app.click("#client-plan option[value='PREMIUM']");
        app.click("#client-create");
        let key = s.wait_text("#new-key-value", |t| t.starts_with("crk_"));
        app.shot_at("body", "administration");
        app.shot_at("#clients-title", "integration-client");
        app.click("#new-key-done");
        s.wait_text("#clients tr[data-name='Lab system']", |t| {
            t.contains("PREMIUM")
        });
        assert_eq!(s.count("#new-key"), 0);
        app.click("#tab-patients");
        app.click("#tab-admin");
        s.wait_text("#clients tr[data-name='Lab system']", |t| t.contains("50"));
        assert_eq!(s.count("#new-key"), 0, "never shown again");

        // A new recovery key: shown alone, as at first run, with its print button.
        let first = s.text(&s.wait("#recovery-reissue")).unwrap();
        assert!(!first.is_empty());
        app.click("#recovery-reissue");
        s.wait_text("#recovery-title + p", |t| {
            t.contains("previous one no longer works")
        });
        s.wait_text("#recovery-print", |t| t == "Print…");
        app.shot("recovery-key-reissued");
        app.acknowledge_recovery_key();
        s.wait("#recovery-reissue");

        // The gateway, turned on in Settings, accepts that key.
        app.click("#tab-settings");
        s.wait_text("#gateway-state", |t| t == "Off.");
        let gateway_port = free_port();
        app.fill("gateway-port", &gateway_port.to_string());
        app.click("#gateway-toggle");
        s.wait_text("#gateway-state", |t| {
            t.contains(&format!("127.0.0.1:{gateway_port}"))
        });
        app.shot("settings");
        let url = format!(
            "http://127.0.0.1:{gateway_port}/external/api/riesgocardiaco?colesterol=2.4&presion=1.6&glucosa=0.9&edad=45&sobrepeso=0&tabaquismo=1"
        );
        assert!(matches!(
            ureq::get(&url).call(),
            Err(ureq::Error::Status(403, _))
        ));
        let body: serde_json::Value = ureq::get(&url)
            .set("api-Key", &key)
            .call()
            .expect("a good key is answered")
            .into_json()
            .unwrap();
        assert_eq!(
            body["data"]["riesgo_cardiaco"],
            "Si, existe riesgo cardíaco"
        );

        // The audit log, filtered by action, and exported through the save dialog.
        app.click("#tab-audit");
        s.wait("#audit tbody tr");
        // The hash chain is checked as the page opens.
        s.wait_text("#audit-chain-verified", |t| {
            t.starts_with("Audit trail verified: ") && t.contains("Chained since")
        });
        // Live: a request to the gateway shows on the open page, nothing clicked.
        app.click("#audit-action option[value='gateway.request']");
        let before = s.wait_text("#audit-count", |t| t.ends_with("of 2"));
        ureq::get(&url)
            .set("api-Key", &key)
            .call()
            .expect("a good key is answered");
        s.wait_text("#audit-count", |t| t != before && t.ends_with("of 3"));
        app.click("#audit-action option[value='client.created']");
        s.wait_text("#audit-count", |t| t.ends_with("of 1"));
        let action = s
            .text(&s.wait("#audit tbody tr:nth-child(1) td:nth-child(3)"))
            .unwrap();
        assert_eq!(action, "client.created", "a client is not an account");
        app.shot_at("body", "audit");
        let csv = data.path().join("audit.csv");
        app.click("#audit-export");
        app.answer_file_dialog(&csv);
        s.wait_text("#audit-exported", |t| t.contains("audit.csv"));
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 2, "header and one entry:\n{text}");

        // Spanish, everywhere, and remembered.
        app.click("#tab-settings");
        app.click("#settings-language option[value='es']");
        s.wait_text("#tab-patients", |t| t == "Pacientes");
        s.wait_text("#gateway-title", |t| t == "Pasarela REST local");
        // Conventional units: typed in mg/dL and mmHg, stored in the original units.
        app.click("#settings-units option[value='conventional']");
        app.click("#tab-assess");
        s.wait_text("#hint-colesterol", |t| t == "100 a 300 mg/dL");
        app.fill("edad", "120");
        app.click("#colesterol");
        s.wait_text("#error-edad", |t| t.contains("está fuera de rango"));
        for (id, value) in [
            ("colesterol", "240"),
            ("presion", "160"),
            ("glucosa", "90"),
            ("edad", "45"),
        ] {
            app.fill(id, value);
        }
        app.click("#assess");
        s.wait_text("#result-class", |t| t == "Riesgo cardíaco: sí");
        println!(
            "assessment, click to painted result: {}",
            app.click_to_paint()
        );
        s.wait_text("#recent tbody tr", |t| {
            t.contains("240") && t.contains("160")
        });
        app.shot_at("body", "assessment-es");
        let stored: (f64, f64, f64) = support::open_db(&data.path().join("cardiorisk.db"))
            .unwrap()
            .query_row(
                "SELECT colesterol, presion, glucosa FROM assessments",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(stored, (2.4, 1.6, 0.9));
    }
    let app = App::start(data.path(), &[]);
    app.s.wait_text("#signin-title", |t| t == "Iniciar sesión");
    app.sign_in("admin", "not the password");
    app.s.wait_text("#signin-error", |t| {
        t == "Usuario o contraseña incorrectos."
    });
    app.sign_in("admin", ADMIN_PASSWORD);
    app.click("#patient-new");
    app.fill("patient-record", "HC 1");
    app.fill("patient-name", "Ana");
    app.click("#patient-save");
    app.s.wait_text("#patient-record-error", |t| {
        t == "record_number debe tener de 1 a 32 letras, cifras, '-' o '/'"
    });
    support::support_log(
        data.path(),
        &[
            ADMIN_PASSWORD,
            "a long enough password",
            "not the password",
            "crk_",
            "Cleo",
            "Lab system",
            "HC 1",
        ],
    );
}

#[test]
fn retrain_on_a_small_csv_with_progress_activate_and_roll_back() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let csv = data.path().join("clinic.csv");
    use cardiorisk_model::synth::{generate, to_csv, Span};
    std::fs::write(&csv, to_csv(&generate(1500, 11, Span::File))).unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();
    let builtin = s.wait_text("#model-version", |t| t.starts_with("Model "));

    app.click("#tab-model");
    s.wait_text("#active-title", |t| t.contains("built-in"));
    assert_eq!(s.count("#active-model .roc svg"), 1, "ROC curve drawn");
    s.wait_text("#active-model .confusion", |t| t.contains("Actual: risk"));

    app.fill("train-epochs", "60");
    app.fill("train-patience", "60");
    app.fill("train-hidden", "16,8");
    app.click("#train-start");
    app.answer_file_dialog(&csv);
    s.wait_text("#training-state", |t| t.contains("clinic.csv"));
    let finished = s.wait_text("#training-state", |t| t.starts_with("Finished training"));
    assert!(finished.contains("after 60 of 60 epochs"), "{finished}");
    assert_eq!(s.count("#loss-chart svg"), 1);
    s.wait_text("#compare", |t| t.contains("Candidate:"));
    app.shot_at("body", "model-card");
    app.shot_at("#train-title", "model-retrain");

    // Activate the candidate: new predictions use it, the header says so.
    app.click("#candidate-activate");
    let activated = s.wait_text("#model-version", |t| t != builtin);
    s.wait_text("#active-title", |t| !t.contains("built-in"));
    // Roll back to the built-in model.
    app.click("#versions tr[data-version='built-in'] .model-activate");
    s.wait_text("#model-version", |t| t == builtin);
    println!("activated {activated}, rolled back to {builtin}");

    let db = data.path();
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'model.activated'"
        ),
        2
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'model.trained' AND status = 'ok'"
        ),
        1
    );
    support::support_log(db, &[ADMIN_PASSWORD, "clinic.csv"]);
}

/// A clinic in Buenos Aires (UTC-3) working in Spanish: times on screen, in the audit
/// log, in the PDF and in the CSV export are local; "2,4" typed is 2.4 stored and
/// "2,4" shown; the support bundle is saved and holds no patient data.
#[test]
fn buenos_aires_local_time_spanish_numbers_and_the_support_bundle() {
    use cardiorisk_contract::{FixedZone, Language, LocalTime};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[("TZ", "America/Argentina/Buenos_Aires")]);
    let s = &app.s;
    app.set_up_admin();
    app.click("#tab-settings");
    app.click("#settings-language option[value='es']");
    s.wait_text("#tab-patients", |t| t == "Pacientes");

    app.click("#tab-patients");
    app.add_patient("HC-2002", "Joaquín Pereyra", None);
    app.click("#patient-assess");
    s.wait_text("#hint-colesterol", |t| t == "1,0 a 3,0 g/L");
    for (id, value) in [
        ("colesterol", "2,4"),
        ("presion", "1,6"),
        ("glucosa", "0.9"),
        ("edad", "45"),
    ] {
        app.fill(id, value);
    }
    app.click("#assess");
    s.wait_text("#result-class", |t| t == "Riesgo cardíaco: sí");
    let db = support::open_db(&data.path().join("cardiorisk.db")).unwrap();
    let (stored, created): ((f64, f64, f64), String) = db
        .query_row(
            "SELECT colesterol, presion, glucosa, created_at FROM assessments",
            [],
            |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        stored,
        (2.4, 1.6, 0.9),
        "typed with commas, stored as numbers"
    );
    // Buenos Aires keeps UTC-3 all year.
    let local = |utc: &str| {
        LocalTime::of(utc, &FixedZone(-3 * 3600))
            .unwrap()
            .date_time(Language::Spanish)
    };
    let when = local(&created);
    assert!(
        !when.starts_with(&created[..10]),
        "{when} is not the UTC form"
    );
    s.wait_text("#recent tbody tr", |t| {
        t.contains(&when) && t.contains("2,4")
    });
    app.shot_at("body", "assessment-buenos-aires");

    // The patient's history and report, and the PDF, in local time.
    app.click("#assess-patient a");
    s.wait_text("#history tbody tr", |t| t.contains(&when));
    app.click("#patient-report");
    // The zone by name (WebKit says America/Buenos_Aires, the same zone) and offset.
    s.wait_text("#report", |t| {
        t.contains(&when) && t.contains("Buenos_Aires, UTC-03:00")
    });
    let pdf = data.path().join("informe.pdf");
    app.click("#report-pdf");
    app.answer_file_dialog(&pdf);
    s.wait_text("#report-exported", |t| t.contains("informe.pdf"));
    if let Some(text) = support::pdf_text(&pdf) {
        assert!(text.contains(&when), "{when} in the PDF:\n{text}");
        assert!(
            text.contains("America/Argentina/Buenos_Aires, UTC-03:00"),
            "{text}"
        );
        assert!(text.contains("2,4 g/L"), "{text}");
    }

    // The audit log shows the entry's local time; its CSV export keeps ISO 8601 with the offset.
    let audited: String = db
        .query_row(
            "SELECT at FROM audit_log WHERE action = 'assessment.created'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    app.click("#tab-audit");
    s.wait_text("#audit tbody", |t| t.contains(&local(&audited)));
    let csv = data.path().join("auditoria.csv");
    app.click("#audit-export");
    app.answer_file_dialog(&csv);
    s.wait_text("#audit-exported", |t| t.contains("auditoria.csv"));
    let iso = LocalTime::of(&audited, &FixedZone(-3 * 3600))
        .unwrap()
        .iso();
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(
        iso.ends_with("-03:00") && exported.contains(&iso),
        "{iso}:\n{exported}"
    );

    // The support bundle, from Settings, through the save dialog.
    app.click("#tab-settings");
    s.wait_text("#support-log-location", |t| t.contains("logs"));
    let bundle = data.path().join("soporte.txt");
    app.click("#support-export");
    app.answer_file_dialog(&bundle);
    s.wait_text("#support-outcome", |t| t.contains("soporte.txt"));
    app.shot_at("#support-title", "settings-support");
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert!(text.starts_with("CardioRisk support bundle"), "{text}");
    assert!(text.contains("CardioRisk started"), "{text}");
    for private in [
        "Joaquín",
        "Pereyra",
        "HC-2002",
        ADMIN_PASSWORD,
        "informe.pdf",
    ] {
        assert!(
            !text.contains(private),
            "the bundle holds {private:?}:\n{text}"
        );
    }
    support::support_log(
        data.path(),
        &["Joaquín", "Pereyra", "HC-2002", ADMIN_PASSWORD],
    );
}

/// A backup made by another installation (a clinic's other laptop, or this one before
/// it was set up again): the restore asks for a password of an account in it, refuses
/// a wrong one, restores with the right one, and that password opens this computer
/// after a restart.
#[test]
fn a_backup_from_another_installation_restores_with_its_password() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let elsewhere = tempfile::tempdir().unwrap();
    let backup = elsewhere.path().join("clinic-backup.db");
    {
        let (services, session) = cardiorisk_core::vault::Vault::new(elsewhere.path())
            .with_cost(cardiorisk_core::keys::KdfCost::FOR_TESTS)
            .set_up("admin", "Clinic Admin", "clinic-admin-pass-3")
            .unwrap();
        services
            .create_patient(
                &session.token,
                &cardiorisk_contract::PatientInput {
                    record_number: "HC-7001".into(),
                    name: "Hortensia Lago".into(),
                    birth_year: Some(1950),
                    notes: String::new(),
                },
            )
            .unwrap();
        services.backup(&session.token, &backup).unwrap();
    }

    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();
    app.click("#tab-settings");
    app.click("#db-restore");
    app.answer_file_dialog(&backup);
    s.wait_text("#restore-secret-form", |t| {
        t.contains("another installation")
    });
    app.fill("restore-username", "admin");
    app.fill("restore-secret", "not-the-clinic-password");
    app.click("#restore-secret-go");
    s.wait_text("#restore-refused", |t| {
        t == "That password or recovery key does not open this backup."
    });
    app.shot_at("#db-title", "restore-from-elsewhere");
    app.fill("restore-secret", "clinic-admin-pass-3");
    app.click("#restore-secret-go");
    s.wait_text("#signin-notice", |t| t.contains("restored"));
    app.sign_in("admin", "clinic-admin-pass-3");
    s.wait_text("#who", |t| t == "Clinic Admin (admin)");
    s.wait_text("#patients tbody", |t| t.contains("Hortensia Lago"));
    drop(app);

    // After a restart the data is sealed again; the backup's password opens it, the
    // password this computer had before the restore no longer does.
    let app = App::start(data.path(), &[]);
    app.sign_in("admin", ADMIN_PASSWORD);
    app.s
        .wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.sign_in("admin", "clinic-admin-pass-3");
    app.s
        .wait_text("#patients tbody", |t| t.contains("HC-7001"));
}
