//! The audit trail cannot be edited unseen: every entry carries a SHA-256 link to
//! the one before, and checking the chain names the first entry that was changed,
//! removed, moved or unlinked with another tool; a restore and an upgrade keep it
//! whole, and writes killed at random moments leave a chain that verifies.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{AuditChainFault, AuditChainReport, ErrorCode, PatientInput};
use cardiorisk_core::audit::{verify_chain, Action, Event, Status};
use cardiorisk_core::service::{Services, DB_FILE};
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{admin, doctor, measurements};

fn raw(dir: &Path) -> Connection {
    support::open_db(&dir.join(DB_FILE)).unwrap()
}

fn verify(dir: &Path) -> AuditChainReport {
    verify_chain(&raw(dir)).unwrap()
}

/// A clinic's day: sign-ins, a patient, assessments, gateway request lines.
fn a_day(s: &Services) {
    let admin_token = admin(s);
    let rosa = doctor(s, &admin_token, "rosa");
    let ana = s
        .create_patient(
            &rosa,
            &PatientInput {
                record_number: "HC-1001".into(),
                name: "Ana Gómez".into(),
                birth_year: Some(1960),
                notes: String::new(),
            },
        )
        .unwrap()
        .id;
    for _ in 0..3 {
        s.assess(&rosa, Some(ana), &measurements()).unwrap();
    }
    s.patient_record(&rosa, ana).unwrap();
    let lines = (0..20)
        .map(|n| {
            Event::new(Action::GatewayRequest, Status::Ok, Instant::now())
                .detail(format!("line {n}"))
        })
        .collect();
    s.record_batch(lines, Duration::from_secs(5)).unwrap();
    assert!(s.sign_in("rosa", "wrong password").is_err());
}

fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    // The WAL is checkpointed into the file when the last connection closes.
    std::fs::copy(dir.join(DB_FILE), copy.path().join(DB_FILE)).unwrap();
    copy
}

#[test]
fn a_whole_log_verifies_and_each_edit_names_the_first_entry_it_broke() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Services::open(dir.path(), &support::test_key()).unwrap();
        a_day(&s);
    }
    let report = verify(dir.path());
    let entries = support::count(dir.path(), "SELECT COUNT(*) FROM audit_log");
    assert!(entries > 25, "{entries}");
    assert_eq!(report.entries, entries as u64);
    assert_eq!(report.unchained, 0);
    assert!(report.chained_since.is_some());
    assert_eq!(report.broken, None, "{report:?}");

    let middle = entries / 2;
    let broken = |edit: &str| {
        let copy = copy_of(dir.path());
        raw(copy.path()).execute_batch(edit).unwrap();
        let report = verify(copy.path());
        assert_eq!(
            report.entries as i64,
            entries - i64::from(edit.starts_with("DELETE"))
        );
        let broken = report
            .broken
            .unwrap_or_else(|| panic!("{edit}: not detected"));
        (broken.id, broken.reason)
    };

    // One entry's words changed.
    assert_eq!(
        broken(&format!(
            "UPDATE audit_log SET detail = detail || ' (edited)' WHERE id = {middle}"
        )),
        (middle, AuditChainFault::Changed)
    );
    // Its time moved by a second, or its user changed.
    assert_eq!(
        broken(&format!(
            "UPDATE audit_log SET at = strftime('%Y-%m-%dT%H:%M:%fZ', at, '+1 second') WHERE id = {middle}"
        )),
        (middle, AuditChainFault::Changed)
    );
    assert_eq!(
        broken(&format!(
            "UPDATE audit_log SET username = 'someone else' WHERE id = {middle}"
        )),
        (middle, AuditChainFault::Changed)
    );
    // One entry removed: the entry after the gap is named.
    assert_eq!(
        broken(&format!("DELETE FROM audit_log WHERE id = {middle}")),
        (middle + 1, AuditChainFault::Missing)
    );
    // Two entries swapped, links and all: ids stay, contents trade places.
    let next = middle + 1;
    assert_eq!(
        broken(&format!(
            "CREATE TEMP TABLE a AS SELECT * FROM audit_log WHERE id = {middle};
             CREATE TEMP TABLE b AS SELECT * FROM audit_log WHERE id = {next};
             DELETE FROM audit_log WHERE id IN ({middle}, {next});
             UPDATE temp.a SET id = {next}; UPDATE temp.b SET id = {middle};
             INSERT INTO audit_log SELECT * FROM temp.a;
             INSERT INTO audit_log SELECT * FROM temp.b;"
        )),
        (middle, AuditChainFault::Changed)
    );
    // A link taken away.
    assert_eq!(
        broken(&format!(
            "UPDATE audit_log SET chain = NULL WHERE id = {middle}"
        )),
        (middle, AuditChainFault::Unlinked)
    );
    // The first entry changed: the chain's start is checked too.
    assert_eq!(
        broken("UPDATE audit_log SET status = 'error' WHERE id = 1"),
        (1, AuditChainFault::Changed)
    );
}

#[test]
fn only_an_administrator_checks_the_chain_and_new_entries_extend_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    a_day(&s);
    let rosa = s.sign_in("rosa", "clinician-pass-1").unwrap().token;
    assert_eq!(
        s.verify_audit(&rosa).unwrap_err().code,
        ErrorCode::AdminOnly
    );
    let admin_token = support::sign_in_admin(&s);
    let first = s.verify_audit(&admin_token).unwrap();
    assert_eq!(first.broken, None);
    a_colleague_joins(&s, &admin_token, "bruno");
    let second = s.verify_audit(&admin_token).unwrap();
    assert_eq!(second.broken, None, "{second:?}");
    assert!(second.entries > first.entries);
    assert_eq!(second.chained_since, first.chained_since);
}

/// A new colleague's account and first assessment.
fn a_colleague_joins(s: &Services, admin_token: &str, username: &str) {
    let colleague = doctor(s, admin_token, username);
    s.assess(&colleague, None, &measurements()).unwrap();
}

#[test]
fn an_upgraded_log_is_chained_from_the_upgrade_and_older_entries_are_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Services::open(dir.path(), &support::test_key()).unwrap();
        a_day(&s);
    }
    // The same log as schema 8 wrote it: no chain column.
    let before: i64 = support::count(dir.path(), "SELECT COUNT(*) FROM audit_log");
    raw(dir.path())
        .execute_batch("ALTER TABLE audit_log DROP COLUMN chain; PRAGMA user_version = 8;")
        .unwrap();

    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let admin_token = support::sign_in_admin(&s);
    a_colleague_joins(&s, &admin_token, "bruno");
    let report = s.verify_audit(&admin_token).unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.unchained, before as u64);
    let first_chained: String = raw(dir.path())
        .query_row(
            "SELECT at FROM audit_log WHERE chain IS NOT NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(report.chained_since, Some(first_chained));

    // An entry from before the upgrade cannot be slipped in after it.
    drop(s);
    raw(dir.path())
        .execute_batch(
            "INSERT INTO audit_log (at, action, status, elapsed_ms, detail)
             VALUES ('2026-12-07T00:00:00.000Z', 'sign_in', 'ok', 1.0, 'slipped in')",
        )
        .unwrap();
    let report = verify(dir.path());
    assert_eq!(
        report.broken.map(|b| b.reason),
        Some(AuditChainFault::Unlinked)
    );
}

#[test]
fn a_restore_keeps_the_chain_whole_with_the_entries_it_carries() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    a_day(&s);
    let admin_token = support::sign_in_admin(&s);
    let backup = dir.path().join("backup.db");
    s.backup(&admin_token, &backup).unwrap();
    a_colleague_joins(&s, &admin_token, "bruno");
    s.restore(&admin_token, &backup).unwrap();
    let admin_token = support::sign_in_admin(&s);
    // bruno came after the backup and is gone with the restore.
    a_colleague_joins(&s, &admin_token, "carla");
    let report = s.verify_audit(&admin_token).unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.unchained, 0);
}

const CHILD_ENV: &str = "CARDIORISK_CHAIN_CHILD";

/// Child mode only (a no-op in a normal run): three threads append batches and
/// single entries as fast as they can until the process is killed.
#[test]
fn chain_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let s = Services::open(Path::new(&dir), &support::test_key())
        .unwrap()
        .shared();
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let s = std::sync::Arc::clone(&s);
            std::thread::spawn(move || {
                for n in 0u64.. {
                    let size = 1 + (n as usize * 7 + t) % 40;
                    let lines = (0..size)
                        .map(|i| {
                            Event::new(Action::GatewayRequest, Status::Ok, Instant::now())
                                .detail(format!("thread {t} batch {n} line {i}"))
                        })
                        .collect();
                    s.record_batch(lines, Duration::from_secs(5)).unwrap();
                    println!("committed");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn writes_killed_at_random_moments_leave_a_chain_that_verifies() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Services::open(dir.path(), &support::test_key()).unwrap();
        admin(&s);
    }
    let mut moments = support::KillMoments::new();
    for _ in 0..6 {
        let commits_before_kill = 5 + moments.next() % 200;
        let mut child = support::spawn_child_test("chain_child", CHILD_ENV, dir.path());
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut commits = 0;
        for line in out.lines() {
            if line.unwrap() == "committed" {
                commits += 1;
                if commits == commits_before_kill {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(commits, commits_before_kill, "the child stopped early");
        let report = verify(dir.path());
        assert_eq!(report.broken, None, "{report:?}");
        assert_eq!(report.unchained, 0);
    }
}
