//! Integration clients: API keys generated from the OS random source, stored as
//! argon2id hashes (the keys' own cheap profile, `auth::hash_key`) and looked up by a
//! public prefix. A key that verified once is remembered in memory by its SHA-256
//! (never the key), so each request does not pay for argon2; so is a key that
//! failed, so repeating it costs nothing either.

use crate::auth::{hash_key, verify_key, Pace};
use cardiorisk_contract::ApiClient;
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// What a request authenticated with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub id: i64,
    pub per_minute: u32,
}

/// `crk_<8 hex prefix>_<48 hex secret>`.
pub fn new_key() -> (String, String) {
    let token = crate::auth::random_token();
    let prefix = token[..8].to_string();
    (format!("crk_{prefix}_{}", &token[8..56]), prefix)
}

/// The public part of a well-formed key.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("crk_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && secret.len() == 48).then_some(prefix)
}

fn client(row: &Row) -> rusqlite::Result<ApiClient> {
    Ok(ApiClient {
        id: row.get("id")?,
        name: row.get("name")?,
        plan: row.get("plan")?,
        per_minute: row.get("per_minute")?,
        key_prefix: row.get("key_prefix")?,
        created_at: row.get("created_at")?,
    })
}

const SELECT: &str =
    "SELECT c.id, c.name, c.plan, p.per_minute, c.key_prefix, c.created_at, c.key_hash
     FROM api_clients c JOIN plans p ON p.name = c.plan";

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ApiClient>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY c.id"))?;
    let rows = stmt.query_map([], client)?;
    rows.collect()
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<ApiClient>> {
    conn.query_row(&format!("{SELECT} WHERE c.id = ?1"), [id], client)
        .optional()
}

pub fn plan_exists(conn: &Connection, plan: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT COUNT(*) FROM plans WHERE name = ?1", [plan], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

/// Creates or changes a plan's rate.
pub fn set_plan(conn: &Connection, plan: &str, per_minute: u32) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO plans (name, per_minute) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET per_minute = excluded.per_minute",
        params![plan, per_minute],
    )?;
    Ok(())
}

/// Inserts a client; returns its id and the key (shown once).
pub fn insert(conn: &Connection, name: &str, plan: &str) -> rusqlite::Result<(i64, String)> {
    let (key, prefix) = new_key();
    conn.execute(
        "INSERT INTO api_clients (name, plan, key_prefix, key_hash) VALUES (?1, ?2, ?3, ?4)",
        params![name, plan, prefix, hash_key(&key)],
    )?;
    Ok((conn.last_insert_rowid(), key))
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM api_clients WHERE id = ?1", [id])
}

/// Wrong keys remembered at most; past it, they are all forgotten (a forgotten one
/// is only checked again).
const MAX_WRONG_KEYS: usize = 10_000;

/// What checking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Valid(ClientAuth),
    /// Malformed, unknown or wrong; `hashed` when an argon2 check was needed to know.
    Refused {
        hashed: bool,
    },
}

/// How long checking a key takes, so a key refused without a hash (unknown prefix,
/// known wrong key) is answered after the same time.
pub static KEY_CHECKS: Pace = Pace::new();

/// How long one API key verification takes here; measured once on first need.
pub fn typical_key_verification() -> std::time::Duration {
    KEY_CHECKS.typical().unwrap_or_else(|| {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = DUMMY.get_or_init(|| hash_key(&crate::auth::random_token()));
        let started = std::time::Instant::now();
        verify_key("", hash);
        KEY_CHECKS.note(started.elapsed());
        KEY_CHECKS.typical().unwrap_or_default()
    })
}

/// Keys already verified, and keys already refused, by SHA-256.
#[derive(Default)]
pub struct KeyCache {
    valid: Mutex<HashMap<[u8; 32], ClientAuth>>,
    wrong: Mutex<HashMap<[u8; 32], ()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl KeyCache {
    pub fn clear(&self) {
        lock(&self.valid).clear();
        lock(&self.wrong).clear();
    }

    /// The client of a key that verified before (no hashing, no database).
    pub fn cached(&self, key: &str) -> Option<ClientAuth> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        lock(&self.valid).get(&digest).cloned()
    }

    /// Checks a key: from memory when it was checked before, else by its prefix and
    /// an argon2 verification (only when the prefix exists). A right key hashed with
    /// older parameters is given to `rehash` (client id, new hash, old hash) to store.
    pub fn authenticate(
        &self,
        reader: &Mutex<Connection>,
        key: &str,
        rehash: impl FnOnce(i64, &str, &str),
    ) -> rusqlite::Result<KeyCheck> {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if let Some(auth) = lock(&self.valid).get(&digest) {
            return Ok(KeyCheck::Valid(auth.clone()));
        }
        let refused = KeyCheck::Refused { hashed: false };
        if lock(&self.wrong).contains_key(&digest) {
            return Ok(refused);
        }
        let Some(prefix) = prefix_of(key) else {
            return Ok(refused);
        };
        let found = lock(reader)
            .query_row(
                &format!("{SELECT} WHERE c.key_prefix = ?1"),
                [prefix],
                |r| {
                    Ok((
                        r.get::<_, i64>("id")?,
                        r.get::<_, u32>("per_minute")?,
                        r.get::<_, String>("key_hash")?,
                    ))
                },
            )
            .optional()?;
        let Some((id, per_minute, hash)) = found else {
            return Ok(refused);
        };
        let started = std::time::Instant::now();
        let verified = verify_key(key, &hash);
        KEY_CHECKS.note(started.elapsed());
        match verified {
            Some(rehashed) => {
                if let Some(new_hash) = rehashed {
                    rehash(id, &new_hash, &hash);
                }
                let auth = ClientAuth { id, per_minute };
                lock(&self.valid).insert(digest, auth.clone());
                Ok(KeyCheck::Valid(auth))
            }
            None => {
                let mut wrong = lock(&self.wrong);
                crate::bounded::make_room(&mut wrong, &digest, MAX_WRONG_KEYS, |_, _| false);
                wrong.insert(digest, ());
                Ok(KeyCheck::Refused { hashed: true })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_public_prefix_and_a_long_secret() {
        let (key, prefix) = new_key();
        assert_eq!(prefix_of(&key), Some(prefix.as_str()));
        assert_eq!(key.len(), 4 + 8 + 1 + 48);
        assert_ne!(new_key().0, key);
        assert_eq!(prefix_of("crk_short_x"), None);
    }
}
