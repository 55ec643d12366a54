//! The app's services behind every entry point (Tauri commands, CLI, gateway, tests):
//! sessions and roles, validation, the model, storage and the audit trail, with no
//! UI framework in sight. One file per capability (`accounts`, `clinic`, `records`,
//! `integrations`, `preferences`, `training`), all on [`Services`].
//!
//! Every public method that acts for a person takes the session token and turns it
//! into a guard on its first line: [`Session`] for anyone signed in, [`AdminSession`]
//! for administrators, made only here and named with the action attempted, so a
//! refusal is audited as that action. Helpers that write take the guard, not a token.

use crate::audit::{self, Action, Event, Status};
use crate::auth::{self, Actor, Sessions, IDLE_TIMEOUT};
use crate::cache::PredictionCache;
use crate::clients::{self, ClientAuth, KeyCache};
use crate::keys::{DataKey, Keystore};
use crate::models::{ModelSource, Registry};
use crate::{assessments, db, patients, report};
use cardiorisk_contract::TrainingStatus;
use cardiorisk_contract::{
    check_password, check_username, preference_values, ApiClient, AssessmentOutcome,
    AssessmentRecord, AuditChainReport, AuditFilter, AuditPage, CacheStats, CommandError,
    ErrorCode, FieldError, Language, Measurements, ModelStatus, NewApiClient, NewUser, Patient,
    PatientInput, PatientRecord, Prediction, Preferences, Role, SessionInfo, Units, UserInfo,
    MAX_PAGE, PREF_LANGUAGE, PREF_UNITS,
};
use cardiorisk_model::Predictor;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use training::Training;

mod accounts;
mod clinic;
mod integrations;
mod preferences;
mod records;
mod training;
mod writer;

pub use records::BackupSecret;
use writer::Writer;
pub use writer::{Commit, Committed};

use clinic::PendingAssessment;

/// How often, at most, a growing audit log's last entry is recorded in the key file.
pub const AUDIT_HEAD_EVERY: Duration = Duration::from_secs(30);

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "cardiorisk.db";

/// A backup being restored, copied into the data directory first (see `restore`).
pub const RESTORE_STAGING_FILE: &str = "restore-staging.db";
/// A backup's database, taken out of its file (still sealed) before it is checked.
pub const RESTORE_SOURCE_FILE: &str = "restore-source.db";

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "CARDIORISK_DATA_DIR";

/// A signed-in person, checked for one call. Only [`Services::session`] makes one, so
/// a method that takes it cannot run for someone whose session has ended.
pub struct Session {
    actor: Actor,
}

/// A session checked for the administrator role. Only [`Services::admin`] makes one,
/// so a method that takes it cannot forget the role check.
pub struct AdminSession(Session);

impl std::ops::Deref for Session {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl std::ops::Deref for AdminSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl Session {
    fn into_admin(
        self,
        services: &Services,
        action: Action,
        started: Instant,
    ) -> Result<AdminSession, CommandError> {
        if self.role == Role::Admin {
            return Ok(AdminSession(self));
        }
        services.record(
            Event::new(action, Status::Denied, started)
                .by(self.user_id, &self.username)
                .detail("administrator role required"),
        );
        Err(CommandError::coded(ErrorCode::AdminOnly, &[]))
    }
}

fn session_ended() -> CommandError {
    CommandError::coded(ErrorCode::SessionEnded, &[])
}

/// A loaded model and where it came from.
pub struct ActiveModel {
    pub predictor: Predictor,
    pub source: ModelSource,
}

pub struct Services {
    /// The data directory.
    dir: std::path::PathBuf,
    /// The one writer (see `writer.rs`).
    writer: Writer,
    /// Reads only; see `db::open_reader`.
    reader: Mutex<Connection>,
    /// The data key and its wraps; absent only on a database in clear being sealed.
    sealing: Option<Sealing>,
    active: RwLock<Arc<ActiveModel>>,
    pub(crate) registry: Registry,
    pub(crate) training: Mutex<Training>,
    sessions: Sessions,
    unknown_names: auth::UnknownNames,
    cache: PredictionCache,
    keys: KeyCache,
    assess_queue: Mutex<Vec<PendingAssessment>>,
    /// Retraining progress as it happens (see `training.rs`).
    pub(crate) training_bus: broadcast::Sender<TrainingStatus>,
    /// Set by [`Services::shared`], for work that finishes on its own thread.
    me: OnceLock<Weak<Services>>,
}

/// What a set of services opens: the data directory, the database file in it (a
/// staging file while first run builds it), and the session settings.
pub(crate) struct Opening<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) database: &'a Path,
    pub(crate) idle: Duration,
    pub(crate) clock: auth::SessionClock,
}

impl Opening<'_> {
    /// Opens the services on a sealed database, or (`sealing` absent) on a database
    /// in clear that the vault is about to seal.
    pub(crate) fn open(self, sealing: Option<Sealing>) -> Result<Services, db::DbError> {
        let path = self.database;
        let conn = match &sealing {
            Some(s) => db::open(path, &s.key)?,
            None => db::open_in_clear(path)?,
        };
        // A restore that died left its staged copy; the live database is whole either way.
        let _ = std::fs::remove_file(self.dir.join(RESTORE_STAGING_FILE));
        let _ = std::fs::remove_file(self.dir.join(RESTORE_SOURCE_FILE));
        let reader = db::open_reader_with(path, sealing.as_ref().map(|s| &s.key))?;
        let unknown_names =
            auth::UnknownNames::open(self.dir).map_err(|source| db::DbError::File {
                path: self.dir.join(auth::NAME_KEY_FILE).display().to_string(),
                source,
            })?;
        let registry = Registry::new(self.dir);
        let (predictor, source) = registry.active();
        if let ModelSource::Fallback { reason } = &source {
            tracing::warn!(
                "the activated model cannot be used ({reason}); scoring with the built-in model {} instead",
                predictor.version()
            );
        }
        let services = Services {
            dir: self.dir.to_path_buf(),
            writer: Writer::new(conn)?,
            reader: Mutex::new(reader),
            sealing,
            active: RwLock::new(Arc::new(ActiveModel { predictor, source })),
            registry,
            training: Mutex::new(Training::default()),
            sessions: Sessions::with_clock(self.idle, self.clock),
            unknown_names,
            cache: PredictionCache::default(),
            keys: KeyCache::default(),
            assess_queue: Mutex::new(Vec::new()),
            training_bus: broadcast::channel(64).0,
            me: OnceLock::new(),
        };
        // A restore whose process died between its commit and the key file's update.
        if services.restore_pending() {
            services.settle_restore();
        }
        Ok(services)
    }
}

/// The key the database is sealed with, and the key file that wraps it for each
/// holder (absent when the key arrived otherwise), re-written as accounts change.
pub(crate) struct Sealing {
    pub(crate) key: DataKey,
    pub(crate) keystore: Mutex<Option<Keystore>>,
}

impl Sealing {
    pub(crate) fn new(key: DataKey, keystore: Option<Keystore>) -> Sealing {
        Sealing {
            key,
            keystore: Mutex::new(keystore),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> CommandError {
    CommandError::coded(ErrorCode::Database, &[("detail", &e.to_string())])
}

/// Blocks until `not_before` (a paced answer, see `Services::sign_in_paced`).
pub(crate) fn wait_until(not_before: Instant) {
    if let Some(wait) = not_before.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

fn check_limit(limit: u32) -> Result<(), CommandError> {
    if limit == 0 || limit > MAX_PAGE {
        Err(CommandError::coded(
            ErrorCode::PageLimit,
            &[("max", &MAX_PAGE.to_string())],
        ))
    } else {
        Ok(())
    }
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl Services {
    /// Opens the database in `data_dir`, sealed with `key`, and loads the active model
    /// (the embedded one when none was activated or the activated one cannot be
    /// loaded). The key comes from unsealing a wrap (see `vault.rs`, which opens these);
    /// the key file beside the database, when there is one, is kept for re-wrapping.
    pub fn open(data_dir: &Path, key: &DataKey) -> Result<Self, db::DbError> {
        Self::open_with(data_dir, key, IDLE_TIMEOUT)
    }

    pub fn open_with(data_dir: &Path, key: &DataKey, idle: Duration) -> Result<Self, db::DbError> {
        Self::open_with_clock(data_dir, key, idle, Arc::new(Instant::now))
    }

    /// As [`Services::open_with`], with the clock sessions are measured by.
    pub fn open_with_clock(
        data_dir: &Path,
        key: &DataKey,
        idle: Duration,
        clock: auth::SessionClock,
    ) -> Result<Self, db::DbError> {
        let keys = Keystore::path_in(data_dir);
        let keystore = Keystore::load(&keys).map_err(|e| db::DbError::File {
            path: keys.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let opening = Opening {
            dir: data_dir,
            database: &data_dir.join(DB_FILE),
            idle,
            clock,
        };
        opening.open(Some(Sealing::new(key.clone(), keystore)))
    }

    /// Shares the services between threads, and lets background work (a retraining
    /// that finishes) reach them without anyone polling.
    pub fn shared(self) -> Arc<Self> {
        let shared = Arc::new(self);
        let _ = shared.me.set(Arc::downgrade(&shared));
        let weak = Arc::downgrade(&shared);
        let keeper = std::thread::Builder::new()
            .name("cardiorisk-audit-head".into())
            .spawn(move || loop {
                std::thread::sleep(AUDIT_HEAD_EVERY);
                match weak.upgrade() {
                    Some(services) => services.keep_audit_head(),
                    None => break,
                }
            });
        if let Err(e) = keeper {
            tracing::warn!(error = %e, "the audit log's last entry is recorded only at sign-in and sign-out");
        }
        shared
    }

    pub(crate) fn me(&self) -> Option<Weak<Services>> {
        self.me.get().cloned()
    }

    /// The model scoring patients now (swapped whole on activation).
    pub fn model(&self) -> Arc<ActiveModel> {
        Arc::clone(&self.active.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn swap_model(&self, model: ActiveModel) {
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(model);
        // Entries are keyed by model version, so old ones would never be served; drop them.
        self.cache.clear();
    }

    /// What each transaction committed, as it commits, for live subscribers (the UI
    /// notifier, `serve`'s change feed).
    pub fn subscribe(&self) -> broadcast::Receiver<Commit> {
        self.writer.subscribe()
    }

    /// The commits that changed more than the audit log (patients, accounts,
    /// settings...), so a subscriber that ignores request lines and reads is not
    /// woken by them.
    pub fn subscribe_domain_changes(&self) -> broadcast::Receiver<Commit> {
        self.writer.subscribe_domain()
    }

    /// Retraining progress as it happens: after each epoch and when the job ends
    /// (stored, failed or cancelled). Works once the services are [`Services::shared`].
    pub fn subscribe_training(&self) -> broadcast::Receiver<TrainingStatus> {
        self.training_bus.subscribe()
    }

    /// The reading connection: for queries that write nothing.
    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writing connection, for reads that must see the latest write.
    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer.lock()
    }

    /// Runs `write` and records the event `event` makes of its result, in one
    /// transaction of the one writer, then publishes it.
    pub(crate) fn commit<T>(
        &self,
        event: impl FnOnce(&T) -> Event,
        write: impl FnOnce(&rusqlite::Transaction) -> Result<T, CommandError>,
    ) -> Result<T, CommandError> {
        self.writer.transact(None, |tx| {
            let value = write(tx)?;
            let event = event(&value);
            Ok((value, vec![event]))
        })
    }

    /// Records an event on its own (refusals, failures, reads).
    pub(crate) fn record(&self, event: Event) {
        let _ = self.commit(|_| event, |_| Ok(()));
    }

    /// Records events on their own, in one transaction.
    pub(crate) fn record_all(&self, events: Vec<Event>) -> Result<(), CommandError> {
        self.writer.transact(None, |_| Ok(((), events)))
    }

    /// This installation's id, as its change rows carry it.
    pub fn installation_id(&self) -> &str {
        self.writer.installation()
    }

    /// The signed-in person behind `token`, as a guard for one call. Counts as activity.
    pub(crate) fn session(&self, token: &str) -> Result<Session, CommandError> {
        self.sessions
            .touch(token)
            .map(|actor| Session { actor })
            .ok_or_else(session_ended)
    }

    /// As [`Services::session`] for reads a screen repeats on its own (progress
    /// polling): they do not count as the user's activity.
    pub(crate) fn passive_session(&self, token: &str) -> Result<Session, CommandError> {
        self.sessions
            .peek(token)
            .map(|actor| Session { actor })
            .ok_or_else(session_ended)
    }

    /// Who a live session belongs to (id and username), without counting as
    /// activity: for naming the caller in the gateway's log.
    pub fn session_owner(&self, token: &str) -> Option<(i64, String)> {
        self.sessions
            .peek(token)
            .map(|actor| (actor.user_id, actor.username))
    }

    /// An administrator's guard; anyone else is refused, and the refusal is audited
    /// under `action`, the thing they tried to do.
    pub(crate) fn admin(&self, token: &str, action: Action) -> Result<AdminSession, CommandError> {
        let started = Instant::now();
        self.session(token)?.into_admin(self, action, started)
    }

    /// As [`Services::admin`] without counting as activity.
    pub(crate) fn passive_admin(
        &self,
        token: &str,
        action: Action,
    ) -> Result<AdminSession, CommandError> {
        let started = Instant::now();
        self.passive_session(token)?
            .into_admin(self, action, started)
    }

    /// Checks a session for an administrator without doing anything else.
    pub fn require_admin(&self, token: &str) -> Result<(), CommandError> {
        self.require_admin_for(token, Action::SettingsChanged)
    }

    /// The same, recording a refusal under the action that was attempted (a
    /// clinician's refused backup is `database.backup denied`, not a settings change).
    pub fn require_admin_for(&self, token: &str, action: Action) -> Result<(), CommandError> {
        self.admin(token, action).map(|_| ())
    }

    pub fn model_status(&self) -> ModelStatus {
        let model = self.model();
        let (source, warning) = match &model.source {
            ModelSource::Embedded => ("embedded", None),
            ModelSource::Registry => ("registry", None),
            ModelSource::Fallback { reason } => ("fallback", Some(format!(
                "The activated model could not be loaded, so the built-in model is in use: {reason}."
            ))),
        };
        ModelStatus {
            version: model.predictor.version().to_string(),
            source: source.to_string(),
            warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long read (a snapshot held open on the reading connection) does not keep a
    /// clinician from saving: the write goes through the other connection.
    #[test]
    fn a_write_goes_through_while_a_read_snapshot_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = DataKey::from_bytes([7; 32]);
        let s = Arc::new(Services::open(dir.path(), &key).unwrap());
        let token = s
            .set_up("admin", "Ada", "correct horse battery")
            .unwrap()
            .token;
        let reader = s.read();
        let snapshot = reader.unchecked_transaction().unwrap();
        let before: i64 = snapshot
            .query_row("SELECT COUNT(*) FROM patients", [], |r| r.get(0))
            .unwrap();
        let (done, written) = mpsc::channel();
        let writer = {
            let (s, token) = (Arc::clone(&s), token.clone());
            std::thread::spawn(move || {
                let patient = PatientInput {
                    record_number: "HC-9".into(),
                    name: "Rosa".into(),
                    birth_year: Some(1970),
                    notes: String::new(),
                };
                // create_patient reads the new row back through the reader, which this
                // test holds; the insert itself must already be committed by then.
                let _ = done.send(());
                s.create_patient(&token, &patient)
            })
        };
        written.recv().unwrap();
        let committed = || {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            db::apply_key(&conn, &key).unwrap();
            conn.query_row("SELECT COUNT(*) FROM patients", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while committed() == before {
            assert!(Instant::now() < deadline, "the write waited for the reader");
            std::thread::yield_now();
        }
        let still: i64 = snapshot
            .query_row("SELECT COUNT(*) FROM patients", [], |r| r.get(0))
            .unwrap();
        assert_eq!(still, before, "the open snapshot does not see the new row");
        drop(snapshot);
        drop(reader);
        assert_eq!(writer.join().unwrap().unwrap().name, "Rosa");
    }
}
