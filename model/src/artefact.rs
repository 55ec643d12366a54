//! The model file: weights, scaling, input schema, hyperparameters, metrics and
//! provenance in one JSON document with a format version and a SHA-256 checksum.
//! Written atomically; loading refuses anything truncated, corrupt or incompatible.

use crate::data::hex;
use crate::metrics::Metrics;
use crate::net::LayerWeights;
use cardiorisk_contract::TrainConfig;
pub use cardiorisk_contract::TrainingInfo;
use cardiorisk_contract::FIELDS;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FORMAT: &str = "cardiorisk-model";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    pub name: String,
    pub min: f64,
    pub max: f64,
}

/// Per-input standardisation fitted on the training part: `(x - mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPayload {
    pub version: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub inputs: Vec<InputSchema>,
    pub scaler: Scaler,
    pub layers: Vec<LayerWeights>,
    pub threshold: f64,
    pub hyperparameters: TrainConfig,
    pub training: TrainingInfo,
    /// On the validation part.
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a CardioRisk model file (or truncated): {0}")]
    Malformed(String),
    #[error("model file format {found} is not supported (this app reads format {FORMAT_VERSION})")]
    Incompatible { found: String },
    #[error("model file is corrupt: checksum mismatch")]
    Checksum,
    #[error("model file is inconsistent: {0}")]
    Invalid(String),
    #[error("the model's output is not a probability from 0 to 1 ({0}); it cannot be used")]
    Output(String),
}

/// The largest model file read (32 MiB).
pub const MAX_MODEL_BYTES: u64 = 32 << 20;

#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    format: String,
    format_version: u32,
    sha256: String,
    #[serde(borrow)]
    payload: &'a RawValue,
}

pub fn input_schema() -> Vec<InputSchema> {
    FIELDS
        .iter()
        .map(|f| InputSchema {
            name: f.name.to_string(),
            min: f.min,
            max: f.max,
        })
        .collect()
}

impl ModelPayload {
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = serde_json::to_string(self).expect("payload serialises");
        let envelope = Envelope {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            sha256: hex(&Sha256::digest(payload.as_bytes())),
            payload: &RawValue::from_string(payload).expect("valid JSON"),
        };
        serde_json::to_vec(&envelope).expect("envelope serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            format_version: Option<serde_json::Value>,
        }
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(ModelError::Malformed("missing format marker".into()));
        }
        match header.format_version {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION as u64) => {}
            other => {
                return Err(ModelError::Incompatible {
                    found: other
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "none".into()),
                })
            }
        }
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
        if hex(&Sha256::digest(envelope.payload.get().as_bytes())) != envelope.sha256 {
            return Err(ModelError::Checksum);
        }
        let payload: ModelPayload = serde_json::from_str(envelope.payload.get())
            .map_err(|e| ModelError::Malformed(e.to_string()))?;
        payload.check()?;
        Ok(payload)
    }

    /// Shapes and values a predictor can rely on.
    fn check(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if self.inputs != input_schema() {
            return bad("its input schema differs from this app's six inputs".into());
        }
        if self.scaler.mean.len() != 6 || self.scaler.std.len() != 6 {
            return bad("scaler must have six entries".into());
        }
        if self.scaler.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self.scaler.mean.iter().any(|m| !m.is_finite())
        {
            return bad("scaler has a non-finite or non-positive entry".into());
        }
        let mut width = 6;
        for (i, l) in self.layers.iter().enumerate() {
            if l.d_in != width || l.weight.len() != l.d_in * l.d_out || l.bias.len() != l.d_out {
                return bad(format!("layer {i} has inconsistent shapes"));
            }
            if l.weight.iter().chain(&l.bias).any(|v| !v.is_finite()) {
                return bad(format!("layer {i} has a non-finite weight"));
            }
            width = l.d_out;
        }
        if self.layers.is_empty() || width != 1 {
            return bad("the last layer must have one output".into());
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad("threshold must be within 0 to 1".into());
        }
        Ok(())
    }

    /// Reads a model file of at most [`MAX_MODEL_BYTES`], refused before reading when
    /// larger (the built-in model is about 19 KB).
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let bytes = cardiorisk_files::read_limited(path, MAX_MODEL_BYTES).map_err(|source| {
            ModelError::Io {
                path: path.display().to_string(),
                source,
            }
        })?;
        Self::from_bytes(&bytes)
    }

    /// Writes to a temporary file beside `path`, syncs it, then renames it over `path`.
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, &self.to_bytes())
    }
}

use cardiorisk_files::write_atomic;
