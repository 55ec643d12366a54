//! Helpers shared by the integration tests: the real binaries,
//! a virtual display, and a minimal W3C WebDriver client.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod webdriver;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The desktop app binary, built by cargo for these tests.
pub const APP: &str = env!("CARGO_BIN_EXE_cardiorisk-app");

/// The command-line binary, built by cargo for these tests.
pub const CLI: &str = env!("CARGO_BIN_EXE_cardiorisk");

/// The path of the original training file, when this machine has it.
pub fn original_data() -> Option<PathBuf> {
    let path = workspace_root().join("../shared/data/datos_de_pacientes_5000.csv");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} is not on this machine", path.display());
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
pub fn admin(services: &cardiorisk_app::service::Services) -> String {
    services
        .set_up("admin", "Ada Admin", ADMIN_PASSWORD)
        .expect("first-run set-up")
        .token
}

pub fn sign_in_admin(services: &cardiorisk_app::service::Services) -> String {
    services
        .sign_in("admin", ADMIN_PASSWORD)
        .expect("admin signs in")
        .token
}
