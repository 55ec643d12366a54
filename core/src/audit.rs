//! Typed events and the audit log.
//!
//! A service's writes go through the one writer (`service::writer`), which adds the
//! audit row describing them, and its change rows, in the same transaction, so
//! neither exists without the other; after commit it publishes them on the bus.

use cardiorisk_contract::{rfc3339_utc, unix_seconds, LocalTime, Zone};
use cardiorisk_contract::{AuditEntry, AuditFilter, AuditPage};
use rusqlite::{params, params_from_iter, Connection, Row};
use serde::{Deserialize, Serialize};
use std::time::{Instant, SystemTime};

pub use cardiorisk_contract::{AuditAction as Action, AuditStatus as Status};

/// Something that happened, as published on the bus and kept in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: Action,
    pub status: Status,
    pub elapsed_ms: f64,
    /// What it was about, e.g. "assessment:12".
    pub subject: Option<String>,
    /// The patient whose data it touched or showed, if any.
    #[serde(default)]
    pub patient_id: Option<i64>,
    pub detail: String,
}

impl Event {
    pub fn new(action: Action, status: Status, started: Instant) -> Self {
        Event {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            user_id: None,
            username: None,
            action,
            status,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
            subject: None,
            patient_id: None,
            detail: String::new(),
        }
    }

    pub fn by(mut self, user_id: i64, username: &str) -> Self {
        self.user_id = Some(user_id);
        self.username = Some(username.to_string());
        self
    }

    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Names the patient whose record this touched or showed.
    pub fn patient(mut self, patient_id: Option<i64>) -> Self {
        self.patient_id = patient_id;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// Writes `event` to the audit log inside the writer's transaction; its row id.
/// (Only the writer calls this: it adds the entry's change row beside it.)
pub(crate) fn insert(tx: &Connection, e: &Event) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO audit_log
             (at, user_id, username, action, status, elapsed_ms, subject, detail, patient_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.at,
        e.user_id,
        e.username,
        e.action.as_str(),
        e.status.as_str(),
        e.elapsed_ms,
        e.subject,
        e.detail,
        e.patient_id
    ])?;
    Ok(tx.last_insert_rowid())
}

fn entry(row: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.get("id")?,
        at: row.get("at")?,
        username: row.get("username")?,
        action: row.get("action")?,
        status: row.get("status")?,
        elapsed_ms: row.get("elapsed_ms")?,
        subject: row.get("subject")?,
        detail: row.get("detail")?,
    })
}

/// A filter's time as times are stored ("2026-11-30T03:00:00.000Z", UTC), so that
/// text order is time order whatever offset the caller wrote; other text as given.
fn stored_time(rfc3339: &str) -> String {
    match unix_seconds(rfc3339.trim()) {
        Some(unix) => rfc3339_utc(unix).replace('Z', ".000Z"),
        None => rfc3339.to_string(),
    }
}

fn where_clause(filter: &AuditFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    let mut add = |sql: &str, value: &Option<String>| {
        if let Some(v) = value.as_ref().filter(|v| !v.trim().is_empty()) {
            values.push(v.trim().to_string());
            clauses.push(sql.replace('?', &format!("?{}", values.len())));
        }
    };
    add(
        "patient_id IN (SELECT id FROM patients WHERE record_number = ? COLLATE NOCASE)",
        &filter.patient,
    );
    add("username = ? COLLATE NOCASE", &filter.username);
    add("action = ?", &filter.action);
    add("status = ?", &filter.status);
    add("at >= ?", &filter.from.as_deref().map(stored_time));
    add("at < ?", &filter.to.as_deref().map(stored_time));
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

/// Entries matching `filter`, newest first, with the total count.
pub fn query(
    conn: &Connection,
    filter: &AuditFilter,
    limit: u32,
    offset: u32,
) -> rusqlite::Result<AuditPage> {
    page(
        conn,
        filter,
        None,
        &format!("ORDER BY at DESC, id DESC LIMIT {limit} OFFSET {offset}"),
    )
}

/// Entries matching `filter` with an id below `before` (all when `None`), newest
/// (highest id) first, with the total matching `filter`. Paging by id: entries
/// written meanwhile have higher ids, so a reader going down the pages with the
/// last id it saw never skips or repeats one, however fast the log grows.
pub fn query_before(
    conn: &Connection,
    filter: &AuditFilter,
    limit: u32,
    before: Option<i64>,
) -> rusqlite::Result<AuditPage> {
    page(
        conn,
        filter,
        before,
        &format!("ORDER BY id DESC LIMIT {limit}"),
    )
}

/// One page: the entries matching `filter` (and below id `before`), in the order and
/// limit `order`, with the total matching `filter` alone.
fn page(
    conn: &Connection,
    filter: &AuditFilter,
    before: Option<i64>,
    order: &str,
) -> rusqlite::Result<AuditPage> {
    let (clause, values) = where_clause(filter);
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM audit_log {clause}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let clause = match before {
        None => clause,
        Some(id) if clause.is_empty() => format!("WHERE id < {id}"),
        Some(id) => format!("{clause} AND id < {id}"),
    };
    let mut stmt = conn.prepare(&format!("SELECT * FROM audit_log {clause} {order}"))?;
    let entries = stmt
        .query_map(params_from_iter(values.iter()), entry)?
        .collect::<Result<_, _>>()?;
    Ok(AuditPage {
        entries,
        total: total as u64,
    })
}

/// Every entry matching `filter`, oldest first, as CSV for programs: times in ISO 8601
/// with the offset of `zone` ("2026-11-30T09:15:03-03:00"), numbers with a point.
pub fn export_csv(
    conn: &Connection,
    filter: &AuditFilter,
    zone: &dyn Zone,
) -> Result<Vec<u8>, String> {
    let (clause, values) = where_clause(filter);
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM audit_log {clause} ORDER BY at, id"))
        .map_err(|e| e.to_string())?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "id",
        "at",
        "user",
        "action",
        "status",
        "elapsed_ms",
        "subject",
        "detail",
    ])
    .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(params_from_iter(values.iter()), entry)
        .map_err(|e| e.to_string())?;
    for r in rows {
        let e = r.map_err(|e| e.to_string())?;
        out.write_record([
            e.id.to_string(),
            LocalTime::of(&e.at, zone).map(|t| t.iso()).unwrap_or(e.at),
            e.username.unwrap_or_default(),
            e.action,
            e.status,
            format!("{:.3}", e.elapsed_ms),
            e.subject.unwrap_or_default(),
            e.detail,
        ])
        .map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}
