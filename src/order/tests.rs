//! The order model's extensions on a small made-up exchange: type-dependent fields, a type given
//! by a nested member's name, attached legs, refused fields, sizes in a second unit, inverse and
//! contract sizes, dotted decoys and instruments named in the path.

use super::testing::{judge, refused};
use super::*;
use crate::request::{CanonRules, Method};

use Meaning::*;

static PRICE: TypeCases = TypeCases {
    cases: &[(&["limit"], Price), (&["stop_limit"], TriggerPrice)],
    otherwise: Price,
    in_rules: Price,
};

static PRICE2: TypeCases = TypeCases {
    cases: &[(&["stop_limit"], Price), (&["limit", "market"], Inert)],
    otherwise: PriceOverride,
    in_rules: Price,
};

static TAKE_PROFIT: OrderSpec = OrderSpec {
    fields: &[("tp.price", Price)],
    limit_types: &["limit"],
    market_types: &[],
    default_type: Some("limit"),
    size_unit: base_unit,
    source: "test",
};

static TAKE_PROFIT_LEG: LegSpec = LegSpec {
    name: "tp",
    spec: &TAKE_PROFIT,
    order_type: None,
};

static STOP_LOSS: OrderSpec = OrderSpec {
    fields: &[("sl.trigger", TriggerPrice), ("sl.price", Price)],
    limit_types: &["stop_limit"],
    market_types: &["stop"],
    default_type: None,
    size_unit: base_unit,
    source: "test",
};

fn stop_type(order: &Order) -> Option<&'static str> {
    Some(if order.price.is_some() {
        "stop_limit"
    } else {
        "stop"
    })
}

static STOP_LOSS_LEG: LegSpec = LegSpec {
    name: "sl",
    spec: &STOP_LOSS,
    order_type: Some(stop_type),
};

fn unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(match order.field("unit") {
        Some("quote") => SizeUnit::Quote,
        Some("inverse") => SizeUnit::Inverse,
        Some("contracts") => SizeUnit::Contracts("test contracts have no known multiplier"),
        _ => SizeUnit::Base,
    })
}

static ORDER: OrderSpec = OrderSpec {
    fields: &[
        ("symbol", Instrument),
        ("side", Side),
        ("type", Type),
        ("qty", BaseSize),
        ("lots", OtherUnitSize),
        ("price", ByType(&PRICE)),
        ("price2", ByType(&PRICE2)),
        ("tp.price", Leg(&TAKE_PROFIT_LEG)),
        ("sl.trigger", Leg(&STOP_LOSS_LEG)),
        ("sl.price", Leg(&STOP_LOSS_LEG)),
        ("cfg.limit", TypeMember),
        ("cfg.limit.size", BaseSize),
        ("cfg.limit.px", Price),
        ("cfg.market", TypeMember),
        ("cfg.market.size", BaseSize),
        (
            "ladder",
            Refused("is a ladder of orders, which keyward does not model"),
        ),
        ("unit", Inert),
    ],
    limit_types: &["limit", "stop_limit"],
    market_types: &["market"],
    default_type: None,
    size_unit: unit,
    source: "test",
};

static CLOSE: OrderSpec = OrderSpec {
    fields: &[("symbol", Instrument), ("qty", BaseSize)],
    limit_types: &[],
    market_types: &["market"],
    default_type: Some("market"),
    size_unit: base_unit,
    source: "test",
};

static ENDPOINTS: &[OrderEndpoint] = &[
    OrderEndpoint {
        method: Method::Post,
        path: "/order",
        layout: Layout::Flat,
        spec: &ORDER,
    },
    OrderEndpoint {
        method: Method::Delete,
        path: "/position/{symbol}",
        layout: Layout::Flat,
        spec: &CLOSE,
    },
];

fn post(
    body: &str,
    params: &[(&str, &[&str])],
    max: &[(&str, &str)],
) -> Result<Vec<Order>, String> {
    judge(
        ENDPOINTS,
        &CanonRules::JSON,
        Method::Post,
        "/order",
        None,
        Some("application/json"),
        body,
        params,
        max,
    )
}

#[test]
fn a_fields_meaning_follows_the_order_type() {
    let max = [("notional", "500")];
    let orders = post(
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
    refused(post(stop, &[], &max), &["notional 2000 exceeds"]);
    refused(
        post(stop, &[], &[("price", "500")]),
        &["price 1000 exceeds"],
    );
    let orders = post(stop, &[], &[]).unwrap();
    assert_eq!(orders[0].trigger_price, Some(10.into()));
    // An unknown type takes the strict meaning: `price2` might be the limit price.
    refused(
        post(
            r#"{"symbol":"A","side":"buy","type":"other","qty":"2","price":"1","price2":"9"}"#,
            &[],
            &[("price", "500")],
        ),
        &["price is set by 'price2'"],
    );
    // A rule's `price` and `price2` both bound the limit price.
    assert_eq!(limits::meaning(ENDPOINTS, &ORDER, "price2"), Some(Price));
}

#[test]
fn a_nested_members_name_is_the_type() {
    let orders = post(
        r#"{"symbol":"A","side":"buy","cfg":{"limit":{"size":"2","px":"10"}}}"#,
        &[("type", &["limit"])],
        &[("notional", "20")],
    )
    .unwrap();
    assert_eq!(orders[0].order_type.as_deref(), Some("limit"));
    assert_eq!(orders[0].notional(), Some(20.into()));
    refused(
        post(
            r#"{"symbol":"A","side":"buy","cfg":{"market":{"size":"2"}}}"#,
            &[("type", &["limit"])],
            &[],
        ),
        &["type=market is not allowed"],
    );
    refused(
        post(
            r#"{"symbol":"A","side":"buy","cfg":{"limit":{"size":"1","px":"1"},"market":{"size":"9"}}}"#,
            &[],
            &[],
        ),
        &["both set the order's type"],
    );
    refused(
        post(r#"{"symbol":"A","cfg":{"limit":"x"}}"#, &[], &[]),
        &["'cfg.limit' must be an object"],
    );
    refused(
        post(
            r#"{"symbol":"A","cfg":{"Limit":{"size":"9","px":"1"}}}"#,
            &[],
            &[],
        ),
        &["'cfg.Limit' is another spelling of 'cfg.limit'"],
    );
    assert_eq!(limits::meaning(ENDPOINTS, &ORDER, "cfg.limit"), Some(Type));
    assert_eq!(
        limits::meaning(ENDPOINTS, &ORDER, "cfg.limit.px"),
        Some(Price)
    );
}

#[test]
fn legs_are_orders_of_their_own() {
    let body = r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","tp":{"price":"50"},"sl":{"trigger":"5"}}"#;
    let orders = post(body, &[], &[]).unwrap();
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
        post(body, &[], &[("notional", "150")]),
        &["sl: ", "notional", "stop executes at the market"],
    );
    refused(
        post(body, &[], &[("price", "40")]),
        &["tp: price 50 exceeds"],
    );
    refused(
        post(body, &[("side", &["buy"])], &[]),
        &["tp: side=sell is not allowed"],
    );
    // With a limit price the stop-loss is a stop-limit order, bounded by its own price.
    let body = r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","sl":{"trigger":"5","price":"4"}}"#;
    let orders = post(body, &[], &[("notional", "150")]).unwrap();
    assert_eq!(orders[1].order_type.as_deref(), Some("stop_limit"));
    assert_eq!(orders[1].notional(), Some(8.into()));
    assert_eq!(limits::meaning(ENDPOINTS, &ORDER, "tp.price"), Some(Price));
}

#[test]
fn refused_fields_and_dotted_decoys() {
    refused(
        post(r#"{"symbol":"A","ladder":"3"}"#, &[], &[]),
        &["'ladder': is a ladder of orders"],
    );
    assert_eq!(limits::meaning(ENDPOINTS, &ORDER, "ladder"), None);
    // A member literally named like a dotted table name is not the nested field.
    refused(
        post(
            r#"{"symbol":"A","side":"buy","type":"limit","qty":"1","price":"1","tp.price":"99"}"#,
            &[],
            &[],
        ),
        &["member name \"tp.price\" holds a '.'"],
    );
    refused(
        post(r#"{"symbol":"A","cfg":{"limit.px":"1"}}"#, &[], &[]),
        &["member name \"limit.px\" in 'cfg' holds a '.'"],
    );
}

#[test]
fn a_size_in_another_unit_is_bounded_only_as_itself() {
    let body = r#"{"symbol":"A","side":"buy","type":"limit","lots":"6","price":"1"}"#;
    refused(
        post(body, &[], &[("qty", "100")]),
        &["sized by 'lots'", "cannot convert"],
    );
    refused(
        post(body, &[], &[("notional", "100")]),
        &["sized by 'lots'"],
    );
    refused(post(body, &[], &[("lots", "5")]), &["lots 6 exceeds"]);
    post(body, &[], &[("lots", "6")]).unwrap();
    refused(
        post(
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
    post(inverse, &[], &[("qty", "100"), ("notional", "100")]).unwrap();
    refused(
        post(inverse, &[], &[("notional", "99")]),
        &["notional 100 exceeds"],
    );
    refused(post(inverse, &[], &[("qty", "99")]), &["qty 100 exceeds"]);
    // Contracts of an unknown multiplier: bounded as written, never valued.
    let contracts =
        r#"{"symbol":"A","side":"buy","type":"limit","qty":"2","price":"10","unit":"contracts"}"#;
    post(contracts, &[], &[("qty", "2")]).unwrap();
    refused(
        post(contracts, &[], &[("notional", "1000000")]),
        &["test contracts have no known multiplier"],
    );
    // A quote size, as before: converted at the limit price.
    let quote =
        r#"{"symbol":"A","side":"buy","type":"limit","qty":"100","unit":"quote","price":"10"}"#;
    refused(post(quote, &[], &[("qty", "9")]), &["qty 10 exceeds"]);
}

#[test]
fn an_instrument_in_the_path_is_read() {
    let close = |path: &str, symbols: &[&str]| {
        judge(
            ENDPOINTS,
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
            ENDPOINTS,
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
