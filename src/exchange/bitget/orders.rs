//! Bitget v2's order endpoints and their field tables, written from Bitget's own API
//! documentation (bitget.com/api-doc: spot/trade Place-Order, Batch-Place-Orders,
//! Cancel-Replace-Order; spot/plan Place-Plan-Order, Modify-Plan-Order; contract/trade
//! Place-Order, Batch-Order, Modify-Order, Reversal, Flash-Close-Position; contract/plan
//! Place-Plan-Order, Modify-Plan-Order, Place-Tpsl-Order, Modify-Tpsl-Order; read from the
//! markdown mirror of those pages).
//!
//! What `size` counts:
//! - spot: the base coin, except a **market buy**, where it is the quote coin ("For
//!   Market-Buy orders, it represents the number of quote coins"); a spot plan order chooses
//!   with `planType` (`amount`: base, default; `total`: quote);
//! - futures (`mix`): the base coin ("Amount (base coin)"), on every `productType`: USDT-M,
//!   USDC-M and also COIN-M (inverse, `BTCUSD`), whose `size` is documented in the base coin
//!   too, not in contracts (a contract's `sizeMultiplier` is only the size's step), so
//!   `size × price` is the notional in the quote currency.
//!
//! Futures flags are strings: `reduceOnly` is `YES`/`NO` on orders and batches, `yes`/`no` on
//! plan orders (whose own example sends `NO`, as ccxt sends `YES` to both): read in both cases
//! on all three ([`Meaning::ReduceOnlyAs`]), anything else refused.

use crate::fields;
use crate::order::{
    base_unit, endpoint, post, quote_on_market_buy, Batch, Field, FlagWords, Layout, Meaning,
    Order, OrderEndpoint, OrderSpec, SizeUnit,
};
use crate::request::Method;

use Meaning::*;

const LIMIT_TYPES: &[&str] = &["limit"];
const MARKET_TYPES: &[&str] = &["market"];

/// `reduceOnly`: "`YES`, `NO` Default: `NO`" (plan orders: "`yes`: Yes; `no`: No(default)").
/// An empty text (Bitget's examples send optional members empty) is the default, `NO`: read as
/// not reduce-only, the stricter reading.
static YES_NO: FlagWords = FlagWords {
    yes: &["YES", "yes"],
    no: &["NO", "no", ""],
};

/// Preset take-profit / stop-loss: closing orders for what this order fills (spot order, batch
/// item and cancel-replace alike).
const SPOT_PRESET_TP_SL: &[Field] = &[
    ("presetTakeProfitPrice", Inert),
    ("executeTakeProfitPrice", Inert),
    ("presetStopLossPrice", Inert),
    ("executeStopLossPrice", Inert),
];

/// A spot order's side, type, price and size, on an order and a batch item.
const SPOT_TERMS: &[Field] = &[
    ("side", Side),
    ("orderType", Type),
    ("force", Inert),
    ("price", Price),
    ("size", BaseSize),
    ("clientOid", Inert),
];

/// `POST /api/v2/spot/trade/place-order`.
const SPOT_ORDER_FIELDS: &[Field] = fields![
    &[("symbol", Instrument)],
    SPOT_TERMS,
    &[
        // With `tpslType=tpsl` the order waits for `triggerPrice`, then is the same order.
        ("triggerPrice", TriggerPrice),
        ("tpslType", Inert),
        ("requestTime", Inert),
        ("receiveWindow", Inert),
        ("stpMode", Inert),
    ],
    SPOT_PRESET_TP_SL,
];

pub const SPOT_ORDER: OrderSpec = OrderSpec {
    fields: SPOT_ORDER_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: spot_unit,
    source: "bitget.com/api-doc/spot/trade/Place-Order (POST /api/v2/spot/trade/place-order)",
};

/// Each item of `POST /api/v2/spot/trade/batch-orders`. Beside `orderList` stand `symbol`
/// and `batchMode`: in `single` mode (the default) Bitget ignores an item's `symbol`, in
/// `multiple` mode the outer one. The reader reads the outer `symbol` into every item and
/// refuses an item that names a symbol of its own beside it, so the two cannot disagree.
const SPOT_BATCH_FIELDS: &[Field] = fields![
    &[("symbol", Instrument), ("batchMode", Inert)],
    SPOT_TERMS,
    &[("stpMode", Inert)],
    SPOT_PRESET_TP_SL,
];

pub const SPOT_BATCH: OrderSpec = OrderSpec {
    fields: SPOT_BATCH_FIELDS,
    source:
        "bitget.com/api-doc/spot/trade/Batch-Place-Orders (POST /api/v2/spot/trade/batch-orders)",
    ..SPOT_ORDER
};

/// `POST /api/v2/spot/trade/cancel-replace-order`: cancels an order and places a new limit
/// order of `size` base coins at `price` (both required).
///
/// `orderType` is not on Bitget's page, but ccxt's `edit_order` sends it (the type the bot
/// asked for, `limit` or `market`, where a market buy's `size` is ccxt's cost in the quote
/// coin). Read as the new order's type: `limit`, the only order this endpoint documents, is
/// accepted; any other value could change what `size` counts if Bitget read it, so
/// `replace_unit` refuses it.
const SPOT_REPLACE_FIELDS: &[Field] = fields![
    &[
        ("symbol", Instrument),
        ("orderType", Type),
        ("price", Price),
        ("size", BaseSize),
        ("clientOid", Inert),
        ("orderId", Inert),
        ("newClientOid", Inert),
    ],
    SPOT_PRESET_TP_SL,
];

pub const SPOT_REPLACE: OrderSpec = OrderSpec {
    fields: SPOT_REPLACE_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: &[],
    default_type: Some("limit"),
    size_unit: replace_unit,
    source: "bitget.com/api-doc/spot/trade/Cancel-Replace-Order (POST /api/v2/spot/trade/cancel-replace-order); `orderType` as ccxt's edit_order sends it",
};

/// A cancel-replace places a limit order of `size` base coins; an `orderType` naming any other
/// type is refused, since `size` would then count what keyward cannot tell.
fn replace_unit(order: &Order) -> Result<SizeUnit, String> {
    match order.order_type.as_deref() {
        Some("limit") => Ok(SizeUnit::Base),
        other => Err(format!(
            "orderType={} on a cancel-replace: Bitget documents this endpoint for limit orders only, and keyward cannot tell what 'size' counts on another type; send orderType=limit or leave it out",
            other.unwrap_or("(none)")
        )),
    }
}

/// `POST /api/v2/spot/trade/place-plan-order`.
const SPOT_PLAN_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("side", Side),
    ("triggerPrice", TriggerPrice),
    ("orderType", Type),
    // The limit price of the order placed when triggered ("required when orderType=limit").
    ("executePrice", Price),
    // `amount` (base, default) or `total` (quote): read by `spot_plan_unit`.
    ("planType", Inert),
    ("size", BaseSize),
    ("triggerType", Inert),
    ("clientOid", Inert),
    ("stpMode", Inert),
];

pub const SPOT_PLAN: OrderSpec = OrderSpec {
    fields: SPOT_PLAN_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: spot_plan_unit,
    source:
        "bitget.com/api-doc/spot/plan/Place-Plan-Order (POST /api/v2/spot/trade/place-plan-order)",
};

/// `POST /api/v2/spot/trade/modify-plan-order`: `size` is "If planType=amount ... the base
/// coin. If planType=total ... the quote coin", and `planType` is the original order's, not in
/// the request, so a size bound cannot be applied (see `unknown_plan_unit`).
const SPOT_MODIFY_PLAN_FIELDS: &[(&str, Meaning)] = &[
    ("orderId", Inert),
    ("clientOid", Inert),
    ("triggerPrice", TriggerPrice),
    ("orderType", Type),
    ("executePrice", Price),
    ("size", BaseSize),
];

pub const SPOT_MODIFY_PLAN: OrderSpec = OrderSpec {
    fields: SPOT_MODIFY_PLAN_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: unknown_plan_unit,
    source:
        "bitget.com/api-doc/spot/plan/Modify-Plan-Order (POST /api/v2/spot/trade/modify-plan-order)",
};

/// The instrument of a futures order, on an order and a batch item.
const MIX_SYMBOL: &[Field] = &[("symbol", Instrument), ("productType", Inert)];

/// `POST /api/v2/mix/order/place-order`.
const MIX_ORDER_FIELDS: &[Field] = fields![
    MIX_SYMBOL,
    &[("marginMode", Inert), ("marginCoin", Inert)],
    MIX_TERMS,
    &[
        ("presetStopSurplusExecutePrice", Inert),
        ("presetStopLossExecutePrice", Inert),
        ("stpMode", Inert),
    ],
];

/// A futures order's size, price, side, type and preset take-profit / stop-loss, on an order
/// and a batch item.
const MIX_TERMS: &[Field] = &[
    ("size", BaseSize),
    ("price", Price),
    ("side", Side),
    // `open`/`close` in hedge mode; ignored in one-way mode.
    ("tradeSide", Inert),
    ("orderType", Type),
    ("force", Inert),
    ("clientOid", Inert),
    // `YES`/`NO`: see the module comment.
    ("reduceOnly", ReduceOnlyAs(&YES_NO)),
    ("presetStopSurplusPrice", Inert),
    ("presetStopLossPrice", Inert),
];

pub const MIX_ORDER: OrderSpec = OrderSpec {
    fields: MIX_ORDER_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: base_unit,
    source: "bitget.com/api-doc/contract/trade/Place-Order (POST /api/v2/mix/order/place-order)",
};

/// Each item of `POST /api/v2/mix/order/batch-place-order`; `symbol`, `productType`,
/// `marginCoin` and `marginMode` stand beside `orderList`.
const MIX_BATCH_FIELDS: &[Field] = fields![
    MIX_SYMBOL,
    &[("marginCoin", Inert), ("marginMode", Inert)],
    MIX_TERMS,
    &[("stpMode", Inert)],
];

pub const MIX_BATCH: OrderSpec = OrderSpec {
    fields: MIX_BATCH_FIELDS,
    source:
        "bitget.com/api-doc/contract/trade/Batch-Order (POST /api/v2/mix/order/batch-place-order)",
    ..MIX_ORDER
};

/// `POST /api/v2/mix/order/modify-order`: "It is only allowed to modify the new status limit
/// order"; a new size and price cancel it and place a new limit order.
const MIX_MODIFY_FIELDS: &[(&str, Meaning)] = &[
    ("orderId", Inert),
    ("clientOid", Inert),
    ("symbol", Instrument),
    ("productType", Inert),
    ("newClientOid", Inert),
    ("newSize", BaseSize),
    ("newPrice", Price),
    ("newPresetStopSurplusPrice", Inert),
    ("newPresetStopLossPrice", Inert),
];

pub const MIX_MODIFY: OrderSpec = OrderSpec {
    fields: MIX_MODIFY_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: &[],
    default_type: Some("limit"),
    size_unit: base_unit,
    source: "bitget.com/api-doc/contract/trade/Modify-Order (POST /api/v2/mix/order/modify-order)",
};

/// `POST /api/v2/mix/order/place-plan-order`: trigger (`normal_plan`) and trailing
/// (`track_plan`, market only) orders.
const MIX_PLAN_FIELDS: &[(&str, Meaning)] = &[
    ("planType", Inert),
    ("symbol", Instrument),
    ("productType", Inert),
    ("marginMode", Inert),
    ("marginCoin", Inert),
    ("size", BaseSize),
    // The limit price of a `normal_plan` limit order; empty for market and trailing orders.
    ("price", Price),
    ("callbackRatio", Inert),
    ("triggerPrice", TriggerPrice),
    ("triggerType", Inert),
    ("side", Side),
    ("tradeSide", Inert),
    ("orderType", Type),
    ("clientOid", Inert),
    // `yes`/`no`.
    ("reduceOnly", ReduceOnlyAs(&YES_NO)),
    // Attached TP/SL (0 or empty execute price: at the market).
    ("stopSurplusTriggerPrice", Inert),
    ("stopSurplusExecutePrice", Inert),
    ("stopSurplusTriggerType", Inert),
    ("stopLossTriggerPrice", Inert),
    ("stopLossExecutePrice", Inert),
    ("stopLossTriggerType", Inert),
    ("stpMode", Inert),
];

pub const MIX_PLAN: OrderSpec = OrderSpec {
    fields: MIX_PLAN_FIELDS,
    limit_types: LIMIT_TYPES,
    market_types: MARKET_TYPES,
    default_type: None,
    size_unit: base_unit,
    source: "bitget.com/api-doc/contract/plan/Place-Plan-Order (POST /api/v2/mix/order/place-plan-order)",
};

/// `POST /api/v2/mix/order/modify-plan-order`. The request names no symbol (a symbol rule
/// refuses it) and not the order's type (no notional).
const MIX_MODIFY_PLAN_FIELDS: &[(&str, Meaning)] = &[
    ("orderId", Inert),
    ("clientOid", Inert),
    ("productType", Inert),
    ("newSize", BaseSize),
    ("newPrice", Price),
    ("newCallbackRatio", Inert),
    ("newTriggerPrice", TriggerPrice),
    ("newTriggerType", Inert),
    ("newStopSurplusTriggerPrice", Inert),
    ("newStopSurplusExecutePrice", Inert),
    ("newStopSurplusTriggerType", Inert),
    ("newStopLossTriggerPrice", Inert),
    ("newStopLossExecutePrice", Inert),
    ("newStopLossTriggerType", Inert),
];

pub const MIX_MODIFY_PLAN: OrderSpec = OrderSpec {
    fields: MIX_MODIFY_PLAN_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit: base_unit,
    source: "bitget.com/api-doc/contract/plan/Modify-Plan-Order (POST /api/v2/mix/order/modify-plan-order)",
};

/// `POST /api/v2/mix/order/place-tpsl-order`: a take-profit / stop-loss order closing `size`
/// of the position held on `holdSide` (`holdSide` is the position, not the order's side, so a
/// side rule cannot be met). `executePrice` "0 or not filled in means market price
/// execution": a sentinel the reader cannot tell from a price, so it is read as a price
/// override (no bounded price). Position TP/SL (`pos_profit`, `pos_loss`) has an empty size
/// and is refused.
const MIX_TPSL_FIELDS: &[(&str, Meaning)] = &[
    ("marginCoin", Inert),
    ("productType", Inert),
    ("symbol", Instrument),
    ("planType", Type),
    ("triggerPrice", TriggerPrice),
    ("triggerType", Inert),
    ("executePrice", PriceOverride),
    ("holdSide", Inert),
    ("size", BaseSize),
    ("rangeRate", Inert),
    ("clientOid", Inert),
    ("stpMode", Inert),
];

pub const MIX_TPSL: OrderSpec = OrderSpec {
    fields: MIX_TPSL_FIELDS,
    limit_types: &[],
    market_types: &[],
    default_type: None,
    size_unit: base_unit,
    source: "bitget.com/api-doc/contract/plan/Place-Tpsl-Order (POST /api/v2/mix/order/place-tpsl-order)",
};

/// `POST /api/v2/mix/order/modify-tpsl-order`.
const MIX_MODIFY_TPSL_FIELDS: &[(&str, Meaning)] = &[
    ("orderId", Inert),
    ("clientOid", Inert),
    ("marginCoin", Inert),
    ("productType", Inert),
    ("symbol", Instrument),
    ("triggerPrice", TriggerPrice),
    ("triggerType", Inert),
    ("executePrice", PriceOverride),
    ("size", BaseSize),
    ("rangeRate", Inert),
];

pub const MIX_MODIFY_TPSL: OrderSpec = OrderSpec {
    fields: MIX_MODIFY_TPSL_FIELDS,
    source: "bitget.com/api-doc/contract/plan/Modify-Tpsl-Order (POST /api/v2/mix/order/modify-tpsl-order)",
    ..MIX_TPSL
};

/// `POST /api/v2/mix/order/click-backhand`: a market order that closes the position and
/// opens the opposite one. In hedge mode it reverses `size` (or the whole position when
/// `size` is at least the position); in one-way mode "the whole position will be reversed if
/// no `size` was set", and what a `size` does there is not documented, so `reversal_unit`
/// refuses a one-way (no `tradeSide`) reversal.
const MIX_REVERSAL_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("marginCoin", Inert),
    ("productType", Inert),
    ("size", BaseSize),
    ("side", Side),
    ("tradeSide", Inert),
    ("clientOid", Inert),
];

pub const MIX_REVERSAL: OrderSpec = OrderSpec {
    fields: MIX_REVERSAL_FIELDS,
    limit_types: &[],
    market_types: MARKET_TYPES,
    default_type: Some("market"),
    size_unit: reversal_unit,
    source: "bitget.com/api-doc/contract/trade/Reversal (POST /api/v2/mix/order/click-backhand)",
};

/// `POST /api/v2/mix/order/close-positions`: closes the whole position (or every position
/// when `symbol` is left out) at the market; it has no size, so a size bound refuses it
/// ([`SizeUnit::WholePosition`]).
const MIX_CLOSE_FIELDS: &[(&str, Meaning)] = &[
    ("symbol", Instrument),
    ("holdSide", Inert),
    ("productType", Inert),
];

pub const MIX_CLOSE: OrderSpec = OrderSpec {
    fields: MIX_CLOSE_FIELDS,
    limit_types: &[],
    market_types: MARKET_TYPES,
    default_type: Some("market"),
    size_unit: close_unit,
    source: "bitget.com/api-doc/contract/trade/Flash-Close-Position (POST /api/v2/mix/order/close-positions)",
};

/// A spot order's `size`: the quote coin for a market buy, else the base coin.
fn spot_unit(order: &Order) -> Result<SizeUnit, String> {
    quote_on_market_buy(order, "orderType", "size")
}

fn spot_plan_unit(order: &Order) -> Result<SizeUnit, String> {
    match order.field("planType") {
        None | Some("amount") => Ok(SizeUnit::Base),
        Some("total") => Ok(SizeUnit::Quote),
        Some(other) => Err(format!(
            "planType={other} is neither amount nor total; keyward cannot tell what 'size' counts"
        )),
    }
}

fn unknown_plan_unit(order: &Order) -> Result<SizeUnit, String> {
    if order.base_size.is_some() {
        return Err(
            "a modified spot plan order's 'size' counts the base or the quote coin by the original order's planType, which the request does not say; cancel it and place a new one"
                .to_owned(),
        );
    }
    Ok(SizeUnit::Base)
}

fn close_unit(_: &Order) -> Result<SizeUnit, String> {
    Ok(SizeUnit::WholePosition(
        "close-positions closes the whole position at the market, a size keyward cannot know",
    ))
}

fn reversal_unit(order: &Order) -> Result<SizeUnit, String> {
    if order.field("tradeSide").is_none() {
        return Err(
            "a one-way-mode reversal (no 'tradeSide') reverses the whole position, whose size keyward cannot know"
                .to_owned(),
        );
    }
    Ok(SizeUnit::Base)
}

/// The batch endpoints' orders: the array `orderList`, beside the `shared` fields.
const fn order_list(shared: &'static [&'static str]) -> Layout {
    Layout::JsonArrayInMember(Batch {
        name: "orderList",
        shared,
    })
}

/// Every order-creating or amending endpoint of `bitget:trade` (spot and futures).
pub const ORDER_ENDPOINTS: &[OrderEndpoint] = &[
    post("/api/v2/spot/trade/place-order", &SPOT_ORDER),
    post("/api/v2/spot/trade/cancel-replace-order", &SPOT_REPLACE),
    endpoint(
        Method::Post,
        "/api/v2/spot/trade/batch-orders",
        order_list(&["symbol", "batchMode"]),
        &SPOT_BATCH,
    ),
    post("/api/v2/spot/trade/place-plan-order", &SPOT_PLAN),
    post("/api/v2/spot/trade/modify-plan-order", &SPOT_MODIFY_PLAN),
    post("/api/v2/mix/order/place-order", &MIX_ORDER),
    post("/api/v2/mix/order/modify-order", &MIX_MODIFY),
    endpoint(
        Method::Post,
        "/api/v2/mix/order/batch-place-order",
        order_list(&["symbol", "productType", "marginCoin", "marginMode"]),
        &MIX_BATCH,
    ),
    post("/api/v2/mix/order/click-backhand", &MIX_REVERSAL),
    post("/api/v2/mix/order/close-positions", &MIX_CLOSE),
    post("/api/v2/mix/order/place-tpsl-order", &MIX_TPSL),
    post("/api/v2/mix/order/modify-tpsl-order", &MIX_MODIFY_TPSL),
    post("/api/v2/mix/order/place-plan-order", &MIX_PLAN),
    post("/api/v2/mix/order/modify-plan-order", &MIX_MODIFY_PLAN),
];

#[cfg(test)]
mod tests {
    use crate::order::testing::{Bot, Refusal};

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    const SPOT: &str = "/api/v2/spot/trade/place-order";
    const MIX: &str = "/api/v2/mix/order/place-order";
    const MAX: &[(&str, &str)] = &[("size", "1"), ("notional", "50000")];
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];

    #[test]
    fn spot_sizes_however_expressed() {
        for body in [
            r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.5","clientOid":"1"}"#,
            r#"{"symbol":"BTCUSDT","side":"sell","orderType":"limit","force":"post_only","price":"30000","size":"0.5","presetTakeProfitPrice":"20000","presetStopLossPrice":"40000"}"#,
            r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.5","tpslType":"tpsl","triggerPrice":"29000"}"#,
        ] {
            BOT.judge(SPOT, body, MAX)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        // A market buy is sized in the quote coin.
        BOT.judge(
            SPOT,
            r#"{"symbol":"BTCUSDT","side":"buy","orderType":"market","force":"gtc","size":"20000"}"#,
            NOTIONAL,
        )
        .unwrap();
        BOT.refused(
            SPOT,
            r#"{"symbol":"BTCUSDT","side":"buy","orderType":"market","force":"gtc","size":"60000"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        BOT.refused(
            SPOT,
            r#"{"symbol":"BTCUSDT","side":"buy","orderType":"market","force":"gtc","size":"10"}"#,
            &[("size", "1")],
            "base size cannot be established",
        );
        // A market sell is base-sized: a decoy price makes no notional.
        BOT.judge(
            SPOT,
            r#"{"symbol":"BTCUSDT","side":"sell","orderType":"market","size":"0.5"}"#,
            &[("size", "1")],
        )
        .unwrap();
        let cases: &[Refusal] = &[
            (
                r#"{"symbol":"BTCUSDT","side":"sell","orderType":"market","size":"0.5","price":"0.01"}"#,
                MAX,
                "market executes at the market",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1","size":"2"}"#,
                MAX,
                "size 2 exceeds",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"60000","size":"1"}"#,
                MAX,
                "notional 60000 exceeds",
            ),
            // A type or side in another case could be read by Bitget as a market buy: refused.
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"MARKET","size":"10"}"#,
                &[("size", "100")],
                "orderType=MARKET",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"BUY","orderType":"market","size":"10"}"#,
                &[("size", "100")],
                "side=BUY",
            ),
        ];
        for &(body, max, says) in cases {
            BOT.refused(SPOT, body, max, says);
        }
        // Cancel-replace places a limit order.
        let replace = "/api/v2/spot/trade/cancel-replace-order";
        BOT.judge(
            replace,
            r#"{"symbol":"BTCUSDT","orderId":"1","price":"30000","size":"0.5"}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            replace,
            r#"{"symbol":"BTCUSDT","orderId":"1","price":"30000","size":"1.5"}"#,
            MAX,
            "size 1.5 exceeds",
        );
        // ccxt's edit_order names the type: `limit` is the order this endpoint places ...
        let typed = r#"{"symbol":"BTCUSDT","orderId":"1","orderType":"limit","price":"30000","size":"0.5"}"#;
        BOT.judge(replace, typed, MAX).unwrap();
        BOT.refused(
            replace,
            &typed.replace("0.5", "1.5"),
            MAX,
            "size 1.5 exceeds",
        );
        // ... any other type (ccxt sends a market buy's cost as `size`) is refused.
        for other in ["market", "LIMIT", ""] {
            BOT.refused(
                replace,
                &typed.replace("\"limit\"", &format!("{other:?}")),
                &[("size", "100")],
                &format!("orderType={other}"),
            );
        }
        BOT.refused(
            replace,
            &typed.replace("orderType", "order_type"),
            MAX,
            "another spelling of 'orderType'",
        );
    }

    #[test]
    fn spot_plan_orders_by_amount_or_total() {
        let plan = "/api/v2/spot/trade/place-plan-order";
        BOT.judge(
            plan,
            r#"{"symbol":"BTCUSDT","side":"buy","triggerPrice":"29000","executePrice":"30000","size":"0.5","triggerType":"mark_price","orderType":"limit"}"#,
            MAX,
        )
        .unwrap();
        let cases: &[Refusal] = &[
            (
                r#"{"symbol":"BTCUSDT","side":"buy","triggerPrice":"29000","size":"5","triggerType":"fill_price","orderType":"market","planType":"amount"}"#,
                &[("size", "1")],
                "size 5 exceeds",
            ),
            // `planType=total` makes the size a quote amount.
            (
                r#"{"symbol":"BTCUSDT","side":"buy","triggerPrice":"29000","size":"60000","triggerType":"fill_price","orderType":"market","planType":"total"}"#,
                NOTIONAL,
                "notional 60000 exceeds",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","triggerPrice":"29000","size":"0.5","triggerType":"fill_price","orderType":"market","planType":"amount","executePrice":"1"}"#,
                MAX,
                "market executes at the market",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","triggerPrice":"29000","size":"5","triggerType":"fill_price","orderType":"market","planType":"Total"}"#,
                MAX,
                "planType=Total",
            ),
        ];
        for &(body, max, says) in cases {
            BOT.refused(plan, body, max, says);
        }
        // A modification's unit is the original order's.
        BOT.refused(
            "/api/v2/spot/trade/modify-plan-order",
            r#"{"orderId":"1","triggerPrice":"29000","orderType":"limit","executePrice":"30000","size":"0.5"}"#,
            MAX,
            "planType",
        );
    }

    #[test]
    fn futures_orders_amends_and_closes() {
        let ok = r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.5","price":"30000","side":"buy","tradeSide":"open","orderType":"limit","force":"gtc","clientOid":"1","reduceOnly":"NO"}"#;
        BOT.judge(MIX, ok, MAX).unwrap();
        BOT.refused(
            MIX,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"crossed","marginCoin":"USDT","size":"3","side":"buy","orderType":"market","price":"1"}"#,
            &[("size", "1")],
            "size 3 exceeds",
        );
        BOT.refused(
            MIX,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"crossed","marginCoin":"USDT","size":"0.5","side":"buy","orderType":"market","price":"1"}"#,
            MAX,
            "market executes at the market",
        );
        let modify = "/api/v2/mix/order/modify-order";
        BOT.judge(
            modify,
            r#"{"orderId":"1","symbol":"BTCUSDT","productType":"USDT-FUTURES","newClientOid":"2","newSize":"0.5","newPrice":"30000"}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            modify,
            r#"{"orderId":"1","symbol":"BTCUSDT","productType":"USDT-FUTURES","newClientOid":"2","newSize":"0.9","newPrice":"90000"}"#,
            MAX,
            "notional 81000.0 exceeds",
        );
        BOT.refused(
            modify,
            r#"{"orderId":"1","symbol":"BTCUSDT","productType":"USDT-FUTURES","newClientOid":"2","newSize":"4","newPrice":"1"}"#,
            MAX,
            "size 4 exceeds",
        );
        let backhand = "/api/v2/mix/order/click-backhand";
        BOT.judge(
            backhand,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","size":"0.5","side":"buy","tradeSide":"open"}"#,
            &[("size", "1")],
        )
        .unwrap();
        BOT.refused(
            backhand,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","size":"5","side":"buy","tradeSide":"open"}"#,
            &[("size", "1")],
            "size 5 exceeds",
        );
        BOT.refused(
            backhand,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","size":"0.5","side":"buy"}"#,
            &[("size", "1")],
            "one-way-mode reversal",
        );
        BOT.refused(
            "/api/v2/mix/order/close-positions",
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES"}"#,
            &[("size", "1")],
            "close-positions closes the whole position",
        );
        BOT.judge_with(
            "/api/v2/mix/order/close-positions",
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","holdSide":"long"}"#,
            &[("symbol", &["BTCUSDT"])],
            &[],
        )
        .unwrap();
        // Without a symbol it closes every position: a symbol rule refuses it.
        let e = BOT
            .judge_with(
                "/api/v2/mix/order/close-positions",
                r#"{"productType":"USDT-FUTURES"}"#,
                &[("symbol", &["BTCUSDT"])],
                &[],
            )
            .unwrap_err();
        assert!(e.contains("'symbol' is required"), "{e}");
    }

    #[test]
    fn futures_reduce_only_words_and_units() {
        let order = |reduce: &str| {
            format!(
                r#"{{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"crossed","marginCoin":"USDT","size":"0.5","price":"30000","side":"sell","orderType":"limit","reduceOnly":"{reduce}"}}"#
            )
        };
        let plan = |reduce: &str| {
            format!(
                r#"{{"planType":"normal_plan","symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.5","price":"30000","triggerPrice":"29000","triggerType":"mark_price","side":"sell","orderType":"limit","reduceOnly":"{reduce}"}}"#
            )
        };
        let batch = |reduce: &str| {
            format!(
                r#"{{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","marginMode":"crossed","orderList":[{{"size":"0.5","price":"1","side":"sell","orderType":"limit","reduceOnly":"{reduce}"}}]}}"#
            )
        };
        let plan_path = "/api/v2/mix/order/place-plan-order";
        let batch_path = "/api/v2/mix/order/batch-place-order";
        for (path, body) in [
            (MIX, &order as &dyn Fn(&str) -> String),
            (plan_path, &plan),
            (batch_path, &batch),
        ] {
            for (word, flag) in [
                ("YES", true),
                ("yes", true),
                ("NO", false),
                ("no", false),
                ("", false),
            ] {
                let orders = BOT
                    .judge(path, &body(word), MAX)
                    .unwrap_or_else(|e| panic!("{path} {word}: {e}"));
                assert_eq!(orders[0].reduce_only, flag, "{path} {word}");
            }
            for other in ["true", "Yes", "1", " "] {
                BOT.refused(
                    path,
                    &body(other),
                    &[],
                    r#"'reduceOnly' must be one of "YES", "yes", "NO", "no", "", not"#,
                );
            }
        }
        // COIN-M sizes in the base coin as well: valued at the limit price.
        BOT.refused(
            MIX,
            r#"{"symbol":"BTCUSD","productType":"COIN-FUTURES","marginMode":"crossed","marginCoin":"BTC","size":"2","price":"30000","side":"buy","orderType":"limit"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        // A market plan order's price is no bound for a price rule.
        BOT.refused(
            plan_path,
            r#"{"planType":"normal_plan","symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.5","price":"1","triggerPrice":"29000","triggerType":"fill_price","side":"buy","orderType":"market"}"#,
            &[("price", "50000")],
            "a market order has no price to bound (it is a market order, which executes at the market whatever its 'price' says)",
        );
    }

    #[test]
    fn futures_plan_and_tpsl_orders() {
        let plan = "/api/v2/mix/order/place-plan-order";
        BOT.judge(
            plan,
            r#"{"planType":"normal_plan","symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.5","price":"30000","triggerPrice":"29000","triggerType":"mark_price","side":"buy","orderType":"limit","stopLossTriggerPrice":"20000","stopLossExecutePrice":"0"}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            plan,
            r#"{"planType":"track_plan","symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"2","callbackRatio":"1","triggerPrice":"29000","triggerType":"fill_price","side":"buy","orderType":"market"}"#,
            &[("size", "1")],
            "size 2 exceeds",
        );
        BOT.refused(
            plan,
            r#"{"planType":"normal_plan","symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"0.5","price":"1","triggerPrice":"29000","triggerType":"fill_price","side":"buy","orderType":"market"}"#,
            MAX,
            "market executes at the market",
        );
        let modify = "/api/v2/mix/order/modify-plan-order";
        BOT.refused(
            modify,
            r#"{"orderId":"1","productType":"USDT-FUTURES","newSize":"3","newTriggerPrice":"1"}"#,
            &[("size", "1")],
            "size 3 exceeds",
        );
        BOT.refused(
            modify,
            r#"{"orderId":"1","productType":"USDT-FUTURES","newSize":"0.5","newPrice":"1"}"#,
            MAX,
            "notional",
        );
        let tpsl = "/api/v2/mix/order/place-tpsl-order";
        BOT.judge(
            tpsl,
            r#"{"marginCoin":"USDT","productType":"USDT-FUTURES","symbol":"BTCUSDT","planType":"loss_plan","triggerPrice":"20000","triggerType":"mark_price","executePrice":"0","holdSide":"long","size":"0.5"}"#,
            &[("size", "1")],
        )
        .unwrap();
        BOT.refused(
            tpsl,
            r#"{"marginCoin":"USDT","productType":"USDT-FUTURES","symbol":"BTCUSDT","planType":"profit_plan","triggerPrice":"40000","executePrice":"0","holdSide":"long","size":"7"}"#,
            &[("size", "1")],
            "size 7 exceeds",
        );
        // `executePrice` 0 is the market: no notional from it.
        BOT.refused(
            tpsl,
            r#"{"marginCoin":"USDT","productType":"USDT-FUTURES","symbol":"BTCUSDT","planType":"profit_plan","triggerPrice":"40000","executePrice":"0","holdSide":"long","size":"0.5"}"#,
            NOTIONAL,
            "executePrice",
        );
        // Position TP/SL has an empty size.
        BOT.refused(
            tpsl,
            r#"{"marginCoin":"USDT","productType":"USDT-FUTURES","symbol":"BTCUSDT","planType":"pos_loss","triggerPrice":"20000","holdSide":"long","size":""}"#,
            &[("size", "1")],
            "not a plain decimal",
        );
        BOT.refused(
            "/api/v2/mix/order/modify-tpsl-order",
            r#"{"orderId":"1","marginCoin":"USDT","productType":"USDT-FUTURES","symbol":"BTCUSDT","triggerPrice":"20000","size":"9"}"#,
            &[("size", "1")],
            "size 9 exceeds",
        );
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let spot = "/api/v2/spot/trade/batch-orders";
        BOT.judge(
            spot,
            r#"{"symbol":"BTCUSDT","orderList":[{"side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.5"},{"side":"sell","orderType":"limit","force":"gtc","price":"30000","size":"0.9"}]}"#,
            MAX,
        )
        .unwrap();
        let e = BOT.judge(
            spot,
            r#"{"symbol":"BTCUSDT","orderList":[{"side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.5"},{"side":"buy","orderType":"market","force":"gtc","size":"90000"}]}"#,
            NOTIONAL,
        )
        .unwrap_err();
        assert!(e.starts_with("orderList[1]: notional 90000"), "{e}");
        // In `multiple` mode each item names its symbol; an item cannot name another symbol
        // beside the outer one (Bitget would use one, keyward's rule the other).
        BOT.judge_with(
            spot,
            r#"{"batchMode":"multiple","orderList":[{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1","size":"0.5"}]}"#,
            &[("symbol", &["BTCUSDT"])],
            &[],
        )
        .unwrap();
        let e = BOT.judge_with(
            spot,
            r#"{"symbol":"BTCUSDT","orderList":[{"symbol":"PEPEUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1","size":"0.5"}]}"#,
            &[("symbol", &["BTCUSDT"])],
            &[],
        )
        .unwrap_err();
        assert!(
            e.contains("'symbol' is given beside the batch and again in the order"),
            "{e}"
        );
        let mix = "/api/v2/mix/order/batch-place-order";
        let e = BOT.judge(
            mix,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","marginMode":"crossed","orderList":[{"size":"0.5","price":"1","side":"buy","orderType":"limit"},{"size":"2","price":"1","side":"buy","orderType":"limit"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(e.starts_with("orderList[1]: size 2 exceeds"), "{e}");
        let e = BOT.judge(
            mix,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","marginMode":"crossed","leverage":"100","orderList":[{"size":"0.5","price":"1","side":"buy","orderType":"limit"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(
            e.contains("'leverage' is not read by keyward beside the batch"),
            "{e}"
        );
        let e = BOT.judge(
            mix,
            r#"{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT","marginMode":"crossed","orderList":[{"sıze":"5","size":"0.5","price":"1","side":"buy","orderType":"limit"}]}"#,
            MAX,
        )
        .unwrap_err();
        assert!(e.contains("not ASCII"), "{e}");
    }

    #[test]
    fn unknown_and_respelled_fields_are_refused() {
        for (body, says) in [
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1","size":"0.1","quantity":"9"}"#,
                "'quantity' is not a field",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1","Size":"9"}"#,
                "another spelling of 'size'",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","order_type":"limit","force":"gtc","price":"1","size":"0.1"}"#,
                "another spelling of 'orderType'",
            ),
            (
                r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"1,5","size":"0.1"}"#,
                "not a plain decimal",
            ),
        ] {
            let e = BOT.judge(SPOT, body, MAX).expect_err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }
}
