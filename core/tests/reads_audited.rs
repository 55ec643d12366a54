//! Looking at a record leaves a trace: opening a patient's record, showing, printing
//! or exporting their report and searching are audited with who, when and which
//! patient (a search with its number of results, never its text), and the audit log
//! filters by a patient's record number: who looked at this record.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{AuditEntry, AuditFilter, Language, PatientInput, Units};
use cardiorisk_core::report::Format;
use cardiorisk_core::service::Services;
use support::{admin, doctor, measurements};

fn patient(s: &Services, token: &str, record_number: &str, name: &str) -> i64 {
    s.create_patient(
        token,
        &PatientInput {
            record_number: record_number.into(),
            name: name.into(),
            birth_year: Some(1960),
            notes: String::new(),
        },
    )
    .unwrap()
    .id
}

fn about(s: &Services, token: &str, record_number: &str) -> Vec<AuditEntry> {
    let mut entries = s
        .audit(
            token,
            &AuditFilter {
                patient: Some(record_number.into()),
                ..Default::default()
            },
            500,
            0,
        )
        .unwrap()
        .entries;
    entries.reverse(); // oldest first
    entries
}

#[test]
fn every_look_at_a_record_is_audited_and_the_log_says_who_looked_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let admin_token = admin(&s);
    let rosa = doctor(&s, &admin_token, "rosa");
    let ana = patient(&s, &rosa, "HC-1001", "Ana Gómez");
    let other = patient(&s, &rosa, "HC-2002", "Luis Pérez");
    s.assess(&rosa, Some(ana), &measurements()).unwrap();

    let bruno = doctor(&s, &admin_token, "bruno");
    let found = s.search_patients(&bruno, "Gómez", 20).unwrap();
    assert_eq!(found.len(), 1);
    let record = s.patient_record(&bruno, ana).unwrap();
    assert_eq!(record.history.len(), 1);
    s.report_record(&bruno, ana).unwrap();
    s.report_printed(&bruno, ana).unwrap();
    let pdf = dir.path().join("ana.pdf");
    s.export_report(
        &bruno,
        ana,
        Format::Pdf,
        Language::English,
        Units::Conventional,
        &pdf,
    )
    .unwrap();
    s.patient_record(&rosa, other).unwrap();

    let trail: Vec<(String, String)> = about(&s, &admin_token, "hc-1001")
        .into_iter()
        .map(|e| (e.username.unwrap_or_default(), e.action))
        .collect();
    let expected = [
        ("rosa", "patient.created"),
        ("rosa", "assessment.created"),
        ("bruno", "patient.viewed"),
        ("bruno", "report.viewed"),
        ("bruno", "report.printed"),
        ("bruno", "report.exported"),
    ];
    assert_eq!(
        trail,
        expected
            .iter()
            .map(|(u, a)| (u.to_string(), a.to_string()))
            .collect::<Vec<_>>(),
        "who looked at HC-1001, and nothing about HC-2002"
    );
    let viewed = about(&s, &admin_token, "HC-1001")
        .into_iter()
        .find(|e| e.action == "patient.viewed")
        .unwrap();
    assert_eq!(viewed.subject.as_deref(), Some(&*format!("patient:{ana}")));
    assert!(viewed.detail.contains("1 assessment"), "{}", viewed.detail);

    // The search: who, and how many results; the query's text is nowhere.
    let searches = s
        .audit(
            &admin_token,
            &AuditFilter {
                action: Some("patients.searched".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(searches.total, 1);
    let search = &searches.entries[0];
    assert_eq!(search.username.as_deref(), Some("bruno"));
    assert!(search.detail.starts_with("1 result"), "{}", search.detail);
    let entries_with_query = s
        .audit(&admin_token, &AuditFilter::default(), 500, 0)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| {
            e.detail.contains("Gómez") || e.subject.as_deref().unwrap_or("").contains("Gómez")
        })
        .count();
    assert_eq!(entries_with_query, 0, "the query's text is not audited");
    // A clinician cannot read the trail; a patient that does not exist is not "viewed".
    assert!(s.audit(&bruno, &AuditFilter::default(), 10, 0).is_err());
    assert!(s.patient_record(&bruno, 9999).is_err());
    assert!(s.report_printed(&bruno, 9999).is_err());
    let views = s
        .audit(
            &admin_token,
            &AuditFilter {
                action: Some("patient.viewed".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(views.total, 2, "one view each of HC-1001 and HC-2002");
    assert!(about(&s, &admin_token, "HC-9999").is_empty());
}

/// A database written before reads were audited and before the change log: its
/// entries about a patient (named in `subject`, or in an assessment's `detail`), and
/// an event an older version left in its outbox, answer the patient filter after the
/// upgrade; the outbox is gone.
#[test]
fn entries_written_before_the_upgrade_are_found_by_patient() {
    let dir = tempfile::tempdir().unwrap();
    let ana = {
        let s = Services::open(dir.path(), &support::test_key()).unwrap();
        let admin_token = admin(&s);
        let ana = patient(&s, &admin_token, "HC-1001", "Ana Gómez");
        s.assess(&admin_token, Some(ana), &measurements()).unwrap();
        ana
    };
    {
        // As schema 5 left them: no patient column, no change log, an outbox.
        let conn = support::open_db(&dir.path().join("cardiorisk.db")).unwrap();
        conn.execute_batch(
            "DROP INDEX audit_by_patient;
             ALTER TABLE audit_log DROP COLUMN patient_id;
             ALTER TABLE audit_log ADD COLUMN event_id INTEGER;
             DROP TABLE change_log;
             DROP TABLE installation;
             CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
             PRAGMA user_version = 5;",
        )
        .unwrap();
        let left = serde_json::json!({
            "at": "2099-01-01T00:00:00.000Z", "user_id": 1, "username": "admin",
            "action": "patient.updated", "status": "ok", "elapsed_ms": 1.5,
            "subject": format!("patient:{ana}"), "detail": "",
        });
        conn.execute("INSERT INTO outbox (event) VALUES (?1)", [left.to_string()])
            .unwrap();
    }
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = support::sign_in_admin(&s);
    let trail: Vec<String> = about(&s, &token, "HC-1001")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        trail,
        ["patient.created", "assessment.created", "patient.updated"]
    );
    let outbox = support::count(
        dir.path(),
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox'",
    );
    assert_eq!(outbox, 0, "the outbox is gone");
}
