//! Typed events and the audit log.
//!
//! A service's writes go through the one writer (`service::writer`), which adds the
//! audit row describing them, and its change rows, in the same transaction, so
//! neither exists without the other; after commit it publishes them on the bus.

use cardiorisk_contract::{rfc3339_utc, unix_seconds, LocalTime, Zone};
use cardiorisk_contract::{AuditChainReport, AuditEntry, AuditFilter, AuditPage};
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

/// The last entry of the log as the chain sees it: its id and its link (`None` when
/// the log is empty or its last entry predates the chain).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainHead {
    last_id: i64,
    link: Option<[u8; 32]>,
}

/// Reads the log's last entry inside the writer's transaction (IMMEDIATE: no other
/// connection can append before this one commits).
pub(crate) fn chain_head(tx: &Connection) -> rusqlite::Result<ChainHead> {
    use rusqlite::OptionalExtension;
    let last = tx
        .prepare_cached("SELECT id, chain FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
        })
        .optional()?;
    Ok(match last {
        None => ChainHead {
            last_id: 0,
            link: None,
        },
        Some((last_id, link)) => ChainHead {
            last_id,
            link: link.and_then(|l| l.try_into().ok()),
        },
    })
}

/// Writes `event` to the audit log inside the writer's transaction, as the entry
/// after `head`, linked to it; its row id. (Only the writer calls this: it adds the
/// entry's change row beside it.)
pub(crate) fn insert(tx: &Connection, e: &Event, head: &mut ChainHead) -> rusqlite::Result<i64> {
    let id = head.last_id + 1;
    let fields = Fields {
        at: &e.at,
        user_id: e.user_id,
        username: e.username.as_deref(),
        action: e.action.as_str(),
        status: e.status.as_str(),
        elapsed_ms: e.elapsed_ms,
        subject: e.subject.as_deref(),
        detail: &e.detail,
        patient_id: e.patient_id,
    };
    let link = fields.link(&head.link.unwrap_or(GENESIS), id);
    tx.prepare_cached(
        "INSERT INTO audit_log
             (id, at, user_id, username, action, status, elapsed_ms, subject, detail,
              patient_id, chain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        e.at,
        e.user_id,
        e.username,
        e.action.as_str(),
        e.status.as_str(),
        e.elapsed_ms,
        e.subject,
        e.detail,
        e.patient_id,
        &link[..]
    ])?;
    *head = ChainHead {
        last_id: id,
        link: Some(link),
    };
    Ok(id)
}

/// Links entries after id `after` that were copied in without one (a restore's
/// carried entries), in id order, onto the entry before them.
pub(crate) fn link_after(tx: &Connection, after: i64) -> rusqlite::Result<()> {
    use rusqlite::OptionalExtension;
    let mut link = tx
        .query_row(
            "SELECT chain FROM audit_log WHERE id <= ?1 ORDER BY id DESC LIMIT 1",
            [after],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten()
        .and_then(|l| <[u8; 32]>::try_from(l).ok())
        .unwrap_or(GENESIS);
    let mut read = tx.prepare(&format!(
        "SELECT {CHAINED_COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id"
    ))?;
    let mut update = tx.prepare("UPDATE audit_log SET chain = ?2 WHERE id = ?1")?;
    let mut rows = read.query([after])?;
    while let Some(row) = rows.next()? {
        let (id, fields) = stored_fields(row)?;
        link = fields.as_ref().link(&link, id);
        update.execute(params![id, &link[..]])?;
    }
    Ok(())
}

/// The link before the first chained entry.
const GENESIS: [u8; 32] = [0; 32];

/// The columns a link covers, in the order [`stored_fields`] reads them.
const CHAINED_COLUMNS: &str =
    "id, at, user_id, username, action, status, elapsed_ms, subject, detail, patient_id";

/// An entry's content as the chain covers it.
struct Fields<'a> {
    at: &'a str,
    user_id: Option<i64>,
    username: Option<&'a str>,
    action: &'a str,
    status: &'a str,
    elapsed_ms: f64,
    subject: Option<&'a str>,
    detail: &'a str,
    patient_id: Option<i64>,
}

struct OwnedFields {
    at: String,
    user_id: Option<i64>,
    username: Option<String>,
    action: String,
    status: String,
    elapsed_ms: f64,
    subject: Option<String>,
    detail: String,
    patient_id: Option<i64>,
}

impl OwnedFields {
    fn as_ref(&self) -> Fields<'_> {
        Fields {
            at: &self.at,
            user_id: self.user_id,
            username: self.username.as_deref(),
            action: &self.action,
            status: &self.status,
            elapsed_ms: self.elapsed_ms,
            subject: self.subject.as_deref(),
            detail: &self.detail,
            patient_id: self.patient_id,
        }
    }
}

fn stored_fields(row: &Row) -> rusqlite::Result<(i64, OwnedFields)> {
    Ok((
        row.get(0)?,
        OwnedFields {
            at: row.get(1)?,
            user_id: row.get(2)?,
            username: row.get(3)?,
            action: row.get(4)?,
            status: row.get(5)?,
            elapsed_ms: row.get(6)?,
            subject: row.get(7)?,
            detail: row.get(8)?,
            patient_id: row.get(9)?,
        },
    ))
}

impl Fields<'_> {
    /// SHA-256 over a label, the previous link, the entry's id and every column,
    /// each text length-prefixed and each absent value marked, so that no two
    /// different entries hash the same bytes.
    fn link(&self, previous: &[u8; 32], id: i64) -> [u8; 32] {
        use sha2::Digest;
        fn text(d: &mut sha2::Sha256, t: &str) {
            d.update((t.len() as u64).to_be_bytes());
            d.update(t.as_bytes());
        }
        fn maybe_text(d: &mut sha2::Sha256, t: Option<&str>) {
            match t {
                None => d.update([0]),
                Some(t) => {
                    d.update([1]);
                    text(d, t);
                }
            }
        }
        fn maybe_int(d: &mut sha2::Sha256, n: Option<i64>) {
            match n {
                None => d.update([0]),
                Some(n) => {
                    d.update([1]);
                    d.update(n.to_be_bytes());
                }
            }
        }
        let mut d = sha2::Sha256::new();
        d.update(b"cardiorisk-audit-chain/1\0");
        d.update(previous);
        d.update(id.to_be_bytes());
        text(&mut d, self.at);
        maybe_int(&mut d, self.user_id);
        maybe_text(&mut d, self.username);
        text(&mut d, self.action);
        text(&mut d, self.status);
        d.update(self.elapsed_ms.to_bits().to_be_bytes());
        maybe_text(&mut d, self.subject);
        text(&mut d, self.detail);
        maybe_int(&mut d, self.patient_id);
        d.finalize().into()
    }
}

/// Walks the whole log in id order and checks every link: the entries before the
/// chain began may have none; from the first linked entry on, each must have one,
/// follow the previous id, and match its content and the previous link. Reports the
/// first that does not.
/// The log's last entry as the key file records it; `None` while the log is empty or
/// its last entry predates the chain.
pub fn last_linked(conn: &Connection) -> rusqlite::Result<Option<crate::keys::AuditHead>> {
    use rusqlite::OptionalExtension;
    let last = conn
        .query_row(
            "SELECT id, at, chain FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(last.and_then(|(id, at, link)| {
        let link = link?;
        Some(crate::keys::AuditHead {
            id,
            at,
            link: crate::keys::hex(&link),
        })
    }))
}

/// As [`verify_chain_to`], without a recorded last entry.
pub fn verify_chain(conn: &Connection) -> rusqlite::Result<AuditChainReport> {
    verify_chain_to(conn, None)
}

/// Walks the log in id order and names the first entry whose link does not hold; with
/// `recorded` (the last entry the key file knows), also entries removed from the end.
pub fn verify_chain_to(
    conn: &Connection,
    recorded: Option<&crate::keys::AuditHead>,
) -> rusqlite::Result<AuditChainReport> {
    use cardiorisk_contract::{AuditChainBreak, AuditChainFault};
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHAINED_COLUMNS}, chain FROM audit_log ORDER BY id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut report = AuditChainReport {
        entries: 0,
        unchained: 0,
        chained_since: None,
        broken: None,
    };
    // The previous entry's id and link, once the chain has begun.
    let mut previous: Option<(i64, [u8; 32])> = None;
    // The recorded entry's link as found in the log, once walked past.
    let mut recorded_found: Option<[u8; 32]> = None;
    while let Some(row) = rows.next()? {
        report.entries += 1;
        if report.broken.is_some() {
            continue;
        }
        let (id, fields) = stored_fields(row)?;
        let stored: Option<Vec<u8>> = row.get(10)?;
        let fault = match (previous, stored) {
            (None, None) => {
                report.unchained += 1;
                None
            }
            (None, Some(link)) => {
                report.chained_since = Some(fields.at.clone());
                let expected = fields.as_ref().link(&GENESIS, id);
                let fault = (link != expected).then_some(AuditChainFault::Changed);
                previous = Some((id, expected));
                fault
            }
            (Some(_), None) => Some(AuditChainFault::Unlinked),
            (Some((last_id, last_link)), Some(link)) => {
                let expected = fields.as_ref().link(&last_link, id);
                previous = Some((id, expected));
                if id != last_id + 1 {
                    Some(AuditChainFault::Missing)
                } else if link != expected {
                    Some(AuditChainFault::Changed)
                } else {
                    None
                }
            }
        };
        if recorded.is_some_and(|r| r.id == id) {
            recorded_found = previous.map(|(_, link)| link);
        }
        if let Some(reason) = fault {
            report.broken = Some(AuditChainBreak {
                id,
                at: fields.at,
                reason,
            });
        }
    }
    if let (None, Some(recorded)) = (&report.broken, recorded) {
        let reason = match recorded_found {
            None => Some(AuditChainFault::Truncated),
            Some(link) if crate::keys::hex(&link) != recorded.link => {
                Some(AuditChainFault::Changed)
            }
            Some(_) => None,
        };
        report.broken = reason.map(|reason| AuditChainBreak {
            id: recorded.id,
            at: recorded.at.clone(),
            reason,
        });
    }
    Ok(report)
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
