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
    /// Which retraining this is since the app started (1, 2, …; 0 before any), so a
    /// status that arrives late never hides a newer one.
    #[serde(default)]
    pub job: u64,
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

impl TrainingStatus {
    /// Whether this status says more than `other`: a later job, a later phase of the
    /// same job, or more epochs in the same phase.
    pub fn is_newer_than(&self, other: &TrainingStatus) -> bool {
        let rank = |p: TrainingPhase| match p {
            TrainingPhase::Idle => 0,
            TrainingPhase::Running => 1,
            _ => 2,
        };
        (self.job, rank(self.phase), self.epochs.len())
            > (other.job, rank(other.phase), other.epochs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(job: u64, phase: TrainingPhase, epochs: usize) -> TrainingStatus {
        let point = EpochPoint {
            epoch: 1,
            train_loss: 0.5,
            validation_loss: 0.5,
            validation_accuracy: 0.5,
        };
        TrainingStatus {
            job,
            phase,
            source: None,
            rows: None,
            skipped: None,
            max_epochs: 60,
            epochs: vec![point; epochs],
            candidate: None,
            error: None,
        }
    }

    #[test]
    fn a_late_reply_never_hides_a_newer_status() {
        let started = status(2, TrainingPhase::Running, 0);
        let finished = status(2, TrainingPhase::Finished, 60);
        assert!(
            finished.is_newer_than(&started),
            "the job ended before its start reply"
        );
        assert!(status(2, TrainingPhase::Running, 3).is_newer_than(&started));
        let previous = status(1, TrainingPhase::Finished, 60);
        assert!(
            started.is_newer_than(&previous),
            "a new job replaces the last one's end"
        );
        assert!(!started.is_newer_than(&started));
    }
}
