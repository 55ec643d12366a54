//! How long a legitimate caller waits on `cardiorisk serve` (the release binary)
//! while a hostile local program attacks it, beside the same request with the
//! server idle. Prints figures; run with `cargo bench -p cardiorisk-cli --bench hostile`.
//!
//! Each figure is the median and 90th percentile of requests on new connections:
//! a scoring request with a key already checked, a key used for the first time (an
//! argon2 check), and the administrator's sign-in (a password check).

#[path = "../tests/hostile/attack.rs"]
mod attack;
#[allow(dead_code)]
#[path = "../tests/faults/load.rs"]
mod load;
#[path = "../../tests/support/mod.rs"]
mod support;

use attack::*;
use std::time::{Duration, Instant};

const ROUNDS: usize = 40;

struct Figures {
    scored: Vec<Duration>,
    first_use: Vec<Duration>,
    sign_in: Vec<Duration>,
}

fn time(expect: u16, call: impl FnOnce() -> std::io::Result<Reply>) -> Duration {
    let started = Instant::now();
    let reply = call().expect("answered");
    assert_eq!(reply.status, expect, "{}", reply.body);
    started.elapsed()
}

/// Legitimate requests, each kind in turn; `fresh` keys are each used once.
fn measure(port: u16, used_key: &str, fresh: &mut Vec<String>) -> Figures {
    let mut f = Figures {
        scored: Vec::new(),
        first_use: Vec::new(),
        sign_in: Vec::new(),
    };
    for _ in 0..ROUNDS {
        f.scored.push(time(200, || risk(port, used_key)));
        let key = fresh.pop().expect("enough fresh keys");
        f.first_use.push(time(200, || risk(port, &key)));
        f.sign_in.push(time(200, || {
            sign_in(port, "admin", support::ADMIN_PASSWORD)
        }));
    }
    f
}

fn line(what: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{what:<22} median {:>7.2} ms  p90 {:>7.2} ms",
        ms(v[v.len() / 2]),
        ms(v[v.len() * 9 / 10])
    )
}

fn report(attack: &str, f: Figures) {
    println!("{attack}");
    println!("  {}", line("scoring (known key)", f.scored));
    println!("  {}", line("key used first time", f.first_use));
    println!("  {}", line("administrator sign-in", f.sign_in));
}

fn main() {
    raise_descriptor_limit();
    let dir = tempfile::tempdir().unwrap();
    let (s, session) = support::set_up_vault(dir.path());
    let admin = session.token;
    support::clinician(&s, &admin, "cleo", "Cleo");
    s.set_plan(&admin, "ROOMY", 1_000_000).unwrap();
    let mut keys: Vec<String> = (0..5 * ROUNDS + 2)
        .map(|i| {
            s.create_client(&admin, &format!("lab {i}"), "ROOMY")
                .unwrap()
                .api_key
        })
        .collect();
    drop(s);
    let server = load::serve(dir.path());
    let _guard = support::Guard(server.child);
    let port = server.port;
    let used = keys.pop().unwrap();
    let target = keys.pop().unwrap();
    assert_eq!(risk(port, &used).unwrap().status, 200);

    report("idle", measure(port, &used, &mut keys));
    {
        let flood = half_sent_connections(port, 1_100);
        flood.wait_for(1_100);
        report(
            "1,100 half-sent connections, re-opened as closed",
            measure(port, &used, &mut keys),
        );
    }
    {
        let flood = wrong_sign_ins(port, 4, "cleo");
        flood.wait_for(20);
        report(
            "wrong sign-ins from 4 callers at once (unknown names and a real one)",
            measure(port, &used, &mut keys),
        );
    }
    {
        let flood = wrong_keys(port, 4, &target);
        flood.wait_for(20);
        report(
            "wrong keys with a client's prefix from 4 callers at once",
            measure(port, &used, &mut keys),
        );
    }
    report("idle again", measure(port, &used, &mut keys));
}
