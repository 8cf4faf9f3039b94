//! KuCoin's order endpoints: the rule their field tables (`orders.toml` beside this file) name,
//! and the tables' tests. The tables are written from KuCoin's own API specification (`Kucoin/kucoin-universal-sdk`, `spec/rest/api/openapi-spot-order.json`:
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

use crate::order::{Order, SizeUnit};

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

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [futures_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{Bot, Maxima};

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
            let refusals: [(&str, Maxima, &str); 6] = [
                (
                    r#""type":"limit","price":"1","size":"2""#,
                    MAX,
                    "size 2 exceeds",
                ),
                (
                    r#""type":"limit","price":"60000","size":"1""#,
                    MAX,
                    "notional 60000 exceeds",
                ),
                // Quote-sized market orders: bounded by their funds, not by a base size.
                (
                    r#""type":"market","funds":"60000""#,
                    NOTIONAL,
                    "notional 60000 exceeds",
                ),
                (
                    r#""type":"market","funds":"10""#,
                    &[("size", "1")],
                    "base size cannot be established",
                ),
                // A market order with a decoy price.
                (
                    r#""type":"market","size":"0.5","price":"0.01""#,
                    MAX,
                    "market executes at the market",
                ),
                (
                    r#""type":"market","size":"0.5","funds":"10""#,
                    MAX,
                    "both a base size ('size') and a quote size ('funds')",
                ),
            ];
            for (rest, max, says) in refusals {
                BOT.refused(path, &order(rest), max, says);
            }
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
