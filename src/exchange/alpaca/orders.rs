//! Alpaca Trading API order endpoints: the rules their field tables (`orders.toml` beside this
//! file) name, and the tables' tests. The tables are written from Alpaca's own API documentation: the Trading API OpenAPI specification published at
//! docs.alpaca.markets/openapi/trading-api.json (2.0.1; as synced in alpacahq/alpaca-mcp-server)
//! and the reference pages docs.alpaca.markets/reference/postorder, patchorderbyorderid,
//! deleteopenposition, deletealloppositions, optionexercise. keyward's paths carry Alpaca's
//! under `/trading`.
//!
//! What the tables encode:
//! * `qty` (shares, coins or option contracts) or `notional` (dollars); an option contract
//!   covers 100 shares at a price quoted per share, and an asset id in `symbol` could be an
//!   option: only share and crypto symbols are valued.
//! * A bracket, OCO or OTO order's `take_profit` and `stop_loss` are orders of their own on the
//!   same quantity and the opposite side; a stop-loss without `limit_price` is a stop (market)
//!   order.
//! * Multi-leg (`mleg`) option orders, with their net debit/credit price, are refused.
//! * `position_intent` (`buy_to_open` ...) must agree with `side`.
//! * Closing a position (by `qty` or by `percentage`) and exercising options are orders on the
//!   instrument named in the path.

use crate::order::{Order, SizeUnit};

/// A share (`AAPL`, `BRK.B`) or crypto (`BTC/USD`, `BTCUSD`) symbol, whose `qty` is in shares or
/// coins and whose price is per share or coin.
fn is_share_or_crypto(symbol: &str) -> bool {
    let word = |s: &str, extra: u8| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b == extra)
    };
    match symbol.split_once('/') {
        Some((base, quote)) => [base, quote].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }),
        None => word(symbol, b'.'),
    }
}

fn size_unit(order: &Order) -> Result<SizeUnit, String> {
    if let (Some(side), Some(intent)) = (order.side.as_deref(), order.field("position_intent")) {
        if !intent.starts_with(&format!("{side}_")) {
            return Err(format!(
                "side={side} and position_intent={intent} disagree; keyward cannot tell which Alpaca follows"
            ));
        }
    }
    Ok(match order.instrument.as_deref() {
        Some(s) if is_share_or_crypto(s) => SizeUnit::Base,
        Some(_) => SizeUnit::Contracts(
            "keyward values only share and crypto symbols: an option contract covers 100 shares at a price quoted per share, and an asset id could be either",
        ),
        None => SizeUnit::Contracts(
            "the request names no symbol, so keyward cannot tell shares from option contracts",
        ),
    })
}

fn stop_loss_type(order: &Order) -> Option<&'static str> {
    Some(if order.price.is_some() {
        "stop_limit"
    } else {
        "stop"
    })
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules =
    crate::rules![size_units: [size_unit], leg_types: [stop_loss_type]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{refused, Allowed, Bot, Judged, Maxima};
    use crate::request::Method;

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    fn order(body: &str, params: Allowed, max: Maxima) -> Judged {
        BOT.send(Method::Post, "/trading/v2/orders", None, body, params, max)
    }

    const MAX: &[(&str, &str)] = &[("qty", "10"), ("notional", "2000")];

    #[test]
    fn orders_within_the_rule_pass() {
        order(r#"{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.5"}"#, &[("symbol", &["AAPL"])], MAX).unwrap();
        // A notional market order is valued at its dollar amount.
        order(r#"{"symbol":"AAPL","notional":"1500","side":"buy","type":"market","time_in_force":"day"}"#, &[], &[("notional", "2000")]).unwrap();
        order(r#"{"symbol":"BTC/USD","qty":0.01,"side":"buy","type":"limit","time_in_force":"gtc","limit_price":60000}"#, &[], &[("qty", "1"), ("notional", "2000")]).unwrap();
        // A bracket: the entry and its two exits, all within.
        let orders = order(
            r#"{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"150","order_class":"bracket","take_profit":{"limit_price":"190"},"stop_loss":{"stop_price":"140","limit_price":"139"},"position_intent":"buy_to_open"}"#,
            &[],
            MAX,
        )
        .unwrap();
        assert_eq!(orders.len(), 3);
        assert_eq!(orders[1].side.as_deref(), Some("sell"));
        assert_eq!(orders[2].order_type.as_deref(), Some("stop_limit"));
        assert_eq!(orders[2].notional(), Some(1390.into()));
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"11","side":"buy","type":"limit","time_in_force":"day","limit_price":"1"}"#,
                &[],
                MAX,
            ),
            &["qty 11 exceeds"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"day","limit_price":"201"}"#,
                &[],
                MAX,
            ),
            &["notional 2010 exceeds"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","notional":"2001","side":"buy","type":"market","time_in_force":"day"}"#,
                &[],
                &[("notional", "2000")],
            ),
            &["notional 2001 exceeds"],
        );
        // Notional market orders have no share count; qty market orders no value, whatever
        // limit price rides along.
        refused(
            order(
                r#"{"symbol":"AAPL","notional":"100","side":"buy","type":"market","time_in_force":"day"}"#,
                &[],
                MAX,
            ),
            &["base size cannot be established"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","limit_price":"0.01"}"#,
                &[],
                MAX,
            ),
            &["notional", "market executes at the market"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"trailing_stop","time_in_force":"day","trail_percent":"1"}"#,
                &[],
                MAX,
            ),
            &["trailing_stop executes at the market"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"stop_limit","time_in_force":"day","stop_price":"1","limit_price":"5000"}"#,
                &[],
                MAX,
            ),
            &["notional 5000 exceeds"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","notional":"1","side":"buy","type":"market","time_in_force":"day"}"#,
                &[],
                MAX,
            ),
            &["both a base size ('qty') and a quote size ('notional')"],
        );
        // Options are contracts of 100 shares priced per share: not valued.
        refused(
            order(
                r#"{"symbol":"AAPL250117C00150000","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"5"}"#,
                &[],
                MAX,
            ),
            &["an option contract covers 100 shares"],
        );
        refused(
            order(
                r#"{"qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"1","order_class":"mleg","legs":[{"symbol":"AAPL250117C00150000","ratio_qty":"1","side":"buy"}]}"#,
                &[],
                MAX,
            ),
            &["'legs': holds the legs of a multi-leg"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"sell","position_intent":"buy_to_open","type":"limit","time_in_force":"day","limit_price":"1"}"#,
                &[],
                MAX,
            ),
            &["side=sell and position_intent=buy_to_open disagree"],
        );
        refused(
            order(
                r#"{"symbol":"TSLA","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"1"}"#,
                &[("symbol", &["AAPL"])],
                MAX,
            ),
            &["symbol=TSLA is not allowed"],
        );
    }

    #[test]
    fn bracket_legs_are_orders_of_their_own() {
        let bracket = |tp: &str, sl: &str| {
            format!(
                r#"{{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"150","order_class":"bracket","take_profit":{{"limit_price":"{tp}"}},"stop_loss":{sl}}}"#
            )
        };
        refused(
            order(
                &bracket("250", r#"{"stop_price":"140","limit_price":"139"}"#),
                &[],
                MAX,
            ),
            &["take_profit: notional 2500 exceeds"],
        );
        refused(
            order(
                &bracket("190", r#"{"stop_price":"140","limit_price":"139"}"#),
                &[],
                &[("limit_price", "180")],
            ),
            &["take_profit: limit_price 190 exceeds"],
        );
        // A stop-loss without limit price is a stop (market) order.
        refused(
            order(&bracket("190", r#"{"stop_price":"140"}"#), &[], MAX),
            &["stop_loss: ", "stop executes at the market"],
        );
        refused(
            order(
                &bracket("190", r#"{"stop_price":"140"}"#),
                &[("type", &["limit", "stop_limit"])],
                &[],
            ),
            &["stop_loss: type=stop is not allowed"],
        );
        // The exits sell: a buy-only rule refuses them.
        refused(
            order(
                &bracket("190", r#"{"stop_price":"140","limit_price":"139"}"#),
                &[("side", &["buy"])],
                &[],
            ),
            &["take_profit: side=sell is not allowed"],
        );
        // Other spellings of a leg.
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1","takeProfit":{"limit_price":"9999"}}"#,
                &[],
                MAX,
            ),
            &["'takeProfit' is not a field keyward knows"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1","take_profit":{"limitPrice":"9999"}}"#,
                &[],
                MAX,
            ),
            &["'take_profit.limitPrice' is another spelling of 'take_profit.limit_price'"],
        );
        refused(
            order(
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1","take_profit.limit_price":"1","take_profit":{"limit_price":"9999"}}"#,
                &[],
                MAX,
            ),
            &["holds a '.'"],
        );
    }

    #[test]
    fn replacements_closes_and_exercises_are_bounded() {
        let replace = |body: &str, max: Maxima| {
            BOT.send(
                Method::Patch,
                "/trading/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d",
                None,
                body,
                &[],
                max,
            )
        };
        replace(
            r#"{"qty":"5","limit_price":"150"}"#,
            &[("qty", "10"), ("limit_price", "200")],
        )
        .unwrap();
        refused(
            replace(r#"{"qty":"50","limit_price":"150"}"#, MAX),
            &["qty 50 exceeds"],
        );
        refused(
            replace(
                r#"{"qty":"5","limit_price":"250"}"#,
                &[("limit_price", "200")],
            ),
            &["limit_price 250 exceeds"],
        );
        // A replacement names its order by id only: no symbol, no value.
        refused(
            replace(r#"{"qty":"5","limit_price":"1"}"#, &[("notional", "2000")]),
            &["names no symbol"],
        );
        refused(
            replace(r#"{"qty":"5","Qty":"50"}"#, MAX),
            &["'Qty' is another spelling of 'qty'"],
        );
        let close = |path: &str, query: &str, max: Maxima| {
            BOT.send(
                Method::Delete,
                path,
                Some(query),
                "",
                &[("symbol", &["AAPL"])],
                max,
            )
        };
        close("/trading/v2/positions/AAPL", "qty=5", &[("qty", "10")]).unwrap();
        refused(
            close("/trading/v2/positions/AAPL", "qty=50", &[("qty", "10")]),
            &["qty 50 exceeds"],
        );
        refused(
            close("/trading/v2/positions/TSLA", "qty=1", &[]),
            &["symbol=TSLA is not allowed"],
        );
        // A percentage of the position is not a number of shares keyward can know.
        refused(
            close(
                "/trading/v2/positions/AAPL",
                "percentage=100",
                &[("qty", "10")],
            ),
            &["sized by 'percentage'"],
        );
        refused(
            close("/trading/v2/positions", "cancel_orders=true", &[]),
            &["'symbol' is required"],
        );
        // Exercising buys or sells every held contract's shares: no size to bound.
        refused(
            BOT.send(
                Method::Post,
                "/trading/v2/positions/AAPL250117C00150000/exercise",
                None,
                "",
                &[],
                &[("qty", "10")],
            ),
            &["limits qty", "cannot be established"],
        );
        BOT.send(
            Method::Post,
            "/trading/v2/positions/AAPL250117C00150000/exercise",
            None,
            "",
            &[("symbol", &["AAPL250117C00150000"])],
            &[],
        )
        .unwrap();
    }

    #[test]
    fn other_spellings_are_refused() {
        for (body, says) in [
            (
                r#"{"symbol":"AAPL","QTY":"50","side":"buy","type":"market","time_in_force":"day"}"#,
                "'QTY' is another spelling of 'qty'",
            ),
            (
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limitPrice":"1"}"#,
                "'limitPrice' is another spelling of 'limit_price'",
            ),
            (
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","quantity":"50"}"#,
                "'quantity' is not a field keyward knows",
            ),
            (
                r#"{"symbol":"AAPL","qty":"1","ｑty":"50","side":"buy","type":"market","time_in_force":"day"}"#,
                "not ASCII",
            ),
            (
                r#"{"symbol":"AAPL","qty":"-1","side":"buy","type":"market","time_in_force":"day"}"#,
                "not a plain decimal",
            ),
            (
                r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","advanced_instructions":{"algorithm":"TWAP","qty":"50"}}"#,
                "'advanced_instructions.qty' is not a field keyward knows",
            ),
        ] {
            refused(order(body, &[], MAX), &[says]);
        }
    }
}
