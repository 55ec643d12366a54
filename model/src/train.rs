//! Training: stratified split, standardisation, binary cross-entropy, Adam and
//! early stopping, with a per-epoch progress callback and cancellation.

use crate::artefact::{input_schema, ModelPayload, Scaler, TrainingInfo};
use crate::data::Dataset;
use crate::metrics::evaluate;
use crate::net::{LayerWeights, Mlp};
use crate::predictor::Predictor;
use crate::rng::SplitMix64;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use cardiorisk_contract::TrainConfig;

/// Progress after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub max_epochs: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    #[error("invalid hyperparameter {}: {}", .0.field, .0.message)]
    Hyperparameter(cardiorisk_contract::FieldError),
    #[error("too few rows to train: {rows} (at least {MIN_ROWS} are needed)")]
    TooFewRows { rows: usize },
    #[error("training data has a single class: every label is {label}")]
    SingleClass { label: u8 },
    #[error("each class needs at least {MIN_PER_CLASS} rows (found {positives} with risk and {negatives} without)")]
    ClassTooSmall { positives: usize, negatives: usize },
    #[error("training was cancelled")]
    Cancelled,
    #[error("training diverged (loss is not finite); try a lower learning rate")]
    Diverged,
}

pub const MIN_ROWS: usize = 50;
pub const MIN_PER_CLASS: usize = 10;

fn check_data(data: &Dataset) -> Result<(), TrainError> {
    if data.len() < MIN_ROWS {
        return Err(TrainError::TooFewRows { rows: data.len() });
    }
    let positives = data.positives();
    let negatives = data.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(TrainError::SingleClass {
            label: u8::from(positives > 0),
        });
    }
    if positives < MIN_PER_CLASS || negatives < MIN_PER_CLASS {
        return Err(TrainError::ClassTooSmall {
            positives,
            negatives,
        });
    }
    Ok(())
}

/// Splits indices into (train, validation), keeping each class's share.
fn stratified_split(y: &[f32], fraction: f64, rng: &mut SplitMix64) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for class in [0.0, 1.0] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        rng.shuffle(&mut idx);
        let n_val = ((idx.len() as f64) * fraction).round() as usize;
        validation.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    (train, validation)
}

fn fit_scaler(data: &Dataset, rows: &[usize]) -> Scaler {
    let n = rows.len() as f64;
    let mut mean = [0f64; 6];
    let mut var = [0f64; 6];
    for &r in rows {
        for (m, &x) in mean.iter_mut().zip(&data.x[r]) {
            *m += x as f64 / n;
        }
    }
    for &r in rows {
        for ((v, &x), m) in var.iter_mut().zip(&data.x[r]).zip(mean) {
            *v += (x as f64 - m).powi(2) / n;
        }
    }
    Scaler {
        mean: mean.iter().map(|&m| m as f32).collect(),
        std: var.iter().map(|&v| (v.sqrt().max(1e-6)) as f32).collect(),
    }
}

/// He-uniform initial weights from the seeded generator.
fn initial_weights(config: &TrainConfig, rng: &mut SplitMix64) -> Vec<LayerWeights> {
    let mut widths = vec![6];
    widths.extend(&config.hidden);
    widths.push(1);
    widths
        .windows(2)
        .map(|w| {
            let (d_in, d_out) = (w[0], w[1]);
            let bound = (6.0 / d_in as f64).sqrt();
            LayerWeights {
                d_in,
                d_out,
                weight: (0..d_in * d_out)
                    .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                    .collect(),
                bias: vec![0.0; d_out],
            }
        })
        .collect()
}

/// Mean binary cross-entropy of logits `z` against labels `y`, in a numerically stable form.
fn bce_with_logits(z: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    let loss = z.clone().clamp_min(0.0) - z.clone() * y + z.abs().neg().exp().log1p();
    loss.mean()
}

fn gather(data: &Dataset, scaler: &Scaler, rows: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let mut x = Vec::with_capacity(rows.len() * 6);
    for &r in rows {
        for j in 0..6 {
            x.push((data.x[r][j] - scaler.mean[j]) / scaler.std[j]);
        }
    }
    (x, rows.iter().map(|&r| data.y[r]).collect())
}

fn mean_bce(probabilities: &[f32], labels: &[f32]) -> f64 {
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(1e-7, 1.0 - 1e-7);
            -(y as f64 * p.ln() + (1.0 - y as f64) * (1.0 - p).ln())
        })
        .sum();
    total / labels.len().max(1) as f64
}

/// Trains a model on `data`. `on_epoch` is called after every epoch; setting
/// `cancel` stops training with [`TrainError::Cancelled`] and produces nothing.
pub fn train(
    data: &Dataset,
    skipped_rows: usize,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<ModelPayload, TrainError> {
    config.check().map_err(TrainError::Hyperparameter)?;
    check_data(data)?;
    let started = Instant::now();
    let mut rng = SplitMix64::new(config.seed);
    let (mut train_rows, validation_rows) =
        stratified_split(&data.y, config.validation_fraction, &mut rng);
    let scaler = fit_scaler(data, &train_rows);
    let (val_x, val_y) = gather(data, &scaler, &validation_rows);

    let device = Device::flex().autodiff();
    let mut model = Mlp::from_weights(&initial_weights(config, &mut rng), &device);
    let mut optimizer = AdamConfig::new().init();

    let mut best = (f64::INFINITY, model.weights(), 0usize);
    let mut epochs_run = 0;
    for epoch in 1..=config.max_epochs {
        if cancel.load(Ordering::Relaxed) {
            return Err(TrainError::Cancelled);
        }
        rng.shuffle(&mut train_rows);
        let mut loss_sum = 0.0;
        for batch in train_rows.chunks(config.batch_size) {
            let (x, y) = gather(data, &scaler, batch);
            let x = Tensor::<2>::from_data(TensorData::new(x, [batch.len(), 6]), &device);
            let y = Tensor::<2>::from_data(TensorData::new(y, [batch.len(), 1]), &device);
            let loss = bce_with_logits(model.forward(x), y);
            loss_sum += loss.clone().into_scalar::<f32>() as f64 * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(config.learning_rate, model, grads);
        }
        let train_loss = loss_sum / train_rows.len() as f64;
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged);
        }
        let probabilities = probabilities_of(&model.valid(), &val_x);
        let validation_loss = mean_bce(&probabilities, &val_y);
        let correct = probabilities
            .iter()
            .zip(&val_y)
            .filter(|(&p, &y)| (p >= 0.5) == (y == 1.0))
            .count();
        epochs_run = epoch;
        on_epoch(&EpochReport {
            epoch,
            max_epochs: config.max_epochs,
            train_loss,
            validation_loss,
            validation_accuracy: correct as f64 / val_y.len() as f64,
        });
        if validation_loss < best.0 {
            best = (validation_loss, model.weights(), epoch);
        } else if epoch - best.2 >= config.patience {
            break;
        }
    }
    let (_, layers, best_epoch) = best;

    let created = std::time::SystemTime::now();
    let mut payload = ModelPayload {
        version: String::new(),
        created_at: humantime::format_rfc3339_seconds(created).to_string(),
        inputs: input_schema(),
        scaler,
        layers,
        threshold: 0.5,
        hyperparameters: config.clone(),
        training: TrainingInfo {
            rows: data.len() + skipped_rows,
            train_rows: train_rows.len(),
            validation_rows: validation_rows.len(),
            positives: data.positives(),
            skipped_rows,
            data_sha256: data.sha256.clone(),
            epochs_run,
            best_epoch,
            seconds: started.elapsed().as_secs_f64(),
        },
        metrics: evaluate(&[], &[], 0.5),
    };
    let predictor = Predictor::new(payload.clone()).map_err(|_| TrainError::Diverged)?;
    let validation_x: Vec<[f32; 6]> = validation_rows.iter().map(|&r| data.x[r]).collect();
    payload.metrics = evaluate(
        &predictor.probabilities(&validation_x),
        &val_y,
        payload.threshold,
    );
    payload.version = version_id(&payload);
    Ok(payload)
}

/// `YYYYMMDD-HHMMSS-<first 8 hex of the weights' hash>`: sortable and unique per weights.
fn version_id(payload: &ModelPayload) -> String {
    use sha2::{Digest, Sha256};
    let weights = serde_json::to_vec(&payload.layers).expect("weights serialise");
    let hash = crate::data::hex(&Sha256::digest(weights));
    let stamp: String = payload
        .created_at
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    format!("{}-{}-{}", &stamp[..8], &stamp[8..], &hash[..8])
}

fn probabilities_of(model: &Mlp, x: &[f32]) -> Vec<f32> {
    let device = Device::flex();
    let n = x.len() / 6;
    let input = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, 6]), &device);
    burn::tensor::activation::sigmoid(model.forward(input))
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 output")
}
