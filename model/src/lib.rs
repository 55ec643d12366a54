//! CardioRisk's model: data loading, synthetic data, training, the model file and inference.

pub mod artefact;
pub mod batch;
pub mod data;
pub mod job;
pub mod metrics;
pub mod net;
pub mod predictor;
pub mod rng;
pub mod synth;
pub mod train;

pub use artefact::{ModelError, ModelPayload};
pub use predictor::Predictor;
pub use train::{train, EpochReport, TrainConfig, TrainError};
