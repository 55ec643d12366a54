//! End to end: the real app window under Xvfb, driven through tauri-driver and
//! WebKitWebDriver, each flow from a clean data directory; native file dialogs are
//! answered with xdotool as a user would type a path. Screenshots of the main
//! screens go to target/e2e-shots/ (scripts/screenshots.sh copies them to docs/).
//! One module per flow; `app` is the window under test, `bench` a benchmark the
//! test command skips.

mod app;
mod bench;
#[path = "../support/mod.rs"]
mod support;

mod administration;
mod first_run;
mod local_time;
mod records;
mod restore;
mod retraining;
