//! BitMEX order endpoints and their field tables, written from BitMEX's own API documentation:
//! the REST API explorer's swagger definition (BitMEX/api-connectors `swagger.json`, API 1.2.0:
//! `Order.new` `POST /order`, `Order.amend` `PUT /order`, `Order.closePosition`
//! `POST /order/closePosition`) and docs.bitmex.com/api-explorer/new-order.
//!
//! What the tables encode:
//! * `orderQty` counts contracts of the instrument's multiplier ("in units of the instrument
//!   (i.e. contracts, for spot it is base currency in minor currency (e.g. XBt quantity for
//!   XBT))"). keyward does not know the multipliers offline, so a `max` on `orderQty` bounds the
//!   contracts as written and the order has no notional keyward can compute.
//! * `simpleOrderQty` / `simpleLeavesQty` ("Deprecated: simple orders are not supported after
//!   2018/10/26") size orders in another unit and are refused.
//! * A pegged order's limit price follows the book (`pegPriceType`; `ordType=Pegged`).
//! * `execInst` `Close` without `orderQty` closes the whole position: no size, so it is refused
//!   under a size bound, like `closePosition`.

use crate::order::{flat, Meaning, Order, OrderEndpoint, OrderSpec, SizeUnit, TypeCases};
use crate::request::Method;

use Meaning::*;

const LIMIT_TYPES: &[&str] = &["Limit", "StopLimit", "LimitIfTouched"];
const MARKET_TYPES: &[&str] = &["Market", "Stop", "MarketIfTouched"];

const SIMPLE: Meaning = Refused(
    "is deprecated (\"simple orders are not supported after 2018/10/26\") and sizes the order in another unit; send orderQty",
);

/// `price`: "Optional limit price for 'Limit', 'StopLimit', and 'LimitIfTouched' orders". A
/// `Pegged` order's limit price is set relative to the book instead.
static PRICE: TypeCases = TypeCases {
    cases: &[(&["Pegged"], PriceOverride)],
    otherwise: Price,
    in_rules: Price,
};

/// What `orderQty` counts: contracts whose value keyward cannot compute.
fn size_unit(_: &Order) -> Result<SizeUnit, String> {
    Ok(SizeUnit::Contracts(
        "BitMEX sizes orders in contracts of the instrument's multiplier (spot: the base currency's minor unit), which keyward does not know offline",
    ))
}

/// `POST /api/v1/order`.
const NEW_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    // One-way or hedge-mode position (`OneWay`, `Long`, `Short`): the docs.bitmex.com explorer
    // lists it; the 2024 swagger does not.
    ("strategy", Inert),
    // "Defaults to 'Buy' unless `orderQty` is negative": a negative quantity is not a plain
    // decimal and is refused.
    ("side", Side),
    ("simpleOrderQty", SIMPLE),
    ("orderQty", BaseSize),
    ("price", ByType(&PRICE)),
    // The quantity shown in the book (0 hides the order); never more than `orderQty`.
    ("displayQty", Inert),
    ("stopPx", TriggerPrice),
    ("clOrdID", Inert),
    // Linked (OCO/OTO) orders are each placed by a request of their own.
    ("clOrdLinkID", Inert),
    // The offset of a pegged price or a trailing stop from its reference; `pegPriceType` marks
    // the order's price as not its own.
    ("pegOffsetValue", Inert),
    // MarketPeg, PrimaryPeg, TrailingStopPeg (LastPeg, MidPricePeg in older explorer versions):
    // "A `pegPriceType` submitted with no `ordType` is treated as a `Pegged` order".
    ("pegPriceType", PriceOverride),
    // "Defaults to 'Limit' when `price` is specified. Defaults to 'Stop' when `stopPx` is
    // specified. Defaults to 'StopLimit' when `price` and `stopPx` are specified": a default
    // keyward does not guess, so an order without `ordType` has no type a bound can rely on.
    ("ordType", Type),
    ("timeInForce", Inert),
    // ParticipateDoNotInitiate, AllOrNone, MarkPrice, IndexPrice, LastPrice, Close, ReduceOnly,
    // Fixed, LastWithinMark (comma-separated). `Close` without `orderQty` closes the whole
    // position (no size: refused under a size bound).
    ("execInst", Inert),
    ("contingencyType", Inert),
    ("text", Inert),
];

pub static NEW_ORDER: OrderSpec = OrderSpec {
    fields: NEW_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit,
    source: "BitMEX/api-connectors swagger.json (API 1.2.0) Order.new POST /order; docs.bitmex.com/api-explorer/new-order",
};

/// `PUT /api/v1/order`: "Both order quantity and price can be amended. Only one `qty` field can
/// be used to amend." `leavesQty` sets what stays open (and "can be used to make a 'Filled'
/// order live again"): it is what the order may still execute, bounded like `orderQty`.
const AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("orderID", Inert),
    ("origClOrdID", Inert),
    ("clOrdID", Inert),
    ("simpleOrderQty", SIMPLE),
    ("orderQty", BaseSize),
    ("simpleLeavesQty", SIMPLE),
    ("leavesQty", BaseSize),
    ("price", Price),
    ("stopPx", TriggerPrice),
    // On a pegged order the offset moves its limit price: not a price keyward can bound.
    ("pegOffsetValue", PriceOverride),
    ("text", Inert),
];

pub static AMEND: OrderSpec = OrderSpec {
    fields: AMEND_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit,
    source: "BitMEX/api-connectors swagger.json (API 1.2.0) Order.amend PUT /order",
};

/// `POST /api/v1/order/closePosition` ("Deprecated, use POST /order with execInst: 'Close'"):
/// "If no `price` is specified, a market order will be submitted to close the whole of your
/// position." The size is the whole position.
const CLOSE_FIELDS: &[(&str, Meaning)] = &[("symbol", Instrument), ("price", Price)];

pub static CLOSE_POSITION: OrderSpec = OrderSpec {
    fields: CLOSE_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit,
    source: "BitMEX/api-connectors swagger.json (API 1.2.0) Order.closePosition POST /order/closePosition",
};

/// Every order-creating or amending endpoint of `bitmex:trade` (the bulk endpoints are gone
/// from BitMEX's API).
pub const ORDER_ENDPOINTS: &[OrderEndpoint] = &[
    flat(Method::Post, "/api/v1/order", &NEW_ORDER),
    flat(Method::Put, "/api/v1/order", &AMEND),
    flat(Method::Post, "/api/v1/order/closePosition", &CLOSE_POSITION),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::testing::{refused, Bot};

    fn send(
        method: Method,
        path: &str,
        body: &str,
        params: &[(&str, &[&str])],
        max: &[(&str, &str)],
    ) -> Result<Vec<Order>, String> {
        Bot::json(&super::super::PROFILE).send(method, path, None, body, params, max)
    }

    fn new(body: &str, max: &[(&str, &str)]) -> Result<Vec<Order>, String> {
        send(
            Method::Post,
            "/api/v1/order",
            body,
            &[("symbol", &["XBTUSD"])],
            max,
        )
    }

    const MAX: &[(&str, &str)] = &[("orderQty", "1000"), ("price", "70000")];

    #[test]
    fn orders_within_the_rule_pass() {
        // ccxt's createOrder shape.
        let orders = new(
            r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1000,"ordType":"Limit","price":60000.5,"displayQty":0,"execInst":"ParticipateDoNotInitiate","clOrdID":"x"}"#,
            MAX,
        )
        .unwrap();
        assert_eq!(orders[0].base_size, Some(1000.into()));
        new(
            r#"{"symbol":"XBTUSD","side":"Sell","orderQty":10,"ordType":"Stop","stopPx":50000,"execInst":"LastPrice,ReduceOnly"}"#,
            &[("orderQty", "1000"), ("stopPx", "60000")],
        )
        .unwrap();
        // A market order has no price a `max.price` could bound.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Sell","orderQty":10,"ordType":"Stop","stopPx":50000}"#,
                MAX,
            ),
            &["a market order has no price"],
        );
        send(
            Method::Put,
            "/api/v1/order",
            r#"{"orderID":"abc","orderQty":500,"price":61000}"#,
            &[],
            MAX,
        )
        .unwrap();
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1001,"ordType":"Limit","price":1}"#,
                MAX,
            ),
            &["orderQty 1001 exceeds"],
        );
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":70001}"#,
                MAX,
            ),
            &["price 70001 exceeds"],
        );
        refused(
            new(
                r#"{"symbol":"ETHUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1}"#,
                MAX,
            ),
            &["symbol=ETHUSD is not allowed"],
        );
        // Contracts of an unknown multiplier have no notional keyward can compute.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1}"#,
                &[("notional", "1000000")],
            ),
            &["notional", "contracts of the instrument's multiplier"],
        );
        // A pegged order's price follows the book, whatever `price` says.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Pegged","price":1,"pegPriceType":"PrimaryPeg","pegOffsetValue":-1,"execInst":"Fixed"}"#,
                MAX,
            ),
            &["price is set by"],
        );
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"price":1,"pegPriceType":"MarketPeg","pegOffsetValue":5}"#,
                MAX,
            ),
            &["price is set by 'pegPriceType'"],
        );
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Pegged","price":1}"#,
                MAX,
            ),
            &["price is set by 'price'"],
        );
        // The deprecated simple quantities are another unit.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Buy","simpleOrderQty":100,"ordType":"Market"}"#,
                MAX,
            ),
            &["'simpleOrderQty': is deprecated"],
        );
        // A negative quantity (a sell, by BitMEX's default side) is not a plain decimal.
        refused(
            new(
                r#"{"symbol":"XBTUSD","orderQty":-5000,"ordType":"Market"}"#,
                MAX,
            ),
            &["orderQty=-5000 is not a plain decimal"],
        );
        // A Close order without orderQty closes the whole position: no size.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Sell","ordType":"Stop","stopPx":50000,"execInst":"Close"}"#,
                MAX,
            ),
            &["limits orderQty", "cannot be established"],
        );
    }

    #[test]
    fn amends_and_position_closes_are_bounded() {
        let amend = |body: &str| send(Method::Put, "/api/v1/order", body, &[], MAX);
        let amend_price = |body: &str| {
            send(
                Method::Put,
                "/api/v1/order",
                body,
                &[],
                &[("price", "70000")],
            )
        };
        refused(
            amend(r#"{"orderID":"abc","orderQty":5000}"#),
            &["orderQty 5000 exceeds"],
        );
        // `max.orderQty` bounds what stays open, `leavesQty`: both are the size.
        refused(
            amend(r#"{"orderID":"abc","leavesQty":5000}"#),
            &["orderQty 5000 exceeds"],
        );
        refused(
            amend(r#"{"orderID":"abc","orderQty":1,"leavesQty":5000}"#),
            &["both set the order's base size"],
        );
        refused(
            amend_price(r#"{"orderID":"abc","price":90000}"#),
            &["price 90000 exceeds"],
        );
        refused(
            amend_price(r#"{"orderID":"abc","pegOffsetValue":100}"#),
            &["price is set by 'pegOffsetValue'"],
        );
        // A price-only amend leaves the size unknown: refused under a size bound.
        refused(
            amend(r#"{"orderID":"abc","price":60000}"#),
            &["limits orderQty", "cannot be established"],
        );
        refused(
            amend(r#"{"orderID":"abc","simpleLeavesQty":1}"#),
            &["'simpleLeavesQty': is deprecated"],
        );
        // closePosition closes the whole position, a size keyward cannot know.
        let close = |max: &[(&str, &str)]| {
            send(
                Method::Post,
                "/api/v1/order/closePosition",
                r#"{"symbol":"XBTUSD","price":60000}"#,
                &[("symbol", &["XBTUSD"])],
                max,
            )
        };
        close(&[("price", "70000")]).unwrap();
        refused(close(MAX), &["limits orderQty", "cannot be established"]);
    }

    #[test]
    fn other_spellings_are_refused() {
        for (body, says) in [
            (
                r#"{"symbol":"XBTUSD","side":"Buy","OrderQty":5000,"ordType":"Market"}"#,
                "'OrderQty' is another spelling of 'orderQty'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","order_qty":5000,"ordType":"Market"}"#,
                "'order_qty' is another spelling of 'orderQty'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordtype":"Market"}"#,
                "'ordtype' is another spelling of 'ordType'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"quantity":5000}"#,
                "'quantity' is not a field keyward knows",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"ordеrQty":5000}"#,
                "not ASCII",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"orderQty.value":5000}"#,
                "holds a '.'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":{"value":5000},"ordType":"Market"}"#,
                "'orderQty' must be a single value",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1e4,"ordType":"Market"}"#,
                "not a plain decimal",
            ),
        ] {
            refused(new(body, MAX), &[says]);
        }
    }
}
