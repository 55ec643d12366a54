//! Training as a library: determinism, progress, cancellation, refusals, and explanations.

use cardiorisk_contract::Measurements;
use cardiorisk_model::predictor::REFERENCE_PATIENT;
use cardiorisk_model::synth::{generate, to_dataset, Span};
use cardiorisk_model::{train, Predictor, TrainConfig, TrainError};
use std::sync::atomic::{AtomicBool, Ordering};

fn quick() -> TrainConfig {
    TrainConfig {
        max_epochs: 15,
        ..TrainConfig::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_model_and_reports_every_epoch() {
    let data = to_dataset(&generate(800, 3, Span::File));
    let mut epochs = Vec::new();
    let a = train(
        &data,
        0,
        &quick(),
        &mut |r| epochs.push(r.epoch),
        &AtomicBool::new(false),
    )
    .unwrap();
    let b = train(&data, 0, &quick(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    assert_eq!(a.layers, b.layers);
    assert_eq!(epochs, (1..=a.training.epochs_run).collect::<Vec<_>>());
    let other = train(
        &data,
        0,
        &TrainConfig { seed: 7, ..quick() },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_ne!(a.layers, other.layers);
}

#[test]
fn cancelling_produces_no_model() {
    let data = to_dataset(&generate(800, 3, Span::File));
    let cancel = AtomicBool::new(false);
    let mut seen = 0;
    let result = train(
        &data,
        0,
        &quick(),
        &mut |r| {
            seen = r.epoch;
            if r.epoch == 2 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    );
    assert_eq!(result.unwrap_err(), TrainError::Cancelled);
    assert_eq!(seen, 2);
}

#[test]
fn unusable_data_and_hyperparameters_are_refused_clearly() {
    let few = to_dataset(&generate(20, 1, Span::File));
    let err = train(&few, 0, &quick(), &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too few rows to train: 20 (at least 50 are needed)"
    );

    let mut one_class = to_dataset(&generate(200, 1, Span::File));
    one_class.y.iter_mut().for_each(|y| *y = 0.0);
    let err = train(
        &one_class,
        0,
        &quick(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert_eq!(err, TrainError::SingleClass { label: 0 });

    let data = to_dataset(&generate(200, 1, Span::File));
    let bad = TrainConfig {
        learning_rate: 0.0,
        ..quick()
    };
    let err = train(&data, 0, &bad, &mut |_| {}, &AtomicBool::new(false)).unwrap_err();
    assert!(
        matches!(&err, TrainError::Hyperparameter(e) if e.field == "learning_rate"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("learning_rate must be greater than 0"),
        "{err}"
    );
}

#[test]
fn contributions_sum_to_the_difference_from_the_reference_patient() {
    let p = Predictor::embedded();
    let reference = p.probability(&Measurements::from_array(REFERENCE_PATIENT));
    for x in [
        [2.5, 1.6, 1.5, 70.0, 1.0, 1.0],
        [1.2, 0.8, 0.6, 10.0, 0.0, 1.0],
        [3.0, 1.8, 2.0, 99.0, 1.0, 0.0],
    ] {
        let m = Measurements::from_array(x);
        let prediction = p.predict(&m).unwrap();
        let total: f64 = prediction.contributions.iter().map(|c| c.value).sum();
        assert!(
            (total - (prediction.probability - reference)).abs() < 1e-5,
            "{x:?}"
        );
        assert!((prediction.probability - p.probability(&m)).abs() < 1e-6);
    }
}

#[test]
fn inputs_that_do_not_matter_here_get_about_zero() {
    let p = Predictor::embedded();
    // Equal to the reference's value: exactly zero.
    let mut x = REFERENCE_PATIENT;
    x[0] = 2.6;
    let c = p
        .predict(&Measurements::from_array(x))
        .unwrap()
        .contributions;
    assert_eq!(c[1].value, 0.0);
    // Age matters only with high glucose; with glucose low in patient and reference,
    // an old patient's age gets about nothing.
    let c = p
        .predict(&Measurements::from_array([1.8, 1.2, 0.8, 85.0, 0.0, 0.0]))
        .unwrap()
        .contributions;
    assert!(c[3].value.abs() < 0.02, "{c:?}");
    // Smoking with overweight is a risk; both share it.
    let c = p
        .predict(&Measurements::from_array([1.8, 1.2, 0.9, 45.0, 1.0, 1.0]))
        .unwrap()
        .contributions;
    assert!(c[4].value > 0.3 && c[5].value > 0.3, "{c:?}");
}

mod background {
    use cardiorisk_model::data::InvalidRows;
    use cardiorisk_model::job::{JobError, Progress, TrainingJob};
    use cardiorisk_model::synth::{generate, to_csv, Span};
    use cardiorisk_model::{TrainConfig, TrainError};

    fn csv_file(dir: &tempfile::TempDir, rows: usize) -> std::path::PathBuf {
        let path = dir.path().join("train.csv");
        std::fs::write(&path, to_csv(&generate(rows, 9, Span::File))).unwrap();
        path
    }

    #[test]
    fn a_job_reports_loading_and_every_epoch_then_returns_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            max_epochs: 5,
            ..TrainConfig::default()
        };
        let job = TrainingJob::start(csv_file(&dir, 600), InvalidRows::Refuse, config);
        let mut reports = Vec::new();
        while let Some(p) = job.next() {
            reports.push(p);
        }
        let model = job.wait().unwrap();
        assert_eq!(
            reports[0],
            Progress::Loaded {
                rows: 600,
                skipped: 0
            }
        );
        assert_eq!(reports.len(), 1 + model.training.epochs_run);
    }

    #[test]
    fn a_cancelled_job_returns_no_model() {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            max_epochs: 10_000,
            patience: 10_000,
            ..TrainConfig::default()
        };
        let job = TrainingJob::start(csv_file(&dir, 2000), InvalidRows::Refuse, config);
        while !matches!(job.next(), Some(Progress::Epoch(_))) {}
        job.cancel();
        assert!(matches!(
            job.wait(),
            Err(JobError::Train(TrainError::Cancelled))
        ));
    }

    #[test]
    fn a_bad_file_fails_the_job_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "colesterol,presion\n1,1\n").unwrap();
        let job = TrainingJob::start(path, InvalidRows::Refuse, TrainConfig::default());
        let err = job.wait().unwrap_err();
        assert!(
            err.to_string().starts_with("missing column(s): glucosa"),
            "{err}"
        );
    }
}
