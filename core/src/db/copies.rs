//! Copies of a database: backups checked and staged for a restore, the restore's
//! one-transaction replacement, and sealing in place (a database in clear, or sealed
//! under an earlier cipher, copied into one sealed with this release's).

use super::migrations::MIGRATIONS;
use super::*;

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
