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

/// What one transaction committed, in order: one message on the bus, so a
/// subscriber wakes once per commit however many request lines it carried.
pub type Commit = Arc<[Committed]>;

pub(crate) struct Writer {
    conn: Mutex<Connection>,
    installation: String,
    bus: broadcast::Sender<Commit>,
    /// The commits that changed more than the audit log.
    domain: broadcast::Sender<Commit>,
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> rusqlite::Result<Self> {
        let installation = changes::installation_id(&conn)?;
        Ok(Writer {
            conn: Mutex::new(conn),
            installation,
            bus: broadcast::channel(4096).0,
            domain: broadcast::channel(1024).0,
        })
    }

    pub(crate) fn installation(&self) -> &str {
        &self.installation
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Commit> {
        self.bus.subscribe()
    }

    pub(crate) fn subscribe_domain(&self) -> broadcast::Receiver<Commit> {
        self.domain.subscribe()
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
        let (value, committed) = self.write_locked(&mut self.lock(), busy, write)?;
        self.publish(committed);
        Ok(value)
    }

    /// Like [`Writer::transact`] for work that gathers while callers wait for the
    /// writer: `take` collects it once the writer is held, and `write` writes it.
    /// `None` when there was nothing to take (no transaction is begun); otherwise the
    /// work comes back with the outcome, so its callers can be answered either way.
    pub(crate) fn transact_gathered<W, T>(
        &self,
        take: impl FnOnce() -> Option<W>,
        write: impl FnOnce(&Transaction, &W) -> Result<(T, Vec<Event>), CommandError>,
    ) -> Option<(W, Result<T, CommandError>)> {
        let mut conn = self.lock();
        let work = take()?;
        let outcome = self.write_locked(&mut conn, None, |tx| write(tx, &work));
        drop(conn);
        Some((
            work,
            outcome.map(|(value, committed)| {
                self.publish(committed);
                value
            }),
        ))
    }

    fn write_locked<T>(
        &self,
        conn: &mut Connection,
        busy: Option<Duration>,
        write: impl FnOnce(&Transaction) -> Result<(T, Vec<Event>), CommandError>,
    ) -> Result<(T, Vec<Committed>), CommandError> {
        if let Some(busy) = busy {
            let _ = conn.busy_timeout(busy);
        }
        let result = (|| {
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
        result
    }

    /// Writes the audit entries of `events` and their change rows inside `tx` (the
    /// writer's own transaction, or a restore's); publish the result after commit.
    pub(crate) fn record_in(
        &self,
        tx: &Transaction,
        events: Vec<Event>,
    ) -> rusqlite::Result<Vec<Committed>> {
        let mut committed = Vec::with_capacity(events.len());
        if events.is_empty() {
            return Ok(committed);
        }
        let mut head = audit::chain_head(tx)?;
        for event in events {
            let entry = audit::insert(tx, &event, &mut head)?;
            let changes = changes::append(tx, &self.installation, &event, entry)?;
            committed.push(Committed { event, changes });
        }
        Ok(committed)
    }

    pub(crate) fn publish(&self, committed: Vec<Committed>) {
        if committed.is_empty() {
            return;
        }
        let changed_the_domain = committed
            .iter()
            .flat_map(|c| &c.changes)
            .any(|c| c.entity != changes::Entity::AuditEntry);
        let commit: Commit = committed.into();
        if changed_the_domain {
            let _ = self.domain.send(Arc::clone(&commit));
        }
        let _ = self.bus.send(commit);
    }
}
