//! Deribit v2 order methods: the rule their field tables (`orders.toml` beside this file) name,
//! and the tables' tests. The tables are written from Deribit's own API documentation: the OpenAPI specification behind docs.deribit.com/api-reference (Deribit API
//! 2.1.1, `specifications/deribit_openapi.json`: `private/buy`, `private/sell`, `private/edit`,
//! `private/edit_by_label`, `private/close_position`). Every method is reachable by GET with its
//! parameters in the query, and by POST with a JSON-RPC body whose `params` object holds them.
//!
//! What the tables encode:
//! * `amount` is in USD on inverse futures and perpetuals (`BTC-PERPETUAL`, `BTC-27DEC24`) and
//!   in the base coin on linear futures (`BTC_USDC-PERPETUAL`), options and spot; a `max` on it
//!   bounds it as written, in the instrument's unit. On an inverse instrument it is also the
//!   order's notional (also for a market order); elsewhere the notional is `amount` × `price`,
//!   in the instrument's quote currency (an inverse option's price, and so its notional, is in
//!   the base coin).
//! * `contracts` gives the size in contract units instead ("if both `contracts` and `amount`
//!   are passed they must match"): a `max` on `contracts` bounds it, but keyward cannot convert
//!   it to `amount` without the contract size, so a bound on `amount` or the notional refuses an
//!   order sized only by `contracts`.
//! * `advanced` (`usd`, `implv`) makes an option's `price` a USD price or an implied
//!   volatility: the price is then not one keyward can bound.
//! * `otoco_config` carries further orders of an undocumented shape: refused.
//! * Instruments keyward cannot classify (combos and spreads), and `private/edit`, which names no
//!   instrument, are bounded as written but never valued.

use crate::order::{Order, SizeUnit};

/// How an instrument sizes its orders, from Deribit's instrument naming.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// An inverse future or perpetual (`BTC-PERPETUAL`, `ETH-27DEC24`): `amount` in USD.
    Inverse,
    /// A linear future or perpetual (`BTC_USDC-PERPETUAL`), an option (`BTC-27DEC24-60000-C`,
    /// `XRP_USDC-27DEC24-0d625-P`) or a spot pair (`BTC_USDC`): `amount` in the base coin.
    Base,
}

/// `BTC` or `BTC_USDC`: capitals and digits, at most one `_`.
fn is_currency(s: &str) -> bool {
    let mut parts = s.split('_');
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), None, None) => ok(a),
        (Some(a), Some(b), None) => ok(a) && ok(b),
        _ => false,
    }
}

/// An expiry: `5APR24`, `27DEC24`.
fn is_expiry(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=2).contains(&digits)
        && b.len() == digits + 5
        && b[digits..digits + 3].iter().all(u8::is_ascii_uppercase)
        && b[digits + 3..].iter().all(u8::is_ascii_digit)
}

/// A strike: `60000`, `0d625` (`d` for the decimal point).
fn is_strike(s: &str) -> bool {
    let mut parts = s.split('d');
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), None, None) => digits(a),
        (Some(a), Some(b), None) => digits(a) && digits(b),
        _ => false,
    }
}

fn kind(instrument: &str) -> Option<Kind> {
    let parts: Vec<&str> = instrument.split('-').collect();
    let (currency, rest) = parts.split_first()?;
    if !is_currency(currency) {
        return None;
    }
    let linear = currency.contains('_');
    match rest {
        [] if linear => Some(Kind::Base),
        ["PERPETUAL"] => Some(if linear { Kind::Base } else { Kind::Inverse }),
        [expiry] if is_expiry(expiry) => Some(if linear { Kind::Base } else { Kind::Inverse }),
        [expiry, strike, "C" | "P"] if is_expiry(expiry) && is_strike(strike) => Some(Kind::Base),
        _ => None,
    }
}

fn size_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(match order.instrument.as_deref().map(kind) {
        Some(Some(Kind::Inverse)) => SizeUnit::Inverse,
        Some(Some(Kind::Base)) => SizeUnit::Base,
        Some(None) => SizeUnit::Contracts(
            "keyward does not know how Deribit sizes and prices this instrument (combos and spreads are not modelled)",
        ),
        None => SizeUnit::Contracts(
            "the request names no instrument_name, so keyward cannot tell whether 'amount' counts USD (inverse futures) or the base coin; private/edit_by_label names it",
        ),
    })
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [size_unit]];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::testing::{refused, Allowed, Bot, Judged, Maxima};
    use crate::request::Method;

    fn get(method: &str, query: &str, params: Allowed, max: Maxima) -> Judged {
        Bot::new(&super::super::PROFILE, Method::Get, None).send(
            Method::Get,
            &format!("/api/v2/private/{method}"),
            Some(query),
            "",
            params,
            max,
        )
    }

    fn rpc(method: &str, params: &str, max: Maxima) -> Judged {
        Bot::json(&super::super::PROFILE).judge(
            &format!("/api/v2/private/{method}"),
            &format!(r#"{{"jsonrpc":"2.0","id":7,"method":"private/{method}","params":{params}}}"#),
            max,
        )
    }

    #[test]
    fn instruments_are_classified_by_name() {
        for (name, k) in [
            ("BTC-PERPETUAL", Some(Kind::Inverse)),
            ("ETH-27DEC24", Some(Kind::Inverse)),
            ("BTC_USDC-PERPETUAL", Some(Kind::Base)),
            ("BTC_USDC", Some(Kind::Base)),
            ("BTC-27DEC24-60000-C", Some(Kind::Base)),
            ("XRP_USDC-5APR24-0d625-P", Some(Kind::Base)),
            ("BTC-FS-27DEC24_PERP", None),
            ("BTC-CS-27DEC24-60000_70000", None),
            ("btc-perpetual", None),
            ("BTC", None),
            ("BTC-PERPETUAL-", None),
        ] {
            assert_eq!(kind(name), k, "{name}");
        }
    }

    #[test]
    fn orders_within_the_rule_pass_by_get_and_by_json_rpc() {
        let max = [("amount", "1000"), ("notional", "50000")];
        // ccxt's GET shape on an inverse perpetual: amount is USD and is the notional, also for
        // a market order.
        let orders = get(
            "buy",
            "instrument_name=BTC-PERPETUAL&amount=1000&type=market&label=x",
            &[("instrument_name", &["BTC-PERPETUAL"])],
            &max,
        )
        .unwrap();
        assert_eq!(orders[0].notional(), Some(1000.into()));
        get("sell", "instrument_name=BTC-PERPETUAL&amount=500&type=limit&price=60000&post_only=true&reduce_only=true", &[], &max).unwrap();
        rpc(
            "buy",
            r#"{"instrument_name":"BTC_USDC-PERPETUAL","amount":0.5,"type":"limit","price":60000}"#,
            &[("amount", "1"), ("notional", "50000")],
        )
        .unwrap();
        // An option in the base coin, priced in the base coin.
        rpc(
            "buy",
            r#"{"instrument_name":"BTC-27DEC24-60000-C","amount":10,"price":0.05,"max_show":1}"#,
            &[("amount", "10"), ("notional", "1")],
        )
        .unwrap();
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        let max = [("amount", "1000"), ("notional", "50000")];
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&amount=1001&type=market",
                &[],
                &max,
            ),
            &["amount 1001 exceeds"],
        );
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&amount=1000&price=10",
                &[],
                &[("notional", "999")],
            ),
            &["notional 1000 exceeds"],
        );
        refused(
            rpc(
                "sell",
                r#"{"instrument_name":"BTC_USDC","amount":1,"type":"limit","price":60000}"#,
                &max,
            ),
            &["notional 60000 exceeds"],
        );
        // A linear market order with a decoy price cannot be valued.
        refused(
            rpc(
                "buy",
                r#"{"instrument_name":"BTC_USDC-PERPETUAL","amount":0.5,"type":"market","price":0.01}"#,
                &max,
            ),
            &["notional", "market executes at the market"],
        );
        // Sized by `contracts` alone: neither `amount` nor the notional can be established.
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&contracts=100000&type=market",
                &[],
                &max,
            ),
            &["sized by 'contracts'"],
        );
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&contracts=11",
                &[],
                &[("contracts", "10")],
            ),
            &["contracts 11 exceeds"],
        );
        // Both: the size given twice, in two units, is refused whatever the limits (keyward
        // does not rely on Deribit refusing a mismatch).
        for max in [&[("contracts", "100"), ("amount", "1000")][..], &[]] {
            refused(
                get(
                    "buy",
                    "instrument_name=BTC-PERPETUAL&contracts=100&amount=5000&price=1",
                    &[],
                    max,
                ),
                &["gives its size twice, in two units ('contracts' and 'amount')"],
            );
        }
        // advanced=usd|implv changes what `price` measures.
        refused(
            rpc(
                "buy",
                r#"{"instrument_name":"BTC-27DEC24-60000-C","amount":1,"price":0.01,"advanced":"implv"}"#,
                &[("price", "0.1")],
            ),
            &["price is set by 'params.advanced'"],
        );
        refused(
            get(
                "buy",
                "instrument_name=BTC-27DEC24-60000-C&amount=1&price=500&advanced=usd",
                &[],
                &[("notional", "1")],
            ),
            &["price is set by 'advanced'"],
        );
        refused(
            rpc(
                "buy",
                r#"{"instrument_name":"BTC-PERPETUAL","amount":10,"otoco_config":"[{\"amount\":1000000}]"}"#,
                &max,
            ),
            &["'params.otoco_config': carries further orders"],
        );
        refused(
            rpc(
                "buy",
                r#"{"instrument_name":"BTC-PERPETUAL","amount":10,"reduce_only":"maybe"}"#,
                &max,
            ),
            &["'params.reduce_only' must be true or false"],
        );
        // A combo is bounded as written but never valued.
        refused(
            get(
                "buy",
                "instrument_name=BTC-FS-27DEC24_PERP&amount=10&price=5",
                &[],
                &[("notional", "1000")],
            ),
            &["combos and spreads are not modelled"],
        );
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&amount=1&price=1",
                &[("instrument_name", &["ETH-PERPETUAL"])],
                &[],
            ),
            &["instrument_name=BTC-PERPETUAL is not allowed"],
        );
    }

    #[test]
    fn edits_and_position_closes_are_bounded() {
        let max = [("amount", "1000")];
        get("edit", "order_id=ETH-1&amount=500&price=3000", &[], &max).unwrap();
        refused(
            get("edit", "order_id=ETH-1&amount=5000&price=3000", &[], &max),
            &["amount 5000 exceeds"],
        );
        refused(
            rpc(
                "edit",
                r#"{"order_id":"ETH-1","contracts":5000}"#,
                &[("contracts", "10")],
            ),
            &["contracts 5000 exceeds"],
        );
        refused(
            get(
                "edit",
                "order_id=ETH-1&amount=5&price=90000",
                &[],
                &[("price", "70000")],
            ),
            &["price 90000 exceeds"],
        );
        // private/edit names no instrument: the unit of `amount` is unknown, so is the notional.
        refused(
            get(
                "edit",
                "order_id=ETH-1&amount=1&price=1",
                &[],
                &[("notional", "50000")],
            ),
            &["names no instrument_name"],
        );
        refused(
            rpc(
                "edit_by_label",
                r#"{"label":"a","instrument_name":"BTC-PERPETUAL","amount":2000,"price":60000}"#,
                &max,
            ),
            &["amount 2000 exceeds"],
        );
        // close_position closes the whole position: no size to bound.
        get(
            "close_position",
            "instrument_name=BTC-PERPETUAL&type=limit&price=60000",
            &[],
            &[("price", "70000")],
        )
        .unwrap();
        refused(
            get(
                "close_position",
                "instrument_name=BTC-PERPETUAL&type=market",
                &[],
                &max,
            ),
            &["limits amount", "cannot be established"],
        );
    }

    #[test]
    fn other_spellings_and_dotted_decoys_are_refused() {
        let max = [("amount", "1000")];
        // A top-level member literally named "params.amount" is not the nested amount.
        refused(
            Bot::json(&super::super::PROFILE).judge(
                "/api/v2/private/buy",
                r#"{"jsonrpc":"2.0","method":"private/buy","params.amount":1,"params":{"instrument_name":"BTC-PERPETUAL","contracts":100000,"type":"market"}}"#,
                &max,
            ),
            &["member name \"params.amount\" holds a '.'"],
        );
        refused(
            get(
                "buy",
                "instrument_name=BTC-PERPETUAL&params.amount=1&contracts=9",
                &[],
                &max,
            ),
            &["holds a '.'"],
        );
        // The GET form does not know JSON-RPC names, nor the JSON-RPC form flat ones.
        refused(
            Bot::json(&super::super::PROFILE).judge(
                "/api/v2/private/buy",
                r#"{"jsonrpc":"2.0","method":"private/buy","amount":5000,"params":{"instrument_name":"BTC-PERPETUAL","amount":1}}"#,
                &max,
            ),
            &["'amount' is not a field keyward knows"],
        );
        for (query, says) in [
            (
                "instrument_name=BTC-PERPETUAL&Amount=5000",
                "'Amount' is another spelling of 'amount'",
            ),
            (
                "instrumentName=ETH-PERPETUAL&amount=1",
                "'instrumentName' is another spelling of 'instrument_name'",
            ),
            (
                "instrument_name=BTC-PERPETUAL&amount=1&triggerPrice=1",
                "another spelling of 'trigger_price'",
            ),
            (
                "instrument_name=BTC-PERPETUAL&amount=1&quantity=5000",
                "'quantity' is not a field keyward knows",
            ),
            (
                "instrument_name=BTC-PERPETUAL&amount=1e4",
                "not a plain decimal",
            ),
        ] {
            refused(get("buy", query, &[], &max), &[says]);
        }
        refused(
            rpc(
                "buy",
                r#"{"instrument_name":"BTC-PERPETUAL","amount":1,"аmount":5000}"#,
                &max,
            ),
            &["not ASCII"],
        );
    }
}
