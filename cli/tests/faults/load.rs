//! The load the fault tests put on `cardiorisk serve`: a prepared data directory, the
//! server process, keep-alive clients, and what the audit log holds afterwards.

use super::support::{self, free_port, CLI};
use cardiorisk_core::service::DB_FILE;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LOAD_PLAN: &str = "LOAD";
pub const CONNECTIONS: usize = 4;

/// A data directory with an administrator and one client on a plan the tests cannot
/// exhaust; returns the client's key.
pub fn prepare(dir: &Path) -> String {
    let (s, session) = support::set_up_vault(dir);
    let admin = session.token;
    s.set_plan(&admin, LOAD_PLAN, 100_000_000).unwrap();
    s.create_client(&admin, "load", LOAD_PLAN).unwrap().api_key
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

pub fn serve(dir: &Path) -> Server {
    let port = free_port();
    let mut child = Command::new(CLI)
        .args(["serve", "--port", &port.to_string(), "--data-dir"])
        .arg(dir)
        .env("CARDIORISK_USERNAME", "admin")
        .env("CARDIORISK_PASSWORD", support::ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended before listening"
        );
        if line.contains("listening") {
            break;
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    Server { child, port }
}

/// One keep-alive HTTP/1.1 connection, as an integration client would hold it.
pub struct Client {
    pub stream: BufReader<TcpStream>,
}

pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            stream: BufReader::new(stream),
        })
    }

    pub fn risk(&mut self, key: &str, id: &str, query: &str) -> std::io::Result<Answer> {
        write!(
            self.stream.get_mut(),
            "GET /external/api/riesgocardiaco?{query} HTTP/1.1\r\nHost: localhost\r\napi-Key: {key}\r\nX-Request-Id: {id}\r\n\r\n"
        )?;
        let mut line = String::new();
        if self.stream.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let (mut length, mut retry_after) = (0usize, None);
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "retry-after" => retry_after = Some(value.trim().to_string()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Patients that vary with `n`, so most requests miss the prediction cache.
pub fn query(n: usize) -> String {
    format!(
        "colesterol={:.2}&presion={:.2}&glucosa={:.2}&edad={}&sobrepeso={}&tabaquismo={}",
        1.0 + (n % 200) as f64 / 100.0,
        0.6 + (n / 200 % 120) as f64 / 100.0,
        0.5 + (n / 7 % 150) as f64 / 100.0,
        n % 100,
        n / 3 % 2,
        n / 5 % 2
    )
}

/// Request ids the gateway wrote to the audit log (`... id=<id>`).
pub fn logged_ids(dir: &Path) -> HashSet<String> {
    let conn = support::open_db(&dir.join(DB_FILE)).unwrap();
    let mut stmt = conn
        .prepare("SELECT detail FROM audit_log WHERE action = 'gateway.request'")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.filter_map(|d| d.unwrap().split_once(" id=").map(|(_, id)| id.to_string()))
        .collect()
}

/// Load from `CONNECTIONS` clients until the server goes away or `stop` is set.
/// Returns the ids of requests answered 200 (acknowledged).
pub struct Load {
    pub acked: Arc<Mutex<Vec<String>>>,
    pub answered: Arc<AtomicUsize>,
    pub stop: Arc<AtomicBool>,
    pub threads: Vec<std::thread::JoinHandle<()>>,
}

pub fn start_load(port: u16, key: &str, round: usize) -> Load {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..CONNECTIONS)
        .map(|t| {
            let (acked, answered, stop, key) = (
                Arc::clone(&acked),
                Arc::clone(&answered),
                Arc::clone(&stop),
                key.to_string(),
            );
            std::thread::spawn(move || {
                let Ok(mut client) = Client::connect(port) else {
                    return;
                };
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("r{round}-t{t}-{n}");
                    match client.risk(&key, &id, &query(n * CONNECTIONS + t)) {
                        Ok(a) => {
                            assert_eq!(a.status, 200, "{}", a.body);
                            acked.lock().unwrap().push(id);
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => return,
                    }
                    n += 1;
                }
            })
        })
        .collect();
    Load {
        acked,
        answered,
        stop,
        threads,
    }
}

impl Load {
    pub fn wait_for(&self, answers: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.answered.load(Ordering::Relaxed) < answers {
            assert!(Instant::now() < deadline, "the server stopped answering");
            std::thread::yield_now();
        }
    }

    pub fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap()
    }
}

/// A small deterministic generator for "random moments" that a failure reproduces.
pub fn moments(seed: u64, n: usize, max: usize) -> Vec<usize> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            200 + (x as usize % max)
        })
        .collect()
}

pub fn assert_every_acknowledged_request_is_logged(dir: &Path, acked: &[String], round: &str) {
    let logged = logged_ids(dir);
    let missing: Vec<&String> = acked.iter().filter(|id| !logged.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{round}: {} of {} acknowledged requests are not in the log, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}
