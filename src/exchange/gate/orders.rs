//! Gate API v4's order endpoints and their field tables, written from Gate's own API
//! documentation (gate.com/docs/developers/apiv4: Spot "Create an order", "Batch place
//! orders", "Amend single order", "Batch modification of orders", "Create price-triggered
//! order" and the `Order`, `BatchAmendItem`, `SpotPriceTriggeredOrder` models; Futures "Place
//! futures order", "Place batch futures orders", "Amend single order", "Batch modify orders by
//! specified IDs", "Create price-triggered order", "Modify a Single Auto Order" and the
//! `FuturesOrder`, `FuturesOrderAmendment`, `BatchAmendOrderReq`,
//! `FuturesPriceTriggeredOrder`, `FuturesUpdatePriceTriggeredOrder` models; Delivery "Place
//! futures order", "Create price-triggered order").
//!
//! What the size counts:
//! - spot `amount`: the base currency for a limit order; for a **market buy** the quote
//!   currency, for a market sell the base currency. Price-triggered spot orders document
//!   `put.amount` as the base currency only, so a triggered market buy is refused;
//! - futures and delivery `size`: **contracts** (`quanto_multiplier` coins each), **signed**:
//!   positive buys, negative sells, `0` closes the position (with `close` or `auto_size`).
//!   The sign is the order's side and there is no `side` field. The reader takes plain
//!   non-negative decimals only, so a sell (`-5`) is refused, and `0` (a close of the whole
//!   position) is refused by `futures_check`: Gate futures sells need a signed-size meaning in
//!   the model (see the report).
//!
//! A futures order has no type field: "a price of 0 with `tif` as `ioc` represents a market
//! order". `tif` is read as the order's type (default `gtc`); `gtc`, `poc` and `fok` orders
//! rest at or fill within `price`; an `ioc` order may be a market order, so it has no bounded
//! price, and a zero price with any other `tif` is refused.
//!
//! Read-only members of the models (`id`, `status`, `left`, `fill_price` ...) are not request
//! fields and are not listed: a request carrying one is refused.

use crate::order::{base_unit, Layout, Meaning, Order, OrderEndpoint, OrderSpec, SizeUnit};
use crate::request::Method;

use Meaning::*;

/// `POST /api/v4/spot/orders` and each item of `POST /api/v4/spot/batch_orders`.
const SPOT_ORDER_FIELDS: &[(&str, Meaning)] = &[
    ("text", Inert),
    ("currency_pair", Instrument),
    ("type", Type),
    // `spot`, `margin`, `unified`, `cross_margin`: the account that trades (and, with
    // `auto_borrow`, borrows). Neither changes the size or price the limits bound; a rule can
    // pin them.
    ("account", Inert),
    ("side", Side),
    ("amount", BaseSize),
    ("price", Price),
    ("time_in_force", Inert),
    // The displayed part of `amount`; never more than it.
    ("iceberg", Inert),
    ("auto_borrow", Inert),
    ("auto_repay", Inert),
    ("stp_act", Inert),
    ("action_mode", Inert),
    ("slippage", Inert),
    // Take profit / stop loss of a limit order: closing orders for what it fills.
    ("stop_profit.trigger_price", Inert),
    ("stop_profit.order_price", Inert),
    ("stop_loss.trigger_price", Inert),
    ("stop_loss.order_price", Inert),
];

pub const SPOT_ORDER: OrderSpec = OrderSpec {
    fields: SPOT_ORDER_FIELDS,
    limit_types: &["limit"],
    market_types: &["market"],
    // "type ... [default to 'limit']" (the `Order` model).
    default_type: Some("limit"),
    size_unit: spot_unit,
    source: "gate.com apiv4 Spot: Create an order (POST /spot/orders), Batch place orders (POST /spot/batch_orders), model Order",
};

/// `PATCH /api/v4/spot/orders/{order_id}`: `currency_pair` and `account` may also come in the
/// query ("request body has higher priority"; keyward's canonicaliser accepts a member in both
/// places only with the same value). Only a resting limit order can be amended.
const SPOT_AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("currency_pair", Instrument),
    ("account", Inert),
    ("amount", BaseSize),
    ("price", Price),
    ("amend_text", Inert),
    ("action_mode", Inert),
    ("stop_profit.trigger_price", Inert),
    ("stop_profit.order_price", Inert),
    ("stop_loss.trigger_price", Inert),
    ("stop_loss.order_price", Inert),
];

pub const SPOT_AMEND: OrderSpec = OrderSpec {
    fields: SPOT_AMEND_FIELDS,
    limit_types: &["limit"],
    market_types: &[],
    default_type: Some("limit"),
    size_unit: base_unit,
    source:
        "gate.com apiv4 Spot: Amend single order (PATCH /spot/orders/{order_id}), model OrderPatch",
};

/// Each item of `POST /api/v4/spot/amend_batch_orders` ("Only one of `amount` or `price`
/// can be specified", so such an item has no notional).
const SPOT_BATCH_AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("order_id", Inert),
    ("currency_pair", Instrument),
    ("account", Inert),
    ("amount", BaseSize),
    ("price", Price),
    ("amend_text", Inert),
    ("action_mode", Inert),
    ("stop_profit.trigger_price", Inert),
    ("stop_profit.order_price", Inert),
    ("stop_loss.trigger_price", Inert),
    ("stop_loss.order_price", Inert),
];

pub const SPOT_BATCH_AMEND: OrderSpec = OrderSpec {
    fields: SPOT_BATCH_AMEND_FIELDS,
    source: "gate.com apiv4 Spot: Batch modification of orders (POST /spot/amend_batch_orders), model BatchAmendItem",
    ..SPOT_AMEND
};

/// `POST /api/v4/spot/price_orders`: the order `put` is placed when `trigger` fires.
const SPOT_PRICE_FIELDS: &[(&str, Meaning)] = &[
    ("market", Instrument),
    ("trigger.price", TriggerPrice),
    ("trigger.rule", Inert),
    ("trigger.expiration", Inert),
    // "Order type, default to `limit`".
    ("put.type", Type),
    ("put.side", Side),
    // Required even for a market order, which ignores it.
    ("put.price", Price),
    ("put.amount", BaseSize),
    ("put.account", Inert),
    ("put.time_in_force", Inert),
    ("put.auto_borrow", Inert),
    ("put.auto_repay", Inert),
    ("put.text", Inert),
];

pub const SPOT_PRICE: OrderSpec = OrderSpec {
    fields: SPOT_PRICE_FIELDS,
    limit_types: &["limit"],
    market_types: &["market"],
    default_type: Some("limit"),
    size_unit: spot_price_unit,
    source: "gate.com apiv4 Spot: Create price-triggered order (POST /spot/price_orders), models SpotPriceTrigger, SpotPricePutOrder",
};

/// Futures order types as read from `tif`: these rest at `price` or fill within it.
const FUTURES_LIMIT_TYPES: &[&str] = &["gtc", "poc", "fok"];

/// `POST /api/v4/futures/{settle}/orders` and each item of `.../batch_orders`.
const FUTURES_ORDER_FIELDS: &[(&str, Meaning)] = &[
    ("contract", Instrument),
    // Signed contracts: see the module comment.
    ("size", BaseSize),
    ("iceberg", Inert),
    ("price", Price),
    // `close=true` with `size=0` closes the position: refused by `futures_check`.
    ("close", Inert),
    ("reduce_only", ReduceOnly),
    ("tif", Type),
    ("text", Inert),
    // `close_long`/`close_short` with `size=0`: a dual-mode close, likewise refused.
    ("auto_size", Inert),
    ("stp_act", Inert),
    ("pid", Inert),
    ("market_order_slip_ratio", Inert),
    ("pos_margin_mode", Inert),
    ("action_mode", Inert),
    ("tpsl_tp_trigger_price", Inert),
    ("tpsl_sl_trigger_price", Inert),
];

pub const FUTURES_ORDER: OrderSpec = OrderSpec {
    fields: FUTURES_ORDER_FIELDS,
    limit_types: FUTURES_LIMIT_TYPES,
    market_types: &[],
    default_type: Some("gtc"),
    size_unit: futures_check,
    source: "gate.com apiv4 Futures: Place futures order (POST /futures/{settle}/orders), Place batch futures orders (POST /futures/{settle}/batch_orders), model FuturesOrder",
};

/// `PUT /api/v4/futures/{settle}/orders/{order_id}`: a resting order's new size ("including
/// filled part"; the side must stay the same, so a sell's is negative) and price.
const FUTURES_AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("size", BaseSize),
    ("price", Price),
    ("amend_text", Inert),
    ("text", Inert),
    ("action_mode", Inert),
];

pub const FUTURES_AMEND: OrderSpec = OrderSpec {
    fields: FUTURES_AMEND_FIELDS,
    limit_types: FUTURES_LIMIT_TYPES,
    market_types: &[],
    default_type: Some("gtc"),
    size_unit: futures_check,
    source: "gate.com apiv4 Futures: Amend single order (PUT /futures/{settle}/orders/{order_id}), model FuturesOrderAmendment",
};

/// Each item of `POST /api/v4/futures/{settle}/batch_amend_orders`.
const FUTURES_BATCH_AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("order_id", Inert),
    ("text", Inert),
    ("size", BaseSize),
    ("price", Price),
    ("amend_text", Inert),
    ("action_mode", Inert),
];

pub const FUTURES_BATCH_AMEND: OrderSpec = OrderSpec {
    fields: FUTURES_BATCH_AMEND_FIELDS,
    source: "gate.com apiv4 Futures: Batch modify orders by specified IDs (POST /futures/{settle}/batch_amend_orders), model BatchAmendOrderReq",
    ..FUTURES_AMEND
};

/// `POST /api/v4/futures/{settle}/price_orders`: a TP/SL order `initial` placed when
/// `trigger` fires. `initial.size` (integer) and `initial.amount` (decimal) are the same
/// quantity ("When both ... are provided, `amount` takes precedence"): both are the size, and
/// an order giving both is refused. `initial.price` 0 is "market price".
const FUTURES_PRICE_FIELDS: &[(&str, Meaning)] = &[
    ("initial.contract", Instrument),
    ("initial.size", BaseSize),
    ("initial.amount", BaseSize),
    ("initial.price", Price),
    ("initial.close", Inert),
    // "default is gtc, market orders currently only support ioc mode".
    ("initial.tif", Type),
    ("initial.text", Inert),
    ("initial.reduce_only", ReduceOnly),
    ("initial.auto_size", Inert),
    ("trigger.strategy_type", Inert),
    ("trigger.price_type", Inert),
    ("trigger.price", TriggerPrice),
    ("trigger.rule", Inert),
    ("trigger.expiration", Inert),
    ("order_type", Inert),
    ("pos_margin_mode", Inert),
];

pub const FUTURES_PRICE: OrderSpec = OrderSpec {
    fields: FUTURES_PRICE_FIELDS,
    limit_types: &["gtc"],
    market_types: &[],
    default_type: Some("gtc"),
    size_unit: futures_check,
    source: "gate.com apiv4 Futures: Create price-triggered order (POST /futures/{settle}/price_orders), model FuturesPriceTriggeredOrder",
};

/// `PUT /api/v4/futures/{settle}/price_orders/{order_id}`. No `tif`: a price here may be 0
/// ("A value of 0 indicates a market order"), so it is no execution price (no notional).
const FUTURES_PRICE_AMEND_FIELDS: &[(&str, Meaning)] = &[
    ("settle", Inert),
    ("order_id", Inert),
    ("size", BaseSize),
    ("amount", BaseSize),
    ("price", Price),
    ("trigger_price", TriggerPrice),
    ("price_type", Inert),
    ("auto_size", Inert),
    ("close", Inert),
];

pub const FUTURES_PRICE_AMEND: OrderSpec = OrderSpec {
    fields: FUTURES_PRICE_AMEND_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit: futures_check,
    source: "gate.com apiv4 Futures: Modify a Single Auto Order (PUT /futures/{settle}/price_orders/{order_id}), model FuturesUpdatePriceTriggeredOrder",
};

/// `POST /api/v4/delivery/{settle}/orders`.
const DELIVERY_ORDER_FIELDS: &[(&str, Meaning)] = &[
    ("contract", Instrument),
    ("size", BaseSize),
    ("iceberg", Inert),
    ("price", Price),
    ("close", Inert),
    ("reduce_only", ReduceOnly),
    ("tif", Type),
    ("text", Inert),
    ("auto_size", Inert),
    ("stp_act", Inert),
];

pub const DELIVERY_ORDER: OrderSpec = OrderSpec {
    fields: DELIVERY_ORDER_FIELDS,
    source: "gate.com apiv4 Delivery: Place futures order (POST /delivery/{settle}/orders), model DeliveryOrder",
    ..FUTURES_ORDER
};

/// `POST /api/v4/delivery/{settle}/price_orders`.
pub const DELIVERY_PRICE: OrderSpec = OrderSpec {
    source: "gate.com apiv4 Delivery: Create price-triggered order (POST /delivery/{settle}/price_orders), model FuturesPriceTriggeredOrder",
    ..FUTURES_PRICE
};

/// A spot order's `amount`: the quote currency for a market buy, else the base currency.
fn spot_unit(order: &Order) -> Result<SizeUnit, String> {
    match (order.order_type.as_deref(), order.side.as_deref()) {
        (Some("limit"), _) => Ok(SizeUnit::Base),
        (Some("market"), Some("buy")) => Ok(SizeUnit::Quote),
        (Some("market"), Some("sell")) => Ok(SizeUnit::Base),
        (Some("market"), side) => Err(format!(
            "side={} is neither buy nor sell; keyward cannot tell what a market order's 'amount' counts",
            side.unwrap_or("(none)")
        )),
        (other, _) => Err(format!(
            "type={} is neither limit nor market; keyward cannot tell what 'amount' counts",
            other.unwrap_or("(none)")
        )),
    }
}

/// A price-triggered spot order's `put.amount`, documented as the base currency. A plain
/// market buy counts the quote currency, so a triggered market buy is refused rather than
/// guessed.
fn spot_price_unit(order: &Order) -> Result<SizeUnit, String> {
    match (order.order_type.as_deref(), order.side.as_deref()) {
        (Some("limit"), _) | (Some("market"), Some("sell")) => Ok(SizeUnit::Base),
        (Some("market"), _) => Err(
            "a price-triggered market buy's 'put.amount' is documented as the base currency, while a spot market buy counts the quote currency; keyward cannot tell which Gate applies"
                .to_owned(),
        ),
        (other, _) => Err(format!(
            "put.type={} is neither limit nor market",
            other.unwrap_or("(none)")
        )),
    }
}

/// Futures and delivery: a zero size closes the whole position (a size keyward cannot know),
/// and a zero price is a market order, which Gate documents with `tif=ioc` only (with any
/// other `tif` the reader would take it for a limit price of 0).
fn futures_check(order: &Order) -> Result<SizeUnit, String> {
    if order.base_size.is_some_and(|s| s.is_zero()) {
        return Err(
            "size 0 closes the whole position, a size keyward cannot know; send the contracts to close"
                .to_owned(),
        );
    }
    if order.price.is_some_and(|p| p.is_zero()) && order.is_limit {
        return Err(format!(
            "price 0 is a market order, which Gate takes with tif=ioc only; keyward refuses it with tif={}",
            order.order_type.as_deref().unwrap_or("(none)")
        ));
    }
    Ok(SizeUnit::Base)
}

const fn endpoint(
    method: Method,
    path: &'static str,
    layout: Layout,
    spec: &'static OrderSpec,
) -> OrderEndpoint {
    OrderEndpoint {
        method,
        path,
        layout,
        spec,
    }
}

use Layout::{Flat, JsonArrayBody};
use Method::{Patch, Post, Put};

/// Every order-creating or amending endpoint of `gate:trade` (spot, futures, delivery).
pub const ORDER_ENDPOINTS: &[OrderEndpoint] = &[
    endpoint(Post, "/api/v4/spot/orders", Flat, &SPOT_ORDER),
    endpoint(Patch, "/api/v4/spot/orders/{order_id}", Flat, &SPOT_AMEND),
    endpoint(
        Post,
        "/api/v4/spot/batch_orders",
        JsonArrayBody,
        &SPOT_ORDER,
    ),
    endpoint(
        Post,
        "/api/v4/spot/amend_batch_orders",
        JsonArrayBody,
        &SPOT_BATCH_AMEND,
    ),
    endpoint(Post, "/api/v4/spot/price_orders", Flat, &SPOT_PRICE),
    endpoint(
        Post,
        "/api/v4/futures/{settle}/orders",
        Flat,
        &FUTURES_ORDER,
    ),
    endpoint(
        Post,
        "/api/v4/futures/{settle}/batch_orders",
        JsonArrayBody,
        &FUTURES_ORDER,
    ),
    endpoint(
        Post,
        "/api/v4/futures/{settle}/batch_amend_orders",
        JsonArrayBody,
        &FUTURES_BATCH_AMEND,
    ),
    endpoint(
        Post,
        "/api/v4/futures/{settle}/price_orders",
        Flat,
        &FUTURES_PRICE,
    ),
    endpoint(
        Put,
        "/api/v4/futures/{settle}/orders/{order_id}",
        Flat,
        &FUTURES_AMEND,
    ),
    endpoint(
        Put,
        "/api/v4/futures/{settle}/price_orders/{order_id}",
        Flat,
        &FUTURES_PRICE_AMEND,
    ),
    endpoint(
        Post,
        "/api/v4/delivery/{settle}/orders",
        Flat,
        &DELIVERY_ORDER,
    ),
    endpoint(
        Post,
        "/api/v4/delivery/{settle}/price_orders",
        Flat,
        &DELIVERY_PRICE,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{path_matches, Exchange};
    use crate::order::{limits, read};
    use crate::request::canonicalise;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn judge_full(
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
        params: &[(&str, &[&str])],
        max: &[(&str, &str)],
    ) -> Result<(), String> {
        let req = canonicalise(
            method,
            path,
            query,
            Some("application/json"),
            body.as_bytes(),
            &super::super::Gate.canon_rules(),
        )
        .map_err(|r| r.message)?;
        let ep = ORDER_ENDPOINTS
            .iter()
            .find(|e| e.method == method && path_matches(e.path, path))
            .unwrap();
        let params: Vec<(String, Vec<String>)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect();
        let max: Vec<(String, Decimal)> = max
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Decimal::from_str(v).unwrap()))
            .collect();
        let vocabulary = |name: &str| limits::meaning(ORDER_ENDPOINTS, ep.spec, name);
        for order in read(ep, &req)? {
            limits::check(&vocabulary, &order, &params, &max, "allow[0]")?;
        }
        Ok(())
    }

    fn judge(path: &str, body: &str, max: &[(&str, &str)]) -> Result<(), String> {
        judge_full(Post, path, None, body, &[], max)
    }

    fn refused(path: &str, body: &str, max: &[(&str, &str)], says: &str) {
        let e = judge(path, body, max).expect_err(body);
        assert!(e.contains(says), "{body}: {e}");
    }

    const SPOT: &str = "/api/v4/spot/orders";
    const FUTURES: &str = "/api/v4/futures/usdt/orders";
    const MAX: &[(&str, &str)] = &[("amount", "1"), ("notional", "50000")];
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];
    const CONTRACTS: &[(&str, &str)] = &[("size", "10"), ("notional", "50000")];

    #[test]
    fn spot_amounts_however_expressed() {
        for body in [
            r#"{"text":"t-1","currency_pair":"BTC_USDT","type":"limit","account":"spot","side":"buy","amount":"0.5","price":"30000","time_in_force":"gtc"}"#,
            // `type` defaults to limit.
            r#"{"currency_pair":"BTC_USDT","side":"sell","amount":"0.5","price":"30000","iceberg":"0.1"}"#,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000","stop_profit":{"trigger_price":"35000","order_price":"34900"},"stop_loss":{}}"#,
        ] {
            judge(SPOT, body, MAX).unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        judge(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"20000","time_in_force":"ioc"}"#,
            NOTIONAL,
        )
        .unwrap();
        refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"2","price":"1"}"#,
            MAX,
            "amount 2 exceeds",
        );
        refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"1","price":"60000"}"#,
            MAX,
            "notional 60000 exceeds",
        );
        // A market buy's amount is the quote currency.
        refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"60000","time_in_force":"ioc"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"10","time_in_force":"ioc"}"#,
            &[("amount", "1")],
            "base size cannot be established",
        );
        // A market sell with a decoy price.
        refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"sell","amount":"0.5","price":"0.01","time_in_force":"ioc"}"#,
            MAX,
            "market executes at the market",
        );
        for (body, says) in [
            (
                r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.1","price":"1","quantity":"9"}"#,
                "'quantity' is not a field",
            ),
            (
                r#"{"currency_pair":"BTC_USDT","side":"buy","Amount":"9","price":"1"}"#,
                "another spelling of 'amount'",
            ),
            (
                r#"{"currencyPair":"PEPE_USDT","currency_pair":"BTC_USDT","side":"buy","amount":"0.1","price":"1"}"#,
                "another spelling of 'currency_pair'",
            ),
            (
                r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.1","price":"1","stop_loss":{"trigger_price":"1","amount":"9"}}"#,
                "'stop_loss.amount' is not a field",
            ),
            (
                r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.1","price":"1","left":"9"}"#,
                "'left' is not a field",
            ),
            (
                r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.1","price":"1","type":"MARKET"}"#,
                "type=MARKET",
            ),
        ] {
            let e = judge(SPOT, body, MAX).expect_err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn spot_batches_amends_and_price_orders() {
        let batch = "/api/v4/spot/batch_orders";
        judge(
            batch,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000"},{"text":"t-b","currency_pair":"ETH_USDT","side":"sell","amount":"0.9","price":"3000"}]"#,
            MAX,
        )
        .unwrap();
        let e = judge(
            batch,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000"},{"text":"t-b","currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"90000","time_in_force":"ioc"}]"#,
            NOTIONAL,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: notional 90000"), "{e}");
        let e = judge_full(
            Post,
            batch,
            None,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"1"},{"text":"t-b","currency_pair":"PEPE_USDT","side":"buy","amount":"0.5","price":"1"}]"#,
            &[("currency_pair", &["BTC_USDT"])],
            &[],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: currency_pair=PEPE_USDT"), "{e}");

        // The amend, with the pair in the body or in the query.
        let amend = "/api/v4/spot/orders/12345";
        judge_full(
            Patch,
            amend,
            None,
            r#"{"currency_pair":"BTC_USDT","amount":"0.5","price":"30000"}"#,
            &[],
            MAX,
        )
        .unwrap();
        let e = judge_full(
            Patch,
            amend,
            Some("currency_pair=BTC_USDT"),
            r#"{"amount":"2"}"#,
            &[],
            MAX,
        )
        .unwrap_err();
        assert!(e.contains("amount 2 exceeds"), "{e}");
        let e = judge_full(
            Patch,
            amend,
            Some("currency_pair=PEPE_USDT"),
            r#"{"amount":"0.5"}"#,
            &[("currency_pair", &["BTC_USDT"])],
            &[],
        )
        .unwrap_err();
        assert!(e.contains("currency_pair=PEPE_USDT"), "{e}");
        let e = judge_full(
            Patch,
            amend,
            None,
            r#"{"currency_pair":"BTC_USDT","amount":"1","price":"90000"}"#,
            &[],
            MAX,
        )
        .unwrap_err();
        assert!(e.contains("notional 90000 exceeds"), "{e}");
        let e = judge(
            "/api/v4/spot/amend_batch_orders",
            r#"[{"order_id":"1","currency_pair":"BTC_USDT","amount":"0.5"},{"order_id":"2","currency_pair":"BTC_USDT","amount":"3"}]"#,
            &[("amount", "1")],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: amount 3 exceeds"), "{e}");

        let price = "/api/v4/spot/price_orders";
        judge(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<=","expiration":86400},"put":{"type":"limit","side":"buy","price":"30000","amount":"0.5","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
        )
        .unwrap();
        refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"30000","amount":"2","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "amount 2 exceeds",
        );
        refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"60000","amount":"1","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "notional 60000 exceeds",
        );
        refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"type":"market","side":"sell","price":"0.01","amount":"0.5","account":"normal","time_in_force":"ioc"}}"#,
            MAX,
            "market executes at the market",
        );
        refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"type":"market","side":"buy","price":"1","amount":"100","account":"normal","time_in_force":"ioc"}}"#,
            NOTIONAL,
            "triggered market buy",
        );
        refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"1","amount":"0.1","amnt":"9","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "'put.amnt' is not a field",
        );
    }

    #[test]
    fn futures_contracts_signed_sizes_and_market_prices() {
        for path in [FUTURES, "/api/v4/delivery/usdt/orders"] {
            judge(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"3000","tif":"gtc","text":"t-1"}"#,
                CONTRACTS,
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"20","price":"1"}"#,
                CONTRACTS,
                "size 20 exceeds",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"10","price":"6000"}"#,
                CONTRACTS,
                "notional 60000 exceeds",
            );
            // A sell is a negative size: the reader refuses it (see the module comment).
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"-5","price":"3000"}"#,
                CONTRACTS,
                "size=-5 is not a plain decimal",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":-5,"price":"3000"}"#,
                CONTRACTS,
                "size=-5 is not a plain decimal",
            );
            // Closing the whole position.
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"0","price":"0","tif":"ioc","close":true}"#,
                &[("size", "10")],
                "size 0 closes",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"0","price":"0","tif":"ioc","reduce_only":true,"auto_size":"close_long"}"#,
                &[("size", "10")],
                "size 0 closes",
            );
            // Market orders: price 0 with ioc; a zero "limit" price is refused.
            judge(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"0","tif":"ioc"}"#,
                &[("size", "10")],
            )
            .unwrap();
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"0","tif":"ioc"}"#,
                CONTRACTS,
                "ioc has no known execution price",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"0"}"#,
                CONTRACTS,
                "price 0 is a market order",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"0","tif":"fok"}"#,
                CONTRACTS,
                "price 0 is a market order",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"1","Size":"50"}"#,
                CONTRACTS,
                "another spelling of 'size'",
            );
            refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"1","is_reduce_only":true}"#,
                CONTRACTS,
                "'is_reduce_only' is not a field",
            );
        }
        let e = judge(
            "/api/v4/futures/usdt/batch_orders",
            r#"[{"contract":"BTC_USDT","size":"5","price":"3000"},{"contract":"BTC_USDT","size":"50","price":"1"}]"#,
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: size 50 exceeds"), "{e}");
        let e = judge(
            "/api/v4/futures/usdt/batch_orders",
            r#"[{"contract":"BTC_USDT","size":"5","price":"3000"},{"contract":"BTC_USDT","size":"-5","price":"3000"}]"#,
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: size=-5"), "{e}");
    }

    #[test]
    fn futures_amends_and_price_orders() {
        let amend = "/api/v4/futures/usdt/orders/123";
        judge_full(
            Put,
            amend,
            None,
            r#"{"size":"5","price":"3000"}"#,
            &[],
            CONTRACTS,
        )
        .unwrap();
        let e = judge_full(Put, amend, None, r#"{"size":"50"}"#, &[], CONTRACTS).unwrap_err();
        assert!(e.contains("size 50 exceeds"), "{e}");
        let e = judge_full(
            Put,
            amend,
            None,
            r#"{"size":"10","price":"9000"}"#,
            &[],
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.contains("notional 90000 exceeds"), "{e}");
        let e = judge_full(
            Put,
            amend,
            None,
            r#"{"size":"5","price":"0"}"#,
            &[],
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.contains("price 0 is a market order"), "{e}");
        let e = judge(
            "/api/v4/futures/usdt/batch_amend_orders",
            r#"[{"order_id":1,"size":"5"},{"order_id":2,"size":"11"}]"#,
            &[("size", "10")],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: size 11 exceeds"), "{e}");

        for path in [
            "/api/v4/futures/usdt/price_orders",
            "/api/v4/delivery/usdt/price_orders",
        ] {
            judge(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":5,"price":"0","tif":"ioc","reduce_only":true},"trigger":{"strategy_type":0,"price_type":0,"price":"2900","rule":2},"order_type":"plan-close-short-position"}"#,
                &[("size", "10")],
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":50,"price":"3000"},"trigger":{"price":"2900","rule":2}}"#,
                CONTRACTS,
                "size 50 exceeds",
            );
            // `amount` is another spelling of the same size; both together are ambiguous.
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","amount":"50","price":"3000"},"trigger":{"price":"2900","rule":2}}"#,
                CONTRACTS,
                "size 50 exceeds",
            );
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":1,"amount":"50","price":"3000"},"trigger":{"price":"2900","rule":2}}"#,
                CONTRACTS,
                "both set the order's base size",
            );
            // A zero price with the default tif (gtc) is a market order.
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":5,"price":"0"},"trigger":{"price":"2900","rule":2}}"#,
                CONTRACTS,
                "price 0 is a market order",
            );
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":0,"price":"0","tif":"ioc","close":true},"trigger":{"price":"2900","rule":2}}"#,
                &[("size", "10")],
                "size 0 closes",
            );
            let e = judge_full(
                Post,
                path,
                None,
                r#"{"initial":{"contract":"PEPE_USDT","size":5,"price":"0","tif":"ioc"},"trigger":{"price":"2900","rule":2}}"#,
                &[("contract", &["BTC_USDT"])],
                &[],
            )
            .unwrap_err();
            assert!(e.contains("contract=PEPE_USDT"), "{e}");
            // A top-level member literally named `initial.size` (which Gate ignores) beside
            // the real one is refused, never read instead of it.
            refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":50,"price":"1","tif":"ioc"},"trigger":{"price":"2900","rule":2},"initial.size":1}"#,
                CONTRACTS,
                "\"initial.size\" holds a '.'",
            );
        }
        let amend = "/api/v4/futures/usdt/price_orders/7";
        judge_full(
            Put,
            amend,
            None,
            r#"{"order_id":7,"size":5,"price":"0","trigger_price":"2900"}"#,
            &[],
            &[("size", "10")],
        )
        .unwrap();
        let e = judge_full(
            Put,
            amend,
            None,
            r#"{"order_id":7,"amount":"50","price":"3000"}"#,
            &[],
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.contains("size 50 exceeds"), "{e}");
        let e = judge_full(
            Put,
            amend,
            None,
            r#"{"order_id":7,"size":5,"price":"1"}"#,
            &[],
            CONTRACTS,
        )
        .unwrap_err();
        assert!(e.contains("notional"), "{e}");
    }
}
