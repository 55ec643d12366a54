//! Model management: the model card, training requests and progress.

use serde::{Deserialize, Serialize};

/// The name the built-in model is listed under (it is not a file in the registry).
pub const EMBEDDED_LABEL: &str = "built-in";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub version: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    /// The model compiled into the app rather than trained on this machine.
    pub builtin: bool,
    pub active: bool,
    pub threshold: f64,
    pub hidden: Vec<usize>,
    pub max_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub validation_fraction: f64,
    pub patience: usize,
    pub rows: usize,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub positives: usize,
    pub skipped_rows: usize,
    pub data_sha256: String,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub seconds: f64,
    /// Validation metrics.
    pub n: u64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub auc: f64,
    pub brier: f64,
    pub true_positive: u64,
    pub false_positive: u64,
    pub true_negative: u64,
    pub false_negative: u64,
    /// (false positive rate, true positive rate), by falling threshold.
    pub roc: Vec<(f64, f64)>,
}

/// Hyperparameters of a retraining, as the administrator sets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    pub hidden: Vec<usize>,
    pub max_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub validation_fraction: f64,
    pub patience: usize,
    /// Leave out invalid rows (counted) instead of refusing the file.
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartTrainingArgs {
    pub token: String,
    pub request: TrainRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionArgs {
    pub token: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingPhase {
    Idle,
    Running,
    Finished,
    Failed,
    Cancelled,
}

/// The current (or last) retraining, polled by the model screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingStatus {
    pub phase: TrainingPhase,
    /// File name of the training data.
    pub source: Option<String>,
    pub rows: Option<usize>,
    pub skipped: Option<usize>,
    pub max_epochs: usize,
    pub epochs: Vec<EpochPoint>,
    /// The trained candidate's version, stored but not active.
    pub candidate: Option<String>,
    pub error: Option<String>,
}
