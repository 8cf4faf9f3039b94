//! KuCoin's order endpoints and their field tables, written from KuCoin's own API
//! specification (`Kucoin/kucoin-universal-sdk`, `spec/rest/api/openapi-spot-order.json`:
//! Add Order, Add Order Sync, Add Order Test, Batch Add Orders, Modify Order, Add Stop Order,
//! Add Order - Old, Add Order Test - Old; `openapi-futures-order.json`: Add Order, Add Order
//! Test, Batch Add Orders, Add Take Profit And Stop Loss Order; the spec behind
//! kucoin.com/docs-new).
//!
//! Spot: `size` is the base currency; `funds` is the quote currency ("the funds for the
//! priced asset"), for market orders. Futures: `size` counts **lots** ("Order size (lot), must
//! be a positive integer"), contracts of the contract's `multiplier` (coins per lot on the
//! USDⓈ-swaps, USD per lot on the coin-swaps), which keyward does not know offline: a bound on
//! `size` applies to it as written, a `notional` bound refuses the order
//! ([`SizeUnit::Contracts`]). The alternatives `qty` (base currency, a multiple of the
//! multiplier) and `valueQty` (the order's value in USDT/USDC) are not read: without the
//! multiplier keyward cannot put one bound on lots, coins and value, so an order sized by them
//! is refused as an unknown field. `closeOrder=true` closes the whole position
//! ([`SizeUnit::WholePosition`]).
//!
//! Futures paths are keyward's (`/futures/api/...`, routed to `api-futures.kucoin.com`).

use crate::fields;
use crate::order::{
    base_unit, endpoint, post, Batch, Field, Layout, Meaning, Order, OrderEndpoint, OrderSpec,
    SizeUnit,
};
use crate::request::Method;

use Meaning::*;

const LIMIT_TYPES: &[&str] = &["limit"];
const MARKET_TYPES: &[&str] = &["market"];

/// The fields every spot order endpoint documents (single, batch and stop orders alike).
const SPOT_FIELDS: &[Field] = &[
    ("clientOid", Inert),
    ("side", Side),
    ("symbol", Instrument),
    ("type", Type),
    ("remark", Inert),
    ("stp", Inert),
    ("price", Price),
    ("size", BaseSize),
    ("timeInForce", Inert),
    ("postOnly", Inert),
    ("hidden", Inert),
    // Shows `visibleSize` of `size` at a time; never more than `size`.
    ("iceberg", Inert),
    ("visibleSize", Inert),
];

/// Spot order fields beside [`SPOT_FIELDS`] on every spot order endpoint.
const CANCEL_AFTER_AND_FUNDS: &[Field] = &[("cancelAfter", Inert), ("funds", QuoteSize)];

/// `TRADE`, or `MARGIN_TRADE`/`MARGIN_ISOLATED_TRADE` (borrowing): changes neither size nor
/// price; a rule can pin it.
const TRADE_TYPE: &[Field] = &[("tradeType", Inert)];

/// `POST /api/v1/hf/orders` (and `/sync`, `/test`): high-frequency spot orders.
const HF_ORDER_FIELDS: &[Field] = fields![
    SPOT_FIELDS,
    &[("tags", Inert)],
    CANCEL_AFTER_AND_FUNDS,
    &[("allowMaxTimeWindow", Inert), ("clientTimestamp", Inert)],
];

pub const HF_ORDER: OrderSpec = OrderSpec {
    fields: HF_ORDER_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: base_unit,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-spot-order.json: Add Order (POST /api/v1/hf/orders), Add Order Sync, Add Order Test",
};

/// Each item of `POST /api/v1/hf/orders/multi` ("The order types must be limit orders of the
/// same trading pair"; up to 5): the fields of a single high-frequency order, in the order the
/// batch documents them.
const HF_BATCH_FIELDS: &[Field] = &[
    ("clientOid", Inert),
    ("symbol", Instrument),
    ("type", Type),
    ("timeInForce", Inert),
    ("side", Side),
    ("price", Price),
    ("size", BaseSize),
    ("stp", Inert),
    ("cancelAfter", Inert),
    ("postOnly", Inert),
    ("hidden", Inert),
    ("iceberg", Inert),
    ("visibleSize", Inert),
    ("tags", Inert),
    ("remark", Inert),
    ("funds", QuoteSize),
    ("clientTimestamp", Inert),
    ("allowMaxTimeWindow", Inert),
];

pub const HF_BATCH: OrderSpec = OrderSpec {
    fields: HF_BATCH_FIELDS,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-spot-order.json: Batch Add Orders (POST /api/v1/hf/orders/multi)",
    ..HF_ORDER
};

/// `POST /api/v1/hf/orders/alter`: "Cancel the order and place a new order on the same
/// trading pair" with the new price and size; only a resting (limit) order can be modified.
const HF_ALTER_FIELDS: &[(&str, Meaning)] = &[
    ("clientOid", Inert),
    ("symbol", Instrument),
    ("orderId", Inert),
    ("newPrice", Price),
    ("newSize", BaseSize),
];

pub const HF_ALTER: OrderSpec = OrderSpec {
    fields: HF_ALTER_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: &[],
    default_type: Some("limit"),
    size_unit: base_unit,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-spot-order.json: Modify Order (POST /api/v1/hf/orders/alter)",
};

/// `POST /api/v1/stop-order`: a spot order placed when `stopPrice` is reached.
const STOP_ORDER_FIELDS: &[Field] = fields![
    SPOT_FIELDS,
    CANCEL_AFTER_AND_FUNDS,
    &[("stopPrice", TriggerPrice)],
    TRADE_TYPE,
];

pub const STOP_ORDER: OrderSpec = OrderSpec {
    fields: STOP_ORDER_FIELDS,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-spot-order.json: Add Stop Order (POST /api/v1/stop-order)",
    ..HF_ORDER
};

/// `POST /api/v1/orders` (and `/test`), the classic spot order; `type` defaults to `limit`.
const CLASSIC_ORDER_FIELDS: &[Field] = fields![SPOT_FIELDS, CANCEL_AFTER_AND_FUNDS, TRADE_TYPE];

pub const CLASSIC_ORDER: OrderSpec = OrderSpec {
    fields: CLASSIC_ORDER_FIELDS,
    default_type: Some("limit"),
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-spot-order.json: Add Order - Old (POST /api/v1/orders), Add Order Test - Old",
    ..HF_ORDER
};

/// The fields futures orders start with, with and without take-profit and stop-loss.
const FUTURES_HEAD: &[Field] = &[
    ("clientOid", Inert),
    ("side", Side),
    ("symbol", Instrument),
    ("leverage", Leverage),
    ("type", Type),
    ("remark", Inert),
];

/// The fields futures orders end with, with and without take-profit and stop-loss.
const FUTURES_TAIL: &[Field] = &[
    ("reduceOnly", ReduceOnly),
    // Closes the whole position whatever `size` says: see `futures_unit`.
    ("closeOrder", Inert),
    ("forceHold", Inert),
    ("stp", Inert),
    ("marginMode", Inert),
    ("price", Price),
    // Lots. (`qty` in coins and `valueQty` in value are left out: see the module comment.)
    ("size", BaseSize),
    ("timeInForce", Inert),
    ("postOnly", Inert),
    ("hidden", Inert),
    ("iceberg", Inert),
    ("visibleSize", Inert),
];

/// Futures `POST /api/v1/orders` (and `/test`), each item of `/api/v1/orders/multi`.
const FUTURES_ORDER_FIELDS: &[Field] = fields![
    FUTURES_HEAD,
    // A stop order: `stop` (`down`/`up`) at `stopPrice` of type `stopPriceType`.
    &[
        ("stop", Inert),
        ("stopPriceType", Inert),
        ("stopPrice", TriggerPrice),
    ],
    FUTURES_TAIL,
];

pub const FUTURES_ORDER: OrderSpec = OrderSpec {
    fields: FUTURES_ORDER_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: Some("limit"),
    size_unit: futures_unit,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-futures-order.json: Add Order (POST /api/v1/orders), Add Order Test, Batch Add Orders (POST /api/v1/orders/multi)",
};

/// Futures `POST /api/v1/st-orders`: an order with a take-profit and a stop-loss trigger
/// ("other functions are exactly the same as the place order interface").
const FUTURES_TPSL_FIELDS: &[Field] = fields![
    FUTURES_HEAD,
    &[("stopPriceType", Inert)],
    FUTURES_TAIL,
    // The two triggers of the order (either fires it).
    &[
        ("triggerStopUpPrice", Inert),
        ("triggerStopDownPrice", Inert),
    ],
];

pub const FUTURES_TPSL: OrderSpec = OrderSpec {
    fields: FUTURES_TPSL_FIELDS,
    source: "Kucoin/kucoin-universal-sdk spec/rest/api/openapi-futures-order.json: Add Take Profit And Stop Loss Order (POST /api/v1/st-orders)",
    ..FUTURES_ORDER
};

/// Lots of the contract's multiplier; "If closeOrder is set to true, the system will close the
/// position ... Side, Size and Leverage fields can be left empty": a `size` beside it is not
/// what executes.
fn futures_unit(order: &Order) -> Result<SizeUnit, String> {
    if order.field("closeOrder") == Some("true") {
        if order.base_size.is_some() {
            return Err(
                "closeOrder=true closes the whole position whatever 'size' says, a size keyward cannot know; leave 'size' out"
                    .to_owned(),
            );
        }
        return Ok(SizeUnit::WholePosition(
            "closeOrder=true closes the whole position, a size keyward cannot know",
        ));
    }
    Ok(SizeUnit::Contracts(
        "KuCoin sizes futures orders in lots of the contract's multiplier (coins, or USD on coin-swaps, per lot), which keyward does not know offline",
    ))
}

/// Every order-creating or amending endpoint of `kucoin:trade` (spot and futures).
pub const ORDER_ENDPOINTS: &[OrderEndpoint] = &[
    post("/api/v1/orders", &CLASSIC_ORDER),
    post("/api/v1/orders/test", &CLASSIC_ORDER),
    post("/api/v1/hf/orders", &HF_ORDER),
    post("/api/v1/hf/orders/test", &HF_ORDER),
    post("/api/v1/hf/orders/sync", &HF_ORDER),
    endpoint(
        Method::Post,
        "/api/v1/hf/orders/multi",
        Layout::JsonArrayInMember(Batch {
            name: "orderList",
            // ccxt sends `symbol` beside the batch too (as KuCoin's classic batch takes it):
            // read into every item, so an item naming another symbol is refused.
            shared: &["symbol"],
        }),
        &HF_BATCH,
    ),
    post("/api/v1/hf/orders/alter", &HF_ALTER),
    post("/api/v1/stop-order", &STOP_ORDER),
    post("/futures/api/v1/orders", &FUTURES_ORDER),
    post("/futures/api/v1/orders/test", &FUTURES_ORDER),
    endpoint(
        Method::Post,
        "/futures/api/v1/orders/multi",
        Layout::JsonArrayBody,
        &FUTURES_ORDER,
    ),
    post("/futures/api/v1/st-orders", &FUTURES_TPSL),
];

#[cfg(test)]
mod tests {
    use crate::order::testing::Bot;

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    const MAX: &[(&str, &str)] = &[("size", "1"), ("notional", "50000")];
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];

    #[test]
    fn spot_size_and_funds() {
        for path in [
            "/api/v1/hf/orders",
            "/api/v1/hf/orders/sync",
            "/api/v1/hf/orders/test",
            "/api/v1/orders",
            "/api/v1/stop-order",
        ] {
            let stop = if path.contains("stop") {
                r#","stopPrice":"29000""#
            } else {
                ""
            };
            let order = |rest: &str| {
                format!(r#"{{"clientOid":"a","symbol":"BTC-USDT","side":"buy",{rest}{stop}}}"#)
            };
            BOT.judge(
                path,
                &order(r#""type":"limit","price":"30000","size":"0.5","timeInForce":"GTC""#),
                MAX,
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            BOT.judge(path, &order(r#""type":"market","funds":"20000""#), NOTIONAL)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            BOT.refused(
                path,
                &order(r#""type":"limit","price":"1","size":"2""#),
                MAX,
                "size 2 exceeds",
            );
            BOT.refused(
                path,
                &order(r#""type":"limit","price":"60000","size":"1""#),
                MAX,
                "notional 60000 exceeds",
            );
            // Quote-sized market orders: bounded by their funds, not by a base size.
            BOT.refused(
                path,
                &order(r#""type":"market","funds":"60000""#),
                NOTIONAL,
                "notional 60000 exceeds",
            );
            BOT.refused(
                path,
                &order(r#""type":"market","funds":"10""#),
                &[("size", "1")],
                "base size cannot be established",
            );
            // A market order with a decoy price.
            BOT.refused(
                path,
                &order(r#""type":"market","size":"0.5","price":"0.01""#),
                MAX,
                "market executes at the market",
            );
            BOT.refused(
                path,
                &order(r#""type":"market","size":"0.5","funds":"10""#),
                MAX,
                "both a base size ('size') and a quote size ('funds')",
            );
        }
        // The classic endpoint's type defaults to limit.
        BOT.judge(
            "/api/v1/orders",
            r#"{"clientOid":"a","symbol":"BTC-USDT","side":"buy","price":"30000","size":"0.5"}"#,
            MAX,
        )
        .unwrap();
        // A funds bound is a quote-size bound: a limit order's notional counts.
        BOT.refused(
            "/api/v1/hf/orders",
            r#"{"clientOid":"a","symbol":"BTC-USDT","side":"buy","type":"limit","price":"30000","size":"2"}"#,
            &[("funds", "50000")],
            "funds 60000 exceeds",
        );
    }

    #[test]
    fn spot_batch_and_modify() {
        let multi = "/api/v1/hf/orders/multi";
        BOT.judge(
            multi,
            r#"{"orderList":[{"clientOid":"a","symbol":"BTC-USDT","type":"limit","side":"buy","price":"30000","size":"0.5"},{"clientOid":"b","symbol":"BTC-USDT","type":"limit","side":"sell","price":"30000","size":"0.9"}]}"#,
            MAX,
        )
        .unwrap();
        let e = BOT.judge(
            multi,
            r#"{"orderList":[{"clientOid":"a","symbol":"BTC-USDT","type":"limit","side":"buy","price":"30000","size":"0.5"},{"clientOid":"b","symbol":"BTC-USDT","type":"limit","side":"buy","price":"30000","funds":"90000"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(e.starts_with("orderList[1]: "), "{e}");
        let e = BOT.judge_with(
            multi,
            r#"{"orderList":[{"clientOid":"a","symbol":"PEPE-USDT","type":"limit","side":"buy","price":"1","size":"0.5"}]}"#,
            &[("symbol", &["BTC-USDT"])],
            &[],
        )
        .unwrap_err();
        assert!(e.starts_with("orderList[0]: symbol=PEPE-USDT"), "{e}");
        // `symbol` beside the batch (as ccxt sends it) is read into every item: the same
        // symbol is one field, another symbol is refused.
        BOT.judge(
            multi,
            r#"{"symbol":"BTC-USDT","orderList":[{"clientOid":"a","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"0.5"}]}"#,
            MAX,
        )
        .unwrap();
        let e = BOT.judge(
            multi,
            r#"{"symbol":"BTC-USDT","orderList":[{"clientOid":"a","symbol":"PEPE-USDT","type":"limit","side":"buy","price":"1","size":"0.5"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(
            e.contains("'symbol' is given beside the batch and again in the order"),
            "{e}"
        );
        let e = BOT.judge(
            multi,
            r#"{"type":"market","orderList":[{"clientOid":"a","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"0.5"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(
            e.contains("'type' is not read by keyward beside the batch"),
            "{e}"
        );
        let alter = "/api/v1/hf/orders/alter";
        BOT.judge(
            alter,
            r#"{"symbol":"BTC-USDT","orderId":"1","newPrice":"30000","newSize":"0.5"}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            alter,
            r#"{"symbol":"BTC-USDT","orderId":"1","newSize":"3"}"#,
            &[("size", "1")],
            "size 3 exceeds",
        );
        BOT.refused(
            alter,
            r#"{"symbol":"BTC-USDT","orderId":"1","newPrice":"90000","newSize":"1"}"#,
            MAX,
            "notional 90000 exceeds",
        );
    }

    /// For futures, sized in lots.
    const LOTS: &[(&str, &str)] = &[("size", "1"), ("price", "50000")];

    #[test]
    fn futures_lots_leverage_and_closes() {
        let path = "/futures/api/v1/orders";
        let ok = r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"30000","size":1,"timeInForce":"GTC","marginMode":"CROSS"}"#;
        BOT.judge(path, ok, LOTS).unwrap();
        BOT.judge("/futures/api/v1/orders/test", ok, LOTS).unwrap();
        // One lot of XBTUSDTM is 0.001 BTC: `size × price` is no notional, and keyward knows
        // no multiplier.
        for p in [
            path,
            "/futures/api/v1/orders/test",
            "/futures/api/v1/st-orders",
        ] {
            BOT.refused(p, ok, NOTIONAL, "lots of the contract's multiplier");
        }
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDM","leverage":3,"type":"market","size":1}"#,
            NOTIONAL,
            "lots of the contract's multiplier",
        );
        // Spot stays valued.
        BOT.refused(
            "/api/v1/hf/orders",
            r#"{"clientOid":"a","symbol":"BTC-USDT","side":"buy","type":"limit","price":"60000","size":"1"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","size":5}"#,
            LOTS,
            "size 5 exceeds",
        );
        // The type defaults to limit, bounded by its price; a market order's price is no bound.
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"price":"90000","size":1}"#,
            LOTS,
            "price 90000 exceeds",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"market","price":"0.01","size":1}"#,
            LOTS,
            "a market order has no price to bound",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":50,"type":"limit","price":"1","size":1}"#,
            &[("leverage", "10")],
            "leverage 50 exceeds",
        );
        // Other size units are not read.
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","qty":"5"}"#,
            LOTS,
            "'qty' is not a field",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"market","valueQty":"90000"}"#,
            NOTIONAL,
            "'valueQty' is not a field",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","symbol":"XBTUSDTM","type":"market","closeOrder":true,"size":1}"#,
            &[("size", "10")],
            "closeOrder=true",
        );
        BOT.refused(
            path,
            r#"{"clientOid":"a","symbol":"XBTUSDTM","type":"market","closeOrder":true}"#,
            &[("size", "10")],
            "closeOrder=true closes the whole position",
        );
        BOT.judge_with(
            path,
            r#"{"clientOid":"a","symbol":"XBTUSDTM","type":"market","closeOrder":true}"#,
            &[("symbol", &["XBTUSDTM"])],
            &[],
        )
        .unwrap();
        BOT.refused(
            path,
            r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","size":1,"stop":"down","stopPriceType":"TP","stopPrice":"1","Size":9}"#,
            LOTS,
            "another spelling of 'size'",
        );
        let tpsl = "/futures/api/v1/st-orders";
        BOT.judge(
            tpsl,
            r#"{"clientOid":"a","side":"sell","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"30000","size":1,"triggerStopUpPrice":"35000","triggerStopDownPrice":"25000","stopPriceType":"TP","reduceOnly":true}"#,
            LOTS,
        )
        .unwrap();
        BOT.refused(
            tpsl,
            r#"{"clientOid":"a","side":"sell","symbol":"XBTUSDTM","leverage":3,"type":"market","size":4,"triggerStopUpPrice":"35000","stopPriceType":"TP"}"#,
            LOTS,
            "size 4 exceeds",
        );
        let multi = "/futures/api/v1/orders/multi";
        let e = BOT.judge(
            multi,
            r#"[{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","size":1},{"clientOid":"b","side":"buy","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","size":2}]"#,
            LOTS,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: size 2 exceeds"), "{e}");
        let e = BOT.judge(
            multi,
            r#"[{"clientOid":"a","side":"buy","ſymbol":"PEPEUSDTM","symbol":"XBTUSDTM","leverage":3,"type":"limit","price":"1","size":1}]"#,
            LOTS,
        )
        .unwrap_err();
        assert!(e.contains("not ASCII"), "{e}");
    }
}
