//! The exchanges' own request budgets (`[[weights]]` in their profiles), through the real
//! binary and the exchanges' mocks: the request that would pass the budget is refused with 429
//! `request_weight` (Bybit: answered 200 with its `retCode`, keyward's 429 in
//! `x-keyward-status`), naming the budget and when it frees, is audited, and never reaches the
//! mock; once the budget has refilled, the same request goes through.

mod common;

use std::sync::LazyLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{build, raw, tag, ConfigSpec, Env, Options, Resp};

static ENV: LazyLock<Env> = LazyLock::new(|| {
    Env::start_with(Options {
        exchanges: &["kraken", "bybit"],
        ..Default::default()
    })
});

/// A Kraken bot's private read (`OpenOrders`, weight 1 on the API counter), tagged `t`.
fn kraken_read(port: u16, t: &str) -> Resp {
    let (header, token) = ENV.venue("kraken").auth_header();
    let headers = [
        (header, token.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let body = format!("cl_ord_id={t}");
    raw(
        port,
        &build(
            port,
            "POST",
            "/kraken-main/0/private/OpenOrders",
            &headers,
            Some(&body),
        ),
    )
}

fn retry_after(r: &Resp) -> u64 {
    r.header("retry-after")
        .expect("a refusal for a spent budget says when it frees")
        .parse()
        .unwrap()
}

/// keyward's code and message in a refusal: its own member of the exchange's native error
/// body (Kraken: `{"error": ["EAPI:Rate limit exceeded"], "keyward": {code, message}}`).
fn refusal(r: &Resp) -> (String, String) {
    let body = r.json();
    let own = &body["keyward"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    (text(&own["code"]), text(&own["message"]))
}

#[track_caller]
fn assert_weight_refusal(r: &Resp) -> String {
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        r.json()["error"][0],
        "EAPI:Rate limit exceeded",
        "{}",
        r.text()
    );
    let (code, message) = refusal(r);
    assert_eq!(code, "request_weight", "{}", r.text());
    message
}

/// Sends `read` until the first refusal; returns how many went through and the refusal.
fn until_refused(read: impl Fn(&str) -> Resp, most: usize, prefix: &str) -> (usize, Resp, String) {
    for i in 0..most {
        let t = tag(prefix);
        let r = read(&t);
        if r.status != 200 || r.header("x-keyward-status").is_some() {
            return (i, r, t);
        }
    }
    panic!("{most} requests all went through: the budget was not counted");
}

/// Kraken's REST API counter, Starter tier (the default): 15 at most, decaying 0.33 a second.
/// The 16th read in a burst is refused before the mock sees it; about 3 s later one fits again.
#[test]
fn kraken_api_counter_refuses_past_its_maximum_and_frees_as_it_decays() {
    let env = &*ENV;
    let port = env.port();
    let log = &env.venue("kraken").log;
    let started = Instant::now();
    let (passed, r, t) = until_refused(|t| kraken_read(port, t), 40, "krk");
    // A few may have decayed back while the burst ran (0.33 a second).
    let burst = started.elapsed().as_secs_f64();
    assert!(
        (15..=15 + (burst * 0.34).ceil() as usize).contains(&passed),
        "{passed} reads passed in {burst:.1} s; the Starter counter allows 15"
    );
    let m = assert_weight_refusal(&r);
    assert!(
        m.contains("REST API counter") && m.contains("a counter of 15 decaying 0.33/s"),
        "{m}"
    );
    assert!(
        m.contains("this credential's key") && m.contains("weighs 1"),
        "{m}"
    );
    let wait = retry_after(&r);
    assert!((2..=4).contains(&wait), "Retry-After {wait}");
    assert!(
        log.records_with(&t).is_empty(),
        "the refused read reached the mock"
    );
    // The refusal is audited with its code.
    let audited = env
        .audit_records()
        .into_iter()
        .any(|a| a["code"] == "request_weight" && a.to_string().contains("kraken-main"));
    assert!(audited, "no audit record of the request_weight refusal");
    // The counter decays: after Retry-After the same read goes through.
    sleep(Duration::from_secs(wait));
    let t = tag("krkok");
    let r = kraken_read(port, &t);
    assert_eq!(r.status, 200, "after {wait} s: {}", r.text());
    assert_eq!(log.records_with(&t).len(), 1);
}

/// The same counter at the `pro` tier (`rate_tier = "pro"` on the credential): 20 at most,
/// decaying 1 a second, in a keyward of its own (budgets live in the process).
#[test]
fn a_credentials_rate_tier_picks_its_budget() {
    let env = &*ENV;
    let config = env.write_config(
        "keyward-pro.toml",
        &ConfigSpec {
            audit: "audit-pro.jsonl",
            ..Default::default()
        },
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let pro = text.replace(
        "exchange = \"kraken\"\n",
        "exchange = \"kraken\"\nrate_tier = \"pro\"\n",
    );
    assert_ne!(text, pro, "the kraken credential is in the config");
    std::fs::write(&config, pro).unwrap();
    let kw = env.serve(&config, "keyward-pro.stderr.log");
    let started = Instant::now();
    let (passed, r, t) = until_refused(|t| kraken_read(kw.port, t), 60, "pro");
    let burst = started.elapsed().as_secs_f64();
    assert!(
        (20..=20 + burst.ceil() as usize).contains(&passed),
        "{passed} reads passed in {burst:.1} s; the Pro counter allows 20"
    );
    let m = assert_weight_refusal(&r);
    assert!(m.contains("a counter of 20 decaying 1/s"), "{m}");
    assert!(env.venue("kraken").log.records_with(&t).is_empty());
    // An unknown tier is a config error naming the tiers.
    let bad = std::fs::read_to_string(&config)
        .unwrap()
        .replace("rate_tier = \"pro\"", "rate_tier = \"gold\"");
    let bad_path = env.dir.join("keyward-gold.toml");
    std::fs::write(&bad_path, bad).unwrap();
    let out = env.run(&["check", "--config", bad_path.to_str().unwrap()], None);
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(
            "rate_tier: \"gold\" is not one of kraken's tiers: starter, intermediate, pro"
        ),
        "{said}"
    );
    kw.stop();
}

/// A Bybit linear order, tagged `t` (its `orderLinkId`), at `path`.
fn bybit(port: u16, path: &str, t: &str) -> Resp {
    let (header, token) = ENV.venue("bybit").auth_header();
    let headers = [
        (header, token.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = match path {
        "/v5/order/create" => format!(
            r#"{{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"30000","orderLinkId":"{t}"}}"#
        ),
        _ => format!(r#"{{"category":"linear","symbol":"BTCUSDT","orderLinkId":"{t}"}}"#),
    };
    let target = format!("/bybit-main{path}");
    raw(port, &build(port, "POST", &target, &headers, Some(&body)))
}

/// Bybit's per-UID limit of 10 a second on each order endpoint: keyward lets 5 through at once
/// (half, refilled at 5 a second); the next create is refused in Bybit's own convention (HTTP
/// 200, `retCode` 10006 "too many visits", keyward's 429 in `x-keyward-status`), not sent;
/// cancel has a budget of its own; 0.4 s later a create fits again.
#[test]
fn bybit_order_endpoints_each_have_their_own_budget() {
    let env = &*ENV;
    let port = env.port();
    let log = &env.venue("bybit").log;
    let (passed, r, t) = until_refused(|t| bybit(port, "/v5/order/create", t), 30, "byc");
    assert!(
        (5..=7).contains(&passed),
        "{passed} creates passed; keyward allows 5 at once"
    );
    assert_eq!(r.status, 200, "Bybit's errors come in a 200: {}", r.text());
    assert_eq!(r.header("x-keyward-status").as_deref(), Some("429"));
    assert_eq!(r.json()["retCode"], 10006, "{}", r.text());
    let m = r.json()["retMsg"].as_str().unwrap_or_default().to_owned();
    assert!(
        m.contains("per-endpoint order limit") && m.contains("POST /v5/order/create alone"),
        "{m}"
    );
    assert!(
        log.records_with(&t).is_empty(),
        "the refused order reached the mock"
    );
    // Cancel is another endpoint: its budget is untouched.
    let c = tag("bycancel");
    let r = bybit(port, "/v5/order/cancel", &c);
    assert!(r.header("x-keyward-status").is_none(), "{}", r.text());
    assert_eq!(log.records_with(&c).len(), 1);
    sleep(Duration::from_millis(400));
    let t = tag("bycok");
    let r = bybit(port, "/v5/order/create", &t);
    assert!(r.header("x-keyward-status").is_none(), "{}", r.text());
    assert_eq!(log.records_with(&t).len(), 1);
}
