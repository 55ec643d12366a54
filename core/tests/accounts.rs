//! Accounts, roles, sessions and lock-outs, and how refusals are audited: against
//! real SQLite files.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{AuditFilter, ErrorKind, Role};
use cardiorisk_core::service::{Services, DB_FILE};
use std::sync::Arc;
use support::{admin, count, doctor, measurements, ADMIN_PASSWORD};

#[test]
fn first_run_creates_one_administrator_and_stores_only_an_argon2id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    assert!(s.needs_setup().unwrap());
    let weak = s.set_up("admin", "Ada", "short").unwrap_err();
    assert_eq!(weak.kind, ErrorKind::Invalid);
    assert_eq!(weak.fields[0].field, "password");
    let session = s.set_up("admin", "Ada Admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(session.user.role, Role::Admin);
    assert!(!s.needs_setup().unwrap());
    let again = s.set_up("other", "Other", ADMIN_PASSWORD).unwrap_err();
    assert_eq!(again.kind, ErrorKind::Conflict);
    let hash: String = support::open_db(&dir.path().join(DB_FILE))
        .unwrap()
        .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(ADMIN_PASSWORD));
}

#[test]
fn repeated_failures_lock_the_account_with_a_clear_message_and_an_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    admin(&s);
    for _ in 0..4 {
        assert_eq!(
            s.sign_in("admin", "wrong password!").unwrap_err().kind,
            ErrorKind::Unauthenticated
        );
    }
    let locked = s.sign_in("admin", "wrong password!").unwrap_err();
    assert_eq!(locked.kind, ErrorKind::Locked);
    assert!(
        locked.message.contains("locked for 15 minutes"),
        "{}",
        locked.message
    );
    // Even the right password is refused while locked.
    assert_eq!(
        s.sign_in("admin", ADMIN_PASSWORD).unwrap_err().kind,
        ErrorKind::Locked
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'account.locked'"
        ),
        1
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'"
        ),
        5
    );
    assert_eq!(
        s.sign_in("nobody", "whatever-long").unwrap_err().message,
        "Wrong username or password."
    );
}

#[test]
fn roles_are_enforced_in_the_backend_and_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let admin_token = admin(&s);
    let doc = doctor(&s, &admin_token, "doc");
    for err in [
        s.list_users(&doc).unwrap_err(),
        s.audit(&doc, &AuditFilter::default(), 10, 0).unwrap_err(),
        s.set_disabled(&doc, 1, true).unwrap_err(),
        s.reset_password(&doc, 1, "another-password").unwrap_err(),
    ] {
        assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    }
    assert!(s.assess(&doc, None, &measurements()).is_ok());
    for token in ["", "not-a-token"] {
        assert_eq!(
            s.assess(token, None, &measurements()).unwrap_err().kind,
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            s.search_patients(token, "", 10).unwrap_err().kind,
            ErrorKind::Unauthenticated
        );
    }
    // Disabling ends the clinician's session and refuses new sign-ins.
    let users = s.list_users(&admin_token).unwrap();
    let doc_id = users.iter().find(|u| u.username == "doc").unwrap().id;
    s.set_disabled(&admin_token, doc_id, true).unwrap();
    assert_eq!(
        s.assess(&doc, None, &measurements()).unwrap_err().kind,
        ErrorKind::Unauthenticated
    );
    assert_eq!(
        s.sign_in("doc", "clinician-pass-1").unwrap_err().kind,
        ErrorKind::Locked
    );
    s.set_disabled(&admin_token, doc_id, false).unwrap();
    s.reset_password(&admin_token, doc_id, "a-new-password")
        .unwrap();
    assert!(s.sign_in("doc", "a-new-password").is_ok());
    s.sign_out(&admin_token).unwrap();
    assert_eq!(
        s.list_users(&admin_token).unwrap_err().kind,
        ErrorKind::Unauthenticated
    );
}

/// Services whose sessions run on a clock the test moves.
fn services_with_clock(
    dir: &std::path::Path,
    idle_secs: u64,
) -> (Services, Arc<std::sync::atomic::AtomicU64>) {
    let base = std::time::Instant::now();
    let offset = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let moved = Arc::clone(&offset);
    let clock = Arc::new(move || {
        base + std::time::Duration::from_millis(moved.load(std::sync::atomic::Ordering::SeqCst))
    });
    let s = Services::open_with_clock(
        dir,
        &support::test_key(),
        std::time::Duration::from_secs(idle_secs),
        clock,
    )
    .unwrap();
    (s, offset)
}

#[test]
fn an_idle_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = services_with_clock(dir.path(), 60);
    let token = admin(&s);
    clock.fetch_add(59_000, std::sync::atomic::Ordering::SeqCst);
    assert!(s.recent(&token, 5).is_ok(), "activity within the limit");
    clock.fetch_add(59_000, std::sync::atomic::Ordering::SeqCst);
    assert!(s.recent(&token, 5).is_ok(), "the last activity counts");
    clock.fetch_add(61_000, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        s.recent(&token, 5).unwrap_err().kind,
        ErrorKind::Unauthenticated
    );
}

#[test]
fn typing_without_calling_anything_keeps_the_session_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = services_with_clock(dir.path(), 60);
    let token = admin(&s);
    for _ in 0..5 {
        clock.fetch_add(50_000, std::sync::atomic::Ordering::SeqCst);
        // The UI says the person is still typing a long form.
        s.keep_alive(&token).unwrap();
    }
    assert!(s.recent(&token, 5).is_ok(), "250 s of typing, never idle");
    clock.fetch_add(61_000, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        s.keep_alive(&token).unwrap_err().kind,
        ErrorKind::Unauthenticated,
        "an ended session is not revived"
    );
}

#[test]
fn polling_training_progress_does_not_keep_an_unattended_session_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = services_with_clock(dir.path(), 60);
    let token = admin(&s);
    for _ in 0..5 {
        clock.fetch_add(20_000, std::sync::atomic::Ordering::SeqCst);
        // The Model page asks for progress on its own, with nobody at the keyboard.
        let _ = s.training_status(&token);
    }
    assert_eq!(
        s.recent(&token, 5).unwrap_err().kind,
        ErrorKind::Unauthenticated,
        "100 s without the user doing anything"
    );
}

#[test]
fn unknown_and_existing_names_answer_alike_lock_alike_and_no_typed_name_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    admin(&s);
    // A password typed into the username box.
    let typed = "Secreto-En-La-Caja-99";
    let mut unknown = Vec::new();
    let mut existing = Vec::new();
    for _ in 0..6 {
        unknown.push(s.sign_in(typed, "whatever-long").unwrap_err());
        existing.push(s.sign_in("admin", "wrong password!").unwrap_err());
    }
    for (u, e) in unknown.iter().zip(&existing) {
        assert_eq!((u.kind, &u.message), (e.kind, &e.message));
    }
    assert_eq!(unknown[3].kind, ErrorKind::Unauthenticated);
    assert_eq!(
        unknown[4].kind,
        ErrorKind::Locked,
        "the fifth failure locks"
    );
    assert_eq!(unknown[5].kind, ErrorKind::Locked);

    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    let mut stmt = conn
        .prepare("SELECT COALESCE(username, '') || ' ' || COALESCE(subject, '') || ' ' || detail, status FROM audit_log")
        .unwrap();
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (text, _) in &rows {
        assert!(
            !text.to_lowercase().contains(&typed.to_lowercase()),
            "stored as typed: {text}"
        );
        assert!(!text.contains("whatever-long") && !text.contains(ADMIN_PASSWORD));
    }
    let unknown_rows: Vec<&(String, String)> = rows
        .iter()
        .filter(|(t, _)| t.contains("unknown user #"))
        .collect();
    assert_eq!(unknown_rows.len(), 6);
    assert!(unknown_rows.iter().all(|(_, status)| status == "denied"));
}

#[test]
fn a_disabled_account_does_not_reveal_itself_to_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    doctor(&s, &token, "carla");
    let id = s
        .list_users(&token)
        .unwrap()
        .into_iter()
        .find(|u| u.username == "carla")
        .unwrap()
        .id;
    s.set_disabled(&token, id, true).unwrap();
    assert_eq!(
        s.sign_in("carla", "not her password").unwrap_err().message,
        "Wrong username or password."
    );
    assert_eq!(
        s.sign_in("carla", "clinician-pass-1").unwrap_err().kind,
        ErrorKind::Locked
    );
}

#[cfg(unix)]
#[test]
fn a_refusal_is_audited_under_the_action_that_was_attempted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&s);
    let clin = doctor(&s, &token, "carl");
    // What the shell checks before it opens the save dialog for a backup.
    let err = s
        .require_admin_for(&clin, cardiorisk_core::audit::Action::DatabaseBackup)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden);
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'database.backup' AND status = 'denied' AND username = 'carl'"
        ),
        1
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'settings.changed'"
        ),
        0
    );
}
