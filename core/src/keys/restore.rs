//! The wraps across a restore. A restore replaces the accounts, so a wrap made with a
//! password the restored data no longer accepts must go: otherwise that password
//! would still unseal the data key, and with it the database, offline. The key file
//! and the database are two files, so the restore records in the key file, before it
//! commits, what each account's password hash was; once it has committed, or at the
//! next opening if the process died in between, every account wrap whose password
//! hash is no longer the one it was made for is removed ([`Keystore::settle_restore`]).
//!
//! The hashes themselves stay in the sealed database: the key file keeps only their
//! fingerprints, keyed with the data key, which tell nothing without it.

use super::{DataKey, Holder, KeyError, Keystore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A restore begun and not yet settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingRestore {
    /// Each enabled account's password hash before the restore (its fingerprint), by
    /// username as SQLite compares it.
    before: BTreeMap<String, String>,
    /// The account whose password opened another installation's backup and was
    /// wrapped for it by this restore, with its password hash in that backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    opener: Option<(String, String)>,
}

/// The account whose password opened a backup: its name and password, and its
/// password hash in the backup (which that password was checked against).
pub struct Opener<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub hash_in_backup: &'a str,
}

impl Keystore {
    /// Records a restore about to commit: `before` holds each enabled account's
    /// password hash now (username folded). The `opener`, when it has no wrap here,
    /// gets one at once, so that its password opens the data if the process dies
    /// right after the restore commits. One write of the file.
    pub fn begin_restore(
        &mut self,
        key: &DataKey,
        before: &HashMap<String, String>,
        opener: Option<Opener<'_>>,
    ) -> Result<(), KeyError> {
        self.check_key(key)?;
        let before = before
            .iter()
            .map(|(username, hash)| (username.clone(), fingerprint(key, username, hash)))
            .collect();
        let mut pending = PendingRestore {
            before,
            opener: None,
        };
        let mut wraps = self.file.wraps.clone();
        if let Some(opener) = opener.filter(|o| !self.can_unlock(o.username)) {
            let username = opener.username.to_ascii_lowercase();
            wraps.push(self.seal(key, Holder::account(&username), opener.password.as_bytes()));
            let hash = fingerprint(key, &username, opener.hash_in_backup);
            pending.opener = Some((username, hash));
        }
        let old_wraps = std::mem::replace(&mut self.file.wraps, wraps);
        let old_pending = self.file.restore_pending.replace(pending);
        if let Err(e) = self.save() {
            self.file.wraps = old_wraps;
            self.file.restore_pending = old_pending;
            return Err(e);
        }
        Ok(())
    }

    pub fn restore_pending(&self) -> bool {
        self.file.restore_pending.is_some()
    }

    /// Brings the wraps in line with the accounts as they are now (`now`: each
    /// enabled account's password hash, username folded), whether the restore begun
    /// committed or not: an account's wrap stays only if the account's hash is the
    /// one it had before the restore, or, for the wrap the restore added for the
    /// backup's opener, the one it has in the backup. Then the record is cleared.
    /// Accounts that lose their wrap get a new one at their next sign-in while the
    /// data is open. Nothing to do without a restore begun.
    pub fn settle_restore(
        &mut self,
        key: &DataKey,
        now: &HashMap<String, String>,
    ) -> Result<(), KeyError> {
        let Some(pending) = self.file.restore_pending.clone() else {
            return Ok(());
        };
        self.check_key(key)?;
        let keeps = |holder: &Holder| {
            let Holder::Account { username } = holder else {
                return true;
            };
            let Some(hash) = now.get(username) else {
                return false;
            };
            let current = fingerprint(key, username, hash);
            match &pending.opener {
                Some((opener, in_backup)) if opener == username => *in_backup == current,
                _ => pending.before.get(username) == Some(&current),
            }
        };
        let wraps = self
            .file
            .wraps
            .iter()
            .filter(|w| keeps(&w.holder))
            .cloned()
            .collect();
        let old_wraps = std::mem::replace(&mut self.file.wraps, wraps);
        let old_pending = self.file.restore_pending.take();
        if let Err(e) = self.save() {
            self.file.wraps = old_wraps;
            self.file.restore_pending = old_pending;
            return Err(e);
        }
        Ok(())
    }
}

/// An account's password hash as the key file may name it: keyed with the data key.
fn fingerprint(key: &DataKey, username: &str, hash: &str) -> String {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    digest.update(b"cardiorisk-password-hash/1\n");
    digest.update(key.bytes());
    digest.update(username.as_bytes());
    digest.update([0]);
    digest.update(hash.as_bytes());
    super::hex(&digest.finalize())
}
