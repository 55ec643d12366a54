//! Helpers shared by the integration tests: the real binaries,
//! a virtual display, and a minimal W3C WebDriver client.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod webdriver;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The workspace's root (the folder with Cargo.lock), from whichever package's
/// tests include this module.
pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() && dir.pop() {}
    dir
}

/// The desktop app binary, built by cargo for the app package's tests.
pub const APP: &str = match option_env!("CARGO_BIN_EXE_cardiorisk-app") {
    Some(path) => path,
    None => "",
};

/// The command-line binary, built by cargo for the CLI package's tests.
pub const CLI: &str = match option_env!("CARGO_BIN_EXE_cardiorisk") {
    Some(path) => path,
    None => "",
};

/// Says that a check cannot run here and why. With `CI=true`, a skip of something
/// `scripts/setup.sh` installs, or the test command itself provides
/// (`provided: true`), fails the test instead: CI's set-up was meant to make it run.
pub fn skip(provided: bool, why: &str) {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if provided && in_ci {
        panic!("CI=true and this should run here, but it would be skipped: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// The path of the original training file, when this machine has it (a fresh
/// clone has no `../shared/`, CI included).
pub fn original_data() -> Option<PathBuf> {
    let path = workspace_root().join("../shared/data/datos_de_pacientes_5000.csv");
    if path.exists() {
        Some(path)
    } else {
        skip(false, &format!("{} is not on this machine", path.display()));
        None
    }
}

/// A child process killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The display to use: `$DISPLAY` if set, else a private Xvfb started for the test.
pub fn display() -> (String, Option<Guard>) {
    if let Ok(d) = std::env::var("DISPLAY") {
        if !d.is_empty() {
            return (d, None);
        }
    }
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb (install the xvfb package)");
    let mut out = child.stdout.take().expect("piped");
    let mut number = String::new();
    let mut byte = [0u8; 1];
    use std::io::Read;
    while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    assert!(!number.is_empty(), "Xvfb did not report a display");
    (format!(":{}", number.trim()), Some(Guard(child)))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// Runs first-run set-up and returns the administrator's session token.
pub fn admin(services: &cardiorisk_core::service::Services) -> String {
    services
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .expect("first-run set-up")
        .token
}

/// Creates a clinician named `username` (password "clinician-pass-1") and signs them in.
pub fn clinician(
    services: &cardiorisk_core::service::Services,
    admin_token: &str,
    username: &str,
    display_name: &str,
) -> String {
    services
        .create_user(
            admin_token,
            &cardiorisk_contract::NewUser {
                username: username.into(),
                display_name: display_name.into(),
                password: "clinician-pass-1".into(),
                role: cardiorisk_contract::Role::Clinician,
            },
        )
        .expect("create a clinician");
    services
        .sign_in(username, "clinician-pass-1")
        .expect("the clinician signs in")
        .token
}

/// A clinician named `username` shown as "Dr <username>".
pub fn doctor(
    services: &cardiorisk_core::service::Services,
    admin_token: &str,
    username: &str,
) -> String {
    clinician(services, admin_token, username, &format!("Dr {username}"))
}

/// Valid measurements of one patient, for tests that need any assessment.
pub fn measurements() -> cardiorisk_contract::Measurements {
    cardiorisk_contract::Measurements::from_array([2.4, 1.6, 0.9, 45.0, 0.0, 0.0])
}

/// One number from the database file in `dir`, read by a connection of its own.
pub fn count(dir: &std::path::Path, sql: &str) -> i64 {
    open_db(&dir.join(cardiorisk_core::service::DB_FILE))
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The data key tests that open `Services` directly seal their databases with.
pub fn test_key() -> cardiorisk_core::keys::DataKey {
    cardiorisk_core::keys::DataKey::from_bytes([7; 32])
}

/// A connection of the test's own ("another tool") to a database sealed with
/// [`test_key`], or made through the vault by [`set_up_vault`] (its key read from
/// the key file with the administrator's password).
pub fn open_db(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    open_db_as(path, "admin", ADMIN_PASSWORD)
}

/// As [`open_db`], the key unsealed with `username`'s `password`.
pub fn open_db_as(
    path: &std::path::Path,
    username: &str,
    password: &str,
) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    if cardiorisk_core::db::header(path) == cardiorisk_core::db::Header::Ours {
        return Ok(conn); // in clear, as an earlier release wrote it
    }
    let keys = path
        .parent()
        .map(cardiorisk_core::keys::Keystore::path_in)
        .and_then(|p| cardiorisk_core::keys::Keystore::load(&p).ok().flatten());
    let key = match keys {
        Some(keys) => keys
            .unlock(username, password)
            .expect("the password opens the key file"),
        None => test_key(),
    };
    cardiorisk_core::db::apply_key(&conn, &key)?;
    Ok(conn)
}

/// First run through the vault, as the app does it (key file, sealed database, the
/// administrator "admin"), with cheap wraps: for tests whose database a separate
/// process (the app, `serve`) opens with the administrator's password.
pub fn set_up_vault(
    dir: &std::path::Path,
) -> (
    cardiorisk_core::service::Services,
    cardiorisk_contract::SessionInfo,
) {
    cardiorisk_core::vault::Vault::new(dir)
        .with_cost(cardiorisk_core::keys::KdfCost::FOR_TESTS)
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .expect("first run")
}

/// Opens a data directory made by [`set_up_vault`] as the administrator.
pub fn open_vault(
    dir: &std::path::Path,
) -> (
    cardiorisk_core::service::Services,
    cardiorisk_contract::SessionInfo,
) {
    let (opened, _) = cardiorisk_core::vault::Vault::new(dir)
        .with_cost(cardiorisk_core::keys::KdfCost::FOR_TESTS)
        .sign_in("admin", ADMIN_PASSWORD);
    opened.expect("the administrator's password opens the data")
}

pub fn sign_in_admin(services: &cardiorisk_core::service::Services) -> String {
    services
        .sign_in("admin", ADMIN_PASSWORD)
        .expect("admin signs in")
        .token
}

/// A model with finite weights whose output is NaN for every patient: refused at
/// load and at activation.
pub fn nan_model() -> cardiorisk_model::ModelPayload {
    let mut payload =
        cardiorisk_model::ModelPayload::from_bytes(cardiorisk_model::predictor::EMBEDDED_MODEL)
            .unwrap();
    let last = payload.layers.len() - 1;
    for (i, layer) in payload.layers.iter_mut().enumerate() {
        if i < last {
            layer.weight.iter_mut().for_each(|w| *w = 0.0);
            layer.bias.iter_mut().for_each(|b| *b = 1e30);
        } else {
            for (j, w) in layer.weight.iter_mut().enumerate() {
                *w = if j % 2 == 0 { 1e30 } else { -1e30 };
            }
        }
    }
    payload.version = "nan-everywhere".into();
    payload
}

/// Glucose at which [`bump_model`] gives NaN.
pub const BUMP_GLUCOSA: f64 = 1.235;

/// A model that passes the load-time probes (it answers 0.5 almost everywhere) but
/// gives NaN in a sliver around glucosa = [`BUMP_GLUCOSA`]: the case only a check at
/// prediction time catches. Layer 1 gives |x| of the (shifted) glucose, layer 2 a
/// huge bump where |x| < 1e-7, and the output adds it with weights +3e38 and -3e38.
pub fn bump_model() -> cardiorisk_model::ModelPayload {
    let mut payload =
        cardiorisk_model::ModelPayload::from_bytes(cardiorisk_model::predictor::EMBEDDED_MODEL)
            .unwrap();
    payload.scaler.mean = vec![0.0, 0.0, BUMP_GLUCOSA as f32, 0.0, 0.0, 0.0];
    payload.scaler.std = vec![1.0; 6];
    let k = 1e15f32;
    let mut first = vec![0.0f32; 6 * 2];
    first[2 * 2] = 1.0; // glucosa -> unit 0
    first[2 * 2 + 1] = -1.0; // -glucosa -> unit 1
    payload.layers = vec![
        cardiorisk_model::net::LayerWeights {
            d_in: 6,
            d_out: 2,
            weight: first,
            bias: vec![0.0, 0.0],
        },
        cardiorisk_model::net::LayerWeights {
            d_in: 2,
            d_out: 2,
            weight: vec![-k, -k, -k, -k],
            bias: vec![k * 1e-7, k * 1e-7],
        },
        cardiorisk_model::net::LayerWeights {
            d_in: 2,
            d_out: 1,
            weight: vec![3e38, -3e38],
            bias: vec![0.0],
        },
    ];
    payload.version = "nan-in-a-sliver".into();
    payload
}

/// The text of a PDF as `pdftotext` extracts it (what a reader copies or searches);
/// `None`, said plainly, when poppler's pdftotext is not installed.
pub fn pdf_text(path: &std::path::Path) -> Option<String> {
    match Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(path)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!(
            "pdftotext could not read {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            skip(
                true,
                "pdftotext is not installed (poppler-utils), so PDF text is not checked",
            );
            None
        }
    }
}

/// The support log an app run left in `data/logs`: present, started, each file within
/// its cap, and holding none of `private` (names, record numbers, passwords, keys the
/// flow typed), whatever the case. Returns its text.
pub fn support_log(data: &std::path::Path, private: &[&str]) -> String {
    use cardiorisk_core::support::{log_files, MAX_FILE_BYTES};
    let dir = data.join("logs");
    let files = log_files(&dir);
    assert!(!files.is_empty(), "no support log in {}", dir.display());
    let mut text = String::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            bytes.len() as u64 <= MAX_FILE_BYTES,
            "{} passes its cap",
            file.display()
        );
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(text.contains("CardioRisk started"), "{text}");
    let lower = text.to_lowercase();
    for secret in private {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "the support log holds {secret:?}:\n{text}"
        );
    }
    text
}

/// Moments to kill a child at, reproducible from the seed printed when made: a
/// clock-seeded xorshift.
pub struct KillMoments(u64);

impl KillMoments {
    pub fn new() -> KillMoments {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("kill moments seed {seed}");
        KillMoments(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// This test binary again, running only the test `child` (a no-op unless `env` is
/// set, here to `value`), its stdout piped for the parent to follow.
pub fn spawn_child_test(child: &str, env: &str, value: impl AsRef<std::ffi::OsStr>) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(env, value)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A small tmpfs mounted for a test (a full disk on demand; root only), unmounted when
/// dropped. `None` where it cannot be mounted: the caller skips and says so.
pub struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}
