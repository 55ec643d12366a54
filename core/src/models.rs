//! The model registry in the data directory: every trained model kept by version,
//! and which one is active. Falls back to the embedded model, and says why.

use cardiorisk_files::write_atomic;
use cardiorisk_model::{ModelPayload, Predictor};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the active model came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ModelSource {
    /// The model compiled into the app (no model was activated).
    Embedded,
    /// A model trained and activated on this machine.
    Registry,
    /// The activated model could not be loaded; the embedded one is used instead.
    Fallback { reason: String },
}

pub struct Registry {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no model with version {0} is stored")]
    Unknown(String),
    #[error("model storage failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Model(#[from] cardiorisk_model::ModelError),
}

fn safe_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 64
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !version.starts_with('.')
}

impl Registry {
    pub fn new(data_dir: &Path) -> Self {
        Registry {
            dir: data_dir.join("models"),
        }
    }

    fn file(&self, version: &str) -> Result<PathBuf, RegistryError> {
        if !safe_version(version) {
            return Err(RegistryError::Unknown(version.to_string()));
        }
        Ok(self.dir.join(format!("{version}.json")))
    }

    /// Stores a model (atomically) without activating it.
    pub fn store(&self, model: &ModelPayload) -> Result<(), RegistryError> {
        let file = self.file(&model.version)?;
        crate::private::create_dir(&self.dir)?;
        model.write_atomic(&file)?;
        Ok(())
    }

    /// Versions stored, oldest first (versions sort by creation time).
    pub fn versions(&self) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                for e in entries {
                    let name = e?.file_name().to_string_lossy().into_owned();
                    if let Some(v) = name.strip_suffix(".json") {
                        if safe_version(v) {
                            out.push(v.to_string());
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        out.sort();
        Ok(out)
    }

    pub fn load(&self, version: &str) -> Result<ModelPayload, RegistryError> {
        let path = self.file(version)?;
        if !path.exists() {
            return Err(RegistryError::Unknown(version.to_string()));
        }
        Ok(ModelPayload::read(&path)?)
    }

    /// Makes `version` the active model; it must load cleanly first.
    pub fn activate(&self, version: &str) -> Result<Predictor, RegistryError> {
        let predictor = Predictor::new(self.load(version)?)?;
        write_atomic(&self.dir.join("active"), version.as_bytes())?;
        Ok(predictor)
    }

    /// Returns to the embedded model.
    pub fn deactivate(&self) -> Result<(), RegistryError> {
        match std::fs::remove_file(self.dir.join("active")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The model to use now: the activated one, else the embedded one.
    pub fn active(&self) -> (Predictor, ModelSource) {
        let named = cardiorisk_files::read_limited(&self.dir.join("active"), 256)
            .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other));
        let version = match named {
            Ok(v) => v.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Predictor::embedded(), ModelSource::Embedded)
            }
            Err(e) => return fallback(format!("cannot read the active model's name: {e}")),
        };
        match self.load(&version).and_then(|m| Ok(Predictor::new(m)?)) {
            Ok(p) => (p, ModelSource::Registry),
            Err(e) => fallback(format!("model {version} could not be loaded ({e})")),
        }
    }
}

fn fallback(reason: String) -> (Predictor, ModelSource) {
    (Predictor::embedded(), ModelSource::Fallback { reason })
}
