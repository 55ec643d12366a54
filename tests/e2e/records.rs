//! A patient's record: registered, assessed and saved, the history and its
//! chart, what-if, the report shown, printed and exported, the smallest window, and
//! the audit trail of who looked at it.

use super::app::{App, ONE_AT_A_TIME};
use super::support::{self, count, ADMIN_PASSWORD};

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
    assert!(app.tabs_on_one_line(), "the tabs on one line at 1024x700");

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
