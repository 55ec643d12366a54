//! The clinic's own clock and language, and the support bundle.

use super::app::{App, ONE_AT_A_TIME};
use super::support::{self, ADMIN_PASSWORD};

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
    assert!(
        app.tabs_on_one_line(),
        "the Spanish tabs on one line in the window's first size (1200 px)"
    );

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
