//! A backup from another installation, restored with its password.

use super::app::{App, ONE_AT_A_TIME};
use super::support::ADMIN_PASSWORD;

/// A backup made by another installation (a clinic's other laptop, or this one before
/// it was set up again): the restore asks for a password of an account in it, refuses
/// a wrong one, restores with the right one, and that password opens this computer
/// after a restart.
#[test]
fn a_backup_from_another_installation_restores_with_its_password() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let elsewhere = tempfile::tempdir().unwrap();
    let backup = elsewhere.path().join("clinic-backup.db");
    {
        let (services, session) = cardiorisk_core::vault::Vault::new(elsewhere.path())
            .with_cost(cardiorisk_core::keys::KdfCost::FOR_TESTS)
            .set_up("admin", "Clinic Admin", "clinic-admin-pass-3")
            .unwrap();
        services
            .create_patient(
                &session.token,
                &cardiorisk_contract::PatientInput {
                    record_number: "HC-7001".into(),
                    name: "Hortensia Lago".into(),
                    birth_year: Some(1950),
                    notes: String::new(),
                },
            )
            .unwrap();
        services.backup(&session.token, &backup).unwrap();
    }

    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();
    app.click("#tab-settings");
    app.click("#db-restore");
    app.answer_file_dialog(&backup);
    s.wait_text("#restore-secret-form", |t| {
        t.contains("another installation")
    });
    app.fill("restore-username", "admin");
    app.fill("restore-secret", "not-the-clinic-password");
    app.click("#restore-secret-go");
    s.wait_text("#restore-refused", |t| {
        t == "That password or recovery key does not open this backup."
    });
    app.shot_at("#db-title", "restore-from-elsewhere");
    app.fill("restore-secret", "clinic-admin-pass-3");
    app.click("#restore-secret-go");
    s.wait_text("#signin-notice", |t| t.contains("restored"));
    app.sign_in("admin", "clinic-admin-pass-3");
    s.wait_text("#who", |t| t == "Clinic Admin (admin)");
    s.wait_text("#patients tbody", |t| t.contains("Hortensia Lago"));
    drop(app);

    // After a restart the data is sealed again; the backup's password opens it, the
    // password this computer had before the restore no longer does.
    let app = App::start(data.path(), &[]);
    app.sign_in("admin", ADMIN_PASSWORD);
    app.s
        .wait_text("#signin-error", |t| t == "Wrong username or password.");
    app.sign_in("admin", "clinic-admin-pass-3");
    app.s
        .wait_text("#patients tbody", |t| t.contains("HC-7001"));
}
