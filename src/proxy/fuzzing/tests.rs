//! The fuzz targets' seed corpus, replayed as unit tests: every seed keeps every property, and
//! the corpus reaches each stage (refusals, denials, signed requests) on every profile.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn every_allowlist_compiles_with_limits() {
    for e in exchange::registry() {
        let a = allowlist(*e);
        assert!(
            a.rules.iter().any(|r| r.is_constrained()),
            "{}: the fuzzed allowlist has no rule with limits",
            e.id()
        );
    }
}

#[test]
fn policy_seeds_keep_the_properties_and_reach_every_stage() {
    let mut signed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verdicts = Vec::new();
    for (name, data) in corpus("policy") {
        let verdict = policy(&data);
        let ex = Input::parse(&data).map(|i| i.exchange.id()).unwrap_or("?");
        if let Verdict::Signed(_) = verdict {
            *signed.entry(ex).or_default() += 1;
        }
        verdicts.push((name, ex, verdict));
    }
    for e in exchange::registry() {
        assert!(
            signed.get(e.id()).copied().unwrap_or(0) > 0,
            "{}: no seed is signed; verdicts: {verdicts:#?}",
            e.id()
        );
    }
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Denied("hard_deny"))));
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Denied("constraint"))));
    assert!(verdicts
        .iter()
        .any(|(_, _, v)| matches!(v, Verdict::Refused(_))));
}

#[test]
fn canonicaliser_seeds_keep_the_properties() {
    for (_, data) in corpus("canonicaliser") {
        canonicaliser(&data);
    }
}

#[test]
fn unparseable_inputs_are_skipped() {
    for data in [
        &b""[..],
        b"binance",
        b"binance\nGET\n",
        b"binance\nG\x00T / \n\n",
    ] {
        assert_eq!(policy(data), Verdict::Skipped);
        assert_eq!(canonicaliser(data), Verdict::Skipped);
    }
}

/// One order per exchange profile, with its size within the fuzzed allowlist's limit and over
/// it: exchange, method, path, content type, body (`{size}` marks the size), size within, size
/// over.
const ORDERS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    (
        "binance",
        "POST",
        "/api/v3/order",
        FORM,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={size}&price=30000",
        "0.01",
        "1",
    ),
    (
        "bybit",
        "POST",
        "/v5/order/create",
        JSON,
        r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"{size}","price":"30000"}"#,
        "0.01",
        "1",
    ),
    (
        "okx",
        "POST",
        "/api/v5/trade/order",
        JSON,
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"{size}","px":"30000"}"#,
        "0.01",
        "1",
    ),
    (
        "bitget",
        "POST",
        "/api/v2/spot/trade/place-order",
        JSON,
        r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"{size}"}"#,
        "0.01",
        "1",
    ),
    (
        "coinbase",
        "POST",
        "/api/v3/brokerage/orders",
        JSON,
        r#"{"client_order_id":"1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"{size}","limit_price":"30000"}}}"#,
        "0.01",
        "1",
    ),
    (
        "deribit",
        "POST",
        "/api/v2/private/buy",
        JSON,
        r#"{"jsonrpc":"2.0","id":1,"method":"private/buy","params":{"instrument_name":"BTC-PERPETUAL","amount":{size},"type":"limit","price":30000}}"#,
        "10",
        "10000",
    ),
    (
        "alpaca",
        "POST",
        "/trading/v2/orders",
        JSON,
        r#"{"symbol":"AAPL","qty":"{size}","side":"buy","type":"limit","time_in_force":"day","limit_price":"150"}"#,
        "1",
        "10",
    ),
    (
        "kucoin",
        "POST",
        "/api/v1/orders",
        JSON,
        r#"{"clientOid":"1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"30000","size":"{size}"}"#,
        "0.01",
        "1",
    ),
    (
        "kraken",
        "POST",
        "/0/private/AddOrder",
        FORM,
        "nonce=1&ordertype=limit&type=buy&volume={size}&pair=XBTUSD&price=30000",
        "0.01",
        "1",
    ),
    (
        "gate",
        "POST",
        "/api/v4/spot/orders",
        JSON,
        r#"{"currency_pair":"BTC_USDT","side":"buy","type":"limit","amount":"{size}","price":"30000"}"#,
        "0.01",
        "1",
    ),
    (
        "bitmex",
        "POST",
        "/api/v1/order",
        JSON,
        r#"{"symbol":"XBTUSD","side":"Buy","orderQty":{size},"price":30000,"ordType":"Limit"}"#,
        "100",
        "100000",
    ),
];
const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn input(exchange: &str, method: &str, path: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!("{exchange}\n{method} /{CREDENTIAL}{path}\nhost: {LISTEN}\ncontent-type: {content_type}\n\n{body}")
        .into_bytes()
}

/// The fuzzed allowlist reaches the order signers of every profile: an order within its limit
/// is signed under an order rule (not the `read` preset), and the same order over the limit is
/// denied by the constraint. A limit no order of an exchange can meet (a notional on orders
/// sized in contracts, as BitMEX's were) fails here.
#[test]
fn the_fuzzed_allowlist_signs_an_order_and_refuses_one_over_its_limit_on_every_profile() {
    for e in exchange::registry() {
        let orders: Vec<_> = ORDERS.iter().filter(|o| o.0 == e.id()).collect();
        assert!(!orders.is_empty(), "{}: no order in ORDERS", e.id());
        for (id, method, path, ct, body, within, over) in orders {
            let endpoint = e
                .profile()
                .orders
                .iter()
                .find(|o| o.method.as_str() == *method && o.path == *path);
            assert!(
                endpoint.is_some(),
                "{id}: {method} {path} is no order endpoint"
            );
            let sized = |size| input(id, method, path, ct, &body.replace("{size}", size));
            match policy(&sized(within)) {
                Verdict::Signed(rule) => assert!(
                    rule.starts_with("allow["),
                    "{id}: the order is signed under {rule}, not an order rule"
                ),
                v => panic!("{id}: an order within the limit is not signed: {v:?}"),
            }
            assert_eq!(
                policy(&sized(over)),
                Verdict::Denied("constraint"),
                "{id}: an order over the limit is not refused by the constraint"
            );
        }
    }
}
