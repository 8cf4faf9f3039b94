//! Binance's order endpoints and their field tables, written from Binance's own API
//! documentation: the spot REST API (`binance-spot-api-docs`, `rest-api.md`: "New order",
//! "Cancel an Existing Order and Send a New Order", "Order Amend Keep Priority", "New order
//! using SOR"), and the USDⓈ-M / COIN-M futures "New Order", "Modify Order" and "Place
//! Multiple Orders" pages (developers.binance.com, derivatives).
//!
//! What `quantity` counts: the base asset on spot and USDⓈ-M futures; on COIN-M futures
//! (`/dapi/v1/*`) "quantity measured by contract number", each contract worth the symbol's
//! `contractSize` in USD (exchangeInfo; 100 for BTCUSD, 10 for most others), which keyward does
//! not know offline: a bound on `quantity` applies to it as written, a `notional` bound
//! refuses the order ([`SizeUnit::Contracts`]).

use crate::fields;
use crate::order::{
    base_unit, endpoint, flat, Batch, Field, Layout, Meaning, Order, OrderEndpoint, OrderSpec,
    SizeUnit,
};
use crate::request::Method;

use Meaning::*;

/// Spot order types that execute at `price` or better / at the market.
const SPOT_LIMIT_TYPES: &[&str] = &[
    "LIMIT",
    "LIMIT_MAKER",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT_LIMIT",
];
const SPOT_MARKET_TYPES: &[&str] = &["MARKET", "STOP_LOSS", "TAKE_PROFIT"];

/// The runs of a spot "New order" that Cancel-Replace's new order repeats, in the order both
/// document them.
const SPOT_WHAT: &[Field] = &[("symbol", Instrument), ("side", Side), ("type", Type)];

const SPOT_SIZE_PRICE: &[Field] = &[
    ("timeInForce", Inert),
    ("quantity", BaseSize),
    ("quoteOrderQty", QuoteSize),
    ("price", Price),
];

const SPOT_TERMS: &[Field] = &[
    ("newClientOrderId", Inert),
    ("strategyId", Inert),
    ("strategyType", Inert),
    ("stopPrice", TriggerPrice),
    // A trailing stop's trigger moves with the market; the order it places is the order's own
    // type (a market or limit order of `quantity`), so the size and price bounds still apply.
    ("trailingDelta", Inert),
    // Shows part of `quantity` at a time; never more than `quantity`.
    ("icebergQty", Inert),
    ("newOrderRespType", Inert),
    ("selfTradePreventionMode", Inert),
];

const SPOT_PEG: &[Field] = &[
    // A pegged order's price follows the book, not `price`.
    ("pegPriceType", PriceOverride),
    ("pegOffsetValue", Inert),
    ("pegOffsetType", Inert),
    ("recvWindow", Inert),
];

/// `POST /api/v3/order` (and `/order/test`), spot "New order".
const SPOT_ORDER_FIELDS: &[Field] = fields![
    SPOT_WHAT,
    SPOT_SIZE_PRICE,
    SPOT_TERMS,
    SPOT_PEG,
    // `POST /api/v3/order/test` only: also compute commission rates.
    &[("computeCommissionRates", Inert)],
];

pub const SPOT_ORDER: OrderSpec = OrderSpec {
    fields: SPOT_ORDER_FIELDS,
    limit_types: SPOT_LIMIT_TYPES,
    market_types: SPOT_MARKET_TYPES,
    default_type: None,
    size_unit: base_unit,
    source: "binance-spot-api-docs rest-api.md, New order (TRADE)",
};

/// `POST /api/v3/order/cancelReplace`: a cancel plus a new order whose fields are those of "New
/// order".
const CANCEL_REPLACE_FIELDS: &[Field] = fields![
    SPOT_WHAT,
    &[("cancelReplaceMode", Inert)],
    SPOT_SIZE_PRICE,
    &[
        ("cancelNewClientOrderId", Inert),
        ("cancelOrigClientOrderId", Inert),
        ("cancelOrderId", Inert),
    ],
    SPOT_TERMS,
    &[
        ("cancelRestrictions", Inert),
        ("orderRateLimitExceededMode", Inert),
    ],
    SPOT_PEG,
];

pub const CANCEL_REPLACE: OrderSpec = OrderSpec {
    fields: CANCEL_REPLACE_FIELDS,
    source:
        "binance-spot-api-docs rest-api.md, Cancel an Existing Order and Send a New Order (TRADE)",
    ..SPOT_ORDER
};

/// `PUT /api/v3/order/amend/keepPriority`: lowers the quantity of a resting order (`newQty`
/// must be below the order's quantity). The order keeps its price and type, which the request
/// does not say: the size bound applies, a notional bound cannot be computed.
const AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("orderId", Inert),
    ("origClientOrderId", Inert),
    ("newClientOrderId", Inert),
    ("newQty", BaseSize),
    ("recvWindow", Inert),
];

pub const AMEND: OrderSpec = OrderSpec {
    fields: AMEND_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit: base_unit,
    source: "binance-spot-api-docs rest-api.md, Order Amend Keep Priority (TRADE)",
};

/// `POST /api/v3/sor/order` (and `/sor/order/test`): "New order using SOR" (LIMIT and MARKET).
const SOR_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("side", Side),
    ("type", Type),
    ("timeInForce", Inert),
    ("quantity", BaseSize),
    ("price", Price),
    ("newClientOrderId", Inert),
    ("strategyId", Inert),
    ("strategyType", Inert),
    ("icebergQty", Inert),
    ("newOrderRespType", Inert),
    ("selfTradePreventionMode", Inert),
    ("recvWindow", Inert),
    ("computeCommissionRates", Inert),
];

pub const SOR_ORDER: OrderSpec = OrderSpec {
    fields: SOR_FIELDS,
    source: "binance-spot-api-docs rest-api.md, New order using SOR (TRADE)",
    ..SPOT_ORDER
};

const FUTURES_LIMIT_TYPES: &[&str] = &["LIMIT", "STOP", "TAKE_PROFIT"];
const FUTURES_MARKET_TYPES: &[&str] = &[
    "MARKET",
    "STOP_MARKET",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
];

/// USDⓈ-M `POST /fapi/v1/order` and COIN-M `POST /dapi/v1/order` "New Order", also each item of
/// `batchOrders`. `quantity` is in contracts on COIN-M ([`COINM_ORDER`]), in the base asset on
/// USDⓈ-M.
const FUTURES_ORDER_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("side", Side),
    ("positionSide", Inert),
    ("type", Type),
    ("timeInForce", Inert),
    ("quantity", BaseSize),
    ("reduceOnly", ReduceOnly),
    ("price", Price),
    ("newClientOrderId", Inert),
    ("stopPrice", TriggerPrice),
    // Closes the whole position when triggered: a size keyward cannot know (`futures_unit`).
    ("closePosition", Inert),
    ("activationPrice", TriggerPrice),
    ("callbackRate", Inert),
    ("workingType", Inert),
    ("priceProtect", Inert),
    ("newOrderRespType", Inert),
    // Matches the book instead of `price`.
    ("priceMatch", PriceOverride),
    ("selfTradePreventionMode", Inert),
    ("goodTillDate", Inert),
    ("recvWindow", Inert),
];

pub const FUTURES_ORDER: OrderSpec = OrderSpec {
    fields: FUTURES_ORDER_FIELDS,
    limit_types: FUTURES_LIMIT_TYPES,
    market_types: FUTURES_MARKET_TYPES,
    default_type: None,
    size_unit: futures_unit,
    source: "developers.binance.com derivatives: USDⓈ-M New Order (TRADE), Place Multiple Orders (TRADE)",
};

/// COIN-M `POST /dapi/v1/order` and each item of `POST /dapi/v1/batchOrders`.
pub const COINM_ORDER: OrderSpec = OrderSpec {
    size_unit: coin_m_unit,
    source: "developers.binance.com derivatives: COIN-M New Order (TRADE) (\"quantity measured by contract number\"), Place Multiple Orders (TRADE)",
    ..FUTURES_ORDER
};

/// COIN-M contracts.
const CONTRACTS: SizeUnit = SizeUnit::Contracts(
    "Binance COIN-M sizes orders in contracts of the symbol's contractSize in USD (exchangeInfo), which keyward does not know offline",
);

/// `closePosition=true` "Close-All": the whole position when triggered, with no `quantity`
/// ("Cannot be sent with closePosition=true").
fn close_position(order: &Order) -> Result<Option<SizeUnit>, String> {
    match order.field("closePosition") {
        Some("true") if order.base_size.is_some() => Err(
            "'quantity' cannot be sent with closePosition=true, which closes the whole position; send one"
                .to_owned(),
        ),
        Some("true") => Ok(Some(SizeUnit::WholePosition(
            "closePosition=true closes the whole position when triggered, a size keyward cannot know",
        ))),
        _ => Ok(None),
    }
}

fn futures_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(close_position(order)?.unwrap_or(SizeUnit::Base))
}

fn coin_m_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(close_position(order)?.unwrap_or(CONTRACTS))
}

/// `PUT /fapi/v1/order` and `PUT /dapi/v1/order` "Modify Order" (LIMIT orders only), also each
/// item of `PUT batchOrders`.
const FUTURES_MODIFY_FIELDS: &[(&str, Meaning)] = &[
    ("orderId", Inert),
    ("origClientOrderId", Inert),
    ("symbol", Instrument),
    ("side", Side),
    ("quantity", BaseSize),
    ("price", Price),
    ("priceMatch", PriceOverride),
    ("recvWindow", Inert),
];

pub const FUTURES_MODIFY: OrderSpec = OrderSpec {
    fields: FUTURES_MODIFY_FIELDS,
    limit_types: &["LIMIT"],
    market_types: &[],
    // Only LIMIT orders can be modified.
    default_type: Some("LIMIT"),
    size_unit: base_unit,
    source: "developers.binance.com derivatives: USDⓈ-M Modify Order (TRADE), Modify Multiple Orders (TRADE)",
};

/// COIN-M `PUT /dapi/v1/order`: the new `quantity` is in contracts.
pub const COINM_MODIFY: OrderSpec = OrderSpec {
    size_unit: coin_m_unit,
    source: "developers.binance.com derivatives: COIN-M Modify Order (TRADE)",
    ..FUTURES_MODIFY
};

/// The futures batch endpoints' orders: the JSON array in `batchOrders`, beside a shared
/// `recvWindow`.
const BATCH_ORDERS: Layout = Layout::JsonArrayInParam(Batch {
    name: "batchOrders",
    shared: &["recvWindow"],
});

/// Every order-creating or amending endpoint of Binance's trade presets.
pub const ORDER_ENDPOINTS: &[OrderEndpoint] = &[
    flat(Method::Post, "/api/v3/order", &SPOT_ORDER),
    flat(Method::Post, "/api/v3/order/test", &SPOT_ORDER),
    flat(Method::Post, "/api/v3/order/cancelReplace", &CANCEL_REPLACE),
    flat(Method::Put, "/api/v3/order/amend/keepPriority", &AMEND),
    flat(Method::Post, "/api/v3/sor/order", &SOR_ORDER),
    flat(Method::Post, "/api/v3/sor/order/test", &SOR_ORDER),
    flat(Method::Post, "/fapi/v1/order", &FUTURES_ORDER),
    flat(Method::Post, "/fapi/v1/order/test", &FUTURES_ORDER),
    flat(Method::Put, "/fapi/v1/order", &FUTURES_MODIFY),
    endpoint(
        Method::Post,
        "/fapi/v1/batchOrders",
        BATCH_ORDERS,
        &FUTURES_ORDER,
    ),
    endpoint(
        Method::Put,
        "/fapi/v1/batchOrders",
        BATCH_ORDERS,
        &FUTURES_MODIFY,
    ),
    flat(Method::Post, "/dapi/v1/order", &COINM_ORDER),
    flat(Method::Put, "/dapi/v1/order", &COINM_MODIFY),
    endpoint(
        Method::Post,
        "/dapi/v1/batchOrders",
        BATCH_ORDERS,
        &COINM_ORDER,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::testing::Bot;

    const BOT: Bot = Bot::new(
        &super::super::PROFILE,
        Method::Post,
        Some("application/x-www-form-urlencoded"),
    );

    fn judge(
        method: Method,
        path: &str,
        body: &str,
        max: &[(&str, &str)],
    ) -> Result<Vec<Order>, String> {
        BOT.send(method, path, None, body, &[], max)
    }

    #[test]
    fn spot_sizes_however_expressed() {
        let max = [("quantity", "1"), ("notional", "50000")];
        let ok = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=30000";
        judge(Method::Post, "/api/v3/order", ok, &max).unwrap();
        let big = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=2&price=1";
        assert!(judge(Method::Post, "/api/v3/order", big, &max)
            .unwrap_err()
            .contains("quantity 2 exceeds"));
        // A market buy with a decoy price: notional cannot be bounded, refused.
        let market = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.9&price=0.01";
        let e = judge(Method::Post, "/api/v3/order", market, &max).unwrap_err();
        assert!(e.contains("notional") && e.contains("MARKET"), "{e}");
        // Quote-sized market order: notional is the quote amount.
        let quote = "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=60000";
        assert!(judge(
            Method::Post,
            "/api/v3/order",
            quote,
            &[("notional", "50000")]
        )
        .unwrap_err()
        .contains("notional 60000 exceeds"));
        // ... and its base size cannot be established for a quantity bound.
        let quote = "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10";
        assert!(
            judge(Method::Post, "/api/v3/order", quote, &[("quantity", "1")])
                .unwrap_err()
                .contains("base size cannot be established")
        );
        // A pegged limit order has no price keyward can bound.
        let peg = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=1&pegPriceType=MARKET_PEG";
        assert!(judge(Method::Post, "/api/v3/order", peg, &max)
            .unwrap_err()
            .contains("pegPriceType"));
    }

    #[test]
    fn unknown_and_respelled_fields_are_refused() {
        let max = [("quantity", "1")];
        for (body, says) in [
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.1&price=1&qty=50",
                "'qty' is not a field",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&Quantity=50&price=1",
                "is another spelling of 'quantity'",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.1&quote_order_qty=5",
                "another spelling of 'quoteOrderQty'",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1e3&price=1",
                "not a plain decimal",
            ),
        ] {
            let e = judge(Method::Post, "/api/v3/order", body, &max).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let max = [("quantity", "1"), ("notional", "100000")];
        let items = |q2: &str| {
            let json = format!(
                r#"[{{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.5","price":"30000"}},{{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"{q2}","price":"30000"}}]"#
            );
            let mut p = crate::request::Params::new();
            p.set("batchOrders", json);
            p.encode()
        };
        judge(Method::Post, "/fapi/v1/batchOrders", &items("0.7"), &max).unwrap();
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &items("5"), &max).unwrap_err();
        assert!(
            e.starts_with("batchOrders[1]: ") && e.contains("quantity 5"),
            "{e}"
        );
        // An escaped member name is decoded by the strict JSON parser, then refused as a twin
        // spelling or read as itself: never skipped.
        let escaped = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","q\u0075antity":"9","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &escaped, &max).unwrap_err();
        assert!(e.contains("quantity 9 exceeds"), "{e}");
        // Non-ASCII look-alikes are refused.
        let folded = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"ſymbol":"ETHUSDT","symbol":"BTCUSDT","side":"BUY","type":"LIMIT","quantity":"0.1","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &folded, &max).unwrap_err();
        assert!(e.contains("not ASCII"), "{e}");
    }

    #[test]
    fn coin_m_contracts_are_bounded_as_written_and_never_valued() {
        let max = [("quantity", "10")];
        let order =
            "symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=30000";
        judge(Method::Post, "/dapi/v1/order", order, &max).unwrap();
        let e = judge(
            Method::Post,
            "/dapi/v1/order",
            &order.replace("quantity=10", "quantity=11"),
            &max,
        )
        .unwrap_err();
        assert!(e.contains("quantity 11 exceeds"), "{e}");
        // 10 contracts of 100 USD are not 10 × 30000: no notional keyward can compute.
        for (method, path, body) in [
            (Method::Post, "/dapi/v1/order", order),
            (
                Method::Put,
                "/dapi/v1/order",
                "symbol=BTCUSD_PERP&orderId=1&side=BUY&quantity=1&price=1",
            ),
        ] {
            let e = judge(method, path, body, &[("notional", "1000000")]).unwrap_err();
            assert!(e.contains("contractSize"), "{path}: {e}");
        }
        let batch = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"symbol":"BTCUSD_PERP","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"1","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        judge(Method::Post, "/dapi/v1/batchOrders", &batch, &max).unwrap();
        let e = judge(
            Method::Post,
            "/dapi/v1/batchOrders",
            &batch,
            &[("notional", "1000000")],
        )
        .unwrap_err();
        assert!(
            e.starts_with("batchOrders[0]: ") && e.contains("contractSize"),
            "{e}"
        );
        // USDⓈ-M stays in the base asset, valued at its limit price.
        let e = judge(
            Method::Post,
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=60000",
            &[("notional", "50000")],
        )
        .unwrap_err();
        assert!(e.contains("notional 60000 exceeds"), "{e}");
    }

    #[test]
    fn close_position_has_no_size_and_market_orders_no_price() {
        for path in ["/fapi/v1/order", "/dapi/v1/order"] {
            let close =
                "symbol=BTCUSDT&side=SELL&type=STOP_MARKET&stopPrice=20000&closePosition=true";
            judge(Method::Post, path, close, &[("stopPrice", "30000")]).unwrap();
            let e = judge(Method::Post, path, close, &[("quantity", "1")]).unwrap_err();
            assert!(
                e.contains("closePosition=true closes the whole position"),
                "{e}"
            );
            let e = judge(Method::Post, path, &format!("{close}&quantity=1"), &[]).unwrap_err();
            assert!(e.contains("cannot be sent with closePosition=true"), "{e}");
            // A market order's decoy price is never compared with a price bound.
            let e = judge(
                Method::Post,
                path,
                "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=0.01",
                &[("price", "50000")],
            )
            .unwrap_err();
            assert!(
                e.contains("a market order has no price to bound")
                    && e.contains("whatever its 'price' says"),
                "{e}"
            );
        }
    }

    #[test]
    fn amends_are_bounded_by_their_own_size_fields() {
        // `max.quantity` bounds the amend's own size field: both are the base size.
        let cases = [
            (
                "/api/v3/order/amend/keepPriority",
                "symbol=BTCUSDT&orderId=1&newQty=3",
                "quantity",
                "quantity 3 exceeds",
            ),
            (
                "/api/v3/order/amend/keepPriority",
                "symbol=BTCUSDT&orderId=1&newQty=3",
                "newQty",
                "newQty 3 exceeds",
            ),
            (
                "/fapi/v1/order",
                "symbol=BTCUSDT&orderId=1&side=BUY&quantity=4&price=10",
                "quantity",
                "quantity 4 exceeds",
            ),
        ];
        for (path, body, field, error) in cases {
            let e = judge(Method::Put, path, body, &[(field, "1")]).unwrap_err();
            assert!(e.contains(error), "{e}");
        }
    }
}
