//! Bybit v5's order endpoints: the rules their field tables (`orders.toml` beside this file)
//! name, and the tables' tests. The tables are written from Bybit's own API documentation
//! (`bybit-exchange/docs`, `docs/v5/order/`: "Place Order" `create-order.mdx`, "Amend Order"
//! `amend-order.mdx`, "Batch Place Order" `batch-place.mdx`, "Batch Amend Order"
//! `batch-amend.mdx`; bybit-exchange.github.io/docs/v5/order/...).
//!
//! One endpoint serves every market; the `category` (`spot`, `linear`, `inverse`, `option`)
//! decides what `qty` counts:
//! - `linear`, `option`: the base coin (contracts of one coin, `qty × price` is the notional);
//! - `inverse` (inverse perpetuals and futures, `BTCUSD`): contracts of one USD ("Contract
//!   quantity quoted in USD", "1 USD per Contract" in Bybit's inverse contract specification),
//!   so `qty` is the order's notional in USD, also on a market order ([`SizeUnit::Inverse`]);
//! - `spot` limit orders: the base coin; `spot` market orders: chosen by `marketUnit`
//!   (`baseCoin` / `quoteCoin`), and without it the quote coin for a **buy** and the base coin
//!   for a sell.
//!
//! `qty` = `0` with `reduceOnly` and `closeOnTrigger` closes the position "up to
//! `maxMktOrderQty`": a size the request does not state, refused here.

use crate::order::{Order, SizeUnit};

/// The unit of a new order's `qty`, from its `category`, type, side and `marketUnit`.
fn create_unit(order: &Order) -> Result<SizeUnit, String> {
    refuse_zero_qty(order)?;
    match order.field("category") {
        Some("linear" | "option") => return Ok(SizeUnit::Base),
        Some("inverse") => return Ok(SizeUnit::Inverse),
        Some("spot") => {}
        Some(other) => {
            return Err(format!(
                "category={other} is not a Bybit category keyward knows; it cannot tell what 'qty' counts"
            ))
        }
        None => {
            return Err(
                "'category' is missing; keyward cannot tell what 'qty' counts".to_owned(),
            )
        }
    }
    match order.order_type.as_deref() {
        Some("Limit") => Ok(SizeUnit::Base),
        Some("Market") => match (order.field("marketUnit"), order.side.as_deref()) {
            (Some("baseCoin"), _) => Ok(SizeUnit::Base),
            (Some("quoteCoin"), _) => Ok(SizeUnit::Quote),
            (Some(other), _) => Err(format!(
                "marketUnit={other} is neither baseCoin nor quoteCoin; keyward cannot tell what 'qty' counts"
            )),
            // A spot market buy is "order by value by default".
            (None, Some("Buy")) => Ok(SizeUnit::Quote),
            (None, Some("Sell")) => Ok(SizeUnit::Base),
            (None, side) => Err(format!(
                "side={} is neither Buy nor Sell; keyward cannot tell what a spot market order's 'qty' counts",
                side.unwrap_or("(none)")
            )),
        },
        other => Err(format!(
            "orderType={} is neither Limit nor Market; keyward cannot tell what a spot order's 'qty' counts",
            other.unwrap_or("(none)")
        )),
    }
}

/// The unit of an amend's `qty`: that of the order amended ("Order quantity after
/// modification"), which the request does not name. Derivatives always count the base coin /
/// contracts. A spot order counts the base coin, except a spot *market* order (a resting
/// conditional one, `orderFilter=StopOrder`/`tpslOrder`), whose `qty` is the quote coin on a buy
/// by default. Bybit documents `price` only as a limit order's ("Order price after
/// modification"; "Market order will ignore this field"), so a spot amend that sets `qty`
/// together with `price` amends a priced (limit) order and its `qty` counts the base coin;
/// one that sets `qty` alone may amend a quote-sized conditional market buy and is refused.
fn amend_unit(order: &Order) -> Result<SizeUnit, String> {
    refuse_zero_qty(order)?;
    match order.field("category") {
        Some("linear" | "option") => Ok(SizeUnit::Base),
        Some("inverse") => Ok(SizeUnit::Inverse),
        Some("spot") if order.base_size.is_none() || order.price.is_some() => Ok(SizeUnit::Base),
        other if order.base_size.is_some() => Err(format!(
            "an amended {} order keeps the unit of its 'qty' (a conditional spot market buy counts the quote coin), which an amend without 'price' does not say; restate the order's 'price' or cancel it and place a new order",
            other.unwrap_or("(no category)")
        )),
        _ => Ok(SizeUnit::Base),
    }
}

fn refuse_zero_qty(order: &Order) -> Result<(), String> {
    if order.base_size.is_some_and(|q| q.is_zero()) {
        return Err(
            "qty=0 closes the position up to the symbol's maximum order size, which keyward cannot bound; send the size to close"
                .to_owned(),
        );
    }
    Ok(())
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [create_unit, amend_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{Bot, Refusal};

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    const CREATE_PATH: &str = "/v5/order/create";
    const MAX: &[(&str, &str)] = &[("qty", "1"), ("notional", "50000")];
    /// For orders sized in the quote coin, whose base size a market order cannot establish.
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];

    #[test]
    fn within_limit_orders_pass_in_each_form() {
        for body in [
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"30000","timeInForce":"GTC","positionIdx":0,"reduceOnly":false}"#,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"30000","isLeverage":0,"orderFilter":"Order"}"#,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"30000","takeProfit":"35000","stopLoss":"27000","tpOrderType":"Limit","tpLimitPrice":"36000","slOrderType":"Market"}"#,
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Sell","orderType":"Limit","qty":"1","price":"30000"}"#,
        ] {
            BOT.judge(CREATE_PATH, body, MAX)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        // Spot market buys in the quote coin, by default or by `marketUnit`.
        for body in [
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"20000"}"#,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"20000","marketUnit":"quoteCoin"}"#,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"20000","marketUnit":"quoteCoin"}"#,
        ] {
            BOT.judge(CREATE_PATH, body, NOTIONAL)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        // A market sell in the base coin passes a size bound (no notional bound).
        BOT.judge(
            CREATE_PATH,
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.5"}"#,
            &[("qty", "1")],
        )
        .unwrap();
    }

    #[test]
    fn over_limit_sizes_and_prices_are_refused() {
        let cases: &[Refusal] = &[
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"2","price":"1"}"#,
                MAX,
                "qty 2 exceeds",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"60000"}"#,
                MAX,
                "notional 60000 exceeds",
            ),
            // A market order with a decoy price: the price is ignored, the notional unknown.
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.9","price":"0.01"}"#,
                MAX,
                "Market executes at the market",
            ),
            // Spot market buys are sized in the quote coin by default...
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"60000"}"#,
                NOTIONAL,
                "notional 60000 exceeds",
            ),
            // ... and cannot be bounded in the base coin.
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"10"}"#,
                &[("qty", "1")],
                "base size cannot be established",
            ),
            // `marketUnit=baseCoin` makes it a base-coin market order: bounded by size, not notional.
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"5","marketUnit":"baseCoin"}"#,
                &[("qty", "1")],
                "qty 5 exceeds",
            ),
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.5","marketUnit":"baseCoin"}"#,
                MAX,
                "notional",
            ),
            // A quote-coin market sell is bounded by its notional.
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"90000","marketUnit":"quoteCoin"}"#,
                NOTIONAL,
                "notional 90000 exceeds",
            ),
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"5","marketUnit":"BaseCoin"}"#,
                MAX,
                "marketUnit=BaseCoin",
            ),
            // Priced by implied volatility or by the book: no bounded price.
            (
                r#"{"category":"option","symbol":"BTC-30DEC22-18000-C","side":"Buy","orderType":"Limit","qty":"0.1","price":"1","orderIv":"5","orderLinkId":"a"}"#,
                MAX,
                "orderIv",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1","bboSideType":"Counterparty","bboLevel":"1"}"#,
                MAX,
                "bboSideType",
            ),
            // qty=0 with the closing flags closes up to the maximum size.
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0","reduceOnly":true,"closeOnTrigger":true}"#,
                &[("qty", "1")],
                "qty=0 closes",
            ),
            (
                r#"{"category":"futures","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1"}"#,
                MAX,
                "category=futures",
            ),
        ];
        for &(body, max, says) in cases {
            BOT.refused(CREATE_PATH, body, max, says);
        }
    }

    #[test]
    fn inverse_qty_is_the_usd_notional() {
        // 40000 contracts of 1 USD: a notional of 40000 USD, limit or market.
        for body in [
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Buy","orderType":"Limit","qty":"40000","price":"30000"}"#,
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Buy","orderType":"Market","qty":"40000"}"#,
            r#"{"category":"inverse","symbol":"BTCUSDH25","side":"Sell","orderType":"Market","qty":"40000","reduceOnly":true}"#,
        ] {
            BOT.judge(CREATE_PATH, body, NOTIONAL)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
            BOT.refused(
                CREATE_PATH,
                &body.replace("40000", "60000"),
                NOTIONAL,
                "notional 60000 exceeds",
            );
        }
        // A decoy price does not shrink it.
        BOT.refused(
            CREATE_PATH,
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Buy","orderType":"Limit","qty":"60000","price":"0.01"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        // `qty` is bounded as written.
        BOT.refused(
            CREATE_PATH,
            r#"{"category":"inverse","symbol":"BTCUSD","side":"Buy","orderType":"Limit","qty":"2","price":"30000"}"#,
            &[("qty", "1")],
            "qty 2 exceeds",
        );
        // Amends and batches alike.
        BOT.refused(
            "/v5/order/amend",
            r#"{"category":"inverse","symbol":"BTCUSD","orderId":"1","qty":"60000"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        BOT.judge(
            "/v5/order/amend",
            r#"{"category":"inverse","symbol":"BTCUSD","orderId":"1","qty":"100"}"#,
            NOTIONAL,
        )
        .unwrap();
        let e = BOT.judge(
            "/v5/order/create-batch",
            r#"{"category":"inverse","request":[{"symbol":"BTCUSD","side":"Buy","orderType":"Market","qty":"100"},{"symbol":"BTCUSD","side":"Buy","orderType":"Market","qty":"60000"}]}"#,
            NOTIONAL,
        )
        .unwrap_err();
        assert!(e.starts_with("request[1]: notional 60000 exceeds"), "{e}");
        // Linear `qty` stays the base coin, valued at its limit price.
        BOT.refused(
            CREATE_PATH,
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"2","price":"30000"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        // A market order's decoy price is no bound for a price rule.
        BOT.refused(
            CREATE_PATH,
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","price":"0.01"}"#,
            &[("price", "50000")],
            "a market order has no price to bound (it is a Market order",
        );
    }

    #[test]
    fn unknown_respelled_and_non_ascii_names_are_refused() {
        for (body, says) in [
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1","orderQty":"50"}"#,
                "'orderQty' is not a field",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","Qty":"50","price":"1"}"#,
                "another spelling of 'qty'",
            ),
            (
                r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"10","market_unit":"baseCoin"}"#,
                "another spelling of 'marketUnit'",
            ),
            (
                r#"{"category":"linear","ſymbol":"ETHUSDT","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1"}"#,
                "not ASCII",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1e3","price":"1"}"#,
                "not a plain decimal",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1","bboSideType":"Queue","orderIv":"1"}"#,
                "price is set by",
            ),
        ] {
            let e = BOT.judge(CREATE_PATH, body, MAX).expect_err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let path = "/v5/order/create-batch";
        let ok = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"30000"},{"symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.7","price":"30000"}]}"#;
        BOT.judge(path, ok, MAX).unwrap();
        let big = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"30000"},{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"5","price":"1"}]}"#;
        let e = BOT.judge(path, big, MAX).unwrap_err();
        assert!(e.starts_with("request[1]: ") && e.contains("qty 5"), "{e}");
        // The shared `category` decides each item's unit: a spot market buy is a quote size.
        let spot = r#"{"category":"spot","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"90000"}]}"#;
        let e = BOT.judge(path, spot, NOTIONAL).unwrap_err();
        assert!(e.contains("request[0]: notional 90000"), "{e}");
        // An item that names another category than the batch's could be read in either unit
        // (spot: 1000 USDT; linear: 1000 ETH): refused.
        let other = r#"{"category":"spot","request":[{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1000"}]}"#;
        let e = BOT.judge(path, other, NOTIONAL).unwrap_err();
        assert!(
            e.contains("'category' is given beside the batch and again in the order"),
            "{e}"
        );
        // Only the documented `category` may stand beside the batch.
        let beside = r#"{"category":"linear","qty":"0.1","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"5","price":"1"}]}"#;
        let e = BOT.judge(path, beside, MAX).unwrap_err();
        assert!(
            e.contains("'qty' is not read by keyward beside the batch"),
            "{e}"
        );
        let escaped = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","q\u0074y":"9","price":"1"}]}"#;
        let e = BOT.judge(path, escaped, MAX).unwrap_err();
        assert!(e.contains("qty 9 exceeds"), "{e}");
        // The symbol rule applies to every item.
        let other = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1"},{"symbol":"PEPEUSDT","side":"Buy","orderType":"Limit","qty":"0.1","price":"1"}]}"#;
        let e = BOT
            .judge_with(path, other, &[("symbol", &["BTCUSDT"])], &[])
            .unwrap_err();
        assert!(e.starts_with("request[1]: symbol=PEPEUSDT"), "{e}");
    }

    #[test]
    fn amends_are_bounded_by_their_own_fields() {
        let amend = "/v5/order/amend";
        BOT.judge(
            amend,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","qty":"0.5"}"#,
            &[("qty", "1")],
        )
        .unwrap();
        BOT.refused(
            amend,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","qty":"3"}"#,
            &[("qty", "1")],
            "qty 3 exceeds",
        );
        // The amended order may be a conditional market order: a price is no execution price.
        BOT.refused(
            amend,
            r#"{"category":"linear","symbol":"BTCUSDT","orderId":"1","qty":"0.5","price":"0.01"}"#,
            MAX,
            "notional",
        );
        // A spot order's qty may be a quote amount (a conditional market buy): refused without
        // a price, which only a limit order has.
        BOT.refused(
            amend,
            r#"{"category":"spot","symbol":"BTCUSDT","orderId":"1","qty":"0.5"}"#,
            &[("qty", "1")],
            "keeps the unit of its 'qty'",
        );
        // With its price it amends a limit order, sized in the base coin (ccxt's edit_order).
        let spot =
            r#"{"category":"spot","symbol":"BTCUSDT","orderId":"1","qty":"0.5","price":"31000"}"#;
        BOT.judge(amend, spot, &[("qty", "1")]).unwrap();
        BOT.refused(
            amend,
            &spot.replace("0.5", "1.5"),
            &[("qty", "1")],
            "qty 1.5 exceeds",
        );
        // A price alone changes no size.
        BOT.judge(
            amend,
            r#"{"category":"spot","symbol":"BTCUSDT","orderId":"1","price":"31000"}"#,
            &[("price", "40000")],
        )
        .unwrap();
        // No category: neither unit can be told.
        BOT.refused(
            amend,
            r#"{"symbol":"BTCUSDT","orderId":"1","qty":"0.5","price":"31000"}"#,
            &[("qty", "1")],
            "keeps the unit",
        );
        let batch = "/v5/order/amend-batch";
        let e = BOT.judge(
            batch,
            r#"{"category":"linear","request":[{"symbol":"BTCUSDT","orderId":"1","qty":"0.5"},{"symbol":"BTCUSDT","orderId":"2","qty":"4"}]}"#,
            &[("qty", "1")],
        )
        .unwrap_err();
        assert!(e.starts_with("request[1]: qty 4 exceeds"), "{e}");
    }
}
