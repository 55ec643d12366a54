//! SQLite storage: opening a database with its key, its cipher and the pragmas the app
//! relies on, what a file's header says, and the file helpers the copies share. The
//! schema is in `migrations`; backups, restores and sealing in place in `copies`.

mod copies;
mod migrations;

pub(crate) use copies::seal_in_place;
pub use copies::{check_backup, replace_from, stage};
pub use migrations::{migrate, schema_version};

use crate::keys::DataKey;
use crate::private;
use rusqlite::Connection;
use std::path::Path;

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
