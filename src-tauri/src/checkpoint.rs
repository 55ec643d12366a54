//! WAL checkpoints off the write path. A checkpoint copies committed pages from the
//! WAL into the database file and syncs it: tens of milliseconds that SQLite's
//! automatic checkpoint would add to whichever commit crossed its threshold (an
//! assessment, a gateway request). Instead the writing connection's WAL hook asks a
//! thread with its own connection to run a PASSIVE checkpoint (which never blocks
//! writers or readers) once the WAL holds [`WAL_PAGES`] pages.

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

/// About 16 MiB of WAL (4 KiB pages) before a checkpoint.
pub const WAL_PAGES: i32 = 4000;

#[derive(Default)]
struct State {
    wanted: bool,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Checkpointer {
    shared: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Takes over checkpointing of `conn`'s database (at `path`). When a second
    /// connection cannot be opened, `conn` keeps SQLite's automatic checkpoint.
    pub fn attach(conn: &mut Connection, path: &Path) -> Option<Checkpointer> {
        let own = Connection::open(path).ok()?;
        own.busy_timeout(std::time::Duration::from_secs(1)).ok()?;
        let shared: Shared = Arc::default();
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("cardiorisk-checkpoint".into())
                .spawn(move || run(own, shared))
                .ok()?
        };
        let trigger = Arc::clone(&shared);
        let hooked = conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages >= WAL_PAGES {
                let (lock, wake) = &*trigger;
                lock.lock().unwrap_or_else(|e| e.into_inner()).wanted = true;
                wake.notify_one();
            }
            Ok(())
        }));
        let checkpointer = Checkpointer {
            shared,
            thread: Some(thread),
        };
        hooked.ok().map(|_| checkpointer)
    }
}

fn run(conn: Connection, shared: Shared) {
    let (lock, wake) = &*shared;
    let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        while !state.wanted && !state.stop {
            state = wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.stop {
            return;
        }
        state.wanted = false;
        drop(state);
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        state = lock.lock().unwrap_or_else(|e| e.into_inner());
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
