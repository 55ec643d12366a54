//! The change log: every change of state commits with its rows (UUIDv7 ids, this
//! installation's id, entity, operation, new state), the log only grows, the typed
//! change is published after commit, and a restore keeps the laptop's own log and id.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_contract::{AuditAction, PatientInput, PREF_UNITS};
use cardiorisk_core::changes::{Entity, Op};
use cardiorisk_core::service::Services;
use support::{admin, doctor, measurements};

struct Row {
    id: String,
    installation: String,
    entity: String,
    entity_id: String,
    op: String,
    state: Option<serde_json::Value>,
}

fn rows(dir: &std::path::Path) -> Vec<Row> {
    let conn = support::open_db(&dir.join("cardiorisk.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, installation, entity, entity_id, op, state FROM change_log ORDER BY seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(Row {
                id: uuid::Uuid::from_slice(&r.get::<_, Vec<u8>>(0)?)
                    .expect("a change's id is 16 bytes")
                    .to_string(),
                installation: r.get(1)?,
                entity: r.get(2)?,
                entity_id: r.get(3)?,
                op: r.get(4)?,
                state: r
                    .get::<_, Option<String>>(5)?
                    .map(|s| serde_json::from_str(&s).unwrap()),
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn input(record_number: &str, name: &str) -> PatientInput {
    PatientInput {
        record_number: record_number.into(),
        name: name.into(),
        birth_year: Some(1950),
        notes: String::new(),
    }
}

#[test]
fn every_change_commits_with_its_rows_and_the_log_only_grows() {
    let dir = tempfile::tempdir().unwrap();
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let mut feed = s.subscribe();
    let mut domain_feed = s.subscribe_domain_changes();
    let admin_token = admin(&s);
    let rosa = doctor(&s, &admin_token, "rosa");
    let ana = s.create_patient(&rosa, &input("HC-1", "Ana")).unwrap();
    s.update_patient(&rosa, ana.id, &input("HC-1", "Ana María"))
        .unwrap();
    let assessed = s.assess(&rosa, Some(ana.id), &measurements()).unwrap();
    s.patient_record(&rosa, ana.id).unwrap();
    let client = s.create_client(&admin_token, "lab", "FREEMIUM").unwrap();
    s.delete_client(&admin_token, client.client.id).unwrap();
    s.set_plan(&admin_token, "FREEMIUM", 7).unwrap();
    s.set_preference(&admin_token, PREF_UNITS, "original")
        .unwrap();
    s.sign_out(&rosa).unwrap();

    let log = rows(dir.path());
    let installation = s.installation_id().to_string();
    assert_eq!(installation.len(), 36, "{installation}");
    let mut ids: Vec<&str> = log.iter().map(|r| r.id.as_str()).collect();
    for (row, id) in log.iter().zip(&ids) {
        let uuid = uuid_fields(id);
        assert_eq!(uuid.0, 7, "{id} is a UUIDv7");
        assert_eq!(row.installation, installation);
    }
    let in_order = ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, in_order, "UUIDv7 ids sort in commit order");
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "ids are unique");

    let find = |entity: &str, op: &str| {
        log.iter()
            .filter(|r| r.entity == entity && r.op == op)
            .collect::<Vec<_>>()
    };
    let updated = find("patient", "update");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].entity_id, ana.id.to_string());
    let state = updated[0].state.as_ref().expect("a patient's new state");
    assert_eq!(state["name"], "Ana María");
    assert_eq!(state["record_number"], "HC-1");
    let appended = find("assessment", "append");
    assert_eq!(appended.len(), 1);
    assert_eq!(appended[0].entity_id, assessed.assessment_id.to_string());
    assert!(appended[0].state.is_none(), "named by its id");
    let client_state = find("client", "insert")[0].state.clone().unwrap();
    assert_eq!(client_state["name"], "lab");
    assert!(find("client", "delete")[0].state.is_none());
    // The log cannot forget: no password's or key's hash goes into it.
    let account_state = find("account", "insert")[1].state.clone().unwrap();
    assert_eq!(account_state["username"], "rosa");
    for (state, secret) in [
        (&account_state, "password_hash"),
        (&client_state, "key_hash"),
    ] {
        assert!(state.get(secret).is_none(), "{secret} in {state}");
    }
    assert_eq!(
        find("plan", "update")[0].state.as_ref().unwrap()["per_minute"],
        7
    );
    assert_eq!(
        find("settings", "update")[0].state.as_ref().unwrap()[PREF_UNITS],
        "original"
    );
    assert_eq!(find("session", "sign_out").len(), 1);
    assert_eq!(find("account", "insert").len(), 2, "set-up and rosa");
    // A read changes nothing but the audit log: its entry is its only row.
    let audit_entries = support::count(dir.path(), "SELECT COUNT(*) FROM audit_log");
    assert_eq!(find("audit_entry", "append").len() as i64, audit_entries);
    assert!(find("patient", "viewed").is_empty());

    // Append-only, whatever program tries otherwise.
    let conn = support::open_db(&dir.path().join("cardiorisk.db")).unwrap();
    for sql in [
        "UPDATE change_log SET op = 'delete'",
        "DELETE FROM change_log WHERE seq = 1",
    ] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }

    // Published after commit, typed.
    let mut published = Vec::new();
    while let Ok(commit) = feed.try_recv() {
        published.extend(commit.iter().cloned());
    }
    let created = published
        .iter()
        .find(|c| c.event.action == AuditAction::PatientCreated)
        .expect("the patient's creation was published");
    assert_eq!(created.changes[0].entity, Entity::Patient);
    assert_eq!(created.changes[0].op, Op::Insert);
    assert_eq!(created.changes[1].entity, Entity::AuditEntry);
    assert_eq!(
        published.iter().map(|c| c.changes.len()).sum::<usize>(),
        log.len(),
        "every committed row was published"
    );
    // The domain feed carries the changes, not the reads.
    let mut domain = Vec::new();
    while let Ok(commit) = domain_feed.try_recv() {
        domain.extend(commit.iter().map(|c| c.event.action));
    }
    assert!(domain.contains(&AuditAction::PatientUpdated), "{domain:?}");
    assert!(!domain.contains(&AuditAction::PatientViewed), "{domain:?}");
}

/// The version nibble and the variant bits of a UUID in text form.
fn uuid_fields(id: &str) -> (u32, u32) {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    assert_eq!(hex.len(), 32, "{id}");
    let version = u32::from_str_radix(&hex[12..13], 16).unwrap();
    let variant = u32::from_str_radix(&hex[16..17], 16).unwrap() >> 2;
    assert_eq!(variant, 0b10, "{id}: RFC 9562 variant");
    (version, variant)
}

/// Two laptops never make the same id; a backup restored from another keeps this
/// laptop's id and its log, which records the restore.
#[test]
fn installations_have_their_own_ids_and_a_restore_keeps_the_log() {
    let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Services::open(here.path(), &support::test_key()).unwrap();
    let b = Services::open(there.path(), &support::test_key()).unwrap();
    assert_ne!(a.installation_id(), b.installation_id());
    let a_token = admin(&a);
    let b_token = admin(&b);
    b.create_patient(&b_token, &input("HC-9", "Eva")).unwrap();
    let backup = there.path().join("backup.db");
    b.backup(&b_token, &backup).unwrap();
    a.create_patient(&a_token, &input("HC-1", "Ana")).unwrap();
    let before = rows(here.path());

    a.restore(&a_token, &backup).unwrap();
    let after = rows(here.path());
    let mine = a.installation_id().to_string();
    assert_eq!(
        after[..before.len()]
            .iter()
            .map(|r| &r.id)
            .collect::<Vec<_>>(),
        before.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "the log before the restore is kept whole"
    );
    let restored = after
        .iter()
        .find(|r| r.entity == "database" && r.op == "restore")
        .expect("the restore is a change");
    assert_eq!(restored.installation, mine);
    drop(a);
    let reopened = Services::open(here.path(), &support::test_key()).unwrap();
    assert_eq!(
        reopened.installation_id(),
        mine,
        "the id survives restore and restart"
    );
    let ids: std::collections::HashSet<String> = rows(here.path())
        .into_iter()
        .chain(rows(there.path()))
        .map(|r| r.id)
        .collect();
    assert_eq!(
        ids.len(),
        rows(here.path()).len() + rows(there.path()).len(),
        "no id is on both laptops"
    );
}

#[test]
fn a_log_written_as_text_ids_keeps_every_row_and_id_at_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Services::open(dir.path(), &support::test_key()).unwrap();
        let token = admin(&s);
        s.create_patient(&token, &input("HC-1", "Ana")).unwrap();
    }
    let before = rows(dir.path());
    assert!(before.len() >= 4, "set-up, sign-in, a patient");
    {
        // As schema 7 left them: text ids under a unique index, and the audit log's
        // outbox key.
        let conn = support::open_db(&dir.path().join("cardiorisk.db")).unwrap();
        conn.execute_batch(
            "ALTER TABLE audit_log ADD COLUMN event_id INTEGER;
             CREATE UNIQUE INDEX audit_event ON audit_log (event_id);
             CREATE TABLE change_log_v7 (
                 seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
                 installation TEXT NOT NULL, user_id INTEGER, entity TEXT NOT NULL,
                 entity_id TEXT NOT NULL, op TEXT NOT NULL, state TEXT);
             INSERT INTO change_log_v7
             SELECT seq, lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' ||
                    substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' ||
                    substr(hex(id), 21)),
                    at, installation, user_id, entity, entity_id, op,
                    CASE WHEN entity = 'account'
                         THEN json_set(state, '$.password_hash', '$argon2id$v=19$old')
                         ELSE state END
               FROM change_log;
             DROP TABLE change_log;
             ALTER TABLE change_log_v7 RENAME TO change_log;
             PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    let s = Services::open(dir.path(), &support::test_key()).unwrap();
    let after = rows(dir.path());
    assert_eq!(
        after.iter().map(|r| (&r.id, &r.entity)).collect::<Vec<_>>(),
        before
            .iter()
            .map(|r| (&r.id, &r.entity))
            .collect::<Vec<_>>(),
        "every row kept, with its id"
    );
    let columns = support::count(
        dir.path(),
        "SELECT COUNT(*) FROM pragma_table_info('audit_log') WHERE name = 'event_id'",
    );
    assert_eq!(columns, 0, "the outbox key is gone");
    let hashes = support::count(
        dir.path(),
        "SELECT COUNT(*) FROM change_log WHERE state LIKE '%password_hash%'",
    );
    assert_eq!(hashes, 0, "the hashes schema 7 logged are gone");
    assert!(after
        .iter()
        .any(|r| r.entity == "account" && r.state.is_some()));
    // The log still only grows, and grows in the new form.
    s.create_patient(&support::sign_in_admin(&s), &input("HC-2", "Eva"))
        .unwrap();
    assert!(rows(dir.path()).len() > after.len());
    let conn = support::open_db(&dir.path().join("cardiorisk.db")).unwrap();
    assert!(conn.execute("DELETE FROM change_log", []).is_err());
}
