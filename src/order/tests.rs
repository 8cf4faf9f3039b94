//! The order model's extensions on a small made-up exchange: type-dependent fields, a type given
//! by a nested member's name, attached legs, refused fields, sizes in a second unit, inverse and
//! contract sizes, dotted decoys and instruments named in the path; signed sizes, whole-position
//! closes, market orders' prices and price sentinels, flags in an exchange's own words, an
//! instrument by name and by code, and mirrored PATCH parameters.

use std::sync::LazyLock;

use super::testing::{judge, refused, Allowed, Judged, Maxima};
use super::*;
use crate::request::{CanonRules, Method};

use Meaning::*;

fn stop_type(order: &Order) -> Option<&'static str> {
    Some(if order.price.is_some() {
        "stop_limit"
    } else {
        "stop"
    })
}

fn unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(match order.field("unit") {
        Some("quote") => SizeUnit::Quote,
        Some("inverse") => SizeUnit::Inverse,
        Some("contracts") => SizeUnit::Contracts("test contracts have no known multiplier"),
        _ => SizeUnit::Base,
    })
}

/// A futures order whose signed `size` (or `amount`) gives its side, `0` with `close` closing
/// the whole position, and whose `price` 0 means the market.
fn futures_unit(order: &Order) -> Result<SizeUnit, String> {
    match (order.base_size, order.field("close")) {
        (Some(s), Some("true")) if s.is_zero() => Ok(SizeUnit::WholePosition(
            "size 0 with close=true closes the whole position",
        )),
        (Some(s), _) if s.is_zero() => Err("size 0 does nothing documented".to_owned()),
        _ => Ok(SizeUnit::Contracts("test futures have no known multiplier")),
    }
}

/// The made-up exchange's tables, read by the loader the exchanges' tables go through.
static ENDPOINTS: LazyLock<&'static [OrderEndpoint]> = LazyLock::new(|| {
    let rules = crate::rules![size_units: [unit, futures_unit], leg_types: [stop_type]];
    super::table::load(include_str!("tests.toml"), &rules)
        .unwrap()
        .orders
});

/// The spec of the endpoint at `path`.
fn spec(path: &str) -> &'static OrderSpec {
    ENDPOINTS.iter().find(|e| e.path == path).unwrap().spec
}

/// A JSON body POSTed to `path`, read and judged as the policy does.
fn send(path: &str, body: &str, params: Allowed, max: Maxima) -> Judged {
    let json = Some("application/json");
    let rules = &CanonRules::JSON;
    judge(
        *ENDPOINTS,
        rules,
        Method::Post,
        path,
        None,
        json,
        body,
        params,
        max,
    )
}

#[test]
fn a_fields_meaning_follows_the_order_type() {
    let max = [("notional", "500")];
    let orders = send(
        "/order",
        r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"100","price2":"decoy"}"#,
        &[],
        &max,
    )
    .unwrap();
    assert_eq!(orders[0].price, Some(100.into()));
    assert_eq!(orders[0].notional(), Some(200.into()));
    // On a stop-limit order `price` is the trigger and `price2` the limit price.
    let stop =
        r#"{"symbol":"A","side":"buy","type":"stop_limit","qty":"2","price":"10","price2":"1000"}"#;
    refused(send("/order", stop, &[], &max), &["notional 2000 exceeds"]);
    refused(
        send("/order", stop, &[], &[("price", "500")]),
        &["price 1000 exceeds"],
    );
    let orders = send("/order", stop, &[], &[]).unwrap();
    assert_eq!(orders[0].trigger_price, Some(10.into()));
    // An unknown type takes the strict meaning: `price2` might be the limit price.
    refused(
        send(
            "/order",
            r#"{"symbol":"A","side":"buy","type":"other","qty":"2","price":"1","price2":"9"}"#,
            &[],
            &[("price", "500")],
        ),
        &["price is set by 'price2'"],
    );
    // A rule's `price` and `price2` both bound the limit price.
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/order"), "price2"),
        Some(Price)
    );
}

#[test]
fn a_nested_members_name_is_the_type() {
    let orders = send(
        "/order",
        r#"{"symbol":"A","side":"buy","cfg":{"limit":{"size":"2","px":"10"}}}"#,
        &[("type", &["limit"])],
        &[("notional", "20")],
    )
    .unwrap();
    assert_eq!(orders[0].order_type.as_deref(), Some("limit"));
    assert_eq!(orders[0].notional(), Some(20.into()));
    refused(
        send(
            "/order",
            r#"{"symbol":"A","side":"buy","cfg":{"market":{"size":"2"}}}"#,
            &[("type", &["limit"])],
            &[],
        ),
        &["type=market is not allowed"],
    );
    refused(
        send(
            "/order",
            r#"{"symbol":"A","side":"buy","cfg":{"limit":{"size":"1","px":"1"},"market":{"size":"9"}}}"#,
            &[],
            &[],
        ),
        &["both set the order's type"],
    );
    refused(
        send("/order", r#"{"symbol":"A","cfg":{"limit":"x"}}"#, &[], &[]),
        &["'cfg.limit' must be an object"],
    );
    refused(
        send(
            "/order",
            r#"{"symbol":"A","cfg":{"Limit":{"size":"9","px":"1"}}}"#,
            &[],
            &[],
        ),
        &["'cfg.Limit' is another spelling of 'cfg.limit'"],
    );
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/order"), "cfg.limit"),
        Some(Type)
    );
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/order"), "cfg.limit.px"),
        Some(Price)
    );
}

#[test]
fn legs_are_orders_of_their_own() {
    let body = r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","tp":{"price":"50"},"sl":{"trigger":"5"}}"#;
    let orders = send("/order", body, &[], &[]).unwrap();
    assert_eq!(orders.len(), 3);
    let (tp, sl) = (&orders[1], &orders[2]);
    assert_eq!((tp.at.as_str(), sl.at.as_str()), ("tp: ", "sl: "));
    assert_eq!(tp.instrument.as_deref(), Some("A"));
    assert_eq!(tp.side.as_deref(), Some("sell"));
    assert_eq!(tp.base_size, Some(2.into()));
    assert_eq!(tp.notional(), Some(100.into()));
    assert_eq!(sl.order_type.as_deref(), Some("stop"));
    assert!(sl.is_market);
    // The stop-loss leg is a market order: no notional.
    refused(
        send("/order", body, &[], &[("notional", "150")]),
        &["sl: ", "notional", "stop executes at the market"],
    );
    refused(
        send("/order", body, &[], &[("price", "40")]),
        &["tp: price 50 exceeds"],
    );
    refused(
        send("/order", body, &[("side", &["buy"])], &[]),
        &["tp: side=sell is not allowed"],
    );
    // With a limit price the stop-loss is a stop-limit order, bounded by its own price.
    let body = r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","sl":{"trigger":"5","price":"4"}}"#;
    let orders = send("/order", body, &[], &[("notional", "150")]).unwrap();
    assert_eq!(orders[1].order_type.as_deref(), Some("stop_limit"));
    assert_eq!(orders[1].notional(), Some(8.into()));
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/order"), "tp.price"),
        Some(Price)
    );
}

#[test]
fn refused_fields_and_dotted_decoys() {
    refused(
        send("/order", r#"{"symbol":"A","ladder":"3"}"#, &[], &[]),
        &["'ladder': is a ladder of orders"],
    );
    assert_eq!(limits::meaning(&ENDPOINTS, spec("/order"), "ladder"), None);
    // A member literally named like a dotted table name is not the nested field.
    refused(
        send(
            "/order",
            r#"{"symbol":"A","side":"buy","type":"limit","qty":"1","price":"1","tp.price":"99"}"#,
            &[],
            &[],
        ),
        &["member name \"tp.price\" holds a '.'"],
    );
    refused(
        send(
            "/order",
            r#"{"symbol":"A","cfg":{"limit.px":"1"}}"#,
            &[],
            &[],
        ),
        &["member name \"limit.px\" in 'cfg' holds a '.'"],
    );
}

#[test]
fn a_size_in_another_unit_is_bounded_only_as_itself() {
    let body = r#"{"symbol":"A","side":"buy","type":"limit","lots":"6","price":"1"}"#;
    refused(
        send("/order", body, &[], &[("qty", "100")]),
        &["sized by 'lots'", "cannot convert"],
    );
    refused(
        send("/order", body, &[], &[("notional", "100")]),
        &["sized by 'lots'"],
    );
    refused(
        send("/order", body, &[], &[("lots", "5")]),
        &["lots 6 exceeds"],
    );
    send("/order", body, &[], &[("lots", "6")]).unwrap();
    refused(
        send(
            "/order",
            r#"{"symbol":"A","side":"buy","type":"limit","qty":"1","price":"1"}"#,
            &[],
            &[("lots", "5")],
        ),
        &["cannot convert to 'lots'"],
    );
}

#[test]
fn inverse_and_contract_sizes() {
    // An inverse size counts the quote currency: bounded as written, and it is the notional
    // (also of a market order).
    let inverse = r#"{"symbol":"A","side":"buy","type":"market","qty":"100","unit":"inverse","price":"0.01"}"#;
    send(
        "/order",
        inverse,
        &[],
        &[("qty", "100"), ("notional", "100")],
    )
    .unwrap();
    refused(
        send("/order", inverse, &[], &[("notional", "99")]),
        &["notional 100 exceeds"],
    );
    refused(
        send("/order", inverse, &[], &[("qty", "99")]),
        &["qty 100 exceeds"],
    );
    // Contracts of an unknown multiplier: bounded as written, never valued.
    let contracts =
        r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","unit":"contracts"}"#;
    send("/order", contracts, &[], &[("qty", "2")]).unwrap();
    refused(
        send("/order", contracts, &[], &[("notional", "1000000")]),
        &["test contracts have no known multiplier"],
    );
    // A quote size, as before: converted at the limit price.
    let quote =
        r#"{"symbol":"A","side":"buy","type":"limit","qty":"100","unit":"quote","price":"10"}"#;
    refused(
        send("/order", quote, &[], &[("qty", "9")]),
        &["qty 10 exceeds"],
    );
}

#[test]
fn an_instrument_in_the_path_is_read() {
    let close = |path: &str, symbols: &[&str]| {
        judge(
            *ENDPOINTS,
            &CanonRules::JSON,
            Method::Delete,
            path,
            Some("qty=1"),
            None,
            "",
            &[("symbol", symbols)],
            &[("qty", "1")],
        )
    };
    let orders = close("/position/ABC", &["ABC"]).unwrap();
    assert_eq!(orders[0].instrument.as_deref(), Some("ABC"));
    refused(
        close("/position/XYZ", &["ABC"]),
        &["symbol=XYZ is not allowed"],
    );
    // The path's instrument and a member naming it again are two instruments.
    refused(
        judge(
            *ENDPOINTS,
            &CanonRules::JSON,
            Method::Delete,
            "/position/ABC",
            Some("symbol=XYZ"),
            None,
            "",
            &[],
            &[],
        ),
        &["both set the order's instrument"],
    );
}

#[test]
fn a_signed_size_gives_the_side() {
    let orders = send(
        "/futures",
        r#"{"contract":"A","size":"-5","price":"10"}"#,
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(orders[0].base_size, Some(5.into()));
    assert_eq!(orders[0].side.as_deref(), Some("sell"));
    let orders = send(
        "/futures",
        r#"{"contract":"A","size":5,"price":"10"}"#,
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(orders[0].side.as_deref(), Some("buy"));
    // The absolute value is the size a bound sees, in either direction.
    refused(
        send(
            "/futures",
            r#"{"contract":"A","size":-50,"price":"10"}"#,
            &[],
            &[("size", "10")],
        ),
        &["size 50 exceeds"],
    );
    send(
        "/futures",
        r#"{"contract":"A","size":-10,"price":"10"}"#,
        &[],
        &[("size", "10")],
    )
    .unwrap();
    // `max.size` bounds the size however it is spelled.
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/futures"), "size"),
        Some(BaseSize)
    );
    refused(
        send(
            "/futures",
            r#"{"contract":"A","amount":"-50","price":"10"}"#,
            &[],
            &[("size", "10")],
        ),
        &["size 50 exceeds"],
    );
    // A side rule sees the sign's side.
    let buys: &[(&str, &[&str])] = &[("side", &["buy"])];
    send(
        "/futures",
        r#"{"contract":"A","size":"5","price":"10"}"#,
        buys,
        &[],
    )
    .unwrap();
    refused(
        send(
            "/futures",
            r#"{"contract":"A","size":"-5","price":"10"}"#,
            buys,
            &[],
        ),
        &["side=sell is not allowed"],
    );
    // A stated side must agree with the sign.
    send(
        "/futures",
        r#"{"contract":"A","side":"sell","size":"-5","price":"10"}"#,
        &[],
        &[],
    )
    .unwrap();
    refused(
        send(
            "/futures",
            r#"{"contract":"A","side":"buy","size":"-5","price":"10"}"#,
            buys,
            &[],
        ),
        &["the sign of 'size' makes the order a sell, but 'side' says buy"],
    );
    // Only a plain decimal with an optional '-'; two sizes are ambiguous.
    for (bad, says) in [
        (
            r#"{"contract":"A","size":"+5","price":"1"}"#,
            "size=+5 is not a plain decimal",
        ),
        (
            r#"{"contract":"A","size":"--5","price":"1"}"#,
            "size=--5 is not a plain decimal",
        ),
        (
            r#"{"contract":"A","size":"-5e1","price":"1"}"#,
            "not a plain decimal",
        ),
        (
            r#"{"contract":"A","size":"-1","amount":"-9","price":"1"}"#,
            "'amount' and 'size' both set the order's base size",
        ),
    ] {
        refused(send("/futures", bad, &[], &[]), &[says]);
    }
    // The price stays unsigned.
    refused(
        send(
            "/futures",
            r#"{"contract":"A","size":"1","price":"-1"}"#,
            &[],
            &[],
        ),
        &["price=-1 is not a plain decimal"],
    );
}

#[test]
fn a_whole_position_close_has_no_size() {
    let close = r#"{"contract":"A","size":"0","price":"0","tif":"ioc","close":true}"#;
    // Judged by a rule without a size or notional bound ...
    let orders = send("/futures", close, &[("contract", &["A"])], &[]).unwrap();
    assert_eq!(orders[0].base_size, None);
    assert_eq!(orders[0].side, None);
    refused(
        send("/futures", close, &[("contract", &["B"])], &[]),
        &["contract=A is not allowed"],
    );
    // ... refused by one: "-0" is no way around it.
    for body in [
        close,
        r#"{"contract":"A","size":"-0","price":"0","tif":"ioc","close":true}"#,
    ] {
        refused(
            send("/futures", body, &[], &[("size", "10")]),
            &["limits size", "closes the whole position"],
        );
        refused(
            send("/futures", body, &[], &[("notional", "10")]),
            &["limits notional", "closes the whole position"],
        );
    }
    refused(
        send(
            "/futures",
            r#"{"contract":"A","size":"0","price":"1"}"#,
            &[],
            &[],
        ),
        &["size 0 does nothing documented"],
    );
}

#[test]
fn a_market_order_has_no_price_to_bound() {
    // A decoy price on a market order (the exchange ignores it) is never compared.
    let market = r#"{"symbol":"A","side":"buy","type":"market","qty":"1","price":"0.01"}"#;
    send("/order", market, &[], &[("qty", "1")]).unwrap();
    refused(
        send("/order", market, &[], &[("price", "100")]),
        &[
            "limits price",
            "a market order has no price to bound",
            "market order, which executes at the market whatever its 'price' says",
        ],
    );
    // The notional is unchanged: a base-sized market order has none.
    refused(
        send("/order", market, &[], &[("notional", "100")]),
        &["market executes at the market"],
    );
    // A price field's market value makes a market order whatever the type says.
    let sentinel = r#"{"contract":"A","size":"5","price":"0","tif":"ioc"}"#;
    let orders = send("/futures", sentinel, &[], &[("size", "5")]).unwrap();
    assert!(orders[0].is_market && !orders[0].is_limit);
    assert_eq!(orders[0].price, None);
    for zero in ["0", "0.00"] {
        refused(
            send(
                "/futures",
                &sentinel.replace(r#""price":"0""#, &format!(r#""price":"{zero}""#)),
                &[],
                &[("price", "100")],
            ),
            &[&format!("price={zero} makes it one")],
        );
    }
    // Any other price is the limit price, bounded as written.
    send(
        "/futures",
        r#"{"contract":"A","size":"5","price":"90","tif":"ioc"}"#,
        &[],
        &[("price", "100")],
    )
    .unwrap();
    refused(
        send(
            "/futures",
            r#"{"contract":"A","size":"5","price":"190","tif":"ioc"}"#,
            &[],
            &[("price", "100")],
        ),
        &["price 190 exceeds"],
    );
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/futures"), "price"),
        Some(Price)
    );
}

#[test]
fn a_flag_in_the_exchanges_words() {
    let orders = send(
        "/futures",
        r#"{"contract":"A","size":"-5","price":"1","reduce":"YES"}"#,
        &[],
        &[],
    )
    .unwrap();
    assert!(orders[0].reduce_only);
    let orders = send(
        "/futures",
        r#"{"contract":"A","size":"-5","price":"1","reduce":"NO"}"#,
        &[],
        &[],
    )
    .unwrap();
    assert!(!orders[0].reduce_only);
    for other in ["yes", "true", ""] {
        refused(
            send(
                "/futures",
                &format!(r#"{{"contract":"A","size":"-5","price":"1","reduce":"{other}"}}"#),
                &[],
                &[],
            ),
            &["'reduce' must be one of \"YES\", \"NO\", not"],
        );
    }
    assert_eq!(
        limits::meaning(&ENDPOINTS, spec("/futures"), "reduce"),
        Some(ReduceOnly)
    );
}

#[test]
fn an_instrument_by_name_and_by_code_is_two_instruments() {
    for body in [
        r#"{"contract":"A","code":"7","size":"1","price":"1"}"#,
        r#"{"code":"7","contract":"A","size":"1","price":"1"}"#,
    ] {
        refused(
            send("/futures", body, &[], &[]),
            &["both set the order's instrument"],
        );
    }
    send(
        "/futures",
        r#"{"code":"7","size":"1","price":"1"}"#,
        &[],
        &[],
    )
    .unwrap();
}

#[test]
fn a_mirrored_patch_parameter_is_read_once() {
    let rules = CanonRules {
        patch_mirrors_query: true,
        ..CanonRules::JSON
    };
    let amend = |query: &str, body: &str, params: Allowed, max: Maxima| {
        judge(
            *ENDPOINTS,
            &rules,
            Method::Patch,
            "/amend/1",
            Some(query),
            Some("application/json"),
            body,
            params,
            max,
        )
    };
    let symbols: &[(&str, &[&str])] = &[("symbol", &["A"])];
    let orders = amend(
        "symbol=A&account=spot",
        r#"{"symbol":"A","account":"spot","qty":"0.5"}"#,
        symbols,
        &[("qty", "1")],
    )
    .unwrap();
    assert_eq!(orders[0].instrument.as_deref(), Some("A"));
    assert_eq!(
        orders[0]
            .fields
            .iter()
            .filter(|(k, _)| k == "symbol")
            .count(),
        1
    );
    // The size mirrored too: read once, and bounded.
    refused(
        amend(
            "symbol=A&qty=2",
            r#"{"symbol":"A","qty":"2"}"#,
            symbols,
            &[("qty", "1")],
        ),
        &["qty 2 exceeds"],
    );
    // A number in the body is the same text as in the query.
    amend("qty=1", r#"{"qty":1}"#, &[], &[("qty", "1")]).unwrap();
    // Only on a PATCH: elsewhere the canonicaliser refuses the pair, and a pair the reader sees
    // with different values is two instruments.
    let req = crate::request::CanonicalRequest {
        method: Method::Patch,
        path: "/amend/1".to_owned(),
        query: {
            let mut q = crate::request::Params::new();
            q.set("symbol", "A".to_owned());
            q
        },
        body: crate::request::Body::Json(crate::request::Json::parse(r#"{"symbol":"B"}"#).unwrap()),
    };
    let ep = super::testing::endpoint(*ENDPOINTS, Method::Patch, "/amend/1");
    let e = read(ep, &req).unwrap_err();
    assert!(e.contains("both set the order's instrument"), "{e}");
    let req = crate::request::CanonicalRequest {
        method: Method::Post,
        ..req
    };
    let e = read(
        ep,
        &crate::request::CanonicalRequest {
            body: crate::request::Body::Json(
                crate::request::Json::parse(r#"{"symbol":"A"}"#).unwrap(),
            ),
            ..req
        },
    )
    .unwrap_err();
    assert!(e.contains("both set the order's instrument"), "{e}");
}

/// A derived notional or base size that rust_decimal had to round (more than 28 places) is
/// never below the exact value, so a limit cannot be passed by rounding (found while writing
/// tests/decimal_property.rs: `checked_mul`/`checked_div` round to nearest).
#[test]
fn derived_sizes_never_round_in_the_orders_favour() {
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    let limit_order = |base: Option<&str>, quote: Option<&str>, price: &str| Order {
        is_limit: true,
        base_size: base.map(d),
        quote_size: quote.map(d),
        price: Some(d(price)),
        ..Order::default()
    };
    // exact: unchanged
    assert_eq!(
        limit_order(Some("0.5"), None, "2000").notional(),
        Some(d("1000.0"))
    );
    assert_eq!(
        limit_order(None, Some("1000"), "2000").base(),
        Some(d("0.5"))
    );
    // 1/3 rounds to 0.3333333333333333333333333333 (below 1/3): bumped above it
    let third = limit_order(None, Some("1"), "3").base().unwrap();
    assert!(third * d("3") > d("1"), "{third}");
    // a product of 33 places (1.000000000000000000999999999999001) stays above a limit of 1
    let n = limit_order(Some("1.000000000000001"), None, "0.999999999999999001")
        .notional()
        .unwrap();
    assert!(n > d("1"), "{n}");
}
