//! The bypass corpus: requests that try to reach a denied endpoint, smuggle parameters past the
//! allowlist, or make keyward and the exchange read a request differently. Each is sent as raw
//! bytes over a `TcpStream`; each must be refused with a 4xx and the mock exchange must record
//! nothing for it.
//!
//! Every refused request carries a unique tag; the only requests allowed to reach the mock are
//! the control requests of `controls_are_forwarded` (tag prefix `ctl`), so besides "nothing with
//! this tag", each test also checks that the mock holds nothing but controls.

mod common;
#[path = "bypass/venues.rs"]
mod venues;

use std::sync::LazyLock;

use common::{build, raw, tag, venue, Env, Options, Resp, MAIN};

/// One keyward fronting Binance (the hand-written tests below) and every other exchange (the
/// tables of `bypass/venues.rs`).
static ENV: LazyLock<Env> = LazyLock::new(|| {
    Env::start_with(Options {
        exchanges: venue::ALL_BUT_BINANCE,
        ..Options::default()
    })
});

// ---- the table over every exchange profile (bypass/venues.rs) --------------------------------

#[test]
fn table_binance() {
    venues::run_table("binance");
}
#[test]
fn table_bybit() {
    venues::run_table("bybit");
}
#[test]
fn table_okx() {
    venues::run_table("okx");
}
#[test]
fn table_bitget() {
    venues::run_table("bitget");
}
#[test]
fn table_kucoin() {
    venues::run_table("kucoin");
}
#[test]
fn table_kraken() {
    venues::run_table("kraken");
}
#[test]
fn table_gate() {
    venues::run_table("gate");
}
#[test]
fn table_bitmex() {
    venues::run_table("bitmex");
}
#[test]
fn table_coinbase() {
    venues::run_table("coinbase");
}
#[test]
fn table_deribit() {
    venues::run_table("deribit");
}
#[test]
fn table_alpaca() {
    venues::run_table("alpaca");
}

/// The suite covers every exchange with at least 150 rows in all.
#[test]
fn table_size() {
    let counts = venues::count();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    eprintln!("bypass table: {total} cases: {counts:?}");
    assert_eq!(counts.len(), 11, "{counts:?}");
    assert!(total >= 150, "{total}");
}

fn env() -> &'static Env {
    &ENV
}

fn port() -> u16 {
    env().port()
}

/// What a refusal must look like.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// keyward's JSON error with this status and code.
    Json(u16, &'static str),
    /// Refused by the HTTP layer before keyward's pipeline (no JSON body): this status.
    Http(u16),
}

/// A valid order body within grid-bot's limits, tagged.
fn order(t: &str) -> String {
    format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    )
}

fn withdrawal(t: &str) -> String {
    format!(
        "coin=USDT&network=ETH&address=0x1234567890abcdef1234567890abcdef12345678&amount=1000&withdrawOrderId={t}"
    )
}

/// Sends `request`; asserts the refusal, that nothing with `t` was forwarded, and that the mock
/// holds only control requests.
#[track_caller]
fn refused(what: &str, request: &[u8], t: &str, expect: Expect) -> Resp {
    let env = env();
    let r = raw(port(), request);
    match expect {
        Expect::Json(status, code) => {
            assert_eq!(
                r.refusal_status(),
                status,
                "{what}: expected {status} {code}, got:\n{}\n{}",
                r.head,
                r.text()
            );
            assert!(
                serde_json::from_slice::<serde_json::Value>(&r.body).is_ok(),
                "{what}: expected keyward's JSON error {status} {code}, got:\n{}\n{}",
                r.head,
                r.text()
            );
            r.assert_error_shape(code);
        }
        Expect::Http(status) => {
            assert_eq!(
                r.status,
                status,
                "{what}: expected {status}, got:\n{}\n{}",
                r.head,
                r.text()
            );
        }
    }
    assert!((400..600).contains(&r.status));
    env.assert_not_forwarded(t);
    assert_only_controls_forwarded();
    r
}

/// The tag prefix of control requests (`tag("ctl")` gives `ctl<pid>x<n>`).
fn control_prefix() -> String {
    format!("ctl{}x", std::process::id())
}

#[track_caller]
fn assert_only_controls_forwarded() {
    let leaked: Vec<_> = env()
        .mock_records()
        .into_iter()
        .filter(|r| !r.to_string().contains(&control_prefix()))
        // keyward's own key-permission check at start-up (scripts/mocks/permissions.py)
        .filter(|r| r.get("permissions_mode").is_none())
        .collect();
    assert!(
        leaked.is_empty(),
        "the mock exchange received requests that are not controls: {leaked:#?}"
    );
}

/// `POST target` with grid-bot's token and `body`.
fn post(target: &str, body: &str) -> Vec<u8> {
    build(
        port(),
        "POST",
        target,
        &[("X-MBX-APIKEY", &env().token)],
        Some(body),
    )
}

/// A tagged order `POST` with exactly `headers` (no token unless they carry one).
fn order_with(headers: &[(&str, &str)], t: &str) -> Vec<u8> {
    build(
        port(),
        "POST",
        &format!("/{MAIN}/api/v3/order"),
        headers,
        Some(&order(t)),
    )
}

/// `GET target` with grid-bot's token and extra headers.
fn get(target: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut h = vec![("X-MBX-APIKEY", env().token.as_str())];
    h.extend_from_slice(headers);
    build(port(), "GET", target, &h, None)
}

// ---- controls: the well-formed versions are forwarded (so the refusals below mean something) --

#[test]
fn controls_are_forwarded() {
    let env = env();
    // A plain order.
    let t = tag("ctl");
    let r = raw(port(), &post(&format!("/{MAIN}/api/v3/order"), &order(&t)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&t)["verified"], true);

    // Parameters split between query string and body (Binance signs both): allowed, and what
    // policy checked is what the exchange got.
    let t = tag("ctl");
    let body = order(&t).replace("symbol=BTCUSDT&", "");
    let r = raw(
        port(),
        &post(&format!("/{MAIN}/api/v3/order?symbol=BTCUSDT"), &body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&t);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert_eq!(rec["params"]["symbol"], "BTCUSDT");
    assert_eq!(rec["params"]["quantity"], "0.01");

    // A fragment is not part of an HTTP request target; hyper's URI parser drops it (and
    // everything after it) before keyward sees the target, so what keyward checks, signs and
    // forwards is only what precedes the '#': the parameters after it never reach the exchange.
    let t = tag("ctl");
    let r = raw(
        port(),
        &get(
            &format!("/{MAIN}/api/v3/openOrders?x={t}#&symbol=ETHUSDT&recvWindow=1"),
            &[],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&t);
    assert_eq!(rec["verified"], true, "{rec:#}");
    assert!(rec["params"].get("symbol").is_none(), "{rec:#}");
    assert_eq!(rec["params"]["recvWindow"], "5000", "{rec:#}");

    // Host: localhost:PORT names keyward too.
    let t = tag("ctl");
    let r = raw(
        port(),
        &get(
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("Host", &format!("localhost:{}", port()))],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    env.the_record(&t);

    // `+` and percent-escapes in values are decoded once and re-encoded by keyward.
    let t = tag("ctl");
    let r = raw(
        port(),
        &get(&format!("/{MAIN}/api/v3/openOrders?x={t}&y=a+b%2Fc"), &[]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = env.the_record(&t);
    assert_eq!(rec["params"]["y"], "a b/c", "{rec:#}");

    // A GET whose body is an empty JSON object (coinbase-advanced-py sends `{}` on every GET)
    // carries no parameter: it is forwarded without a body and signed as a bodyless GET.
    for empty in ["{}", " { \r\n} "] {
        let t = tag("ctl");
        let r = raw(
            port(),
            &build(
                port(),
                "GET",
                &format!("/{MAIN}/api/v3/openOrders?x={t}"),
                &[
                    ("X-MBX-APIKEY", &env.token),
                    ("Content-Type", "application/json"),
                ],
                Some(empty),
            ),
        );
        assert_eq!(r.status, 200, "{empty:?}: {}", r.text());
        let rec = env.the_record(&t);
        assert_eq!(rec["verified"], true, "{rec:#}");
        assert_eq!(rec["body"], "", "{rec:#}");
    }
    assert_only_controls_forwarded();
}

// ---- paths --------------------------------------------------------------------------------------

#[test]
fn encoded_slashes_and_dots() {
    for path in [
        "/binance-main/api%2fv3/order",
        "/binance-main/api%2Fv3/order",
        "/binance-main%2fapi/v3/order",
        "/binance-main/api/v3%2forder",
        "/binance-main/sapi/v1/capital%2fwithdraw/apply",
        "/binance-main/sapi/v1/capital/withdraw%2Fapply",
        "/binance-main/api/v3/%2e%2e/v3/order",
        "/binance-main/api/%2E%2E/sapi/v1/capital/withdraw/apply",
        "/binance-main/api/v3/order/%2e",
        "/binance-main/api/v3/%2e/order",
        "/binance-main/sapi/v1/capital/wi%74hdraw/apply",
        "/binance-main/api/v3/order%00",
        "/binance-main/api/v3/order%3fsymbol=ETHUSDT",
        "/binance-main/api/v3/order%23",
        "/binance-main/api/v3/order%5c",
        "/binance-main/api/v3/%252e%252e/order",
    ] {
        let t = tag("enc");
        refused(
            path,
            &post(path, &order(&t)),
            &t,
            Expect::Json(400, "bad_path"),
        );
    }
}

#[test]
fn dot_segments_and_empty_segments() {
    for path in [
        "/binance-main/api/v3/../v3/order",
        "/binance-main/x/../sapi/v1/capital/withdraw/apply",
        "/binance-main/api/v3/./order",
        "/binance-main/./api/v3/order",
        "/binance-main/api/v3/order/..",
        "/binance-main/api/v3/order/.",
        "/binance-main/..",
        "/binance-main/api/v3//order",
        "/binance-main//api/v3/order",
        "//binance-main/api/v3/order",
        "/binance-main/api/v3/order/",
        "/binance-main/sapi/v1/capital/withdraw//apply",
    ] {
        let t = tag("dot");
        refused(
            path,
            &post(path, &order(&t)),
            &t,
            Expect::Json(400, "bad_path"),
        );
    }
    // A backslash is not a separator either.
    let t = tag("dot");
    refused(
        "backslash",
        &post("/binance-main/api\\v3\\order", &order(&t)),
        &t,
        Expect::Json(400, "bad_path"),
    );
}

#[test]
fn case_changes() {
    // Unknown (case-changed) API roots and credential names: not found.
    for path in [
        "/binance-main/API/v3/order",
        "/binance-main/Api/v3/order",
        "/Binance-Main/api/v3/order",
        "/BINANCE-MAIN/api/v3/order",
        "/binance-main/SAPI/v1/capital/withdraw/apply",
    ] {
        let t = tag("case");
        refused(
            path,
            &post(path, &order(&t)),
            &t,
            Expect::Json(404, "not_found"),
        );
    }
    // A case-changed endpoint under a known root: no rule names it.
    for path in [
        "/binance-main/api/v3/ORDER",
        "/binance-main/api/v3/Order",
        "/binance-main/api/V3/order",
    ] {
        let t = tag("case");
        refused(
            path,
            &post(path, &order(&t)),
            &t,
            Expect::Json(403, "not_allowed"),
        );
    }
    // Withdrawals, transfers and key management in any letter case, with '-'/'_' games: hard deny.
    for path in [
        "/binance-main/sapi/v1/capital/Withdraw/apply",
        "/binance-main/sapi/v1/capital/WITHDRAW/APPLY",
        "/binance-main/sapi/v1/Capital/withdraw/apply",
        "/binance-main/sapi/v1/capital/withDraw/apply",
        "/binance-main/sapi/v1/capital/with-draw/apply",
        "/binance-main/sapi/v1/capital/with_draw/apply",
        "/binance-main/sapi/v1/capital/withdraw/apply.json",
        "/binance-main/sapi/v2/capital/withdraw/apply",
        "/binance-main/sapi/v1/asset/Transfer",
        "/binance-main/sapi/v1/ASSET/TRANSFER",
        "/binance-main/sapi/v1/futures/Transfer",
        "/binance-main/sapi/v1/sub_account/transfer/subToMaster",
        "/binance-main/sapi/v1/Sub-Account/transfer/subToMaster",
        "/binance-main/sapi/v1/account/ApiRestrictions/ipRestriction",
        "/binance-main/sapi/v1/account/apiRestrictions/IpRestriction/ipList",
        "/binance-main/sapi/v1/account/API-key/permissions",
        "/binance-main/api/v3/withdraw",
        "/binance-main/fapi/v1/transfer",
    ] {
        let t = tag("case");
        refused(
            path,
            &post(path, &withdrawal(&t)),
            &t,
            Expect::Json(403, "hard_deny"),
        );
    }
    // The legacy wallet API is not even routed.
    let t = tag("case");
    refused(
        "wapi",
        &post("/binance-main/wapi/v3/withdraw.html", &withdrawal(&t)),
        &t,
        Expect::Json(404, "not_found"),
    );
}

// ---- parameters ---------------------------------------------------------------------------------

#[test]
fn semicolon_params() {
    let env = env();
    let t = tag("semi");
    refused(
        "';' path parameter",
        &post("/binance-main/api/v3/order;symbol=ETHUSDT", &order(&t)),
        &t,
        Expect::Json(400, "bad_path"),
    );
    let t = tag("semi");
    refused(
        "';' path parameter on withdraw",
        &post(
            "/binance-main/sapi/v1/capital/withdraw;/apply",
            &withdrawal(&t),
        ),
        &t,
        Expect::Json(400, "bad_path"),
    );
    let t = tag("semi");
    refused(
        "';' in the query",
        &get(
            &format!("/{MAIN}/api/v3/openOrders?symbol=BTCUSDT;symbol=ETHUSDT&x={t}"),
            &[],
        ),
        &t,
        Expect::Json(400, "bad_params"),
    );
    let t = tag("semi");
    refused(
        "';' in the body hides a second quantity",
        &post(
            &format!("/{MAIN}/api/v3/order"),
            &format!("{};quantity=5", order(&t)),
        ),
        &t,
        Expect::Json(400, "bad_params"),
    );
    let t = tag("semi");
    let body = order(&t).replace("quantity=0.01", "quantity=0.01;quantity=5");
    refused(
        "';' inside a value",
        &post(&format!("/{MAIN}/api/v3/order"), &body),
        &t,
        Expect::Json(400, "bad_params"),
    );
    let _ = env;
}

#[test]
fn duplicate_keys() {
    let cases: Vec<(&str, String, Option<String>)> = vec![
        (
            "duplicate symbol in the query",
            "?symbol=BTCUSDT&symbol=ETHUSDT&".to_owned(),
            None,
        ),
        (
            "duplicate quantity in the body",
            String::new(),
            Some("&quantity=5".to_owned()),
        ),
        (
            "duplicate in another letter case",
            String::new(),
            Some("&QUANTITY=5".to_owned()),
        ),
        (
            "symbol in the query and in the body",
            "?symbol=ETHUSDT&".to_owned(),
            Some(String::new()),
        ),
        (
            "quantity in the query and in the body",
            "?quantity=5&".to_owned(),
            Some(String::new()),
        ),
        (
            "quantity in the query and Quantity in the body",
            "?Quantity=5&".to_owned(),
            Some(String::new()),
        ),
        (
            "percent-encoded duplicate key",
            "?%71uantity=5&".to_owned(),
            Some(String::new()),
        ),
        (
            "price twice, encoded differently",
            String::new(),
            Some("&pr%69ce=1".to_owned()),
        ),
    ];
    for (what, query_prefix, body_extra) in cases {
        let t = tag("dup");
        let (target, body) = match body_extra {
            // the whole order in the body, `extra` appended; `query_prefix` as query string
            Some(extra) => (
                format!("/{MAIN}/api/v3/order{}", query_prefix.trim_end_matches('&')),
                format!("{}{extra}", order(&t)),
            ),
            // the whole order in the query string
            None => (
                format!("/{MAIN}/api/v3/order{query_prefix}{}", order(&t)),
                String::new(),
            ),
        };
        let request = if body.is_empty() {
            build(
                port(),
                "POST",
                &target,
                &[("X-MBX-APIKEY", &env().token)],
                None,
            )
        } else {
            post(&target, &body)
        };
        refused(what, &request, &t, Expect::Json(400, "bad_params"));
    }
    // Duplicates on a GET too.
    let t = tag("dup");
    refused(
        "duplicate on GET",
        &get(
            &format!("/{MAIN}/api/v3/openOrders?symbol=BTCUSDT&symbol=ETHUSDT&x={t}"),
            &[],
        ),
        &t,
        Expect::Json(400, "bad_params"),
    );
    // The bot's own timestamp in both places is a duplicate as well.
    let t = tag("dup");
    refused(
        "timestamp in query and body",
        &post(
            &format!("/{MAIN}/api/v3/order?timestamp=1"),
            &format!("{}&timestamp=2", order(&t)),
        ),
        &t,
        Expect::Json(400, "bad_params"),
    );
}

#[test]
fn split_params_are_still_checked() {
    // Moving the quantity to the query string does not hide it from the limits.
    let t = tag("split");
    let body = order(&t).replace("&quantity=0.01", "");
    refused(
        "over-limit quantity in the query, the rest in the body",
        &post(&format!("/{MAIN}/api/v3/order?quantity=0.6"), &body),
        &t,
        Expect::Json(403, "constraint"),
    );
    let t = tag("split");
    let body = order(&t).replace("symbol=BTCUSDT&", "");
    refused(
        "disallowed symbol in the query, the rest in the body",
        &post(&format!("/{MAIN}/api/v3/order?symbol=DOGEUSDT"), &body),
        &t,
        Expect::Json(403, "constraint"),
    );
    // Numbers the exchange might read differently than a decimal parser.
    for qty in [
        "1e-1", "0x1", "-1", "%200.1", "0.1%20", "+0.1", "0,1", "1_0", ".5",
    ] {
        let t = tag("num");
        let body = order(&t).replace("quantity=0.01", &format!("quantity={qty}"));
        refused(
            qty,
            &post(&format!("/{MAIN}/api/v3/order"), &body),
            &t,
            Expect::Json(403, "constraint"),
        );
    }
    // A constrained parameter in another letter case, which an exchange might read as the
    // constrained one: refused, though the exact-case parameters are within the limits.
    for extra in ["QUOTEORDERQTY=1000000", "quoteorderqty=1000000"] {
        let t = tag("casep");
        let body = format!("{}&{extra}", order(&t));
        refused(
            extra,
            &post(&format!("/{MAIN}/api/v3/order"), &body),
            &t,
            Expect::Json(403, "constraint"),
        );
    }
    let t = tag("casep");
    let body = order(&t).replace("quantity=0.01", "QUANTITY=9&quoteOrderQty=10");
    refused(
        "QUANTITY instead of quantity",
        &post(&format!("/{MAIN}/api/v3/order"), &body),
        &t,
        Expect::Json(403, "constraint"),
    );
    // A market order by quantity has no price: the notional bound cannot be checked.
    let t = tag("num");
    let body = format!("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.4&newClientOrderId={t}");
    refused(
        "market order without price",
        &post(&format!("/{MAIN}/api/v3/order"), &body),
        &t,
        Expect::Json(403, "constraint"),
    );
}

#[test]
fn malformed_parameters() {
    for (what, query) in [
        ("empty pair", "symbol=BTCUSDT&&x=1"),
        ("no '='", "symbol"),
        ("bad escape", "symbol=%zz"),
        ("escaped NUL", "symbol=BTCUSDT%00"),
        ("escaped newline", "symbol=BTCUSDT%0a"),
        ("invalid UTF-8", "symbol=%ff"),
        ("empty key", "=BTCUSDT"),
        ("escaped '&' in a key", "sym%26bol=BTCUSDT"),
        ("escaped '=' in a key", "symbol%3D=BTCUSDT"),
        ("key with brackets and space", "symbol%20=BTCUSDT"),
    ] {
        let t = tag("mal");
        let target = format!("/{MAIN}/api/v3/openOrders?x={t}&{query}");
        refused(
            what,
            &get(&target, &[]),
            &t,
            Expect::Json(400, "bad_params"),
        );
    }
    // Bytes that are not valid in a request target at all: the HTTP parser refuses them.
    let t = tag("mal");
    let target = format!("/{MAIN}/api/v3/openOrders?x={t}&symbol=\"BTCUSDT\"");
    refused("unescaped quote", &get(&target, &[]), &t, Expect::Http(400));
}

// ---- headers and framing --------------------------------------------------------------------------

#[test]
fn method_override_headers() {
    for (name, value) in [
        ("X-HTTP-Method-Override", "DELETE"),
        ("X-HTTP-Method", "DELETE"),
        ("X-Method-Override", "DELETE"),
        ("X-Original-Method", "DELETE"),
        (
            "X-Original-URL",
            "/binance-main/sapi/v1/capital/withdraw/apply",
        ),
        (
            "X-Rewrite-URL",
            "/binance-main/sapi/v1/capital/withdraw/apply",
        ),
    ] {
        let t = tag("ovr");
        refused(
            name,
            &get(
                &format!("/{MAIN}/api/v3/order?symbol=BTCUSDT&origClientOrderId={t}"),
                &[(name, value)],
            ),
            &t,
            Expect::Json(400, "bad_request"),
        );
    }
}

/// Rule: nothing in the request may change the method keyward checked and signs: a
/// method-override parameter is refused in the query and in the body (every exchange shares the
/// one parser that refuses it).
#[test]
fn method_override_parameters() {
    for name in [
        "_method",
        "_METHOD",
        "_HttpMethod",
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
    ] {
        let t = tag("mop");
        refused(
            &format!("{name} in a form body"),
            &post(
                &format!("/{MAIN}/api/v3/order"),
                &format!("{}&{name}=PUT", order(&t)),
            ),
            &t,
            Expect::Json(400, "method_override"),
        );
        let t = tag("moq");
        refused(
            &format!("{name} in the query"),
            &get(
                &format!("/{MAIN}/api/v3/order?symbol=BTCUSDT&origClientOrderId={t}&{name}=DELETE"),
                &[],
            ),
            &t,
            Expect::Json(400, "method_override"),
        );
    }
}

/// Rule: headers are bounded one by one (`[server] max_header_bytes`, 8 KiB by default) and
/// together (`max_header_total_bytes`, 32 KiB): larger ones get 431, well below hyper's own bound.
#[test]
fn huge_headers() {
    let env = env();
    // Just under the per-header bound: forwarded (a control).
    let t = tag("ctl");
    let note = "n".repeat(8192 - "X-Note: \r\n".len());
    let r = raw(
        port(),
        &order_with(&[("X-MBX-APIKEY", &env.token), ("X-Note", &note)], &t),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(env.the_record(&t)["verified"], true);

    let one_byte_over = format!("{note}n");
    let forty_k = "n".repeat(40 * 1024);
    let seven_k = "n".repeat(7 * 1024);
    for (what, headers, code) in [
        (
            "one header one byte over 8 KiB",
            vec![("X-Note", one_byte_over.as_str())],
            "header_too_large",
        ),
        (
            "one header of 40 KiB",
            vec![("X-Note", forty_k.as_str())],
            "header_too_large",
        ),
        (
            "five headers of 7 KiB (35 KiB together)",
            vec![
                ("X-A", seven_k.as_str()),
                ("X-B", seven_k.as_str()),
                ("X-C", seven_k.as_str()),
                ("X-D", seven_k.as_str()),
                ("X-E", seven_k.as_str()),
            ],
            "headers_too_large",
        ),
    ] {
        let t = tag("big");
        let mut h = vec![("X-MBX-APIKEY", env.token.as_str())];
        h.extend(headers);
        refused(what, &order_with(&h, &t), &t, Expect::Json(431, code));
    }
}

/// Rule: a header keyward reads must be sent once (two would leave keyward and the exchange, or
/// two readers inside keyward, free to take different copies).
#[test]
fn duplicate_headers_keyward_reads() {
    let tok = env().token.clone();
    let bearer = format!("Bearer {tok}");
    let form = "application/x-www-form-urlencoded";
    for (what, headers) in [
        (
            "Content-Type twice (form, then JSON)",
            vec![
                ("X-MBX-APIKEY", tok.as_str()),
                ("Content-Type", form),
                ("Content-Type", "application/json"),
            ],
        ),
        (
            "Content-Type twice, same value",
            vec![
                ("X-MBX-APIKEY", tok.as_str()),
                ("Content-Type", form),
                ("Content-Type", form),
            ],
        ),
        (
            "Authorization twice",
            vec![
                ("Authorization", bearer.as_str()),
                ("Authorization", "Bearer other"),
            ],
        ),
        (
            "the exchange's key header twice",
            vec![
                ("X-MBX-APIKEY", tok.as_str()),
                ("X-MBX-APIKEY", tok.as_str()),
            ],
        ),
    ] {
        let t = tag("dup");
        // The key headers are refused where the client token is read, with its own message.
        let code = if what.contains("key header") {
            "bad_request"
        } else {
            "duplicate_header"
        };
        refused(what, &order_with(&headers, &t), &t, Expect::Json(400, code));
    }
}

#[test]
fn forwarding_headers() {
    for (name, value) in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-For", "10.1.2.3"),
        ("Forwarded", "for=127.0.0.1;proto=https"),
        ("X-Forwarded-Host", "api.binance.com"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Prefix", "/binance-main/sapi"),
        ("X-Real-IP", "127.0.0.1"),
        ("X-Client-IP", "127.0.0.1"),
        ("True-Client-IP", "127.0.0.1"),
    ] {
        let t = tag("fwd");
        refused(
            name,
            &get(
                &format!("/{MAIN}/api/v3/openOrders?x={t}"),
                &[(name, value)],
            ),
            &t,
            Expect::Json(400, "bad_request"),
        );
    }
}

#[test]
fn absolute_form_targets() {
    let p = port();
    for target in [
        format!("http://127.0.0.1:{p}/binance-main/api/v3/order"),
        format!("http://localhost:{p}/binance-main/api/v3/order"),
        "http://api.binance.com/api/v3/order".to_owned(),
        "https://api.binance.com/binance-main/api/v3/order".to_owned(),
        format!("HTTP://127.0.0.1:{p}/binance-main/api/v3/order"),
    ] {
        let t = tag("abs");
        refused(
            &target,
            &post(&target, &order(&t)),
            &t,
            Expect::Json(400, "bad_request"),
        );
    }
    // authority-form and asterisk-form
    let t = tag("abs");
    let req = format!(
        "CONNECT api.binance.com:443 HTTP/1.1\r\nHost: api.binance.com:443\r\nX-MBX-APIKEY: {}\r\nX-Tag: {t}\r\nConnection: close\r\n\r\n",
        env().token
    );
    let r = raw(p, req.as_bytes());
    assert!(
        (400..500).contains(&r.status),
        "CONNECT: {} {}",
        r.status,
        r.text()
    );
    env().assert_not_forwarded(&t);
    let t = tag("abs");
    let req = format!(
        "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-Tag: {t}\r\nConnection: close\r\n\r\n"
    );
    let r = raw(p, req.as_bytes());
    assert!(
        (400..500).contains(&r.status),
        "OPTIONS *: {} {}",
        r.status,
        r.text()
    );
    assert_only_controls_forwarded();
}

#[test]
fn foreign_or_missing_host() {
    let p = port();
    for host in [
        "api.binance.com".to_owned(),
        format!("evil.example:{p}"),
        format!("localhost.evil.example:{p}"),
        "127.0.0.1:1".to_owned(),
        "127.0.0.1".to_owned(),
        format!("127.0.0.2:{p}"),
        format!("127.0.0.1:{p}.evil.example"),
        format!("127.0.0.1:{p}@evil.example"),
    ] {
        let t = tag("host");
        let req = build(
            p,
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            &[("Host", &host), ("X-MBX-APIKEY", &env().token)],
            Some(&order(&t)),
        );
        refused(&host, &req, &t, Expect::Json(421, "bad_host"));
    }
    let t = tag("host");
    let req = format!(
        "GET /{MAIN}/api/v3/openOrders?x={t} HTTP/1.1\r\nX-MBX-APIKEY: {}\r\nConnection: close\r\n\r\n",
        env().token
    );
    refused(
        "no Host",
        req.as_bytes(),
        &t,
        Expect::Json(400, "bad_request"),
    );
    let t = tag("host");
    let req = format!(
        "GET /{MAIN}/api/v3/openOrders?x={t} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nHost: api.binance.com\r\nX-MBX-APIKEY: {}\r\nConnection: close\r\n\r\n",
        env().token
    );
    refused(
        "two Hosts",
        req.as_bytes(),
        &t,
        Expect::Json(400, "bad_request"),
    );
}

#[test]
fn http_1_0() {
    let t = tag("h10");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.0\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        p = port(),
        tok = env().token
    );
    // README documents 400 http_version for HTTP/1.0.
    refused(
        "HTTP/1.0",
        req.as_bytes(),
        &t,
        Expect::Json(400, "http_version"),
    );
    // HTTP/0.9-style and unknown versions never reach the pipeline.
    let t = tag("h09");
    let req = format!("GET /{MAIN}/api/v3/openOrders?x={t}\r\n\r\n");
    let r = raw_lenient(req.as_bytes());
    assert!(r.is_none_or(|s| (400..600).contains(&s)), "{r:?}");
    env().assert_not_forwarded(&t);
    let t = tag("h2");
    let req = format!(
        "GET /{MAIN}/api/v3/openOrders?x={t} HTTP/2.0\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        port()
    );
    let r = raw_lenient(req.as_bytes());
    assert!(r.is_none_or(|s| (400..600).contains(&s)), "{r:?}");
    env().assert_not_forwarded(&t);
    assert_only_controls_forwarded();
}

/// Sends raw bytes; the status if any response came back (the server may just close).
fn raw_lenient(request: &[u8]) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port())).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let _ = s.write_all(request);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

#[test]
fn content_length_and_transfer_encoding() {
    let p = port();
    let tok = &env().token;
    let t = tag("te");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len(),
        body.len()
    );
    refused(
        "CL + TE",
        req.as_bytes(),
        &t,
        Expect::Json(400, "bad_request"),
    );

    let t = tag("te");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    refused(
        "TE + CL (smuggling order)",
        req.as_bytes(),
        &t,
        Expect::Json(400, "bad_request"),
    );

    // keyward refuses chunked bodies altogether (hyper hides a Content-Length beside them).
    let t = tag("te");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    refused(
        "chunked",
        req.as_bytes(),
        &t,
        Expect::Json(400, "bad_request"),
    );

    let t = tag("te");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\nContent-Length: {m}\r\nConnection: close\r\n\r\n{body}",
        n = body.len(),
        m = body.len() - 5
    );
    refused(
        "two different Content-Lengths",
        req.as_bytes(),
        &t,
        Expect::Http(400),
    );

    let t = tag("te");
    let body = order(&t);
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let r = raw(p, req.as_bytes());
    assert!(
        (400..500).contains(&r.status),
        "TE gzip: {} {}",
        r.status,
        r.text()
    );
    env().assert_not_forwarded(&t);

    // A smuggled second request after the first one's body must not be executed either.
    let t = tag("te");
    let smuggled = format!(
        "POST /{MAIN}/sapi/v1/capital/withdraw/apply HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        withdrawal(&t).len(),
        withdrawal(&t)
    );
    let req = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
    );
    let _ = raw_lenient(req.as_bytes());
    env().assert_not_forwarded(&t);
    assert_only_controls_forwarded();
}

#[test]
fn oversized_body() {
    let t = tag("big");
    let mut body = order(&t);
    body.push_str("&pad=");
    body.push_str(&"A".repeat(70 * 1024));
    refused(
        "70 KiB body",
        &post(&format!("/{MAIN}/api/v3/order"), &body),
        &t,
        Expect::Json(413, "body_too_large"),
    );
    // The same without Content-Length (chunked, several chunks).
    let t = tag("big");
    let head = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-MBX-APIKEY: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        port(),
        env().token
    );
    let mut req = head.into_bytes();
    let first = format!("{}&pad=", order(&t));
    req.extend_from_slice(format!("{:x}\r\n{first}\r\n", first.len()).as_bytes());
    for _ in 0..9 {
        let chunk = "B".repeat(8192);
        req.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    // (keyward refuses Transfer-Encoding altogether.)
    refused(
        "70 KiB chunked body",
        &req,
        &t,
        Expect::Json(400, "bad_request"),
    );
}

#[test]
fn methods() {
    for method in [
        "post", "Post", "get", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND",
    ] {
        let t = tag("meth");
        let req = build(
            port(),
            method,
            &format!("/{MAIN}/api/v3/order"),
            &[("X-MBX-APIKEY", &env().token)],
            Some(&order(&t)),
        );
        let r = raw(port(), &req);
        assert_eq!(r.status, 405, "{method}: {}\n{}", r.head, r.text());
        // RFC 9110: a 405 names the allowed methods; PATCH is refused after routing, so it
        // gets Binance's own set.
        let allow = if method == "PATCH" {
            "allow: GET, POST, PUT, DELETE"
        } else {
            "allow: GET, POST, PUT, PATCH, DELETE"
        };
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains(&allow.to_ascii_lowercase()),
            "{method}: {}",
            r.head
        );
        if method != "HEAD" {
            r.assert_error_shape("method_not_allowed");
        }
        env().assert_not_forwarded(&t);
    }
    assert_only_controls_forwarded();
}

#[test]
fn bodies_keyward_does_not_parse() {
    let target = format!("/{MAIN}/api/v3/order");
    let tok = env().token.clone();
    let t = tag("json");
    let json = format!(
        r#"{{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"5","price":"30000","newClientOrderId":"{t}"}}"#
    );
    refused(
        "JSON body",
        &build(
            port(),
            "POST",
            &target,
            &[("X-MBX-APIKEY", &tok), ("Content-Type", "application/json")],
            Some(&json),
        ),
        &t,
        Expect::Json(415, "unsupported_media_type"),
    );
    for ct in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded-x",
        "application/xml",
    ] {
        let t = tag("ct");
        refused(
            ct,
            &build(
                port(),
                "POST",
                &target,
                &[("X-MBX-APIKEY", &tok), ("Content-Type", ct)],
                Some(&order(&t)),
            ),
            &t,
            Expect::Json(415, "unsupported_media_type"),
        );
    }
    // No Content-Type at all.
    let t = tag("ct");
    let body = order(&t);
    let req = format!(
        "POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-MBX-APIKEY: {tok}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        port(),
        body.len()
    );
    refused(
        "no Content-Type",
        req.as_bytes(),
        &t,
        Expect::Json(415, "unsupported_media_type"),
    );
    // A GET with a body (parameters the exchange might read but policy would not).
    let t = tag("ct");
    refused(
        "GET with a body",
        &build(
            port(),
            "GET",
            &format!("/{MAIN}/api/v3/openOrders"),
            &[("X-MBX-APIKEY", &tok)],
            Some(&format!("symbol=BTCUSDT&x={t}")),
        ),
        &t,
        Expect::Json(400, "bad_params"),
    );
    // Only an empty JSON object counts as no body: `[]`, a member, or `{}` sent as a form stay
    // a body, and a GET with a body is refused.
    for (ct, body) in [
        ("application/json", "[]".to_owned()),
        ("application/json", format!("{{\"x\":\"{}\"}}", tag("ct"))),
        ("application/x-www-form-urlencoded", "{}".to_owned()),
    ] {
        let t = tag("ct");
        refused(
            &format!("GET with a {ct} body {body}"),
            &build(
                port(),
                "GET",
                &format!("/{MAIN}/api/v3/openOrders?x={t}"),
                &[("X-MBX-APIKEY", &tok), ("Content-Type", ct)],
                Some(&body),
            ),
            &t,
            Expect::Json(400, "bad_params"),
        );
    }
}

#[test]
fn token_tricks() {
    let tok = env().token.clone();
    // Two different tokens: refused, whichever would win.
    let t = tag("tok");
    refused(
        "X-MBX-APIKEY and a different Bearer",
        &get(
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("Authorization", "Bearer kwt_someone-else")],
        ),
        &t,
        Expect::Json(400, "bad_request"),
    );
    let t = tag("tok");
    refused(
        "two X-MBX-APIKEY headers",
        &build(
            port(),
            "GET",
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("X-MBX-APIKEY", &tok), ("X-MBX-APIKEY", &env().token_alt)],
            None,
        ),
        &t,
        Expect::Json(400, "bad_request"),
    );
    let t = tag("tok");
    refused(
        "Basic authorization",
        &build(
            port(),
            "GET",
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("Authorization", "Basic Z3JpZDpib3Q=")],
            None,
        ),
        &t,
        Expect::Json(400, "bad_request"),
    );
    // The token's hash, a prefix, or the token with whitespace are not the token.
    for fake in [
        common::sha256_hex(&tok),
        tok[..tok.len() - 1].to_owned(),
        format!("{tok}x"),
        tok.to_uppercase(),
    ] {
        let t = tag("tok");
        refused(
            "not the token",
            &build(
                port(),
                "GET",
                &format!("/{MAIN}/api/v3/openOrders?x={t}"),
                &[("X-MBX-APIKEY", &fake)],
                None,
            ),
            &t,
            Expect::Json(401, "unknown_client"),
        );
    }
    // Upgrade (h2c, websocket) is refused.
    let t = tag("tok");
    refused(
        "Upgrade: h2c",
        &get(
            &format!("/{MAIN}/api/v3/openOrders?x={t}"),
            &[("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQAAP__")],
        ),
        &t,
        Expect::Json(400, "bad_request"),
    );
}

#[test]
fn raw_bytes_in_the_target() {
    let p = port();
    let tok = env().token.clone();
    for (what, target_tail) in [
        ("space", "/api/v3/openOrders?x=a b&"),
        ("tab", "/api/v3/open\tOrders?"),
        ("NUL", "/api/v3/openOrders\0?"),
        ("non-ASCII", "/api/v3/openÖrders?"),
        ("backslash in query", "/api/v3/openOrders?y=a\\b&"),
    ] {
        let t = tag("byte");
        let req = format!(
            "GET /{MAIN}{target_tail}x={t} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nConnection: close\r\n\r\n"
        );
        // hyper answers 400, or (non-ASCII target) just closes the connection.
        let r = raw_lenient(req.as_bytes());
        assert!(r.is_none_or(|s| (400..500).contains(&s)), "{what}: {r:?}");
        env().assert_not_forwarded(&t);
    }
    assert_only_controls_forwarded();
}

#[test]
fn malformed_headers() {
    let p = port();
    let tok = env().token.clone();
    for (what, headers) in [
        (
            "space before the colon",
            "X-HTTP-Method-Override : DELETE\r\n".to_owned(),
        ),
        (
            "obs-fold hiding an override",
            "X-Note: a\r\n X-HTTP-Method-Override: DELETE\r\n".to_owned(),
        ),
        ("NUL in a header value", "X-Note: a\0b\r\n".to_owned()),
        (
            "header without a colon",
            "X-HTTP-Method-Override DELETE\r\n".to_owned(),
        ),
        (
            "CR alone inside a value",
            "X-Note: a\rX-HTTP-Method-Override: DELETE\r\n".to_owned(),
        ),
        (
            "token with a CR LF injection",
            format!("X-MBX-APIKEY: {tok}\r\n\r\nGET /x HTTP/1.1\r\n"),
        ),
    ] {
        let t = tag("hdr");
        let req = format!(
            "GET /{MAIN}/api/v3/openOrders?x={t} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\n{headers}Connection: close\r\n\r\n"
        );
        let r = raw_lenient(req.as_bytes());
        assert!(r.is_none_or(|s| (400..500).contains(&s)), "{what}: {r:?}");
        env().assert_not_forwarded(&t);
    }
    assert_only_controls_forwarded();
}
