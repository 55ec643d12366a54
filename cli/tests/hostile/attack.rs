//! What a hostile program on the same computer does to `cardiorisk serve` (any local
//! program can reach 127.0.0.1), and what a legitimate caller asks meanwhile. Used by
//! the tests (`main.rs`) and by the benchmark that times the legitimate requests
//! (`cli/benches/hostile.rs`).

#![allow(dead_code)] // the tests and the benchmark each use their own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const LOW: &str = "colesterol=1.5&presion=1.0&glucosa=0.8&edad=30&sobrepeso=0&tabaquismo=0";

/// What a legitimate caller got back.
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// One request on a new connection (as a client that opens one per request), with
/// `timeout` for the whole answer: a starved request fails instead of hanging.
pub fn request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut text =
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        text.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    text.push_str("\r\n");
    text.push_str(body.unwrap_or(""));
    stream.write_all(text.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut retry_after = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            if name.eq_ignore_ascii_case("retry-after") {
                retry_after = Some(value.trim().to_string());
            }
        }
    }
    let mut body = String::new();
    reader.read_to_string(&mut body)?;
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

pub fn sign_in(port: u16, username: &str, password: &str) -> std::io::Result<Reply> {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    request(
        port,
        "POST",
        "/internal/api/session",
        &[],
        Some(&body),
        Duration::from_secs(5),
    )
}

pub fn risk(port: u16, key: &str) -> std::io::Result<Reply> {
    request(
        port,
        "GET",
        &format!("/external/api/riesgocardiaco?{LOW}"),
        &[("api-Key", key)],
        None,
        Duration::from_secs(5),
    )
}

/// A key of the same client's prefix with a different (wrong) secret.
pub fn wrong_secret(key: &str, n: u64) -> String {
    format!(
        "{}{:048x}",
        &key[..13],
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

/// An attack running on its own threads until dropped.
pub struct Attack {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Requests or connections it has made.
    pub made: Arc<AtomicUsize>,
}

impl Attack {
    fn spawn(
        threads: usize,
        work: impl Fn(usize, &AtomicBool, &AtomicUsize) + Send + Sync + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let made = Arc::new(AtomicUsize::new(0));
        let work = Arc::new(work);
        let threads = (0..threads)
            .map(|t| {
                let (stop, made, work) = (Arc::clone(&stop), Arc::clone(&made), Arc::clone(&work));
                std::thread::spawn(move || work(t, &stop, &made))
            })
            .collect();
        Attack {
            stop,
            threads,
            made,
        }
    }

    /// Waits until the attack has made `n` requests or connections (never a fixed
    /// sleep).
    pub fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.made.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "the attack could not get going");
            std::thread::yield_now();
        }
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Keeps `count` connections open, each with half a request, opening a new one
/// whenever the server closes one (a slow-headers flood).
pub fn half_sent_connections(port: u16, count: usize) -> Attack {
    Attack::spawn(1, move |_, stop, made| {
        let open = || -> Option<TcpStream> {
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET /external/api/riesgocardiaco HTTP/1.1\r\nHost: x\r\n")
                .ok()?;
            s.set_nonblocking(true).ok()?;
            Some(s)
        };
        let mut conns: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
        let mut byte = [0u8; 64];
        while !stop.load(Ordering::Relaxed) {
            for slot in conns.iter_mut() {
                let closed = match slot {
                    None => true,
                    Some(s) => match s.read(&mut byte) {
                        Ok(_) => true,
                        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
                    },
                };
                if closed {
                    *slot = open();
                    made.fetch_add(1, Ordering::Relaxed);
                }
            }
            // One sweep over the sockets a millisecond is enough to keep them all
            // open; a tight loop would only take the CPU from the server.
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

/// Wrong sign-ins as fast as `threads` callers can send them: names that do not
/// exist, and `known` (a real account, which locks).
pub fn wrong_sign_ins(port: u16, threads: usize, known: &'static str) -> Attack {
    Attack::spawn(threads, move |t, stop, made| {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let name = if n.is_multiple_of(4) {
                known.to_string()
            } else {
                format!("guess-{t}-{n}")
            };
            let _ = sign_in(port, &name, "not the password");
            made.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    })
}

/// Wrong keys carrying `key`'s prefix, each with a new secret, as fast as
/// `threads` callers can send them.
pub fn wrong_keys(port: u16, threads: usize, key: &str) -> Attack {
    let key = key.to_string();
    Attack::spawn(threads, move |t, stop, made| {
        let mut n = (t as u64) << 32;
        while !stop.load(Ordering::Relaxed) {
            let _ = risk(port, &wrong_secret(&key, n));
            made.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    })
}

/// Lets this process open more connections than the usual soft limit of 1,024.
pub fn raise_descriptor_limit() {
    #[cfg(target_os = "linux")]
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
