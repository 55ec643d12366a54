//! The services behind the clinician's and administrator's screens: what-if,
//! language, retraining with progress, activation and roll-back, and reports.
//! Real SQLite files, the real model, real training on a small generated CSV.

mod reports;
mod retraining;
#[path = "../support/mod.rs"]
mod support;

use cardiorisk_contract::{
    AuditFilter, ErrorKind, Language, Measurements, PatientInput, Role, TrainConfig, TrainRequest,
    TrainingPhase, TrainingStatus, Units, EMBEDDED_LABEL, PREF_LANGUAGE, PREF_UNITS,
};
use cardiorisk_core::models::ModelSource;
use cardiorisk_core::report::Format;
use cardiorisk_core::service::Services;
use cardiorisk_model::synth::{generate, to_csv, Span};
use std::time::{Duration, Instant};
use support::admin;

fn patient() -> Measurements {
    Measurements::from_array([2.4, 1.6, 0.9, 45.0, 0.0, 0.0])
}

fn clinician(services: &Services, admin_token: &str) -> String {
    support::clinician(services, admin_token, "cleo", "Cleo Clinician")
}

fn actions(services: &Services, token: &str, action: &str) -> Vec<String> {
    let filter = AuditFilter {
        action: Some(action.into()),
        ..AuditFilter::default()
    };
    services
        .audit(token, &filter, 100, 0)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| format!("{} {}", e.status, e.detail))
        .collect()
}

#[test]
fn what_if_scores_without_storing_and_checks_inputs_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let p = services.what_if(&token, &patient()).unwrap();
    assert!(p.at_risk);
    assert!(
        services.recent(&token, 10).unwrap().is_empty(),
        "nothing stored"
    );

    let mut bad = patient();
    bad.edad = 120.0;
    let e = services.what_if(&token, &bad).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.fields[0].field, "edad");
    assert!(e.message.contains("0 to 99"), "{}", e.message);

    let e = services.what_if("no such session", &patient()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
}

#[test]
fn any_user_chooses_language_and_units_and_they_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let defaults = services.preferences().unwrap();
    assert_eq!(
        (defaults.language.as_str(), defaults.units.as_str()),
        ("en", "original")
    );
    let token = admin(&services);
    let cleo = clinician(&services, &token);
    services.set_preference(&cleo, PREF_LANGUAGE, "es").unwrap();
    services
        .set_preference(&cleo, PREF_UNITS, "conventional")
        .unwrap();
    let e = services
        .set_preference(&cleo, PREF_LANGUAGE, "fr")
        .unwrap_err();
    assert_eq!(e.fields[0].field, PREF_LANGUAGE);
    assert!(e.message.contains("en, es"), "{}", e.message);
    let e = services
        .set_preference(&cleo, "gateway.enabled", "true")
        .unwrap_err();
    assert_eq!(
        e.fields[0].field, "key",
        "only display preferences, not admin settings"
    );
    assert!(actions(&services, &token, "settings.changed")
        .iter()
        .any(|a| a.contains("ui.language=es")));
    drop(services);
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let p = services.preferences().unwrap();
    assert_eq!(
        (p.language.as_str(), p.units.as_str()),
        ("es", "conventional")
    );
}

#[test]
fn an_administrator_changes_roles_but_never_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let cleo = clinician(&services, &token);
    let users = services.list_users(&token).unwrap();
    let cleo_id = users.iter().find(|u| u.username == "cleo").unwrap().id;
    let admin_id = users.iter().find(|u| u.username == "admin").unwrap().id;

    assert_eq!(
        services
            .set_role(&cleo, admin_id, Role::Clinician)
            .unwrap_err()
            .kind,
        ErrorKind::Forbidden
    );
    assert_eq!(
        services
            .set_role(&token, admin_id, Role::Clinician)
            .unwrap_err()
            .kind,
        ErrorKind::Invalid,
        "the last administrator cannot demote themselves"
    );
    services.set_role(&token, cleo_id, Role::Admin).unwrap();
    // Her old session ended; the new role applies from her next sign-in.
    assert_eq!(
        services.list_users(&cleo).unwrap_err().kind,
        ErrorKind::Unauthenticated
    );
    let cleo = services.sign_in("cleo", "clinician-pass-1").unwrap();
    assert_eq!(cleo.user.role, Role::Admin);
    assert_eq!(services.list_users(&cleo.token).unwrap().len(), 2);
    assert!(actions(&services, &token, "account.changed")
        .iter()
        .any(|a| a.contains("role admin")));
    assert_eq!(
        services
            .set_role(&token, 999, Role::Admin)
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
}
