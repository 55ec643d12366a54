//! Where each operating system keeps an application's data: the same folder the
//! desktop app gets from Tauri (`app_data_dir`), so the CLI and the window share
//! one database when neither is told otherwise.

use std::ffi::OsString;
use std::path::PathBuf;

/// The app's identifier (tauri.conf.json), the name of its data folder.
pub const APP_IDENTIFIER: &str = "org.cardiorisk.desktop";

/// The data folder for this user on this system, or `None` when the system does
/// not say where home is.
pub fn default_data_dir() -> Option<PathBuf> {
    data_dir_from(|name| std::env::var_os(name))
}

/// As [`default_data_dir`] with the environment given (for tests).
fn data_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        // Roaming application data, as Windows' FOLDERID_RoamingAppData.
        set("APPDATA")
    } else if cfg!(target_os = "macos") {
        set("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        // XDG: an absolute XDG_DATA_HOME wins; a relative one is ignored, as the
        // specification says.
        set("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| set("HOME").map(|h| h.join(".local/share")))
    };
    base.map(|b| b.join(APP_IDENTIFIER))
}

/// The computer's time zone (`TZ`, `/etc/localtime`, or Windows' setting), read
/// with its rules: times are shown, printed and exported in it, stored in UTC.
pub struct SystemZone(jiff::tz::TimeZone);

impl SystemZone {
    pub fn new() -> SystemZone {
        SystemZone(jiff::tz::TimeZone::system())
    }
}

impl Default for SystemZone {
    fn default() -> Self {
        Self::new()
    }
}

impl cardiorisk_contract::Zone for SystemZone {
    fn offset_at(&self, unix: i64) -> i32 {
        jiff::Timestamp::from_second(unix)
            .map(|at| self.0.to_offset(at).seconds())
            .unwrap_or(0)
    }

    fn name(&self) -> Option<String> {
        self.0.iana_name().map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn xdg_data_home_wins_when_absolute_and_home_is_the_fallback() {
        let home = [("HOME", "/home/ana")];
        assert_eq!(
            data_dir_from(env(&home)),
            Some(PathBuf::from(
                "/home/ana/.local/share/org.cardiorisk.desktop"
            ))
        );
        let both = [("HOME", "/home/ana"), ("XDG_DATA_HOME", "/data/ana")];
        assert_eq!(
            data_dir_from(env(&both)),
            Some(PathBuf::from("/data/ana/org.cardiorisk.desktop"))
        );
        let relative = [("HOME", "/home/ana"), ("XDG_DATA_HOME", "data")];
        assert_eq!(
            data_dir_from(env(&relative)),
            Some(PathBuf::from(
                "/home/ana/.local/share/org.cardiorisk.desktop"
            ))
        );
    }

    #[cfg(windows)]
    #[test]
    fn windows_keeps_data_in_roaming_app_data() {
        let vars = [("APPDATA", r"C:\Users\ana\AppData\Roaming")];
        assert_eq!(
            data_dir_from(env(&vars)),
            Some(PathBuf::from(
                r"C:\Users\ana\AppData\Roaming\org.cardiorisk.desktop"
            ))
        );
    }

    #[test]
    fn no_home_means_no_default() {
        assert_eq!(data_dir_from(env(&[("HOME", "")])), None);
    }

    #[test]
    fn the_identifier_is_the_apps() {
        let conf = include_str!("../../tauri.conf.json");
        assert!(conf.contains(&format!("\"identifier\": \"{APP_IDENTIFIER}\"")));
    }
}
