//! Upstream faults and config reloads, against the real binary.
//!
//! A fault-injecting HTTPS upstream ([`Faulty`], tokio + rustls, certificates from
//! `scripts/make_test_ca.sh`) reads each request and misbehaves as the tag in it says: `hang`
//! never answers, `stall` sends a 200 head and part of the body then stops, `cut` does the same
//! then closes, `reset` closes without answering, `e503` answers 503, `flaky` closes the first
//! time a tag is seen and answers the second, `slow` answers after a second. Each case checks
//! the status and code keyward answers with, its message, the outcome audit record, and how
//! many times the upstream saw the request (an order: exactly once).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::free_port;
use common::{build, raw, sha256_hex, tag, vault_pin, Env, Keyward, Resp, ALT, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

/// keyward's answer timeout in the fault configs (ms).
const TIMEOUT_MS: u64 = 1500;

// ---- the fault-injecting upstream --------------------------------------------------------------

struct Faulty {
    port: u16,
    /// Every request received: its request line and body.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Faulty {
    /// Serves TLS with `cert`/`key` on a port of its own, in a thread of its own.
    fn start(cert: &Path, key: &Path) -> Faulty {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<_> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let acceptor = acceptor.clone();
                    let log = log.clone();
                    tokio::spawn(async move {
                        // A failed handshake is one of the cases.
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve_one(tls, log).await;
                        }
                    });
                }
            });
        });
        Faulty { port, seen }
    }

    /// How many requests carrying `tag` arrived.
    fn count(&self, tag: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|r| r.contains(tag)).count()
    }
}

/// Reads one request and answers it as its tag says; closes the connection after it.
async fn serve_one<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = head.lines().next().unwrap_or("").to_owned();
    let text = format!(
        "{line} {}",
        String::from_utf8_lossy(&buf[head_end..head_end + length])
    );
    let first_time = {
        let mut seen = log.lock().unwrap();
        let t = text.clone();
        let before = seen
            .iter()
            .filter(|r| tag_of(r).is_some() && tag_of(r) == tag_of(&t))
            .count();
        seen.push(text.clone());
        before == 0
    };
    let ok = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let partial_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"orderId\":12";
    let long = Duration::from_secs(30);
    if text.contains("hang") {
        tokio::time::sleep(long).await;
    } else if text.contains("stall") {
        let _ = s.write_all(partial_head.as_bytes()).await;
        let _ = s.flush().await;
        tokio::time::sleep(long).await;
    } else if text.contains("cut") {
        let _ = s.write_all(partial_head.as_bytes()).await;
        let _ = s.flush().await;
        let _ = s.shutdown().await;
    } else if text.contains("reset") || (text.contains("flaky") && first_time) {
        // Closes without a word.
    } else if text.contains("huge") {
        // Far more than the socket buffers between keyward and a bot that does not read.
        let body = "x".repeat(12 << 20);
        let _ = s.write_all(ok(&body).as_bytes()).await;
    } else if text.contains("big") {
        let body = "x".repeat(70_000);
        let _ = s.write_all(ok(&body).as_bytes()).await;
    } else if text.contains("e503") {
        let body = r#"{"code":-1001,"msg":"Internal error; unable to process your request."}"#;
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(answer.as_bytes()).await;
    } else {
        if text.contains("slow") {
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        let _ = s
            .write_all(ok(r#"{"orderId":12345,"ok":true}"#).as_bytes())
            .await;
    }
    let _ = s.shutdown().await;
}

/// The tag in a recorded request (the value of `origClientOrderId` or `newClientOrderId`).
fn tag_of(text: &str) -> Option<&str> {
    let i = text.find("ClientOrderId=")? + "ClientOrderId=".len();
    text[i..]
        .split(|c: char| c == '&' || c.is_whitespace())
        .next()
}

// ---- keyward against it ------------------------------------------------------------------------

/// The certificates the cases need, in the env's directory: `ca/` (the env's CA, whose
/// `server.pem` keyward trusts), `other-ca/` (another CA's server certificate; that CA has the
/// trusted one's name, so rustls says `BadSignature`, not `UnknownIssuer`) and an expired
/// certificate from the trusted CA.
struct Certs {
    trusted: (PathBuf, PathBuf),
    other_ca: (PathBuf, PathBuf),
    expired: (PathBuf, PathBuf),
}

static CERTS: LazyLock<Certs> = LazyLock::new(|| {
    let dir = &ENV.dir;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_test_ca.sh");
    let ok = Command::new("bash")
        .arg(&script)
        .arg(dir.join("other-ca"))
        .output()
        .unwrap();
    assert!(ok.status.success(), "make_test_ca.sh: {ok:?}");
    // The trusted CA signs a certificate that expired a day before it was made.
    let (key, csr, ext, pem) = (
        dir.join("expired.key"),
        dir.join("expired.csr"),
        dir.join("expired.ext"),
        dir.join("expired.pem"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let s = |p: &PathBuf| p.to_str().unwrap().to_owned();
    run(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &s(&key),
        "-subj",
        "/CN=localhost",
        "-out",
        &s(&csr),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&dir.join("ca/ca.pem")),
        "-CAkey",
        &s(&dir.join("ca/ca.key")),
        "-days",
        "-1",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&pem),
    ]);
    Certs {
        trusted: (dir.join("ca/server.pem"), dir.join("ca/server.key")),
        other_ca: (
            dir.join("other-ca/server.pem"),
            dir.join("other-ca/server.key"),
        ),
        expired: (pem, key),
    }
});

/// The upstream that misbehaves on request, with the trusted certificate.
static FAULTY: LazyLock<Faulty> =
    LazyLock::new(|| Faulty::start(&CERTS.trusted.0, &CERTS.trusted.1));

/// A config for the env's token and vaults: `binance-main` (client grid-bot, reading and
/// ordering) goes to `main_port`, `binance-alt` (alt-bot, reading) to `alt_port`; `extra` is
/// added to `[server]`, `allow` is grid-bot's allowlist. The key-permission self-check is off:
/// these upstreams fail on purpose (a dead port, wrong certificates), which is what is tested.
fn config(name: &str, main_port: u16, alt_port: u16, extra: &str, allow: &str) -> PathBuf {
    let env = &*ENV;
    let upstream =
        |port: u16| format!(r#"{{ base = "https://127.0.0.1:{port}", ca = "ca/ca.pem" }}"#);
    let (pin_main, pin_alt) = (vault_pin(&env.dir, MAIN), vault_pin(&env.dir, ALT));
    let text = format!(
        r#"[server]
listen = "127.0.0.1:0"
upstream_timeout_ms = {TIMEOUT_MS}
connect_timeout_ms = 1000
{extra}

[token]
{token}pin = {{ file = "pin.txt" }}

[audit]
path = "audit-{name}.jsonl"
unkeyed = true

[[credential]]
name = "{MAIN}"
exchange = "binance"
vault = "vault/{MAIN}.kwv"
vault_sha256 = "{pin_main}"
upstream = {main}
permission_check = "off"

[[credential]]
name = "{ALT}"
exchange = "binance"
vault = "vault/{ALT}.kwv"
vault_sha256 = "{pin_alt}"
upstream = {alt}
permission_check = "off"

[[client]]
name = "grid-bot"
token_sha256 = "{h0}"
credential = "{MAIN}"
allow = {allow}

[[client]]
name = "alt-bot"
token_sha256 = "{h1}"
credential = "{ALT}"
allow = ["binance:read"]
"#,
        token = env.token_section,
        main = upstream(main_port),
        alt = upstream(alt_port),
        h0 = sha256_hex(&env.token),
        h1 = sha256_hex(&env.token_alt),
    );
    let path = env.dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

const GRID_ALLOW: &str = r#"["binance:read", { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT"] } }]"#;

/// keyward with `binance-main` on the fault-injecting upstream, `binance-alt` on a dead port.
static KW: LazyLock<Keyward> = LazyLock::new(|| {
    let path = config(
        "faults",
        FAULTY.port,
        free_port(),
        "max_answer_bytes = 65536",
        GRID_ALLOW,
    );
    ENV.serve(&path, "keyward-faults.log")
});

fn audit_of(name: &str) -> Vec<Value> {
    std::fs::read_to_string(ENV.dir.join(format!("audit-{name}.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The outcome record of the request whose params carry `t`.
#[track_caller]
fn outcome(audit: &str, t: &str) -> Value {
    // The outcome is written when the forwarding task ends, just before the bot's answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let records = audit_of(audit);
        let decided = records.iter().find(|r| {
            r["event"] == "request" && r["params"].as_str().is_some_and(|p| p.contains(t))
        });
        if let Some(decided) = decided {
            if let Some(o) = records
                .iter()
                .find(|r| r["event"] == "outcome" && r["request"] == decided["request"])
            {
                return o.clone();
            }
        }
        assert!(Instant::now() < deadline, "no outcome record for {t}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get(kw: &Keyward, t: &str, token: &str, credential: &str) -> Resp {
    let target = format!("/{credential}/api/v3/order?symbol=BTCUSDT&origClientOrderId={t}");
    raw(
        kw.port,
        &build(kw.port, "GET", &target, &[("X-MBX-APIKEY", token)], None),
    )
}

fn order(kw: &Keyward, t: &str) -> Resp {
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    let target = format!("/{MAIN}/api/v3/order");
    raw(
        kw.port,
        &build(
            kw.port,
            "POST",
            &target,
            &[("X-MBX-APIKEY", &ENV.token)],
            Some(&body),
        ),
    )
}

/// Asserts keyward's error, its message mentioning `says`, and the outcome record.
#[track_caller]
fn assert_fault(r: &Resp, audit: &str, t: &str, status: u16, code: &str, says: &str) {
    r.assert_error(status, code);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(says),
        "{code}: {message:?} should say {says:?}"
    );
    let o = outcome(audit, t);
    assert_eq!(o["status"], status, "{o}");
    assert_eq!(o["error"], code, "{o}");
}

#[test]
fn a_refused_connection_is_502_upstream_refused() {
    let t = tag("refused");
    let r = get(&KW, &t, &ENV.token_alt, ALT);
    assert_fault(
        &r,
        "faults",
        &t,
        502,
        "upstream_refused",
        "refused the connection; nothing was sent",
    );
}

#[test]
fn no_answer_head_in_time_is_504_upstream_timeout_and_an_order_is_sent_once() {
    let t = tag("hang");
    let started = Instant::now();
    let r = order(&KW, &t);
    let took = started.elapsed();
    assert_fault(
        &r,
        "faults",
        &t,
        504,
        "upstream_timeout",
        "did not answer within 1500 ms",
    );
    assert!(took < Duration::from_millis(TIMEOUT_MS + 1500), "{took:?}");
    assert_eq!(FAULTY.count(&t), 1, "an order is never sent twice");
}

#[test]
fn a_body_that_stalls_after_a_200_head_is_504_upstream_stalled_not_a_truncated_200() {
    let t = tag("stall");
    let r = order(&KW, &t);
    assert_fault(
        &r,
        "faults",
        &t,
        504,
        "upstream_stalled",
        "began answering but did not finish",
    );
    assert_eq!(FAULTY.count(&t), 1);
}

#[test]
fn a_body_cut_off_after_a_200_head_is_502_upstream_truncated() {
    let t = tag("cut");
    let r = order(&KW, &t);
    assert_fault(
        &r,
        "faults",
        &t,
        502,
        "upstream_truncated",
        "may or may not have been executed",
    );
    assert_eq!(FAULTY.count(&t), 1, "an order is never sent twice");
}

#[test]
fn a_connection_closed_before_the_answer_is_502_and_an_order_is_not_retried() {
    let t = tag("reset");
    let r = order(&KW, &t);
    assert_fault(
        &r,
        "faults",
        &t,
        502,
        "upstream_reset",
        "closed the connection before answering",
    );
    assert_eq!(FAULTY.count(&t), 1, "an order is never sent twice");
}

#[test]
fn a_get_is_retried_once_after_a_closed_connection() {
    let t = tag("flaky");
    let r = get(&KW, &t, &ENV.token, MAIN);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["orderId"], 12345);
    assert_eq!(FAULTY.count(&t), 2, "sent once more");
    let o = outcome("faults", &t);
    assert_eq!(o["status"], 200);
    assert!(o.get("error").is_none(), "{o}");
    // A GET that keeps failing is sent twice, not more.
    let t = tag("reset");
    let r = get(&KW, &t, &ENV.token, MAIN);
    assert_fault(
        &r,
        "faults",
        &t,
        502,
        "upstream_reset",
        "closed the connection",
    );
    assert_eq!(FAULTY.count(&t), 2);
}

#[test]
fn an_exchange_5xx_is_passed_back_and_recorded_and_an_order_is_not_retried() {
    let t = tag("e503");
    let r = order(&KW, &t);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["code"], -1001, "the exchange's own error");
    let o = outcome("faults", &t);
    assert_eq!(o["status"], 503);
    assert_eq!(FAULTY.count(&t), 1);
    // A GET is sent once more after a 503.
    let t = tag("e503");
    let r = get(&KW, &t, &ENV.token, MAIN);
    assert_eq!(r.status, 503);
    assert_eq!(FAULTY.count(&t), 2);
}

/// keyward against an upstream serving `cert`, with its own audit file `name`.
fn tls_case(name: &str, cert: &(PathBuf, PathBuf)) -> (Keyward, Faulty) {
    let upstream = Faulty::start(&cert.0, &cert.1);
    let path = config(name, upstream.port, free_port(), "", GRID_ALLOW);
    (ENV.serve(&path, &format!("keyward-{name}.log")), upstream)
}

#[test]
fn a_certificate_from_another_ca_is_502_upstream_tls() {
    let (kw, upstream) = tls_case("other-ca", &CERTS.other_ca);
    let t = tag("tls");
    let r = order(&kw, &t);
    assert_fault(
        &r,
        "other-ca",
        &t,
        502,
        "upstream_tls",
        "invalid peer certificate",
    );
    assert!(r.text().contains("nothing was sent"));
    assert_eq!(upstream.count(&t), 0);
}

#[test]
fn an_expired_certificate_is_502_upstream_tls() {
    let (kw, upstream) = tls_case("expired", &CERTS.expired);
    let t = tag("tls");
    let r = order(&kw, &t);
    assert_fault(&r, "expired", &t, 502, "upstream_tls", "Expired");
    assert_eq!(upstream.count(&t), 0);
}

#[test]
fn an_answer_larger_than_max_answer_bytes_is_502_upstream_too_large() {
    let t = tag("big");
    let r = get(&KW, &t, &ENV.token, MAIN);
    assert_fault(
        &r,
        "faults",
        &t,
        502,
        "upstream_too_large",
        "larger than 65536 bytes",
    );
    assert_eq!(FAULTY.count(&t), 1, "not retried");
}

#[test]
fn a_bot_that_leaves_its_answer_unread_is_cut_off_at_the_write_timeout() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let path = config(
        "unread",
        FAULTY.port,
        free_port(),
        "write_timeout_ms = 1000",
        GRID_ALLOW,
    );
    let kw = ENV.serve(&path, "keyward-unread.log");
    let t = tag("huge");
    let mut bot = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
    // A bot that never reads (a 64 KiB receive buffer; the 12 MiB answer exceeds what the
    // kernel buffers on both sides): keyward's writes block.
    let small: libc::c_int = 65536;
    // SAFETY: a valid socket and a c_int option value of the size given.
    let set = unsafe {
        libc::setsockopt(
            bot.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "setsockopt SO_RCVBUF");
    let target = format!("/{MAIN}/api/v3/order?symbol=BTCUSDT&origClientOrderId={t}");
    bot.write_all(&build(
        kw.port,
        "GET",
        &target,
        &[("X-MBX-APIKEY", &ENV.token)],
        None,
    ))
    .unwrap();
    let text = kw.wait_log("left its answer unread", 1);
    assert!(text.contains("write_timeout_ms"), "{text}");
    // The connection is gone: what the bot can still read ends before the whole answer.
    bot.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let _ = bot.read_to_end(&mut got);
    assert!(
        got.len() < 12 << 20,
        "read {} bytes: the answer was not cut",
        got.len()
    );
    assert_eq!(FAULTY.count(&t), 1, "the request itself was forwarded once");
    // keyward keeps serving others.
    let r = get(&kw, &tag("after"), &ENV.token, MAIN);
    assert_eq!(r.status, 200, "{}", r.text());
}

// ---- config reload (SIGHUP) --------------------------------------------------------------------

#[test]
fn a_sighup_reload_swaps_the_allowlist_atomically_and_a_bad_file_keeps_the_old_config() {
    let alt = free_port();
    let write = |extra: &str, allow: &str| config("reload", FAULTY.port, alt, extra, allow);
    let path = write("", GRID_ALLOW);
    let kw = ENV.serve(&path, "keyward-reload.log");
    let t = tag("ok");
    assert_eq!(order(&kw, &t).status, 200, "orders allowed at first");

    // A slow read is in flight across the reload.
    let slow = tag("slow");
    let in_flight = {
        let (port, slow, token) = (kw.port, slow.clone(), ENV.token.clone());
        std::thread::spawn(move || {
            let target = format!("/{MAIN}/api/v3/order?symbol=BTCUSDT&origClientOrderId={slow}");
            raw(
                port,
                &build(port, "GET", &target, &[("X-MBX-APIKEY", &token)], None),
            )
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while FAULTY.count(&slow) == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow request never reached the upstream"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    write("", r#"["binance:read"]"#);
    kw.signal(libc::SIGHUP);
    kw.wait_log("config reloaded", 1);
    let r = in_flight.join().unwrap();
    assert_eq!(
        r.status,
        200,
        "the request in flight completes: {}",
        r.text()
    );
    assert_eq!(r.json()["orderId"], 12345);
    let t = tag("ok");
    order(&kw, &t).assert_error(403, "not_allowed");
    assert_eq!(FAULTY.count(&t), 0);

    // An invalid file: refused, logged at error level naming the key; the config stays.
    write("bogus_knob = 1", GRID_ALLOW);
    kw.signal(libc::SIGHUP);
    let log = kw.wait_log("config reload refused", 1);
    let line = log
        .lines()
        .find(|l| l.contains("config reload refused"))
        .unwrap();
    assert!(
        line.contains("ERROR") && line.contains("bogus_knob"),
        "{line}"
    );
    // A file that changes a restart-only setting: refused whole, naming it.
    write("max_answer_bytes = 100000", GRID_ALLOW);
    kw.signal(libc::SIGHUP);
    let log = kw.wait_log("config reload refused", 2);
    let line = log
        .lines()
        .filter(|l| l.contains("config reload refused"))
        .nth(1)
        .unwrap();
    assert!(
        line.contains("server.max_answer_bytes") && line.contains("restart"),
        "{line}"
    );
    let t = tag("ok");
    order(&kw, &t).assert_error(403, "not_allowed");
    assert!(kw.is_running());
    assert_eq!(get(&kw, &tag("ok"), &ENV.token, MAIN).status, 200);

    // A valid file again: orders are allowed again.
    write("", GRID_ALLOW);
    kw.signal(libc::SIGHUP);
    kw.wait_log("config reloaded", 2);
    assert_eq!(order(&kw, &tag("ok")).status, 200);
}

// ---- admin API and kill switch -----------------------------------------------------------------

fn admin(port: u16, method: &str, target: &str, token: Option<&str>) -> Resp {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    raw(port, &build(port, method, target, &headers, None))
}

#[test]
fn the_admin_api_disables_the_next_request_and_a_bad_reload_changes_nothing() {
    let alt = free_port();
    let admin_port = free_port();
    let token = "admin-token-for-the-test";
    let write = |extra: &str| {
        let path = config("admin", FAULTY.port, alt, extra, GRID_ALLOW);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!(
            "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
            sha256_hex(token)
        ));
        std::fs::write(&path, text).unwrap();
        path
    };
    let path = write("");
    let kw = ENV.serve(&path, "keyward-admin.log");
    kw.wait_log("admin API ready at", 1);
    let t = tag("ok");
    assert_eq!(order(&kw, &t).status, 200);

    // No token, a wrong token: 401 on every route.
    admin(admin_port, "GET", "/status", None).assert_error(401, "admin_unauthenticated");
    admin(
        admin_port,
        "POST",
        "/clients/grid-bot/disable",
        Some("wrong"),
    )
    .assert_error(401, "admin_unauthenticated");
    let status = admin(admin_port, "GET", "/status", Some(token));
    assert_eq!(status.status, 200, "{}", status.text());
    let json = status.json();
    assert_eq!(json["clients"][0]["name"], "grid-bot");
    assert_eq!(json["clients"][0]["state"], "enabled");
    assert_eq!(json["credentials"][0]["exchange"], "binance");
    admin(admin_port, "GET", "/reload", Some(token)).assert_error(405, "method_not_allowed");
    admin(admin_port, "GET", "/nope", Some(token)).assert_error(404, "not_found");
    admin(admin_port, "POST", "/clients/nobody/disable", Some(token))
        .assert_error(404, "not_found");

    // The kill switch stops the very next request, before anything is forwarded.
    let r = admin(admin_port, "POST", "/clients/grid-bot/disable", Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    let t = tag("killed");
    order(&kw, &t).assert_error(403, "client_disabled");
    assert_eq!(FAULTY.count(&t), 0);
    let status = admin(admin_port, "GET", "/status", Some(token)).json();
    assert_eq!(status["clients"][0]["state"], "disabled");
    // Another client of another credential is untouched.
    assert_ne!(get(&kw, &tag("alt"), &ENV.token_alt, ALT).status, 403);

    // A disabled credential refuses every client using it.
    assert_eq!(
        admin(admin_port, "POST", "/clients/grid-bot/enable", Some(token)).status,
        200
    );
    let r = admin(
        admin_port,
        "POST",
        &format!("/credentials/{MAIN}/disable"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    order(&kw, &tag("cred")).assert_error(403, "credential_disabled");
    let r = admin(
        admin_port,
        "POST",
        &format!("/credentials/{MAIN}/enable"),
        Some(token),
    );
    assert_eq!(r.status, 200);
    assert_eq!(order(&kw, &tag("ok")).status, 200);

    // POST /reload with a broken file: refused with a reason; the config in force stays.
    write("bogus_knob = 1");
    let r = admin(admin_port, "POST", "/reload", Some(token));
    r.assert_error(422, "reload_refused");
    assert!(r.text().contains("bogus_knob"), "{}", r.text());
    assert_eq!(order(&kw, &tag("ok")).status, 200);
    // A valid file: reloaded; a disabled client stays disabled across it.
    write("");
    admin(admin_port, "POST", "/clients/grid-bot/disable", Some(token));
    let r = admin(admin_port, "POST", "/reload", Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    order(&kw, &tag("after")).assert_error(403, "client_disabled");
}
