//! SQLite storage: opening with the pragmas the app relies on, and versioned migrations.

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
];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database was written by a newer CardioRisk (schema {found}, this app knows {known})"
    )]
    TooNew { found: i64, known: i64 },
}

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection, DbError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed assessment survives a power cut, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let known = MIGRATIONS.len() as i64;
    let found = schema_version(conn)?;
    if found > known {
        return Err(DbError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
