//! The app's services behind every entry point (Tauri commands, CLI, tests):
//! validation, the model and storage, with no UI framework in sight.

use crate::models::{ModelSource, Registry};
use crate::{assessments, db};
use cardiorisk_contract::{
    AssessmentOutcome, AssessmentRecord, CommandError, Measurements, ModelStatus, MAX_PAGE,
};
use cardiorisk_model::Predictor;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "cardiorisk.db";

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "CARDIORISK_DATA_DIR";

pub struct Services {
    db: Mutex<Connection>,
    predictor: Predictor,
    model_source: ModelSource,
    data_dir: PathBuf,
}

impl Services {
    /// Opens the database in `data_dir` and loads the active model (the embedded
    /// one when none was activated or the activated one cannot be loaded).
    pub fn open(data_dir: &Path) -> Result<Self, db::DbError> {
        let conn = db::open(&data_dir.join(DB_FILE))?;
        let (predictor, model_source) = Registry::new(data_dir).active();
        if let ModelSource::Fallback { reason } = &model_source {
            eprintln!("warning: using the embedded model: {reason}");
        }
        Ok(Services {
            db: Mutex::new(conn),
            predictor,
            model_source,
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn model_source(&self) -> &ModelSource {
        &self.model_source
    }

    pub fn model_status(&self) -> ModelStatus {
        let (source, warning) = match &self.model_source {
            ModelSource::Embedded => ("embedded", None),
            ModelSource::Registry => ("registry", None),
            ModelSource::Fallback { reason } => ("fallback", Some(format!(
                "The activated model could not be loaded, so the built-in model is in use: {reason}."
            ))),
        };
        ModelStatus {
            version: self.predictor.version().to_string(),
            source: source.to_string(),
            warning,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn predictor(&self) -> &Predictor {
        &self.predictor
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written row (SQLite rolls the
        // transaction back), so a poisoned lock is safe to reuse.
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates, scores and stores one assessment in a single transaction.
    pub fn assess(&self, inputs: &Measurements) -> Result<AssessmentOutcome, CommandError> {
        inputs.validate()?;
        let prediction = self.predictor.predict(inputs);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(internal)?;
        let assessment_id = assessments::insert(&tx, inputs, &prediction).map_err(internal)?;
        tx.commit().map_err(internal)?;
        Ok(AssessmentOutcome {
            prediction,
            assessment_id,
        })
    }

    pub fn recent(&self, limit: u32) -> Result<Vec<AssessmentRecord>, CommandError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(CommandError::invalid(format!(
                "limit must be from 1 to {MAX_PAGE}"
            )));
        }
        assessments::recent(&self.conn(), limit).map_err(internal)
    }
}

fn internal(e: rusqlite::Error) -> CommandError {
    CommandError::internal(format!("could not save or read the assessment: {e}"))
}
