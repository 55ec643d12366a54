//! The app's support log across its process's life: each start with its milestones,
//! a graceful stop on SIGTERM, whole lines after SIGKILL. The app runs under Xvfb
//! without WebDriver; it says when its first screen is up through its ready file.

mod support;

/// The support log notes each start and a graceful stop (SIGTERM); a run killed
/// outright leaves its lines whole, and the next start appends to them.
#[cfg(target_os = "linux")]
#[test]
fn the_support_log_notes_start_and_stop_and_outlives_a_kill() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let data = tempfile::tempdir().unwrap();
    let (display, _xvfb) = support::display();
    let run_until_ready_then = |signal: i32| {
        let ready = data.path().join("ready");
        let _ = std::fs::remove_file(&ready);
        let mut app = Command::new(support::APP)
            .env("DISPLAY", &display)
            .env("CARDIORISK_DATA_DIR", data.path())
            .env("CARDIORISK_READY_FILE", &ready)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the app");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready.exists() {
            assert!(app.try_wait().unwrap().is_none(), "the app ended early");
            assert!(
                Instant::now() < deadline,
                "the app never showed its first screen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill(2) on the child we started and have not yet waited for.
        unsafe { libc::kill(app.id() as i32, signal) };
        app.wait().unwrap()
    };
    run_until_ready_then(libc::SIGKILL);
    let stopped = run_until_ready_then(libc::SIGTERM);
    assert!(
        stopped.success(),
        "a stop signal ends the app cleanly: {stopped}"
    );

    let log = support::support_log(data.path(), &[]);
    assert_eq!(log.matches("CardioRisk started").count(), 2, "{log}");
    let stop = log
        .find("stop signal received")
        .expect("the signal is noted");
    assert!(log[stop..].contains("CardioRisk stopped"), "{log}");
    // Each start notes its milestones, in order: the page began loading, its wasm ran,
    // its first screen was ready (ms since the process started).
    let field = |line: &str, name: &str| -> i64 {
        let at = line
            .find(&format!("{name}="))
            .unwrap_or_else(|| panic!("{name} in {line}"));
        let digits: String = line[at + name.len() + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        digits.parse().unwrap()
    };
    let ready: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("first screen ready"))
        .collect();
    assert_eq!(ready.len(), 2, "{log}");
    for line in ready {
        let page = field(line, "page_started_ms");
        let wasm = field(line, "wasm_started_ms");
        let done = field(line, "ready_ms");
        assert!(0 <= page && page <= wasm && wasm <= done, "{line}");
    }
    assert_eq!(log.matches("services open window_ms=").count(), 2, "{log}");
    for line in log.lines() {
        assert!(
            line.starts_with("20")
                && [" INFO ", " WARN ", " ERROR "]
                    .iter()
                    .any(|l| line.contains(l)),
            "a whole, timed line: {line:?}"
        );
    }
}
