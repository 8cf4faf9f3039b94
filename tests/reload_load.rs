//! Reloads under load, against the real binary, SoftHSM and the Binance mock: while bots send
//! signed requests without pause from several threads, the config is reloaded over and over,
//! alternately by SIGHUP and by the admin API's `POST /reload`, between two valid files that
//! differ (another client's rate and allowlist). Not one request may fail: each is served whole
//! by the snapshot in force when it started, and every reload is applied.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use common::free_port;
use common::{build, raw, sha256_hex, tag, ConfigSpec, Env, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

const ADMIN_TOKEN: &str = "admin-token-of-the-reload-test";
/// Bot threads sending requests meanwhile.
const BOTS: usize = 4;
/// Reloads: half by SIGHUP, half by POST /reload.
const RELOADS: usize = 40;

#[test]
fn reloads_by_sighup_and_admin_api_under_load_fail_no_request() {
    let admin_port = free_port();
    let spec = ConfigSpec {
        audit: "audit-reload-load.jsonl",
        ..Default::default()
    };
    let config = ENV.write_config("reload-load.toml", &spec);
    let admin = format!(
        "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(ADMIN_TOKEN)
    );
    let first = std::fs::read_to_string(&config).unwrap() + &admin;
    // The second file: slow-bot gets another rate and allowlist (a real change of snapshot).
    let slow = "rate = \"3/m\"\non_hard_deny = \"log\"\nallow = [\"binance:read\"]";
    assert!(first.contains(slow));
    let second = first.replace(
        slow,
        "rate = \"5/m\"\non_hard_deny = \"log\"\nallow = [\"binance:read\", { method = \"DELETE\", path = \"/api/v3/order\" }]",
    );
    std::fs::write(&config, &first).unwrap();
    let kw = Arc::new(ENV.serve(&config, "keyward-reload-load.log"));

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let bots: Vec<_> = (0..BOTS)
        .map(|_| {
            let (kw, stop, served, failed) =
                (kw.clone(), stop.clone(), served.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // A signed read outside the spot request-weight budget (SAPI).
                    let target = format!("/{MAIN}/sapi/v1/account/status?x={}", tag("load"));
                    let r = raw(
                        kw.port,
                        &build(
                            kw.port,
                            "GET",
                            &target,
                            &[("X-MBX-APIKEY", &ENV.token)],
                            None,
                        ),
                    );
                    if r.status == 200 {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed
                            .lock()
                            .unwrap()
                            .push(format!("{} {}", r.status, r.text()));
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    for i in 0..RELOADS {
        std::fs::write(&config, if i % 2 == 0 { &second } else { &first }).unwrap();
        if i % 2 == 0 {
            let before = reloaded(&kw);
            kw.signal(libc::SIGHUP);
            let deadline = Instant::now() + Duration::from_secs(20);
            while reloaded(&kw) == before {
                assert!(
                    Instant::now() < deadline,
                    "SIGHUP reload {i} was not applied"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        } else {
            let r = raw(
                admin_port,
                &build(
                    admin_port,
                    "POST",
                    "/reload",
                    &[("Authorization", &auth)],
                    None,
                ),
            );
            assert_eq!(r.status, 200, "POST /reload {i}: {}", r.text());
            assert_eq!(r.json()["reloaded"], true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for b in bots {
        b.join().unwrap();
    }
    let served = served.load(Ordering::Relaxed);
    let failed = failed.lock().unwrap();
    eprintln!(
        "{RELOADS} reloads in {:.1} s under {BOTS} bots: {served} requests served, {} failed",
        took.as_secs_f64(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "requests failed during reloads: {failed:#?}"
    );
    assert!(
        served >= 100,
        "too little load to mean anything: {served} requests"
    );
    assert_eq!(reloaded(&kw), RELOADS, "{}", kw.log_text());
    assert!(!kw.log_text().contains("config reload refused"));
    // Every request has its decision and its outcome in the chain.
    let audit = std::fs::read_to_string(ENV.dir.join("audit-reload-load.jsonl")).unwrap();
    let outcomes = audit
        .lines()
        .filter(|l| l.contains("\"event\":\"outcome\""))
        .count() as u64;
    // (besides the outcomes of keyward's own key-permission checks at start-up)
    let own_checks = audit
        .lines()
        .filter(|l| l.contains("\"client\":\"keyward:permission-check\""))
        .count() as u64;
    assert_eq!(outcomes - own_checks, served);
}

/// How many reloads `kw` has logged as applied.
fn reloaded(kw: &common::Keyward) -> usize {
    kw.log_text().matches("config reloaded").count()
}
