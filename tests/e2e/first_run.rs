//! First run: the administrator and the recovery key, sign-in refused and
//! accepted, the data sealed again after a restart, and the session's idle timeout.

use super::app::{App, ONE_AT_A_TIME};
use super::support::{self, count, ADMIN_PASSWORD};

#[test]
fn first_run_sign_in_failed_sign_in_and_session_expiry() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[("CARDIORISK_IDLE_TIMEOUT_SECS", "4")]);
    let s = &app.s;

    // First run: the administrator, with the two passwords checked against each other.
    app.fill("setup-username", "admin");
    app.fill("setup-display-name", "Ada Admin");
    app.fill("setup-password", ADMIN_PASSWORD);
    app.fill("setup-confirm", "something else");
    app.click("#setup-submit");
    s.wait_text("#setup-error", |t| t == "The two passwords differ.");
    app.shot("first-run");
    app.fill("setup-confirm", ADMIN_PASSWORD);
    app.click("#setup-submit");
    s.wait_text("#recovery-key", |t| t.split('-').count() == 8);
    s.wait_text("#recovery-print", |t| t == "Print…");
    app.shot("recovery-key");
    app.acknowledge_recovery_key();
    s.wait_text("#who", |t| t == "Ada Admin (admin)");
    s.wait_text("#patients-empty", |t| t.contains("No patients yet"));

    app.click("#sign-out");
    app.sign_in("admin", "not the password");
    s.wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.shot("sign-in-failed");
    app.sign_in("admin", ADMIN_PASSWORD);
    s.wait_text("#who", |t| t.starts_with("Ada Admin"));

    // A restart: the data is sealed again until a password opens it.
    drop(app);
    let app = App::start(data.path(), &[("CARDIORISK_IDLE_TIMEOUT_SECS", "4")]);
    let s = &app.s;
    app.sign_in("admin", "not the password");
    s.wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.sign_in("admin", ADMIN_PASSWORD);
    s.wait_text("#who", |t| t.starts_with("Ada Admin"));

    // Idle past the (shortened) timeout: back to sign-in, saying why.
    s.wait_text("#signin-notice", |t| t.contains("without activity"));
    assert_eq!(
        count(
            data.path(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'"
        ),
        2,
        "the one refused while open, and the one refused while sealed"
    );
    let log = support::support_log(
        data.path(),
        &[ADMIN_PASSWORD, "not the password", "Ada Admin"],
    );
    assert!(
        log.contains("command refused") && log.contains("wrong-credentials"),
        "the refused sign-in is in the support log by its code:\n{log}"
    );
}
