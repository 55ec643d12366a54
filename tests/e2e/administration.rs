//! Administration: accounts and roles, the audit log, the gateway's API keys
//! and the interface language.

use super::app::{App, ONE_AT_A_TIME};
use super::support::{self, free_port, ADMIN_PASSWORD};

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
