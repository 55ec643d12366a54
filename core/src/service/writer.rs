//! The one writer: the only connection that changes the database, and the only
//! path to it ([`Writer::transact`]). In each transaction, after the caller's rows,
//! it writes the audit entry of every event the caller returns and the change rows
//! describing them (`crate::changes`), then commits once and publishes what
//! committed on the bus. Callers that arrive together share a transaction where they
//! gather themselves (assessments, the gateway's request lines).

use crate::audit::{self, Event};
use crate::changes::{self, Change};
use crate::db;
use cardiorisk_contract::CommandError;
use rusqlite::{Connection, Transaction};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;

/// What one audited action committed: its audit entry and its change rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub event: Event,
    pub changes: Vec<Change>,
}

pub(crate) struct Writer {
    conn: Mutex<Connection>,
    installation: String,
    bus: broadcast::Sender<Arc<Committed>>,
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> rusqlite::Result<Self> {
        let installation = changes::installation_id(&conn)?;
        Ok(Writer {
            conn: Mutex::new(conn),
            installation,
            bus: broadcast::channel(4096).0,
        })
    }

    pub(crate) fn installation(&self) -> &str {
        &self.installation
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.bus.subscribe()
    }

    /// The writing connection, for reads that must see the latest write (sign-in's
    /// counters) and for a restore, which attaches its copy first.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written row (SQLite rolls
        // the transaction back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `write` in one IMMEDIATE transaction with the audit entries and change
    /// rows of the events it returns; commits, then publishes them. `busy`: how long
    /// to wait for another program's lock, when not the usual [`db::BUSY_TIMEOUT`].
    pub(crate) fn transact<T>(
        &self,
        busy: Option<Duration>,
        write: impl FnOnce(&Transaction) -> Result<(T, Vec<Event>), CommandError>,
    ) -> Result<T, CommandError> {
        let (value, committed) = {
            let mut conn = self.lock();
            if let Some(busy) = busy {
                let _ = conn.busy_timeout(busy);
            }
            let result = (|| -> Result<(T, Vec<Committed>), CommandError> {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(super::internal)?;
                let (value, events) = write(&tx)?;
                let committed = self.record_in(&tx, events).map_err(super::internal)?;
                tx.commit().map_err(super::internal)?;
                Ok((value, committed))
            })();
            if busy.is_some() {
                let _ = conn.busy_timeout(db::BUSY_TIMEOUT);
            }
            result?
        };
        self.publish(committed);
        Ok(value)
    }

    /// Writes the audit entries of `events` and their change rows inside `tx` (the
    /// writer's own transaction, or a restore's); publish the result after commit.
    pub(crate) fn record_in(
        &self,
        tx: &Transaction,
        events: Vec<Event>,
    ) -> rusqlite::Result<Vec<Committed>> {
        let mut committed = Vec::with_capacity(events.len());
        for event in events {
            let entry = audit::insert(tx, &event)?;
            let changes = changes::append(tx, &self.installation, &event, entry)?;
            committed.push(Committed { event, changes });
        }
        Ok(committed)
    }

    pub(crate) fn publish(&self, committed: Vec<Committed>) {
        for c in committed {
            let _ = self.bus.send(Arc::new(c));
        }
    }
}
