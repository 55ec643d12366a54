//! Retraining: a small CSV trained with progress, the candidate activated and
//! rolled back.

use super::app::{App, ONE_AT_A_TIME};
use super::support::{self, count, ADMIN_PASSWORD};

#[test]
fn retrain_on_a_small_csv_with_progress_activate_and_roll_back() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let csv = data.path().join("clinic.csv");
    use cardiorisk_model::synth::{generate, to_csv, Span};
    std::fs::write(&csv, to_csv(&generate(1500, 11, Span::File))).unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();
    let builtin = s.wait_text("#model-version", |t| t.starts_with("Model "));

    app.click("#tab-model");
    s.wait_text("#active-title", |t| t.contains("built-in"));
    assert_eq!(s.count("#active-model .roc svg"), 1, "ROC curve drawn");
    s.wait_text("#active-model .confusion", |t| t.contains("Actual: risk"));

    app.fill("train-epochs", "60");
    app.fill("train-patience", "60");
    app.fill("train-hidden", "16,8");
    app.click("#train-start");
    app.answer_file_dialog(&csv);
    s.wait_text("#training-state", |t| t.contains("clinic.csv"));
    let finished = s.wait_text("#training-state", |t| t.starts_with("Finished training"));
    assert!(finished.contains("after 60 of 60 epochs"), "{finished}");
    assert_eq!(s.count("#loss-chart svg"), 1);
    s.wait_text("#compare", |t| t.contains("Candidate:"));
    app.shot_at("body", "model-card");
    app.shot_at("#train-title", "model-retrain");

    // Activate the candidate: new predictions use it, the header says so.
    app.click("#candidate-activate");
    let activated = s.wait_text("#model-version", |t| t != builtin);
    s.wait_text("#active-title", |t| !t.contains("built-in"));
    // Roll back to the built-in model.
    app.click("#versions tr[data-version='built-in'] .model-activate");
    s.wait_text("#model-version", |t| t == builtin);
    println!("activated {activated}, rolled back to {builtin}");

    let db = data.path();
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'model.activated'"
        ),
        2
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'model.trained' AND status = 'ok'"
        ),
        1
    );
    support::support_log(db, &[ADMIN_PASSWORD, "clinic.csv"]);
}
