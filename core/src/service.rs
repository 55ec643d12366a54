//! The app's services behind every entry point (Tauri commands, CLI, tests):
//! sessions and roles, validation, the model, storage and the audit trail, with no
//! UI framework in sight. Every public method that acts for a person takes the
//! session token and checks the role here, in the backend.

use crate::audit::{self, Action, Event, Status};
use crate::auth::{self, Actor, Sessions, IDLE_TIMEOUT};
use crate::cache::PredictionCache;
use crate::gateway::clients::{self, ClientAuth, KeyCache};
use crate::models::{ModelSource, Registry};
use crate::training::Training;
use crate::{assessments, db, patients, report};
use cardiorisk_contract::{
    check_password, check_username, ApiClient, AssessmentOutcome, AssessmentRecord, AuditFilter,
    AuditPage, CacheStats, CommandError, ErrorKind, Measurements, ModelStatus, NewApiClient,
    NewUser, Patient, PatientInput, PatientRecord, Prediction, Preferences, Role, SessionInfo,
    UserInfo, MAX_PAGE, PREFERENCE_VALUES, PREF_LANGUAGE, PREF_UNITS,
};
use cardiorisk_model::Predictor;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "cardiorisk.db";

/// Environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "CARDIORISK_DATA_DIR";

/// Who may call a service.
#[derive(Clone, Copy)]
pub(crate) enum Need {
    AnyUser,
    Admin,
}

/// A loaded model and where it came from.
pub struct ActiveModel {
    pub predictor: Predictor,
    pub source: ModelSource,
}

pub struct Services {
    db: Mutex<Connection>,
    /// Reads only; see `db::open_reader`.
    reader: Mutex<Connection>,
    active: RwLock<Arc<ActiveModel>>,
    pub(crate) registry: Registry,
    pub(crate) training: Mutex<Training>,
    sessions: Sessions,
    unknown_names: auth::UnknownNames,
    cache: PredictionCache,
    keys: KeyCache,
    assess_queue: Mutex<Vec<PendingAssessment>>,
    bus: broadcast::Sender<Event>,
    /// Set by [`Services::shared`], for work that finishes on its own thread.
    me: OnceLock<Weak<Services>>,
}

fn internal(e: impl std::fmt::Display) -> CommandError {
    CommandError::internal(format!("the database could not complete the request: {e}"))
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl Services {
    /// Opens the database in `data_dir`, loads the active model (the embedded one
    /// when none was activated or the activated one cannot be loaded) and replays
    /// any event an older version left in its outbox.
    pub fn open(data_dir: &Path) -> Result<Self, db::DbError> {
        Self::open_with(data_dir, IDLE_TIMEOUT)
    }

    pub fn open_with(data_dir: &Path, idle: Duration) -> Result<Self, db::DbError> {
        Self::open_with_clock(data_dir, idle, Arc::new(Instant::now))
    }

    /// As [`Services::open_with`], with the clock sessions are measured by.
    pub fn open_with_clock(
        data_dir: &Path,
        idle: Duration,
        clock: auth::SessionClock,
    ) -> Result<Self, db::DbError> {
        let path = data_dir.join(DB_FILE);
        let mut conn = db::open(&path)?;
        audit::drain(&mut conn)?;
        let reader = db::open_reader(&path)?;
        let registry = Registry::new(data_dir);
        let (predictor, source) = registry.active();
        if let ModelSource::Fallback { reason } = &source {
            eprintln!("warning: using the embedded model: {reason}");
        }
        Ok(Services {
            db: Mutex::new(conn),
            reader: Mutex::new(reader),
            active: RwLock::new(Arc::new(ActiveModel { predictor, source })),
            registry,
            training: Mutex::new(Training::default()),
            sessions: Sessions::with_clock(idle, clock),
            unknown_names: auth::UnknownNames::default(),
            cache: PredictionCache::default(),
            keys: KeyCache::default(),
            assess_queue: Mutex::new(Vec::new()),
            bus: broadcast::channel(1024).0,
            me: OnceLock::new(),
        })
    }

    /// Shares the services between threads, and lets background work (a retraining
    /// that finishes) reach them without anyone polling.
    pub fn shared(self) -> Arc<Self> {
        let shared = Arc::new(self);
        let _ = shared.me.set(Arc::downgrade(&shared));
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

    /// Events as they commit, for live subscribers (the UI notifier).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.bus.subscribe()
    }

    /// The reading connection: for queries that write nothing.
    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written row (SQLite rolls
        // the transaction back), so a poisoned lock is safe to reuse.
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves events an older version left in its outbox to the audit log (idempotent).
    pub fn drain_outbox(&self) -> Result<usize, CommandError> {
        audit::drain(&mut self.conn()).map_err(internal)
    }

    /// Runs `write` and records `event` in one transaction, then publishes the event.
    pub(crate) fn commit<T>(
        &self,
        event: impl FnOnce(&T) -> Event,
        write: impl FnOnce(&rusqlite::Transaction) -> Result<T, CommandError>,
    ) -> Result<T, CommandError> {
        let (value, event) = {
            let mut conn = self.conn();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(internal)?;
            let value = write(&tx)?;
            let event = event(&value);
            audit::enqueue(&tx, &event).map_err(internal)?;
            tx.commit().map_err(internal)?;
            (value, event)
        };
        let _ = self.bus.send(event);
        Ok(value)
    }

    /// Records an event on its own (refusals, failures).
    pub(crate) fn record(&self, event: Event) {
        let _ = self.commit(|_| event, |_| Ok(()));
    }

    pub(crate) fn authorize(
        &self,
        token: &str,
        need: Need,
        action: Action,
    ) -> Result<Actor, CommandError> {
        self.authorize_as(token, need, action, true)
    }

    /// As [`Services::authorize`] for reads a screen repeats on its own (progress
    /// polling): they do not count as the user's activity.
    pub(crate) fn authorize_passive(
        &self,
        token: &str,
        need: Need,
        action: Action,
    ) -> Result<Actor, CommandError> {
        self.authorize_as(token, need, action, false)
    }

    fn authorize_as(
        &self,
        token: &str,
        need: Need,
        action: Action,
        activity: bool,
    ) -> Result<Actor, CommandError> {
        let started = Instant::now();
        let actor = if activity {
            self.sessions.touch(token)
        } else {
            self.sessions.peek(token)
        };
        let Some(actor) = actor else {
            return Err(CommandError::new(
                ErrorKind::Unauthenticated,
                "Your session has ended (signed out, or inactive for too long). Please sign in again.",
            ));
        };
        if matches!(need, Need::Admin) && actor.role != Role::Admin {
            self.record(
                Event::new(action, Status::Denied, started)
                    .by(actor.user_id, &actor.username)
                    .detail("administrator role required"),
            );
            return Err(CommandError::new(
                ErrorKind::Forbidden,
                "Only an administrator can do this.",
            ));
        }
        Ok(actor)
    }

    // ---- accounts and sessions ----

    pub fn needs_setup(&self) -> Result<bool, CommandError> {
        Ok(auth::count_users(&self.read()).map_err(internal)? == 0)
    }

    fn session_for(&self, info: UserInfo) -> SessionInfo {
        let token = self.sessions.start(Actor {
            user_id: info.id,
            username: info.username.clone(),
            role: info.role,
        });
        SessionInfo {
            token,
            user: info,
            idle_timeout_secs: self.sessions.idle().as_secs(),
        }
    }

    fn check_new_user(user: &NewUser) -> Result<(), CommandError> {
        let mut problems = Vec::new();
        if let Err(m) = check_username(user.username.trim()) {
            problems.push(("username".to_string(), m));
        }
        let name = user.display_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push((
                "display_name".into(),
                "display_name must be 1 to 100 characters".into(),
            ));
        }
        if let Err(m) = check_password(&user.password) {
            problems.push(("password".into(), m));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CommandError::fields(problems))
        }
    }

    /// First run: creates the administrator. Refused once any account exists.
    pub fn set_up(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<SessionInfo, CommandError> {
        let started = Instant::now();
        let user = NewUser {
            username: username.trim().to_string(),
            display_name: display_name.trim().to_string(),
            password: password.to_string(),
            role: Role::Admin,
        };
        Self::check_new_user(&user)?;
        let hash = auth::hash_password(&user.password);
        let info = self.commit(
            |u: &UserInfo| {
                Event::new(Action::SetupCompleted, Status::Ok, started).by(u.id, &u.username)
            },
            |tx| {
                if auth::count_users(tx).map_err(internal)? > 0 {
                    return Err(CommandError::new(
                        ErrorKind::Conflict,
                        "CardioRisk is already set up: sign in instead.",
                    ));
                }
                let id = auth::insert(tx, &user.username, &user.display_name, Role::Admin, &hash)
                    .map_err(internal)?;
                Ok(UserInfo {
                    id,
                    username: user.username.clone(),
                    display_name: user.display_name.clone(),
                    role: Role::Admin,
                    disabled: false,
                })
            },
        )?;
        Ok(self.session_for(info))
    }

    /// Signs in. Unknown and existing names are answered alike (same work, same
    /// messages, both lock after five failures); what was typed as a name is never
    /// stored, since it may be a password typed into the wrong box.
    pub fn sign_in(&self, username: &str, password: &str) -> Result<SessionInfo, CommandError> {
        let started = Instant::now();
        let account = auth::find_by_name(&self.conn(), username.trim()).map_err(internal)?;
        let Some(account) = account else {
            return Err(self.unknown_name_failed(username, password, started));
        };
        let info = account.info.clone();
        if auth::is_locked(&self.conn(), &account).map_err(internal)? {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .by(info.id, &info.username)
                    .detail("account locked"),
            );
            return Err(locked_error());
        }
        if !auth::verify_password(password, &account.password_hash) {
            let locked = self.commit(
                |locked: &bool| {
                    let action = if *locked {
                        Action::AccountLocked
                    } else {
                        Action::SignInFailed
                    };
                    Event::new(action, Status::Denied, started)
                        .by(info.id, &info.username)
                        .detail("wrong password")
                },
                |tx| auth::record_failure(tx, info.id).map_err(internal),
            )?;
            return Err(if locked {
                now_locked_error()
            } else {
                wrong_credentials()
            });
        }
        // Only after the password is right: a disabled account must not reveal itself
        // to someone guessing names.
        if info.disabled {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .by(info.id, &info.username)
                    .detail("account disabled"),
            );
            return Err(CommandError::new(
                ErrorKind::Locked,
                "This account is disabled. Ask an administrator.",
            ));
        }
        self.commit(
            |_| {
                Event::new(Action::SignInSucceeded, Status::Ok, started).by(info.id, &info.username)
            },
            |tx| auth::record_success(tx, info.id).map_err(internal),
        )?;
        Ok(self.session_for(info))
    }

    /// A sign-in for a name with no account, answered exactly like a real account's.
    fn unknown_name_failed(
        &self,
        username: &str,
        password: &str,
        started: Instant,
    ) -> CommandError {
        let who = format!("unknown user #{}", self.unknown_names.tag(username));
        if self.unknown_names.is_locked(username) {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .detail(format!("{who}: account locked")),
            );
            return locked_error();
        }
        // Same work as a real check, so timing does not reveal which names exist.
        auth::verify_password(password, auth::dummy_hash());
        let locked = self.unknown_names.failed(username);
        let action = if locked {
            Action::AccountLocked
        } else {
            Action::SignInFailed
        };
        self.record(
            Event::new(action, Status::Denied, started).detail(format!("{who}: wrong password")),
        );
        if locked {
            now_locked_error()
        } else {
            wrong_credentials()
        }
    }

    pub fn sign_out(&self, token: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        if let Some(actor) = self.sessions.end(token) {
            self.record(
                Event::new(Action::SignOut, Status::Ok, started).by(actor.user_id, &actor.username),
            );
        }
        Ok(())
    }

    pub fn list_users(&self, token: &str) -> Result<Vec<UserInfo>, CommandError> {
        self.authorize(token, Need::Admin, Action::AccountChanged)?;
        auth::list(&self.read()).map_err(internal)
    }

    pub fn create_user(&self, token: &str, user: &NewUser) -> Result<UserInfo, CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountCreated)?;
        Self::check_new_user(user)?;
        let hash = auth::hash_password(&user.password);
        self.commit(
            |u: &UserInfo| {
                Event::new(Action::AccountCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("user:{}", u.id))
                    .detail(format!("{} ({})", u.username, u.role.as_str()))
            },
            |tx| {
                let id = auth::insert(
                    tx,
                    user.username.trim(),
                    user.display_name.trim(),
                    user.role,
                    &hash,
                )
                .map_err(|e| {
                    if unique_violation(&e) {
                        CommandError::new(
                            ErrorKind::Conflict,
                            format!("The username {} is taken.", user.username.trim()),
                        )
                    } else {
                        internal(e)
                    }
                })?;
                Ok(UserInfo {
                    id,
                    username: user.username.trim().into(),
                    display_name: user.display_name.trim().into(),
                    role: user.role,
                    disabled: false,
                })
            },
        )
    }

    /// Makes an account a clinician or an administrator. Administrators cannot
    /// change their own role, so there is always one left. The account's sessions
    /// end, so the new role applies from its next sign-in.
    pub fn set_role(&self, token: &str, user_id: i64, role: Role) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountChanged)?;
        if actor.user_id == user_id {
            return Err(CommandError::invalid("You cannot change your own role."));
        }
        self.change_account(
            &actor,
            started,
            user_id,
            format!("role {}", role.as_str()),
            |tx| auth::set_role(tx, user_id, role),
        )?;
        self.sessions.end_user(user_id);
        Ok(())
    }

    /// One audited change to an existing account; `NotFound` when no row has `user_id`.
    fn change_account(
        &self,
        actor: &Actor,
        started: Instant,
        user_id: i64,
        detail: String,
        update: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<usize>,
    ) -> Result<(), CommandError> {
        self.commit(
            |_| {
                Event::new(Action::AccountChanged, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("user:{user_id}"))
                    .detail(detail)
            },
            |tx| match update(tx).map_err(internal)? {
                0 => Err(CommandError::new(
                    ErrorKind::NotFound,
                    format!("No account has id {user_id}."),
                )),
                _ => Ok(()),
            },
        )
    }

    pub fn set_disabled(
        &self,
        token: &str,
        user_id: i64,
        disabled: bool,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountChanged)?;
        if actor.user_id == user_id && disabled {
            return Err(CommandError::invalid(
                "You cannot disable your own account.",
            ));
        }
        let detail = if disabled { "disabled" } else { "enabled" };
        self.change_account(&actor, started, user_id, detail.into(), |tx| {
            auth::set_disabled(tx, user_id, disabled)
        })?;
        if disabled {
            self.sessions.end_user(user_id);
        }
        Ok(())
    }

    pub fn reset_password(
        &self,
        token: &str,
        user_id: i64,
        new_password: &str,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountChanged)?;
        check_password(new_password)
            .map_err(|m| CommandError::fields(vec![("new_password".into(), m)]))?;
        let hash = auth::hash_password(new_password);
        self.change_account(&actor, started, user_id, "password reset".into(), |tx| {
            auth::set_password(tx, user_id, &hash)
        })?;
        self.sessions.end_user(user_id);
        Ok(())
    }

    // ---- patients ----

    pub fn create_patient(&self, token: &str, p: &PatientInput) -> Result<Patient, CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::AnyUser, Action::PatientCreated)?;
        p.check().map_err(CommandError::fields)?;
        let id = self.commit(
            |id: &i64| {
                Event::new(Action::PatientCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("patient:{id}"))
            },
            |tx| patients::insert(tx, p, actor.user_id).map_err(|e| conflict_or_internal(e, p)),
        )?;
        patients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| internal("the new patient vanished"))
    }

    pub fn update_patient(
        &self,
        token: &str,
        id: i64,
        p: &PatientInput,
    ) -> Result<Patient, CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::AnyUser, Action::PatientUpdated)?;
        p.check().map_err(CommandError::fields)?;
        self.commit(
            |_| {
                Event::new(Action::PatientUpdated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("patient:{id}"))
            },
            |tx| match patients::update(tx, id, p).map_err(|e| conflict_or_internal(e, p))? {
                0 => Err(not_found_patient(id)),
                _ => Ok(()),
            },
        )?;
        patients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| not_found_patient(id))
    }

    pub fn search_patients(
        &self,
        token: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Patient>, CommandError> {
        self.authorize(token, Need::AnyUser, Action::PatientUpdated)?;
        check_limit(limit)?;
        patients::search(&self.read(), query, limit).map_err(internal)
    }

    pub fn patient_record(&self, token: &str, id: i64) -> Result<PatientRecord, CommandError> {
        self.authorize(token, Need::AnyUser, Action::PatientUpdated)?;
        let conn = self.read();
        // One snapshot for the patient and the history.
        let snapshot = conn.unchecked_transaction().map_err(internal)?;
        let patient = patients::get(&snapshot, id)
            .map_err(internal)?
            .ok_or_else(|| not_found_patient(id))?;
        let history = patients::history(&snapshot, id).map_err(internal)?;
        Ok(PatientRecord { patient, history })
    }

    // ---- assessments ----

    /// Validates, scores and stores one assessment and its audit event in a single
    /// transaction.
    pub fn assess(
        &self,
        token: &str,
        patient_id: Option<i64>,
        inputs: &Measurements,
    ) -> Result<AssessmentOutcome, CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::AnyUser, Action::AssessmentCreated)?;
        if let Err(e) = inputs.validate() {
            self.record(
                Event::new(Action::AssessmentRefused, Status::Invalid, started)
                    .by(actor.user_id, &actor.username)
                    .detail(e.to_string()),
            );
            return Err(e.into());
        }
        let prediction = match self.score(inputs) {
            Ok((p, _)) => p,
            Err(e) => {
                self.record(
                    Event::new(Action::AssessmentRefused, Status::Error, started)
                        .by(actor.user_id, &actor.username)
                        .detail(e.message.clone()),
                );
                return Err(e);
            }
        };
        let assessment_id = self.store_assessment(PendingAssessment {
            inputs: *inputs,
            prediction: prediction.clone(),
            patient_id,
            actor,
            started,
            reply: None,
        })?;
        Ok(AssessmentOutcome {
            prediction,
            assessment_id,
        })
    }

    /// Group commit: queues the assessment, then whoever holds the connection next
    /// writes every queued one in a single transaction (a savepoint each, so one
    /// failure affects only its own) and commits once. Durability is unchanged
    /// (synchronous=FULL); concurrent callers share one fsync.
    fn store_assessment(&self, mut job: PendingAssessment) -> Result<i64, CommandError> {
        let (reply, answer) = mpsc::channel();
        job.reply = Some(reply);
        self.assess_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        let mut published = Vec::new();
        {
            let mut conn = self.conn();
            let batch =
                std::mem::take(&mut *self.assess_queue.lock().unwrap_or_else(|e| e.into_inner()));
            if !batch.is_empty() {
                published = write_assessments(&mut conn, batch);
            }
        }
        for event in published {
            let _ = self.bus.send(event);
        }
        answer
            .recv()
            .unwrap_or_else(|_| Err(internal("the assessment writer stopped")))
    }

    /// Scores inputs without storing them, for what-if exploration. Not audited:
    /// nothing is kept, and one slider drag makes dozens of calls.
    pub fn what_if(&self, token: &str, inputs: &Measurements) -> Result<Prediction, CommandError> {
        self.authorize(token, Need::AnyUser, Action::AssessmentCreated)?;
        inputs.validate()?;
        Ok(self.score(inputs)?.0)
    }

    pub fn recent(&self, token: &str, limit: u32) -> Result<Vec<AssessmentRecord>, CommandError> {
        self.authorize(token, Need::AnyUser, Action::AssessmentCreated)?;
        check_limit(limit)?;
        assessments::recent(&self.read(), limit).map_err(internal)
    }

    pub fn cache_stats(&self, token: &str) -> Result<CacheStats, CommandError> {
        self.authorize(token, Need::AnyUser, Action::AssessmentCreated)?;
        Ok(self.cache.stats())
    }

    // ---- audit ----

    pub fn audit(
        &self,
        token: &str,
        filter: &AuditFilter,
        limit: u32,
        offset: u32,
    ) -> Result<AuditPage, CommandError> {
        self.authorize(token, Need::Admin, Action::AuditExported)?;
        check_limit(limit)?;
        audit::query(&self.read(), filter, limit, offset).map_err(internal)
    }

    /// Writes the matching entries as CSV to `path` (atomically).
    pub fn export_audit(
        &self,
        token: &str,
        filter: &AuditFilter,
        path: &Path,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AuditExported)?;
        let bytes = audit::export_csv(&self.read(), filter).map_err(internal)?;
        cardiorisk_model::artefact::write_atomic(path, &bytes)
            .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", path.display())))?;
        self.record(
            Event::new(Action::AuditExported, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(path.display().to_string()),
        );
        Ok(())
    }

    /// Writes the patient's one-page report to `path`, audited.
    pub fn export_report(
        &self,
        token: &str,
        patient_id: i64,
        format: report::Format,
        spanish: bool,
        conventional_units: bool,
        path: &Path,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let record = self.patient_record(token, patient_id)?;
        let actor = self.authorize(token, Need::AnyUser, Action::ReportExported)?;
        let printed_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let user = auth::find_by_id(&self.read(), actor.user_id)
            .map_err(internal)?
            .map(|u| u.info.display_name)
            .unwrap_or_else(|| actor.username.clone());
        let cx = report::Context {
            spanish,
            conventional_units,
            printed_by: &user,
            printed_at: &printed_at,
        };
        let bytes = report::render(&record, &cx, format);
        cardiorisk_model::artefact::write_atomic(path, &bytes)
            .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", path.display())))?;
        self.record(
            Event::new(Action::ReportExported, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .about(format!("patient:{patient_id}"))
                .detail(format!(
                    "{} report to {}",
                    format.extension(),
                    path.display()
                )),
        );
        Ok(())
    }

    // ---- storage ----

    /// Copies the live database to `path` with SQLite's online backup, in one step on
    /// the reading connection: one consistent snapshot, while writes carry on.
    pub fn backup(&self, token: &str, path: &Path) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::DatabaseBackup)?;
        let tmp = path.with_extension("partial");
        // Created empty and private first: SQLite then writes into it, keeping the mode.
        cardiorisk_model::artefact::create_private(&tmp)
            .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", tmp.display())))?;
        {
            let failed = |e: rusqlite::Error| CommandError::internal(format!("backup failed: {e}"));
            let mut copy = Connection::open(&tmp).map_err(failed)?;
            let reader = self.read();
            let backup = rusqlite::backup::Backup::new(&reader, &mut copy).map_err(failed)?;
            match backup.step(-1).map_err(failed)? {
                rusqlite::backup::StepResult::Done => {}
                other => {
                    return Err(CommandError::internal(format!(
                        "backup failed: the database stayed busy ({other:?}); try again"
                    )))
                }
            }
        }
        std::fs::rename(&tmp, path)
            .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", path.display())))?;
        self.record(
            Event::new(Action::DatabaseBackup, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(path.display().to_string()),
        );
        Ok(())
    }

    /// Replaces the live database with the backup at `path`, after checking that it
    /// is a sound CardioRisk database this app can read. Audit entries newer than the
    /// backup's newest are carried into the restored database, so the trail loses
    /// nothing. Then every session ends (the restored accounts may differ), every
    /// cache built from database content is emptied and the active model reloaded.
    pub fn restore(&self, token: &str, path: &Path) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::DatabaseRestored)?;
        db::check_backup(path).map_err(|e| CommandError::invalid(e.to_string()))?;
        let newest = audit::newest_in(path).map_err(internal)?;
        let event = {
            let mut conn = self.conn();
            let carried = audit::entries_after(&conn, newest.as_deref()).map_err(internal)?;
            conn.restore(
                rusqlite::MAIN_DB,
                path,
                None::<fn(rusqlite::backup::Progress)>,
            )
            .map_err(|e| CommandError::internal(format!("restore failed: {e}")))?;
            db::migrate(&mut conn).map_err(|e| CommandError::internal(e.to_string()))?;
            let event = Event::new(Action::DatabaseRestored, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(format!(
                    "{}; {} audit entr{} newer than the backup carried over; every session ended",
                    path.display(),
                    carried.len(),
                    if carried.len() == 1 { "y" } else { "ies" }
                ));
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(internal)?;
            audit::carry(&tx, &carried).map_err(internal)?;
            audit::enqueue(&tx, &event).map_err(internal)?;
            tx.commit().map_err(internal)?;
            event
        };
        let _ = self.bus.send(event);
        self.sessions.end_all();
        self.keys.clear();
        let (predictor, source) = self.registry.active();
        self.swap_model(ActiveModel { predictor, source });
        Ok(())
    }

    // ---- REST gateway ----

    /// The client of an API key that verified before, without hashing.
    pub fn cached_key(&self, key: &str) -> Option<ClientAuth> {
        self.keys.cached(key)
    }

    /// The client an API key belongs to; `None` for a malformed or unknown key.
    pub fn authenticate_key(&self, key: &str) -> Result<Option<ClientAuth>, CommandError> {
        self.keys.authenticate(&self.reader, key).map_err(internal)
    }

    /// Scores validated inputs through the prediction cache; `true` when cached. A
    /// model output that is not a probability is an `Internal` error, never a class.
    pub fn score(&self, inputs: &Measurements) -> Result<(Prediction, bool), CommandError> {
        let model = self.model();
        self.cache
            .get_or(inputs, model.predictor.version(), || {
                model.predictor.predict(inputs)
            })
            .map_err(|e| {
                CommandError::internal(format!(
                    "model {} could not score this patient: {e}. Nothing was saved; ask an administrator to roll back to another model.",
                    model.predictor.version()
                ))
            })
    }

    pub fn list_clients(&self, token: &str) -> Result<Vec<ApiClient>, CommandError> {
        self.authorize(token, Need::Admin, Action::AccountChanged)?;
        clients::list(&self.read()).map_err(internal)
    }

    /// Creates an integration client; its key is returned here once and stored hashed.
    pub fn create_client(
        &self,
        token: &str,
        name: &str,
        plan: &str,
    ) -> Result<NewApiClient, CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountCreated)?;
        let name = name.trim();
        let mut problems = Vec::new();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push((
                "name".to_string(),
                "name must be 1 to 100 characters".to_string(),
            ));
        }
        if !clients::plan_exists(&self.conn(), plan).map_err(internal)? {
            problems.push(("plan".into(), format!("plan {plan:?} does not exist (FREEMIUM or PREMIUM, or one an administrator added)")));
        }
        if !problems.is_empty() {
            return Err(CommandError::fields(problems));
        }
        let (id, key) = self.commit(
            |(id, _): &(i64, String)| {
                Event::new(Action::AccountCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("client:{id}"))
                    .detail(format!("integration client {name} ({plan})"))
            },
            |tx| clients::insert(tx, name, plan).map_err(internal),
        )?;
        let client = clients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| internal("the new client vanished"))?;
        Ok(NewApiClient {
            client,
            api_key: key,
        })
    }

    pub fn delete_client(&self, token: &str, id: i64) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountChanged)?;
        self.commit(
            |_| {
                Event::new(Action::AccountChanged, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("client:{id}"))
                    .detail("integration client deleted")
            },
            |tx| match clients::delete(tx, id).map_err(internal)? {
                0 => Err(CommandError::new(
                    ErrorKind::NotFound,
                    format!("No integration client has id {id}."),
                )),
                _ => Ok(()),
            },
        )?;
        self.keys.clear();
        Ok(())
    }

    /// Creates or changes a plan's requests per minute.
    pub fn set_plan(&self, token: &str, plan: &str, per_minute: u32) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::AccountChanged)?;
        let valid_name = !plan.is_empty()
            && plan.len() <= 32
            && plan
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid_name || per_minute == 0 {
            return Err(CommandError::invalid(
                "plan must be 1 to 32 capitals, digits or '_', and per_minute at least 1",
            ));
        }
        self.commit(
            |_| {
                Event::new(Action::AccountChanged, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("plan:{plan}"))
                    .detail(format!("{per_minute} requests per minute"))
            },
            |tx| clients::set_plan(tx, plan, per_minute).map_err(internal),
        )?;
        self.keys.clear();
        Ok(())
    }

    /// A stored setting (`None` when never set).
    pub fn setting(&self, key: &str) -> Result<Option<String>, CommandError> {
        use rusqlite::OptionalExtension;
        self.read()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(internal)
    }

    /// Stores settings (administrators only), audited.
    pub fn set_settings(&self, token: &str, values: &[(&str, String)]) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::Admin, Action::SettingsChanged)?;
        self.write_settings(&actor, started, values)
    }

    /// The display preferences of this installation (defaults until someone chooses).
    pub fn preferences(&self) -> Result<Preferences, CommandError> {
        let value = |key: &str| -> Result<String, CommandError> {
            let allowed = PREFERENCE_VALUES
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .unwrap_or(&[""]);
            Ok(self
                .setting(key)?
                .filter(|v| allowed.contains(&v.as_str()))
                .unwrap_or_else(|| allowed[0].to_string()))
        };
        Ok(Preferences {
            language: value(PREF_LANGUAGE)?,
            units: value(PREF_UNITS)?,
        })
    }

    /// Any signed-in user may choose the language and the units: display
    /// preferences of this installation, audited like other settings.
    pub fn set_preference(&self, token: &str, key: &str, value: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.authorize(token, Need::AnyUser, Action::SettingsChanged)?;
        let Some((key, allowed)) = PREFERENCE_VALUES.iter().find(|(k, _)| *k == key) else {
            return Err(CommandError::fields(vec![(
                "key".into(),
                format!("key must be {PREF_LANGUAGE} or {PREF_UNITS}"),
            )]));
        };
        if !allowed.contains(&value) {
            return Err(CommandError::fields(vec![(
                (*key).into(),
                format!("{key} must be one of {}", allowed.join(", ")),
            )]));
        }
        self.write_settings(&actor, started, &[(*key, value.to_string())])
    }

    fn write_settings(
        &self,
        actor: &Actor,
        started: Instant,
        values: &[(&str, String)],
    ) -> Result<(), CommandError> {
        let detail = values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.commit(
            |_| {
                Event::new(Action::SettingsChanged, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .detail(detail)
            },
            |tx| {
                for (k, v) in values {
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![k, v],
                    )
                    .map_err(internal)?;
                }
                Ok(())
            },
        )
    }

    /// Checks a session for an administrator without doing anything else.
    pub fn require_admin(&self, token: &str) -> Result<(), CommandError> {
        self.require_admin_for(token, Action::SettingsChanged)
    }

    /// The same, recording a refusal under the action that was attempted (a
    /// clinician's refused backup is `database.backup denied`, not a settings change).
    pub fn require_admin_for(&self, token: &str, action: Action) -> Result<(), CommandError> {
        self.authorize(token, Need::Admin, action).map(|_| ())
    }

    /// Writes many events that change nothing else (the gateway's request log)
    /// straight into the audit log, in one transaction, waiting at most `busy` for
    /// another connection's lock.
    pub fn record_batch(&self, events: &[Event], busy: Duration) -> Result<(), CommandError> {
        let mut conn = self.conn();
        let _ = conn.busy_timeout(busy);
        let result = audit::append(&mut conn, events);
        let _ = conn.busy_timeout(db::BUSY_TIMEOUT);
        result.map_err(internal)
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

/// An assessment waiting for the group commit.
struct PendingAssessment {
    inputs: Measurements,
    prediction: Prediction,
    patient_id: Option<i64>,
    actor: Actor,
    started: Instant,
    reply: Option<mpsc::Sender<Result<i64, CommandError>>>,
}

fn write_one(tx: &Connection, job: &PendingAssessment) -> Result<(i64, Event), CommandError> {
    if let Some(pid) = job.patient_id {
        if patients::get(tx, pid).map_err(internal)?.is_none() {
            return Err(not_found_patient(pid));
        }
    }
    let id = assessments::insert(
        tx,
        &job.inputs,
        &job.prediction,
        job.patient_id,
        Some(job.actor.user_id),
    )
    .map_err(internal)?;
    let p = &job.prediction;
    let event = Event::new(Action::AssessmentCreated, Status::Ok, job.started)
        .by(job.actor.user_id, &job.actor.username)
        .about(format!("assessment:{id}"))
        .detail(format!(
            "p={:.4} model={}{}",
            p.probability,
            p.model_version,
            job.patient_id
                .map(|p| format!(" patient:{p}"))
                .unwrap_or_default()
        ));
    audit::enqueue(tx, &event).map_err(internal)?;
    Ok((id, event))
}

/// Writes a batch in one transaction; answers every job; returns the events to publish.
fn write_assessments(conn: &mut Connection, batch: Vec<PendingAssessment>) -> Vec<Event> {
    let mut results: Vec<Result<(i64, Event), CommandError>> = Vec::with_capacity(batch.len());
    let outcome = (|| -> Result<(), CommandError> {
        let mut tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(internal)?;
        if let [job] = batch.as_slice() {
            // Alone: the transaction itself isolates it.
            let done = write_one(&tx, job);
            let ok = done.is_ok();
            results.push(done);
            return if ok {
                tx.commit().map_err(internal)
            } else {
                Ok(())
            };
        }
        for job in &batch {
            let mut sp = tx.savepoint().map_err(internal)?;
            match write_one(&sp, job) {
                Ok(done) => {
                    sp.commit().map_err(internal)?;
                    results.push(Ok(done));
                }
                Err(e) => {
                    sp.rollback().map_err(internal)?;
                    results.push(Err(e));
                }
            }
        }
        tx.commit().map_err(internal)
    })();
    let mut events = Vec::new();
    for (i, job) in batch.into_iter().enumerate() {
        let result = match (&outcome, results.get(i)) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(Ok((id, event)))) => {
                events.push(event.clone());
                Ok(*id)
            }
            (Ok(()), Some(Err(e))) => Err(e.clone()),
            (Ok(()), None) => Err(internal("the assessment was not written")),
        };
        if let Some(reply) = job.reply {
            let _ = reply.send(result);
        }
    }
    events
}

fn wrong_credentials() -> CommandError {
    CommandError::new(ErrorKind::Unauthenticated, "Wrong username or password.")
}

fn locked_error() -> CommandError {
    CommandError::new(
        ErrorKind::Locked,
        format!(
            "This account is locked after {} failed sign-ins. Try again in {} minutes or ask an administrator to reset the password.",
            auth::MAX_FAILED,
            auth::LOCK_MINUTES
        ),
    )
}

fn now_locked_error() -> CommandError {
    CommandError::new(
        ErrorKind::Locked,
        format!(
            "Too many failed sign-ins: this account is locked for {} minutes.",
            auth::LOCK_MINUTES
        ),
    )
}

fn check_limit(limit: u32) -> Result<(), CommandError> {
    if limit == 0 || limit > MAX_PAGE {
        Err(CommandError::invalid(format!(
            "limit must be from 1 to {MAX_PAGE}"
        )))
    } else {
        Ok(())
    }
}

fn not_found_patient(id: i64) -> CommandError {
    CommandError::new(ErrorKind::NotFound, format!("No patient has id {id}."))
}

fn conflict_or_internal(e: rusqlite::Error, p: &PatientInput) -> CommandError {
    if unique_violation(&e) {
        CommandError::new(
            ErrorKind::Conflict,
            format!(
                "Record number {} is already in use.",
                p.record_number.trim()
            ),
        )
    } else {
        internal(e)
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
        let s = Arc::new(Services::open(dir.path()).unwrap());
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
            Connection::open(dir.path().join(DB_FILE))
                .unwrap()
                .query_row("SELECT COUNT(*) FROM patients", [], |r| r.get::<_, i64>(0))
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
