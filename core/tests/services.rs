//! The command path (the code every Tauri command calls) against a real SQLite file
//! and the real embedded model.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{ErrorKind, Measurements, Problem};
use cardiorisk_core::service::{Services, DB_FILE};
use support::admin;

fn patient() -> Measurements {
    Measurements::from_array([2.4, 1.6, 0.9, 45.0, 0.0, 0.0])
}

/// colesterol, presion, glucosa, edad, sobrepeso, tabaquismo, probability, model_version
type StoredRow = (f64, f64, f64, i64, i64, i64, f64, String);

fn rows(dir: &std::path::Path) -> Vec<StoredRow> {
    let conn = support::open_db(&dir.join(DB_FILE)).unwrap();
    let mut stmt = conn
        .prepare("SELECT colesterol, presion, glucosa, edad, sobrepeso, tabaquismo, probability, model_version FROM assessments")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn an_assessment_stores_exactly_one_row_with_its_inputs_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&services);
    let outcome = services.assess(&token, None, &patient()).unwrap();
    assert!(
        outcome.prediction.at_risk,
        "cholesterol and pressure both high is risk"
    );
    assert!(outcome.prediction.probability > 0.9);
    drop(services);

    let stored = rows(dir.path());
    assert_eq!(stored.len(), 1);
    let (c, p, g, e, s, t, prob, version) = stored[0].clone();
    assert_eq!((c, p, g, e, s, t), (2.4, 1.6, 0.9, 45, 0, 0));
    assert_eq!(prob, outcome.prediction.probability);
    assert_eq!(version, outcome.prediction.model_version);
}

#[test]
fn invalid_inputs_are_refused_with_every_field_named_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = admin(&services);
    let mut bad = patient();
    bad.colesterol = 3.5;
    bad.edad = f64::INFINITY;
    bad.sobrepeso = 0.5;
    let err = services.assess(&token, None, &bad).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    let named: Vec<(&str, Problem)> = err
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.problem))
        .collect();
    assert_eq!(
        named,
        [
            ("colesterol", Problem::OutOfRange),
            ("edad", Problem::NotFinite),
            ("sobrepeso", Problem::NotFlag)
        ]
    );
    assert!(
        err.message.contains("valid is 1.0 to 3.0 g/L"),
        "{}",
        err.message
    );
    drop(services);
    assert!(rows(dir.path()).is_empty());
}

#[test]
fn recent_assessments_survive_a_restart_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    {
        let services = Services::open(dir.path(), &support::test_key()).unwrap();
        let token = admin(&services);
        for age in [30.0, 40.0, 50.0] {
            let mut m = patient();
            m.edad = age;
            services.assess(&token, None, &m).unwrap();
        }
    }
    let services = Services::open(dir.path(), &support::test_key()).unwrap();
    let token = support::sign_in_admin(&services);
    let recent = services.recent(&token, 2).unwrap();
    let ages: Vec<f64> = recent.iter().map(|r| r.inputs.edad).collect();
    assert_eq!(ages, [50.0, 40.0]);
    assert_eq!(recent[0].username.as_deref(), Some("admin"));
    assert_eq!(recent[0].contributions.len(), 6);
    assert_eq!(
        services.recent(&token, 0).unwrap_err().kind,
        ErrorKind::Invalid
    );
}

#[test]
fn database_uses_wal_and_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    drop(Services::open(dir.path(), &support::test_key()).unwrap());
    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(cardiorisk_core::db::schema_version(&conn).unwrap(), 9);
}

#[test]
fn a_database_from_a_newer_app_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "application_id", cardiorisk_core::db::APPLICATION_ID)
        .unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Services::open(dir.path(), &support::test_key())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("newer CardioRisk"), "{err}");
}

mod registry {
    use super::*;
    use cardiorisk_core::models::{ModelSource, Registry};
    use cardiorisk_model::predictor::EMBEDDED_MODEL;
    use cardiorisk_model::ModelPayload;

    fn other_model() -> ModelPayload {
        let mut m = ModelPayload::from_bytes(EMBEDDED_MODEL).unwrap();
        m.version = "20300101-000000-test".into();
        m.layers.last_mut().unwrap().bias[0] += 0.5;
        m
    }

    #[test]
    fn an_activated_model_is_used_after_a_restart_and_can_be_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        registry.store(&other_model()).unwrap();
        assert_eq!(registry.versions().unwrap(), ["20300101-000000-test"]);
        registry.activate("20300101-000000-test").unwrap();

        let services = Services::open(dir.path(), &support::test_key()).unwrap();
        assert_eq!(services.model().source, ModelSource::Registry);
        let token = admin(&services);
        let outcome = services.assess(&token, None, &patient()).unwrap();
        assert_eq!(outcome.prediction.model_version, "20300101-000000-test");
        drop(services);

        registry.deactivate().unwrap();
        let services = Services::open(dir.path(), &support::test_key()).unwrap();
        assert_eq!(services.model().source, ModelSource::Embedded);
    }

    #[test]
    fn a_corrupt_active_model_falls_back_to_the_embedded_one_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        registry.store(&other_model()).unwrap();
        registry.activate("20300101-000000-test").unwrap();
        let file = dir.path().join("models/20300101-000000-test.json");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();

        let services = Services::open(dir.path(), &support::test_key()).unwrap();
        match &services.model().source {
            ModelSource::Fallback { reason } => {
                assert!(reason.contains("20300101-000000-test"), "{reason}")
            }
            other => panic!("expected a fallback, got {other:?}"),
        }
        let token = admin(&services);
        let outcome = services.assess(&token, None, &patient()).unwrap();
        assert_eq!(
            outcome.prediction.model_version,
            services.model().predictor.version()
        );
    }

    #[test]
    fn unknown_or_unsafe_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(dir.path());
        assert!(registry.activate("nope").is_err());
        assert!(registry.activate("../../etc/passwd").is_err());
        assert_eq!(registry.active().1, ModelSource::Embedded);
    }
}
