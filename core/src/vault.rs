//! The lock in front of the database: what a data directory holds (nothing yet, a
//! sealed database, or a database in clear from a release before encryption), and
//! the only ways to open it: first run, a sign-in whose password unseals that
//! account's wrap of the data key, or the recovery key. Every entry point (the
//! window, `serve`, the CLI) opens its [`Services`] here.

use crate::audit::{Action, Event, Status};
use crate::auth::{SessionClock, IDLE_TIMEOUT};
use crate::db::{self, remove_file_if_there as remove_if_there, sync_dir, Header};
use crate::keys::{KdfCost, KeyError, Keystore, RecoveryKey};
use crate::private;
use crate::service::{Opening, Sealing, Services, DB_FILE};
use cardiorisk_contract::{CommandError, ErrorCode, SessionInfo};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sign-ins refused while the database was sealed, one time per line, until a
/// sign-in opens it and writes them to its audit log (nothing else can be written
/// before): the only trace a refused attempt leaves when no sign-in follows.
pub const REFUSED_FILE: &str = "refused-sign-ins.log";

/// First run builds its database here, and renames it into place once the
/// administrator is in it: a first run cut short leaves no half-made database.
pub const SETUP_STAGING_FILE: &str = "setup-staging.db";

/// What a data directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// No database yet: first run.
    Fresh,
    /// A sealed database: a sign-in (or the recovery key) opens it.
    Sealed,
    /// A database in clear from a release before encryption: the first sign-in
    /// seals it.
    InClear,
}

pub struct Vault {
    dir: PathBuf,
    cost: KdfCost,
    idle: Duration,
    clock: SessionClock,
}

fn internal(e: impl std::fmt::Display) -> CommandError {
    CommandError::coded(ErrorCode::Database, &[("detail", &e.to_string())])
}

fn key_file(e: impl std::fmt::Display) -> CommandError {
    CommandError::coded(ErrorCode::KeyFile, &[("detail", &e.to_string())])
}

fn wrong_credentials() -> CommandError {
    CommandError::coded(ErrorCode::WrongCredentials, &[])
}

impl Vault {
    pub fn new(dir: &Path) -> Vault {
        Vault {
            dir: dir.to_path_buf(),
            cost: KdfCost::DEFAULT,
            idle: IDLE_TIMEOUT,
            clock: Arc::new(Instant::now),
        }
    }

    /// The cost of the wraps this vault makes (tests use a cheap one).
    pub fn with_cost(mut self, cost: KdfCost) -> Vault {
        self.cost = cost;
        self
    }

    /// How long sessions of the services it opens last without a command.
    pub fn with_idle(mut self, idle: Duration) -> Vault {
        self.idle = idle;
        self
    }

    pub fn with_clock(mut self, clock: SessionClock) -> Vault {
        self.clock = clock;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn database(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    fn keys(&self) -> PathBuf {
        Keystore::path_in(&self.dir)
    }

    fn opening<'a>(&'a self, database: &'a Path) -> Opening<'a> {
        Opening {
            dir: &self.dir,
            database,
            idle: self.idle,
            clock: Arc::clone(&self.clock),
        }
    }

    pub fn lock(&self) -> Lock {
        match db::header(&self.database()) {
            Header::Empty => Lock::Fresh,
            Header::Ours => Lock::InClear,
            // Another program's file, or a damaged one: opening says which.
            Header::OtherProgram | Header::Sealed => Lock::Sealed,
        }
    }

    /// First run: makes the data key, wraps it for the administrator and for a new
    /// recovery key (returned once, in the session), and creates the database with
    /// the administrator in it. Refused once a database exists.
    pub fn set_up(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<(Services, SessionInfo), CommandError> {
        if self.lock() != Lock::Fresh {
            return Err(CommandError::coded(ErrorCode::AlreadySetUp, &[]));
        }
        Services::check_new_user(&cardiorisk_contract::NewUser {
            username: username.trim().to_string(),
            display_name: display_name.trim().to_string(),
            password: password.to_string(),
            role: cardiorisk_contract::Role::Admin,
        })?;
        private::create_private_dir(&self.dir).map_err(|e| internal(format!("{e:?}")))?;
        let staging = self.dir.join(SETUP_STAGING_FILE);
        remove_database_files(&staging).map_err(internal)?;
        // No database: a key file left by a first run cut short protects nothing.
        remove_if_there(&self.keys()).map_err(internal)?;
        let (keystore, key, recovery) =
            Keystore::create(&self.keys(), username.trim(), password, self.cost)
                .map_err(key_file)?;
        {
            let building = self
                .opening(&staging)
                .open(Some(Sealing::new(key.clone(), None)))
                .map_err(internal)?;
            building.set_up(username, display_name, password)?;
        }
        // Closing the last connection checkpointed the WAL into the file and removed
        // it; one left behind holds the administrator, and must not be orphaned.
        let wal = db::with_suffix(&staging, "-wal");
        if std::fs::metadata(&wal)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
        {
            return Err(internal(
                "first run could not finish writing its database; start again",
            ));
        }
        remove_if_there(&db::with_suffix(&staging, "-shm")).map_err(internal)?;
        std::fs::rename(&staging, self.database()).map_err(internal)?;
        sync_dir(&self.dir);
        let services = self
            .opening(&self.database())
            .open(Some(Sealing::new(key, Some(keystore))))
            .map_err(internal)?;
        let mut session = services.session_for_name(username)?;
        session.recovery_key = Some(recovery.display().to_string());
        Ok((services, session))
    }

    /// As [`Vault::sign_in`], answering only at the paced instant (a refused sign-in
    /// then takes as long as an accepted one): for callers with nothing else to do
    /// meanwhile, on a thread that may wait.
    pub fn sign_in_paced(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Services, SessionInfo), CommandError> {
        let (opened, not_before) = self.sign_in(username, password);
        crate::service::wait_until(not_before);
        opened
    }

    /// Opens the data with an account's password and signs it in. A sealed database
    /// opens only if the password unseals that account's wrap; a database in clear
    /// is checked as before, then sealed under a new key (and the session carries
    /// the new recovery key). The returned instant is when the answer may be given
    /// (see [`Services::sign_in_paced`]).
    pub fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> (Result<(Services, SessionInfo), CommandError>, Instant) {
        let started = Instant::now();
        match self.lock() {
            Lock::Fresh => (Err(wrong_credentials()), started),
            Lock::Sealed => self.sign_in_sealed(username, password, started),
            Lock::InClear => (self.seal_at_sign_in(username, password), started),
        }
    }

    fn sign_in_sealed(
        &self,
        username: &str,
        password: &str,
        started: Instant,
    ) -> (Result<(Services, SessionInfo), CommandError>, Instant) {
        let keystore = match Keystore::load(&self.keys()) {
            Ok(Some(keystore)) => keystore.with_cost(self.cost),
            Ok(None) => {
                let missing = format!(
                    "{} is missing; restore it from the backup it was saved with",
                    self.keys().display()
                );
                return (Err(key_file(missing)), started);
            }
            Err(e) => return (Err(key_file(e)), started),
        };
        let key = match keystore.unlock(username.trim(), password) {
            Ok(key) => key,
            Err(KeyError::WrongSecret) => {
                // Same words and work for a wrong password and a name that holds no
                // wrap (Keystore::unlock derives a key either way).
                self.note_refusal();
                return (Err(wrong_credentials()), started);
            }
            Err(e) => return (Err(key_file(e)), started),
        };
        let services = match self
            .opening(&self.database())
            .open(Some(Sealing::new(key, Some(keystore))))
        {
            Ok(services) => services,
            Err(e) => return (Err(internal(e)), started),
        };
        self.write_refusals(&services);
        let (outcome, not_before) = services.sign_in_paced(username, password);
        (outcome.map(|session| (services, session)), not_before)
    }

    /// Notes a sign-in refused while the database was sealed (its time only).
    fn note_refusal(&self) {
        let at = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let noted = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(REFUSED_FILE))
            .and_then(|mut f| writeln!(f, "{at}"));
        if let Err(e) = noted {
            tracing::warn!(error = %e, "a refused sign-in could not be noted");
        }
    }

    /// Sign-ins refused while the database was sealed, into its audit log, in one
    /// transaction; then the note is removed.
    fn write_refusals(&self, services: &Services) {
        let file = self.dir.join(REFUSED_FILE);
        let Ok(text) = cardiorisk_files::read_limited(&file, 1 << 20) else {
            return;
        };
        let started = Instant::now();
        let events: Vec<Event> = String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|at| {
                Event::new(Action::SignInFailed, Status::Denied, started).detail(format!(
                    "a password that does not unlock this computer's data (at {})",
                    at.trim()
                ))
            })
            .collect();
        if services.record_all(events).is_ok() {
            let _ = std::fs::remove_file(&file);
        }
    }

    /// The first sign-in after an upgrade from a release before encryption.
    fn seal_at_sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Services, SessionInfo), CommandError> {
        let started = Instant::now();
        {
            let in_clear = self
                .opening(&self.database())
                .open(None)
                .map_err(internal)?;
            in_clear.sign_in(username, password)?;
        }
        // The database is in clear: a key file beside it (a sealing cut short) opens nothing.
        remove_if_there(&self.keys()).map_err(internal)?;
        let (keystore, key, recovery) =
            Keystore::create(&self.keys(), username.trim(), password, self.cost)
                .map_err(key_file)?;
        db::seal_in_place(&self.database(), None, &key).map_err(internal)?;
        let services = self
            .opening(&self.database())
            .open(Some(Sealing::new(key, Some(keystore))))
            .map_err(internal)?;
        let mut session = services.session_for_name(username)?;
        services.record(
            Event::new(Action::DatabaseSealed, Status::Ok, started)
                .by(session.user.id, &session.user.username)
                .detail("the database written in clear by an earlier release was sealed with a new data key; a recovery key was issued"),
        );
        session.recovery_key = Some(recovery.display().to_string());
        Ok((services, session))
    }

    /// Opens (creating if needed) the database in clear, as releases before
    /// encryption did. Only for making such a database in upgrade tests.
    #[doc(hidden)]
    pub fn open_as_earlier_release(&self) -> Result<Services, db::DbError> {
        self.opening(&self.database()).open(None)
    }

    /// Every password lost: the recovery key opens the data, and the administrator
    /// `username` gets `new_password` (audited as the recovery key's use).
    pub fn recover(
        &self,
        recovery_key: &str,
        username: &str,
        new_password: &str,
    ) -> Result<Services, CommandError> {
        let recovery = RecoveryKey::parse(recovery_key)
            .map_err(|_| CommandError::coded(ErrorCode::RecoveryKey, &[]))?;
        let keystore = Keystore::load(&self.keys())
            .map_err(key_file)?
            .ok_or_else(|| key_file(format!("{} is missing", self.keys().display())))?
            .with_cost(self.cost);
        let key = keystore
            .unlock_with_recovery(&recovery)
            .map_err(|e| match e {
                KeyError::WrongRecoveryKey | KeyError::WrongSecret => {
                    CommandError::coded(ErrorCode::RecoveryKey, &[])
                }
                e => key_file(e),
            })?;
        let services = self
            .opening(&self.database())
            .open(Some(Sealing::new(key, Some(keystore))))
            .map_err(internal)?;
        services.recover_account(username, new_password)?;
        Ok(services)
    }
}

/// A database file and its journal, WAL and shared-memory files.
fn remove_database_files(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        remove_if_there(&db::with_suffix(path, suffix))?;
    }
    Ok(())
}
