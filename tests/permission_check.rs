//! The key-permission self-check against the real binary, SoftHSM and every exchange's mock
//! (`scripts/mocks/permissions.py` answers each key as the test says): a safe key is served, a
//! key that can withdraw or transfer is refused from start-up with 403 `key_can_withdraw` while
//! the other credentials keep working, an answer keyward cannot get or read is refused with 403
//! `key_permissions_unknown` until a later check reads it, and `keyward check` exits non-zero
//! naming the credential. The checks are audited as keyward's own requests.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The exchanges whose permission endpoint reports a key's permissions, and that endpoint.
const CHECKED: &[(&str, &str)] = &[
    ("binance", "/sapi/v1/account/apiRestrictions"),
    ("bybit", "/v5/user/query-api"),
    ("okx", "/api/v5/account/config"),
    ("kucoin", "/api/v1/user/api-key"),
    ("gate", "/api/v4/account/main_keys"),
    ("bitmex", "/api/v1/apiKey"),
    ("deribit", "/api/v2/private/list_api_keys"),
    ("coinbase", "/api/v3/brokerage/key_permissions"),
];

/// A signed read each exchange's bot may make (method, path, the parameter that carries the tag).
fn read_of(exchange: &str) -> (&'static str, &'static str, &'static str) {
    match exchange {
        "binance" => ("GET", "/api/v3/openOrders", "x"),
        "bybit" => ("GET", "/v5/order/realtime", "category=linear&orderLinkId"),
        "okx" => (
            "GET",
            "/api/v5/trade/orders-pending",
            "instType=SPOT&instId",
        ),
        "bitget" => ("GET", "/api/v2/spot/trade/unfilled-orders", "symbol"),
        "kucoin" => ("GET", "/api/v1/accounts", "currency"),
        "kraken" => ("POST", "/0/private/OpenOrders", "cl_ord_id"),
        "gate" => ("GET", "/api/v4/spot/accounts", "currency"),
        "bitmex" => ("GET", "/api/v1/order", "symbol=XBTUSD&clOrdID"),
        "coinbase" => ("GET", "/api/v3/brokerage/accounts", "cursor"),
        "deribit" => ("GET", "/api/v2/private/get_account_summaries", "x"),
        "alpaca" => (
            "GET",
            "/trading/v2/orders:by_client_order_id",
            "client_order_id",
        ),
        other => panic!("no read for {other}"),
    }
}

/// A bot's signed read through credential `credential` of `exchange`, tagged `t`.
fn read(env: &Env, exchange: &str, credential: &str, t: &str) -> Resp {
    let (method, path, param) = read_of(exchange);
    let (header, token) = match credential {
        MAIN => ("X-MBX-APIKEY", env.token.clone()),
        ALT => ("X-MBX-APIKEY", env.token_alt.clone()),
        _ => env.venue(exchange).auth_header(),
    };
    let headers = [(header, token.as_str())];
    let port = env.port();
    let request = if method == "GET" {
        build(
            port,
            "GET",
            &format!("/{credential}{path}?{param}={t}"),
            &headers,
            None,
        )
    } else {
        let h = [
            (header, token.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        build(
            port,
            method,
            &format!("/{credential}{path}"),
            &h,
            Some(&format!("{param}={t}")),
        )
    };
    raw(port, &request)
}

/// What the credential's mock received.
fn mock_of(env: &Env, exchange: &str) -> venue::MockLog {
    if exchange == "binance" {
        env.mock_log()
    } else {
        env.venue(exchange).log.clone()
    }
}

/// Every credential of an Env fronting all exchanges: (exchange, credential).
fn credentials(env: &Env) -> Vec<(&'static str, String)> {
    let mut out = vec![("binance", MAIN.to_owned()), ("binance", ALT.to_owned())];
    out.extend(
        env.venues
            .iter()
            .map(|v| (v.exchange, v.credential.clone())),
    );
    out
}

#[track_caller]
fn assert_served(env: &Env, exchange: &str, credential: &str) {
    let t = tag("served");
    let r = read(env, exchange, credential, &t);
    let got = mock_of(env, exchange).records_with(&t);
    assert!(
        got.len() == 1 && got[0]["verified"] == true,
        "{credential}: the read reached the mock, verified: {got:?}\n{}\n{}",
        r.head,
        r.text()
    );
    // The bot got the exchange's own answer (e.g. an order it does not know), not a refusal.
    assert_eq!(got[0]["status"], r.status, "{credential}: {}", r.text());
}

#[track_caller]
fn assert_refused(env: &Env, exchange: &str, credential: &str, code: &str) -> String {
    let t = tag("refused");
    let r = read(env, exchange, credential, &t);
    // (an exchange that answers its refusals with 200, Bybit, gets keyward's status in a header)
    let status = r
        .header("x-keyward-status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(r.status);
    assert_eq!(status, 403, "{credential}: {}\n{}", r.head, r.text());
    let body = r.json();
    assert_eq!(keyward_code(&body), Some(code), "{credential}: {body}");
    assert!(
        mock_of(env, exchange).records_with(&t).is_empty(),
        "{credential}: a refused request reached the exchange"
    );
    let e = if body["keyward"].is_object() {
        &body["keyward"]
    } else {
        &body["error"]
    };
    e["message"].as_str().unwrap().to_owned()
}

/// keyward's error code in a refusal: `error.code`, or `keyward.code` where the exchange's own
/// error shape has an `error` member of its own.
fn keyward_code(body: &Value) -> Option<&str> {
    body["keyward"]["code"]
        .as_str()
        .or(body["error"]["code"].as_str())
}

/// The audit's request records of keyward's own checks, by credential, with their outcomes.
fn own_checks(env: &Env) -> Vec<(Value, Value)> {
    let records = env.audit_records();
    records
        .iter()
        .filter(|r| r["event"] == "request" && r["client"] == "keyward:permission-check")
        .map(|r| {
            let outcome = records
                .iter()
                .find(|o| o["event"] == "outcome" && o["request"] == r["request"])
                .cloned()
                .unwrap_or(Value::Null);
            (r.clone(), outcome)
        })
        .collect()
}

/// `keyward check` on the Env's config: exit code and stdout.
fn check(env: &Env) -> (Option<i32>, String) {
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn safe_keys_are_served_and_a_key_that_can_withdraw_is_refused_from_start_up() {
    let env = Env::start_with(Options {
        exchanges: venue::ALL_BUT_BINANCE,
        key_permissions: &[(ALT, "withdraw"), ("bybit-main", "open")],
        ..Options::default()
    });
    // The key that can withdraw: refused from the first request on, nothing forwarded ...
    let message = assert_refused(&env, "binance", ALT, "key_can_withdraw");
    assert!(
        message.contains(ALT)
            && message.contains("withdraw")
            && message.contains("trade and read permissions only"),
        "{message}"
    );
    // ... while every other credential, of every exchange, is served.
    for (exchange, credential) in credentials(&env) {
        if credential != ALT {
            assert_served(&env, exchange, &credential);
        }
    }

    // One check per credential whose exchange reports permissions, audited as keyward's own
    // request, signed and verified by the exchange (its mock); none where nothing can be read.
    let checks = own_checks(&env);
    for (exchange, endpoint) in CHECKED {
        for (x, credential) in credentials(&env) {
            if x != *exchange {
                continue;
            }
            let mine: Vec<_> = checks
                .iter()
                .filter(|(r, _)| r["credential"] == credential.as_str())
                .collect();
            // (one at start-up; a refused key may have been asked again since)
            assert!(!mine.is_empty(), "{credential}: {checks:?}");
            let (r, o) = mine[0];
            assert_eq!(r["path"], *endpoint, "{r}");
            assert_eq!(r["method"], "GET", "{r}");
            assert_eq!(r["source"], "keyward", "{r}");
            assert_eq!(r["decision"], "allow", "{r}");
            assert_eq!(r["rule"], "keyward:permission-check", "{r}");
            assert_eq!(o["status"], 200, "{credential}: {o}");
            let at_mock: Vec<_> = mock_of(&env, exchange)
                .records()
                .into_iter()
                .filter(|m| m["path"] == *endpoint)
                .collect();
            assert!(
                !at_mock.is_empty() && at_mock.iter().all(|m| m["verified"] == true),
                "{credential}: {at_mock:?}"
            );
        }
    }
    for exchange in ["bitget", "kraken", "alpaca"] {
        let credential = format!("{exchange}-main");
        assert!(
            !checks
                .iter()
                .any(|(r, _)| r["credential"] == credential.as_str()),
            "{exchange} reports no key permissions: nothing to ask"
        );
    }

    // The safe key without an IP restriction is served, with a warning.
    let log = env.kw.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("no IP restriction") && l.contains("bybit-main")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("key_can_withdraw") && l.contains(ALT)),
        "{log}"
    );

    // `keyward check` asks too, and exits non-zero naming the credential and the fix.
    let (code, out) = check(&env);
    assert_eq!(code, Some(1), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("credential {ALT}: key permissions")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("REFUSED") && line.contains("trade and read permissions only"),
        "{line}"
    );
    for (exchange, _) in CHECKED {
        let credential = if *exchange == "binance" {
            MAIN.to_owned()
        } else {
            format!("{exchange}-main")
        };
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("credential {credential}: key permissions ok"))),
            "{credential}: {out}"
        );
    }
    assert!(
        out.contains("bitget-main: key permissions ok: not checked"),
        "{out}"
    );
}

#[test]
fn keys_that_can_move_funds_or_cannot_be_read_are_refused_until_a_check_reads_them() {
    let env = Env::start_with(Options {
        exchanges: venue::ALL_BUT_BINANCE,
        key_permissions: &[
            (MAIN, "unreadable"),
            ("bybit-main", "transfer"),
            ("okx-main", "withdraw"),
            ("kucoin-main", "withdraw"),
            ("gate-main", "transfer"),
            ("bitmex-main", "withdraw"),
            ("deribit-main", "withdraw"),
            ("coinbase-main", "withdraw"),
        ],
        ..Options::default()
    });
    for (exchange, _) in &CHECKED[1..] {
        assert_refused(
            &env,
            exchange,
            &format!("{exchange}-main"),
            "key_can_withdraw",
        );
    }
    let message = assert_refused(&env, "binance", MAIN, "key_permissions_unknown");
    assert!(message.contains("does not say whether"), "{message}");
    // Other credentials keep working: the safe one, and those with nothing to check.
    assert_served(&env, "binance", ALT);
    for exchange in ["bitget", "kraken", "alpaca"] {
        assert_served(&env, exchange, &format!("{exchange}-main"));
    }
    let (code, out) = check(&env);
    assert_eq!(code, Some(1), "{out}");
    for (exchange, _) in &CHECKED[1..] {
        let credential = format!("{exchange}-main");
        assert!(
            out.lines().any(|l| l
                .starts_with(&format!("credential {credential}: key permissions REFUSED"))
                && l.contains("(can_withdraw)")),
            "{credential}: {out}"
        );
    }
    assert!(
        out.lines().any(
            |l| l.starts_with(&format!("credential {MAIN}: key permissions REFUSED"))
                && l.contains("(unknown)")
        ),
        "{out}"
    );

    // The exchange now answers a readable safe key for binance-main, and an error for KuCoin's:
    // the next checks (15 s after the first, then 30 s) serve the one and keep refusing the other
    // as unknown.
    env.set_key_permissions(&[(MAIN, "safe"), ("kucoin-main", "error")]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let main = read(&env, "binance", MAIN, &tag("retry"));
        let kucoin = read(&env, "kucoin", "kucoin-main", &tag("retry"));
        if main.status == 200 && keyward_code(&kucoin.json()) == Some("key_permissions_unknown") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no re-check served binance-main / read KuCoin's error: {} {}",
            main.text(),
            kucoin.text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let message = assert_refused(&env, "kucoin", "kucoin-main", "key_permissions_unknown");
    assert!(message.contains("HTTP 401"), "{message}");
    assert_served(&env, "binance", MAIN);
}

#[test]
fn the_admin_status_names_each_credentials_verdict() {
    let env = Env::start_with(Options {
        key_permissions: &[(ALT, "withdraw")],
        ..Options::default()
    });
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "admin-token-for-the-permission-test";
    let mut text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("path = \"audit.jsonl\"", "path = \"audit-admin.jsonl\"");
    text = text.replace(
        &format!("name = \"{MAIN}\"\n"),
        &format!("name = \"{MAIN}\"\npermission_check = \"warn\"\n"),
    );
    text.push_str(&format!(
        "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(token)
    ));
    let config: PathBuf = env.dir.join("admin.toml");
    std::fs::write(&config, text).unwrap();
    // binance-main can withdraw but is under "warn"; binance-alt is safe but not IP-restricted.
    env.set_key_permissions(&[(MAIN, "withdraw"), (ALT, "open")]);
    let kw = env.serve(&config, "keyward-admin.log");
    let status = raw(
        admin_port,
        &build(
            admin_port,
            "GET",
            "/status",
            &[("Authorization", &format!("Bearer {token}"))],
            None,
        ),
    );
    assert_eq!(status.status, 200, "{}", status.text());
    let json = status.json();
    let entry = |name: &str| {
        json["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{json}"))["permission_check"]
            .clone()
    };
    let main = entry(MAIN);
    assert_eq!(main["mode"], "warn", "{main}");
    assert_eq!(main["verdict"], "can_withdraw", "{main}");
    assert_eq!(main["withdraw"], true, "{main}");
    assert_eq!(main["ip_restricted"], true, "{main}");
    assert!(
        main["checked_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{main}"
    );
    let alt = entry(ALT);
    assert_eq!(alt["mode"], "refuse", "{alt}");
    assert_eq!(alt["verdict"], "safe", "{alt}");
    assert_eq!(alt["withdraw"], false, "{alt}");
    assert_eq!(alt["ip_restricted"], false, "{alt}");
    // "warn" serves the key that can withdraw, and says so in the log.
    let t = tag("warned");
    let r = raw(
        kw.port,
        &build(
            kw.port,
            "GET",
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("X-MBX-APIKEY", &env.token)],
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let log = kw.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("permission_check = \"warn\"") && l.contains(MAIN)),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("no IP restriction") && l.contains(ALT)),
        "{log}"
    );
}

#[test]
fn a_rotated_key_is_checked_before_the_reload_puts_it_in_force() {
    // binance-alt's key can withdraw; binance-main is rotated to that same key.
    let env = Env::start_with(Options {
        key_permissions: &[(ALT, "withdraw")],
        ..Options::default()
    });
    assert_served(&env, "binance", MAIN);
    let input = format!("{}\n{}\n", env.api_key_alt, env.secret_alt);
    let out = env.run(
        &[
            "rotate",
            "--config",
            "keyward.toml",
            "--credential",
            MAIN,
            "--recipient",
            "recipient.txt",
        ],
        Some(&input),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    repin(&env.dir, "keyward.toml");
    env.kw.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.kw.log_text().contains("config reloaded") {
        assert!(Instant::now() < deadline, "{}", env.kw.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The very first request after the reload meets the new key's verdict, not "unknown".
    assert_refused(&env, "binance", MAIN, "key_can_withdraw");
    let checks: Vec<_> = own_checks(&env)
        .into_iter()
        .filter(|(r, _)| r["credential"] == MAIN)
        .map(|(r, _)| r["key_version"].clone())
        .collect();
    assert_eq!(
        checks,
        [Value::from(1), Value::from(2)],
        "one check per key version"
    );
}
