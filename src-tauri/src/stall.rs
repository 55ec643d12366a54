//! A probe of the window's thread, on when `CARDIORISK_STALL_REPORT` names a file:
//! every 5 ms a thread posts a no-op to the main (GTK) thread and measures how long
//! it waited to run. The longest wait is the longest time the window could not
//! repaint or take input. The file is rewritten each second with the figures so far
//! (`max_ms`, `p99_ms`, `samples`), so it is there even when the app is killed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REPORT_ENV: &str = "CARDIORISK_STALL_REPORT";

pub fn start(app: tauri::AppHandle) {
    let Some(path) = std::env::var_os(REPORT_ENV).map(PathBuf::from) else {
        return;
    };
    let waits: Arc<Mutex<Vec<u32>>> = Arc::default();
    let _ = std::thread::Builder::new()
        .name("cardiorisk-stall-probe".into())
        .spawn(move || {
            let mut last_report = Instant::now();
            loop {
                let posted = Instant::now();
                let record = Arc::clone(&waits);
                let (ran, done) = std::sync::mpsc::channel();
                let sent = app.run_on_main_thread(move || {
                    let micros = posted.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    record
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(micros);
                    let _ = ran.send(());
                });
                if sent.is_err() {
                    return;
                }
                // One probe at a time, so a stall counts once, as its full length.
                let _ = done.recv_timeout(Duration::from_secs(30));
                if last_report.elapsed() >= Duration::from_secs(1) {
                    write(&path, &waits.lock().unwrap_or_else(|e| e.into_inner()));
                    last_report = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
}

fn write(path: &PathBuf, waits: &[u32]) {
    if waits.is_empty() {
        return;
    }
    let mut sorted = waits.to_vec();
    sorted.sort_unstable();
    let max = sorted[sorted.len() - 1] as f64 / 1000.0;
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)] as f64 / 1000.0;
    let text = format!(
        "{{\"max_ms\":{max:.2},\"p99_ms\":{p99:.2},\"samples\":{}}}\n",
        sorted.len()
    );
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}
