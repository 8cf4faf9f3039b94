//! Audit faults against the real binary: a full audit filesystem refuses requests with 503 and
//! forwards nothing; a SIGKILL in the middle of concurrent traffic leaves a log that
//! `audit verify` accepts up to its last whole record.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use common::{build, raw, tag, ConfigSpec, Env, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

/// A small tmpfs mounted under the test dir, unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    /// `None` when this machine cannot mount one (not root, or no tmpfs): the caller skips.
    fn mount(at: &Path, size: &str) -> Option<SmallFs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| SmallFs(at.to_path_buf()))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` until a write fails with "no space".
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match f.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the small filesystem: {e}"),
        }
    }
    // Also take the last partial blocks.
    let mut g = std::fs::File::create(dir.join("filler2")).unwrap();
    while g.write_all(&[0u8; 64]).is_ok() {}
}

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

#[test]
fn a_full_audit_disk_refuses_with_503_and_forwards_nothing() {
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
    drop(kw);
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "audit verify refused the log a SIGKILL left:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    eprintln!("{sent} requests sent; audit verify after SIGKILL:\n{stdout}");
}
