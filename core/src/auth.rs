//! Accounts and sessions: argon2id password hashes, lock-out after repeated failures,
//! sessions that end after inactivity. Sessions live in memory only: a restart signs
//! everyone out.

use cardiorisk_contract::{Role, UserInfo};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILED: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// Inactivity after which a session ends.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes encode");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashing")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    let started = Instant::now();
    let right = verify(password, hash);
    PASSWORD_CHECKS.note(started.elapsed());
    right
}

/// Checks `secret` against an argon2 hash with the parameters the hash names.
fn verify(secret: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// argon2id for API keys: 192 random bits cannot be guessed offline at any cost, so
/// the memory-hard cost that protects a person's password buys nothing here, and a
/// cheap check keeps a flood of wrong keys from delaying real clients (ADR 0025).
fn key_hasher() -> argon2::Argon2<'static> {
    let params = argon2::Params::new(KEY_MEMORY_KIB, 1, 1, None).expect("valid argon2 params");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Memory of the API keys' argon2id (KiB).
pub const KEY_MEMORY_KIB: u32 = 256;

pub fn hash_key(key: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes encode");
    key_hasher()
        .hash_password(key.as_bytes(), &salt)
        .expect("argon2id hashing")
        .to_string()
}

/// Checks an API key against its stored hash; `Some(new hash)` when it is right but
/// was hashed with other parameters (a key made by an older version).
pub fn verify_key(key: &str, hash: &str) -> Option<Option<String>> {
    if !verify(key, hash) {
        return None;
    }
    let current = format!("$m={KEY_MEMORY_KIB},t=1,p=1$");
    Some((!hash.contains(&current)).then(|| hash_key(key)))
}

/// A real hash of a random password, checked against when the username is unknown.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()))
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A user row with what sign-in needs.
pub struct Account {
    pub info: UserInfo,
    pub password_hash: String,
    pub failed_attempts: i64,
    pub locked_until: Option<String>,
}

fn account(row: &Row) -> rusqlite::Result<Account> {
    let role: String = row.get("role")?;
    Ok(Account {
        info: UserInfo {
            id: row.get("id")?,
            username: row.get("username")?,
            display_name: row.get("display_name")?,
            role: Role::parse(&role).unwrap_or(Role::Clinician),
            disabled: row.get("disabled")?,
        },
        password_hash: row.get("password_hash")?,
        failed_attempts: row.get("failed_attempts")?,
        locked_until: row.get("locked_until")?,
    })
}

/// Every enabled account's password hash, by username with ASCII letters folded (as
/// SQLite compares usernames).
pub fn password_hashes(
    conn: &Connection,
) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare("SELECT username, password_hash FROM users WHERE NOT disabled")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?.to_ascii_lowercase(), r.get(1)?))
    })?;
    rows.collect()
}

pub fn find_by_name(conn: &Connection, username: &str) -> rusqlite::Result<Option<Account>> {
    conn.query_row(
        "SELECT * FROM users WHERE username = ?1",
        [username],
        account,
    )
    .optional()
}

pub fn find_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Account>> {
    conn.query_row("SELECT * FROM users WHERE id = ?1", [id], account)
        .optional()
}

pub fn count_users(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<UserInfo>> {
    let mut stmt = conn.prepare("SELECT * FROM users ORDER BY username")?;
    let rows = stmt.query_map([], account)?;
    rows.map(|r| r.map(|a| a.info)).collect()
}

pub fn insert(
    conn: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash) VALUES (?1, ?2, ?3, ?4)",
        params![username, display_name, role.as_str(), password_hash],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records a failed attempt; returns whether the account is now locked.
pub fn record_failure(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.execute(
        "UPDATE users SET failed_attempts = failed_attempts + 1,
             locked_until = CASE WHEN failed_attempts + 1 >= ?2
                 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3) ELSE locked_until END
         WHERE id = ?1",
        params![id, MAX_FAILED, format!("+{LOCK_MINUTES} minutes")],
    )?;
    conn.query_row(
        "SELECT failed_attempts >= ?2 FROM users WHERE id = ?1",
        params![id, MAX_FAILED],
        |r| r.get(0),
    )
}

pub fn is_locked(conn: &Connection, account: &Account) -> rusqlite::Result<bool> {
    match &account.locked_until {
        None => Ok(false),
        Some(until) => conn.query_row(
            "SELECT ?1 > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            [until],
            |r| r.get(0),
        ),
    }
}

pub fn record_success(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

pub fn set_disabled(conn: &Connection, id: i64, disabled: bool) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, disabled],
    )
}

pub fn set_role(conn: &Connection, id: i64, role: Role) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![id, role.as_str()],
    )
}

pub fn set_password(conn: &Connection, id: i64, hash: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE users SET password_hash = ?2, failed_attempts = 0, locked_until = NULL WHERE id = ?1",
        params![id, hash],
    )
}

/// Who a live session belongs to.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

struct Live {
    actor: Actor,
    last_seen: Instant,
}

/// The time sessions are measured with; injected by tests so they never sleep.
pub type SessionClock = std::sync::Arc<dyn Fn() -> Instant + Send + Sync>;

/// Live sessions by token, each ending after `idle` without use.
pub struct Sessions {
    live: Mutex<HashMap<String, Live>>,
    idle: Duration,
    clock: SessionClock,
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Self::with_clock(idle, std::sync::Arc::new(Instant::now))
    }

    pub fn with_clock(idle: Duration, clock: SessionClock) -> Self {
        Sessions {
            live: Mutex::new(HashMap::new()),
            idle,
            clock,
        }
    }

    pub fn idle(&self) -> Duration {
        self.idle
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn start(&self, actor: Actor) -> String {
        let token = random_token();
        self.map().insert(
            token.clone(),
            Live {
                actor,
                last_seen: (self.clock)(),
            },
        );
        token
    }

    /// The session's actor, refreshing its activity; `None` if unknown or expired.
    pub fn touch(&self, token: &str) -> Option<Actor> {
        self.lookup(token, true)
    }

    /// The session's actor without counting as activity (a screen polling for
    /// progress must not keep an unattended session alive).
    pub fn peek(&self, token: &str) -> Option<Actor> {
        self.lookup(token, false)
    }

    fn lookup(&self, token: &str, activity: bool) -> Option<Actor> {
        let mut map = self.map();
        let now = (self.clock)();
        match map.get_mut(token) {
            Some(live) if now.saturating_duration_since(live.last_seen) <= self.idle => {
                if activity {
                    live.last_seen = now;
                }
                Some(live.actor.clone())
            }
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, token: &str) -> Option<Actor> {
        self.map().remove(token).map(|l| l.actor)
    }

    /// Ends every session (a restored database may not have the same accounts).
    pub fn end_all(&self) {
        self.map().clear();
    }

    /// Ends every session of a user (disabled, or password reset).
    pub fn end_user(&self, user_id: i64) {
        self.map().retain(|_, l| l.actor.user_id != user_id);
    }
}

/// Failed sign-ins for names that have no account, counted and locked in the
/// database exactly as an account's are (same rule, same clock, kept across
/// restarts), so an unknown name and a real one answer alike before and after a
/// restart. A name is kept only as a keyed SHA-256 digest; the key is a random file
/// beside the database (`NAME_KEY_FILE`, never in a backup), so a copied database or
/// backup cannot be searched for what was typed, which may be a password typed into
/// the wrong box. The audit log shows a short tag of the digest, so one name tried
/// repeatedly can be seen without storing it.
pub struct UnknownNames {
    key: [u8; 32],
}

/// The key of unknown names' digests, in the data directory.
pub const NAME_KEY_FILE: &str = "sign-in-names.key";

/// Unknown names remembered at most; past it, those not locked are forgotten first.
const MAX_UNKNOWN_NAMES: i64 = 10_000;

impl UnknownNames {
    /// Reads the key in `dir`, or makes one (a damaged key is replaced: names then
    /// start counting again, which reveals nothing).
    pub fn open(dir: &std::path::Path) -> std::io::Result<Self> {
        let path = dir.join(NAME_KEY_FILE);
        if let Ok(bytes) = cardiorisk_files::read_limited(&path, 32) {
            if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                crate::private::tighten_file(&path)?;
                return Ok(UnknownNames { key });
            }
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        cardiorisk_files::write_atomic(&path, &key)?;
        Ok(UnknownNames { key })
    }

    fn digest(&self, name: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(name.trim().to_lowercase().as_bytes());
        h.finalize().into()
    }

    /// A short tag for the audit log: the same name gives the same tag; the name
    /// cannot be recovered from it.
    pub fn tag(&self, name: &str) -> String {
        self.digest(name)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn is_locked(&self, conn: &Connection, name: &str) -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT COALESCE((SELECT locked_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 FROM unknown_sign_ins WHERE name_digest = ?1), 0)",
            [&self.digest(name)[..]],
            |r| r.get(0),
        )
    }

    /// Counts a failure as [`record_failure`] does for an account; returns whether
    /// the name is now locked.
    pub fn failed(&self, conn: &Connection, name: &str) -> rusqlite::Result<bool> {
        let digest = &self.digest(name)[..];
        conn.execute(
            "INSERT INTO unknown_sign_ins (name_digest) VALUES (?1) ON CONFLICT DO NOTHING",
            [digest],
        )?;
        conn.execute(
            "UPDATE unknown_sign_ins SET failed_attempts = failed_attempts + 1,
                 locked_until = CASE WHEN failed_attempts + 1 >= ?2
                     THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3) ELSE locked_until END,
                 last_failed = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE name_digest = ?1",
            params![digest, MAX_FAILED, format!("+{LOCK_MINUTES} minutes")],
        )?;
        let count: i64 =
            conn.query_row("SELECT COUNT(*) FROM unknown_sign_ins", [], |r| r.get(0))?;
        if count > MAX_UNKNOWN_NAMES {
            // Those whose lock has ended (or never began) go first, oldest first.
            conn.execute(
                "DELETE FROM unknown_sign_ins WHERE name_digest IN (
                     SELECT name_digest FROM unknown_sign_ins WHERE name_digest <> ?1
                     ORDER BY COALESCE(locked_until > strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0),
                              last_failed
                     LIMIT ?2)",
                params![digest, count - MAX_UNKNOWN_NAMES],
            )?;
        }
        conn.query_row(
            "SELECT failed_attempts >= ?2 FROM unknown_sign_ins WHERE name_digest = ?1",
            params![digest, MAX_FAILED],
            |r| r.get(0),
        )
    }
}

/// How long a kind of check takes on this machine (a moving average of the real
/// ones), so an answer that needed no check is paced like one that did.
pub struct Pace(std::sync::atomic::AtomicU64);

impl Pace {
    pub const fn new() -> Self {
        Pace(std::sync::atomic::AtomicU64::new(0))
    }

    pub fn note(&self, took: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let took = took.as_nanos().min(u64::MAX as u128) as u64;
        let old = self.0.load(Relaxed);
        let new = if old == 0 {
            took
        } else {
            old - old / 8 + took / 8
        };
        self.0.store(new.max(1), Relaxed);
    }

    /// The average, or `None` before the first check.
    pub fn typical(&self) -> Option<Duration> {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

impl Default for Pace {
    fn default() -> Self {
        Self::new()
    }
}

static PASSWORD_CHECKS: Pace = Pace::new();

/// How long one password verification takes here, so a sign-in that needs none (an
/// unknown name) is answered after the same time; measured once on first need.
pub fn typical_verification() -> Duration {
    PASSWORD_CHECKS.typical().unwrap_or_else(|| {
        verify_password("", dummy_hash());
        PASSWORD_CHECKS.typical().unwrap_or_default()
    })
}
