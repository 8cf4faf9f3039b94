//! Bitget v2's order endpoints: the rules their field tables (`orders.toml` beside this file)
//! name, and the tables' tests. The tables are written from Bitget's own API documentation (bitget.com/api-doc: spot/trade Place-Order, Batch-Place-Orders,
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
//! on all three ([`Meaning::ReduceOnlyAs`](crate::order::Meaning::ReduceOnlyAs)), anything else refused.

use crate::order::{quote_on_market_buy, Order, SizeUnit};

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

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [
    spot_unit,
    replace_unit,
    spot_plan_unit,
    unknown_plan_unit,
    reversal_unit,
    close_unit
]];

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
