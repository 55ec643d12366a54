//! Files holding patients, accounts and the audit trail are private to the account
//! that runs CardioRisk: the data directory 0700, every file in it 0600 (on Unix;
//! Windows keeps a user's app-data private already).

use std::io;
use std::path::Path;

/// Which step of making a private place failed, and the path it failed on.
#[derive(Debug)]
pub enum Failed {
    /// Creating the folder or the file.
    Create(String, io::Error),
    /// Setting its mode.
    Mode(String, io::Error),
}

/// Creates `dir` (and its parents) and makes `dir` itself 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    create_private_dir(dir).map_err(|e| match e {
        Failed::Create(_, e) | Failed::Mode(_, e) => e,
    })
}

/// As [`create_dir`], saying which step failed.
pub fn create_private_dir(dir: &Path) -> Result<(), Failed> {
    let shown = || dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| Failed::Create(shown(), e))?;
    set_mode(dir, 0o700).map_err(|e| Failed::Mode(shown(), e))
}

/// Makes the database file 0600 before SQLite opens it, creating it empty when
/// absent, so the `-wal` and `-shm` files SQLite creates beside it get the same mode.
/// Existing files from an older install are tightened too.
pub fn prepare_database(path: &Path) -> Result<(), Failed> {
    if !path.exists() {
        cardiorisk_files::create_private(path)
            .map_err(|e| Failed::Create(path.display().to_string(), e))?;
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file.exists() {
            set_mode(file, 0o600).map_err(|e| Failed::Mode(file.display().to_string(), e))?;
        }
    }
    Ok(())
}

/// Makes an existing file 0600 (one left readable by an older install).
pub fn tighten_file(path: &Path) -> io::Result<()> {
    set_mode(path, 0o600)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// The mode bits of `path` (for tests and checks); `None` off Unix.
pub fn mode(path: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(std::fs::metadata(path)?.permissions().mode() & 0o777))
    }
    #[cfg(not(unix))]
    {
        let _ = std::fs::metadata(path)?;
        Ok(None)
    }
}
