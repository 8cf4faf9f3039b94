//! OKX v5's order endpoints: the rules their field tables (`orders.toml` beside this file) name,
//! and the tables' tests. The tables are written from OKX's own API documentation
//! (www.okx.com/docs-v5/en/: "Order Book Trading > Trade": POST / Place order, Place multiple
//! orders, Amend order, Amend multiple orders; "Order Book Trading > Algo Trading": POST /
//! Place algo order, Amend algo order; and, for `instIdCode`, "WS / Place order").
//!
//! What `sz` counts ("sz" in Place order):
//! - SPOT/MARGIN limit orders: the base currency;
//! - SPOT market orders: set by `tgtCcy` (`base_ccy` / `quote_ccy`), default **quote** for a
//!   buy and base for a sell; MARGIN market orders: quote for a buy, base for a sell;
//! - FUTURES/SWAP/OPTION (and EVENTS): "the number of contracts. Notional value = sz × ctVal ×
//!   markPx (linear contracts) or sz × ctVal (inverse contracts, USD-denominated)", with `ctVal`
//!   from `GET /api/v5/public/instruments`, which keyward does not know offline. Such an order
//!   is sized in [`SizeUnit::Contracts`]: a bound on `sz` applies to it as written, a
//!   `notional` bound refuses it.
//!
//! An instrument is a spot pair when its `instId` has two parts (`BTC-USDT`); derivatives have
//! more (`BTC-USDT-SWAP`, `BTC-USDT-250328`, `BTC-USD-250328-100000-C`). An order that names its
//! instrument by `instIdCode` only may be either, so its `sz` is treated as contracts too, and
//! the reader refuses `instId` beside `instIdCode` (two instruments).

use crate::order::{Order, SizeUnit};

/// `sz` of a FUTURES/SWAP/OPTION order.
const CONTRACTS: SizeUnit = SizeUnit::Contracts(
    "OKX sizes FUTURES, SWAP and OPTION orders in contracts of the instrument's ctVal (sz × ctVal × price is the notional), which keyward does not know offline",
);

/// `sz` of an order that names its instrument by code only.
const BY_CODE: SizeUnit = SizeUnit::Contracts(
    "the instrument is named by 'instIdCode' only, so 'sz' may count contracts of an unknown ctVal; send 'instId' to have the order valued",
);

/// Whether the instrument is a spot pair (`Some(true)`), a derivative, or unknown (named by
/// code only). The reader has refused an order naming it both ways.
fn spot_pair(order: &Order) -> Option<bool> {
    order
        .instrument
        .as_deref()
        .map(|id| id.split('-').count() == 2)
}

fn close_unit(_: &Order) -> Result<SizeUnit, String> {
    Ok(SizeUnit::WholePosition(
        "close-position closes the whole position at the market, a size keyward cannot know",
    ))
}

/// The unit `tgtCcy` (or its default for the side) gives a SPOT market order's `sz`.
fn by_tgt_ccy(order: &Order) -> Result<SizeUnit, String> {
    let default = match order.side.as_deref() {
        Some("buy") => SizeUnit::Quote,
        Some("sell") => SizeUnit::Base,
        other => {
            return Err(format!(
                "side={} is neither buy nor sell; keyward cannot tell what a spot market order's 'sz' counts",
                other.unwrap_or("(none)")
            ))
        }
    };
    let chosen = match order.field("tgtCcy") {
        None => default,
        Some("quote_ccy") => SizeUnit::Quote,
        Some("base_ccy") => SizeUnit::Base,
        Some(other) => {
            return Err(format!(
                "tgtCcy={other} is neither base_ccy nor quote_ccy; keyward cannot tell what 'sz' counts"
            ))
        }
    };
    // A MARGIN market order (tdMode cross/isolated) is documented by side alone; where
    // `tgtCcy` would say otherwise, keyward cannot tell which OKX applies.
    if chosen != default && order.field("tdMode") != Some("cash") {
        return Err(format!(
            "tgtCcy={} on a tdMode={} market order: OKX documents a margin market order's 'sz' by side (buy: quote, sell: base), so keyward cannot tell which unit applies",
            order.field("tgtCcy").unwrap_or(""),
            order.field("tdMode").unwrap_or("(none)")
        ));
    }
    Ok(chosen)
}

fn order_unit(order: &Order) -> Result<SizeUnit, String> {
    let spot = spot_pair(order);
    let ord_type = order.order_type.as_deref().unwrap_or("");
    // The table's limit and market types (`spec.order`) decide these.
    let market = order.is_market;
    let known = market || order.is_limit || ord_type == "elp";
    match spot {
        Some(false) => Ok(CONTRACTS),
        Some(true) if market => by_tgt_ccy(order),
        Some(true) if known => match order.field("tgtCcy") {
            None | Some("base_ccy") => Ok(SizeUnit::Base),
            Some(other) => Err(format!(
                "tgtCcy={other} on a {ord_type} order: OKX documents tgtCcy for market orders only, so keyward cannot tell what 'sz' counts"
            )),
        },
        Some(true) => Err(format!(
            "ordType={ord_type} is not an OKX order type keyward knows; it cannot tell what a spot order's 'sz' counts"
        )),
        // Named by code only: a spot pair or a derivative. Limit orders count the base
        // currency or contracts (bounded as written either way, never valued); a market
        // order's unit depends on which.
        None if known && !market => Ok(BY_CODE),
        None => Err(
            "the instrument is named by 'instIdCode' only, so keyward cannot tell whether this market order's 'sz' counts the quote currency; send 'instId'"
                .to_owned(),
        ),
    }
}

/// A resting spot order is a limit order, sized in the base currency; a derivative's in
/// contracts.
fn amend_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(match spot_pair(order) {
        Some(true) => SizeUnit::Base,
        Some(false) => CONTRACTS,
        None => BY_CODE,
    })
}

/// An algo order on a spot pair: only the documented cases are read (a market-buy
/// `conditional` order by `tgtCcy`, default quote; limit-priced legs, TWAP and iceberg in the
/// base currency; sells in the base currency). A spot trigger or trailing market buy has no
/// documented unit and is refused.
fn algo_unit(order: &Order) -> Result<SizeUnit, String> {
    if let Some(fraction) = order.field("closeFraction") {
        if order.base_size.is_some() {
            return Err(
                "'sz' and 'closeFraction' both size the order (OKX takes one of them); send one"
                    .to_owned(),
            );
        }
        if fraction != "1" {
            return Err(format!(
                "closeFraction={fraction}: OKX documents 1 (the whole position) only"
            ));
        }
        return Ok(SizeUnit::WholePosition(
            "closeFraction=1 closes the whole position when triggered, a size keyward cannot know",
        ));
    }
    let spot = match spot_pair(order) {
        Some(spot) => spot,
        None => return Err("'instId' is required".to_owned()),
    };
    if !spot {
        return Ok(CONTRACTS);
    }
    let ord_type = order.order_type.as_deref().unwrap_or("");
    let tgt = order.field("tgtCcy");
    match order.side.as_deref() {
        Some("sell") => {
            return match tgt {
                None | Some("base_ccy") => Ok(SizeUnit::Base),
                Some(other) => Err(format!(
                    "tgtCcy={other} on a spot sell {ord_type} order is not documented; keyward cannot tell what 'sz' counts"
                )),
            }
        }
        Some("buy") => {}
        other => {
            return Err(format!(
                "side={} is neither buy nor sell",
                other.unwrap_or("(none)")
            ))
        }
    }
    let market_leg = |name: &str| order.field(name) == Some("-1");
    let base_unless_tgt = |what: &str| {
        match tgt {
        None | Some("base_ccy") => Ok(SizeUnit::Base),
        Some(other) => Err(format!(
            "tgtCcy={other} on a spot {what} buy is not documented; keyward cannot tell what 'sz' counts"
        )),
    }
    };
    match ord_type {
        "conditional" if market_leg("tpOrdPx") || market_leg("slOrdPx") => {
            if order.field("tpOrdPx").is_some_and(|p| p != "-1")
                || order.field("slOrdPx").is_some_and(|p| p != "-1")
            {
                return Err(
                    "a spot conditional buy with one market and one limit leg: keyward cannot tell what 'sz' counts"
                        .to_owned(),
                );
            }
            match tgt {
                None | Some("quote_ccy") => Ok(SizeUnit::Quote),
                Some("base_ccy") => Ok(SizeUnit::Base),
                Some(other) => Err(format!(
                    "tgtCcy={other} is neither base_ccy nor quote_ccy"
                )),
            }
        }
        "conditional" | "oco" if !market_leg("tpOrdPx") && !market_leg("slOrdPx") => {
            base_unless_tgt("limit-priced TP/SL")
        }
        "trigger" if order.field("orderPx").is_some_and(|p| p != "-1") => {
            base_unless_tgt("limit trigger")
        }
        "twap" | "smart_iceberg" => base_unless_tgt(ord_type),
        _ => Err(format!(
            "OKX does not document what 'sz' counts on a spot {ord_type} market buy; keyward refuses it"
        )),
    }
}

/// An amended algo order keeps the unit of the original, which the request does not say (a
/// spot market-buy stop counts the quote currency): a spot amend that changes `newSz` is
/// refused.
fn amend_algo_unit(order: &Order) -> Result<SizeUnit, String> {
    if order.base_size.is_some() && spot_pair(order) != Some(false) {
        return Err(
            "an amended spot algo order keeps the unit of its size (a market-buy stop counts the quote currency), which the amend does not say; cancel it and place a new one"
                .to_owned(),
        );
    }
    Ok(CONTRACTS)
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules =
    crate::rules![size_units: [order_unit, amend_unit, algo_unit, amend_algo_unit, close_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{Bot, Refusal};

    const BOT: Bot = Bot::json(&super::super::PROFILE);

    const ORDER_PATH: &str = "/api/v5/trade/order";
    const MAX: &[(&str, &str)] = &[("sz", "1"), ("notional", "50000")];
    const NOTIONAL: &[(&str, &str)] = &[("notional", "50000")];

    #[test]
    fn within_limit_orders_pass_in_each_form() {
        for body in [
            r#"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"30000","sz":"0.5"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cross","side":"buy","ordType":"post_only","px":"30000","sz":"0.5","ccy":"USDT"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"30000","sz":"0.5","attachAlgoOrds":[{"tpTriggerPx":"35000","tpOrdPx":"-1"}]}"#,
        ] {
            BOT.judge(ORDER_PATH, body, MAX)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        for body in [
            // Spot market buys count the quote currency by default.
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"20000"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"20000","tgtCcy":"quote_ccy"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cross","side":"buy","ordType":"market","sz":"20000"}"#,
        ] {
            BOT.judge(ORDER_PATH, body, NOTIONAL)
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        BOT.judge(
            ORDER_PATH,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.5","tgtCcy":"base_ccy"}"#,
            &[("sz", "1")],
        )
        .unwrap();
    }

    #[test]
    fn over_limit_sizes_and_prices_are_refused() {
        let cases: &[Refusal] = &[
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"2"}"#,
                MAX,
                "sz 2 exceeds",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"ioc","px":"70000","sz":"1"}"#,
                MAX,
                "notional 70000 exceeds",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"60000"}"#,
                NOTIONAL,
                "notional 60000 exceeds",
            ),
            // A spot market buy's size is quote: no base size for a size bound.
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"10"}"#,
                &[("sz", "1")],
                "base size cannot be established",
            ),
            // `tgtCcy=base_ccy` makes it a base size, bounded as such, with no notional.
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"5","tgtCcy":"base_ccy"}"#,
                &[("sz", "1")],
                "sz 5 exceeds",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.5","tgtCcy":"base_ccy","px":"1"}"#,
                MAX,
                "market executes at the market",
            ),
            // A quote-sized market sell is bounded by its notional.
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"90000","tgtCcy":"quote_ccy"}"#,
                NOTIONAL,
                "notional 90000 exceeds",
            ),
            // A margin market order whose tgtCcy contradicts the documented unit.
            (
                r#"{"instId":"BTC-USDT","tdMode":"cross","side":"buy","ordType":"market","sz":"5","tgtCcy":"base_ccy"}"#,
                &[("sz", "10")],
                "margin market order",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"5","tgtCcy":"quote_ccy"}"#,
                &[("sz", "10")],
                "tgtCcy=quote_ccy on a limit order",
            ),
        ];
        for &(body, max, says) in cases {
            BOT.refused(ORDER_PATH, body, max, says);
        }
        // Market orders with a decoy price: no price a price bound could compare.
        const PX: &[(&str, &str)] = &[("px", "50000")];
        for body in [
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"1","px":"0.01"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"1","px":"0.01"}"#,
        ] {
            BOT.refused(
                ORDER_PATH,
                body,
                PX,
                "a market order has no price to bound (it is a market order, which executes at the market whatever its 'px' says)",
            );
        }
        let cases: &[Refusal] = &[
            // The band's price, whatever `px` says.
            (
                r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"optimal_limit_ioc","sz":"1","px":"0.01"}"#,
                PX,
                "it is a optimal_limit_ioc order, which executes at the market",
            ),
            (
                r#"{"instId":"BTC-USD-250328-100000-C","tdMode":"cross","side":"buy","ordType":"limit","sz":"1","pxUsd":"100"}"#,
                PX,
                "price is set by 'pxUsd'",
            ),
            (
                r#"{"instId":"BTC-USD-250328-100000-C","tdMode":"cross","side":"buy","ordType":"limit","sz":"1","px":"0.01","pxVol":"1"}"#,
                PX,
                "price is set by 'pxVol'",
            ),
        ];
        for &(body, max, says) in cases {
            BOT.refused(ORDER_PATH, body, max, says);
        }
    }

    #[test]
    fn contracts_are_bounded_as_written_and_never_valued() {
        // FUTURES, SWAP, OPTION (and EVENTS) `sz` counts contracts of the instrument's ctVal.
        for inst in [
            "BTC-USDT-SWAP",
            "BTC-USD-SWAP",
            "BTC-USDT-250328",
            "BTC-USD-250328-100000-C",
        ] {
            let order = |sz: &str| {
                format!(
                    r#"{{"instId":"{inst}","tdMode":"cross","side":"buy","ordType":"limit","px":"1","sz":"{sz}"}}"#
                )
            };
            BOT.judge(ORDER_PATH, &order("1"), &[("sz", "1"), ("px", "1")])
                .unwrap_or_else(|e| panic!("{inst}: {e}"));
            BOT.refused(ORDER_PATH, &order("2"), &[("sz", "1")], "sz 2 exceeds");
            // One contract of 0.01 BTC at 1 USDT is not a notional of 1: no notional at all.
            BOT.refused(
                ORDER_PATH,
                &order("1"),
                NOTIONAL,
                "contracts of the instrument's ctVal",
            );
        }
        // ... also on a market order, whose size is contracts, not the quote currency.
        BOT.refused(
            ORDER_PATH,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"1"}"#,
            NOTIONAL,
            "ctVal",
        );
        BOT.judge(
            ORDER_PATH,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"1"}"#,
            &[("sz", "1")],
        )
        .unwrap();
        // A spot limit order is still valued.
        BOT.refused(
            ORDER_PATH,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"60000","sz":"1"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        // Batches and amends of contracts alike.
        let e = BOT.judge(
            "/api/v5/trade/batch-orders",
            r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"1"},{"instId":"ETH-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"limit","px":"1","sz":"1"}]"#,
            NOTIONAL,
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: ") && e.contains("ctVal"), "{e}");
        let amend = "/api/v5/trade/amend-order";
        BOT.judge(
            amend,
            r#"{"instId":"BTC-USDT-SWAP","ordId":"1","newSz":"1","newPx":"1"}"#,
            &[("sz", "1")],
        )
        .unwrap();
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USDT-SWAP","ordId":"1","newSz":"1","newPx":"1"}"#,
            NOTIONAL,
            "ctVal",
        );
        BOT.refused(
            amend,
            r#"{"instIdCode":7,"ordId":"1","newSz":"1","newPx":"1"}"#,
            NOTIONAL,
            "'instIdCode' only",
        );
        BOT.refused(
            "/api/v5/trade/order-algo",
            r#"{"instId":"BTC-USDT-SWAP","side":"buy","tdMode":"cross","sz":"5","ordType":"trigger","triggerPx":"1","orderPx":"1"}"#,
            NOTIONAL,
            "ctVal",
        );
        BOT.refused(
            "/api/v5/trade/amend-algos",
            r#"{"instId":"BTC-USDT-SWAP","algoId":"1","newSz":"2","newTriggerPx":"1","newOrdPx":"1"}"#,
            NOTIONAL,
            "ctVal",
        );
    }

    #[test]
    fn instrument_codes_cannot_dodge_a_symbol_rule() {
        let symbols: &[(&str, &[&str])] = &[("instId", &["BTC-USDT"])];
        let by_code = r#"{"instIdCode":12345,"tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1"}"#;
        let e = BOT
            .judge_with(ORDER_PATH, by_code, symbols, &[])
            .unwrap_err();
        assert!(e.contains("numeric code"), "{e}");
        // Both: OKX uses the code, so the name proves nothing.
        let both = r#"{"instId":"BTC-USDT","instIdCode":12345,"tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1"}"#;
        let e = BOT.judge_with(ORDER_PATH, both, symbols, &[]).unwrap_err();
        assert!(e.contains("both set the order's instrument"), "{e}");
        let e = BOT.judge(ORDER_PATH, both, &[]).unwrap_err();
        assert!(e.contains("both set the order's instrument"), "{e}");
        let e = BOT
            .judge(
                "/api/v5/trade/amend-order",
                r#"{"instIdCode":7,"instId":"BTC-USDT","ordId":"1","newSz":"1"}"#,
                &[],
            )
            .unwrap_err();
        assert!(e.contains("both set the order's instrument"), "{e}");
        // By code, a limit order's size is still read; a market order's unit is unknown.
        BOT.judge(ORDER_PATH, by_code, &[("sz", "1")]).unwrap();
        let market =
            r#"{"instIdCode":12345,"tdMode":"cash","side":"buy","ordType":"market","sz":"5"}"#;
        let e = BOT.judge(ORDER_PATH, market, &[("sz", "10")]).unwrap_err();
        assert!(e.contains("'instIdCode' only"), "{e}");
        BOT.judge_with(
            ORDER_PATH,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1"}"#,
            symbols,
            &[],
        )
        .unwrap();
    }

    #[test]
    fn unknown_respelled_and_non_ascii_names_are_refused() {
        for (body, says) in [
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1","qty":"50"}"#,
                "'qty' is not a field",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","Sz":"50"}"#,
                "another spelling of 'sz'",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"10","tgt_ccy":"base_ccy"}"#,
                "another spelling of 'tgtCcy'",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1","inst_id":"PEPE-USDT"}"#,
                "another spelling of 'instId'",
            ),
            (
                r#"{"ınstId":"PEPE-USDT","instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"0.1"}"#,
                "not ASCII",
            ),
            (
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"-1"}"#,
                "not a plain decimal",
            ),
        ] {
            let e = BOT.judge(ORDER_PATH, body, MAX).expect_err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let path = "/api/v5/trade/batch-orders";
        let ok = r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"30000","sz":"0.5"},{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit","px":"30000","sz":"0.7"}]"#;
        BOT.judge(path, ok, MAX).unwrap();
        let big = r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"30000","sz":"0.5"},{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"60000"}]"#;
        let e = BOT.judge(path, big, NOTIONAL).unwrap_err();
        assert!(e.starts_with("body[1]: notional 60000"), "{e}");
        let escaped = r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","s\u007a":"9"}]"#;
        let e = BOT.judge(path, escaped, MAX).unwrap_err();
        assert!(e.contains("sz 9 exceeds"), "{e}");
        let e = BOT
            .judge(path, r#"{"instId":"BTC-USDT"}"#, MAX)
            .unwrap_err();
        assert!(e.contains("JSON array"), "{e}");
    }

    #[test]
    fn amends_are_bounded_by_their_own_fields() {
        let amend = "/api/v5/trade/amend-order";
        BOT.judge(
            amend,
            r#"{"instId":"BTC-USDT","ordId":"1","newSz":"0.5","newPx":"30000"}"#,
            MAX,
        )
        .unwrap();
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USDT","ordId":"1","newSz":"3"}"#,
            &[("sz", "1")],
            "sz 3 exceeds",
        );
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USDT","ordId":"1","newSz":"1","newPx":"90000"}"#,
            MAX,
            "notional 90000 exceeds",
        );
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USD-250328-100000-C","ordId":"1","newSz":"1","newPxVol":"2"}"#,
            &[("px", "1")],
            "price is set by 'newPxVol'",
        );
        let batch = "/api/v5/trade/amend-batch-orders";
        let e = BOT.judge(
            batch,
            r#"[{"instId":"BTC-USDT","ordId":"1","newSz":"0.5"},{"instId":"BTC-USDT","ordId":"2","newSz":"4"}]"#,
            &[("sz", "1")],
        )
        .unwrap_err();
        assert!(e.starts_with("body[1]: sz 4 exceeds"), "{e}");
    }

    #[test]
    fn algo_orders_bound_sizes_and_never_trust_their_prices() {
        let algo = "/api/v5/trade/order-algo";
        for body in [
            r#"{"instId":"BTC-USDT-SWAP","side":"buy","tdMode":"cross","posSide":"net","sz":"1","ordType":"trigger","triggerPx":"25920","triggerPxType":"last","orderPx":"-1","attachAlgoOrds":[{"slTriggerPx":"100","slOrdPx":"600"}]}"#,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"move_order_stop","sz":"1","posSide":"net","callbackRatio":"0.05","reduceOnly":true}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"conditional","sz":"0.5","slTriggerPx":"20000","slOrdPx":"-1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"smart_iceberg","sz":"0.9","szLimit":"0.1","lmtOrderNumber":"5","aggressiveness":"conservative","pxLimit":"95000","triggerParams":[{"triggerAction":"start","triggerStrategy":"instant"}]}"#,
        ] {
            BOT.judge(algo, body, &[("sz", "1")])
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT-SWAP","side":"buy","tdMode":"cross","sz":"5","ordType":"trigger","triggerPx":"25920","orderPx":"30000"}"#,
            &[("sz", "1")],
            "sz 5 exceeds",
        );
        // A trigger places a limit order at `orderPx` (bounded as written), or with `-1` a
        // market order (no price to bound).
        let trigger = |px: &str| {
            format!(
                r#"{{"instId":"BTC-USDT-SWAP","side":"buy","tdMode":"cross","sz":"1","ordType":"trigger","triggerPx":"25920","orderPx":"{px}"}}"#
            )
        };
        const PX: &[(&str, &str)] = &[("px", "50000")];
        BOT.judge(algo, &trigger("30000"), PX).unwrap();
        BOT.judge(algo, &trigger("30000"), &[("orderPx", "50000")])
            .unwrap();
        BOT.refused(algo, &trigger("60000"), PX, "px 60000 exceeds");
        BOT.refused(algo, &trigger("-1"), PX, "orderPx=-1 makes it one");
        BOT.refused(algo, &trigger("-1.0"), PX, "orderPx=-1.0 makes it one");
        BOT.refused(
            algo,
            &trigger("-2"),
            PX,
            "orderPx=-2 is not a plain decimal",
        );
        BOT.judge(algo, &trigger("-1"), &[("sz", "1")]).unwrap();
        // On any other algo type `orderPx` is no price the order executes at: a TWAP's
        // children are priced at the book plus an unbounded spread.
        let twap = r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"twap","sz":"1","szLimit":"0.1","pxLimit":"1","timeInterval":"10","pxSpread":"100000"}"#;
        BOT.refused(algo, twap, NOTIONAL, "has no known execution price");
        BOT.refused(algo, twap, PX, "the order has no price");
        BOT.refused(
            algo,
            &twap.replace(r#""pxLimit":"1""#, r#""orderPx":"1""#),
            PX,
            "price is set by 'orderPx'",
        );
        // A spot market-buy stop counts the quote currency by default.
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"conditional","sz":"60000","tpTriggerPx":"35000","tpOrdPx":"-1"}"#,
            NOTIONAL,
            "notional 60000 exceeds",
        );
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"conditional","sz":"10","tpTriggerPx":"35000","tpOrdPx":"-1"}"#,
            &[("sz", "1")],
            "base size cannot be established",
        );
        // Spot trigger market buys have no documented unit.
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"trigger","sz":"0.1","triggerPx":"1","orderPx":"-1"}"#,
            &[("sz", "1")],
            "does not document what 'sz' counts",
        );
        // Closing the whole position has no size.
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","closeFraction":"1","reduceOnly":true,"slTriggerPx":"1","slOrdPx":"-1"}"#,
            &[("sz", "1")],
            "closeFraction=1 closes the whole position",
        );
        BOT.judge(
            algo,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","closeFraction":"1","reduceOnly":true,"slTriggerPx":"1","slOrdPx":"-1"}"#,
            &[],
        )
        .unwrap();
        BOT.refused(
            algo,
            r#"{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"conditional","closeFraction":"1","sz":"1","reduceOnly":true,"slTriggerPx":"1","slOrdPx":"-1"}"#,
            &[("sz", "1")],
            "'sz' and 'closeFraction' both size the order",
        );
        let amend = "/api/v5/trade/amend-algos";
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USDT-SWAP","algoId":"1","newSz":"2"}"#,
            &[("sz", "1")],
            "sz 2 exceeds",
        );
        BOT.refused(
            amend,
            r#"{"instId":"BTC-USDT","algoId":"1","newSz":"0.5"}"#,
            &[("sz", "1")],
            "keeps the unit of its size",
        );
        BOT.judge(
            amend,
            r#"{"instId":"BTC-USDT-SWAP","algoId":"1","newSz":"0.5","newTriggerPx":"1","newOrdPx":"-1"}"#,
            &[("sz", "1")],
        )
        .unwrap();
    }

    #[test]
    fn closing_a_position_has_no_size() {
        let close = "/api/v5/trade/close-position";
        let body = r#"{"instId":"BTC-USDT-SWAP","mgnMode":"cross","posSide":"net","autoCxl":true}"#;
        BOT.judge_with(close, body, &[("instId", &["BTC-USDT-SWAP"])], &[])
            .unwrap();
        BOT.refused(close, body, &[("sz", "1")], "closes the whole position");
        BOT.refused(close, body, NOTIONAL, "closes the whole position");
        BOT.refused(
            close,
            r#"{"instId":"BTC-USDT-SWAP","mgnMode":"cross","sz":"1"}"#,
            &[("sz", "10")],
            "'sz' is not a field",
        );
    }
}
