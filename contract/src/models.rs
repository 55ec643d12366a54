//! Model management: the model card, training requests and progress.

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// The name the built-in model is listed under (it is not a file in the registry).
pub const EMBEDDED_LABEL: &str = "built-in";

/// A model as the Model page shows it: where it came from, how it was trained, and
/// how it did on its validation rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub version: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    /// The model compiled into the app rather than trained on this machine.
    pub builtin: bool,
    pub active: bool,
    pub threshold: f64,
    pub hyperparameters: TrainConfig,
    pub training: TrainingInfo,
    /// On the validation rows.
    pub metrics: Metrics,
}

/// What a training saw and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub rows: usize,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub positives: usize,
    pub skipped_rows: usize,
    pub data_sha256: String,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub seconds: f64,
}

/// Classification metrics of a model's probabilities against known labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confusion {
    pub true_positive: u64,
    pub false_positive: u64,
    pub true_negative: u64,
    pub false_negative: u64,
}

/// One point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    pub threshold: f64,
    pub false_positive_rate: f64,
    pub true_positive_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: u64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub auc: f64,
    pub brier: f64,
    pub log_loss: f64,
    pub confusion: Confusion,
    pub roc: Vec<RocPoint>,
}

/// Hyperparameters of a training: the one definition the CLI, the settings panel,
/// the trainer and the stored model's provenance all use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Units of each hidden layer.
    pub hidden: Vec<usize>,
    pub max_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub validation_fraction: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: vec![32, 16],
            max_epochs: 200,
            batch_size: 64,
            learning_rate: 0.01,
            seed: 42,
            validation_fraction: 0.2,
            patience: 25,
        }
    }
}

impl TrainConfig {
    /// The first hyperparameter out of its range, worded as `rule-<name>`.
    pub fn check(&self) -> Result<(), FieldError> {
        let broken = if self.hidden.is_empty()
            || self.hidden.len() > 4
            || self.hidden.iter().any(|&h| h == 0 || h > 512)
        {
            Some("hidden")
        } else if !(1..=10_000).contains(&self.max_epochs) {
            Some("max_epochs")
        } else if !(1..=65_536).contains(&self.batch_size) {
            Some("batch_size")
        } else if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            Some("learning_rate")
        } else if !(self.validation_fraction >= 0.05 && self.validation_fraction <= 0.5) {
            Some("validation_fraction")
        } else if self.patience == 0 {
            Some("patience")
        } else {
            None
        };
        match broken {
            Some(name) => Err(FieldError::rule(name, &[])),
            None => Ok(()),
        }
    }
}

/// A retraining as the administrator asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    #[serde(flatten)]
    pub config: TrainConfig,
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
