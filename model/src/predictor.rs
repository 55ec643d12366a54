//! Inference with a loaded model, and per-input contributions.

use crate::artefact::{ModelError, ModelPayload};
use crate::net::Mlp;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::TensorData;
use cardiorisk_contract::{Contribution, Measurements, Prediction, RiskBand, FIELDS};
use std::time::Instant;

/// The model shipped inside every binary.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../assets/model/cardiorisk-model.json");

pub use cardiorisk_contract::REFERENCE_PATIENT;

/// A model ready to score patients.
#[derive(Debug)]
pub struct Predictor {
    payload: ModelPayload,
    net: Mlp,
    device: Device,
}

impl Predictor {
    pub fn new(payload: ModelPayload) -> Result<Self, ModelError> {
        let device = Device::flex();
        let net = Mlp::from_weights(&payload.layers, &device).valid();
        let predictor = Predictor {
            payload,
            net,
            device,
        };
        predictor.check_outputs()?;
        Ok(predictor)
    }

    /// Refuses a model that gives anything but a probability (a finite number from 0
    /// to 1) on the probe set: the reference patient, every corner of the valid
    /// ranges and 256 random valid patients (fixed seed).
    fn check_outputs(&self) -> Result<(), ModelError> {
        let probes = probe_set();
        let outputs = self.probabilities(&probes);
        if outputs.len() != probes.len() {
            return Err(ModelError::Output(format!(
                "{} outputs for {} patients",
                outputs.len(),
                probes.len()
            )));
        }
        match outputs
            .iter()
            .zip(&probes)
            .find(|(p, _)| !is_probability(**p as f64))
        {
            None => Ok(()),
            Some((p, x)) => Err(ModelError::Output(format!(
                "it gives {p} for the patient {}",
                describe(x)
            ))),
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        Self::new(ModelPayload::from_bytes(bytes)?)
    }

    /// The model compiled into the binary. It is checked by the test suite, so a
    /// failure here is a build defect.
    pub fn embedded() -> Self {
        Self::from_bytes(EMBEDDED_MODEL).expect("the embedded model is valid")
    }

    pub fn payload(&self) -> &ModelPayload {
        &self.payload
    }

    pub fn version(&self) -> &str {
        &self.payload.version
    }

    fn standardise(&self, rows: &[[f32; 6]]) -> Vec<f32> {
        let s = &self.payload.scaler;
        // Six entries each: the artefact's check refuses any other scaler.
        let mean: [f32; 6] = std::array::from_fn(|j| s.mean[j]);
        let std: [f32; 6] = std::array::from_fn(|j| s.std[j]);
        let mut out = Vec::with_capacity(rows.len() * 6);
        for r in rows {
            out.extend(std::array::from_fn::<f32, 6, _>(|j| {
                (r[j] - mean[j]) / std[j]
            }));
        }
        out
    }

    /// Probabilities of risk for many rows in one pass.
    pub fn probabilities(&self, rows: &[[f32; 6]]) -> Vec<f32> {
        if rows.is_empty() {
            return Vec::new();
        }
        let x = Tensor::<2>::from_data(
            TensorData::new(self.standardise(rows), [rows.len(), 6]),
            &self.device,
        );
        sigmoid(self.net.forward(x))
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 output")
    }

    pub fn probability(&self, m: &Measurements) -> f64 {
        self.probabilities(&[m.to_array().map(|v| v as f32)])[0] as f64
    }

    /// Exact Shapley values of the six inputs on the probability scale, against
    /// [`REFERENCE_PATIENT`]: each is the input's average effect on the probability when
    /// it changes from the reference's value to the patient's, over every order of
    /// changing the six inputs. They sum to `p(patient) - p(reference)`; an input equal to
    /// the reference's, or one the model ignores, gets zero. One batch of 64 rows.
    /// Returns the contributions and `p(patient)`.
    pub fn contributions(&self, m: &Measurements) -> ([f64; 6], f64) {
        let patient = m.to_array();
        let rows: Vec<[f32; 6]> = (0..64u32)
            .map(|mask| {
                std::array::from_fn(|j| {
                    let v = if mask & (1 << j) != 0 {
                        patient[j]
                    } else {
                        REFERENCE_PATIENT[j]
                    };
                    v as f32
                })
            })
            .collect();
        let p = self.probabilities(&rows);
        // Shapley weight |S|! (n - |S| - 1)! / n! for n = 6, by |S|.
        const WEIGHT: [f64; 6] = [
            1.0 / 6.0,
            1.0 / 30.0,
            1.0 / 60.0,
            1.0 / 60.0,
            1.0 / 30.0,
            1.0 / 6.0,
        ];
        let mut phi = [0.0; 6];
        for (j, value) in phi.iter_mut().enumerate() {
            for mask in 0..64usize {
                if mask & (1 << j) == 0 {
                    let with = mask | (1 << j);
                    *value +=
                        WEIGHT[mask.count_ones() as usize] * (p[with] as f64 - p[mask] as f64);
                }
            }
        }
        (phi, p[63] as f64)
    }

    /// Scores already-validated inputs, with each input's contribution. An output
    /// that is not a probability is an error, never a class.
    pub fn predict(&self, m: &Measurements) -> Result<Prediction, ModelError> {
        let started = Instant::now();
        let (phi, probability) = self.contributions(m);
        if !is_probability(probability) || phi.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Output(format!(
                "it gives {probability} for the patient {}",
                describe(&m.to_array().map(|v| v as f32))
            )));
        }
        let contributions = FIELDS
            .iter()
            .zip(phi)
            .map(|(f, value)| Contribution {
                field: f.name.to_string(),
                value,
            })
            .collect();
        Ok(Prediction {
            probability,
            contributions,
            at_risk: probability >= self.payload.threshold,
            threshold: self.payload.threshold,
            band: RiskBand::of(probability),
            model_version: self.payload.version.clone(),
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// A finite number from 0 to 1.
pub fn is_probability(p: f64) -> bool {
    p.is_finite() && (0.0..=1.0).contains(&p)
}

fn describe(x: &[f32; 6]) -> String {
    FIELDS
        .iter()
        .zip(x)
        .map(|(f, v)| format!("{}={v}", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The patients every model must score with a probability before it is used.
pub fn probe_set() -> Vec<[f32; 6]> {
    let mut rows = vec![REFERENCE_PATIENT.map(|v| v as f32)];
    for corner in 0..64u32 {
        rows.push(std::array::from_fn(|j| {
            let f = &FIELDS[j];
            (if corner & (1 << j) != 0 { f.max } else { f.min }) as f32
        }));
    }
    rows.extend(
        crate::synth::generate(256, 0x5EED, crate::synth::Span::Valid)
            .into_iter()
            .map(|(x, _)| x.map(|v| v as f32)),
    );
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_numbers_from_zero_to_one_are_probabilities() {
        for p in [0.0, 0.5, 1.0] {
            assert!(is_probability(p), "{p}");
        }
        for p in [-0.1, 1.000001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(!is_probability(p), "{p}");
        }
    }

    #[test]
    fn the_probe_set_covers_the_reference_every_corner_and_random_patients() {
        let probes = probe_set();
        assert_eq!(probes.len(), 1 + 64 + 256);
        assert!(probes.iter().all(|x| FIELDS
            .iter()
            .zip(x)
            .all(|(f, v)| (f.min as f32..=f.max as f32).contains(v))));
        assert!(Predictor::embedded()
            .probabilities(&probes)
            .iter()
            .all(|p| is_probability(*p as f64)));
    }
}
