//! Secrets for the commands that open the data: from the environment (a service,
//! a script), else typed at the terminal with echo off. Never from the command line,
//! where other users of the computer can read them in the process list.

use std::io::{BufRead, IsTerminal, Write};

/// `name` from the environment, else asked at the terminal as `what`; an error
/// naming both when there is neither (a service without its environment).
pub fn secret(name: &str, what: &str) -> Result<String, String> {
    if let Ok(value) = std::env::var(name) {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "set {name} to {what}, or run the command in a terminal to type it"
        ));
    }
    ask(what)
}

/// As [`secret`], for a new secret: typed twice at the terminal.
pub fn new_secret(name: &str, what: &str) -> Result<String, String> {
    if let Ok(value) = std::env::var(name) {
        return Ok(value);
    }
    let first = secret(name, what)?;
    let again = ask(&format!("{what}, again"))?;
    if first != again {
        return Err(format!(
            "the two entries of {what} differ; nothing was changed"
        ));
    }
    Ok(first)
}

fn ask(what: &str) -> Result<String, String> {
    let failed = |e: std::io::Error| format!("cannot read {what} from the terminal: {e}");
    let mut err = std::io::stderr();
    let line = {
        // Echo off before the prompt shows: nothing typed after it is echoed.
        let _quiet = EchoOff::new().map_err(failed)?;
        let _ = write!(err, "{what}: ");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(failed)?;
        line
    };
    let _ = writeln!(err);
    let typed = line.trim_end_matches(['\r', '\n']).to_string();
    if typed.is_empty() {
        return Err(format!("no {what} typed"));
    }
    Ok(typed)
}

/// The terminal's echo off while it lives.
struct EchoOff {
    #[cfg(unix)]
    saved: libc::termios,
    #[cfg(windows)]
    saved: (windows_sys::Win32::Foundation::HANDLE, u32),
}

#[cfg(unix)]
impl EchoOff {
    fn new() -> std::io::Result<EchoOff> {
        // SAFETY: termios is plain data; tcgetattr fills it for fd 0 or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a termios read from this terminal with one flag changed.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EchoOff { saved })
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }
}

#[cfg(windows)]
impl EchoOff {
    fn new() -> std::io::Result<EchoOff> {
        use windows_sys::Win32::System::Console::{
            GetConsoleMode, GetStdHandle, SetConsoleMode, ENABLE_ECHO_INPUT, STD_INPUT_HANDLE,
        };
        // SAFETY: console calls on this process's standard input handle.
        unsafe {
            let handle = GetStdHandle(STD_INPUT_HANDLE);
            let mut mode = 0u32;
            if GetConsoleMode(handle, &mut mode) == 0 {
                return Err(std::io::Error::last_os_error());
            }
            if SetConsoleMode(handle, mode & !ENABLE_ECHO_INPUT) == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(EchoOff {
                saved: (handle, mode),
            })
        }
    }
}

#[cfg(windows)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        use windows_sys::Win32::System::Console::SetConsoleMode;
        // SAFETY: restores the mode read in `new` on the same handle.
        unsafe { SetConsoleMode(self.saved.0, self.saved.1) };
    }
}
