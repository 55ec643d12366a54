//! Backup and restore, file modes, and files that are not ours: against real SQLite
//! files.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{AuditFilter, ErrorKind};
use cardiorisk_core::service::{Services, DB_FILE};
use rusqlite::Connection;
use support::{admin, count, doctor, measurements};

#[test]
fn backup_and_restore_round_trip_and_foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    s.assess(&token, None, &measurements()).unwrap();
    let backup = dir.path().join("backup.db");
    s.backup(&token, &backup).unwrap();
    s.assess(&token, None, &measurements()).unwrap();
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM assessments"), 2);

    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    for path in [&foreign, &junk] {
        let err = s.restore(&token, path).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(
            err.message.contains("is not a CardioRisk database"),
            "{err}"
        );
    }
    assert_eq!(
        count(dir.path(), "SELECT COUNT(*) FROM assessments"),
        2,
        "nothing changed"
    );

    s.restore(&token, &backup).unwrap();
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM assessments"), 1);
    assert_eq!(
        s.recent(&token, 5).unwrap_err().kind,
        ErrorKind::Unauthenticated,
        "restore signs out"
    );
}

#[test]
fn the_data_directory_and_every_file_in_it_are_private() {
    use cardiorisk_core::private::mode;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let s = Services::open(&dir, &support::test_key()).unwrap();
    let token = admin(&s);
    s.assess(&token, None, &measurements()).unwrap();
    let backup = parent.path().join("backup.db");
    s.backup(&token, &backup).unwrap();
    let export = parent.path().join("audit.csv");
    s.export_audit(&token, &AuditFilter::default(), &export)
        .unwrap();
    assert_eq!(mode(&dir).unwrap(), Some(0o700));
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for suffix in ["cardiorisk.db", "cardiorisk.db-wal", "cardiorisk.db-shm"] {
        assert!(names.iter().any(|n| n == suffix), "{names:?}");
    }
    for f in files.iter().chain([&backup, &export]) {
        assert_eq!(mode(f).unwrap(), Some(0o600), "{}", f.display());
    }

    // An install from before this change is tightened when opened.
    drop(s);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files.iter().filter(|f| f.exists()) {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    drop(Services::open(&dir, &support::test_key()).unwrap());
    assert_eq!(mode(&dir).unwrap(), Some(0o700));
    for f in files.iter().filter(|f| f.exists()) {
        assert_eq!(mode(f).unwrap(), Some(0o600), "{}", f.display());
    }
}

#[test]
fn another_programs_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('theirs');")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Services::open(dir.path(), &support::test_key())
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("is not a CardioRisk database"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
    assert!(!dir.path().join(format!("{DB_FILE}-wal")).exists());

    // An empty file is fine: a new database.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join(DB_FILE), b"").unwrap();
    drop(Services::open(empty.path(), &support::test_key()).unwrap());
}

#[test]
fn restore_ends_every_session_forgets_keys_and_keeps_newer_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let other = doctor(&s, &token, "otto");
    let backup = dir.path().join("backup.db");
    s.backup(&token, &backup).unwrap();

    // After the backup: a client that the backup does not have, used once (so its
    // key is in the cache), and audit entries the restore would otherwise drop.
    let created = s.create_client(&token, "late", "PREMIUM").unwrap();
    assert!(s.authenticate_key(&created.api_key).unwrap().is_some());
    s.assess(&other, None, &measurements()).unwrap();
    let entries_before = count(dir.path(), "SELECT COUNT(*) FROM audit_log");

    s.restore(&token, &backup).unwrap();
    for t in [&token, &other] {
        assert_eq!(
            s.recent(t, 5).unwrap_err().kind,
            ErrorKind::Unauthenticated,
            "every session ends"
        );
    }
    assert_eq!(
        s.authenticate_key(&created.api_key).unwrap(),
        None,
        "a client absent from the backup no longer authenticates"
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM assessments"), 0);
    let carried = count(
        dir.path(),
        "SELECT COUNT(*) FROM audit_log WHERE action = 'assessment.created'",
    );
    assert_eq!(carried, 1, "the assessment's audit entry is kept");
    assert!(
        count(dir.path(), "SELECT COUNT(*) FROM audit_log") > entries_before,
        "every entry kept, plus the restore's own"
    );
    let detail: String = support::open_db(&dir.path().join(DB_FILE))
        .unwrap()
        .query_row(
            "SELECT detail FROM audit_log WHERE action = 'database.restored'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(detail.contains("carried over"), "{detail}");
}

#[test]
fn a_damaged_database_is_refused_with_what_can_be_known_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let backup = dir.path().join("backup.db");
    s.backup(&token, &backup).unwrap();
    let damage = |path: &std::path::Path, pages: std::ops::Range<usize>| {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[pages].fill(0xA5);
        std::fs::write(path, &bytes).unwrap();
        bytes
    };
    // A page after the first: the key opens the file, so it is ours, and damaged.
    damage(&backup, 4096 + 100..8192);
    let err = s.restore(&token, &backup).unwrap_err();
    assert!(
        err.message
            .contains("is a CardioRisk database but it is damaged"),
        "{}",
        err.message
    );
    drop(s);
    // The first page: sealed, nothing in the file tells a damaged database of ours
    // from one sealed with another key; the message says both, and the file stays.
    let db = dir.path().join(DB_FILE);
    let damaged = damage(&db, 100..4096);
    let err = Services::open(dir.path(), &support::test_key())
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("cannot be read with this installation's key"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), damaged, "left unchanged");
}

#[cfg(target_os = "linux")]
#[test]
fn a_folder_that_cannot_be_made_private_is_named_as_such_not_as_uncreatable() {
    // /proc/self/fdinfo exists, and no one may change its mode, root included.
    let err = cardiorisk_core::db::open(
        std::path::Path::new("/proc/self/fdinfo/cardiorisk.db"),
        &support::test_key(),
    )
    .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with("cannot make /proc/self/fdinfo private to its owner"),
        "{text}"
    );
}

/// Another program holding the database past the busy timeout: the assessment is
/// refused with the database's error (nothing half-written, no caller left waiting),
/// and the next one, once the lock is gone, is stored.
#[test]
fn an_assessment_while_another_program_holds_the_lock_is_refused_then_works() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let other = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = s.assess(&token, None, &measurements()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Internal, "{err}");
    assert!(err.message.contains("locked"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    s.assess(&token, None, &measurements()).unwrap();
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM assessments"), 1);
}

/// A commit is durable through a power cut: synchronous=FULL everywhere, and on
/// macOS, where fsync() stops at the drive's cache, F_FULLFSYNC for commits and
/// checkpoints (SQLite keeps the setting on every system and uses it where it exists).
#[test]
fn every_connection_flushes_to_the_disk_itself() {
    let dir = tempfile::tempdir().unwrap();
    let conn = cardiorisk_core::db::open(&dir.path().join(DB_FILE), &support::test_key()).unwrap();
    for (pragma, want) in [
        ("synchronous", 2),
        ("fullfsync", 1),
        ("checkpoint_fullfsync", 1),
    ] {
        let got: i64 = conn
            .query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(got, want, "PRAGMA {pragma}");
    }
}

#[test]
fn the_database_engine_is_sqlite3_multiple_ciphers_and_not_the_systems_sqlite() {
    let library = cardiorisk_core::db::cipher_library().expect("a cipher-capable SQLite is linked");
    assert!(
        library.starts_with("SQLite3 Multiple Ciphers"),
        "linked: {library}"
    );
    #[cfg(target_os = "linux")]
    {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(
            !maps.contains("libsqlite3.so"),
            "the system's plain SQLite is mapped into the process"
        );
    }
}

/// A backup onto a full disk (a small tmpfs mounted for the test; root only, says so
/// when it skips), failing at the database copy and then at the backup file itself:
/// answered "cannot write", nothing left behind, the earlier backup at that path as it
/// was, the app working on; with room again the backup is written and restores.
#[cfg(target_os = "linux")]
#[test]
fn a_backup_onto_a_full_disk_fails_whole_and_leaves_the_earlier_backup() {
    use cardiorisk_contract::ErrorCode;
    use cardiorisk_core::keys::KdfCost;
    use cardiorisk_core::vault::Vault;

    let dir = tempfile::tempdir().unwrap();
    let (s, session) = Vault::new(dir.path())
        .with_cost(KdfCost::FOR_TESTS)
        .set_up("admin", "Ada Admin", support::ADMIN_PASSWORD)
        .unwrap();
    let token = session.token;
    s.assess(&token, None, &measurements()).unwrap();
    // The size of a backup of this database, with its wraps.
    let sized = dir.path().join("sized.db");
    s.backup(&token, &sized).unwrap();
    let backup_bytes = std::fs::metadata(&sized).unwrap().len();

    let size = (4 * backup_bytes).div_ceil(4096) * 4096;
    let Some(mount) = support::Tmpfs::mount(&size.to_string()) else {
        support::skip(false, "cannot mount a small tmpfs here (needs root)");
        return;
    };
    let backup = mount.path().join("clinic.db");
    s.backup(&token, &backup).unwrap();
    let earlier = std::fs::read(&backup).unwrap();
    s.assess(&token, None, &measurements()).unwrap();

    let filler = mount.path().join("filler");
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(mount.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // Half a backup's room: the database copy fails. One and a half: the copy fits,
    // the backup file beside it does not.
    for (filler_bytes, fails_at) in [
        (5 * backup_bytes / 2, ErrorCode::BackupFailed),
        (3 * backup_bytes / 2, ErrorCode::CannotWrite),
    ] {
        std::fs::write(&filler, vec![7u8; filler_bytes as usize]).unwrap();
        let err = s.backup(&token, &backup).unwrap_err();
        assert_eq!(err.code, fails_at, "{}", err.message);
        assert!(
            err.message.to_lowercase().contains("full") || err.message.contains("No space left"),
            "the message says the disk is full: {}",
            err.message
        );
        assert_eq!(names(), ["clinic.db", "filler"], "nothing left behind");
        assert_eq!(
            std::fs::read(&backup).unwrap(),
            earlier,
            "the earlier backup is as it was"
        );
        s.assess(&token, None, &measurements()).unwrap();
    }

    std::fs::remove_file(&filler).unwrap();
    s.backup(&token, &backup).unwrap();
    assert_eq!(names(), ["clinic.db"]);
    s.restore(&token, &backup).unwrap();
    let again = s.sign_in("admin", support::ADMIN_PASSWORD).unwrap();
    assert_eq!(
        s.recent(&again.token, 10).unwrap().len(),
        4,
        "the last backup, whole"
    );
}
