//! Gate API v4's order endpoints: the rules their field tables (`orders.toml` beside this file)
//! name, and the tables' tests. The tables are written from Gate's own API documentation (gate.com/docs/developers/apiv4: Spot "Create an order", "Batch place
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
//! - futures and delivery `size`: **contracts** ("the number of contracts is specified `size`,
//!   not the number of coins"; `quanto_multiplier` coins each, which keyward does not know
//!   offline), so a bound on `size` applies to it as written and a `notional` bound refuses
//!   the order ([`SizeUnit::Contracts`]);
//! - and **signed** ([`Meaning::SignedSize`](crate::order::Meaning::SignedSize)): "Positive for buy, negative for sell". The sign
//!   is the order's side (there is no `side` field), which a side rule judges (`side = ["buy"]`
//!   refuses `size=-5`); the absolute value is the size. `0` closes the whole position, with
//!   `close=true` (single mode) or `auto_size` (dual mode): such an order has no size, so a
//!   size or notional bound refuses it ([`SizeUnit::WholePosition`]); a `0` without either, or
//!   `close`/`auto_size` beside a non-zero size, is refused (see `signed_contracts`).
//!
//! A futures order has no type field: "a price of 0 with `tif` as `ioc` represents a market
//! order". `tif` is read as the order's type (default `gtc`); `gtc`, `ioc`, `poc` and `fok`
//! orders with a price rest at or fill within it; `price` 0 ([`Meaning::PriceOrMarket`](crate::order::Meaning::PriceOrMarket)) makes
//! a market order, which a price bound refuses, and is refused with any `tif` but `ioc`.
//!
//! Read-only members of the models (`id`, `status`, `left`, `fill_price` ...) are not request
//! fields and are not listed: a request carrying one is refused.

use crate::order::{quote_on_market_buy, Order, SizeUnit};

/// A spot order's `amount`: the quote currency for a market buy, else the base currency.
fn spot_unit(order: &Order) -> Result<SizeUnit, String> {
    quote_on_market_buy(order, "type", "amount")
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

/// A futures or delivery order's size.
const CONTRACTS: SizeUnit = SizeUnit::Contracts(
    "Gate sizes futures and delivery orders in contracts of the contract's quanto_multiplier, which keyward does not know offline",
);

const WHOLE_POSITION: &str =
    "size 0 with close=true or auto_size closes the whole position, a size keyward cannot know";

/// What a signed size does, with the order's `close` and `auto_size` fields (`prefix`ed in a
/// price-triggered order's `initial`): a non-zero size counts contracts; `0` with
/// `close=true` or an `auto_size` closes the whole position ("In single-position mode ... set
/// `size` to 0 and `close` to `true`"; dual mode: "size=0, set the direction ... according to
/// auto_size"). A `0` without either is no documented order, and `close`/`auto_size` beside a
/// non-zero size is not documented either (Gate may close the whole position): both refused.
fn signed_contracts(order: &Order, prefix: &str) -> Result<SizeUnit, String> {
    let close = order.field(&format!("{prefix}close")) == Some("true");
    let auto_size = order
        .field(&format!("{prefix}auto_size"))
        .filter(|a| !a.is_empty());
    match order.base_size {
        Some(s) if s.is_zero() && (close || auto_size.is_some()) => {
            Ok(SizeUnit::WholePosition(WHOLE_POSITION))
        }
        Some(s) if s.is_zero() => Err(format!(
            "size 0 closes a position only with {prefix}close=true or {prefix}auto_size; keyward refuses it without"
        )),
        Some(_) if close => Err(format!(
            "{prefix}close=true goes with size 0 (a whole-position close); with a size keyward cannot tell whether Gate closes the whole position"
        )),
        Some(_) => match auto_size {
            Some(a) => Err(format!(
                "{prefix}auto_size={a} goes with size 0 (a whole-position close); with a size keyward cannot tell whether Gate closes the whole position"
            )),
            None => Ok(CONTRACTS),
        },
        None => Ok(CONTRACTS),
    }
}

/// "A price of 0 with `tif` as `ioc` represents a market order": with any other `tif` a zero
/// price is not documented (a reader could take it for a limit price of 0).
fn market_needs_ioc(order: &Order) -> Result<(), String> {
    match (&order.market_by, order.order_type.as_deref()) {
        (Some((by, _)), Some(tif)) if tif != "ioc" => Err(format!(
            "{by} 0 is a market order, which Gate takes with tif=ioc only; keyward refuses it with tif={tif}"
        )),
        _ => Ok(()),
    }
}

/// A new futures or delivery order.
fn futures_unit(order: &Order) -> Result<SizeUnit, String> {
    market_needs_ioc(order)?;
    signed_contracts(order, "")
}

/// A futures amend: a resting order stays a limit order (a zero price is refused), and a size
/// of 0 cancels it (a size of 0 contracts).
fn amend_unit(order: &Order) -> Result<SizeUnit, String> {
    if order.market_by.is_some() {
        return Err(
            "price 0 would make a resting order a market order, which Gate does not document for an amend; keyward refuses it"
                .to_owned(),
        );
    }
    Ok(CONTRACTS)
}

/// A price-triggered futures order: `order_type` `close-long-position` / `close-short-position`
/// closes "all long/short positions", whatever `initial.size` says.
fn price_order_unit(order: &Order) -> Result<SizeUnit, String> {
    market_needs_ioc(order)?;
    if matches!(
        order.field("order_type"),
        Some("close-long-position" | "close-short-position")
    ) {
        return Ok(SizeUnit::WholePosition(
            "order_type close-long-position / close-short-position closes the whole position, a size keyward cannot know",
        ));
    }
    signed_contracts(order, "initial.")
}

/// A modified price-triggered order (no `tif`: a zero price is the market, documented).
fn price_amend_unit(order: &Order) -> Result<SizeUnit, String> {
    signed_contracts(order, "")
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [
    spot_unit,
    spot_price_unit,
    futures_unit,
    amend_unit,
    price_order_unit,
    price_amend_unit
]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{Bot, Maxima};
    use crate::request::Method;
    use crate::request::Method::{Patch, Post, Put};

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    const SPOT: &str = "/api/v4/spot/orders";
    const FUTURES: &str = "/api/v4/futures/usdt/orders";
    const MAX: &[(&str, &str)] = &[("amount", "1"), ("notional", "50000")];
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];
    const SIZE: &[(&str, &str)] = &[("size", "10")];
    const PRICE: &[(&str, &str)] = &[("price", "5000")];

    #[test]
    fn spot_amounts_however_expressed() {
        for body in [
            r#"{"text":"t-1","currency_pair":"BTC_USDT","type":"limit","account":"spot","side":"buy","amount":"0.5","price":"30000","time_in_force":"gtc"}"#,
            // `type` defaults to limit.
            r#"{"currency_pair":"BTC_USDT","side":"sell","amount":"0.5","price":"30000","iceberg":"0.1"}"#,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000","stop_profit":{"trigger_price":"35000","order_price":"34900"},"stop_loss":{}}"#,
        ] {
            BOT.judge(SPOT, body, MAX)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        BOT.judge(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"20000","time_in_force":"ioc"}"#,
            NOTIONAL,
        )
        .unwrap();
        BOT.refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"2","price":"1"}"#,
            MAX,
            "amount 2 exceeds",
        );
        BOT.refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"1","price":"60000"}"#,
            MAX,
            "notional 60000 exceeds",
        );
        // A market buy's amount is the quote currency.
        BOT.refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"60000","time_in_force":"ioc"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        BOT.refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"10","time_in_force":"ioc"}"#,
            &[("amount", "1")],
            "base size cannot be established",
        );
        // A market sell with a decoy price.
        BOT.refused(
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
            let e = BOT.judge(SPOT, body, MAX).expect_err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn spot_batches_amends_and_price_orders() {
        let batch = "/api/v4/spot/batch_orders";
        BOT.judge(
            batch,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000"},{"text":"t-b","currency_pair":"ETH_USDT","side":"sell","amount":"0.9","price":"3000"}]"#,
            MAX,
        )
        .unwrap();
        let e = BOT.judge(
            batch,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000"},{"text":"t-b","currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"90000","time_in_force":"ioc"}]"#,
            NOTIONAL,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: notional 90000"), "{e}");
        let e = BOT.send(
            Post,
            batch,
            None,
            r#"[{"text":"t-a","currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"1"},{"text":"t-b","currency_pair":"PEPE_USDT","side":"buy","amount":"0.5","price":"1"}]"#,
            &[("currency_pair", &["BTC_USDT"])],
            &[],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: currency_pair=PEPE_USDT"), "{e}");
        // ccxt's create_orders without client ids leaks its option `textIsRequired` into each
        // item: inert on the batch, bounded like any item, and refused on a single order.
        let ccxt = r#"[{"currency_pair":"BTC_USDT","type":"limit","side":"buy","amount":"0.5","price":"30000","textIsRequired":true,"text":"t-0123456789abcdef"}]"#;
        BOT.judge(batch, ccxt, MAX).unwrap();
        let e = BOT
            .judge(batch, &ccxt.replace("0.5", "1.5"), MAX)
            .unwrap_err();
        assert!(e.starts_with("body[0]: amount 1.5 exceeds"), "{e}");
        BOT.refused(
            batch,
            &ccxt.replace("textIsRequired", "text_is_required"),
            MAX,
            "another spelling of 'textIsRequired'",
        );
        BOT.refused(
            SPOT,
            r#"{"currency_pair":"BTC_USDT","side":"buy","amount":"0.5","price":"30000","textIsRequired":true}"#,
            MAX,
            "'textIsRequired' is not a field",
        );

        // The amend, with the pair in the body or in the query.
        let amend = "/api/v4/spot/orders/12345";
        BOT.send(
            Patch,
            amend,
            None,
            r#"{"currency_pair":"BTC_USDT","amount":"0.5","price":"30000"}"#,
            &[],
            MAX,
        )
        .unwrap();
        let e = BOT
            .send(
                Patch,
                amend,
                Some("currency_pair=BTC_USDT"),
                r#"{"amount":"2"}"#,
                &[],
                MAX,
            )
            .unwrap_err();
        assert!(e.contains("amount 2 exceeds"), "{e}");
        let e = BOT
            .send(
                Patch,
                amend,
                Some("currency_pair=PEPE_USDT"),
                r#"{"amount":"0.5"}"#,
                &[("currency_pair", &["BTC_USDT"])],
                &[],
            )
            .unwrap_err();
        assert!(e.contains("currency_pair=PEPE_USDT"), "{e}");
        let e = BOT
            .send(
                Patch,
                amend,
                None,
                r#"{"currency_pair":"BTC_USDT","amount":"1","price":"90000"}"#,
                &[],
                MAX,
            )
            .unwrap_err();
        assert!(e.contains("notional 90000 exceeds"), "{e}");
        let e = BOT.judge(
            "/api/v4/spot/amend_batch_orders",
            r#"[{"order_id":"1","currency_pair":"BTC_USDT","amount":"0.5"},{"order_id":"2","currency_pair":"BTC_USDT","amount":"3"}]"#,
            &[("amount", "1")],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: amount 3 exceeds"), "{e}");

        let price = "/api/v4/spot/price_orders";
        BOT.judge(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<=","expiration":86400},"put":{"type":"limit","side":"buy","price":"30000","amount":"0.5","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"30000","amount":"2","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "amount 2 exceeds",
        );
        BOT.refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"60000","amount":"1","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "notional 60000 exceeds",
        );
        BOT.refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"type":"market","side":"sell","price":"0.01","amount":"0.5","account":"normal","time_in_force":"ioc"}}"#,
            MAX,
            "market executes at the market",
        );
        BOT.refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"type":"market","side":"buy","price":"1","amount":"100","account":"normal","time_in_force":"ioc"}}"#,
            NOTIONAL,
            "triggered market buy",
        );
        BOT.refused(
            price,
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"side":"buy","price":"1","amount":"0.1","amnt":"9","account":"normal","time_in_force":"gtc"}}"#,
            MAX,
            "'put.amnt' is not a field",
        );
    }

    #[test]
    fn spot_market_prices_and_mirrored_amends() {
        // A market order's price is a decoy Gate ignores: a price bound refuses the order.
        for body in [
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"sell","amount":"0.5","price":"0.01","time_in_force":"ioc"}"#,
            r#"{"currency_pair":"BTC_USDT","type":"market","side":"buy","amount":"100","price":"0.01","time_in_force":"ioc"}"#,
        ] {
            BOT.refused(
                SPOT,
                body,
                &[("price", "50000")],
                "a market order has no price to bound (it is a market order, which executes at the market whatever its 'price' says)",
            );
        }
        BOT.refused(
            "/api/v4/spot/price_orders",
            r#"{"market":"BTC_USDT","trigger":{"price":"29000","rule":"<="},"put":{"type":"market","side":"sell","price":"0.01","amount":"0.5","account":"normal","time_in_force":"ioc"}}"#,
            &[("price", "50000")],
            "whatever its 'put.price' says",
        );
        // ccxt's amend: every parameter in the query and in the body, read once.
        let amend = "/api/v4/spot/orders/12345";
        let pair: &[(&str, &[&str])] = &[("currency_pair", &["BTC_USDT"])];
        let orders = BOT
            .send(
                Patch,
                amend,
                Some("currency_pair=BTC_USDT&account=spot"),
                r#"{"currency_pair":"BTC_USDT","account":"spot","amount":"0.5","price":"30000"}"#,
                pair,
                MAX,
            )
            .unwrap();
        assert_eq!(orders[0].instrument.as_deref(), Some("BTC_USDT"));
        refused_full(
            Patch,
            amend,
            Some("currency_pair=BTC_USDT&amount=2"),
            r#"{"currency_pair":"BTC_USDT","amount":"2"}"#,
            MAX,
            "amount 2 exceeds",
        );
        // A different value in the body is refused by the canonicaliser.
        refused_full(
            Patch,
            amend,
            Some("currency_pair=BTC_USDT"),
            r#"{"currency_pair":"PEPE_USDT","amount":"0.5"}"#,
            MAX,
            "different name or value",
        );
    }

    fn refused_full(
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
        max: Maxima,
        says: &str,
    ) {
        let e = BOT
            .send(method, path, query, body, &[], max)
            .expect_err(body);
        assert!(e.contains(says), "{body}: {e}");
    }

    #[test]
    fn futures_signed_contracts() {
        for path in [FUTURES, "/api/v4/delivery/usdt/orders"] {
            let order = |size: &str, rest: &str| {
                format!(r#"{{"contract":"BTC_USDT","size":{size},"price":"3000"{rest}}}"#)
            };
            let orders = BOT
                .judge(path, &order(r#""5""#, r#","tif":"gtc","text":"t-1""#), SIZE)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(orders[0].side.as_deref(), Some("buy"));
            // A sell is a negative size: its absolute value is bounded.
            let orders = BOT.judge(path, &order(r#""-5""#, ""), SIZE).unwrap();
            assert_eq!(orders[0].side.as_deref(), Some("sell"));
            assert_eq!(orders[0].base_size, Some(5.into()));
            BOT.judge(path, &order("-5", ""), SIZE).unwrap();
            BOT.judge(path, &order(r#""-10""#, r#","reduce_only":true"#), SIZE)
                .unwrap();
            for size in [r#""20""#, r#""-20""#, "-20"] {
                BOT.refused(path, &order(size, ""), SIZE, "size 20 exceeds");
            }
            // Contracts of quanto_multiplier coins: never valued.
            BOT.refused(path, &order(r#""1""#, ""), NOTIONAL, "quanto_multiplier");
            BOT.refused(path, &order(r#""-1""#, ""), NOTIONAL, "quanto_multiplier");
            // A side rule judges the sign.
            let buys: &[(&str, &[&str])] = &[("side", &["buy"])];
            BOT.send(Post, path, None, &order(r#""5""#, ""), buys, SIZE)
                .unwrap();
            let e = BOT
                .send(Post, path, None, &order(r#""-5""#, ""), buys, SIZE)
                .unwrap_err();
            assert!(e.contains("side=sell is not allowed"), "{e}");
            for (size, says) in [
                (r#""+5""#, "size=+5 is not a plain decimal"),
                (r#""--5""#, "not a plain decimal"),
                (r#""-5e0""#, "not a plain decimal"),
            ] {
                BOT.refused(path, &order(size, ""), SIZE, says);
            }
            BOT.refused(
                path,
                &order(r#""5""#, r#","Size":"50""#),
                SIZE,
                "another spelling of 'size'",
            );
            BOT.refused(
                path,
                &order(r#""5""#, r#","is_reduce_only":true"#),
                SIZE,
                "'is_reduce_only' is not a field",
            );
        }
        let batch = "/api/v4/futures/usdt/batch_orders";
        BOT.judge(
            batch,
            r#"[{"contract":"BTC_USDT","size":"5","price":"3000"},{"contract":"BTC_USDT","size":"-5","price":"3000"}]"#,
            SIZE,
        )
        .unwrap();
        let e = BOT.judge(
            batch,
            r#"[{"contract":"BTC_USDT","size":"5","price":"3000"},{"contract":"BTC_USDT","size":"-50","price":"1"}]"#,
            SIZE,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: size 50 exceeds"), "{e}");
        let ccxt = r#"[{"contract":"BTC_USDT","size":"5","price":"3000","textIsRequired":true}]"#;
        BOT.judge(batch, ccxt, SIZE).unwrap();
        let e = BOT
            .judge(batch, &ccxt.replace("\"5\"", "\"50\""), SIZE)
            .unwrap_err();
        assert!(e.starts_with("body[0]: size 50 exceeds"), "{e}");
        let e = BOT.send(
            Post,
            batch,
            None,
            r#"[{"contract":"BTC_USDT","size":"5","price":"3000"},{"contract":"BTC_USDT","size":"-5","price":"3000"}]"#,
            &[("side", &["buy"])],
            &[],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: side=sell is not allowed"), "{e}");
    }

    #[test]
    fn futures_closes_and_market_prices() {
        for path in [FUTURES, "/api/v4/delivery/usdt/orders"] {
            // Closing the whole position: no size, so a size or notional bound refuses it,
            // a rule without one judges it.
            let contract: &[(&str, &[&str])] = &[("contract", &["BTC_USDT"])];
            for close in [
                r#"{"contract":"BTC_USDT","size":"0","price":"0","tif":"ioc","close":true}"#,
                r#"{"contract":"BTC_USDT","size":0,"price":"0","tif":"ioc","reduce_only":true,"auto_size":"close_long"}"#,
                r#"{"contract":"BTC_USDT","size":"-0","price":"0","tif":"ioc","close":true}"#,
            ] {
                BOT.refused(path, close, SIZE, "closes the whole position");
                BOT.refused(path, close, NOTIONAL, "closes the whole position");
                let orders = BOT.send(Post, path, None, close, contract, &[]).unwrap();
                assert_eq!(orders[0].base_size, None);
                let e = BOT
                    .send(Post, path, None, close, &[("side", &["sell"])], &[])
                    .unwrap_err();
                assert!(e.contains("'side' is required"), "{e}");
            }
            BOT.refused(
                path,
                r#"{"contract":"BTC_USDT","size":"0","price":"0","tif":"ioc"}"#,
                &[],
                "size 0 closes a position only with close=true or auto_size",
            );
            BOT.refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"0","tif":"ioc","close":true}"#,
                &[],
                "close=true goes with size 0",
            );
            BOT.refused(
                path,
                r#"{"contract":"BTC_USDT","size":"-5","price":"0","tif":"ioc","auto_size":"close_long"}"#,
                &[],
                "auto_size=close_long goes with size 0",
            );
            // Market orders: price 0 with ioc. No price a price bound could compare.
            let market = r#"{"contract":"BTC_USDT","size":"-5","price":"0","tif":"ioc"}"#;
            BOT.judge(path, market, SIZE).unwrap();
            BOT.refused(path, market, PRICE, "price=0 makes it one");
            BOT.refused(
                path,
                &market.replace(r#""0""#, r#""0.0""#),
                PRICE,
                "price=0.0 makes it one",
            );
            BOT.refused(path, market, NOTIONAL, "quanto_multiplier");
            // ... and with any other tif a zero price is refused.
            for tif in ["", r#","tif":"fok""#, r#","tif":"gtc""#, r#","tif":"poc""#] {
                BOT.refused(
                    path,
                    &format!(r#"{{"contract":"BTC_USDT","size":"5","price":"0"{tif}}}"#),
                    SIZE,
                    "price 0 is a market order, which Gate takes with tif=ioc only",
                );
            }
            // A priced ioc order is a limit IOC order, bounded by its price.
            BOT.judge(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"3000","tif":"ioc"}"#,
                PRICE,
            )
            .unwrap();
            BOT.refused(
                path,
                r#"{"contract":"BTC_USDT","size":"5","price":"6000","tif":"ioc"}"#,
                PRICE,
                "price 6000 exceeds",
            );
        }
    }

    #[test]
    fn futures_amends_and_price_orders() {
        let amend = "/api/v4/futures/usdt/orders/123";
        let put = |body: &str, max: Maxima| BOT.send(Put, amend, None, body, &[], max);
        put(r#"{"size":"5","price":"3000"}"#, PRICE).unwrap();
        put(r#"{"size":"-5","price":"3000"}"#, SIZE).unwrap();
        // A new size of 0 cancels the order.
        put(r#"{"size":"0"}"#, SIZE).unwrap();
        for body in [r#"{"size":"50"}"#, r#"{"size":"-50"}"#] {
            let e = put(body, SIZE).unwrap_err();
            assert!(e.contains("size 50 exceeds"), "{e}");
        }
        let e = put(r#"{"size":"10","price":"9000"}"#, NOTIONAL).unwrap_err();
        assert!(e.contains("quanto_multiplier"), "{e}");
        let e = put(r#"{"size":"5","price":"0"}"#, &[]).unwrap_err();
        assert!(
            e.contains("price 0 would make a resting order a market order"),
            "{e}"
        );
        let e = BOT
            .send(
                Put,
                amend,
                None,
                r#"{"size":"-5"}"#,
                &[("side", &["buy"])],
                &[],
            )
            .unwrap_err();
        assert!(e.contains("side=sell is not allowed"), "{e}");
        let e = BOT
            .judge(
                "/api/v4/futures/usdt/batch_amend_orders",
                r#"[{"order_id":1,"size":"5"},{"order_id":2,"size":"-11"}]"#,
                SIZE,
            )
            .unwrap_err();
        assert!(e.starts_with("body[1]: size 11 exceeds"), "{e}");

        for path in [
            "/api/v4/futures/usdt/price_orders",
            "/api/v4/delivery/usdt/price_orders",
        ] {
            let priced = |initial: &str| {
                format!(
                    r#"{{"initial":{{"contract":"BTC_USDT",{initial}}},"trigger":{{"strategy_type":0,"price_type":0,"price":"2900","rule":2}}}}"#
                )
            };
            let orders = BOT.judge(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":5,"price":"0","tif":"ioc","reduce_only":true},"trigger":{"strategy_type":0,"price_type":0,"price":"2900","rule":2},"order_type":"plan-close-short-position"}"#,
                SIZE,
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(orders[0].side.as_deref(), Some("buy"));
            BOT.judge(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":-5,"price":"0","tif":"ioc","reduce_only":true},"trigger":{"price":"3100","rule":1},"order_type":"plan-close-long-position"}"#,
                SIZE,
            )
            .unwrap();
            BOT.refused(
                path,
                &priced(r#""size":50,"price":"3000""#),
                SIZE,
                "size 50 exceeds",
            );
            // `amount` is another spelling of the same size; both together are ambiguous.
            BOT.refused(
                path,
                &priced(r#""amount":"-50","price":"3000""#),
                SIZE,
                "size 50 exceeds",
            );
            BOT.refused(
                path,
                &priced(r#""size":1,"amount":"50","price":"3000""#),
                SIZE,
                "both set the order's base size",
            );
            BOT.refused(
                path,
                &priced(r#""size":1,"price":"3000""#),
                NOTIONAL,
                "quanto_multiplier",
            );
            // A limit price is bounded as written; the market is no price.
            BOT.judge(path, &priced(r#""size":1,"price":"3000""#), PRICE)
                .unwrap();
            BOT.refused(
                path,
                &priced(r#""size":1,"price":"6000""#),
                PRICE,
                "price 6000 exceeds",
            );
            BOT.refused(
                path,
                &priced(r#""size":1,"price":"0","tif":"ioc""#),
                PRICE,
                "initial.price=0 makes it one",
            );
            // A zero price with the default tif (gtc) is not documented.
            BOT.refused(
                path,
                &priced(r#""size":5,"price":"0""#),
                SIZE,
                "initial.price 0 is a market order",
            );
            // Closing the whole position.
            let close = priced(r#""size":0,"price":"0","tif":"ioc","close":true"#);
            BOT.refused(path, &close, SIZE, "closes the whole position");
            BOT.send(
                Post,
                path,
                None,
                &close,
                &[("contract", &["BTC_USDT"])],
                &[],
            )
            .unwrap();
            BOT.refused(
                path,
                &priced(r#""size":0,"price":"0","tif":"ioc""#),
                &[],
                "size 0 closes a position only with initial.close=true or initial.auto_size",
            );
            for kind in ["close-long-position", "close-short-position"] {
                let body = format!(
                    r#"{{"initial":{{"contract":"BTC_USDT","size":-1,"price":"0","tif":"ioc"}},"trigger":{{"price":"2900","rule":2}},"order_type":"{kind}"}}"#
                );
                BOT.refused(path, &body, SIZE, kind);
            }
            let e = BOT
                .send(
                    Post,
                    path,
                    None,
                    &priced(r#""size":-5,"price":"0","tif":"ioc""#),
                    &[("contract", &["BTC_USDT"]), ("side", &["buy"])],
                    &[],
                )
                .unwrap_err();
            assert!(e.contains("side=sell is not allowed"), "{e}");
            let e = BOT.send(
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
            BOT.refused(
                path,
                r#"{"initial":{"contract":"BTC_USDT","size":50,"price":"1","tif":"ioc"},"trigger":{"price":"2900","rule":2},"initial.size":1}"#,
                SIZE,
                "\"initial.size\" holds a '.'",
            );
        }
        let amend = "/api/v4/futures/usdt/price_orders/7";
        let put = |body: &str, max: Maxima| BOT.send(Put, amend, None, body, &[], max);
        put(
            r#"{"order_id":7,"size":-5,"price":"0","trigger_price":"2900"}"#,
            SIZE,
        )
        .unwrap();
        let e = put(r#"{"order_id":7,"amount":"-50","price":"3000"}"#, SIZE).unwrap_err();
        assert!(e.contains("size 50 exceeds"), "{e}");
        let e = put(r#"{"order_id":7,"size":5,"price":"1"}"#, NOTIONAL).unwrap_err();
        assert!(e.contains("quanto_multiplier"), "{e}");
        let e = put(r#"{"order_id":7,"size":5,"price":"0"}"#, PRICE).unwrap_err();
        assert!(e.contains("price=0 makes it one"), "{e}");
        let e = put(r#"{"order_id":7,"size":0,"close":true}"#, SIZE).unwrap_err();
        assert!(e.contains("closes the whole position"), "{e}");
        put(r#"{"order_id":7,"size":0,"close":true}"#, &[]).unwrap();
        let e = put(r#"{"order_id":7,"size":0}"#, &[]).unwrap_err();
        assert!(e.contains("size 0 closes a position only with"), "{e}");
    }
}
