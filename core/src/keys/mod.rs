//! The clinic's data key and the wraps that unlock it (ADR 0027).
//!
//! The database is encrypted with one random 256-bit data key. That key is never
//! written in clear: the key file beside the database holds it only sealed
//! ("wrapped") once per holder, an account or the recovery key, with
//! XChaCha20-Poly1305 under a key that argon2id derives from the holder's secret.
//! Each wrap is a self-contained record (its own id, salt, cost and nonce, and the
//! data key's id bound into its tag), so wraps can later travel between a clinic's
//! laptops without a key ever leaving one in clear.
//!
//! The file is replaced whole or not at all ([`cardiorisk_files::write_atomic`]):
//! a process killed during a re-wrap leaves the old file or the new one, so the old
//! secret or the new one opens the data, never neither.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

mod recovery;
mod restore;
pub use recovery::RecoveryKey;
pub use restore::Opener;

/// The key file's name in the data directory, beside the database.
pub const KEYS_FILE: &str = "keys.json";
const FORMAT: u32 = 1;
/// A key file is a few kilobytes; anything far larger is not ours.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The cost of deriving a wrapping key from a secret. A copied key file can be
/// attacked offline, so a wrap costs more than a sign-in's password check
/// (argon2id, 64 MiB, 3 passes: OWASP's strongest listed setting). Recorded in each
/// wrap, so a later version can raise it and still open older wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfCost {
    pub const DEFAULT: KdfCost = KdfCost {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };
    /// For tests of everything but the cost itself: wraps made with it are as
    /// sound as any, only cheap to attack. Never used by the app.
    pub const FOR_TESTS: KdfCost = KdfCost {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
    /// The most a wrap may ask to derive its key (8 times the default's memory and
    /// passes): a key file or a backup from elsewhere asking for more is refused as
    /// damaged, not obeyed with gigabytes and hours of work.
    pub const MOST: KdfCost = KdfCost {
        memory_kib: 512 * 1024,
        iterations: 24,
        parallelism: 8,
    };

    fn within_most(self) -> bool {
        self.memory_kib <= KdfCost::MOST.memory_kib
            && self.iterations <= KdfCost::MOST.iterations
            && self.parallelism <= KdfCost::MOST.parallelism
    }
}

/// The clinic's data key. Zeroed when dropped; never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A key from its bytes (tests, and a key arriving from elsewhere already unsealed).
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    fn random() -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).expect("the OS random source works");
        DataKey(key)
    }

    /// The key as SQLite3 Multiple Ciphers takes it (`PRAGMA key`): "raw:" and 64 hex
    /// digits, which skips the cipher's own key derivation.
    pub fn sqlite_key(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(68));
        text.push_str("raw:");
        text.push_str(&hex(self.0.as_ref()));
        text
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Who a wrap belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// An account, by username as SQLite compares it (ASCII letters folded).
    Account {
        username: String,
    },
    Recovery,
}

impl Holder {
    pub fn account(username: &str) -> Holder {
        Holder::Account {
            username: username.to_ascii_lowercase(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} is damaged or not CardioRisk's ({detail}); it was left unchanged"
    )]
    Damaged { path: String, detail: String },
    #[error("the key file {path} was written by a newer CardioRisk (format {found}, this app knows {FORMAT})")]
    TooNew { path: String, found: u32 },
    #[error("the password is not right, or this account cannot unlock the data on this computer")]
    WrongSecret,
    #[error("a recovery key is 32 letters and digits, in 8 groups of 4 (for example ABCD-EFGH-…)")]
    RecoveryFormat,
    #[error("the recovery key is not right")]
    WrongRecoveryKey,
    #[error("that data key is not the one this key file holds")]
    OtherKey,
    #[error("a key file already exists at {0}; it was left unchanged")]
    Exists(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    #[serde(flatten)]
    cost: KdfCost,
    salt: String,
}

/// One sealed copy of the data key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Wrap {
    id: String,
    holder: Holder,
    created_at: String,
    kdf: Kdf,
    aead: String,
    nonce: String,
    sealed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyFile {
    format: u32,
    /// The data key's id: which database these wraps open.
    key_id: String,
    /// A one-way digest of the data key, to refuse wrapping any other key.
    key_check: String,
    wraps: Vec<Wrap>,
    /// The audit log's last entry as last recorded, so that entries removed from the
    /// end of the log are found missing (see `audit::verify_chain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit_head: Option<AuditHead>,
    /// A restore begun and not yet settled (see `restore.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restore_pending: Option<restore::PendingRestore>,
}

/// An audit entry's id, time and chain link (hex), as the key file records the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub id: i64,
    pub at: String,
    pub link: String,
}

/// The key file of one data directory, as last read or written.
#[derive(Debug)]
pub struct Keystore {
    path: PathBuf,
    file: KeyFile,
    cost: KdfCost,
}

const KDF_ALGORITHM: &str = "argon2id-v19";
const AEAD_ALGORITHM: &str = "xchacha20poly1305";

impl Keystore {
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(KEYS_FILE)
    }

    /// Reads the key file at `path`; `None` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Keystore>, KeyError> {
        let bytes = match cardiorisk_files::read_limited(path, MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(KeyError::File {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Keystore::parse(&bytes, path).map(Some)
    }

    /// A key file's bytes read from elsewhere (a backup's copy); `origin` names it in
    /// errors and is where [`Keystore::save`] would write, so such a copy is only ever
    /// unlocked, never changed.
    pub(crate) fn parse(bytes: &[u8], origin: &Path) -> Result<Keystore, KeyError> {
        let damaged = |detail: String| KeyError::Damaged {
            path: origin.display().to_string(),
            detail,
        };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(damaged(format!("over {MAX_FILE_BYTES} bytes")));
        }
        let format: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        match format.get("format").and_then(|f| f.as_u64()) {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(found) if found > u64::from(FORMAT) => {
                return Err(KeyError::TooNew {
                    path: origin.display().to_string(),
                    found: found as u32,
                })
            }
            _ => return Err(damaged("no known format".into())),
        }
        let file: KeyFile = serde_json::from_value(format).map_err(|e| damaged(e.to_string()))?;
        Ok(Keystore {
            path: origin.to_owned(),
            file,
            cost: KdfCost::DEFAULT,
        })
    }

    /// The wraps as a backup carries them: every holder's, without the audit log's
    /// head (which describes the live log, not the copy) or a restore under way.
    pub(crate) fn for_backup(&self) -> Vec<u8> {
        let file = KeyFile {
            audit_head: None,
            restore_pending: None,
            ..self.file.clone()
        };
        serde_json::to_vec_pretty(&file).expect("the key file serialises")
    }

    /// Whether these wraps seal `key` (by the file's one-way digest of it).
    pub fn seals(&self, key: &DataKey) -> bool {
        self.file.key_check == key_check(key)
    }

    /// Makes a new data key, wraps it for `username` and for a new recovery key, and
    /// writes the key file. Refuses to replace an existing one.
    pub fn create(
        path: &Path,
        username: &str,
        password: &str,
        cost: KdfCost,
    ) -> Result<(Keystore, DataKey, RecoveryKey), KeyError> {
        if path.exists() {
            return Err(KeyError::Exists(path.display().to_string()));
        }
        let key = DataKey::random();
        let recovery = RecoveryKey::random();
        let mut store = Keystore {
            path: path.to_owned(),
            file: KeyFile {
                format: FORMAT,
                key_id: uuid::Uuid::new_v4().to_string(),
                key_check: key_check(&key),
                wraps: Vec::new(),
                audit_head: None,
                restore_pending: None,
            },
            cost,
        };
        let account = store.seal(&key, Holder::account(username), password.as_bytes());
        let recovery_wrap = store.seal(&key, Holder::Recovery, recovery.0.as_bytes());
        store.file.wraps = vec![account, recovery_wrap];
        store.save()?;
        Ok((store, key, recovery))
    }

    /// The cost new wraps are made with (the app's default unless a test says).
    pub fn with_cost(mut self, cost: KdfCost) -> Keystore {
        self.cost = cost;
        self
    }

    pub fn audit_head(&self) -> Option<&AuditHead> {
        self.file.audit_head.as_ref()
    }

    /// Records the audit log's last entry. The file is read again first, so that what
    /// another process of this installation wrote since is kept; the head never moves
    /// back to an earlier entry, but after a restore (`restored`), whose log is new.
    pub fn record_audit_head(&mut self, head: AuditHead, restored: bool) -> Result<(), KeyError> {
        if let Ok(Some(fresh)) = Keystore::load(&self.path) {
            if fresh.file.key_id == self.file.key_id {
                self.file = fresh.file;
            }
        }
        let kept = self.file.audit_head.as_ref();
        if !restored && kept.is_some_and(|h| h.id >= head.id) {
            return Ok(());
        }
        let old = self.file.audit_head.replace(head);
        if let Err(e) = self.save() {
            self.file.audit_head = old;
            return Err(e);
        }
        Ok(())
    }

    pub fn key_id(&self) -> &str {
        &self.file.key_id
    }

    pub fn holders(&self) -> Vec<Holder> {
        self.file.wraps.iter().map(|w| w.holder.clone()).collect()
    }

    pub fn can_unlock(&self, username: &str) -> bool {
        let holder = Holder::account(username);
        self.file.wraps.iter().any(|w| w.holder == holder)
    }

    /// The data key, unsealed with an account's password.
    pub fn unlock(&self, username: &str, password: &str) -> Result<DataKey, KeyError> {
        let holder = Holder::account(username);
        let wrap = self.file.wraps.iter().find(|w| w.holder == holder);
        match wrap {
            Some(wrap) => self.open(wrap, password.as_bytes()),
            None => {
                // The same work as a wrong password, so that timing does not tell
                // which usernames can unlock this computer.
                let _ = derive(password.as_bytes(), &[0u8; 16], self.cost);
                Err(KeyError::WrongSecret)
            }
        }
    }

    /// The data key, unsealed with the recovery key.
    pub fn unlock_with_recovery(&self, recovery: &RecoveryKey) -> Result<DataKey, KeyError> {
        self.file
            .wraps
            .iter()
            .find(|w| w.holder == Holder::Recovery)
            .ok_or(KeyError::WrongRecoveryKey)
            .and_then(|wrap| {
                self.open(wrap, recovery.0.as_bytes())
                    .map_err(|_| KeyError::WrongRecoveryKey)
            })
    }

    /// Wraps the data key for `username` under `password`, replacing the account's
    /// wrap if it has one (a changed or reset password), and saves the file.
    pub fn wrap_for(
        &mut self,
        key: &DataKey,
        username: &str,
        password: &str,
    ) -> Result<(), KeyError> {
        self.check_key(key)?;
        let wrap = self.seal(key, Holder::account(username), password.as_bytes());
        self.replace(wrap)
    }

    /// Removes an account's wrap (a disabled or deleted account); whether it had one.
    pub fn remove(&mut self, username: &str) -> Result<bool, KeyError> {
        let kept = self.wraps_but(&Holder::account(username));
        if kept.len() == self.file.wraps.len() {
            return Ok(false);
        }
        self.commit(kept)?;
        Ok(true)
    }

    /// A new recovery key; the old one stops working once this returns.
    pub fn reissue_recovery(&mut self, key: &DataKey) -> Result<RecoveryKey, KeyError> {
        self.check_key(key)?;
        let recovery = RecoveryKey::random();
        let wrap = self.seal(key, Holder::Recovery, recovery.0.as_bytes());
        self.replace(wrap)?;
        Ok(recovery)
    }

    /// Refuses a data key other than the one this file wraps: sealing a wrong key
    /// would lock its holder out.
    fn check_key(&self, key: &DataKey) -> Result<(), KeyError> {
        if key_check(key) == self.file.key_check {
            Ok(())
        } else {
            Err(KeyError::OtherKey)
        }
    }

    /// Every wrap but `holder`'s.
    fn wraps_but(&self, holder: &Holder) -> Vec<Wrap> {
        let others = self.file.wraps.iter().filter(|w| w.holder != *holder);
        others.cloned().collect()
    }

    fn replace(&mut self, wrap: Wrap) -> Result<(), KeyError> {
        let mut wraps = self.wraps_but(&wrap.holder);
        wraps.push(wrap);
        self.commit(wraps)
    }

    /// Saves `wraps` as the file's new list; the store changes only if the file did.
    fn commit(&mut self, wraps: Vec<Wrap>) -> Result<(), KeyError> {
        let old = std::mem::replace(&mut self.file.wraps, wraps);
        if let Err(e) = self.save() {
            self.file.wraps = old;
            return Err(e);
        }
        Ok(())
    }

    fn save(&self) -> Result<(), KeyError> {
        let bytes = serde_json::to_vec_pretty(&self.file).expect("the key file serialises");
        cardiorisk_files::write_atomic(&self.path, &bytes).map_err(|source| KeyError::File {
            path: self.path.display().to_string(),
            source,
        })
    }

    fn associated_data(&self, wrap_id: &str, holder: &Holder) -> Vec<u8> {
        let holder = serde_json::to_string(holder).expect("a holder serialises");
        format!(
            "cardiorisk-wrap/{FORMAT}\n{}\n{wrap_id}\n{holder}",
            self.file.key_id
        )
        .into_bytes()
    }

    fn seal(&self, key: &DataKey, holder: Holder, secret: &[u8]) -> Wrap {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the OS random source works");
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let id = uuid::Uuid::new_v4().to_string();
        let wrapping = derive(secret, &salt, self.cost);
        let cipher = XChaCha20Poly1305::new(wrapping.as_ref().into());
        let aad = self.associated_data(&id, &holder);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key.bytes(),
                    aad: &aad,
                },
            )
            .expect("sealing 32 bytes cannot fail");
        Wrap {
            id,
            holder,
            created_at: jiff::Timestamp::now().to_string(),
            kdf: Kdf {
                algorithm: KDF_ALGORITHM.into(),
                cost: self.cost,
                salt: hex(&salt),
            },
            aead: AEAD_ALGORITHM.into(),
            nonce: hex(&nonce),
            sealed: hex(&sealed),
        }
    }

    fn open(&self, wrap: &Wrap, secret: &[u8]) -> Result<DataKey, KeyError> {
        let damaged = |detail: &str| KeyError::Damaged {
            path: self.path.display().to_string(),
            detail: format!("wrap {}: {detail}", wrap.id),
        };
        if wrap.kdf.algorithm != KDF_ALGORITHM || wrap.aead != AEAD_ALGORITHM {
            return Err(damaged("unknown algorithm"));
        }
        let salt = unhex(&wrap.kdf.salt).ok_or_else(|| damaged("salt"))?;
        let nonce = unhex(&wrap.nonce)
            .filter(|n| n.len() == 24)
            .ok_or_else(|| damaged("nonce"))?;
        let sealed = unhex(&wrap.sealed).ok_or_else(|| damaged("sealed key"))?;
        let cost = wrap.kdf.cost;
        if argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
            .is_err()
            || !cost.within_most()
        {
            return Err(damaged("key derivation cost"));
        }
        let wrapping = derive(secret, &salt, cost);
        let cipher = XChaCha20Poly1305::new(wrapping.as_ref().into());
        let aad = self.associated_data(&wrap.id, &wrap.holder);
        let opened = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| KeyError::WrongSecret)?,
        );
        let bytes: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| damaged("sealed key length"))?;
        let key = DataKey(Zeroizing::new(bytes));
        self.check_key(&key)
            .map_err(|_| damaged("it holds another data key"))?;
        Ok(key)
    }
}

/// SHA-256 of a label and the key: identifies a 256-bit random key and reveals nothing of it.
fn key_check(key: &DataKey) -> String {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    digest.update(b"cardiorisk-key-check/1\n");
    digest.update(key.bytes());
    hex(&digest.finalize())
}

/// The wrapping key for `secret`: argon2id with the given salt and cost.
fn derive(secret: &[u8], salt: &[u8], cost: KdfCost) -> Zeroizing<[u8; 32]> {
    let params = argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
        .expect("checked argon2 parameters");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(secret, salt, out.as_mut())
        .expect("argon2id with a 16-byte salt");
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 15)] as char);
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
