//! Training in a background thread: progress as it happens, cancel at any time.
//! Nothing is written by a job; the caller stores and activates the model it returns,
//! so a cancelled or failed job leaves the active model untouched.

use crate::data::{read_labelled_file, DataError, InvalidRows};
use crate::{train, EpochReport, ModelPayload, TrainConfig, TrainError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("the training thread stopped unexpectedly")]
    Panicked,
}

/// Reported while a job runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The CSV was read; `skipped` invalid rows were left out.
    Loaded {
        rows: usize,
        skipped: usize,
    },
    Epoch(EpochReport),
}

pub struct TrainingJob {
    cancel: Arc<AtomicBool>,
    progress: Receiver<Progress>,
    thread: JoinHandle<Result<ModelPayload, JobError>>,
}

impl TrainingJob {
    /// Starts training on the CSV at `path`.
    pub fn start(path: PathBuf, invalid: InvalidRows, config: TrainConfig) -> Self {
        Self::start_then(path, invalid, config, || {})
    }

    /// Starts training; `finished` runs on a thread of its own once the job's result
    /// is ready (so it may call [`TrainingJob::wait`] on this job).
    pub fn start_then(
        path: PathBuf,
        invalid: InvalidRows,
        config: TrainConfig,
        finished: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self::start_watched(path, invalid, config, || {}, finished)
    }

    /// As [`TrainingJob::start_then`], calling `reported` on the training thread after
    /// each report is queued, so a watcher can take it without polling.
    pub fn start_watched(
        path: PathBuf,
        invalid: InvalidRows,
        config: TrainConfig,
        reported: impl Fn() + Send + 'static,
        finished: impl FnOnce() + Send + 'static,
    ) -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, progress) = channel();
        let flag = Arc::clone(&cancel);
        let thread = std::thread::Builder::new()
            .name("cardiorisk-training".into())
            .spawn(move || {
                let result = (|| {
                    let loaded = read_labelled_file(&path, invalid)?;
                    let _ = tx.send(Progress::Loaded {
                        rows: loaded.data.len(),
                        skipped: loaded.skipped,
                    });
                    reported();
                    let mut report = |r: &EpochReport| {
                        let _ = tx.send(Progress::Epoch(r.clone()));
                        reported();
                    };
                    Ok(train(
                        &loaded.data,
                        loaded.skipped,
                        &config,
                        &mut report,
                        &flag,
                    )?)
                })();
                drop(tx);
                let _ = std::thread::Builder::new()
                    .name("cardiorisk-training-done".into())
                    .spawn(finished);
                result
            })
            .expect("spawn the training thread");
        TrainingJob {
            cancel,
            progress,
            thread,
        }
    }

    /// Asks the job to stop after the current epoch.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Progress reported since the last call, without waiting.
    pub fn drain(&self) -> Vec<Progress> {
        self.progress.try_iter().collect()
    }

    /// Waits for the next report; `None` once the job has finished.
    pub fn next(&self) -> Option<Progress> {
        self.progress.recv().ok()
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    pub fn wait(self) -> Result<ModelPayload, JobError> {
        self.thread.join().unwrap_or(Err(JobError::Panicked))
    }
}
