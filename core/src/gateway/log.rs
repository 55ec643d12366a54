//! The gateway's request log, durable before the answer leaves. Each handler hands
//! its log entry to one writer thread and waits; the writer commits whatever has
//! queued meanwhile in one transaction (one fsync under `synchronous=FULL`) and then
//! releases every waiting handler. So a request is answered only once its entry is
//! on disk, and requests arriving together share one fsync.
//!
//! When the entry cannot be written (disk full, database locked past its busy
//! timeout, [`LOCK_WAIT`]) the request is answered 503 instead; the queue is bounded, so under a
//! long stall requests wait at most [`ENQUEUE_WAIT`] for a place, then get 503 too.
//! The writer retries with every new batch, so the log recovers by itself, and it
//! then records how many requests were refused meanwhile.

use crate::audit::{Action, Event, Status};
use crate::service::Services;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Entries waiting for the writer, at most.
pub const QUEUE: usize = 4096;
/// Entries written in one transaction, at most.
const BATCH: usize = 1024;
/// How long the writer waits for entries of requests already being handled before
/// it commits without them: long enough for a request to be scored, far shorter
/// than the fsync it then shares.
const GATHER: Duration = Duration::from_micros(200);
/// How long a request waits for a place in a full queue before it is answered 503.
pub const ENQUEUE_WAIT: Duration = Duration::from_secs(2);
/// How long a batch waits for another connection's lock before its requests are
/// answered 503 (so a request waits at most about two of these plus `ENQUEUE_WAIT`).
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

struct Pending {
    event: Event,
    done: oneshot::Sender<bool>,
}

/// The log could not take the entry; the request must not be answered as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

pub struct RequestLog {
    queue: mpsc::Sender<Pending>,
    /// The writer thread, woken when an entry arrives while it gathers a batch.
    writer: std::thread::Thread,
    refused: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    in_flight: Arc<AtomicUsize>,
}

/// A request being handled; its entry will reach the log soon.
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RequestLog {
    /// Starts the writer thread; it ends once every `RequestLog` clone is dropped
    /// and the queue is empty.
    pub fn start(services: Arc<Services>) -> (Self, std::thread::JoinHandle<()>) {
        let (queue, pending) = mpsc::channel(QUEUE);
        let refused = Arc::new(AtomicU64::new(0));
        let last_error = Arc::new(Mutex::new(None));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let writer = {
            let shared = Shared {
                refused: Arc::clone(&refused),
                last_error: Arc::clone(&last_error),
                in_flight: Arc::clone(&in_flight),
            };
            std::thread::Builder::new()
                .name("cardiorisk-gateway-log".into())
                .spawn(move || write_batches(services, pending, shared))
                .expect("spawn the gateway log writer")
        };
        (
            RequestLog {
                queue,
                writer: writer.thread().clone(),
                refused,
                last_error,
                in_flight,
            },
            writer,
        )
    }

    /// Marks a request as being handled until the guard drops, so the writer can
    /// wait a moment for its entry and commit it with the others.
    pub fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(&self.in_flight))
    }

    /// Returns once `event` is committed to the audit log.
    pub async fn write(&self, event: Event) -> Result<(), Unavailable> {
        let (done, committed) = oneshot::channel();
        let queued = tokio::time::timeout(ENQUEUE_WAIT, self.queue.send(Pending { event, done }));
        let result = match queued.await {
            Ok(Ok(())) => {
                self.writer.unpark();
                match committed.await {
                    Ok(true) => Ok(()),
                    _ => Err(Unavailable),
                }
            }
            _ => {
                self.note_error("the log queue stayed full");
                Err(Unavailable)
            }
        };
        if result.is_err() {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    fn note_error(&self, reason: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_string());
    }
}

struct Shared {
    refused: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    in_flight: Arc<AtomicUsize>,
}

fn write_batches(services: Arc<Services>, mut pending: mpsc::Receiver<Pending>, shared: Shared) {
    let Shared {
        refused,
        last_error,
        in_flight,
    } = shared;
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    let mut answers: Vec<oneshot::Sender<bool>> = Vec::with_capacity(BATCH);
    let mut recent = [1usize; 8];
    let mut next = 0;
    while let Some(first) = pending.blocking_recv() {
        batch.push(first);
        // Group commit: take what is queued, and wait briefly for as many entries as
        // recent batches had (clients that just got their answer are about to send
        // again) or as requests are being handled, so they share this fsync.
        let expected = recent
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(in_flight.load(Ordering::SeqCst))
            .min(BATCH);
        let gathering = Instant::now();
        while batch.len() < BATCH {
            match pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => {
                    let waited = gathering.elapsed();
                    if batch.len() >= expected || waited >= GATHER {
                        break;
                    }
                    // Asleep, not spinning: the cores belong to the requests being
                    // handled; a sender unparks this thread when its entry is queued.
                    std::thread::park_timeout(GATHER - waited);
                }
            }
        }
        recent[next] = batch.len();
        next = (next + 1) % recent.len();
        let mut events = Vec::with_capacity(batch.len() + 1);
        for p in batch.drain(..) {
            events.push(p.event);
            answers.push(p.done);
        }
        // After an outage, say in the log itself how many requests were refused.
        let outage = refused.load(Ordering::SeqCst);
        if outage > 0 {
            let reason = last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_default();
            events.push(
                Event::new(Action::GatewayRequest, Status::Error, Instant::now()).detail(format!(
                    "{outage} request(s) answered 503: the request log could not be written ({reason})"
                )),
            );
        }
        let committed = match services.record_batch(events, LOCK_WAIT) {
            Ok(()) => {
                if outage > 0 {
                    refused.fetch_sub(outage, Ordering::SeqCst);
                }
                true
            }
            Err(e) => {
                *last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.message.clone());
                tracing::error!(
                    entries = answers.len(),
                    error = %e.message,
                    "gateway requests not written to the audit log"
                );
                false
            }
        };
        for done in answers.drain(..) {
            let _ = done.send(committed);
        }
    }
}
