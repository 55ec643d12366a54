//! A probe of the window's thread, on when `CARDIORISK_STALL_REPORT` names a file:
//! every 5 ms a thread posts a no-op to the main (GTK) thread and measures how long
//! it waited to run. The longest wait is the longest time the window could not
//! repaint or take input. The file is rewritten each second with the figures so far
//! (`max_ms`, `p99_ms`, `samples`), so it is there even when the app is killed.
//! Waits that overlap a native dialog (file chooser, print), which GTK builds and runs
//! on that thread, are reported apart (`dialog_max_ms`, `dialog_samples`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REPORT_ENV: &str = "CARDIORISK_STALL_REPORT";

/// Native dialogs shown now, and how many times one was shown or closed.
static DIALOGS_SHOWN: AtomicUsize = AtomicUsize::new(0);
static DIALOG_CHANGES: AtomicUsize = AtomicUsize::new(0);

/// Marks a native dialog as shown for as long as it lives.
pub struct NativeDialog;

impl NativeDialog {
    pub fn shown() -> NativeDialog {
        DIALOGS_SHOWN.fetch_add(1, Ordering::SeqCst);
        DIALOG_CHANGES.fetch_add(1, Ordering::SeqCst);
        NativeDialog
    }
}

impl Drop for NativeDialog {
    fn drop(&mut self) {
        DIALOGS_SHOWN.fetch_sub(1, Ordering::SeqCst);
        DIALOG_CHANGES.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether a dialog was shown at either moment or came or went between them.
fn dialog_between(changes_before: usize, shown_before: usize) -> bool {
    shown_before > 0
        || DIALOGS_SHOWN.load(Ordering::SeqCst) > 0
        || DIALOG_CHANGES.load(Ordering::SeqCst) != changes_before
}

pub fn start(app: tauri::AppHandle) {
    let Some(path) = std::env::var_os(REPORT_ENV).map(PathBuf::from) else {
        return;
    };
    let waits: Arc<Mutex<Waits>> = Arc::default();
    let _ = std::thread::Builder::new()
        .name("cardiorisk-stall-probe".into())
        .spawn(move || {
            let mut last_report = Instant::now();
            loop {
                let posted = Instant::now();
                let (changes, shown) = (
                    DIALOG_CHANGES.load(Ordering::SeqCst),
                    DIALOGS_SHOWN.load(Ordering::SeqCst),
                );
                let record = Arc::clone(&waits);
                let (ran, done) = std::sync::mpsc::channel();
                let sent = app.run_on_main_thread(move || {
                    let micros = posted.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    let mut waits = record.lock().unwrap_or_else(|e| e.into_inner());
                    if dialog_between(changes, shown) {
                        waits.dialog.push(micros);
                    } else {
                        waits.window.push(micros);
                    }
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

/// Waits of the window's thread, in microseconds.
#[derive(Default)]
struct Waits {
    window: Vec<u32>,
    /// While a native dialog was shown, opened or closed.
    dialog: Vec<u32>,
}

fn write(path: &PathBuf, waits: &Waits) {
    if waits.window.is_empty() {
        return;
    }
    let mut sorted = waits.window.clone();
    sorted.sort_unstable();
    let max = sorted[sorted.len() - 1] as f64 / 1000.0;
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)] as f64 / 1000.0;
    let dialog_max = waits.dialog.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    let text = format!(
        "{{\"max_ms\":{max:.2},\"p99_ms\":{p99:.2},\"samples\":{},\"dialog_max_ms\":{dialog_max:.2},\"dialog_samples\":{}}}\n",
        sorted.len(),
        waits.dialog.len()
    );
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}
