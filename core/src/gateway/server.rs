//! The accept loop: HTTP/1.1 through hyper with a deadline on request headers, a
//! cap on open connections, and a graceful stop (stop accepting, let requests in
//! flight finish, close idle connections).
//!
//! On loopback every caller has the same address, so connections cannot be shared out
//! per peer. Instead a connection that is not running a request (idle between
//! requests, or still sending its headers) is cheap to lose: when every slot is taken,
//! a new connection takes the slot of the one that has waited longest without a
//! request in progress. A flood of idle or half-sent connections therefore only ever
//! closes its own oldest members, and a real client's request, which is in progress
//! as soon as its headers arrive, is answered.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt;

/// A request's headers must arrive within this; an idle keep-alive connection is
/// closed after it too.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections at most (fewer when the descriptor limit is lower); past it, the
/// connection idle the longest is closed for the new one.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long a graceful stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Descriptors kept for the database, the log files and the listener.
const DESCRIPTORS_KEPT: usize = 64;

struct Slot {
    /// Requests in progress on the connection (0 or 1 with HTTP/1.1).
    in_progress: usize,
    /// Orders idle connections: the smallest has waited longest.
    idle_since: u64,
    close: Arc<Notify>,
}

/// Open connections, and which ones may be closed to make room.
#[derive(Default)]
struct Slots {
    open: Mutex<SlotTable>,
    /// Signalled whenever a connection ends or becomes idle.
    changed: Notify,
}

#[derive(Default)]
struct SlotTable {
    by_id: HashMap<u64, Slot>,
    next_id: u64,
    tick: u64,
}

impl Slots {
    fn table(&self) -> std::sync::MutexGuard<'_, SlotTable> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.table().by_id.len()
    }

    fn open(&self) -> (u64, Arc<Notify>) {
        let mut t = self.table();
        let (id, tick) = (t.next_id, t.tick);
        t.next_id += 1;
        t.tick += 1;
        let close = Arc::new(Notify::new());
        t.by_id.insert(
            id,
            Slot {
                in_progress: 0,
                idle_since: tick,
                close: Arc::clone(&close),
            },
        );
        (id, close)
    }

    /// Closes the connection idle the longest; false when every one is answering.
    fn close_longest_idle(&self) -> bool {
        let mut t = self.table();
        let oldest = t
            .by_id
            .iter()
            .filter(|(_, s)| s.in_progress == 0)
            .min_by_key(|(_, s)| s.idle_since)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| t.by_id.remove(&id)) {
            Some(slot) => {
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn request_started(&self, id: u64) {
        if let Some(slot) = self.table().by_id.get_mut(&id) {
            slot.in_progress += 1;
        }
    }

    fn request_ended(&self, id: u64) {
        let mut t = self.table();
        let tick = t.tick;
        t.tick += 1;
        if let Some(slot) = t.by_id.get_mut(&id) {
            slot.in_progress = slot.in_progress.saturating_sub(1);
            slot.idle_since = tick;
        }
        drop(t);
        self.changed.notify_waiters();
    }

    fn closed(&self, id: u64) {
        self.table().by_id.remove(&id);
        self.changed.notify_waiters();
    }
}

/// Marks a connection busy for as long as one request runs (dropped with it, even
/// when the request is cancelled).
struct InProgress {
    slots: Arc<Slots>,
    id: u64,
}

impl InProgress {
    fn new(slots: &Arc<Slots>, id: u64) -> Self {
        slots.request_started(id);
        InProgress {
            slots: Arc::clone(slots),
            id,
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.slots.request_ended(self.id);
    }
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Slots::default());
    let cap = connection_cap();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    // Out of descriptors or a connection reset before accept: pause
                    // rather than spin.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Room for this one: close the longest idle, or wait for a request to end.
        let mut stopping = false;
        loop {
            // Listening before looking, so an end between the two is not missed.
            let changed = slots.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if slots.len() < cap || slots.close_longest_idle() {
                break;
            }
            tokio::select! {
                _ = changed => {}
                _ = &mut shutdown => { stopping = true; break; }
            }
        }
        if stopping {
            break;
        }
        let _ = stream.set_nodelay(true);
        let (id, close) = slots.open();
        let app = app.clone();
        let for_requests = Arc::clone(&slots);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_progress = InProgress::new(&for_requests, id);
            let answer = app.clone().oneshot(req);
            async move {
                let response = answer.await;
                drop(in_progress);
                response
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let for_task = Arc::clone(&slots);
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                _ = close.notified() => {}
            }
            for_task.closed(id);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

/// [`MAX_CONNECTIONS`], or fewer when the process may not open that many descriptors.
fn connection_cap() -> usize {
    descriptor_limit()
        .map(|limit| {
            limit
                .saturating_sub(DESCRIPTORS_KEPT)
                .clamp(16, MAX_CONNECTIONS)
        })
        .unwrap_or(MAX_CONNECTIONS)
}

#[cfg(unix)]
fn descriptor_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed in.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
        .then(|| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<usize> {
    None
}

/// Lets the process hold as many descriptors as the system allows (up to
/// [`DESCRIPTOR_GOAL`]), so connections are bounded by [`MAX_CONNECTIONS`], not by a
/// low soft limit: macOS starts processes with 256, some Linux desktops with 1024.
pub fn raise_descriptor_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max.min(DESCRIPTOR_GOAL)
            {
                limit.rlim_cur = limit.rlim_max.min(DESCRIPTOR_GOAL);
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    }
}

/// The soft descriptor limit asked for: far above [`MAX_CONNECTIONS`], and macOS's
/// `OPEN_MAX`, beyond which its `setrlimit` refuses.
#[cfg(unix)]
const DESCRIPTOR_GOAL: libc::rlim_t = 10_240;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_connection_makes_room_and_busy_ones_never_do() {
        let slots = Arc::new(Slots::default());
        let (a, close_a) = slots.open();
        let (b, _) = slots.open();
        let (c, _) = slots.open();
        let busy = InProgress::new(&slots, a);
        // b was opened before c and neither has had a request: b goes first.
        assert!(slots.close_longest_idle());
        assert!(!slots.table().by_id.contains_key(&b));
        // c answers one request: it becomes idle later than nothing else, still the
        // only idle one, so it goes next; a is answering and stays.
        drop(InProgress::new(&slots, c));
        assert!(slots.close_longest_idle());
        assert!(!slots.close_longest_idle(), "a is answering a request");
        drop(busy);
        assert!(slots.close_longest_idle());
        assert_eq!(slots.len(), 0);
        // The closed connection is told.
        assert!(was_signalled(&close_a), "a was signalled to close");
    }

    /// macOS starts processes with a soft limit of 256 descriptors: the gateway raises
    /// it to what it may hold (here, a Linux test lowers its own limit to that first).
    #[cfg(unix)]
    #[test]
    fn a_low_descriptor_limit_is_raised_as_far_as_allowed() {
        let read = || {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit only writes the struct passed in.
            assert_eq!(
                unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
                0
            );
            limit
        };
        let mut low = read();
        low.rlim_cur = 256.min(low.rlim_max);
        // SAFETY: setrlimit only reads the struct passed in.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        raise_descriptor_limit();
        let raised = read();
        assert_eq!(raised.rlim_cur, low.rlim_max.min(DESCRIPTOR_GOAL));
        assert!(
            connection_cap() >= MAX_CONNECTIONS.min((raised.rlim_cur as usize).saturating_sub(64))
        );
    }

    /// Whether a `notify_one` permit is stored on `n` (polled once, without waiting).
    fn was_signalled(n: &Notify) -> bool {
        let notified = std::pin::pin!(n.notified());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        notified.poll(&mut cx).is_ready()
    }
}
