//! A backup as one file: a short header, the installation's key file (every holder's
//! wrap of the data key), then the sealed database page for page. The wraps travel
//! with the data so that a backup restores on a computer set up again or on another
//! installation, with the password of an account in the backup or its recovery key;
//! they open nothing without such a secret (see `keys.rs`).
//!
//! Layout: [`MAGIC`], the key file's length (u32, little-endian), the key file (JSON),
//! the database. A backup written before backups carried their wraps is a bare SQLite
//! file (sealed with this installation's key, or in clear from before encryption);
//! [`read`] answers `None` for it.

use crate::keys::{KeyError, Keystore};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The first bytes of every backup file with its wraps (version 1).
pub const MAGIC: &[u8; 21] = b"CardioRisk backup v1\n";

/// A backup file's wraps, and where its database starts.
pub struct Bundle {
    pub keys: Keystore,
    database_at: u64,
}

/// Writes `database` (a sealed SQLite file) with the wraps `keys` into `to`, whole:
/// a private temporary file, synced, then renamed over `to`.
pub fn write(database: &Path, keys: &[u8], to: &Path) -> std::io::Result<()> {
    let length = u32::try_from(keys.len()).map_err(std::io::Error::other)?;
    let partial = crate::db::with_suffix(to, ".partial");
    let written = (|| {
        let mut out = cardiorisk_files::create_private(&partial)?;
        out.write_all(MAGIC)?;
        out.write_all(&length.to_le_bytes())?;
        out.write_all(keys)?;
        std::io::copy(&mut std::fs::File::open(database)?, &mut out)?;
        out.sync_all()?;
        std::fs::rename(&partial, to)
    })();
    if written.is_err() {
        let _ = crate::db::remove_file_if_there(&partial);
    }
    written?;
    if let Some(dir) = to.parent() {
        crate::db::sync_dir(dir);
    }
    Ok(())
}

/// The wraps of the backup at `path`; `None` for a bare SQLite file (a backup from
/// before backups carried their wraps).
pub fn read(path: &Path) -> Result<Option<Bundle>, KeyError> {
    let file_error = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(file_error)?;
    let mut magic = [0u8; MAGIC.len()];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == MAGIC => {}
        Ok(()) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(file_error(e)),
    }
    let mut length = [0u8; 4];
    file.read_exact(&mut length).map_err(file_error)?;
    let length = u32::from_le_bytes(length) as u64;
    let mut keys = Vec::new();
    (&mut file)
        .take(length.min(1 << 20))
        .read_to_end(&mut keys)
        .map_err(file_error)?;
    let keys = Keystore::parse(&keys, path)?;
    Ok(Some(Bundle {
        keys,
        database_at: MAGIC.len() as u64 + 4 + length,
    }))
}

impl Bundle {
    /// Copies the backup's database (still sealed) out of `backup` into `to`, a
    /// private file (replaced if there), synced.
    pub fn extract_database(&self, backup: &Path, to: &Path) -> std::io::Result<()> {
        let mut from = std::fs::File::open(backup)?;
        from.seek(SeekFrom::Start(self.database_at))?;
        crate::db::remove_file_if_there(to)?;
        let mut out = cardiorisk_files::create_private(to)?;
        std::io::copy(&mut from, &mut out)?;
        out.sync_all()
    }
}
