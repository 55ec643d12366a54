//! The support log: what a support person needs when something went wrong (the
//! version, the system, start and stop, each failure with its context), never a
//! secret or a patient's data. Plain text through `tracing`, in a few size-capped
//! files that rotate, and a bundle of them to send.
//!
//! What may be logged: codes, kinds, command and module names, counts, durations,
//! versions, ports. Never: names, record numbers, measurements, usernames,
//! passwords, API keys, session tokens, file names a user chose.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file being written; older ones are `cardiorisk.1.log` (newest) to
/// `cardiorisk.<KEPT_OLD>.log`.
pub const LOG_FILE: &str = "cardiorisk.log";
/// Size at which the current file is rotated.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Rotated files kept besides the current one: at most (1 + KEPT_OLD) x MAX_FILE_BYTES.
pub const KEPT_OLD: usize = 2;

/// A log file that starts afresh once it would pass its cap, keeping `kept_old`
/// older files. A failed write is dropped: the log must never stop the app.
pub struct RotatingFile {
    dir: PathBuf,
    cap: u64,
    kept_old: usize,
    file: Option<File>,
    size: u64,
}

impl RotatingFile {
    pub fn open(dir: &Path, cap: u64, kept_old: usize) -> io::Result<RotatingFile> {
        std::fs::create_dir_all(dir)?;
        let file = open_append(&dir.join(LOG_FILE))?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            dir: dir.to_path_buf(),
            cap,
            kept_old,
            file: Some(file),
            size,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        for n in (1..=self.kept_old).rev() {
            let from = if n == 1 {
                self.dir.join(LOG_FILE)
            } else {
                old_file(&self.dir, n - 1)
            };
            match std::fs::rename(&from, old_file(&self.dir, n)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if self.kept_old == 0 {
            std::fs::remove_file(self.dir.join(LOG_FILE))?;
        }
        self.file = Some(open_append(&self.dir.join(LOG_FILE))?);
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.cap {
            // Keep writing to the old file if rotation fails (e.g. a full disk).
            let _ = self.rotate();
        }
        if self.file.is_none() {
            self.file = open_append(&self.dir.join(LOG_FILE)).ok();
        }
        // Longer than the cap on its own: cut, so the cap holds.
        let room = self.cap.saturating_sub(self.size) as usize;
        let part = &buf[..buf.len().min(room.max(1))];
        if let Some(file) = self.file.as_mut() {
            if file.write_all(part).is_ok() {
                self.size += part.len() as u64;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

fn old_file(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("cardiorisk.{n}.log"))
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The log files in `dir`, oldest first.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    (1..=KEPT_OLD)
        .rev()
        .map(|n| old_file(dir, n))
        .chain([dir.join(LOG_FILE)])
        .filter(|p| p.is_file())
        .collect()
}

/// Sends `tracing` events at info level and above to the rotating log in `dir`,
/// for the whole process; panics are logged too (with where they happened).
/// Fails when the folder cannot be written; the app then runs without a log.
pub fn start_logging(dir: &Path) -> io::Result<()> {
    let file = RotatingFile::open(dir, MAX_FILE_BYTES, KEPT_OLD)?;
    install(Mutex::new(file))
}

/// As [`start_logging`], with every line on standard error too (`cardiorisk serve`,
/// whose operator watches its terminal or service manager).
pub fn start_logging_with_stderr(dir: &Path) -> io::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let file = RotatingFile::open(dir, MAX_FILE_BYTES, KEPT_OLD)?;
    install(Mutex::new(file).and(io::stderr))
}

fn install<W>(writer: W) -> io::Result<()>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "panic");
        default_hook(info);
    }));
    Ok(())
}

/// This computer as support needs to know it: "linux x86_64, Debian GNU/Linux 13 (trixie)".
pub fn system_description() -> String {
    let os = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    match os_release_name() {
        Some(name) => format!("{os}, {name}"),
        None => os,
    }
}

#[cfg(target_os = "linux")]
fn os_release_name() -> Option<String> {
    let release = cardiorisk_files::read_limited(Path::new("/etc/os-release"), 64 << 10).ok()?;
    let release = String::from_utf8_lossy(&release);
    release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string())
}

#[cfg(not(target_os = "linux"))]
fn os_release_name() -> Option<String> {
    None
}

/// The support bundle: `facts` (versions, system), then each log file, oldest
/// first. Plain text, to be read by a person and attached to a message.
pub fn bundle(dir: &Path, facts: &[(&str, String)]) -> Vec<u8> {
    let mut out = String::from("CardioRisk support bundle\n");
    out.push_str("No patient data, names, passwords or keys are logged; log times are UTC.\n\n");
    for (name, value) in facts {
        out.push_str(&format!("{name}: {value}\n"));
    }
    for path in log_files(dir) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        out.push_str(&format!("\n===== {name} =====\n"));
        match cardiorisk_files::read_limited(&path, MAX_FILE_BYTES) {
            Ok(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
            Err(e) => out.push_str(&format!("(unreadable: {e})\n")),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(dir: &Path) -> Vec<u64> {
        log_files(dir)
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .collect()
    }

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_only_so_many_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RotatingFile::open(dir.path(), 1000, 2).unwrap();
        for i in 0..500 {
            writeln!(log, "line {i:04} of the support log, forty bytes").unwrap();
        }
        let kept = sizes(dir.path());
        assert_eq!(kept.len(), 3, "current and two old files: {kept:?}");
        assert!(kept.iter().all(|&s| s <= 1000), "{kept:?}");
        let newest = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        assert!(newest.ends_with("line 0499 of the support log, forty bytes\n"));
        let older = std::fs::read_to_string(old_file(dir.path(), 1)).unwrap();
        assert!(
            older.contains("line 04"),
            "the previous file holds the lines before"
        );
        assert!(!dir.path().join("cardiorisk.3.log").exists());
    }

    #[test]
    fn reopening_appends_and_an_oversized_line_is_cut_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = RotatingFile::open(dir.path(), 100, 1).unwrap();
            log.write_all(b"first\n").unwrap();
        }
        let mut log = RotatingFile::open(dir.path(), 100, 1).unwrap();
        log.write_all(b"second\n").unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        assert_eq!(text, "first\nsecond\n");
        log.write_all(&[b'x'; 500]).unwrap();
        assert_eq!(sizes(dir.path()), vec![13, 100]);
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut log = RotatingFile::open(dir.path(), 100, 1).unwrap();
        log.write_all(b"x\n").unwrap();
        let mode = dir
            .path()
            .join(LOG_FILE)
            .metadata()
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn the_bundle_has_the_facts_and_every_log_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RotatingFile::open(dir.path(), 20, 2).unwrap();
        log.write_all(b"older entry\n").unwrap();
        log.write_all(b"newer entry\n").unwrap();
        let text = String::from_utf8(bundle(dir.path(), &[("version", "0.1.0".into())])).unwrap();
        assert!(text.contains("version: 0.1.0"));
        let (older, newer) = (text.find("older entry"), text.find("newer entry"));
        assert!(
            older.is_some() && newer.is_some() && older < newer,
            "{text}"
        );
        assert!(text.contains("===== cardiorisk.1.log ====="));
    }
}
