//! `cardiorisk serve` against a hostile program on the same computer: a flood of
//! idle connections, wrong sign-ins and wrong keys from the one address every local
//! caller shares, and a model file of any size. The promise: the legitimate caller's
//! request is answered on its merits meanwhile, lock-outs tell no one which names
//! exist (before or after a restart), and nothing is read whole past its limit. How
//! long the legitimate requests take under each attack is measured by
//! `cargo bench -p cardiorisk-cli --bench hostile`, not asserted here.

mod attack;
#[allow(dead_code)] // the fault tests use the rest
#[path = "../faults/load.rs"]
mod load;
#[path = "../../../tests/support/mod.rs"]
mod support;

use attack::*;
use std::path::Path;
use std::process::{Command, Stdio};
use support::{ADMIN_PASSWORD, CLI};

/// An administrator, a clinician (`cleo`) and integration clients on a roomy plan;
/// returns the clients' keys, none used yet.
fn prepare(dir: &Path, clients: usize) -> Vec<String> {
    let (s, session) = support::set_up_vault(dir);
    let admin = session.token;
    support::clinician(&s, &admin, "cleo", "Cleo");
    s.set_plan(&admin, "ROOMY", 100_000).unwrap();
    (0..clients)
        .map(|i| {
            s.create_client(&admin, &format!("lab {i}"), "ROOMY")
                .unwrap()
                .api_key
        })
        .collect()
}

#[test]
fn a_flood_of_half_sent_connections_does_not_starve_a_real_client() {
    raise_descriptor_limit();
    let dir = tempfile::tempdir().unwrap();
    let keys = prepare(dir.path(), 1);
    let server = load::serve(dir.path());
    let _guard = support::Guard(server.child);
    // More half-sent connections than the server keeps, re-opened as it closes them.
    let flood = half_sent_connections(server.port, 1_100);
    flood.wait_for(1_100);
    for round in 0..20 {
        // Each answer must come within 5 s, half the header timeout after which a
        // server that only waits would free a slot.
        let reply = risk(server.port, &keys[0])
            .unwrap_or_else(|e| panic!("round {round}: the real client got no answer: {e}"));
        assert_eq!(reply.status, 200, "round {round}: {}", reply.body);
    }
    let reply = sign_in(server.port, "admin", ADMIN_PASSWORD).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    eprintln!(
        "20 answers during a flood of {} half-sent connections",
        flood.made.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn wrong_sign_ins_from_any_local_program_never_lock_out_other_accounts_or_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = prepare(dir.path(), 3);
    let server = load::serve(dir.path());
    let _guard = support::Guard(server.child);
    // Unknown names and cleo's, from four callers at once: far past the 20 failures
    // a per-address throttle allowed before it answered everyone 429.
    let flood = wrong_sign_ins(server.port, 4, "cleo");
    flood.wait_for(60);
    for key in &keys {
        let reply = risk(server.port, key).unwrap();
        assert_eq!(
            reply.status, 200,
            "a key used for the first time: {}",
            reply.body
        );
    }
    for _ in 0..3 {
        let reply = sign_in(server.port, "admin", ADMIN_PASSWORD).unwrap();
        assert_eq!(reply.status, 200, "the administrator: {}", reply.body);
    }
    // cleo, whose name the attacker used, is locked by her own account's rule.
    let reply = sign_in(server.port, "cleo", "clinician-pass-1").unwrap();
    assert_eq!(reply.status, 423, "{}", reply.body);
}

#[test]
fn wrong_keys_with_a_clients_prefix_do_not_lock_that_client_out() {
    let dir = tempfile::tempdir().unwrap();
    let keys = prepare(dir.path(), 2);
    let server = load::serve(dir.path());
    let _guard = support::Guard(server.child);
    // Sequentially first: the five wrong secrets that used to lock the prefix.
    for n in 0..6 {
        let reply = risk(server.port, &wrong_secret(&keys[0], n)).unwrap();
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    let reply = risk(server.port, &keys[0]).unwrap();
    assert_eq!(reply.status, 200, "right after: {}", reply.body);
    // Then a flood on the second client's prefix while it is used for the first time.
    let flood = wrong_keys(server.port, 4, &keys[1]);
    flood.wait_for(100);
    let reply = risk(server.port, &keys[1]).unwrap();
    assert_eq!(reply.status, 200, "during the flood: {}", reply.body);
    // A repeated wrong key is refused from memory, still as 403.
    for _ in 0..3 {
        let reply = risk(server.port, &wrong_secret(&keys[1], 7)).unwrap();
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
}

#[test]
fn unknown_and_real_names_lock_alike_before_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 0);
    let answers = |port: u16, name: &str| {
        let r = sign_in(port, name, "not the password").unwrap();
        (r.status, r.body)
    };
    let mut server = load::serve(dir.path());
    for attempt in 1..=6 {
        let real = answers(server.port, "cleo");
        let unknown = answers(server.port, "nobody-here");
        assert_eq!(real, unknown, "attempt {attempt}");
        assert_eq!(
            real.0,
            if attempt < 5 { 401 } else { 423 },
            "attempt {attempt}"
        );
    }
    // SIGTERM, then a new process on the same data.
    // SAFETY: kill only sends a signal to the child.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    assert!(server.child.wait().unwrap().success());
    server = load::serve(dir.path());
    let _guard = support::Guard(server.child);
    let real = answers(server.port, "cleo");
    let unknown = answers(server.port, "nobody-here");
    assert_eq!(real.0, 423, "{}", real.1);
    assert_eq!(real, unknown, "after a restart");
    // A name never tried is not locked, like a real account never tried.
    let fresh = answers(server.port, "someone-else");
    let admin_wrong = answers(server.port, "admin");
    assert_eq!(fresh, admin_wrong);
    assert_eq!(fresh.0, 401);
}

/// Peak resident memory of a finished child, from the kernel's own accounting.
#[cfg(target_os = "linux")]
fn peak_rss_kib(child: std::process::Child) -> (i32, i64) {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes the status and the usage of the child it reaps.
    let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(reaped, child.id() as i32);
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[cfg(target_os = "linux")]
#[test]
fn a_3_gb_model_and_an_endless_one_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.json");
    // Sparse: 3 GiB long, nothing on the disk.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    for model in [huge.as_path(), Path::new("/dev/zero")] {
        let mut child = Command::new(CLI)
            .args([
                "predict",
                "--colesterol=2.4",
                "--presion=1.6",
                "--glucosa=0.9",
                "--edad=45",
                "--sobrepeso=0",
                "--tabaquismo=1",
                "--model",
            ])
            .arg(model)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let (code, peak) = peak_rss_kib(child);
        assert_ne!(code, 0, "{}: refused", model.display());
        assert!(
            stderr.contains("larger than the 32 MiB allowed"),
            "{}: {stderr}",
            model.display()
        );
        // The limit is 32 MiB: the process never holds much more than that.
        assert!(peak < 100 * 1024, "{}: peak {peak} KiB", model.display());
        eprintln!("{}: refused, peak {peak} KiB", model.display());
    }
}

#[test]
fn serve_says_when_it_falls_back_to_the_built_in_model_and_why_on_stderr_and_in_its_log() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 0);
    // An activated model whose file is then cut in half.
    let registry = cardiorisk_core::models::Registry::new(dir.path());
    let mut model = cardiorisk_model::ModelPayload::from_bytes(include_bytes!(
        "../../../assets/model/cardiorisk-model.json"
    ))
    .unwrap();
    model.version = "20300101-000000-cut".into();
    registry.store(&model).unwrap();
    registry.activate(&model.version).unwrap();
    let file = dir.path().join("models/20300101-000000-cut.json");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();

    let port = support::free_port();
    let child = Command::new(CLI)
        .args(["serve", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("CARDIORISK_USERNAME", "admin")
        .env("CARDIORISK_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = support::Guard(child);
    let stderr = std::io::BufReader::new(guard.0.stderr.take().unwrap());
    let mut said = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        let listening = line.contains("listening");
        said.push(line);
        if listening {
            break;
        }
    }
    let said = said.join("\n");
    let logged = std::fs::read_to_string(dir.path().join("logs/cardiorisk.log")).unwrap();
    assert!(
        logged.contains("the activated model cannot be used"),
        "the support log has it too: {logged}"
    );
    assert!(
        said.contains("WARN")
            && said.contains("the activated model cannot be used")
            && said.contains("20300101-000000-cut")
            && said.contains("scoring with the built-in model"),
        "{said}"
    );
}
