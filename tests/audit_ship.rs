//! `[audit] ship_records = true` against the real binary, SoftHSM and the Binance mock: each
//! audit record's line, exactly as written to the file, is also sent as one RFC 3164 datagram
//! (`<38>keyward[PID]: <line>`, facility auth, severity info) to a unix datagram socket the test
//! binds, in the file's order and with no secret in it (the copy passes `keyward audit verify`
//! on its own); with the socket gone requests are still
//! served (the file has every record) and the failure is logged once, and shipping resumes once
//! the socket is back.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{build, raw, tag, ConfigSpec, Env, Keyward, MAIN};

/// An order grid-bot may place, tagged `t`.
fn order(kw: &Keyward, token: &str, t: &str) -> u16 {
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    let headers = [
        ("X-MBX-APIKEY", token),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let target = format!("/{MAIN}/api/v3/order");
    raw(
        kw.port,
        &build(kw.port, "POST", &target, &headers, Some(&body)),
    )
    .status
}

/// The audit file's lines.
fn lines(audit: &Path) -> Vec<String> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Reads datagrams from `socket` until `want` lines are held (or 5 s pass).
fn receive(socket: &UnixDatagram, got: &mut Vec<String>, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 65536];
    while got.len() < want && Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
    }
}

#[test]
fn each_record_is_shipped_as_written_and_a_missing_socket_only_pauses_shipping() {
    let env = Env::start();
    env.kw.stop(); // one audit log per test, and this one's config ships
    let config = env.write_config(
        "ship.toml",
        &ConfigSpec {
            audit: "audit-ship.jsonl",
            ..Default::default()
        },
    );
    let at = env.dir.join("syslog.sock");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[audit]\n",
        &format!(
            "[audit]\nship_records = true\nship_records_socket = \"{}\"\n",
            at.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let socket = UnixDatagram::bind(&at).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let audit = env.dir.join("audit-ship.jsonl");

    let kw = env.serve(&config, "keyward-ship.log");
    assert_eq!(order(&kw, &env.token, &tag("shipa")), 200);
    let withdraw = format!("/{MAIN}/sapi/v1/capital/withdraw/apply?coin=BTC&amount=1");
    let r = raw(
        kw.port,
        &build(
            kw.port,
            "GET",
            &withdraw,
            &[("X-MBX-APIKEY", &env.token)],
            None,
        ),
    );
    r.assert_error(403, "hard_deny");

    // Every line of the file (the genesis record, keyward's own permission check, the order
    // and its outcome, the refusal), in order, byte for byte behind the syslog header.
    let mut got = Vec::new();
    let file = lines(&audit);
    receive(&socket, &mut got, file.len());
    let file = lines(&audit);
    assert!(file.len() >= 5, "{file:#?}");
    let header = format!("<38>keyward[{}]: ", kw.pid());
    let shipped: Vec<&str> = got
        .iter()
        .map(|d| {
            d.strip_prefix(&header)
                .unwrap_or_else(|| panic!("{d:?} lacks {header:?}"))
        })
        .collect();
    assert_eq!(shipped, file, "the shipped copy is the file");
    // So the copy verifies on its own, checkpoints and all.
    let copy = env.dir.join("shipped-copy.jsonl");
    std::fs::write(&copy, shipped.join("\n") + "\n").unwrap();
    let out = env.run(
        &[
            "audit",
            "verify",
            copy.to_str().unwrap(),
            "--public-key",
            "audit-key.pem",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        file.iter().any(|l| l.contains("\"hard_deny\"")),
        "{file:#?}"
    );
    // The records hold no secret, so neither does their copy.
    let all = got.concat();
    for secret in [
        &env.secret,
        &env.secret_alt,
        &env.api_key,
        &env.api_key_alt,
        &env.token,
        &env.pin,
    ] {
        assert!(!all.contains(secret.as_str()), "a secret was shipped");
    }

    // The socket goes away: requests are served, every record is in the file, and the failure
    // is logged once.
    drop(socket);
    std::fs::remove_file(&at).unwrap();
    let before = lines(&audit).len();
    for n in 0..3 {
        assert_eq!(order(&kw, &env.token, &tag(&format!("shipb{n}"))), 200);
    }
    let log = kw.wait_log("cannot ship audit records to syslog", 1);
    assert_eq!(
        log.matches("cannot ship audit records to syslog").count(),
        1,
        "{log}"
    );
    assert!(lines(&audit).len() >= before + 3);

    // Back: shipping resumes with the next record.
    let socket = UnixDatagram::bind(&at).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = tag("shipc");
    assert_eq!(order(&kw, &env.token, &t), 200);
    let mut got = Vec::new();
    receive(&socket, &mut got, 1);
    assert!(
        got.first()
            .is_some_and(|d| d.starts_with(&header) && d.contains(&t)),
        "{got:?}"
    );
    kw.wait_log("audit records are shipped again", 1);
    drop(kw);
}
