//! A restore killed at any moment loses nothing: a child process (this test binary,
//! run again in child mode) restores a backup over and over while another thread
//! commits audit entries, and is sent SIGKILL at random moments. Every entry the
//! child saw committed must be in the database afterwards, the database must be
//! whole, and it must open and sign in as before.

#[path = "../../tests/support/mod.rs"]
mod support;

use cardiorisk_core::audit::{Action, Event, Status};
use cardiorisk_core::service::{Services, DB_FILE, RESTORE_STAGING_FILE};
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "CARDIORISK_RESTORE_CHILD";
const KILLS: usize = 12;

/// Child mode only (a no-op in a normal run): restores `backup.db` in a loop while a
/// second thread commits marked entries, saying on stdout what has committed.
#[test]
fn restore_child() {
    let Some(tag) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let tag = tag.to_string_lossy().to_string();
    let dir = std::path::PathBuf::from(std::env::var("CARDIORISK_RESTORE_DIR").unwrap());
    let services = Services::open(&dir, &support::test_key()).unwrap().shared();
    let writer = {
        let services = std::sync::Arc::clone(&services);
        let tag = tag.clone();
        std::thread::spawn(move || {
            for n in 0.. {
                let mark = format!("mark {tag} {n}");
                let event =
                    Event::new(Action::GatewayRequest, Status::Ok, Instant::now()).detail(&mark);
                if services
                    .record_batch(vec![event], Duration::from_secs(5))
                    .is_ok()
                {
                    println!("committed {mark}");
                }
            }
        })
    };
    loop {
        let token = services
            .sign_in("admin", support::ADMIN_PASSWORD)
            .unwrap()
            .token;
        println!("restoring");
        services.restore(&token, &dir.join("backup.db")).unwrap();
        println!("restored");
        if writer.is_finished() {
            panic!("the writer stopped");
        }
    }
}

fn marks_in(dir: &Path) -> BTreeSet<String> {
    let conn = support::open_db(&dir.join(DB_FILE)).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn
        .prepare("SELECT detail FROM audit_log WHERE detail LIKE 'mark %'")
        .unwrap();
    let marks = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    marks
}

#[cfg(unix)]
#[test]
fn a_restore_killed_at_any_moment_keeps_every_committed_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    {
        let services = Services::open(dir.path(), &support::test_key()).unwrap();
        let token = support::admin(&services);
        services
            .assess(&token, None, &support::measurements())
            .unwrap();
        services
            .backup(&token, &dir.path().join("backup.db"))
            .unwrap();
        services
            .assess(&token, None, &support::measurements())
            .unwrap();
    }
    let mut moments = support::KillMoments::new();
    let mut committed = BTreeSet::new();
    let mut inside_a_restore = 0;
    for round in 0..KILLS {
        let mut child = support::Guard(
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "restore_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("r{round}"))
                .env("CARDIORISK_RESTORE_DIR", dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let (lines_tx, lines) = mpsc::channel::<String>();
        let stdout = child.0.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment of the child's n-th restore: a random fraction of
        // the longest restore it has completed so far (n >= 2, so one has).
        let restores = 2 + moments.next() % 3;
        let fraction = (moments.next() % 1000) as f64 / 1000.0 * 1.1;
        let (mut begun, mut began_at, mut longest) = (0, Instant::now(), Duration::ZERO);
        let mut finished = false;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the child goes on restoring and committing");
            if let Some(mark) = line.strip_prefix("committed ") {
                committed.insert(mark.to_string());
            }
            if line == "restoring" {
                begun += 1;
                began_at = Instant::now();
                finished = false;
            }
            if line == "restored" {
                longest = longest.max(began_at.elapsed());
                finished = true;
            }
            if begun >= restores {
                break;
            }
        }
        // Not a wait for a condition: the fault's moment, chosen at random.
        std::thread::sleep(longest.mul_f64(fraction));
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        reader.join().unwrap();
        // What the child printed before it died had committed too.
        for line in lines.try_iter() {
            if let Some(mark) = line.strip_prefix("committed ") {
                committed.insert(mark.to_string());
            }
            finished |= line == "restored";
        }
        if !finished {
            inside_a_restore += 1;
        }
        let found = marks_in(dir.path());
        let lost: Vec<_> = committed.difference(&found).collect();
        assert!(
            lost.is_empty(),
            "kill {round}: {} committed entries lost, e.g. {:?}",
            lost.len(),
            lost.iter().take(3).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "{} committed entries over {KILLS} kills ({inside_a_restore} after a restore began and \
         before it said it was done), every one kept",
        committed.len()
    );
    assert!(committed.len() > KILLS, "the writer committed entries");
    let services = Services::open(dir.path(), &support::test_key()).unwrap();
    assert!(
        !dir.path().join(RESTORE_STAGING_FILE).exists(),
        "the staged copy a killed restore left is removed at the next start"
    );
    services
        .sign_in("admin", support::ADMIN_PASSWORD)
        .expect("the restored accounts sign in");
}
