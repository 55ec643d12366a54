//! Patients, the audit log, the cache, concurrency and crash safety: all against
//! real SQLite files and the real model.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{
    rfc3339_utc, unix_seconds, AuditFilter, ErrorKind, FixedZone, LocalTime, PatientInput,
};
use cardiorisk_core::service::{Services, DB_FILE};
use std::sync::Arc;
use support::{admin, count, measurements};

fn patient_input(rn: &str, name: &str) -> PatientInput {
    PatientInput {
        record_number: rn.into(),
        name: name.into(),
        birth_year: Some(1960),
        notes: String::new(),
    }
}

#[test]
fn patients_are_created_edited_searched_and_carry_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let ana = s
        .create_patient(&token, &patient_input("HC-001", "Ana García"))
        .unwrap();
    s.create_patient(&token, &patient_input("HC-002", "Bruno Díaz"))
        .unwrap();
    let dup = s
        .create_patient(&token, &patient_input("hc-001", "Someone"))
        .unwrap_err();
    assert_eq!(dup.kind, ErrorKind::Conflict);
    let bad = s
        .create_patient(&token, &patient_input("", ""))
        .unwrap_err();
    let fields: Vec<&str> = bad.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["record_number", "name"]);

    let found: Vec<String> = s
        .search_patients(&token, "garc", 10)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(found, ["Ana García"]);
    assert_eq!(
        s.search_patients(&token, "HC-002", 10).unwrap()[0].name,
        "Bruno Díaz"
    );
    assert_eq!(
        s.search_patients(&token, "%", 10).unwrap().len(),
        0,
        "wildcards are literal"
    );
    assert_eq!(s.search_patients(&token, "", 10).unwrap().len(), 2);

    let edited = s
        .update_patient(
            &token,
            ana.id,
            &PatientInput {
                notes: "Allergic to aspirin".into(),
                ..patient_input("HC-001", "Ana García López")
            },
        )
        .unwrap();
    assert_eq!(edited.name, "Ana García López");

    s.assess(&token, Some(ana.id), &measurements()).unwrap();
    let mut second = measurements();
    second.colesterol = 1.5;
    s.assess(&token, Some(ana.id), &second).unwrap();
    let record = s.patient_record(&token, ana.id).unwrap();
    assert_eq!(record.history.len(), 2);
    assert_eq!(record.history[0].inputs.colesterol, 2.4);
    assert!(record.history[0].at_risk && !record.history[1].at_risk);
    assert_eq!(record.history[0].contributions.len(), 6);
    assert_eq!(record.history[0].username.as_deref(), Some("admin"));

    assert_eq!(
        s.patient_record(&token, 999).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        s.update_patient(&token, 999, &patient_input("X1", "X"))
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    let before = count(dir.path(), "SELECT COUNT(*) FROM assessments");
    assert_eq!(
        s.assess(&token, Some(999), &measurements())
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        count(dir.path(), "SELECT COUNT(*) FROM assessments"),
        before,
        "nothing stored"
    );
}

#[test]
fn every_action_reaches_the_audit_log_once_with_user_status_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let outcome = s.assess(&token, None, &measurements()).unwrap();
    let mut bad = measurements();
    bad.edad = 120.0;
    s.assess(&token, None, &bad).unwrap_err();
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log a WHERE (SELECT COUNT(*) FROM change_log c
              WHERE c.entity = 'audit_entry' AND c.entity_id = CAST(a.id AS TEXT)) != 1"
        ),
        0,
        "every audit entry commits with its change row"
    );

    let page = s
        .audit(
            &token,
            &AuditFilter {
                action: Some("assessment.created".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(page.total, 1);
    let e = &page.entries[0];
    assert_eq!(
        (e.username.as_deref(), e.status.as_str()),
        (Some("admin"), "ok")
    );
    assert_eq!(
        e.subject.as_deref(),
        Some(format!("assessment:{}", outcome.assessment_id).as_str())
    );
    assert!(e.elapsed_ms > 0.0);
    let refused = s
        .audit(
            &token,
            &AuditFilter {
                status: Some("invalid".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(refused.total, 1);
    assert!(refused.entries[0].detail.contains("edad is out of range"));
    let all = s.audit(&token, &AuditFilter::default(), 2, 0).unwrap();
    assert_eq!(all.entries.len(), 2);
    let none = s
        .audit(
            &token,
            &AuditFilter {
                to: Some("2000-01-01T00:00:00Z".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(none.total, 0);

    // Bounds written in another zone's offset select by instant, not by text.
    let tokyo = FixedZone(9 * 3600);
    let at = unix_seconds(&e.at).unwrap();
    let in_tokyo = |unix| LocalTime::of(&rfc3339_utc(unix), &tokyo).unwrap().iso();
    let created_between = |from: i64, to: i64| {
        let filter = AuditFilter {
            action: Some("assessment.created".into()),
            from: Some(in_tokyo(from)),
            to: Some(in_tokyo(to)),
            ..Default::default()
        };
        s.audit(&token, &filter, 10, 0).unwrap().total
    };
    assert_eq!(created_between(at - 1, at + 1), 1);
    assert_eq!(created_between(at + 1, at + 3600), 0);
    assert_eq!(created_between(at - 3600, at - 1), 0);

    let csv = dir.path().join("audit.csv");
    s.export_audit(&token, &AuditFilter::default(), &csv)
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("id,at,user,action,status,elapsed_ms,subject,detail\n"));
    assert!(text.contains("assessment.created"));
}

#[test]
fn repeated_predictions_come_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let a = s.assess(&token, None, &measurements()).unwrap();
    let b = s.assess(&token, None, &measurements()).unwrap();
    assert_eq!(a.prediction, b.prediction);
    assert_ne!(
        a.assessment_id, b.assessment_id,
        "each assessment is still stored"
    );
    let stats = s.cache_stats(&token).unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
}

#[test]
fn concurrent_writers_and_readers_never_see_a_locked_database() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Services::open(dir.path(), &support::test_key()).unwrap());
    let token = admin(&s);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (s, token) = (Arc::clone(&s), token.clone());
            std::thread::spawn(move || {
                for i in 0..40 {
                    let mut m = measurements();
                    m.edad = (t * 20 + i % 20) as f64;
                    s.assess(&token, None, &m).unwrap();
                    s.recent(&token, 10).unwrap();
                    if i % 10 == 0 {
                        s.audit(&token, &AuditFilter::default(), 20, 0).unwrap();
                    }
                }
            })
        })
        .collect();
    // A second connection reading at the same time, as another process would.
    let reader = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    reader
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    for _ in 0..50 {
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM assessments", [], |r| r.get(0))
            .unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM assessments"), 160);
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'assessment.created'"
        ),
        160
    );
}

/// Run as a child process by `a_killed_writer_loses_nothing_it_committed`.

#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Ok(dir) = std::env::var("CARDIORISK_CRASH_DIR") else {
        return;
    };
    let s = Services::open(std::path::Path::new(&dir), &support::test_key()).unwrap();
    let token = if s.needs_setup().unwrap() {
        admin(&s)
    } else {
        support::sign_in_admin(&s)
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let mut m = measurements();
        m.edad = (i % 100) as f64;
        let id = s.assess(&token, None, &m).unwrap().assessment_id;
        writeln!(out, "{id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_killed_writer_loses_nothing_it_committed() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut committed = Vec::new();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _round in 0..4 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let stop_after = 20 + (seed % 200) as usize;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CARDIORISK_CRASH_DIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        for line in std::io::BufReader::new(stdout).lines().take(stop_after) {
            if let Ok(id) = line.unwrap().trim().parse::<i64>() {
                committed.push(id);
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(committed.len() >= 80);

    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    // Opening again finds nothing pending.
    drop(Services::open(dir.path(), &support::test_key()).unwrap());
    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    for id in &committed {
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM assessments WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "committed assessment {id} is stored");
    }
    let orphans: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM assessments a WHERE (SELECT COUNT(*) FROM audit_log l
                 WHERE l.action = 'assessment.created' AND l.subject = 'assessment:' || a.id) != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "every assessment has exactly one audit entry");
    let without_change: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM assessments a WHERE (SELECT COUNT(*) FROM change_log c
                 WHERE c.entity = 'assessment' AND c.op = 'append'
                   AND c.entity_id = CAST(a.id AS TEXT)) != 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        without_change, 0,
        "every assessment has exactly one change row, whatever the kill"
    );
}
