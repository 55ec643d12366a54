//! The data sealed at rest, through the vault as every entry point opens it: first
//! run, sign-in, passwords changing hands, the recovery key, backups made here, and a
//! database in clear from an earlier release sealed at its first sign-in (also when
//! killed). Backups from another installation: `vault_backups.rs`.
//! Real files in a temporary directory; the raw bytes of every file are searched.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{ErrorCode, NewUser, PatientInput, Role};
use cardiorisk_core::service::DB_FILE;
use cardiorisk_core::vault::Lock;
use std::path::Path;
use support::ADMIN_PASSWORD;

mod sealed;
use sealed::{add_records, files_in_clear, key_file, patients, vault};

const CHILD_ENV: &str = "CARDIORISK_SEALING_CHILD_DIR";

#[test]
fn first_run_seals_everything_and_only_a_right_secret_opens_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let v = vault(dir.path());
    assert_eq!(v.lock(), Lock::Fresh);
    let (services, session) = v.set_up("admin", "Ada Admin", ADMIN_PASSWORD).unwrap();
    let recovery = session
        .recovery_key
        .clone()
        .expect("first run shows the recovery key");
    assert_eq!(recovery.len(), 39, "8 groups of 4: {recovery}");
    add_records(&services, &session.token);
    let backup = dir.path().join("backups").join("monday.db");
    std::fs::create_dir_all(backup.parent().unwrap()).unwrap();
    services.backup(&session.token, &backup).unwrap();
    // While open (WAL and shared memory in use) and after closing.
    assert_eq!(files_in_clear(dir.path()), Vec::<String>::new());
    drop(services);
    assert_eq!(files_in_clear(dir.path()), Vec::<String>::new());
    let header = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    assert_ne!(
        &header[..16],
        b"SQLite format 3\0",
        "not a plain SQLite file"
    );
    // Another SQLite without the key reads nothing.
    let plain = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    assert!(plain
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
        .is_err());
    drop(plain);

    let v = vault(dir.path());
    assert_eq!(v.lock(), Lock::Sealed);
    let wrong = v
        .sign_in("admin", "not the password at all")
        .0
        .err()
        .unwrap();
    assert_eq!(wrong.code, ErrorCode::WrongCredentials);
    let unknown = v.sign_in("mallory", ADMIN_PASSWORD).0.err().unwrap();
    assert_eq!(unknown.code, ErrorCode::WrongCredentials, "same answer");
    let (services, session) = v.sign_in("admin", ADMIN_PASSWORD).0.unwrap();
    assert_eq!(session.recovery_key, None, "shown only once");
    assert_eq!(patients(&services, &session.token), 1);
    // The refusals made while it was closed are in its audit log now.
    let refused = support::count(
        dir.path(),
        "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'
          AND detail LIKE 'a password that does not unlock this computer''s data (at %)'",
    );
    assert_eq!(refused, 2);
    drop(services);

    // A clinician's password opens it too (wrapped when the account was made).
    let (services, nurse) = vault(dir.path())
        .sign_in("nurse", "clinician-pass-1")
        .0
        .unwrap();
    assert_eq!(nurse.user.role, Role::Clinician);
    drop(services);

    // The backup opens only with this installation's key.
    let copy = rusqlite::Connection::open(&backup).unwrap();
    assert!(copy
        .query_row("SELECT COUNT(*) FROM patients", [], |r| r.get::<_, i64>(0))
        .is_err());
    let (services, session) = vault(dir.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    services.restore(&session.token, &backup).unwrap();
    let again = services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(patients(&services, &again.token), 1);
    let stranger = tempfile::tempdir().unwrap();
    let (other, other_session) = vault(stranger.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    let refused = other.restore(&other_session.token, &backup).unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::BackupFromElsewhere,
        "{}",
        refused.message
    );
}

#[test]
fn resets_disabling_and_the_recovery_key_decide_who_can_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let (services, session) = vault(dir.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    let first_recovery = session.recovery_key.clone().unwrap();
    let admin = session.token.clone();
    let user = |name: &str| NewUser {
        username: name.into(),
        display_name: name.into(),
        password: "initial-pass-1".into(),
        role: Role::Clinician,
    };
    let nurse = services.create_user(&admin, &user("nurse")).unwrap();
    let gone = services.create_user(&admin, &user("gone")).unwrap();
    services
        .reset_password(&admin, nurse.id, "after-reset-2")
        .unwrap();
    services.set_disabled(&admin, gone.id, true).unwrap();
    let second_recovery = services.reissue_recovery_key(&admin).unwrap();
    assert_ne!(first_recovery, second_recovery);
    drop(services);

    let opens = |user: &str, password: &str| vault(dir.path()).sign_in(user, password).0.is_ok();
    assert!(
        opens("nurse", "after-reset-2"),
        "the reset password opens it"
    );
    assert!(
        !opens("nurse", "initial-pass-1"),
        "the old password no longer does"
    );
    assert!(
        !opens("gone", "initial-pass-1"),
        "a disabled account's does not"
    );
    assert!(opens("admin", ADMIN_PASSWORD));

    // Every password lost: only the newest recovery key helps.
    let old = vault(dir.path())
        .recover(&first_recovery, "admin", "brand new password 1")
        .err()
        .expect("the reissued key retired the first one");
    assert_eq!(old.code, ErrorCode::RecoveryKey);
    let typed = second_recovery.to_lowercase().replace('-', " ");
    let services = vault(dir.path())
        .recover(&typed, "admin", "brand new password 1")
        .unwrap();
    drop(services);
    assert!(opens("admin", "brand new password 1"));
    assert!(!opens("admin", ADMIN_PASSWORD));
    let used: i64 = support::open_db_as(&dir.path().join(DB_FILE), "admin", "brand new password 1")
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('recovery_key.issued', 'recovery_key.used')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(used, 2);
}

/// A database in clear as the release before encryption left it: accounts, a
/// patient, an assessment, an audit trail.
fn earlier_release_database(dir: &Path) {
    let services = vault(dir).open_as_earlier_release().unwrap();
    let admin = support::admin(&services);
    add_records(&services, &admin);
    drop(services);
    assert_eq!(vault(dir).lock(), Lock::InClear);
    assert!(!files_in_clear(dir).is_empty(), "the fixture is in clear");
}

#[test]
fn a_database_in_clear_is_sealed_at_its_first_sign_in_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    earlier_release_database(dir.path());
    let audit_before = support::count(dir.path(), "SELECT COUNT(*) FROM audit_log");
    let v = vault(dir.path());
    let (services, session) = v.sign_in("admin", ADMIN_PASSWORD).0.unwrap();
    assert!(
        session.recovery_key.is_some(),
        "sealing issues the recovery key"
    );
    assert_eq!(v.lock(), Lock::Sealed);
    assert_eq!(patients(&services, &session.token), 1);
    let report = services.verify_audit(&session.token).unwrap();
    assert_eq!(report.broken, None);
    drop(services);
    assert_eq!(files_in_clear(dir.path()), Vec::<String>::new());
    let audit_after = support::count(dir.path(), "SELECT COUNT(*) FROM audit_log");
    assert!(audit_after > audit_before, "{audit_after} > {audit_before}");
    let kept = support::count(
        dir.path(),
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('patient.created', 'assessment.created', 'account.created')",
    );
    assert_eq!(kept, 3, "every entry from before is kept");
    assert_eq!(
        support::count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'database.sealed'"
        ),
        1
    );
    // The other account gets its wrap at its own first sign-in.
    let (services, _) = vault(dir.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    services.sign_in("nurse", "clinician-pass-1").unwrap();
    drop(services);
    assert!(vault(dir.path())
        .sign_in("nurse", "clinician-pass-1")
        .0
        .is_ok());
}

#[test]
fn a_backup_made_in_clear_before_encryption_restores_into_sealed_data() {
    let old = tempfile::tempdir().unwrap();
    earlier_release_database(old.path());
    let backup = old.path().join("before-encryption.db");
    std::fs::copy(old.path().join(DB_FILE), &backup).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (services, session) = vault(dir.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    assert_eq!(patients(&services, &session.token), 0);
    services.restore(&session.token, &backup).unwrap();
    let again = services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(patients(&services, &again.token), 1);
    drop(services);
    assert_eq!(vault(dir.path()).lock(), Lock::Sealed);
    let in_clear: Vec<String> = files_in_clear(dir.path());
    assert_eq!(
        in_clear,
        Vec::<String>::new(),
        "only the backup itself is in clear"
    );
}

/// The child of the test below: seals the database in `$CARDIORISK_SEALING_CHILD_DIR`.
#[test]
fn sealing_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    println!("sealing");
    let started = std::time::Instant::now();
    let _ = vault(Path::new(&dir)).sign_in("admin", ADMIN_PASSWORD);
    println!("sealed in {} µs", started.elapsed().as_micros());
}

#[test]
fn a_sealing_killed_at_any_moment_leaves_the_data_open_to_the_password() {
    use std::io::BufRead;
    let fixture = tempfile::tempdir().unwrap();
    earlier_release_database(fixture.path());
    // How long a sealing takes here, to spread the kills over it.
    let timed = tempfile::tempdir().unwrap();
    copy_dir(fixture.path(), timed.path());
    let started = std::time::Instant::now();
    vault(timed.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    // A child also starts its runtime and loads the model: about twice as long.
    let span_us = 2 * started.elapsed().as_micros() as u64 + 1;
    eprintln!("one sealing took {span_us} µs here");
    let mut moments = support::KillMoments::new();
    let mut outcomes = Vec::new();
    for _ in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(fixture.path(), dir.path());
        let mut child = support::spawn_child_test("sealing_child", CHILD_ENV, dir.path());
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(Ok(line)) = out.next() {
            // libtest prints "test sealing_child ... " before the test's own output.
            if line.ends_with("sealing") {
                break;
            }
        }
        // The kill moment: a random point of a sealing's span (not a wait for a state).
        std::thread::sleep(std::time::Duration::from_micros(moments.next() % span_us));
        child.kill().unwrap();
        child.wait().unwrap();
        let lock = vault(dir.path()).lock();
        outcomes.push(lock);
        let (services, session) = vault(dir.path())
            .sign_in("admin", ADMIN_PASSWORD)
            .0
            .unwrap_or_else(|e| panic!("killed while {lock:?}: {}", e.message));
        assert_eq!(patients(&services, &session.token), 1);
        drop(services);
        assert_eq!(files_in_clear(dir.path()), Vec::<String>::new());
    }
    eprintln!("states found after the kills: {outcomes:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn entries_removed_from_the_end_of_the_log_are_found_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (services, session) = vault(dir.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    add_records(&services, &session.token);
    // Signing out records the log's last entry in the key file.
    services.sign_out(&session.token).unwrap();
    drop(services);
    let last = support::count(dir.path(), "SELECT MAX(id) FROM audit_log");
    let db = dir.path().join(DB_FILE);
    // Another tool that can open the database removes the two newest entries.
    support::open_db(&db)
        .unwrap()
        .execute("DELETE FROM audit_log WHERE id > ?1", [last - 2])
        .unwrap();

    let (services, session) = vault(dir.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    let report = services.verify_audit(&session.token).unwrap();
    let broken = report.broken.expect("the removal is found");
    assert_eq!(broken.id, last, "the entry the key file recorded last");
    // This sign-in wrote new entries where the removed ones were: the recorded one's
    // id is back, with another content.
    assert!(
        matches!(
            broken.reason,
            cardiorisk_contract::AuditChainFault::Truncated
                | cardiorisk_contract::AuditChainFault::Changed
        ),
        "{broken:?}"
    );

    // A log that only grew since verifies.
    let fresh = tempfile::tempdir().unwrap();
    let (services, session) = vault(fresh.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    services.sign_out(&session.token).unwrap();
    let again = services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    add_records(&services, &again.token);
    assert_eq!(services.verify_audit(&again.token).unwrap().broken, None);
}

/// Rewrites the sealed database at `path` as the first sealed builds wrote it
/// (ChaCha20-Poly1305 pages), with the same key.
fn reseal_with_chacha20(path: &Path, key: &cardiorisk_core::keys::DataKey) {
    let legacy = path.with_extension("chacha20");
    {
        let conn = rusqlite::Connection::open(path).unwrap();
        cardiorisk_core::db::apply_key(&conn, key).unwrap();
        let target = format!(
            "file:{}?cipher=chacha20&key={}",
            legacy.display(),
            &*key.sqlite_key()
        );
        conn.execute("VACUUM INTO ?1", [&target]).unwrap();
    }
    std::fs::rename(&legacy, path).unwrap();
    assert!(reads_with_chacha20(path, key));
}

fn reads_with_chacha20(path: &Path, key: &cardiorisk_core::keys::DataKey) -> bool {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.pragma_update(None, "cipher", "chacha20").unwrap();
    conn.pragma_update(None, "key", &*key.sqlite_key()).unwrap();
    conn.query_row("SELECT COUNT(*) FROM patients", [], |r| r.get::<_, i64>(0))
        .is_ok()
}

#[test]
fn a_database_and_a_backup_sealed_by_the_first_sealed_builds_open_and_are_resealed() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("first-sealed-build.db");
    {
        let (services, session) = vault(dir.path())
            .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
            .unwrap();
        add_records(&services, &session.token);
    }
    // Their backups were bare sealed SQLite files, copies of the database.
    std::fs::copy(dir.path().join(DB_FILE), &backup).unwrap();
    let key = key_file(dir.path())
        .unlock("admin", ADMIN_PASSWORD)
        .unwrap();
    let database = dir.path().join(DB_FILE);
    reseal_with_chacha20(&database, &key);
    reseal_with_chacha20(&backup, &key);

    let (services, session) = vault(dir.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    assert_eq!(patients(&services, &session.token), 1);
    assert_eq!(services.verify_audit(&session.token).unwrap().broken, None);
    assert!(
        !reads_with_chacha20(&database, &key),
        "resealed with this release's cipher"
    );
    assert_eq!(
        support::count(dir.path(), "SELECT COUNT(*) FROM patients"),
        1
    );

    // The backup restores too, after a patient was added and then deleted again.
    services
        .create_patient(
            &session.token,
            &PatientInput {
                record_number: "HC-LATER".into(),
                name: "Later Patient".into(),
                birth_year: None,
                notes: String::new(),
            },
        )
        .unwrap();
    assert_eq!(patients(&services, &session.token), 2);
    services.restore(&session.token, &backup).unwrap();
    let again = services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(patients(&services, &again.token), 1);
    drop(services);
    assert_eq!(files_in_clear(dir.path()), Vec::<String>::new());
}
