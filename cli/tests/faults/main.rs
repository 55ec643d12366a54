//! Fault injection against the real `cardiorisk serve` process and a real database:
//! SIGKILL, SIGTERM and SIGINT under load, a full disk, a database locked by another
//! process. The promise under test: a request answered by the gateway is in the audit
//! log, whatever happens next; when the log cannot be written the answer is 503, never
//! 200, and the gateway recovers by itself.

mod load;
#[path = "../../../tests/support/mod.rs"]
mod support;

use load::*;

use cardiorisk_core::service::DB_FILE;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{free_port, CLI};

#[test]
fn sigkill_under_load_never_loses_an_answered_request() {
    let dir = tempfile::tempdir().unwrap();
    let key = prepare(dir.path());
    let mut all_acked = Vec::new();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill moments seed {seed}");
    for (round, after) in moments(seed, 6, 3000).into_iter().enumerate() {
        let mut server = serve(dir.path());
        let load = start_load(server.port, &key, round);
        load.wait_for(after);
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        let acked = load.finish();
        assert!(acked.len() >= after);
        assert_every_acknowledged_request_is_logged(dir.path(), &acked, &format!("kill {round}"));
        let logged_this_round = logged_ids(dir.path())
            .iter()
            .filter(|id| id.starts_with(&format!("r{round}-")))
            .count();
        assert!(
            logged_this_round <= acked.len() + CONNECTIONS,
            "at most one request per connection is logged but unanswered"
        );
        all_acked.extend(acked);
    }
    eprintln!(
        "{} requests acknowledged over 6 kills, every one logged",
        all_acked.len()
    );
    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_finish_requests_in_flight_and_exit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let key = prepare(dir.path());
    for (round, signal) in [(0, libc::SIGTERM), (1, libc::SIGINT)] {
        let mut server = serve(dir.path());
        let load = start_load(server.port, &key, round);
        load.wait_for(500);
        // SAFETY: sends a signal to our own child process.
        unsafe { libc::kill(server.child.id() as i32, signal) };
        let status = server.child.wait().unwrap();
        let acked = load.finish();
        assert!(status.success(), "signal {signal}: exit status {status}");
        assert_every_acknowledged_request_is_logged(
            dir.path(),
            &acked,
            &format!("signal {signal}"),
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_database_locked_by_another_process_gets_503_not_200_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let key = prepare(dir.path());
    let server = serve(dir.path());
    let port = server.port;
    let _guard = support::Guard(server.child);
    let pid = _guard.0.id();
    let mut client = Client::connect(port).unwrap();
    assert_eq!(client.risk(&key, "before", &query(1)).unwrap().status, 200);
    let rss_before = rss_kib(pid);

    // Another process (this test) holds the write lock.
    let locker = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    // Many clients keep asking while the lock is held: none may get a 200 then.
    let locked = Arc::new(AtomicBool::new(true));
    let refused = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let flood: Vec<_> = (0..16)
        .map(|t| {
            let (key, locked, refused, stop) = (
                key.clone(),
                Arc::clone(&locked),
                Arc::clone(&refused),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut c = Client::connect(port).unwrap();
                let (mut ok, mut turned_away) = (Vec::new(), Vec::new());
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let id = format!("locked-{t}-{n}");
                    let a = c.risk(&key, &id, &query(n)).unwrap();
                    match a.status {
                        // Only possible once the lock was released (the flag is
                        // cleared before the release).
                        200 => {
                            assert!(!locked.load(Ordering::SeqCst), "200 while locked");
                            ok.push(id);
                        }
                        503 => {
                            assert!(a.retry_after.is_some(), "503 says when to retry");
                            assert!(a.body.contains(r#""status":"error""#), "{}", a.body);
                            refused.fetch_add(1, Ordering::SeqCst);
                            turned_away.push(id);
                        }
                        other => panic!("unexpected {other}: {}", a.body),
                    }
                    n += 1;
                }
                (ok, turned_away)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while refused.load(Ordering::SeqCst) < 32 {
        assert!(Instant::now() < deadline, "no 503 while locked");
        std::thread::yield_now();
    }
    let rss_locked = rss_kib(pid);
    locked.store(false, Ordering::SeqCst);
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    stop.store(true, Ordering::SeqCst);
    let (mut ok, mut turned_away) = (Vec::new(), Vec::new());
    for t in flood {
        let (o, r) = t.join().unwrap();
        ok.extend(o);
        turned_away.extend(r);
    }

    // Recovers by itself, and says in the log how many requests it refused.
    let a = client.risk(&key, "after", &query(2)).unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let logged = logged_ids(dir.path());
    assert!(logged.contains("before") && logged.contains("after"));
    assert_every_acknowledged_request_is_logged(dir.path(), &ok, "after the lock");
    let logged_refusals: Vec<&String> = turned_away
        .iter()
        .filter(|id| logged.contains(*id))
        .collect();
    assert!(
        logged_refusals.is_empty(),
        "a 503 never did anything: {logged_refusals:?}"
    );
    let conn = support::open_db(&dir.path().join(DB_FILE)).unwrap();
    let outage: String = conn
        .query_row(
            "SELECT detail FROM audit_log WHERE detail LIKE '%answered 503%' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        outage.contains("request log could not be written"),
        "{outage}"
    );
    eprintln!(
        "RSS {} KiB before the lock, {} KiB while 16 clients were refused",
        rss_before, rss_locked
    );
    assert!(
        rss_locked < rss_before + 64 * 1024,
        "memory stays bounded while the log is stalled"
    );
}

/// A full disk, on a small tmpfs mounted for the test (root only; says so when it skips).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_gets_503_not_200_and_recovers_when_space_returns() {
    if unsafe { libc::geteuid() } != 0 {
        support::skip(false, "mounting a small tmpfs needs root");
        return;
    }
    let Some(mount) = support::Tmpfs::mount("8m") else {
        support::skip(false, "cannot mount a tmpfs here");
        return;
    };
    let dir = mount.path().join("data");
    let key = prepare(&dir);
    let server = serve(&dir);
    let port = server.port;
    let _guard = support::Guard(server.child);
    let mut client = Client::connect(port).unwrap();
    assert_eq!(client.risk(&key, "before", &query(1)).unwrap().status, 200);

    // Fill the disk.
    let filler = mount.path().join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0xA5u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let mut acked = Vec::new();
    let mut refused = 0;
    for n in 0..5000 {
        let id = format!("full-{n}");
        let a = client.risk(&key, &id, &query(n)).unwrap();
        match a.status {
            200 => acked.push(id),
            503 => {
                assert!(a.retry_after.is_some());
                refused += 1;
                if refused >= 20 {
                    break;
                }
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert!(refused >= 20, "a full disk must answer 503");
    assert_every_acknowledged_request_is_logged(&dir, &acked, "full disk");

    // Space returns: the gateway recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let a = client.risk(&key, "after", &query(3)).unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(logged_ids(&dir).contains("after"));
    eprintln!(
        "full disk: {} answered 200 (all logged) before the log filled, {refused} answered 503",
        acked.len()
    );
}

/// The desktop app under Xvfb with its gateway on: SIGTERM stops it cleanly (exit
/// status 0), and what the gateway answered is in the log.
#[cfg(target_os = "linux")]
#[test]
fn the_app_stops_cleanly_on_sigterm_with_its_gateway_log_complete() {
    let dir = tempfile::tempdir().unwrap();
    let key = prepare(dir.path());
    let port = free_port();
    {
        let (s, session) = support::open_vault(dir.path());
        let admin = session.token;
        s.set_settings(
            &admin,
            &[
                ("gateway.enabled", "true".into()),
                ("gateway.port", port.to_string()),
            ],
        )
        .unwrap();
    }
    // The app is the workspace root package's binary, built beside this one by
    // `cargo test --workspace`.
    let app_binary = Path::new(CLI).with_file_name("cardiorisk-app");
    if !app_binary.exists() {
        support::skip(
            true,
            &format!(
                "{} is not built (run the workspace's tests)",
                app_binary.display()
            ),
        );
        return;
    }
    let (display, _xvfb) = support::display();
    let mut app = Command::new(&app_binary)
        .env("DISPLAY", &display)
        .env("CARDIORISK_DATA_DIR", dir.path())
        // Nobody signs in on screen: the data opens at start, so the gateway answers.
        .env("CARDIORISK_USERNAME", "admin")
        .env("CARDIORISK_PASSWORD", support::ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = loop {
        if let Ok(c) = Client::connect(port) {
            break c;
        }
        assert!(Instant::now() < deadline, "the app's gateway did not start");
        assert!(app.try_wait().unwrap().is_none(), "the app exited");
        std::thread::sleep(Duration::from_millis(50));
    };
    let load = start_load(port, &key, 9);
    assert_eq!(client.risk(&key, "app-1", &query(1)).unwrap().status, 200);
    load.wait_for(200);
    // SAFETY: sends a signal to our own child process.
    unsafe { libc::kill(app.id() as i32, libc::SIGTERM) };
    let status = app.wait().unwrap();
    let mut acked = load.finish();
    acked.push("app-1".into());
    assert!(status.success(), "exit status {status}");
    assert_every_acknowledged_request_is_logged(dir.path(), &acked, "app SIGTERM");
}
