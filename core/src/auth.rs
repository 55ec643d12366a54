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
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
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

/// Failed sign-ins for names that have no account, counted in memory the way an
/// account's are, so an unknown name locks after [`MAX_FAILED`] failures like a real
/// one and the answers never tell them apart. Names are kept only as keyed SHA-256
/// digests (the key lives in memory), so the audit log can show that one name was
/// tried repeatedly without storing what was typed, which may be a password.
pub struct UnknownNames {
    key: [u8; 32],
    failures: Mutex<HashMap<[u8; 32], Failures>>,
}

/// Failures so far, and until when the name is locked.
type Failures = (i64, Option<Instant>);

/// Unknown names remembered at most; past it, unlocked ones are forgotten first.
const MAX_UNKNOWN_NAMES: usize = 10_000;

impl Default for UnknownNames {
    fn default() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source works");
        UnknownNames {
            key,
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl UnknownNames {
    fn digest(&self, name: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(name.trim().to_lowercase().as_bytes());
        h.finalize().into()
    }

    /// A short tag for the audit log: the same name gives the same tag until the
    /// app restarts; the name cannot be recovered from it.
    pub fn tag(&self, name: &str) -> String {
        self.digest(name)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_locked(&self, name: &str) -> bool {
        let now = Instant::now();
        matches!(self.map().get(&self.digest(name)), Some((_, Some(until))) if *until > now)
    }

    /// Counts a failure; returns whether the name is now locked.
    pub fn failed(&self, name: &str) -> bool {
        let digest = self.digest(name);
        let now = Instant::now();
        let mut map = self.map();
        crate::bounded::make_room(&mut map, &digest, MAX_UNKNOWN_NAMES, |_, (_, until)| {
            until.is_some_and(|u| u > now)
        });
        let entry = map.entry(digest).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= MAX_FAILED {
            entry.1 = Some(now + Duration::from_secs(LOCK_MINUTES as u64 * 60));
            true
        } else {
            false
        }
    }
}
