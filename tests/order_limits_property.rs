//! Property: whatever order request a bot builds, if keyward's order reader and limits let it
//! through, the order the exchange's own documented parser would execute is within the rule
//! (Binance spot, OKX and Bybit, each against a reference reader written from its docs).
//!
//! The reference reader below is written from Binance's "New order" documentation, not from
//! keyward's tables: Binance reads parameters by their exact names; `quantity` is the base size,
//! `quoteOrderQty` the quote amount; `price` bounds only LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT and
//! TAKE_PROFIT_LIMIT orders; a pegged order (`pegPriceType`) executes at the book, not `price`;
//! MARKET, STOP_LOSS and TAKE_PROFIT execute at the market.

use std::str::FromStr;

use keyward::order::{self, limits};
use keyward::request::{canonicalise, CanonRules, Method, Params};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Binance's order tables.
fn binance() -> &'static [keyward::order::OrderEndpoint] {
    keyward::exchange::binance::PROFILE.orders
}

const RULES: CanonRules = CanonRules {
    body_on_delete: true,
    bot_signing_params: &["signature", "timestamp"],
    ..CanonRules::FORM
};

const MAX_QTY: &str = "1";
const MAX_NOTIONAL: &str = "1000";

/// What Binance would execute, as far as size and value go: `None` = unbounded.
struct Reference {
    base: Option<Decimal>,
    notional: Option<Decimal>,
}

fn reference(params: &[(String, String)]) -> Option<Reference> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // Binance parses decimals leniently enough that keyward must never be more lenient; the
    // reference accepts any text `Decimal` parses (signs, exponents ...), so it is the stricter
    // judge of what keyward let through.
    let dec = |k: &str| {
        get(k).and_then(|v| {
            Decimal::from_str(v)
                .ok()
                .or_else(|| Decimal::from_scientific(v).ok())
        })
    };
    let kind = get("type")?;
    let limit = matches!(
        kind,
        "LIMIT" | "LIMIT_MAKER" | "STOP_LOSS_LIMIT" | "TAKE_PROFIT_LIMIT"
    ) && get("pegPriceType").is_none();
    let price = if limit { dec("price") } else { None };
    let quantity = dec("quantity");
    let quote = dec("quoteOrderQty");
    Some(Reference {
        base: match (quantity, quote, price) {
            (Some(q), _, _) => Some(q),
            (None, Some(qq), Some(p)) if !p.is_zero() => Some(qq / p),
            _ => None,
        },
        notional: match (quote, quantity, price) {
            (Some(qq), _, _) => Some(qq),
            (None, Some(q), Some(p)) => Some(q * p),
            _ => None,
        },
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "(0|[1-9][0-9]{0,4})(\\.[0-9]{1,6})?",
        Just("1e3".to_owned()),
        Just("-5".to_owned()),
        Just("0x10".to_owned()),
        Just("+2".to_owned()),
        Just("0.5 ".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("quantity"),
        Just("quoteOrderQty"),
        Just("price"),
        Just("stopPrice"),
        Just("icebergQty"),
        Just("pegPriceType"),
        Just("timeInForce"),
        Just("newClientOrderId"),
        // respellings and decoys a lenient parser might fold into a real field
        Just("Quantity"),
        Just("QUANTITY"),
        Just("quote_order_qty"),
        Just("qty"),
        Just("Price"),
        Just("amount"),
    ]
    .prop_map(str::to_owned)
}

fn request() -> impl Strategy<Value = Vec<(String, String)>> {
    let kind = prop_oneof![
        Just("LIMIT"),
        Just("MARKET"),
        Just("STOP_LOSS"),
        Just("STOP_LOSS_LIMIT"),
        Just("TAKE_PROFIT_LIMIT"),
        Just("LIMIT_MAKER"),
        Just("limit"),
        Just("OTHER"),
    ];
    (kind, prop::collection::vec((name(), value()), 0..5)).prop_map(|(kind, extra)| {
        let mut params = vec![
            ("symbol".to_owned(), "BTCUSDT".to_owned()),
            ("side".to_owned(), "BUY".to_owned()),
            ("type".to_owned(), kind.to_owned()),
        ];
        for (k, v) in extra {
            let v = if k == "pegPriceType" {
                "MARKET_PEG".to_owned()
            } else {
                v
            };
            if !params.iter().any(|(n, _)| n.eq_ignore_ascii_case(&k)) {
                params.push((k, v));
            }
        }
        params
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn what_keyward_lets_through_is_within_the_rule(
        params in request(),
        max_qty in "(0|[1-9][0-9]{0,2})(\\.[0-9]{1,3})?",
        max_notional in "[1-9][0-9]{0,5}",
    ) {
        let mut form = Params::new();
        for (k, v) in &params {
            form.set(k, v.clone());
        }
        let body = form.encode();
        let Ok(req) = canonicalise(
            Method::Post,
            "/api/v3/order",
            None,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
            &RULES,
        ) else {
            return Ok(()); // refused before policy: nothing reaches Binance
        };
        let endpoint = binance()
            .iter()
            .find(|e| e.method == Method::Post && e.path == "/api/v3/order")
            .unwrap();
        let (max_qty, max_notional) = (
            Decimal::from_str(&max_qty).unwrap(),
            Decimal::from_str(&max_notional).unwrap(),
        );
        let max = vec![
            ("quantity".to_owned(), max_qty),
            ("notional".to_owned(), max_notional),
        ];
        let vocabulary = |n: &str| limits::meaning(binance(), endpoint.spec, n);
        let allowed = order::read(endpoint, &req).is_ok_and(|orders| {
            orders
                .iter()
                .all(|o| limits::check(&vocabulary, o, &[], &max, "rule").is_ok())
        });
        if allowed {
            let r = reference(&params);
            prop_assert!(r.is_some(), "allowed an order Binance cannot type: {params:?}");
            let r = r.unwrap();
            let base = r.base;
            let notional = r.notional;
            prop_assert!(
                base.is_some_and(|b| b <= max_qty),
                "base size {base:?} over the limit or unbounded: {params:?}"
            );
            prop_assert!(
                notional.is_some_and(|n| n <= max_notional),
                "notional {notional:?} over the limit or unbounded: {params:?}"
            );
        }
    }
}

/// The property is not vacuous: legitimate orders are let through.
#[test]
fn a_legitimate_order_passes() {
    let endpoint = binance()
        .iter()
        .find(|e| e.method == Method::Post && e.path == "/api/v3/order")
        .unwrap();
    let req = canonicalise(
        Method::Post,
        "/api/v3/order",
        None,
        Some("application/x-www-form-urlencoded"),
        b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=1000",
        &RULES,
    )
    .unwrap();
    let orders = order::read(endpoint, &req).unwrap();
    let vocabulary = |n: &str| limits::meaning(binance(), endpoint.spec, n);
    let max = vec![
        ("quantity".to_owned(), Decimal::from_str(MAX_QTY).unwrap()),
        (
            "notional".to_owned(),
            Decimal::from_str(MAX_NOTIONAL).unwrap(),
        ),
    ];
    assert!(limits::check(&vocabulary, &orders[0], &[], &max, "rule").is_ok());
}

// ---- OKX: the unit of `sz` switches with the instrument and, on spot market orders, `tgtCcy` --

/// OKX's documented reading of `POST /api/v5/trade/order` (docs-v5, Place order): on a spot
/// pair (`BASE-QUOTE`) a market order's `sz` is in `tgtCcy`, by default the quote currency for
/// a buy and the base currency for a sell; limit, post_only, fok and ioc orders count the base
/// currency and execute at `px` or better; on a swap (`...-SWAP`) `sz` counts contracts of a
/// multiplier the request does not carry, so the order has no value one can compute offline.
fn okx_reference(body: &serde_json::Value) -> Option<Reference> {
    let get = |k: &str| body.get(k).and_then(|v| v.as_str());
    let dec = |k: &str| get(k).and_then(|v| Decimal::from_str(v).ok());
    let inst = get("instId")?;
    let kind = get("ordType")?;
    let side = get("side")?;
    let sz = dec("sz")?;
    let limit = matches!(kind, "limit" | "post_only" | "fok" | "ioc");
    let price = if limit { dec("px") } else { None };
    if inst.ends_with("-SWAP") {
        // contracts: the size as written, no value
        return Some(Reference {
            base: Some(sz),
            notional: None,
        });
    }
    let quote_sized = !limit
        && match get("tgtCcy") {
            Some("quote_ccy") => true,
            Some("base_ccy") => false,
            _ => side == "buy",
        };
    Some(if quote_sized {
        Reference {
            base: None,
            notional: Some(sz),
        }
    } else {
        Reference {
            base: Some(sz),
            notional: price.map(|p| p * sz),
        }
    })
}

fn okx_request() -> impl Strategy<Value = serde_json::Value> {
    (
        prop_oneof![Just("BTC-USDT"), Just("BTC-USDT-SWAP")],
        prop_oneof![Just("buy"), Just("sell")],
        prop_oneof![
            Just("limit"),
            Just("market"),
            Just("post_only"),
            Just("ioc"),
            Just("optimal_limit_ioc"),
            Just("twap")
        ],
        "(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?",
        prop::option::of("(0|[1-9][0-9]{0,5})(\\.[0-9]{1,2})?"),
        prop::option::of(prop_oneof![
            Just("base_ccy"),
            Just("quote_ccy"),
            Just("BASE_CCY"),
            Just("")
        ]),
        prop::option::of(prop_oneof![
            Just(("Sz", "900")),
            Just(("tgt_ccy", "base_ccy")),
            Just(("notional", "1")),
            Just(("clOrdId", "abc"))
        ]),
    )
        .prop_map(|(inst, side, kind, sz, px, tgt, extra)| {
            let mut o = serde_json::json!({
                "instId": inst, "tdMode": if inst.ends_with("SWAP") { "cross" } else { "cash" },
                "side": side, "ordType": kind, "sz": sz,
            });
            if let Some(px) = px {
                o["px"] = px.into();
            }
            if let Some(t) = tgt {
                o["tgtCcy"] = t.into();
            }
            if let Some((k, v)) = extra {
                o[k] = v.into();
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn okx_orders_keyward_lets_through_are_within_the_rule(
        body in okx_request(),
        max_sz in "[1-9][0-9]{0,2}",
        max_notional in prop::option::of("[1-9][0-9]{0,5}"),
    ) {
        let okx = keyward::exchange::okx::PROFILE.orders;
        let rules = CanonRules::JSON;
        let Ok(req) = canonicalise(
            Method::Post,
            "/api/v5/trade/order",
            None,
            Some("application/json"),
            body.to_string().as_bytes(),
            &rules,
        ) else {
            return Ok(());
        };
        let endpoint = okx
            .iter()
            .find(|e| e.method == Method::Post && e.path == "/api/v5/trade/order")
            .unwrap();
        let max_sz = Decimal::from_str(&max_sz).unwrap();
        let max_notional = max_notional.map(|n| Decimal::from_str(&n).unwrap());
        let mut max = vec![("sz".to_owned(), max_sz)];
        max.extend(max_notional.map(|n| ("notional".to_owned(), n)));
        let vocabulary = |n: &str| limits::meaning(okx, endpoint.spec, n);
        let allowed = order::read(endpoint, &req).is_ok_and(|orders| {
            orders
                .iter()
                .all(|o| limits::check(&vocabulary, o, &[], &max, "rule").is_ok())
        });
        if allowed {
            let r = okx_reference(&body);
            prop_assert!(r.is_some(), "allowed an order OKX cannot read: {body}");
            let r = r.unwrap();
            prop_assert!(
                r.base.is_some_and(|b| b <= max_sz),
                "size {:?} over {max_sz} or unbounded: {body}", r.base
            );
            if let Some(n) = max_notional {
                prop_assert!(
                    r.notional.is_some_and(|v| v <= n),
                    "notional {:?} over {n} or unbounded: {body}", r.notional
                );
            }
        }
    }
}

// ---- Bybit: one endpoint for every market; `category`, type, side and `marketUnit` decide `qty` --

/// Bybit's documented reading of `POST /v5/order/create` (bybit-exchange/docs
/// `docs/v5/order/create-order.mdx`): `qty` is the base coin on `linear` orders and 1-USD
/// contracts on `inverse` ones (bounded as written; its value is `qty` USD); on `spot` a Limit
/// order counts the base coin and a Market order counts what `marketUnit` says (`baseCoin` /
/// `quoteCoin`), by default the quote coin for a Buy and the base coin for a Sell. A Limit order
/// executes at `price` or better unless `orderIv` or `bboSideType` sets its price; a Market order
/// ignores `price`. `qty` 0 closes "up to the maximum": no size.
fn bybit_reference(body: &serde_json::Value) -> Option<Reference> {
    let get = |k: &str| body.get(k).and_then(|v| v.as_str());
    let dec = |k: &str| get(k).and_then(|v| Decimal::from_str(v).ok());
    let qty = dec("qty")?;
    if qty.is_zero() {
        return Some(Reference {
            base: None,
            notional: None,
        });
    }
    let limit = get("orderType")? == "Limit";
    let priced = limit && get("orderIv").is_none() && get("bboSideType").is_none();
    let price = if priced { dec("price") } else { None };
    match get("category")? {
        "linear" => Some(Reference {
            base: Some(qty),
            notional: price.map(|p| p * qty),
        }),
        "inverse" => Some(Reference {
            base: Some(qty),
            notional: Some(qty),
        }),
        "spot" => {
            let quote_sized = !limit
                && match get("marketUnit") {
                    Some("quoteCoin") => true,
                    Some("baseCoin") => false,
                    Some(_) => return None,
                    None => get("side")? == "Buy",
                };
            Some(if quote_sized {
                Reference {
                    base: None,
                    notional: Some(qty),
                }
            } else {
                Reference {
                    base: Some(qty),
                    notional: price.map(|p| p * qty),
                }
            })
        }
        _ => None,
    }
}

fn bybit_request() -> impl Strategy<Value = serde_json::Value> {
    (
        prop_oneof![Just("linear"), Just("inverse"), Just("spot"), Just("Spot")],
        prop_oneof![Just("Buy"), Just("Sell"), Just("buy")],
        prop_oneof![Just("Limit"), Just("Market"), Just("limit")],
        "(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?",
        prop::option::of("(0|[1-9][0-9]{0,5})(\\.[0-9]{1,2})?"),
        prop::option::of(prop_oneof![
            Just("baseCoin"),
            Just("quoteCoin"),
            Just("QuoteCoin"),
        ]),
        prop::option::of(prop_oneof![
            Just(("Qty", "900")),
            Just(("quantity", "900")),
            Just(("order_qty", "900")),
            Just(("orderIv", "0.5")),
            Just(("bboSideType", "Queue")),
            Just(("market_unit", "baseCoin")),
            Just(("reduceOnly", "true")),
            Just(("orderLinkId", "abc")),
        ]),
    )
        .prop_map(|(category, side, kind, qty, price, unit, extra)| {
            let mut o = serde_json::json!({
                "category": category, "symbol": "BTCUSDT", "side": side, "orderType": kind, "qty": qty,
            });
            if let Some(p) = price {
                o["price"] = p.into();
            }
            if let Some(u) = unit {
                o["marketUnit"] = u.into();
            }
            if let Some((k, v)) = extra {
                o[k] = if v == "true" { true.into() } else { v.into() };
            }
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn bybit_orders_keyward_lets_through_are_within_the_rule(
        body in bybit_request(),
        max_qty in prop::option::of("[1-9][0-9]{0,2}"),
        max_notional in prop::option::of("[1-9][0-9]{0,5}"),
    ) {
        let bybit = keyward::exchange::bybit::PROFILE.orders;
        let Ok(req) = canonicalise(
            Method::Post,
            "/v5/order/create",
            None,
            Some("application/json"),
            body.to_string().as_bytes(),
            &CanonRules::JSON,
        ) else {
            return Ok(());
        };
        let endpoint = bybit
            .iter()
            .find(|e| e.method == Method::Post && e.path == "/v5/order/create")
            .unwrap();
        let max_qty = max_qty.map(|n| Decimal::from_str(&n).unwrap());
        let max_notional = max_notional.map(|n| Decimal::from_str(&n).unwrap());
        let mut max: Vec<(String, Decimal)> = max_qty.map(|q| ("qty".to_owned(), q)).into_iter().collect();
        max.extend(max_notional.map(|n| ("notional".to_owned(), n)));
        prop_assume!(!max.is_empty());
        let vocabulary = |n: &str| limits::meaning(bybit, endpoint.spec, n);
        let allowed = order::read(endpoint, &req).is_ok_and(|orders| {
            orders
                .iter()
                .all(|o| limits::check(&vocabulary, o, &[], &max, "rule").is_ok())
        });
        if allowed {
            let r = bybit_reference(&body);
            prop_assert!(r.is_some(), "allowed an order Bybit cannot read: {body}");
            let r = r.unwrap();
            if let Some(q) = max_qty {
                prop_assert!(
                    r.base.is_some_and(|b| b <= q),
                    "qty {:?} over {q} or unbounded: {body}", r.base
                );
            }
            if let Some(n) = max_notional {
                prop_assert!(
                    r.notional.is_some_and(|v| v <= n),
                    "notional {:?} over {n} or unbounded: {body}", r.notional
                );
            }
        }
    }
}

/// The Bybit property is not vacuous: a legitimate order in each unit passes.
#[test]
fn legitimate_bybit_orders_pass() {
    let bybit = keyward::exchange::bybit::PROFILE.orders;
    let endpoint = &bybit[0];
    let vocabulary = |n: &str| limits::meaning(bybit, endpoint.spec, n);
    for (body, max) in [
        (
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"1000"}"#,
            vec![("qty", "1"), ("notional", "1000")],
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"900"}"#,
            vec![("notional", "1000")],
        ),
        (
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Sell","orderType":"Market","qty":"900"}"#,
            vec![("qty", "1000"), ("notional", "1000")],
        ),
    ] {
        let req = canonicalise(
            Method::Post,
            "/v5/order/create",
            None,
            Some("application/json"),
            body.as_bytes(),
            &CanonRules::JSON,
        )
        .unwrap();
        let orders = order::read(endpoint, &req).unwrap();
        let max: Vec<(String, Decimal)> = max
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Decimal::from_str(v).unwrap()))
            .collect();
        assert!(
            limits::check(&vocabulary, &orders[0], &[], &max, "rule").is_ok(),
            "{body}"
        );
    }
}
