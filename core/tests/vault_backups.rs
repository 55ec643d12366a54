//! Backups from another installation (a laptop set up again, another laptop of the
//! clinic): restored with the password of an account in the backup or its recovery
//! key, never with nothing, never obeying hostile wraps; and the key file's wraps
//! following the restored accounts, also when the restore's process dies at its
//! commit. Real files in temporary directories.

#[path = "../../tests/support/mod.rs"]
mod support;

mod sealed;

use cardiorisk_contract::{AuditFilter, ErrorCode};
use cardiorisk_core::service::BackupSecret;
use sealed::{add_records, files_in_clear, key_file, patients, vault};
use std::path::Path;
use support::ADMIN_PASSWORD;

const CHILD_ENV: &str = "CARDIORISK_RESTORE_CHILD_DIR";
const LAPTOP_PASSWORD: &str = "laptop-admin-pass-9";
const NURSE_PASSWORD: &str = "clinician-pass-1";

/// Another installation (the clinic's) with a patient, an assessment and the nurse: its
/// directory (which lives as long as the first value), its backup and its recovery key.
fn clinic_backup() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let clinic = tempfile::tempdir().unwrap();
    let backup = clinic.path().join("clinic.db");
    let (services, session) = vault(clinic.path())
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .unwrap();
    add_records(&services, &session.token);
    services.backup(&session.token, &backup).unwrap();
    (clinic, backup, session.recovery_key.unwrap())
}

fn nurse(password: &str) -> BackupSecret {
    BackupSecret::Password {
        username: "nurse".into(),
        password: password.into(),
    }
}

#[test]
fn a_backup_restores_on_another_installation_with_a_password_in_it_or_its_recovery_key() {
    let (clinic, backup, recovery) = clinic_backup();
    assert_eq!(
        files_in_clear(clinic.path()),
        Vec::<String>::new(),
        "the backup, with its wraps, holds nothing in clear"
    );

    // A laptop set up again: another key, another administrator's password.
    let laptop = tempfile::tempdir().unwrap();
    let (services, session) = vault(laptop.path())
        .set_up("admin", "Ada Admin", LAPTOP_PASSWORD)
        .unwrap();
    let laptop_recovery = session.recovery_key.clone().unwrap();
    let asked = services.restore(&session.token, &backup).unwrap_err();
    assert_eq!(
        asked.code,
        ErrorCode::BackupFromElsewhere,
        "{}",
        asked.message
    );
    let wrong = services
        .restore_with(&session.token, &backup, Some(&nurse("not-her-password")))
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::BackupSecret);
    let denied = services
        .audit(
            &session.token,
            &AuditFilter {
                action: Some("database.restored".into()),
                status: Some("denied".into()),
                ..AuditFilter::default()
            },
            10,
            0,
        )
        .unwrap();
    assert_eq!(denied.total, 1, "a wrong secret is in the audit trail");
    assert!(
        denied.entries[0]
            .detail
            .contains("does not open this backup"),
        "{}",
        denied.entries[0].detail
    );
    assert_eq!(patients(&services, &session.token), 0, "nothing restored");
    services
        .restore_with(&session.token, &backup, Some(&nurse(NURSE_PASSWORD)))
        .unwrap();
    drop(services);

    // The restored accounts decide who opens the laptop now: the nurse, whose password
    // opened the backup; not the laptop's old administrator password, which the
    // restore replaced; the restored administrator password once it has signed in
    // while the data was open; and the laptop's own recovery key all along.
    assert!(vault(laptop.path())
        .sign_in("admin", LAPTOP_PASSWORD)
        .0
        .is_err());
    assert!(vault(laptop.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .is_err());
    let (services, nurse_session) = vault(laptop.path())
        .sign_in("nurse", NURSE_PASSWORD)
        .0
        .unwrap();
    assert_eq!(patients(&services, &nurse_session.token), 1);
    services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    drop(services);
    let (services, admin) = vault(laptop.path())
        .sign_in("admin", ADMIN_PASSWORD)
        .0
        .unwrap();
    assert_eq!(services.verify_audit(&admin.token).unwrap().broken, None);
    drop(services);
    assert!(vault(laptop.path())
        .recover(&laptop_recovery, "admin", "recovered-pass-42")
        .is_ok());
    assert_eq!(files_in_clear(laptop.path()), Vec::<String>::new());

    // A third computer restores the same file with the clinic's recovery key, typed.
    let third = tempfile::tempdir().unwrap();
    let (services, session) = vault(third.path())
        .set_up("admin", "Ada Admin", "third-admin-pass-7")
        .unwrap();
    let typed = BackupSecret::Recovery(recovery.to_lowercase());
    services
        .restore_with(&session.token, &backup, Some(&typed))
        .unwrap();
    let again = services.sign_in("admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(patients(&services, &again.token), 1);
}

#[test]
fn a_backup_whose_wraps_ask_for_absurd_work_is_refused_not_obeyed() {
    let clinic = tempfile::tempdir().unwrap();
    let backup = clinic.path().join("clinic.db");
    {
        let (services, session) = vault(clinic.path())
            .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
            .unwrap();
        services.backup(&session.token, &backup).unwrap();
    }
    // Rewrite the wraps' key derivation cost: 4 GiB and a million passes.
    let bytes = std::fs::read(&backup).unwrap();
    let magic = cardiorisk_core::backup_file::MAGIC.len();
    let length = u32::from_le_bytes(bytes[magic..magic + 4].try_into().unwrap()) as usize;
    let mut keys: serde_json::Value =
        serde_json::from_slice(&bytes[magic + 4..magic + 4 + length]).unwrap();
    for wrap in keys["wraps"].as_array_mut().unwrap() {
        wrap["kdf"]["memory_kib"] = (4u32 * 1024 * 1024).into();
        wrap["kdf"]["iterations"] = 1_000_000.into();
    }
    let keys = serde_json::to_vec(&keys).unwrap();
    let mut hostile = bytes[..magic].to_vec();
    hostile.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    hostile.extend_from_slice(&keys);
    hostile.extend_from_slice(&bytes[magic + 4 + length..]);
    std::fs::write(&backup, hostile).unwrap();

    let laptop = tempfile::tempdir().unwrap();
    let (services, session) = vault(laptop.path())
        .set_up("admin", "Ada Admin", LAPTOP_PASSWORD)
        .unwrap();
    let secret = BackupSecret::Password {
        username: "admin".into(),
        password: ADMIN_PASSWORD.into(),
    };
    let refused = services
        .restore_with(&session.token, &backup, Some(&secret))
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotABackup, "{}", refused.message);
    assert!(
        refused.message.contains("key derivation cost"),
        "{}",
        refused.message
    );
}

/// The child of the test below: in the laptop's data directory
/// (`$CARDIORISK_RESTORE_CHILD_DIR`), restores `clinic.db` with the nurse's password;
/// `CARDIORISK_FAULT_AT` stops it dead at a moment of the restore.
#[test]
fn restore_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let (services, session) = vault(dir).sign_in("admin", LAPTOP_PASSWORD).0.unwrap();
    services
        .restore_with(
            &session.token,
            &dir.join("clinic.db"),
            Some(&nurse(NURSE_PASSWORD)),
        )
        .unwrap();
}

/// Whether `password` still unseals the data key from `dir`'s key file.
fn unseals(dir: &Path, username: &str, password: &str) -> bool {
    key_file(dir).unlock(username, password).is_ok()
}

/// A restore from another installation stopped dead (as by SIGKILL) just before its
/// commit and just after it, the two moments the key file and the database disagree:
/// the data opens with the password of the side that won, and at that opening every
/// wrap whose password no longer signs in is gone, the one the loser's password opened.
#[test]
fn a_restore_stopped_dead_at_its_commit_leaves_wraps_only_for_passwords_that_sign_in() {
    let (_clinic, backup, _) = clinic_backup();
    for (moment, restored) in [("restore-begun", false), ("restore-committed", true)] {
        let laptop = tempfile::tempdir().unwrap();
        drop(
            vault(laptop.path())
                .set_up("admin", "Ada Admin", LAPTOP_PASSWORD)
                .unwrap(),
        );
        std::fs::copy(&backup, laptop.path().join("clinic.db")).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "restore_child", "--test-threads=1"])
            .env(CHILD_ENV, laptop.path())
            .env("CARDIORISK_FAULT_AT", moment)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "{moment}: the child stopped there");
        let keys = key_file(laptop.path());
        assert!(keys.restore_pending(), "{moment}: the restore was begun");

        // The loser's password first: it still unseals the key, and the opening it
        // causes settles the restore before its sign-in is refused.
        let (winner, loser) = if restored {
            (("nurse", NURSE_PASSWORD), ("admin", LAPTOP_PASSWORD))
        } else {
            (("admin", LAPTOP_PASSWORD), ("nurse", NURSE_PASSWORD))
        };
        assert!(unseals(laptop.path(), loser.0, loser.1), "{moment}");
        assert!(
            vault(laptop.path()).sign_in(loser.0, loser.1).0.is_err(),
            "{moment}: {} does not sign in",
            loser.0
        );
        assert!(
            !unseals(laptop.path(), loser.0, loser.1),
            "{moment}: {}'s password no longer unseals the data key",
            loser.0
        );
        let (services, session) = vault(laptop.path())
            .sign_in(winner.0, winner.1)
            .0
            .unwrap_or_else(|e| panic!("{moment}: {} signs in: {e}", winner.0));
        assert_eq!(
            patients(&services, &session.token),
            usize::from(restored),
            "{moment}"
        );
        drop(services);
        let keys = key_file(laptop.path());
        assert!(!keys.restore_pending(), "{moment}: settled");
        assert_eq!(files_in_clear(laptop.path()), Vec::<String>::new());
    }
}

/// A restore that fails after it began (another program holds the database's lock)
/// restores nothing and takes back the wrap it added for the backup's opener at once:
/// the backup's password does not unseal this computer's key.
#[test]
fn a_restore_that_fails_after_it_began_leaves_no_wrap_for_the_backups_password() {
    let (_clinic, backup, _) = clinic_backup();
    let laptop = tempfile::tempdir().unwrap();
    let (services, session) = vault(laptop.path())
        .set_up("admin", "Ada Admin", LAPTOP_PASSWORD)
        .unwrap();
    let key = key_file(laptop.path())
        .unlock("admin", LAPTOP_PASSWORD)
        .unwrap();
    let other =
        rusqlite::Connection::open(laptop.path().join(cardiorisk_core::service::DB_FILE)).unwrap();
    cardiorisk_core::db::apply_key(&other, &key).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let failed = services
        .restore_with(&session.token, &backup, Some(&nurse(NURSE_PASSWORD)))
        .unwrap_err();
    assert_eq!(failed.code, ErrorCode::RestoreFailed, "{}", failed.message);
    other.execute_batch("ROLLBACK").unwrap();
    assert!(!unseals(laptop.path(), "nurse", NURSE_PASSWORD));
    let keys = key_file(laptop.path());
    assert!(!keys.restore_pending());
    assert_eq!(patients(&services, &session.token), 0, "nothing restored");
}
