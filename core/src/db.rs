//! SQLite storage: opening with the pragmas the app relies on, and versioned migrations.

use crate::keys::DataKey;
use crate::private;
use rusqlite::Connection;
use std::path::Path;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: assessments
    "CREATE TABLE assessments (
        id            INTEGER PRIMARY KEY,
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        colesterol    REAL NOT NULL CHECK (colesterol BETWEEN 1.0 AND 3.0),
        presion       REAL NOT NULL CHECK (presion BETWEEN 0.6 AND 1.8),
        glucosa       REAL NOT NULL CHECK (glucosa BETWEEN 0.5 AND 2.0),
        edad          INTEGER NOT NULL CHECK (edad BETWEEN 0 AND 99),
        sobrepeso     INTEGER NOT NULL CHECK (sobrepeso IN (0, 1)),
        tabaquismo    INTEGER NOT NULL CHECK (tabaquismo IN (0, 1)),
        probability   REAL NOT NULL CHECK (probability BETWEEN 0.0 AND 1.0),
        at_risk       INTEGER NOT NULL CHECK (at_risk IN (0, 1)),
        band          TEXT NOT NULL CHECK (band IN ('low', 'moderate', 'high')),
        model_version TEXT NOT NULL,
        elapsed_ms    REAL NOT NULL
    );
    CREATE INDEX assessments_by_time ON assessments (created_at);",
    // 2: accounts, patients, the event outbox and the audit log
    "CREATE TABLE users (
        id                INTEGER PRIMARY KEY,
        username          TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name      TEXT NOT NULL,
        role              TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
        password_hash     TEXT NOT NULL,
        disabled          INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        failed_attempts   INTEGER NOT NULL DEFAULT 0,
        locked_until      TEXT,
        created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE patients (
        id            INTEGER PRIMARY KEY,
        record_number TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name          TEXT NOT NULL,
        birth_year    INTEGER,
        notes         TEXT NOT NULL DEFAULT '',
        created_by    INTEGER REFERENCES users (id),
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX patients_by_name ON patients (name COLLATE NOCASE);
    ALTER TABLE assessments ADD COLUMN patient_id INTEGER REFERENCES patients (id);
    ALTER TABLE assessments ADD COLUMN user_id INTEGER REFERENCES users (id);
    ALTER TABLE assessments ADD COLUMN contributions TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX assessments_by_patient ON assessments (patient_id, created_at);
    -- AUTOINCREMENT: ids are never reused once drained, so audit_log.event_id stays unique.
    CREATE TABLE outbox (
        id    INTEGER PRIMARY KEY AUTOINCREMENT,
        event TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY,
        -- The outbox row it came from; NULL for entries written directly (gateway
        -- request lines, which change nothing else).
        event_id   INTEGER UNIQUE,
        at         TEXT NOT NULL,
        user_id    INTEGER,
        username   TEXT,
        action     TEXT NOT NULL,
        status     TEXT NOT NULL,
        elapsed_ms REAL NOT NULL,
        subject    TEXT,
        detail     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_by_time ON audit_log (at);
    CREATE INDEX audit_by_user ON audit_log (username COLLATE NOCASE, at);
    CREATE INDEX audit_by_user_action ON audit_log (username COLLATE NOCASE, action, at);
    CREATE INDEX audit_by_action ON audit_log (action, at);
    CREATE INDEX audit_by_status ON audit_log (status, at);",
    // 3: the REST gateway's plans and integration clients
    "CREATE TABLE plans (
        name       TEXT PRIMARY KEY,
        per_minute INTEGER NOT NULL CHECK (per_minute > 0)
    );
    INSERT INTO plans (name, per_minute) VALUES ('FREEMIUM', 5), ('PREMIUM', 50);
    CREATE TABLE api_clients (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        plan       TEXT NOT NULL REFERENCES plans (name),
        key_prefix TEXT NOT NULL UNIQUE,
        key_hash   TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
    // 4: settings
    "CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 5: failed sign-ins of names with no account, kept like an account's
    // (auth::UnknownNames): a keyed digest of the name, never the name.
    "CREATE TABLE unknown_sign_ins (
        name_digest     BLOB PRIMARY KEY,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until    TEXT,
        last_failed     TEXT
    ) WITHOUT ROWID;",
    // 6: the patient each audit entry is about (reads included), for "who looked at
    // this record"; older entries named their patient in `subject` or `detail`.
    "ALTER TABLE audit_log ADD COLUMN patient_id INTEGER;
    UPDATE audit_log SET patient_id = CAST(substr(subject, 9) AS INTEGER)
     WHERE subject LIKE 'patient:%';
    UPDATE audit_log SET patient_id = CAST(substr(detail, instr(detail, ' patient:') + 9) AS INTEGER)
     WHERE action = 'assessment.created' AND instr(detail, ' patient:') > 0;
    CREATE INDEX audit_by_patient ON audit_log (patient_id, at) WHERE patient_id IS NOT NULL;",
    // 7: the change log (core::changes, ADR 0026) and this installation's id; the
    // outbox goes, after any row an older version left in it joins the audit log.
    "CREATE TABLE installation (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        id   TEXT NOT NULL
    );
    CREATE TABLE change_log (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        at           TEXT NOT NULL,
        installation TEXT NOT NULL,
        user_id      INTEGER,
        entity       TEXT NOT NULL,
        entity_id    TEXT NOT NULL,
        op           TEXT NOT NULL,
        state        TEXT
    );
    CREATE TRIGGER change_log_is_append_only_update BEFORE UPDATE ON change_log
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
    CREATE TRIGGER change_log_is_append_only_delete BEFORE DELETE ON change_log
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
    INSERT OR IGNORE INTO audit_log
        (event_id, at, user_id, username, action, status, elapsed_ms, subject, detail,
         patient_id)
    SELECT id, json_extract(event, '$.at'), json_extract(event, '$.user_id'),
           json_extract(event, '$.username'), json_extract(event, '$.action'),
           json_extract(event, '$.status'), coalesce(json_extract(event, '$.elapsed_ms'), 0),
           json_extract(event, '$.subject'), coalesce(json_extract(event, '$.detail'), ''),
           CASE WHEN json_extract(event, '$.subject') LIKE 'patient:%'
                THEN CAST(substr(json_extract(event, '$.subject'), 9) AS INTEGER) END
      FROM outbox
     WHERE json_valid(event) AND json_extract(event, '$.at') IS NOT NULL
       AND json_extract(event, '$.action') IS NOT NULL
       AND json_extract(event, '$.status') IS NOT NULL
     ORDER BY id;
    DROP TABLE outbox;",
    // 8: fewer index pages per commit for the gateway's request lines: the audit log
    // loses `event_id` (the outbox's dedupe key, unused since 7) and its unique index,
    // and its by-user indexes leave out entries with no user (request lines); the
    // by-patient index takes over counting the log; a change's id becomes its 16
    // bytes, without a unique index (`seq` is the key here; UUIDv7 ids do not collide
    // across installations, the hub keys on them); the password and key hashes that 7
    // copied into account and client states go.
    "CREATE TABLE audit_log_v8 (
        id         INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        user_id    INTEGER,
        username   TEXT,
        action     TEXT NOT NULL,
        status     TEXT NOT NULL,
        elapsed_ms REAL NOT NULL,
        subject    TEXT,
        detail     TEXT NOT NULL DEFAULT '',
        patient_id INTEGER
    );
    INSERT INTO audit_log_v8
        (id, at, user_id, username, action, status, elapsed_ms, subject, detail, patient_id)
    SELECT id, at, user_id, username, action, status, elapsed_ms, subject, detail, patient_id
      FROM audit_log ORDER BY id;
    DROP TABLE audit_log;
    ALTER TABLE audit_log_v8 RENAME TO audit_log;
    CREATE INDEX audit_by_time ON audit_log (at);
    CREATE INDEX audit_by_user ON audit_log (username COLLATE NOCASE, at)
        WHERE username IS NOT NULL;
    CREATE INDEX audit_by_user_action ON audit_log (username COLLATE NOCASE, action, at)
        WHERE username IS NOT NULL;
    CREATE INDEX audit_by_action ON audit_log (action, at);
    CREATE INDEX audit_by_status ON audit_log (status, at);
    -- Whole, not partial: its narrow entries are what COUNT(*) of the log scans.
    CREATE INDEX audit_by_patient ON audit_log (patient_id);
    CREATE TABLE change_log_v8 (
        seq          INTEGER PRIMARY KEY,
        id           BLOB NOT NULL CHECK (length(id) = 16),
        at           TEXT NOT NULL,
        installation TEXT NOT NULL,
        user_id      INTEGER,
        entity       TEXT NOT NULL,
        entity_id    TEXT NOT NULL,
        op           TEXT NOT NULL,
        state        TEXT
    );
    INSERT INTO change_log_v8
    SELECT seq, unhex(id, '-'), at, installation, user_id, entity, entity_id, op,
           CASE WHEN state IS NULL THEN NULL
                ELSE json_remove(state, '$.password_hash', '$.key_hash') END
      FROM change_log ORDER BY seq;
    DROP TABLE change_log;
    ALTER TABLE change_log_v8 RENAME TO change_log;
    CREATE TRIGGER change_log_is_append_only_update BEFORE UPDATE ON change_log
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
    CREATE TRIGGER change_log_is_append_only_delete BEFORE DELETE ON change_log
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;",
    // 9: the audit log's hash chain (ADR 0027): each entry's SHA-256 link to the one
    // before; entries written before this version have none.
    "ALTER TABLE audit_log ADD COLUMN chain BLOB CHECK (chain IS NULL OR length(chain) = 32);",
];

/// How long a write waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `PRAGMA application_id` of every CardioRisk database ("CRK1").
pub const APPLICATION_ID: i64 = 0x4352_4B31;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot make {path} private to its owner (mode 0700 for the folder, 0600 for files): {source}")]
    Mode {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read or write {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database was written by a newer CardioRisk (schema {found}, this app knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("{0} is not a CardioRisk database (it belongs to another program, or is not a database); it was left unchanged")]
    NotOurs(String),
    #[error("{path} is a CardioRisk database but it is damaged ({detail}); it was left unchanged: restore a backup")]
    Damaged { path: String, detail: String },
    #[error("{0} cannot be read with this installation's key: it was sealed with another key, or it is damaged, or it is not a CardioRisk database; it was left unchanged")]
    NotThisKey(String),
    #[error("{0} is a CardioRisk database in clear: it is sealed at the first sign-in")]
    InClear(String),
    #[error("this build of CardioRisk is linked against a SQLite without page encryption ({0}); it opens no database")]
    NoCipher(String),
}

/// The SQLite3 Multiple Ciphers release this process runs on, or why there is none:
/// a build that linked a plain SQLite (see `cardiorisk-sqlite`) must not write a page.
pub fn cipher_library() -> Result<&'static str, DbError> {
    static FOUND: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
            conn.query_row("SELECT sqlite3mc_version()", [], |r| r.get::<_, String>(0))
                .map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|e| DbError::NoCipher(e.clone()))
}

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
/// The directory is made private to its owner (0700) and the database with its WAL
/// and shared-memory files 0600 (SQLite gives those the database file's mode).
/// A file that belongs to another application is refused before anything is written.
/// Every write transaction in the app begins IMMEDIATE: a deferred one that reads and
/// then writes can fail at once with "database is locked" when another connection
/// wrote in between, without waiting on the busy timeout.
/// Every page is sealed with `key` ([`Cipher::Aegis256`]): the database, its WAL and
/// shared-memory file hold no byte in clear. A database in clear (from a release
/// before encryption) is refused here with [`DbError::InClear`]: the vault seals it
/// first (see `vault.rs`). One sealed with [`Cipher::ChaCha20Poly1305`] by the first
/// sealed builds is resealed in place first, the same way.
pub fn open(path: &Path, key: &DataKey) -> Result<Connection, DbError> {
    cipher_library()?;
    match header(path) {
        Header::Ours => return Err(DbError::InClear(path.display().to_string())),
        Header::Sealed if sealed_with(path, key) == Some(Cipher::ChaCha20Poly1305) => {
            seal_in_place(path, Some(Cipher::ChaCha20Poly1305), key)?
        }
        _ => {}
    }
    open_pages(path, Some((key, Cipher::Aegis256)))
}

/// Opens a database in clear, as a release before encryption wrote it, only to
/// check a sign-in and copy it into a sealed file (`vault.rs`).
pub(crate) fn open_in_clear(path: &Path) -> Result<Connection, DbError> {
    open_pages(path, None)
}

/// The page cipher of a database, and the one this release writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AEGIS-256 (SQLite3MC's "aegis" scheme): a 256-bit key, a fresh 256-bit nonce
    /// and a 256-bit tag on every page, on the processor's AES instructions. What
    /// every database is written with (ADR 0027).
    Aegis256,
    /// ChaCha20-Poly1305 (SQLite3MC's "chacha20"): the first sealed builds' cipher;
    /// such a database is resealed with [`Cipher::Aegis256`] when it is opened.
    ChaCha20Poly1305,
}

impl Cipher {
    /// Names the cipher and its variant before `PRAGMA key`, checking SQLite's answer:
    /// a library that fell back to another variant would write pages no other
    /// build reads.
    fn choose(self, conn: &Connection) -> rusqlite::Result<()> {
        let (scheme, algorithm) = self.names();
        let chosen: String = conn.pragma_update_and_check(None, "cipher", scheme, |r| r.get(0))?;
        let mut unexpected = (chosen != scheme).then_some(chosen);
        if let Some(algorithm) = algorithm {
            let chosen: String =
                conn.pragma_update_and_check(None, "algorithm", algorithm, |r| r.get(0))?;
            unexpected = unexpected.or((chosen != algorithm).then_some(chosen));
        }
        match unexpected {
            None => Ok(()),
            Some(chosen) => Err(rusqlite::Error::InvalidParameterName(format!(
                "the cipher library chose {chosen} for {self:?}"
            ))),
        }
    }

    fn names(self) -> (&'static str, Option<&'static str>) {
        match self {
            Cipher::Aegis256 => ("aegis", Some("aegis-256")),
            Cipher::ChaCha20Poly1305 => ("chacha20", None),
        }
    }

    /// The same choice as URI parameters (`VACUUM INTO` a sealed file).
    fn uri_parameters(self) -> String {
        match self.names() {
            (scheme, Some(algorithm)) => format!("cipher={scheme}&algorithm={algorithm}"),
            (scheme, None) => format!("cipher={scheme}"),
        }
    }
}

/// Which cipher `key` reads the sealed database at `path` with, if either: a look
/// through a read-only connection, before any connection that could write to it.
fn sealed_with(path: &Path, key: &DataKey) -> Option<Cipher> {
    [Cipher::Aegis256, Cipher::ChaCha20Poly1305]
        .into_iter()
        .find(|&cipher| {
            let Ok(conn) =
                Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            else {
                return false;
            };
            apply_key_with(&conn, key, cipher).is_ok()
                && conn
                    .query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0))
                    .is_ok_and(|app| app == APPLICATION_ID)
        })
}

fn open_pages(path: &Path, key: Option<(&DataKey, Cipher)>) -> Result<Connection, DbError> {
    cipher_library()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private::create_private_dir(dir).map_err(|e| match e {
            private::Failed::Create(path, source) => DbError::Dir { path, source },
            private::Failed::Mode(path, source) => DbError::Mode { path, source },
        })?;
    }
    private::prepare_database(path).map_err(|e| match e {
        private::Failed::Create(path, source) => DbError::File { path, source },
        private::Failed::Mode(path, source) => DbError::Mode { path, source },
    })?;
    let mut conn = Connection::open(path)?;
    if let Some((key, cipher)) = key {
        apply_key_with(&conn, key, cipher)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    refuse_foreign(&conn, path)?;
    let mut set_up = || -> Result<(), DbError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed assessment survives a power cut, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // On macOS fsync() leaves the data in the drive's cache; F_FULLFSYNC (these
        // two, ignored elsewhere) is what makes a commit survive a power cut there.
        conn.pragma_update(None, "fullfsync", "ON")?;
        conn.pragma_update(None, "checkpoint_fullfsync", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Fewer, larger checkpoints: each one syncs the database file (WAL up to ~16 MiB).
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
        migrate(&mut conn)
    };
    match set_up() {
        // Its first page opened and names it ours: what fails after is damage.
        Err(DbError::Sqlite(e)) if is_damage(&e) && key.is_some() => Err(DbError::Damaged {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(DbError::Sqlite(e)) if is_damage(&e) => Err(unreadable(path, e)),
        Err(e) => Err(e),
        Ok(()) => Ok(conn),
    }
}

/// SQLite's own words for a file it cannot make sense of.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// A second connection for reads only (`query_only`), beside the writer: in WAL mode
/// a backup or a long audit query on it neither waits for nor blocks writes. Open
/// it after [`open`], which creates and migrates the database.
pub fn open_reader(path: &Path, key: &DataKey) -> Result<Connection, DbError> {
    open_reader_with(path, Some(key))
}

pub(crate) fn open_reader_with(path: &Path, key: Option<&DataKey>) -> Result<Connection, DbError> {
    cipher_library()?;
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        apply_key(&conn, key)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    Ok(conn)
}

/// Each connection's page cache, in KiB (negative: SQLite's unit for a size). Pages
/// are decrypted when read into it, so a cache that holds the indexes a query walks
/// keeps repeated queries from decrypting them again (SQLite's default is 2 MiB; it
/// grows only as pages are read).
const PAGE_CACHE_KIB: i64 = -32 * 1024;

/// Gives a connection the data key and this release's cipher; the first statements on
/// it, before any page is read.
pub fn apply_key(conn: &Connection, key: &DataKey) -> rusqlite::Result<()> {
    apply_key_with(conn, key, Cipher::Aegis256)
}

fn apply_key_with(conn: &Connection, key: &DataKey, cipher: Cipher) -> rusqlite::Result<()> {
    cipher.choose(conn)?;
    conn.pragma_update(None, "key", &*key.sqlite_key())
}

/// What a file's first bytes say, read without SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Missing or empty: a database not created yet.
    Empty,
    /// A database in clear with our application id (a release before encryption).
    Ours,
    /// A database in clear of another program.
    OtherProgram,
    /// Anything else: a sealed database (its first page is ciphertext), or not a
    /// database at all. Only the key tells which.
    Sealed,
}

pub fn header(path: &Path) -> Header {
    use std::io::Read;
    let mut header = [0u8; 100];
    let Ok(mut file) = std::fs::File::open(path) else {
        return Header::Empty;
    };
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Header::Sealed,
        }
    }
    if read == 0 {
        Header::Empty
    } else if read < 72 || &header[..16] != b"SQLite format 3\0" {
        Header::Sealed
    } else if header[68..72] == (APPLICATION_ID as u32).to_be_bytes() {
        Header::Ours
    } else {
        Header::OtherProgram
    }
}

/// What a database that SQLite cannot read is: ours but damaged, not ours, or sealed
/// with another key (or damaged, or not a database: without the key nobody can tell).
fn unreadable(path: &Path, detail: impl std::fmt::Display) -> DbError {
    match header(path) {
        Header::Ours => DbError::Damaged {
            path: path.display().to_string(),
            detail: detail.to_string(),
        },
        Header::Sealed => DbError::NotThisKey(path.display().to_string()),
        Header::OtherProgram | Header::Empty => DbError::NotOurs(path.display().to_string()),
    }
}

/// Accepts a CardioRisk database or an empty file; anything else is another
/// program's data and is left untouched.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let not_ours = || DbError::NotOurs(path.display().to_string());
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| unreadable(path, e))?;
    if app == APPLICATION_ID {
        return Ok(());
    }
    let objects: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| unreadable(path, e))?;
    if app != 0 || objects > 0 || schema_version(conn)? != 0 {
        return Err(not_ours());
    }
    Ok(())
}

pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let known = MIGRATIONS.len() as i64;
    let found = schema_version(conn)?;
    if found == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    if found > known {
        return Err(DbError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Checks that `path` is a sound CardioRisk database this app can read.
pub fn check_backup(path: &Path, key: &DataKey) -> Result<(), DbError> {
    let not_ours = || DbError::NotOurs(path.display().to_string());
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| unreadable(path, e))?;
    if header(path) != Header::Ours {
        let cipher = sealed_with(path, key).unwrap_or(Cipher::Aegis256);
        apply_key_with(&conn, key, cipher)?;
    }
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| unreadable(path, e))?;
    if app != APPLICATION_ID {
        return Err(not_ours());
    }
    let found = schema_version(&conn)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(DbError::TooNew { found, known });
    }
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| DbError::Damaged {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
    if integrity != "ok" {
        return Err(DbError::Damaged {
            path: path.display().to_string(),
            detail: integrity,
        });
    }
    Ok(())
}

/// Copies the backup at `backup`, sealed with `backup_key` (or in clear), into
/// `staged` (a private file, replaced if a restore that died left one), sealed with
/// `key`, and brings its schema up to this version, so that [`replace_from`] finds the
/// same tables as the live database.
pub fn stage(
    backup: &Path,
    backup_key: &DataKey,
    staged: &Path,
    key: &DataKey,
) -> Result<(), DbError> {
    let file_error = |source: std::io::Error| DbError::File {
        path: staged.display().to_string(),
        source,
    };
    match std::fs::remove_file(staged) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(file_error(e)),
        _ => {}
    }
    cardiorisk_files::create_private(staged).map_err(file_error)?;
    let source = Connection::open_with_flags(backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let cipher = match header(backup) {
        Header::Ours => None,
        _ => Some(sealed_with(backup, backup_key).unwrap_or(Cipher::Aegis256)),
    };
    if cipher != Some(Cipher::Aegis256) || backup_key.bytes() != key.bytes() {
        // A backup made before encryption, by the first sealed builds or by another
        // installation: copied into the staging file sealed with this key and cipher.
        if let Some(cipher) = cipher {
            apply_key_with(&source, backup_key, cipher)?;
        }
        vacuum_into_sealed(&source, staged, key)?;
        drop(source);
        let mut copy = Connection::open(staged)?;
        apply_key(&copy, key)?;
        return migrate(&mut copy);
    }
    apply_key(&source, key)?;
    let mut copy = Connection::open(staged)?;
    apply_key(&copy, key)?;
    let copied = rusqlite::backup::Backup::new(&source, &mut copy)?.step(-1)?;
    if copied != rusqlite::backup::StepResult::Done {
        return Err(DbError::File {
            path: backup.display().to_string(),
            source: std::io::Error::other(format!("the copy did not finish ({copied:?})")),
        });
    }
    migrate(&mut copy)
}

/// Audit columns carried from the live log into the restored one (new ids).
const CARRIED_AUDIT_COLUMNS: &str =
    "at, user_id, username, action, status, elapsed_ms, subject, detail, patient_id";

/// Replaces every table of the live database with the staged copy's, in one
/// transaction on `live`: a process killed at any moment leaves the database as it
/// was or as restored, never between. Audit entries the copy lacks from its newest
/// moment on (times have milliseconds: an entry of that same millisecond may not be
/// in it) are kept, after the copy's own (new ids, same content); `finish` then writes
/// inside the same transaction (the restore's own audit entry). Returns how many
/// entries were carried, and what `finish` returned.
pub fn replace_from<T>(
    live: &mut Connection,
    staged: &Path,
    finish: impl FnOnce(&rusqlite::Transaction, usize) -> rusqlite::Result<T>,
) -> Result<T, DbError> {
    let staged_name = staged.to_str().ok_or_else(|| DbError::File {
        path: staged.display().to_string(),
        source: std::io::Error::other("the path is not valid Unicode"),
    })?;
    live.execute("ATTACH DATABASE ?1 AS restored", [staged_name])?;
    let replaced = (|| -> Result<T, DbError> {
        let tx = live.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Rows arrive table by table; their references hold once all have arrived.
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        let version =
            |schema| tx.pragma_query_value(Some(schema), "user_version", |r| r.get::<_, i64>(0));
        let (live_version, staged_version) = (version("main")?, version("restored")?);
        if live_version != staged_version {
            return Err(DbError::Damaged {
                path: staged.display().to_string(),
                detail: format!("schema {staged_version}, the live database's {live_version}"),
            });
        }
        tx.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.carried;
             CREATE TEMP TABLE carried AS SELECT {CARRIED_AUDIT_COLUMNS} FROM main.audit_log AS l
              WHERE at >= coalesce((SELECT MAX(at) FROM restored.audit_log), '')
                AND NOT EXISTS (SELECT 1 FROM restored.audit_log AS r
                                 WHERE r.at = l.at AND r.action = l.action AND r.status = l.status
                                   AND r.username IS l.username AND r.subject IS l.subject
                                   AND r.detail = l.detail)
              ORDER BY at, id;"
        ))?;
        let carried: i64 = tx.query_row("SELECT COUNT(*) FROM temp.carried", [], |r| r.get(0))?;
        let tables: Vec<String> = {
            // The change log and the installation's id are this laptop's own: a
            // restore is one more change in its log, not a rewrite of it.
            let mut stmt = tx.prepare(
                "SELECT name FROM restored.sqlite_master
                  WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                    AND name NOT IN ('change_log', 'installation') ORDER BY name",
            )?;
            let names = stmt.query_map([], |r| r.get(0))?;
            names.collect::<Result<_, _>>()?
        };
        // `WHERE 1` keeps SQLite from copying pages wholesale (its transfer
        // optimisation), which would skip counting the parents' arrival and fail the
        // deferred foreign-key check at commit.
        for table in &tables {
            let table = table.replace('"', "\"\"");
            tx.execute_batch(&format!(
                "DELETE FROM main.\"{table}\";
                 INSERT INTO main.\"{table}\" SELECT * FROM restored.\"{table}\" WHERE 1;"
            ))?;
        }
        let restored_last: i64 =
            tx.query_row("SELECT COALESCE(MAX(id), 0) FROM main.audit_log", [], |r| {
                r.get(0)
            })?;
        tx.execute_batch(&format!(
            "INSERT INTO main.audit_log ({CARRIED_AUDIT_COLUMNS})
                  SELECT {CARRIED_AUDIT_COLUMNS} FROM temp.carried ORDER BY rowid;
             DROP TABLE temp.carried;"
        ))?;
        // The carried entries join the restored log's chain.
        crate::audit::link_after(&tx, restored_last)?;
        let value = finish(&tx, carried as usize)?;
        tx.commit()?;
        Ok(value)
    })();
    let detached = live.execute("DETACH DATABASE restored", []);
    let value = replaced?;
    detached?;
    Ok(value)
}

/// `path` as a SQLite URI's path: `/` separators, a leading `/` before a Windows
/// drive, and every byte outside a safe set percent-encoded (`?`, `#`, `%`, spaces).
fn uri_path(path: &Path) -> Result<String, DbError> {
    let text = path.to_str().ok_or_else(|| DbError::File {
        path: path.display().to_string(),
        source: std::io::Error::other("the path is not valid Unicode"),
    })?;
    let text = text.replace('\\', "/");
    let mut uri = String::with_capacity(text.len() + 8);
    if text.as_bytes().get(1) == Some(&b':') {
        uri.push('/');
    }
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'~' | b'-' | b':' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    Ok(uri)
}

/// Removes a file; one already gone is not an error.
pub(crate) fn remove_file_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn remove_if_there(path: &Path) -> Result<(), DbError> {
    remove_file_if_there(path).map_err(|source| DbError::File {
        path: path.display().to_string(),
        source,
    })
}

/// Flushes a directory's entries (a rename into it) to the disk, where the OS can.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `path` with `suffix` added to its file name (`cardiorisk.db-wal`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Writes a copy of the database that `plain` is connected to (in clear, or read
/// through another cipher) into `sealed` (replaced if there), sealed with this
/// release's cipher, whole, synced, private.
fn vacuum_into_sealed(plain: &Connection, sealed: &Path, key: &DataKey) -> Result<(), DbError> {
    let file_error = |source| DbError::File {
        path: sealed.display().to_string(),
        source,
    };
    remove_if_there(&with_suffix(sealed, "-journal"))?;
    // VACUUM INTO writes into an empty file: this one, created private.
    cardiorisk_files::create_private(sealed).map_err(file_error)?;
    let target = zeroize::Zeroizing::new(format!(
        "file:{}?{}&key={}",
        uri_path(sealed)?,
        Cipher::Aegis256.uri_parameters(),
        &*key.sqlite_key()
    ));
    plain.execute("VACUUM INTO ?1", [&*target])?;
    std::fs::File::open(sealed)
        .and_then(|f| f.sync_all())
        .map_err(file_error)?;
    Ok(())
}

/// Checks that the sealed copy at `sealed` opens with `key`, is sound, and holds as
/// many rows in every table as the database `plain` is connected to.
fn check_sealed_copy(plain: &Connection, sealed: &Path, key: &DataKey) -> Result<(), DbError> {
    let copy = Connection::open_with_flags(sealed, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    apply_key(&copy, key)?;
    let integrity: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let differs = |detail: String| DbError::Damaged {
        path: sealed.display().to_string(),
        detail,
    };
    if integrity != "ok" {
        return Err(differs(integrity));
    }
    let tables: Vec<String> = plain
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let count = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
        let before: i64 = plain.query_row(&count, [], |r| r.get(0))?;
        let after: i64 = copy.query_row(&count, [], |r| r.get(0))?;
        if before != after {
            return Err(differs(format!(
                "{table}: {after} rows in the sealed copy, {before} in the original"
            )));
        }
    }
    Ok(())
}

/// Seals the database at `path`, in clear (`from` None) or sealed with `key` under an
/// earlier cipher, with `key` and this release's cipher: brought up to this schema,
/// copied into a sealed file beside it, the copy checked row for row, then renamed
/// over the original. A process killed at any moment leaves at `path` the original
/// or the sealed copy, each whole.
pub(crate) fn seal_in_place(
    path: &Path,
    from: Option<Cipher>,
    key: &DataKey,
) -> Result<(), DbError> {
    let sealing = with_suffix(path, ".sealing");
    {
        let plain = open_pages(path, from.map(|cipher| (key, cipher)))?;
        vacuum_into_sealed(&plain, &sealing, key)?;
        check_sealed_copy(&plain, &sealing, key)?;
    }
    // The last connection closed has checkpointed and removed the WAL; one left
    // behind would be read as the sealed file's.
    let wal = with_suffix(path, "-wal");
    if std::fs::metadata(&wal)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        return Err(DbError::File {
            path: wal.display().to_string(),
            source: std::io::Error::other("another program still has the database open"),
        });
    }
    remove_if_there(&wal)?;
    remove_if_there(&with_suffix(path, "-shm"))?;
    std::fs::rename(&sealing, path).map_err(|source| DbError::File {
        path: path.display().to_string(),
        source,
    })?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}
