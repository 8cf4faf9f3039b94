//! End to end with the real binary: keygen → seal → serve → a signed order reaches the TLS mock
//! exchange, which verifies the HMAC; refusals never reach it; anonymous market data; the CLI's
//! `check`, `policy explain`, `keygen` (twice) and `audit verify`; rate limits.
//!
//! One environment (token, vaults, mock, keyward) is shared by all tests of this file; each test
//! tags its requests so that it finds its own records in the mock's log.

mod common;

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{tag, Env, Resp, ALT, MAIN};
use serde_json::Value;

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

fn env() -> &'static Env {
    &ENV
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn order_body(id: &str, qty: &str, price: &str) -> String {
    format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}&newClientOrderId={id}"
    )
}

#[track_caller]
fn assert_signed_and_verified(rec: &Value, api_key: &str) {
    assert_eq!(rec["verified"], true, "mock could not verify: {rec:#}");
    assert_eq!(rec["auth"], "signed", "{rec:#}");
    assert_eq!(
        rec["api_key"], api_key,
        "the sealed API key is sent: {rec:#}"
    );
    assert_eq!(rec["headers"]["x-mbx-apikey"], api_key, "{rec:#}");
    assert!(
        rec["headers"].get("authorization").is_none(),
        "the bot's Authorization header is not forwarded: {rec:#}"
    );
    let ts: u64 = rec["params"]["timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        now_ms().abs_diff(ts) < 60_000,
        "timestamp from keyward's clock: {ts}"
    );
}

#[test]
fn signed_order_in_the_body_reaches_the_exchange_verified() {
    let env = env();
    let id = tag("ord");
    // A bot with a dummy secret: its own signature, timestamp and a too-large recvWindow.
    let body = format!(
        "{}&recvWindow=60000&timestamp=1&signature=00dummy00",
        order_body(&id, "0.01", "30000")
    );
    let r = env.request(
        "POST",
        &format!("/{MAIN}/api/v3/order"),
        Some(&env.token),
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["clientOrderId"], id.as_str());
    assert_eq!(v["status"], "NEW");
    assert_eq!(v["symbol"], "BTCUSDT");

    let rec = env.the_record(&id);
    assert_signed_and_verified(&rec, &env.api_key);
    assert_eq!(rec["method"], "POST");
    assert_eq!(rec["path"], "/api/v3/order");
    assert_eq!(rec["query"], "", "parameters stay in the body: {rec:#}");
    let p = &rec["params"];
    for (k, want) in [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.01"),
        ("price", "30000"),
        ("newClientOrderId", id.as_str()),
        ("recvWindow", "5000"),
    ] {
        assert_eq!(p[k], want, "{k}: {rec:#}");
    }
    assert_ne!(p["signature"], "00dummy00");
    assert_ne!(p["timestamp"], "1");
    let body = rec["body"].as_str().unwrap();
    assert!(
        body.ends_with(&format!("&signature={}", p["signature"].as_str().unwrap())),
        "{body}"
    );
    assert!(!body.contains(&env.token), "{body}");

    // The decision was audited before forwarding, with the rule that allowed it.
    let audit = env.audit_records();
    let req = audit
        .iter()
        .find(|a| a["event"] == "request" && a["params"].as_str().is_some_and(|p| p.contains(&id)))
        .expect("audit record of the order");
    assert_eq!(req["decision"], "allow");
    assert_eq!(req["rule"], "allow[1]");
    assert_eq!(req["client"], "grid-bot");
    assert_eq!(req["credential"], MAIN);
    assert_eq!(req["path"], "/api/v3/order");
    let params = req["params"].as_str().unwrap();
    assert!(
        !params.contains("signature") && !params.contains("timestamp"),
        "{params}"
    );
    let outcome = audit
        .iter()
        .find(|a| a["event"] == "outcome" && a["request"] == req["request"])
        .expect("outcome record");
    assert_eq!(outcome["status"], 200);
}

#[test]
fn signed_order_in_the_query_then_cancelled() {
    let env = env();
    let id = tag("ordq");
    let r = env.request(
        "POST",
        &format!(
            "/{MAIN}/api/v3/order?{}&signature=abc",
            order_body(&id, "0.5", "40000")
        ),
        Some(&env.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&id);
    assert_signed_and_verified(&rec, &env.api_key);
    assert_eq!(rec["body"], "");
    assert!(rec["query"].as_str().unwrap().contains(&id));
    assert_eq!(rec["params"]["quantity"], "0.5");

    // DELETE (rule allow[2]) with the order id from the answer.
    let order_id = r.json()["orderId"].as_i64().unwrap();
    let r = env.request(
        "DELETE",
        &format!("/{MAIN}/api/v3/order?symbol=BTCUSDT&orderId={order_id}&newClientOrderId={id}c"),
        Some(&env.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "CANCELED");
    let rec = env.the_record(&format!("{id}c"));
    assert_signed_and_verified(&rec, &env.api_key);
    assert_eq!(rec["method"], "DELETE");
}

#[test]
fn bearer_token_and_a_second_credential() {
    let env = env();
    let t = tag("acct");
    let target = format!("/{MAIN}/api/v3/account?omitZeroBalances={t}");
    let auth = format!("Bearer {}", env.token);
    let r = common::raw(
        env.port(),
        &common::build(
            env.port(),
            "GET",
            &target,
            &[("Authorization", &auth)],
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["balances"].is_array());
    assert_signed_and_verified(&env.the_record(&t), &env.api_key);

    // alt-bot is bound to binance-alt: its requests are signed with the other API key.
    let t = tag("alt");
    let r = env.request(
        "GET",
        &format!("/{ALT}/api/v3/openOrders?symbol=BTCUSDT&x={t}"),
        Some(&env.token_alt),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_signed_and_verified(&env.the_record(&t), &env.api_key_alt);
}

#[test]
fn key_only_endpoint_gets_the_key_and_no_signature() {
    let env = env();
    let before = env.mock_records().len();
    let r = env.request(
        "POST",
        &format!("/{MAIN}/api/v3/userDataStream"),
        Some(&env.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let key = r.json()["listenKey"].as_str().unwrap().to_owned();
    // The listen key is random: find the record by it is impossible, so find the POST.
    let recs = env.mock_records();
    let rec = recs[before..]
        .iter()
        .find(|r| r["path"] == "/api/v3/userDataStream" && r["method"] == "POST")
        .expect("the listen-key request reached the mock");
    assert_eq!(rec["auth"], "key");
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["api_key"], env.api_key.as_str());
    assert_eq!(rec["query"], "", "no timestamp or signature: {rec:#}");
    assert_eq!(rec["body"], "");
    // Keep-alive with the listen key (PUT, key only).
    let r = env.request(
        "PUT",
        &format!("/{MAIN}/api/v3/userDataStream?listenKey={key}"),
        Some(&env.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&key);
    assert_eq!(rec["method"], "PUT");
    assert_eq!(rec["verified"], true);
    assert!(rec["params"].get("signature").is_none(), "{rec:#}");
}

#[test]
fn refusals_never_reach_the_exchange() {
    let env = env();
    struct Case {
        what: &'static str,
        method: &'static str,
        target: String,
        token: Option<String>,
        body: Option<String>,
        status: u16,
        code: &'static str,
        message: &'static str,
    }
    let t = || tag("deny");
    let tok = Some(env.token.clone());
    let mut cases = Vec::new();
    let mut add = |what,
                   method,
                   target: String,
                   token: Option<String>,
                   body: Option<String>,
                   status,
                   code,
                   message| {
        cases.push(Case {
            what,
            method,
            target,
            token,
            body,
            status,
            code,
            message,
        })
    };
    let (a, b, c, d, e, f, g, h, i, j, k, l) =
        (t(), t(), t(), t(), t(), t(), t(), t(), t(), t(), t(), t());
    add(
        "withdrawal",
        "POST",
        format!("/{MAIN}/sapi/v1/capital/withdraw/apply"),
        tok.clone(),
        Some(format!(
            "coin=USDT&network=ETH&address=0x1234567890abcdef1234567890abcdef12345678&amount=1000&withdrawOrderId={a}"
        )),
        403,
        "hard_deny",
        "withdrawals are never allowed",
    );
    add(
        "universal transfer",
        "POST",
        format!("/{MAIN}/sapi/v1/asset/transfer"),
        tok.clone(),
        Some(format!("type=MAIN_UMFUTURE&asset=USDT&amount=1000&x={b}")),
        403,
        "hard_deny",
        "transfers are never allowed",
    );
    add(
        "API-key restriction change",
        "POST",
        format!("/{MAIN}/sapi/v1/account/apiRestrictions/ipRestriction"),
        tok.clone(),
        Some(format!("ipAddress=1.2.3.4&status=2&x={c}")),
        403,
        "hard_deny",
        "API-key",
    );
    add(
        "sub-account transfer (keyword guard)",
        "POST",
        format!("/{MAIN}/sapi/v1/sub-account/universalTransfer"),
        tok.clone(),
        Some(format!("fromEmail=a%40b.c&asset=USDT&amount=1&x={d}")),
        403,
        "hard_deny",
        "never allowed",
    );
    add(
        "unknown client token",
        "GET",
        format!("/{MAIN}/api/v3/account?x={e}"),
        Some("kwt_this-token-is-not-configured".to_owned()),
        None,
        401,
        "unknown_client",
        "unknown client token",
    );
    add(
        "alt-bot on binance-main",
        "GET",
        format!("/{MAIN}/api/v3/account?x={f}"),
        Some(env.token_alt.clone()),
        None,
        403,
        "wrong_credential",
        "may not use credential",
    );
    add(
        "grid-bot on binance-alt",
        "GET",
        format!("/{ALT}/api/v3/account?x={g}"),
        tok.clone(),
        None,
        403,
        "wrong_credential",
        "may not use credential",
    );
    add(
        "quantity over the limit",
        "POST",
        format!("/{MAIN}/api/v3/order"),
        tok.clone(),
        Some(order_body(&h, "0.6", "100")),
        403,
        "constraint",
        "quantity 0.6 exceeds the maximum 0.5",
    );
    add(
        "notional over the limit",
        "POST",
        format!("/{MAIN}/api/v3/order"),
        tok.clone(),
        Some(order_body(&i, "0.5", "40000.01")),
        403,
        "constraint",
        "notional",
    );
    add(
        "symbol not allowed",
        "POST",
        format!("/{MAIN}/api/v3/order"),
        tok.clone(),
        Some(order_body(&j, "0.01", "1").replace("BTCUSDT", "DOGEUSDT")),
        403,
        "constraint",
        "symbol=DOGEUSDT is not allowed",
    );
    add(
        "endpoint not in the allow list",
        "POST",
        format!("/{MAIN}/api/v3/order/test"),
        tok.clone(),
        Some(order_body(&k, "0.01", "1")),
        403,
        "not_allowed",
        "no rule",
    );
    add(
        "anonymous withdrawal",
        "POST",
        format!("/{MAIN}/sapi/v1/capital/withdraw/apply"),
        None,
        Some(format!("coin=USDT&address=x&amount=1&withdrawOrderId={l}")),
        403,
        "hard_deny",
        "withdrawals are never allowed",
    );
    for case in &cases {
        let r = env.request(
            case.method,
            &case.target,
            case.token.as_deref(),
            case.body.as_deref(),
        );
        assert_eq!(r.status, case.status, "{}: {}", case.what, r.text());
        r.assert_error(case.status, case.code);
        let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(
            msg.contains(case.message),
            "{}: message {msg:?} should contain {:?}",
            case.what,
            case.message
        );
    }
    for tag in [a, b, c, d, e, f, g, h, i, j, k, l] {
        env.assert_not_forwarded(&tag);
    }
    // The refusals are audited too.
    let audit = env.audit_text();
    assert!(audit.contains("\"decision\":\"deny\""), "{audit}");
    assert!(audit.contains("\"code\":\"hard_deny\""), "{audit}");
    assert!(audit.contains("\"code\":\"wrong_credential\""), "{audit}");
    assert!(audit.contains("\"code\":\"unknown_client\""), "{audit}");
}

#[test]
fn anonymous_market_data_is_forwarded_unsigned() {
    let env = env();
    let t = tag("anon");
    let r = env.request(
        "GET",
        &format!("/{MAIN}/api/v3/depth?symbol=BTCUSDT&limit=5&x={t}"),
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["bids"].is_array());
    let rec = env.the_record(&t);
    assert_eq!(rec["auth"], "public");
    assert!(
        rec["headers"].get("x-mbx-apikey").is_none(),
        "anonymous market data must go out without the API key: {rec:#}"
    );
    assert_eq!(rec["query"], format!("symbol=BTCUSDT&limit=5&x={t}"));
    let audit = env.audit_records();
    assert!(audit.iter().any(|a| a["client"] == "anonymous"
        && a["decision"] == "allow"
        && a["params"].as_str().is_some_and(|p| p.contains(&t))));

    // A client's public request is also sent without the key.
    let t = tag("pub");
    let r = env.request(
        "GET",
        &format!("/{MAIN}/api/v3/depth?symbol=ETHUSDT&x={t}"),
        Some(&env.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(env.the_record(&t)["headers"].get("x-mbx-apikey").is_none());

    // Anything else needs a client token.
    let t = tag("anon");
    let r = env.request("GET", &format!("/{MAIN}/api/v3/account?x={t}"), None, None);
    r.assert_error(401, "client_token_required");
    env.assert_not_forwarded(&t);
}

#[test]
fn anonymous_market_data_can_be_turned_off() {
    let env = env();
    let config = env.write_config(
        "keyward-no-anon.toml",
        &common::ConfigSpec {
            anonymous_market_data: false,
            audit: "audit-no-anon.jsonl",
            ..Default::default()
        },
    );
    let kw = env.serve(&config, "keyward-no-anon.stderr.log");
    let t = tag("noanon");
    let target = format!("/{MAIN}/api/v3/depth?symbol=BTCUSDT&x={t}");
    let r = common::raw(kw.port, &common::build(kw.port, "GET", &target, &[], None));
    r.assert_error(401, "client_token_required");
    env.assert_not_forwarded(&t);
    // With a token the same request works.
    let t = tag("noanon");
    let target = format!("/{MAIN}/api/v3/depth?symbol=BTCUSDT&x={t}");
    let r = common::raw(
        kw.port,
        &common::build(
            kw.port,
            "GET",
            &target,
            &[("X-MBX-APIKEY", &env.token)],
            None,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    env.the_record(&t);
    drop(kw);

    let out = env.run(&["check", "--config", "keyward-no-anon.toml"], None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("anonymous market data off"));
}

fn explain(env: &Env, client: &str, method: &str, target: &str) -> (i32, String, String) {
    let out = env.run(
        &[
            "policy",
            "explain",
            "--config",
            "keyward.toml",
            "--client",
            client,
            method,
            target,
        ],
        None,
    );
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_explain_exit_codes() {
    let env = env();
    let order = format!(
        "/{MAIN}/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=30000"
    );
    let (code, out, err) = explain(env, "grid-bot", "POST", &order);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("allowed by rule allow[1]"), "{out}");

    let (code, out, _) = explain(env, "grid-bot", "GET", &format!("/{MAIN}/api/v3/account"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("binance:read"), "{out}");

    let (code, out, _) = explain(
        env,
        "grid-bot",
        "POST",
        &format!("/{MAIN}/sapi/v1/capital/withdraw/apply?coin=USDT&amount=1&address=x"),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hard deny"), "{out}");

    // The parameters may come in a body, as bots send them: the same decisions.
    let body = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=30000";
    let explain_body = |body: &str| {
        let out = env.run(
            &[
                "policy",
                "explain",
                "--config",
                "keyward.toml",
                "--client",
                "grid-bot",
                "POST",
                &format!("/{MAIN}/api/v3/order"),
                "--body",
                body,
            ],
            None,
        );
        (
            out.status.code().expect("exit code"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = explain_body(body);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("allowed by rule allow[1]"), "{out}");
    let (code, out) = explain_body(&body.replace("0.1", "0.7"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("denied: notional 21000.0 exceeds the maximum"),
        "{out}"
    );

    let (code, out, _) = explain(env, "grid-bot", "POST", &order.replace("0.1", "0.7"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exceeds the maximum"), "{out}");

    let (code, out, _) = explain(env, "alt-bot", "GET", &format!("/{MAIN}/api/v3/account"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("may not use credential"), "{out}");

    let (code, out, _) = explain(env, "grid-bot", "GET", &format!("/{MAIN}/api//v3/account"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused before policy"), "{out}");

    // Usage errors are not "denied": another non-zero code, with a reason on stderr.
    let (code, _, err) = explain(env, "grid-bot", "GET", "/nope");
    assert_ne!(code, 0, "{err}");
}

#[test]
fn check_prints_the_summary() {
    let env = env();
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    for want in [
        "keyward.toml: ok",
        "anonymous market data on",
        &format!("credential {MAIN} (binance): unsealed from"),
        &format!("credential {ALT} (binance): unsealed from"),
        "upstream overridden",
        &format!("client grid-bot -> {MAIN}"),
        "binance:read, allow[1], allow[2]",
        "rate 1000/s",
        &format!("client alt-bot -> {ALT}"),
        "rate 3/m",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    for secret in [&env.api_key, &env.secret, &env.api_key_alt, &env.secret_alt] {
        assert!(!stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()));
    }
}

#[test]
fn rate_limit_returns_429() {
    let env = env();
    // slow-bot: rate = "3/m", a burst of 3.
    let mut results: Vec<(String, Resp)> = Vec::new();
    for _ in 0..5 {
        let t = tag("slow");
        let r = env.request(
            "GET",
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            Some(&env.token_slow),
            None,
        );
        results.push((t, r));
    }
    for (t, r) in &results[..3] {
        assert_eq!(r.status, 200, "{}", r.text());
        env.the_record(t);
    }
    for (t, r) in &results[3..] {
        r.assert_error(429, "rate_limited");
        env.assert_not_forwarded(t);
    }
}

#[test]
fn keygen_twice_refuses_the_second() {
    let env = env();
    let out = env.run(
        &[
            "keygen",
            "--config",
            "keyward.toml",
            "--out",
            "recipient-2.txt",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "second keygen must fail: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "no recipient printed: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one-line reason: {stderr}"
    );
    assert!(stderr.starts_with("keyward: "), "{stderr}");
    assert!(!env.dir.join("recipient-2.txt").exists());
    // The original key is untouched: the vaults still unseal.
    let out = env.run(&["check", "--config", "keyward.toml"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn audit_verify_detects_a_one_character_edit() {
    let env = env();
    for _ in 0..3 {
        let t = tag("aud");
        let r = env.request(
            "GET",
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            Some(&env.token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Other tests append concurrently: verify a snapshot cut at the last complete line.
    let text = env.audit_text();
    let cut = &text[..text.rfind('\n').unwrap() + 1];
    let lines: Vec<&str> = cut.lines().collect();
    assert!(lines.len() >= 6, "{cut}");
    let good = env.dir.join("audit-snapshot.jsonl");
    std::fs::write(&good, cut).unwrap();
    let out = env.run(&["audit", "verify", good.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));

    // Change one character of line 4: a digit of its time stamp (still valid JSON).
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let line = &edited[3];
    let at = line.find("\"time\":\"").unwrap() + 8 + 3; // third digit of the year
    let old = line.as_bytes()[at];
    let new = if old == b'9' { b'8' } else { old + 1 };
    let mut bytes = line.clone().into_bytes();
    bytes[at] = new;
    edited[3] = String::from_utf8(bytes).unwrap();
    let bad = env.dir.join("audit-tampered.jsonl");
    std::fs::write(&bad, edited.join("\n") + "\n").unwrap();
    let out = env.run(&["audit", "verify", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "tampering not detected: {stderr}");
    assert!(stderr.contains("line 4"), "stderr names the line: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Deleting a line is detected as well, at the line after the gap.
    let mut removed: Vec<&str> = lines.clone();
    removed.remove(2);
    std::fs::write(&bad, removed.join("\n") + "\n").unwrap();
    let out = env.run(&["audit", "verify", bad.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    use std::io::{Read, Write};
    let env = env();
    let config = env.write_config(
        "keyward-shutdown.toml",
        &common::ConfigSpec {
            anonymous_market_data: true,
            audit: "audit-shutdown.jsonl",
            ..Default::default()
        },
    );
    let kw = env.serve(&config, "keyward-shutdown.stderr.log");
    let t = tag("shut");
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    let head = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n",
        p = kw.port,
        tok = env.token,
        n = body.len()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    // The request is in flight: headers and half the body sent when shutdown is asked for.
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    kw.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // No new connections once shutting down.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", kw.port)).is_err(),
        "keyward still accepts connections after SIGTERM"
    );
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(env.the_record(&t)["verified"], true);
    let status = kw
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("keyward did not exit after its last request");
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&kw.log).unwrap();
    assert!(log.contains("all connections closed"), "{log}");
}

#[test]
fn outcome_is_audited_when_the_bot_hangs_up() {
    use std::io::Write;
    let env = env();
    // The mock answers orders whose client id starts with "slow" after 1.5 s.
    let t = tag("slow");
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    let request = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\n\r\n{body}",
        p = env.port(),
        tok = env.token,
        n = body.len()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", env.port())).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    // Hang up while keyward waits for the exchange.
    std::thread::sleep(std::time::Duration::from_millis(400));
    drop(s);
    let records = || -> Vec<serde_json::Value> {
        env.audit_records()
            .into_iter()
            .filter(|r| {
                r["event"] == "request" && r["params"].as_str().is_some_and(|p| p.contains(&t))
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let decided = records();
        assert_eq!(decided.len(), 1, "{decided:#?}");
        let id = decided[0]["request"].clone();
        let outcome: Vec<_> = env
            .audit_records()
            .into_iter()
            .filter(|r| r["event"] == "outcome" && r["request"] == id)
            .collect();
        if let Some(o) = outcome.first() {
            assert_eq!(o["status"], 200, "{o}");
            assert_eq!(o["error"], "client_gone", "{o}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no outcome record for a request whose bot hung up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The exchange did receive (and verify) the order.
    assert_eq!(env.the_record(&t)["verified"], true);
}

#[test]
fn shutdown_waits_for_the_outcome_of_a_request_whose_bot_hung_up() {
    use std::io::Write;
    let env = env();
    let config = env.write_config(
        "keyward-shutdown-gone.toml",
        &common::ConfigSpec {
            anonymous_market_data: true,
            audit: "audit-shutdown-gone.jsonl",
            ..Default::default()
        },
    );
    let kw = env.serve(&config, "keyward-shutdown-gone.stderr.log");
    // The mock answers orders whose client id starts with "slow" after 1.5 s.
    let t = tag("slowgone");
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    let request = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\n\r\n{body}",
        p = kw.port,
        tok = env.token,
        n = body.len()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    // The bot hangs up, then keyward is asked to stop while the exchange still works.
    drop(s);
    std::thread::sleep(std::time::Duration::from_millis(100));
    kw.terminate();
    let status = kw
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("keyward did not exit");
    assert!(status.success(), "{status}");
    let audit = std::fs::read_to_string(env.dir.join("audit-shutdown-gone.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decided = records
        .iter()
        .find(|r| r["event"] == "request" && r["params"].as_str().is_some_and(|p| p.contains(&t)))
        .expect("the order's request record");
    let outcome = records
        .iter()
        .find(|r| r["event"] == "outcome" && r["request"] == decided["request"]);
    let outcome = outcome.expect("shutdown cut off the outcome record of a forwarded order");
    assert_eq!(outcome["status"], 200, "{outcome}");
    assert_eq!(outcome["error"], "client_gone", "{outcome}");
}
