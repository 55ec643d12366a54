//! The schema: versioned migrations, applied in order at every opening.

use super::{DbError, APPLICATION_ID};
use rusqlite::Connection;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
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
