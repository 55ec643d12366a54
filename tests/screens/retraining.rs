//! Retraining from the settings panel: progress, candidates, activation, cancel.

use super::*;

fn small_request(max_epochs: usize) -> TrainRequest {
    TrainRequest {
        config: TrainConfig {
            hidden: vec![8],
            max_epochs,
            batch_size: 32,
            learning_rate: 0.02,
            seed: 7,
            validation_fraction: 0.2,
            patience: 50,
        },
        skip_invalid: false,
    }
}

fn wait_until_done(services: &Services, token: &str) -> TrainingStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = services.training_status(token).unwrap();
        if status.phase != TrainingPhase::Running {
            return status;
        }
        assert!(Instant::now() < deadline, "training did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn retraining_reports_progress_keeps_a_candidate_and_activation_swaps_the_model_live() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("clinic.csv");
    std::fs::write(&csv, to_csv(&generate(400, 3, Span::File))).unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let cleo = clinician(&services, &token);
    let builtin = services.model().predictor.version().to_string();

    // Clinicians cannot retrain or activate; bad hyperparameters name their field.
    assert_eq!(
        services
            .start_training(&cleo, &csv, &small_request(20))
            .unwrap_err()
            .kind,
        ErrorKind::Forbidden
    );
    let mut bad = small_request(20);
    bad.config.learning_rate = 5.0;
    let e = services.start_training(&token, &csv, &bad).unwrap_err();
    assert_eq!(e.fields[0].field, "learning_rate");

    let started = services
        .start_training(&token, &csv, &small_request(30))
        .unwrap();
    assert_eq!(started.phase, TrainingPhase::Running);
    assert_eq!(started.source.as_deref(), Some("clinic.csv"));
    let e = services
        .start_training(&token, &csv, &small_request(30))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "one retraining at a time");

    let done = wait_until_done(&services, &token);
    assert_eq!(done.phase, TrainingPhase::Finished, "{:?}", done.error);
    assert_eq!(done.rows, Some(400));
    assert!(!done.epochs.is_empty() && done.epochs.len() <= 30);
    assert!(done.epochs.windows(2).all(|w| w[1].epoch == w[0].epoch + 1));
    let candidate = done.candidate.clone().unwrap();

    // Stored, listed, not active: patients are still scored by the built-in model.
    let cards = services.list_models(&token).unwrap();
    assert!(cards[0].builtin && cards[0].active);
    let card = cards.iter().find(|c| c.version == candidate).unwrap();
    assert!(!card.active);
    assert_eq!(card.training.rows, 400);
    let c = card.metrics.confusion;
    assert_eq!(
        c.true_positive + c.false_positive + c.true_negative + c.false_negative,
        card.metrics.n
    );
    assert_eq!(
        services
            .assess(&token, None, &patient())
            .unwrap()
            .prediction
            .model_version,
        builtin
    );

    services.activate_model(&token, &candidate).unwrap();
    assert_eq!(services.model().source, ModelSource::Registry);
    assert_eq!(services.model_status().version, candidate);
    let after = services.assess(&token, None, &patient()).unwrap();
    assert_eq!(after.prediction.model_version, candidate);
    assert!(services
        .list_models(&token)
        .unwrap()
        .iter()
        .any(|c| c.version == candidate && c.active));

    // Roll back to the built-in model; it stays chosen after a restart.
    services.activate_model(&token, EMBEDDED_LABEL).unwrap();
    assert_eq!(
        services.what_if(&token, &patient()).unwrap().model_version,
        builtin
    );
    let log = actions(&services, &token, "model.activated");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(actions(&services, &token, "model.trained")[0].contains("clinic.csv"));
    assert_eq!(
        services
            .activate_model(&token, "no-such-version")
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    drop(services);
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    assert_eq!(services.model().source, ModelSource::Embedded);
}

#[test]
fn a_cancelled_or_refused_retraining_keeps_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    std::fs::write(&csv, to_csv(&generate(3000, 5, Span::File))).unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let mut slow = small_request(10_000);
    slow.config.patience = 10_000;
    services.start_training(&token, &csv, &slow).unwrap();
    services.cancel_training(&token).unwrap();
    let done = wait_until_done(&services, &token);
    assert_eq!(done.phase, TrainingPhase::Cancelled);
    assert!(done.candidate.is_none());
    assert_eq!(
        services.list_models(&token).unwrap().len(),
        1,
        "only the built-in"
    );

    let broken = dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,riesgo_cardiaco\n9,1,1,40,0,0,1\n",
    )
    .unwrap();
    services
        .start_training(&token, &broken, &small_request(5))
        .unwrap();
    let done = wait_until_done(&services, &token);
    assert_eq!(done.phase, TrainingPhase::Failed);
    assert!(done.error.unwrap().contains("colesterol"));
    let log = actions(&services, &token, "model.trained");
    assert!(log.iter().any(|l| l.starts_with("cancelled")), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("error")), "{log:?}");
}

#[test]
fn a_finished_retraining_is_stored_and_audited_with_nobody_watching() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("clinic.csv");
    std::fs::write(&csv, to_csv(&generate(400, 3, Span::File))).unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key())
        .unwrap()
        .shared();
    let token = admin(&services);
    services
        .start_training(&token, &csv, &small_request(10))
        .unwrap();
    // Nobody asks for the status: the job stores its candidate by itself.
    let registry = cardiorisk_core::models::Registry::new(dir.path());
    let trained = || {
        services
            .audit(
                &token,
                &cardiorisk_contract::AuditFilter {
                    action: Some("model.trained".into()),
                    ..Default::default()
                },
                10,
                0,
            )
            .unwrap()
            .total
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while trained() == 0 {
        assert!(Instant::now() < deadline, "the candidate was never stored");
        std::thread::yield_now();
    }
    let versions = registry.versions().unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    let status = services.training_status(&token).unwrap();
    assert_eq!(status.phase, TrainingPhase::Finished);
    assert_eq!(status.candidate.as_deref(), Some(versions[0].as_str()));
    assert_eq!(trained(), 1, "stored and audited exactly once");
}

#[test]
fn retraining_progress_is_pushed_to_subscribers_epoch_by_epoch_until_it_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("clinic.csv");
    std::fs::write(&csv, to_csv(&generate(400, 3, Span::File))).unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key())
        .unwrap()
        .shared();
    let token = admin(&services);
    let mut feed = services.subscribe_training();
    services
        .start_training(&token, &csv, &small_request(8))
        .unwrap();
    // Nobody asks for the status: every change arrives on the feed.
    let mut seen = Vec::new();
    let last = loop {
        let status = feed.blocking_recv().expect("the feed stays open");
        seen.push(status.epochs.len());
        if status.phase != TrainingPhase::Running {
            break status;
        }
    };
    assert_eq!(last.phase, TrainingPhase::Finished, "{:?}", last.error);
    assert!(
        last.candidate.is_some(),
        "the final status names the candidate"
    );
    assert!(last.rows.is_some());
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "epochs only grow: {seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|n| **n > 0).count(),
        last.epochs.len() + 1,
        "one status per epoch, and the final one: {seen:?}"
    );
}
