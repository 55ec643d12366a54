//! The app under test: the real window under Xvfb, driven through tauri-driver and
//! WebKitWebDriver, with helpers a flow needs (screenshots of the settled screen,
//! native dialogs answered with xdotool as a user would).

use super::support;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::webdriver::Session;
use support::{display, free_port, workspace_root, Guard, ADMIN_PASSWORD, APP};

/// One window at a time: two WebKit instances on two cores make every flow slow.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An assessment's times as the page measured them, in ms from the click.
#[derive(Debug, Clone, Copy)]
pub struct PaintTiming {
    /// To the painted result.
    pub painted: f64,
    /// To the answer's arrival.
    pub answered: f64,
    /// To the start of the frame that painted it.
    pub frame: f64,
}

pub struct App {
    pub s: Session,
    pub display: String,
    pub stall_report: PathBuf,
    _driver: Guard,
    _xvfb: Option<Guard>,
}

impl App {
    pub fn start(data: &Path, env: &[(&str, &str)]) -> App {
        let (display, xvfb) = display();
        let port = free_port();
        let native_port = free_port();
        let mut driver = Command::new(tauri_driver());
        driver
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("CARDIORISK_DATA_DIR", data)
            .env("CARDIORISK_STALL_REPORT", data.join("stall.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            driver.env(k, v);
        }
        let driver = Guard(
            driver
                .spawn()
                .expect("start tauri-driver (cargo install tauri-driver)"),
        );
        // CARDIORISK_E2E_APP drives another build (scripts/bench-client.sh: the release app).
        let app = std::env::var("CARDIORISK_E2E_APP").unwrap_or_else(|_| APP.to_string());
        let s = Session::start(port, &app);
        App {
            s,
            display,
            stall_report: data.join("stall.json"),
            _driver: driver,
            _xvfb: xvfb,
        }
    }

    /// A screenshot of the whole virtual display as X shows it (WebKit's WebDriver
    /// screenshot can lag behind the last repaint), taken once the screen has settled:
    /// two captures in a row alike.
    pub fn shot(&self, name: &str) {
        let dir = workspace_root().join("target/e2e-shots");
        std::fs::create_dir_all(&dir).unwrap();
        let capture = || {
            let out = Command::new("import")
                .args(["-display", &self.display, "-window", "root", "rgb:-"])
                .output()
                .expect("run ImageMagick's import");
            assert!(out.status.success(), "screenshot failed");
            out.stdout
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = capture();
        loop {
            let now = capture();
            if now == last || Instant::now() > deadline {
                break;
            }
            last = now;
        }
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(dir.join(format!("{name}.png")))
            .status()
            .expect("run ImageMagick's import");
        assert!(status.success(), "screenshot failed");
    }

    /// Whether the top bar's tabs fit on one line (the nav no taller than one and a
    /// half tabs).
    pub fn tabs_on_one_line(&self) -> bool {
        self.s.execute(
            "const nav = document.querySelector('nav.tabs');
             const tab = nav.querySelector('.tab');
             return nav.getBoundingClientRect().height < 1.5 * tab.getBoundingClientRect().height;",
        ) == serde_json::json!(true)
    }

    pub fn shot_at(&self, css: &str, name: &str) {
        self.s.scroll_to(css);
        self.shot(name);
    }

    /// How long the last assessment took, as the page measured it (`performance.now()`
    /// from the submit event to a task queued by the next animation frame after the
    /// answer, which runs once that frame is painted), once the page has it: with the
    /// answer's arrival and the frame's start, all from the click.
    pub fn paint_timing(&self) -> PaintTiming {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.s.execute(
                "const r = document.querySelector('#result');
                 const a = n => r ? (r.getAttribute(n) || '') : '';
                 return [a('data-click-to-paint-ms'), a('data-click-to-answer-ms'), a('data-click-to-frame-ms')];",
            );
            let cells: Vec<&str> = v
                .as_array()
                .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
                .unwrap_or_default();
            if let [painted, answered, frame] = cells[..] {
                if let (Ok(painted), Ok(answered), Ok(frame)) =
                    (painted.parse(), answered.parse(), frame.parse())
                {
                    return PaintTiming {
                        painted,
                        answered,
                        frame,
                    };
                }
            }
            assert!(Instant::now() < deadline, "the page measured no paint time");
            // Every poll is a script the webview runs: leave its main thread alone a while.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`App::paint_timing`] in words, for a flow to print.
    pub fn click_to_paint(&self) -> String {
        let t = self.paint_timing();
        format!(
            "{:.1} ms, the answer after {:.1} ms, the next frame began after {:.1} ms",
            t.painted, t.answered, t.frame
        )
    }

    /// The page's round trip to the backend for a command that only reads (the
    /// preferences): median of 50 calls in ms, as the page measures it. The floor
    /// under every answer the UI waits for.
    pub fn ipc_round_trip_ms(&self) -> f64 {
        self.s.execute(
            "window.__ipcMedian = null;
             (async () => {
               const times = [];
               for (let i = 0; i < 50; i++) {
                 const t = performance.now();
                 await window.__TAURI__.core.invoke('preferences');
                 times.push(performance.now() - t);
               }
               times.sort((a, b) => a - b);
               window.__ipcMedian = times[25];
             })();",
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(ms) = self.s.execute("return window.__ipcMedian;").as_f64() {
                return ms;
            }
            assert!(
                Instant::now() < deadline,
                "the page's IPC calls did not finish"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `value` into the input `id`, replacing what it held. WebKitWebDriver
    /// once answered a send-keys with an empty "unknown error" (one run in three of the
    /// flows, 2026-12-02); the field is then found again and typed once more. What the
    /// field holds is checked by the flows, not assumed.
    pub fn fill(&self, id: &str, value: &str) {
        let e = self.s.wait(&format!("#{id}"));
        self.s.clear(&e);
        if let Err(first) = self.s.try_type_text(&e, value) {
            eprintln!("typing into #{id} failed once ({first}); typing again");
            let e = self.s.wait(&format!("#{id}"));
            self.s.clear(&e);
            self.s.type_text(&e, value);
        }
    }

    pub fn click(&self, css: &str) {
        self.s.click(&self.s.wait(css));
    }

    pub fn set_up_admin(&self) {
        self.fill("setup-username", "admin");
        self.fill("setup-display-name", "Ada Admin");
        self.fill("setup-password", ADMIN_PASSWORD);
        self.fill("setup-confirm", ADMIN_PASSWORD);
        self.click("#setup-submit");
        self.acknowledge_recovery_key();
        self.s.wait_text("#who", |t| t == "Ada Admin (admin)");
    }

    /// First run shows the recovery key once (8 groups of 4); returns it after
    /// "I have written it down".
    pub fn acknowledge_recovery_key(&self) -> String {
        let key = self.s.wait_text("#recovery-key", |t| {
            t.len() == 39 && t.split('-').count() == 8
        });
        self.click("#recovery-done");
        key
    }

    /// Registers a patient from the patients tab and waits for their page.
    pub fn add_patient(&self, record: &str, name: &str, birth_year: Option<&str>) {
        self.click("#patient-new");
        self.fill("patient-record", record);
        self.fill("patient-name", name);
        if let Some(year) = birth_year {
            self.fill("patient-birth-year", year);
        }
        self.click("#patient-save");
        self.s.wait_text("#patient-title", |t| t == name);
    }

    pub fn sign_in(&self, user: &str, password: &str) {
        self.fill("signin-username", user);
        self.fill("signin-password", password);
        self.click("#signin-submit");
    }

    pub fn xdotool(&self, args: &[&str]) -> std::process::Output {
        Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("run xdotool (install the xdotool package)")
    }

    /// The window id and title of the native dialog the last click opened.
    pub fn wait_dialog(&self) -> (String, String) {
        let xdotool = |args: &[&str]| self.xdotool(args);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = xdotool(&["search", "--onlyvisible", "--name", "."]);
            let found = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|id| {
                    let name = xdotool(&["getwindowname", id]);
                    (
                        id.to_string(),
                        String::from_utf8_lossy(&name.stdout).trim().to_string(),
                    )
                })
                .find(|(_, name)| !name.is_empty() && name != "CardioRisk");
            if let Some(dialog) = found {
                return dialog;
            }
            assert!(Instant::now() < deadline, "no dialog appeared");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether the window `id` is still shown.
    fn visible(&self, id: &str) -> bool {
        let out = self.xdotool(&["search", "--onlyvisible", "--name", "."]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|w| w == id)
    }

    /// Waits up to `limit` for the window `id` to go; whether it went.
    fn gone_within(&self, id: &str, limit: Duration) -> bool {
        let since = Instant::now();
        while self.visible(id) {
            if since.elapsed() > limit {
                return false;
            }
        }
        true
    }

    /// Closes a dialog as a user would, with Escape, and waits until it is gone
    /// (pressing again if the dialog was not yet taking keys).
    pub fn close_dialog(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.visible(id) {
            assert!(Instant::now() < deadline, "the dialog {id} did not close");
            self.xdotool(&["windowfocus", "--sync", id]);
            self.xdotool(&["key", "--clearmodifiers", "Escape"]);
            self.gone_within(id, Duration::from_secs(1));
        }
    }

    /// Types `path` into the native file dialog that the last click opened, and waits
    /// until the dialog has taken it and closed. A dialog not yet taking keys when
    /// they arrive stays open; the path is then typed again.
    pub fn answer_file_dialog(&self, path: &Path) {
        let xdotool = |args: &[&str]| self.xdotool(args);
        let (dialog, _) = self.wait_dialog();
        let deadline = Instant::now() + Duration::from_secs(40);
        // Keys typed again after the dialog went would land in the app's window, so a
        // dialog is given ample time to close before it counts as not having taken them.
        while self.visible(&dialog) {
            xdotool(&["windowfocus", "--sync", &dialog]);
            // Ctrl+L opens the location field of an open dialog; in a save dialog it
            // selects the proposed name up to its extension, so select all of it.
            xdotool(&["key", "--clearmodifiers", "ctrl+l"]);
            xdotool(&["key", "--clearmodifiers", "ctrl+a"]);
            xdotool(&["type", "--delay", "10", &path.display().to_string()]);
            xdotool(&["key", "Return"]);
            if self.gone_within(&dialog, Duration::from_secs(10)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the file dialog did not take {}",
                path.display()
            );
            eprintln!("the file dialog is still open 10 s after the path; typing it again");
        }
    }
}

impl Drop for App {
    /// tauri-driver's own child (WebKitWebDriver) outlives it unless stopped first.
    fn drop(&mut self) {
        // The longest the window's thread could not repaint or take input during the
        // flow (a figure for README, not an assertion).
        let flow = std::thread::current()
            .name()
            .unwrap_or("this flow")
            .to_string();
        if let Ok(report) = std::fs::read_to_string(&self.stall_report) {
            eprintln!("main-thread stall in {flow}: {}", report.trim());
        }
        // The memory the flow leaves the app at (figures, not assertions).
        let kb = pss_of_app_tree(self._driver.0.id());
        eprintln!(
            "memory after {flow}: {} MB PSS (app and WebKit processes)",
            kb / 1024
        );
        let _ = Command::new("pkill")
            .args(["-P", &self._driver.0.id().to_string()])
            .status();
    }
}

/// Pss in kB summed over the app and its WebKit processes: the descendants of `root`
/// (tauri-driver) but the WebDriver processes themselves.
fn pss_of_app_tree(root: u32) -> u64 {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 2..];
        after_name.split(' ').nth(1)?.parse().ok()
    };
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let descends = |mut pid: u32| {
        while let Some(parent) = parent_of(pid) {
            if parent == root {
                return true;
            }
            if parent <= 1 {
                return false;
            }
            pid = parent;
        }
        false
    };
    pids.into_iter()
        .filter(|&pid| descends(pid))
        .filter(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            !name.trim().starts_with("WebKitWebDriver")
        })
        .filter_map(|pid| {
            let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
            let line = rollup.lines().find(|l| l.starts_with("Pss:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let local = PathBuf::from(home).join(".cargo/bin/tauri-driver");
    if local.exists() {
        local
    } else {
        PathBuf::from("tauri-driver")
    }
}
