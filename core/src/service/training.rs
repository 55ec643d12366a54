//! Model management for administrators: model cards, retraining in the background
//! with progress, and activating any stored version (or the built-in one) at run time.

use super::{ActiveModel, Services};
use crate::audit::{Action, Event, Status};
use crate::auth::Actor;
use crate::models::{ModelSource, RegistryError};
use cardiorisk_contract::{
    CommandError, EpochPoint, ErrorCode, FieldError, ModelCard, TrainRequest, TrainingPhase,
    TrainingStatus, EMBEDDED_LABEL,
};
use cardiorisk_model::data::InvalidRows;
use cardiorisk_model::job::{JobError, Progress, TrainingJob};
use cardiorisk_model::predictor::EMBEDDED_MODEL;
use cardiorisk_model::{ModelPayload, Predictor, TrainError};
use std::path::Path;
use std::time::Instant;

/// The current or last retraining.
pub struct Training {
    job: Option<Running>,
    status: TrainingStatus,
}

struct Running {
    job: TrainingJob,
    actor: Actor,
    started: Instant,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            job: None,
            status: TrainingStatus {
                job: 0,
                phase: TrainingPhase::Idle,
                source: None,
                rows: None,
                skipped: None,
                max_epochs: 0,
                epochs: Vec::new(),
                candidate: None,
                error: None,
            },
        }
    }
}

fn card(payload: &ModelPayload, builtin: bool, active: bool) -> ModelCard {
    ModelCard {
        version: if builtin {
            format!("{} ({EMBEDDED_LABEL})", payload.version)
        } else {
            payload.version.clone()
        },
        created_at: payload.created_at.clone(),
        builtin,
        active,
        threshold: payload.threshold,
        hyperparameters: payload.hyperparameters.clone(),
        training: payload.training.clone(),
        metrics: payload.metrics.clone(),
    }
}

fn registry_error(e: RegistryError) -> CommandError {
    match e {
        RegistryError::Unknown(v) => CommandError::coded(ErrorCode::NoModel, &[("version", &v)]),
        RegistryError::Model(e) => {
            CommandError::coded(ErrorCode::ModelUnusable, &[("detail", &e.to_string())])
        }
        other => CommandError::internal(other.to_string()),
    }
}

impl Services {
    fn training(&self) -> std::sync::MutexGuard<'_, Training> {
        self.training.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every model that can be activated: the built-in one first, then the stored
    /// versions oldest first. Files that no longer load are left out (and logged).
    pub fn list_models(&self, token: &str) -> Result<Vec<ModelCard>, CommandError> {
        self.admin(token, Action::ModelActivated)?;
        let model = self.model();
        let on_builtin = !matches!(model.source, ModelSource::Registry);
        let embedded = ModelPayload::from_bytes(EMBEDDED_MODEL)
            .map_err(|e| CommandError::internal(e.to_string()))?;
        let mut cards = vec![card(&embedded, true, on_builtin)];
        for version in self.registry.versions().map_err(registry_error)? {
            match self.registry.load(&version) {
                Ok(p) => {
                    let active = !on_builtin && p.version == model.predictor.version();
                    cards.push(card(&p, false, active));
                }
                Err(e) => tracing::warn!(%version, error = %e, "model left out of the list"),
            }
        }
        Ok(cards)
    }

    /// Starts retraining on a CSV file in the background; one at a time.
    pub fn start_training(
        &self,
        token: &str,
        path: &Path,
        request: &TrainRequest,
    ) -> Result<TrainingStatus, CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::ModelTrained)?;
        let cfg = request.config.clone();
        cfg.check()?;
        if !path.is_file() {
            return Err(FieldError::rule("path", &[("path", &path.display().to_string())]).into());
        }
        let mut training = self.training();
        if training.job.is_some() {
            return Err(CommandError::coded(ErrorCode::TrainingRunning, &[]));
        }
        let invalid = if request.skip_invalid {
            InvalidRows::Skip
        } else {
            InvalidRows::Refuse
        };
        // When the app holds the services shared, the finished job stores and audits
        // its candidate by itself, whether or not anyone is watching the Model page.
        let me = self.me();
        let watcher = me.clone();
        let job = TrainingJob::start_watched(
            path.to_path_buf(),
            invalid,
            cfg,
            move || {
                if let Some(services) = watcher.as_ref().and_then(|w| w.upgrade()) {
                    services.publish_training(false);
                }
            },
            move || {
                if let Some(services) = me.and_then(|w| w.upgrade()) {
                    services.publish_training(true);
                }
            },
        );
        training.job = Some(Running {
            job,
            actor: Actor::clone(&actor),
            started,
        });
        training.status = TrainingStatus {
            job: training.status.job + 1,
            phase: TrainingPhase::Running,
            source: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            max_epochs: request.config.max_epochs,
            ..Training::default().status
        };
        let _ = self.training_bus.send(training.status.clone());
        Ok(training.status.clone())
    }

    /// Progress so far; when the job has ended, stores the candidate (not active).
    /// Polling it does not count as activity: an unattended Model page does not keep
    /// the session alive.
    pub fn training_status(&self, token: &str) -> Result<TrainingStatus, CommandError> {
        self.passive_admin(token, Action::ModelTrained)?;
        Ok(self.collect_training(false))
    }

    /// Takes the job's progress and sends the status to every subscriber (the window,
    /// as a "training" event): after each epoch and once when the job has ended.
    fn publish_training(&self, wait: bool) {
        let status = self.collect_training(wait);
        let _ = self.training_bus.send(status);
    }

    /// Takes the job's progress; once it has ended (or, with `wait`, when it is about
    /// to), stores the candidate and audits the outcome, exactly once.
    fn collect_training(&self, wait: bool) -> TrainingStatus {
        let mut guard = self.training();
        let training = &mut *guard;
        let Some(running) = &training.job else {
            return training.status.clone();
        };
        for p in running.job.drain() {
            match p {
                Progress::Loaded { rows, skipped } => {
                    training.status.rows = Some(rows);
                    training.status.skipped = Some(skipped);
                }
                Progress::Epoch(r) => training.status.epochs.push(EpochPoint {
                    epoch: r.epoch,
                    train_loss: r.train_loss,
                    validation_loss: r.validation_loss,
                    validation_accuracy: r.validation_accuracy,
                }),
            }
        }
        if !wait && !running.job.is_finished() {
            return training.status.clone();
        }
        let Running {
            job,
            actor,
            started,
        } = training.job.take().expect("checked above");
        let source = training.status.source.clone().unwrap_or_default();
        let result = job.wait();
        let event = |status, detail: String| {
            Event::new(Action::ModelTrained, status, started)
                .by(actor.user_id, &actor.username)
                .detail(detail)
        };
        match result.map_err(|e| e.to_string()).and_then(|payload| {
            self.registry
                .store(&payload)
                .map(|_| payload)
                .map_err(|e| e.to_string())
        }) {
            Ok(payload) => {
                training.status.phase = TrainingPhase::Finished;
                training.status.candidate = Some(payload.version.clone());
                self.record(
                    event(
                        Status::Ok,
                        format!(
                            "trained {} on {source} ({} rows, validation accuracy {:.4}); not active",
                            payload.version, payload.training.rows, payload.metrics.accuracy
                        ),
                    )
                    .about(format!("model:{}", payload.version)),
                );
            }
            Err(message) => {
                let cancelled = message == JobError::Train(TrainError::Cancelled).to_string();
                training.status.phase = if cancelled {
                    TrainingPhase::Cancelled
                } else {
                    TrainingPhase::Failed
                };
                training.status.error = Some(message.clone());
                let status = if cancelled {
                    Status::Cancelled
                } else {
                    Status::Error
                };
                self.record(event(status, format!("training on {source}: {message}")));
            }
        }
        training.status.clone()
    }

    pub fn cancel_training(&self, token: &str) -> Result<(), CommandError> {
        self.admin(token, Action::ModelTrained)?;
        if let Some(running) = &self.training().job {
            running.job.cancel();
        }
        Ok(())
    }

    /// Makes a stored version (or the built-in model, [`EMBEDDED_LABEL`]) the one
    /// that scores patients, from the next prediction on. Rolling back is
    /// activating an earlier version.
    pub fn activate_model(&self, token: &str, version: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::ModelActivated)?;
        let before = self.model().predictor.version().to_string();
        let model = if version == EMBEDDED_LABEL {
            self.registry.deactivate().map_err(registry_error)?;
            ActiveModel {
                predictor: Predictor::embedded(),
                source: ModelSource::Embedded,
            }
        } else {
            match self.registry.activate(version) {
                Ok(predictor) => ActiveModel {
                    predictor,
                    source: ModelSource::Registry,
                },
                Err(e) => {
                    let refused = registry_error(e);
                    self.record(
                        Event::new(Action::ModelActivated, Status::Invalid, started)
                            .by(actor.user_id, &actor.username)
                            .about(format!("model:{version}"))
                            .detail(format!("refused: {}", refused.message)),
                    );
                    return Err(refused);
                }
            }
        };
        let after = model.predictor.version().to_string();
        self.swap_model(model);
        self.record(
            Event::new(Action::ModelActivated, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .about(format!("model:{after}"))
                .detail(format!("active model {before} -> {after}")),
        );
        Ok(())
    }
}
