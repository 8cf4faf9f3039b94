//! Audit faults against the real binary: a full audit filesystem refuses requests with 503 and
//! forwards nothing, and once space is freed requests succeed again on a log `audit verify`
//! accepts; a SIGKILL in the middle of concurrent traffic leaves a log that
//! `audit verify` accepts up to its last whole record.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use common::smallfs::{fill, SmallFs};
use common::{build, raw, tag, ConfigSpec, Env, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

/// One request and whatever answer comes before the connection ends (no panics: the process
/// under test is killed while these run).
fn send_and_read(port: u16, request: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request)?;
    let mut out = vec![0u8; 4096];
    let n = s.read(&mut out)?;
    out.truncate(n);
    Ok(out)
}

fn order(port: u16, token: &str, t: &str) -> common::Resp {
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    raw(
        port,
        &build(
            port,
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            &[
                ("X-MBX-APIKEY", token),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&body),
        ),
    )
}

/// `keyward audit verify` on `log`: its stdout, after asserting it accepts the log.
fn verify(env: &Env, log: &Path, config: &Path) -> String {
    let out = env.run(
        &[
            "audit",
            "verify",
            log.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "audit verify refused {}:\n{stdout}\n{}",
        log.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    stdout
}

#[test]
fn a_full_audit_disk_refuses_with_503_and_forwards_nothing_then_recovers_when_space_is_freed() {
    let env = &*ENV;
    let Some(fs) = SmallFs::mount(&env.dir.join("auditfs"), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let config = env.write_config(
        "keyward-fullfs.toml",
        &ConfigSpec {
            audit: "auditfs/audit.jsonl",
            ..Default::default()
        },
    );
    let kw = env.serve(&config, "keyward-fullfs.stderr.log");

    // With room, an order goes through and is recorded.
    let t = tag("fullok");
    let r = order(kw.port, &env.token, &t);
    assert_eq!(r.status, 200, "{}", r.text());
    env.the_record(&t);

    fill(&fs.0);
    // A record may still fit in the slack of the log's last page; within a few requests the
    // disk is full, and from then on every request is refused and nothing forwarded.
    let mut refused = 0;
    for _ in 0..40 {
        let t = tag("full");
        let r = order(kw.port, &env.token, &t);
        if r.status == 200 {
            assert_eq!(refused, 0, "a request went through after one was refused");
            env.the_record(&t);
            continue;
        }
        r.assert_error(503, "audit_unavailable");
        env.assert_not_forwarded(&t);
        refused += 1;
        if refused == 3 {
            break;
        }
    }
    assert_eq!(refused, 3, "the full disk never refused a request");
    eprintln!("full disk: 3 requests refused with 503 audit_unavailable, none forwarded");
    assert!(
        kw.is_running(),
        "keyward must keep running with a full disk"
    );

    // Space freed: the same process records and forwards again, no restart.
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    std::fs::remove_file(fs.0.join("filler2")).unwrap();
    for _ in 0..3 {
        let t = tag("freed");
        let r = order(kw.port, &env.token, &t);
        assert_eq!(r.status, 200, "once space is freed: {}", r.text());
        env.the_record(&t);
    }
    // A clean stop signs the last checkpoint; the log (refusals cut back, the records after
    // them) verifies as one chain.
    drop(kw);
    let stdout = verify(env, &fs.0.join("audit.jsonl"), &config);
    eprintln!("space freed: 3 orders recorded and forwarded; audit verify:\n{stdout}");
}

#[test]
fn a_sigkill_under_load_leaves_a_log_that_verifies() {
    let env = &*ENV;
    let config = env.write_config(
        "keyward-kill.toml",
        &ConfigSpec {
            audit: "audit-kill.jsonl",
            ..Default::default()
        },
    );
    let kw = env.serve(&config, "keyward-kill.stderr.log");
    let port = kw.port;
    let token = env.token.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..50)
        .map(|_| {
            let (token, stop) = (token.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = tag("kill");
                    let target = format!("/{MAIN}/api/v3/openOrders?x={t}");
                    // Connections die with the process: any outcome is fine here.
                    let _ = send_and_read(
                        port,
                        &build(port, "GET", &target, &[("X-MBX-APIKEY", &token)], None),
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    kw.signal(libc::SIGKILL);
    assert!(
        kw.wait_exit(Duration::from_secs(10)).is_some(),
        "keyward did not die"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(sent > 0);

    let log = env.dir.join("audit-kill.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().count() > 10,
        "expected records from the load, got:\n{text}"
    );
    let stdout = verify(env, &log, &config);
    eprintln!("{sent} requests sent; audit verify after SIGKILL:\n{stdout}");
}

/// `fdatasync`/`fsync` calls keyward (every thread) makes while `during` runs, counted by
/// strace attached to the running process; `None` when strace is missing or cannot attach.
fn syncs_during(pid: u32, dir: &Path, name: &str, during: impl FnOnce()) -> Option<usize> {
    let out = dir.join(format!("{name}.strace"));
    let mut strace = Command::new("strace")
        .args(["-f", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_millis(700)); // attached to every thread
    during();
    // SAFETY: our own child; SIGINT makes strace detach and write out what it saw.
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().ok()?;
    let text = std::fs::read_to_string(&out).ok()?;
    Some(
        text.lines()
            .filter(|l| l.contains("fdatasync(") || l.contains("fsync("))
            .count(),
    )
}

/// `keyward-<name>.toml`: the common config with its audit log at `audit-<name>.jsonl` and
/// `setting` added to its `[audit]` section.
fn config_with_audit(env: &Env, name: &str, setting: &str) -> PathBuf {
    let audit = format!("audit-{name}.jsonl");
    let config = env.write_config(
        &format!("keyward-{name}.toml"),
        &ConfigSpec {
            audit: Box::leak(audit.clone().into_boxed_str()),
            ..Default::default()
        },
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let line = format!("path = \"{audit}\"\n");
    assert!(text.contains(&line), "{text}");
    std::fs::write(&config, text.replace(&line, &format!("{line}{setting}\n"))).unwrap();
    config
}

#[test]
fn fsync_interval_ms_makes_records_durable_within_the_interval() {
    let env = &*ENV;
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed (apt-get install -y strace)");
        return;
    }
    let mut seen = Vec::new();
    // 0 leaves syncing to the OS: the control that shows the count can be 0.
    for interval in [300u64, 0] {
        let config = config_with_audit(
            env,
            &format!("fsync-{interval}"),
            &format!("fsync_interval_ms = {interval}"),
        );
        let kw = env.serve(&config, &format!("keyward-fsync-{interval}.stderr.log"));
        let Some(syncs) = syncs_during(kw.pid(), &env.dir, &format!("fsync-{interval}"), || {
            let t = tag("fsync");
            let r = order(kw.port, &env.token, &t);
            assert_eq!(r.status, 200, "{}", r.text());
            // Two intervals and slack: the record must have been synced by then.
            std::thread::sleep(Duration::from_millis(900));
        }) else {
            eprintln!("skipped: strace cannot attach here");
            return;
        };
        seen.push((interval, syncs));
        drop(kw);
    }
    eprintln!("fdatasync calls within 0.9 s of one order, by fsync_interval_ms: {seen:?}");
    assert!(
        seen[0].1 >= 1,
        "fsync_interval_ms = 300: no fdatasync within 0.9 s of a record: {seen:?}"
    );
    assert_eq!(
        seen[1].1, 0,
        "fsync_interval_ms = 0 (left to the OS): keyward itself synced: {seen:?}"
    );
}

#[test]
fn fsync_true_makes_each_record_durable_before_the_request_goes_on() {
    let env = &*ENV;
    let audit = "audit-fsync-true.jsonl";
    let config = config_with_audit(env, "fsync-true", "fsync = true");
    let kw = env.serve(&config, "keyward-fsync-true.stderr.log");

    // Concurrent orders: the group commit's waiters all get their answer, on a valid chain.
    let answers: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..24)
            .map(|_| s.spawn(|| order(kw.port, &env.token, &tag("fsync-many")).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|&s| s == 200), "{answers:?}");

    // One order after another cannot share an fdatasync: each waits for its decision record
    // (before forwarding) and its outcome record (before the answer) to be on disk.
    if Command::new("strace").arg("-V").output().is_ok() {
        let sequential = 5;
        let syncs = syncs_during(kw.pid(), &env.dir, "fsync-true", || {
            for _ in 0..sequential {
                let r = order(kw.port, &env.token, &tag("fsync-one"));
                assert_eq!(r.status, 200, "{}", r.text());
            }
        });
        match syncs {
            Some(n) => assert!(
                n >= 2 * sequential,
                "{n} fdatasync calls for {sequential} sequential orders (two records each)"
            ),
            None => eprintln!("strace cannot attach here: the fdatasync count is not checked"),
        }
    } else {
        eprintln!("strace is not installed: the fdatasync count is not checked");
    }
    drop(kw);
    verify(env, &env.dir.join(audit), &config);
    let text = std::fs::read_to_string(env.dir.join(audit)).unwrap();
    let orders: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""path":"/api/v3/order""#) && l.contains(r#""decision":"allow""#))
        .collect();
    assert_eq!(orders.len(), 29, "{text}");
    // Each order's outcome record (status 200 from the mock) follows its decision.
    for order in orders {
        let request = order
            .split(r#""request":"#)
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let outcome = format!(r#""event":"outcome","request":{request},"status":200"#);
        assert!(
            text.contains(&outcome),
            "no outcome for request {request}:\n{text}"
        );
    }
}
