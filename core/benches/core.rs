//! Core service benchmarks: assessments persisted with their audit entry, and audit
//! queries over a million entries. Prints figures; run with
//! `cargo bench --bench core`.

use cardiorisk_contract::{AuditFilter, Measurements};
use cardiorisk_core::service::{Services, DB_FILE};
use cardiorisk_core::vault::Vault;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &test_key()).unwrap();
    let token = services
        .set_up("admin", "Bench Admin", "bench-password-1")
        .unwrap()
        .token;

    // Assessments: validation, model (cache misses: every input differs), one
    // transaction with the assessment and its audit row, synchronous=FULL.
    let n = 5000;
    let started = Instant::now();
    for i in 0..n {
        let m = Measurements::from_array([
            1.0 + (i % 21) as f64 / 10.0,
            0.6 + (i / 21 % 13) as f64 / 10.0,
            1.2,
            (i % 100) as f64,
            0.0,
            (i % 2) as f64,
        ]);
        services.assess(&token, None, &m).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "assessments persisted with their audit entry: {:.0} per second ({n} in {secs:.2} s)",
        n as f64 / secs
    );

    // The same from several threads at once: the group commit shares each fsync.
    let services = std::sync::Arc::new(services);
    let writers = 8;
    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|t| {
            let (services, token) = (std::sync::Arc::clone(&services), token.clone());
            std::thread::spawn(move || {
                for i in 0..n / writers {
                    let m = Measurements::from_array([
                        1.5,
                        1.0,
                        0.8,
                        (i % 100) as f64,
                        (t % 2) as f64,
                        0.0,
                    ]);
                    services.assess(&token, None, &m).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "same, from {writers} threads (group commit): {:.0} per second ({n} in {secs:.2} s)",
        n as f64 / secs
    );
    drop(services);

    // A million audit entries, spread over a year, eight users, twelve actions.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    cardiorisk_core::db::apply_key(&conn, &test_key()).unwrap();
    let started = Instant::now();
    conn.execute_batch(
        "BEGIN;
         WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000000)
         INSERT INTO audit_log (at, user_id, username, action, status, elapsed_ms, subject, detail)
         SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || (i * 31) || ' seconds'),
                i % 8, 'user' || (i % 8),
                CASE i % 12 WHEN 0 THEN 'sign_in.succeeded' WHEN 1 THEN 'sign_in.failed'
                    WHEN 2 THEN 'patient.created' WHEN 3 THEN 'patient.updated'
                    WHEN 4 THEN 'gateway.request' WHEN 5 THEN 'sign_out'
                    ELSE 'assessment.created' END,
                CASE WHEN i % 50 = 0 THEN 'denied' ELSE 'ok' END,
                (i % 97) / 10.0, 'assessment:' || i, ''
         FROM seq;
         COMMIT;
         ANALYZE;",
    )
    .unwrap();
    println!(
        "populated 1,000,000 audit entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(conn);

    let services = Services::open(dir.path(), &test_key()).unwrap();
    let token = services.sign_in("admin", "bench-password-1").unwrap().token;
    let filters = [
        ("no filter, first page", AuditFilter::default()),
        (
            "user + action",
            AuditFilter {
                username: Some("user3".into()),
                action: Some("assessment.created".into()),
                ..Default::default()
            },
        ),
        (
            "status denied + one month",
            AuditFilter {
                status: Some("denied".into()),
                from: Some("2025-06-01T00:00:00Z".into()),
                to: Some("2025-07-01T00:00:00Z".into()),
                ..Default::default()
            },
        ),
        (
            "user + action + one week",
            AuditFilter {
                username: Some("user5".into()),
                action: Some("sign_in.failed".into()),
                from: Some("2025-03-01T00:00:00Z".into()),
                to: Some("2025-03-08T00:00:00Z".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in filters {
        let times: Vec<Duration> = (0..15)
            .map(|_| {
                let t = Instant::now();
                let page = services.audit(&token, &filter, 50, 0).unwrap();
                assert!(!page.entries.is_empty());
                t.elapsed()
            })
            .collect();
        let page = services.audit(&token, &filter, 50, 0).unwrap();
        println!(
            "audit query ({name}): median {:.2} ms, {} matching, page of {}",
            median(times).as_secs_f64() * 1e3,
            page.total,
            page.entries.len()
        );
    }
    drop(services);

    // The first sign-in after a start: the account's wrap unsealed (argon2id, 64 MiB,
    // 3 passes), the sealed database opened, the model loaded, the password checked.
    let sealed = tempfile::tempdir().unwrap();
    drop(
        Vault::new(sealed.path())
            .set_up("admin", "Bench Admin", "bench-password-1")
            .unwrap(),
    );
    let times: Vec<Duration> = (0..7)
        .map(|_| {
            let t = Instant::now();
            let (opened, _) = Vault::new(sealed.path()).sign_in("admin", "bench-password-1");
            drop(opened.unwrap());
            t.elapsed()
        })
        .collect();
    println!(
        "opening the sealed data at the first sign-in: median {:.0} ms",
        median(times).as_secs_f64() * 1e3
    );
}

/// The data key these tests seal their databases with.
fn test_key() -> cardiorisk_core::keys::DataKey {
    cardiorisk_core::keys::DataKey::from_bytes([7; 32])
}
