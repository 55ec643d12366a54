//! Files written whole or not at all, and readable only by their owner: the models,
//! exports, reports and backups CardioRisk writes all hold clinical data.

use std::io::{Read, Write};
use std::path::Path;

/// Reads a whole file of at most `limit` bytes. The size is checked before reading
/// and the read stops one byte past the limit, so a huge file, a device (whose size
/// reads as 0) or a file that grows while read cannot fill memory. Past the limit the
/// error is `FileTooLarge`, saying the limit.
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let too_large = || {
        let allowed = if limit >= 1 << 20 && limit.is_multiple_of(1 << 20) {
            format!("{} MiB", limit >> 20)
        } else {
            format!("{limit} bytes")
        };
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is larger than the {allowed} allowed"),
        )
    };
    let size = file.metadata()?.len();
    if size > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Creates (or truncates) a file only its owner can read and write (0600 on Unix):
/// models, exports and reports hold clinical data.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Replaces `path` with `bytes` whole or not at all; the file is private to its owner.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Streams into a private temporary file beside `path`, syncs it, then renames it
/// over `path`: readers see the old file or the whole new one, never a part. A large
/// file is flushed to the disk as it grows ([`Writeback`]), so the final sync does
/// not wait for all of it.
pub fn write_atomic_with<T, E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<Writeback>) -> Result<T, E>,
) -> Result<T, E> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = Writeback::new(create_private(&tmp)?);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        let value = write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?.finish()?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A file being written that starts syncing its data every [`Writeback::EVERY`]
/// bytes on a helper thread while writing goes on; it waits for the previous sync
/// first, so at most about twice that much is ever waiting for the disk.
pub struct Writeback {
    file: std::fs::File,
    unsynced: u64,
    syncing: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Writeback {
    pub const EVERY: u64 = 32 << 20;

    pub fn new(file: std::fs::File) -> Self {
        Writeback {
            file,
            unsynced: 0,
            syncing: None,
        }
    }

    fn wait(&mut self) -> std::io::Result<()> {
        match self.syncing.take() {
            Some(sync) => sync
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread panicked"))),
            None => Ok(()),
        }
    }

    /// The file once every sync started has ended (an error of one is returned).
    pub fn finish(mut self) -> std::io::Result<std::fs::File> {
        self.wait()?;
        Ok(self.file)
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written as u64;
        if self.unsynced >= Self::EVERY {
            self.wait()?;
            let file = self.file.try_clone()?;
            self.syncing = Some(std::thread::spawn(move || file.sync_data()));
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.pdf");
        write_atomic(&path, b"old").unwrap();
        let failed: Result<(), std::io::Error> = write_atomic_with(&path, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        write_atomic(&path, b"a,b\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_file_larger_than_the_sync_step_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let blocks = 2 * (Writeback::EVERY >> 20) + 3;
        write_atomic_with(&path, |out| -> std::io::Result<()> {
            for _ in 0..blocks {
                out.write_all(&block)?;
            }
            Ok(())
        })
        .unwrap();
        let written = std::fs::read(&path).unwrap();
        assert_eq!(written.len() as u64, blocks << 20);
        assert!(written.chunks(1 << 20).all(|c| c == block.as_slice()));
    }

    #[test]
    fn a_file_past_its_limit_is_refused_before_it_fills_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_limited(&path, 5).unwrap(), b"12345");
        let e = read_limited(&path, 4).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("4 bytes"), "{e}");
        #[cfg(unix)]
        {
            // A device reads as size 0 and never ends: the read stops at the limit.
            let e = read_limited(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        }
    }
}
