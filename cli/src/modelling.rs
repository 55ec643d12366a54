//! The commands that need no data directory: training, evaluation, prediction, batch
//! scoring and synthetic data, on model and CSV files.

use cardiorisk_contract::Measurements;
use cardiorisk_model::data::{read_labelled_file, InvalidRows};
use cardiorisk_model::metrics::evaluate;
use cardiorisk_model::synth::{self, Span};
use cardiorisk_model::{ModelPayload, Predictor, TrainConfig};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

/// About 400 MB of CSV; generated in memory.
pub const MAX_SYNTH_ROWS: usize = 10_000_000;

/// The model in `path`, or the built-in one.
fn load_model(path: Option<&Path>) -> Result<Predictor, String> {
    match path {
        None => Ok(Predictor::embedded()),
        Some(p) => ModelPayload::read(p)
            .and_then(Predictor::new)
            .map_err(|e| e.to_string()),
    }
}

/// Trains a model on a labelled CSV and writes it to `out` whole.
pub fn train(
    data: &Path,
    out: &Path,
    config: &TrainConfig,
    invalid: InvalidRows,
) -> Result<ExitCode, String> {
    let loaded = read_labelled_file(data, invalid).map_err(|e| e.to_string())?;
    if loaded.skipped > 0 {
        eprintln!("skipped {} invalid row(s)", loaded.skipped);
    }
    let mut progress = |r: &cardiorisk_model::EpochReport| {
        let width = 30;
        let done = r.epoch * width / r.max_epochs;
        eprint!(
            "\r[{}{}] epoch {:>4}/{}  loss {:.4}  val loss {:.4}  val acc {:.4}",
            "#".repeat(done),
            " ".repeat(width - done),
            r.epoch,
            r.max_epochs,
            r.train_loss,
            r.validation_loss,
            r.validation_accuracy
        );
        let _ = std::io::stderr().flush();
    };
    let model = cardiorisk_model::train(
        &loaded.data,
        loaded.skipped,
        config,
        &mut progress,
        &AtomicBool::new(false),
    )
    .map_err(|e| e.to_string())?;
    eprintln!();
    model
        .write_atomic(out)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let m = &model.metrics;
    eprintln!(
            "model {} written to {} ({} epochs, best {}, {:.2} s); validation accuracy {:.4}, AUC {:.4}, Brier {:.4}",
            model.version,
            out.display(),
            model.training.epochs_run,
            model.training.best_epoch,
            model.training.seconds,
            m.accuracy,
            m.auc,
            m.brier
        );
    Ok(ExitCode::SUCCESS)
}

/// The model's metrics on a labelled CSV, as JSON on stdout.
pub fn evaluate_file(data: &Path, model: Option<&Path>) -> Result<ExitCode, String> {
    let predictor = load_model(model)?;
    let loaded = read_labelled_file(data, InvalidRows::Refuse).map_err(|e| e.to_string())?;
    let probabilities = predictor.probabilities(&loaded.data.x);
    if let Some(p) = probabilities
        .iter()
        .find(|p| !cardiorisk_model::predictor::is_probability(**p as f64))
    {
        return Err(format!("the model gave {p} for a row: not a probability"));
    }
    let m = evaluate(
        &probabilities,
        &loaded.data.y,
        predictor.payload().threshold,
    );
    let out = serde_json::json!({
        "model_version": predictor.version(),
        "n": m.n,
        "accuracy": m.accuracy,
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "auc": m.auc,
        "brier": m.brier,
        "log_loss": m.log_loss,
        "confusion": m.confusion,
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// One prediction, as JSON on stdout.
pub fn predict(inputs: &Measurements, model: Option<&Path>) -> Result<ExitCode, String> {
    let predictor = load_model(model)?;
    let prediction = predictor.predict(inputs).map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&prediction).expect("serialises")
    );
    Ok(ExitCode::SUCCESS)
}

/// Scores every row of a CSV into `out` (written whole), invalid rows named.
pub fn batch(data: &Path, out: &Path, model: Option<&Path>) -> Result<ExitCode, String> {
    let predictor = load_model(model)?;
    let input = cardiorisk_model::data::open_csv(data, None).map_err(|e| e.to_string())?;
    let summary = cardiorisk_files::write_atomic_with(out, |w| {
        cardiorisk_model::batch::score_csv(input, w, &predictor)
    })
    .map_err(|e| {
        format!(
            "batch scoring stopped, {} left unchanged: {e}",
            out.display()
        )
    })?;
    eprintln!(
            "{} row(s): {} scored, {} invalid, {} without a probability from the model (see the error column); written to {}",
            summary.rows,
            summary.scored,
            summary.invalid,
            summary.failed,
            out.display()
        );
    if summary.failed > 0 {
        return Err(format!(
            "the model gave no probability for {} row(s)",
            summary.failed
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `rows` synthetic patients, reproducible from `seed`, into `out`.
pub fn synthesize(rows: usize, seed: u64, span: Span, out: &Path) -> Result<ExitCode, String> {
    if rows == 0 || rows > MAX_SYNTH_ROWS {
        return Err(format!("--rows must be from 1 to {MAX_SYNTH_ROWS}"));
    }
    let csv = synth::to_csv(&synth::generate(rows, seed, span));
    cardiorisk_files::write_atomic(out, csv.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}
