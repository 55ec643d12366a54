//! The change log: one append-only row for every change of state, written in the
//! same transaction as the change by the one writer (`service::writer`), so nothing
//! commits without its row. Each row has a UUIDv7 id (time-ordered, never the same
//! on two installations), the installation that made it, who, the entity and its id,
//! the operation, and the entity's new state (or none: an append-only record is
//! named by its id, a deleted one has no state). It is the seam through which a
//! clinic's laptops will sync (ADR 0026).

use crate::audit::{Action, Event, Status};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Patient,
    Assessment,
    Account,
    Session,
    Client,
    Plan,
    Settings,
    Model,
    Database,
    /// An audit entry (every audited action, reads and gateway requests included).
    AuditEntry,
}

/// What happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Insert,
    Update,
    Delete,
    /// An append-only record was added; the row names it by id.
    Append,
    SignIn,
    SignOut,
    Activate,
    Restore,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Patient => "patient",
            Entity::Assessment => "assessment",
            Entity::Account => "account",
            Entity::Session => "session",
            Entity::Client => "client",
            Entity::Plan => "plan",
            Entity::Settings => "settings",
            Entity::Model => "model",
            Entity::Database => "database",
            Entity::AuditEntry => "audit_entry",
        }
    }

    /// The table and key column holding the entity's current state, for those
    /// whose state changes (the row is read back into the change).
    fn table(self) -> Option<(&'static str, &'static str)> {
        match self {
            Entity::Patient => Some(("patients", "id")),
            Entity::Account => Some(("users", "id")),
            Entity::Client => Some(("api_clients", "id")),
            Entity::Plan => Some(("plans", "name")),
            _ => None,
        }
    }
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Append => "append",
            Op::SignIn => "sign_in",
            Op::SignOut => "sign_out",
            Op::Activate => "activate",
            Op::Restore => "restore",
        }
    }
}

/// One row of the change log, as committed and as published on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// UUIDv7 (stored as its 16 bytes; text in JSON).
    #[serde(with = "uuid_text")]
    pub id: uuid::Uuid,
    pub at: String,
    pub installation: String,
    pub user_id: Option<i64>,
    pub entity: Entity,
    pub entity_id: String,
    pub op: Op,
    /// The entity's state after the change (JSON), when it has one that changes.
    pub state: Option<serde_json::Value>,
}

/// The domain change an audited action made, if any: which entity and how. Every
/// action is listed, so a new one must be decided here. Refusals, failures and reads
/// change nothing but the audit log (their entry is a change of its own). Failed
/// sign-in counters are this laptop's own protection and are not logged as changes.
pub fn domain_change(action: Action) -> Option<(Entity, Op)> {
    use Action::*;
    Some(match action {
        SetupCompleted | AccountCreated => (Entity::Account, Op::Insert),
        AccountChanged | RecoveryKeyUsed => (Entity::Account, Op::Update),
        SignInSucceeded => (Entity::Session, Op::SignIn),
        SignOut => (Entity::Session, Op::SignOut),
        ClientCreated => (Entity::Client, Op::Insert),
        ClientDeleted => (Entity::Client, Op::Delete),
        ClientKeyRehashed => (Entity::Client, Op::Update),
        PlanChanged => (Entity::Plan, Op::Update),
        PatientCreated => (Entity::Patient, Op::Insert),
        PatientUpdated => (Entity::Patient, Op::Update),
        AssessmentCreated => (Entity::Assessment, Op::Append),
        ModelTrained => (Entity::Model, Op::Insert),
        ModelActivated => (Entity::Model, Op::Activate),
        DatabaseRestored => (Entity::Database, Op::Restore),
        SettingsChanged => (Entity::Settings, Op::Update),
        SignInFailed
        | AccountLocked
        | SessionDenied
        | AssessmentRefused
        | GatewayRequest
        | DatabaseBackup
        | AuditExported
        | ReportExported
        | SupportBundleExported
        | PatientViewed
        | PatientsSearched
        | ReportViewed
        | ReportPrinted
        // This laptop's own: its file sealed, its key file's recovery wrap replaced.
        | DatabaseSealed
        | RecoveryKeyIssued => return None,
    })
}

/// This installation's id, made at its first start (kept in the database, and not
/// replaced by a restore: a backup restored elsewhere keeps that laptop's id).
pub fn installation_id(conn: &Connection) -> rusqlite::Result<String> {
    if let Some(id) = conn
        .query_row("SELECT id FROM installation", [], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO installation (only, id) VALUES (1, ?1) ON CONFLICT (only) DO NOTHING",
        [&id],
    )?;
    conn.query_row("SELECT id FROM installation", [], |r| r.get(0))
}

/// Appends the change rows of one audited action inside the writer's transaction:
/// the domain change (if the action made one) and the audit entry itself.
pub fn append(
    tx: &Transaction,
    installation: &str,
    event: &Event,
    audit_entry: i64,
) -> rusqlite::Result<Vec<Change>> {
    let mut changes = Vec::with_capacity(2);
    let domain = domain_change(event.action).filter(|_| event.status == Status::Ok);
    if let Some((entity, op)) = domain {
        let entity_id = entity_id(entity, event);
        let state = match entity.table() {
            Some((table, key)) if op != Op::Delete => row_state(tx, table, key, &entity_id)?,
            _ if entity == Entity::Settings => Some(settings_state(tx)?),
            _ => None,
        };
        changes.push(new_change(
            installation,
            event,
            entity,
            entity_id,
            op,
            state,
        ));
    }
    changes.push(new_change(
        installation,
        event,
        Entity::AuditEntry,
        audit_entry.to_string(),
        Op::Append,
        None,
    ));
    let mut insert = tx.prepare_cached(
        "INSERT INTO change_log (id, at, installation, user_id, entity, entity_id, op, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for c in &changes {
        insert.execute(params![
            c.id.as_bytes(),
            c.at,
            c.installation,
            c.user_id,
            c.entity.as_str(),
            c.entity_id,
            c.op.as_str(),
            c.state.as_ref().map(|s| s.to_string()),
        ])?;
    }
    Ok(changes)
}

fn new_change(
    installation: &str,
    event: &Event,
    entity: Entity,
    entity_id: String,
    op: Op,
    state: Option<serde_json::Value>,
) -> Change {
    Change {
        id: next_id(),
        at: event.at.clone(),
        installation: installation.to_string(),
        user_id: event.user_id,
        entity,
        entity_id,
        op,
        state,
    }
}

/// The entity's id: from the event's subject ("patient:12" -> "12"); a session or
/// a set-up account is its user's; settings and the database are one each.
fn entity_id(entity: Entity, event: &Event) -> String {
    let from_subject = event
        .subject
        .as_deref()
        .and_then(|s| s.split_once(':'))
        .map(|(_, id)| id.to_string());
    match entity {
        Entity::Settings | Entity::Database => entity.as_str().to_string(),
        Entity::Session => event.user_id.map(|u| u.to_string()).unwrap_or_default(),
        _ => from_subject
            .or_else(|| event.user_id.map(|u| u.to_string()))
            .unwrap_or_default(),
    }
}

/// Columns never copied into the log: it cannot forget, and a password's or a key's
/// hash must be gone once it is changed. Credentials will travel by their own records
/// when laptops sync (ADR 0026).
const SECRET_COLUMNS: &[&str] = &["password_hash", "key_hash"];

/// A row as a JSON object of its columns but secrets (blobs as hex).
fn row_state(
    tx: &Transaction,
    table: &str,
    key: &str,
    id: &str,
) -> rusqlite::Result<Option<serde_json::Value>> {
    let mut stmt = tx.prepare_cached(&format!("SELECT * FROM {table} WHERE {key} = ?1"))?;
    let names: Vec<String> = stmt.column_names().map(|n| n.to_string()).collect();
    stmt.query_row([id], |r| {
        let mut object = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            use rusqlite::types::ValueRef;
            if SECRET_COLUMNS.contains(&name.as_str()) {
                continue;
            }
            let value = match r.get_ref(i)? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(x) => x.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                ValueRef::Blob(b) => b
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<String>()
                    .into(),
            };
            object.insert(name.clone(), value);
        }
        Ok(serde_json::Value::Object(object))
    })
    .optional()
}

fn settings_state(tx: &Transaction) -> rusqlite::Result<serde_json::Value> {
    let mut stmt = tx.prepare_cached("SELECT key, value FROM settings ORDER BY key")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut object = serde_json::Map::new();
    for row in rows {
        let (k, v) = row?;
        object.insert(k, v.into());
    }
    Ok(serde_json::Value::Object(object))
}

/// The next change id: a UUIDv7 whose 74 bits after the millisecond timestamp start
/// at a random value drawn once per process and count up by one per id, so ids made
/// here increase strictly (within a millisecond too, and if the clock steps back),
/// ids from two installations collide only if their random starts do (about one in
/// 2^74), and no id costs a system call for randomness.
fn next_id() -> uuid::Uuid {
    struct Ids {
        last_ms: u64,
        counter: u128,
    }
    static IDS: std::sync::Mutex<Option<Ids>> = std::sync::Mutex::new(None);
    const COUNTER_BITS: u32 = 74;
    const COUNTER_MASK: u128 = (1 << COUNTER_BITS) - 1;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut ids = IDS.lock().unwrap_or_else(|e| e.into_inner());
    let ids = ids.get_or_insert_with(|| Ids {
        last_ms: 0,
        counter: uuid::Uuid::new_v4().as_u128() & COUNTER_MASK,
    });
    ids.counter = (ids.counter + 1) & COUNTER_MASK;
    ids.last_ms = ids.last_ms.max(now_ms);
    let rand_a = ids.counter >> 62;
    let rand_b = ids.counter & ((1 << 62) - 1);
    uuid::Uuid::from_u128(
        (u128::from(ids.last_ms & 0xFFFF_FFFF_FFFF) << 80)
            | (0x7 << 76)
            | (rand_a << 64)
            | (0b10 << 62)
            | rand_b,
    )
}

#[cfg(test)]
mod tests {
    use super::next_id;

    #[test]
    fn change_ids_are_version_7_and_increase_strictly() {
        let ids: Vec<uuid::Uuid> = (0..10_000).map(|_| next_id()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
        for id in &ids {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
        let ms = |id: &uuid::Uuid| id.get_timestamp().unwrap().to_unix();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(ms(&ids[0]).0.abs_diff(now) <= 1, "stamped with the time");
    }
}

mod uuid_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &uuid::Uuid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<uuid::Uuid, D::Error> {
        let text = String::deserialize(d)?;
        uuid::Uuid::parse_str(&text).map_err(serde::de::Error::custom)
    }
}
