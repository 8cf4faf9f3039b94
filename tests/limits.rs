//! The bounds on connections and requests (`[server]` limits), the brute-force bound on client
//! tokens, and keyward's hold after the exchange's own 429/418. Each runs the real binary against
//! the mock exchange; each refusal has its precise status and code, and nothing refused reaches
//! the mock.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use common::{build, raw, read_response, tag, ConfigSpec, Env, Keyward, Resp, MAIN};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

/// A keyward with tight bounds, for the request and timing bounds and the token budget.
static TIGHT: LazyLock<Keyward> = LazyLock::new(|| {
    serve(
        "tight",
        r#"auth_failure_rate = "20/m"
max_headers = 20
max_params = 12
idle_timeout_ms = 2500
header_read_timeout_ms = 1000
body_read_timeout_ms = 1000"#,
    )
});

fn serve(name: &str, server: &str) -> Keyward {
    let env = &*ENV;
    let config = env.write_config(
        &format!("keyward-{name}.toml"),
        &ConfigSpec {
            audit: Box::leak(format!("audit-{name}.jsonl").into_boxed_str()),
            server: server.to_owned(),
            ..Default::default()
        },
    );
    env.serve(&config, &format!("keyward-{name}.stderr.log"))
}

fn audit_of(name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ENV.dir.join(format!("audit-{name}.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A tagged order body within grid-bot's limits.
fn order(t: &str) -> String {
    format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}")
}

fn order_request(port: u16, token: &str, body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![("X-MBX-APIKEY", token)];
    headers.extend_from_slice(extra);
    build(
        port,
        "POST",
        &format!("/{MAIN}/api/v3/order"),
        &headers,
        Some(body),
    )
}

#[test]
fn too_many_headers_is_431_and_nothing_is_forwarded() {
    let (env, port) = (&*ENV, TIGHT.port);
    let t = tag("hdrs");
    let names: Vec<String> = (0..20).map(|i| format!("X-Pad-{i}")).collect();
    let pads: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let r = raw(port, &order_request(port, &env.token, &order(&t), &pads));
    r.assert_error(431, "too_many_headers");
    env.assert_not_forwarded(&t);
    // Within the bound, the same order goes through.
    let t = tag("hdrsok");
    let r = raw(
        port,
        &order_request(port, &env.token, &order(&t), &pads[..10]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    env.the_record(&t);
}

#[test]
fn too_many_params_is_400_and_nothing_is_forwarded() {
    let (env, port) = (&*ENV, TIGHT.port);
    let t = tag("params");
    // 7 order parameters + 6 more = 13 > 12.
    let body = format!("{}&a=1&b=2&c=3&d=4&e=5&f=6", order(&t));
    let r = raw(port, &order_request(port, &env.token, &body, &[]));
    r.assert_error(400, "too_many_params");
    // Query and body count together.
    let target = format!("/{MAIN}/api/v3/order?a=1&b=2&c=3&d=4&e=5&f=6");
    let headers = [("X-MBX-APIKEY", env.token.as_str())];
    let r = raw(
        port,
        &build(port, "POST", &target, &headers, Some(&order(&t))),
    );
    r.assert_error(400, "too_many_params");
    env.assert_not_forwarded(&t);
}

/// A body that trickles slower than `body_read_timeout_ms` (1 s) gets 408 `body_timeout`.
#[test]
fn a_slow_body_is_408_and_nothing_is_forwarded() {
    let (env, port) = (&*ENV, TIGHT.port);
    let t = tag("slowbody");
    let request = order_request(port, &env.token, &order(&t), &[]);
    let cut = request.len() - 10;
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&request[..cut]).unwrap();
    let started = Instant::now();
    let r = read_response(&mut s, false).unwrap();
    let took = started.elapsed();
    r.assert_error(408, "body_timeout");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    env.assert_not_forwarded(&t);
}

/// A request head trickled a byte at a time (slowloris) is cut off after
/// `header_read_timeout_ms` (1 s), although the connection's idle bound is 2.5 s.
#[test]
fn a_slow_head_is_cut_off_at_the_header_read_timeout() {
    let (env, port) = (&*ENV, TIGHT.port);
    let t = tag("slowhead");
    let request = order_request(port, &env.token, &order(&t), &[]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut closed = None;
    for byte in request.iter().take(60) {
        if s.write_all(&[*byte]).is_err() {
            closed = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(0) => {
                closed = Some(started.elapsed());
                break;
            }
            Ok(n) => panic!(
                "an answer to a half head: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(_) => {} // timed out: nothing yet
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed = closed.expect("keyward kept a trickling head open for 12 s");
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_millis(2400),
        "closed after {closed:?}"
    );
    env.assert_not_forwarded(&t);
}

/// An idle keep-alive connection lives past the header read timeout (1 s) and is closed after
/// `idle_timeout_ms` (2.5 s).
#[test]
fn an_idle_keep_alive_connection_closes_after_the_idle_timeout() {
    let port = TIGHT.port;
    let ping = format!("GET /{MAIN}/api/v3/ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(ping.as_bytes()).unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    std::thread::sleep(Duration::from_millis(1600));
    s.write_all(ping.as_bytes()).unwrap();
    assert_eq!(
        read_response(&mut s, false).unwrap().status,
        200,
        "idle 1.6 s is within the idle bound"
    );
    let idle_from = Instant::now();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "closed without an answer");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(2300) && idle < Duration::from_secs(5),
        "closed after {idle:?} idle"
    );
}

/// `max_connections` (4): a fifth connection gets 503 `too_many_connections` and is closed; once
/// one closes, a new one is served. `max_in_flight` (2): with two requests being served (their
/// bodies still on the way), a third gets 503 `overloaded` and is not forwarded.
#[test]
fn caps_on_connections_and_requests_in_flight() {
    let env = &*ENV;
    let kw = serve("caps", "max_connections = 4\nmax_in_flight = 2");
    let port = kw.port;
    let ping = build(port, "GET", &format!("/{MAIN}/api/v3/ping"), &[], None);

    let mut open: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let r = raw(port, &ping);
    r.assert_error(503, "too_many_connections");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    drop(open.pop());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(raw(port, &ping).status, 200, "a place came free");
    drop(open);
    std::thread::sleep(Duration::from_millis(300));

    // Two requests in flight: heads sent, bodies held back.
    let held: Vec<(TcpStream, Vec<u8>, String)> = (0..2)
        .map(|_| {
            let t = tag("inflight");
            let request = order_request(port, &env.token, &order(&t), &[]);
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let cut = request.len() - 5;
            s.write_all(&request[..cut]).unwrap();
            (s, request[cut..].to_vec(), t)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = tag("overload");
    let r = raw(port, &order_request(port, &env.token, &order(&t), &[]));
    r.assert_error(503, "overloaded");
    env.assert_not_forwarded(&t);
    for (mut s, rest, t) in held {
        s.write_all(&rest).unwrap();
        let r = read_response(&mut s, false).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        env.the_record(&t);
    }
    assert!(audit_of("caps")
        .iter()
        .any(|a| a["code"] == "overloaded" && a["decision"] == "refuse"));
}

/// A socket connected to keyward from `source` (another loopback address).
fn connect_from(source: [u8; 4], port: u16) -> TcpStream {
    // SAFETY: plain socket calls on a descriptor this function owns until it is wrapped.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes(source);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len),
            0
        );
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        assert_eq!(
            libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len),
            0
        );
        TcpStream::from_raw_fd(fd)
    }
}

fn send(mut s: TcpStream, request: &[u8]) -> Resp {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut s, false).unwrap()
}

/// 300 wrong tokens from one address: the first 20 (`auth_failure_rate = "20/m"`) get 401,
/// the rest 429 `auth_rate_limited` with Retry-After; every one is audited without the token;
/// that address is refused even with the right token, another address is not.
#[test]
fn wrong_tokens_are_rate_limited_per_source_and_audited() {
    let (env, port) = (&*ENV, TIGHT.port);
    let target = format!("/{MAIN}/api/v3/account");
    let guess = |i: usize| format!("guess{i:04}{}", "x".repeat(40));
    let started = Instant::now();
    let mut counts = std::collections::BTreeMap::new();
    let mut retry_after = None;
    for i in 0..300 {
        let g = guess(i);
        let r = send(
            connect_from([127, 0, 0, 9], port),
            &build(port, "GET", &target, &[("X-MBX-APIKEY", &g)], None),
        );
        *counts.entry(r.status).or_insert(0) += 1;
        if r.status == 429 {
            r.assert_error(429, "auth_rate_limited");
            retry_after = r.header("retry-after");
        } else {
            r.assert_error(401, "unknown_client");
        }
    }
    eprintln!("300 wrong tokens in {:?}: {counts:?}", started.elapsed());
    assert_eq!(counts.get(&401), Some(&20), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&280), "{counts:?}");
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=4).contains(&wait), "Retry-After {wait}");

    // The right token from the guessing address is refused too (no oracle) ...
    let right = build(port, "GET", &target, &[("X-MBX-APIKEY", &env.token)], None);
    send(connect_from([127, 0, 0, 9], port), &right).assert_error(429, "auth_rate_limited");
    // ... and works from another one.
    let r = send(connect_from([127, 0, 0, 10], port), &right);
    assert_eq!(r.status, 200, "{}", r.text());

    let audit = audit_of("tight");
    let refused: Vec<_> = audit
        .iter()
        .filter(|a| {
            a["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("127.0.0.9:"))
        })
        .collect();
    let code = |c: &str| refused.iter().filter(|a| a["code"] == c).count();
    assert_eq!(
        (code("unknown_client"), code("auth_rate_limited")),
        (20, 281)
    );
    let text = std::fs::read_to_string(ENV.dir.join("audit-tight.jsonl")).unwrap();
    assert!(
        !text.contains("guess0"),
        "a token value reached the audit log"
    );
}

/// The exchange answers 429 (then 418) with Retry-After: the bot gets the exchange's answer,
/// the outcome record says `exchange_rate_limited`, and until the time has passed keyward
/// answers that client's requests to that credential with 429 `exchange_backoff` itself,
/// forwarding nothing; another client is not held.
#[test]
fn the_exchanges_429_and_418_hold_the_client_until_retry_after() {
    let env = &*ENV;
    let kw = serve("backoff", "");
    let port = kw.port;
    for (status, seconds) in [(429u16, 2u64), (418, 1)] {
        let t = tag(&format!("mock{status}r{seconds}x"));
        let r = raw(port, &order_request(port, &env.token, &order(&t), &[]));
        assert_eq!(
            r.status,
            status,
            "the exchange's answer passes: {}",
            r.text()
        );
        assert_eq!(r.header("retry-after"), Some(seconds.to_string()));
        env.the_record(&t);

        let held = tag("held");
        let r = raw(port, &order_request(port, &env.token, &order(&held), &[]));
        r.assert_error(429, "exchange_backoff");
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains(&format!("binance answered {status}")),
            "{message}"
        );
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=seconds).contains(&wait), "Retry-After {wait}");
        env.assert_not_forwarded(&held);

        // Binance's limits follow the IP address: another client (slow-bot's reads) is held
        // too, since it leaves from the same keyward.
        let r = raw(
            port,
            &build(
                port,
                "GET",
                &format!("/{MAIN}/api/v3/account"),
                &[("X-MBX-APIKEY", &env.token_slow)],
                None,
            ),
        );
        r.assert_error(429, "exchange_backoff");
        assert!(
            r.text().contains("follow keyward's IP address"),
            "{}",
            r.text()
        );

        std::thread::sleep(Duration::from_millis(seconds * 1000 + 300));
        let after = tag("after");
        let r = raw(port, &order_request(port, &env.token, &order(&after), &[]));
        assert_eq!(
            r.status,
            200,
            "forwarded again once the time passed: {}",
            r.text()
        );
        env.the_record(&after);
    }
    let audit = audit_of("backoff");
    let outcomes: Vec<_> = audit
        .iter()
        .filter(|a| a["event"] == "outcome" && a["error"] == "exchange_rate_limited")
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(outcomes, [429, 418]);
    assert_eq!(
        audit
            .iter()
            .filter(|a| a["code"] == "exchange_backoff")
            .count(),
        4
    );
}

/// Binance spot request weight (`[weights]` in its profile.toml): `depth` with `limit=5000`
/// weighs 250; keyward spends at most half of Binance's 6000/min at once (3000), so the 13th
/// such request within the minute gets 429 `request_weight` with Retry-After, not forwarded.
#[test]
fn binance_request_weight_is_counted_before_binance_would_refuse() {
    let env = &*ENV;
    let kw = serve("weights", "");
    let port = kw.port;
    let depth = |t: &str| {
        let target = format!("/{MAIN}/api/v3/depth?symbol=BTCUSDT&limit=5000&x={t}");
        raw(port, &build(port, "GET", &target, &[], None))
    };
    for i in 0..12 {
        let r = depth(&tag("depth"));
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let t = tag("heavy");
    let r = depth(&t);
    r.assert_error(429, "request_weight");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((2..=6).contains(&wait), "Retry-After {wait}");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("weighs 250"));
    env.assert_not_forwarded(&t);
    // USD-M futures has a budget of its own: not counted against spot's.
    let r = raw(
        port,
        &build(port, "GET", &format!("/{MAIN}/fapi/v1/ping"), &[], None),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}
