//! Coinbase Advanced Trade order endpoints: the rule their field tables (`orders.toml` beside
//! this file) name, and the tables' tests. The tables are written from Coinbase's own API
//! reference (docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders:
//! Create Order, Preview Order, Edit Order, Edit Order Preview, Close Position), with the
//! order-configuration shapes of its examples.
//!
//! What the tables encode:
//! * The order type is the name of the one member of `order_configuration`
//!   (`order_configuration.limit_limit_gtc.{base_size, quote_size, limit_price, ...}`): each
//!   kind lists exactly the fields Coinbase documents for it, so a size or price under another
//!   name, or a second kind, is refused. A rule names a field by any kind's dotted name
//!   (`order_configuration.limit_limit_gtc.base_size` bounds the base size of every kind).
//! * Limit kinds take `base_size` or `quote_size`; quote-sized orders are valued at the quote
//!   size, and their base size at the limit price.
//! * `scaled_limit_gtc` (a ladder of orders derived from a distribution) is refused.
//! * `attached_order_configuration` is a second order (take-profit and stop-loss on the same
//!   size, opposite side), read and judged as an order of its own; its size must be omitted.
//! * Futures and perpetual products (anything but a spot `BASE-QUOTE` product id) are sized in
//!   contracts of a per-product multiplier keyward does not know: bounded as written, never
//!   valued. Edits do not name their product and are treated the same way.
//! * Coinbase's backend is protobuf-JSON, which also reads lowerCamelCase names (Coinbase's own
//!   TypeScript SDK sends `baseSize`, `limitPrice`): every other spelling is refused.

use crate::order::{Order, SizeUnit};

/// Whether a product id is a spot pair (`BTC-USD`), whose sizes are in the base and quote
/// assets; futures (`BIT-28JUL23-CDE`) and perpetuals (`BTC-PERP-INTX`) are not.
fn is_spot(product: &str) -> bool {
    let parts: Vec<&str> = product.split('-').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

fn size_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(match order.instrument.as_deref() {
        Some(p) if is_spot(p) => SizeUnit::Base,
        Some(_) => SizeUnit::Contracts(
            "Coinbase sizes futures and perpetuals in contracts of a per-product multiplier, which keyward does not know offline",
        ),
        None => SizeUnit::Contracts(
            "the request names no product_id, so keyward cannot tell a spot size from futures contracts",
        ),
    })
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [size_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{refused, Allowed, Bot, Judged, Maxima};

    const BASE: &str = "order_configuration.limit_limit_gtc.base_size";
    const PRICE: &str = "order_configuration.limit_limit_gtc.limit_price";
    const MAX: &[(&str, &str)] = &[(BASE, "1"), ("notional", "50000")];

    const PRODUCTS: &[(&str, &[&str])] = &[("product_id", &["BTC-USD", "BIT-28JUL23-CDE"])];

    fn send(path: &str, body: &str, max: Maxima) -> Judged {
        send_with(path, body, PRODUCTS, max)
    }

    fn send_with(path: &str, body: &str, params: Allowed, max: Maxima) -> Judged {
        Bot::json(&super::super::PROFILE).judge_with(path, body, params, max)
    }

    fn create(config: &str, max: Maxima) -> Judged {
        send(
            "/api/v3/brokerage/orders",
            &format!(
                r#"{{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{config}}}"#
            ),
            max,
        )
    }

    #[test]
    fn orders_within_the_rule_pass() {
        let orders = create(
            r#"{"limit_limit_gtc":{"base_size":"0.5","limit_price":"30000","post_only":true}}"#,
            MAX,
        )
        .unwrap();
        assert_eq!(orders[0].order_type.as_deref(), Some("limit_limit_gtc"));
        assert_eq!(orders[0].notional(), Some(15000.into()));
        // A quote-sized market buy is valued at its quote size.
        create(
            r#"{"market_market_ioc":{"quote_size":"40000"}}"#,
            &[("notional", "50000")],
        )
        .unwrap();
        // A quote-sized limit order: base size at the limit price (20000 / 40000 = 0.5).
        let orders = create(
            r#"{"limit_limit_fok":{"quote_size":"20000","limit_price":"40000"}}"#,
            MAX,
        )
        .unwrap();
        assert_eq!(orders[0].base(), Some("0.5".parse().unwrap()));
        create(
            r#"{"stop_limit_stop_limit_gtd":{"base_size":0.5,"limit_price":"31000","stop_price":"30500","end_time":"2030-01-01T00:00:00Z","stop_direction":"STOP_DIRECTION_STOP_UP"}}"#,
            MAX,
        )
        .unwrap();
        send(
            "/api/v3/brokerage/orders/preview",
            r#"{"product_id":"BTC-USD","side":"SELL","order_configuration":{"sor_limit_ioc":{"base_size":"1","limit_price":"45000"}}}"#,
            MAX,
        )
        .unwrap();
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        refused(
            create(
                r#"{"limit_limit_gtc":{"base_size":"2","limit_price":"1"}}"#,
                MAX,
            ),
            &[&format!("{BASE} 2 exceeds")],
        );
        refused(
            create(
                r#"{"limit_limit_gtd":{"base_size":"1","limit_price":"60000","end_time":"x"}}"#,
                MAX,
            ),
            &["notional 60000 exceeds"],
        );
        // The rule's dotted name bounds the size and price of every kind.
        refused(
            create(
                r#"{"twap_limit_gtd":{"base_size":"5","limit_price":"1"}}"#,
                MAX,
            ),
            &[&format!("{BASE} 5 exceeds")],
        );
        refused(
            create(
                r#"{"sor_limit_ioc":{"base_size":"0.1","limit_price":"99999"}}"#,
                &[(PRICE, "50000")],
            ),
            &[&format!("{PRICE} 99999 exceeds")],
        );
        // Quote sizes: the notional directly, the base size at the limit price.
        refused(
            create(
                r#"{"market_market_fok":{"quote_size":"60000"}}"#,
                &[("notional", "50000")],
            ),
            &["notional 60000 exceeds"],
        );
        refused(
            create(
                r#"{"limit_limit_gtc":{"quote_size":"90000","limit_price":"30000"}}"#,
                MAX,
            ),
            &[&format!("{BASE} 3 exceeds")],
        );
        refused(
            create(r#"{"market_market_ioc":{"quote_size":"100"}}"#, MAX),
            &["base size cannot be established"],
        );
        // A market order sized in the base asset cannot be valued.
        refused(
            create(r#"{"market_market_ioc":{"base_size":"0.5"}}"#, MAX),
            &["notional", "market_market_ioc executes at the market"],
        );
        refused(
            create(
                r#"{"limit_limit_gtc":{"base_size":"1","quote_size":"1","limit_price":"1"}}"#,
                MAX,
            ),
            &["both a base size", "and a quote size"],
        );
        // A stop-limit is valued at its limit price, not its stop.
        refused(
            create(
                r#"{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"90000","stop_price":"1"}}"#,
                MAX,
            ),
            &["notional 90000 exceeds"],
        );
        // Trigger brackets have no single execution price.
        refused(
            create(
                r#"{"trigger_bracket_gtc":{"base_size":"0.1","limit_price":"1","stop_trigger_price":"1"}}"#,
                MAX,
            ),
            &["notional", "no known execution price"],
        );
        refused(
            send(
                "/api/v3/brokerage/orders",
                r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.1","limit_price":"1"}},"leverage":"10"}"#,
                &[("leverage", "3")],
            ),
            &["leverage 10 exceeds"],
        );
        // Futures are sized in contracts: bounded as written, never valued.
        let futures = r#"{"product_id":"BIT-28JUL23-CDE","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"30000"}}}"#;
        send("/api/v3/brokerage/orders", futures, &[(BASE, "1")]).unwrap();
        refused(
            send(
                "/api/v3/brokerage/orders",
                futures,
                &[("notional", "1000000")],
            ),
            &["contracts of a per-product multiplier"],
        );
    }

    #[test]
    fn the_kind_is_read_exactly() {
        refused(
            create(
                r#"{"limit_limit_gtc":{"base_size":"0.1","limit_price":"1"},"market_market_ioc":{"quote_size":"99999"}}"#,
                MAX,
            ),
            &["both set the order's type"],
        );
        refused(
            create(
                r#"{"scaled_limit_gtc":{"base_size":"0.1","num_orders":5}}"#,
                MAX,
            ),
            &["'order_configuration.scaled_limit_gtc': is a scaled order"],
        );
        refused(
            create(r#"{"limit_limit_gtx":{"base_size":"9"}}"#, MAX),
            &["'order_configuration.limit_limit_gtx' is not a field keyward knows"],
        );
        // A field the kind does not document (stop-limit orders take no quote size).
        refused(
            create(r#"{"stop_limit_stop_limit_gtc":{"quote_size":"99999","limit_price":"1","stop_price":"1"}}"#, MAX),
            &["'order_configuration.stop_limit_stop_limit_gtc.quote_size' is not a field keyward knows"],
        );
        // protobuf-JSON's lowerCamelCase and other spellings.
        for (config, says) in [
            (r#"{"limit_limit_gtc":{"baseSize":"9","limit_price":"1"}}"#, "'order_configuration.limit_limit_gtc.baseSize' is another spelling of"),
            (r#"{"limitLimitGtc":{"base_size":"9","limit_price":"1"}}"#, "'order_configuration.limitLimitGtc' is another spelling of 'order_configuration.limit_limit_gtc'"),
            (r#"{"limit_limit_gtc":{"base_size":"0.1","limit_price":"1","quote_size":null}}"#, "must be a single value"),
            (r#"{"limit_limit_gtc":{"base_size":"0.1","limit_price":"1","ｑuote_size":"9"}}"#, "not ASCII"),
        ] {
            refused(create(config, MAX), &[says]);
        }
        refused(
            send(
                "/api/v3/brokerage/orders",
                r#"{"product_id":"BTC-USD","side":"BUY","orderConfiguration":{"limit_limit_gtc":{"base_size":"9","limit_price":"1"}}}"#,
                MAX,
            ),
            &["'orderConfiguration' is not a field keyward knows"],
        );
        // A top-level member literally named like the nested field is a decoy.
        refused(
            send(
                "/api/v3/brokerage/orders",
                r#"{"product_id":"BTC-USD","side":"BUY","order_configuration.limit_limit_gtc.base_size":"0.1","order_configuration":{"limit_limit_gtc":{"base_size":"9","limit_price":"1"}}}"#,
                MAX,
            ),
            &["holds a '.'"],
        );
    }

    #[test]
    fn an_attached_order_is_an_order_of_its_own() {
        let bracket = |tp: &str| {
            format!(
                r#"{{"product_id":"BTC-USD","side":"BUY","order_configuration":{{"limit_limit_gtc":{{"base_size":"1","limit_price":"30000"}}}},"attached_order_configuration":{{"trigger_bracket_gtc":{{"limit_price":"{tp}","stop_trigger_price":"25000"}}}}}}"#
            )
        };
        let orders = send(
            "/api/v3/brokerage/orders",
            &bracket("40000"),
            &[(BASE, "1"), (PRICE, "50000")],
        )
        .unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].side.as_deref(), Some("SELL"));
        assert_eq!(orders[1].base_size, Some(1.into()));
        assert_eq!(orders[1].order_type.as_deref(), Some("trigger_bracket_gtc"));
        refused(
            send(
                "/api/v3/brokerage/orders",
                &bracket("90000"),
                &[(PRICE, "50000")],
            ),
            &[&format!("attached: {PRICE} 90000 exceeds")],
        );
        refused(
            send("/api/v3/brokerage/orders", &bracket("40000"), MAX),
            &["attached: ", "notional"],
        );
        // The attached order's size must be omitted; other kinds are not eligible.
        refused(
            send(
                "/api/v3/brokerage/orders",
                r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"1"}},"attached_order_configuration":{"trigger_bracket_gtc":{"base_size":"99","limit_price":"1","stop_trigger_price":"1"}}}"#,
                &[],
            ),
            &["'attached_order_configuration.trigger_bracket_gtc.base_size' is not a field keyward knows"],
        );
        refused(
            send(
                "/api/v3/brokerage/orders",
                r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"1"}},"attached_order_configuration":{"market_market_ioc":{"quote_size":"99"}}}"#,
                &[],
            ),
            &["'attached_order_configuration.market_market_ioc' is not a field keyward knows"],
        );
    }

    #[test]
    fn edits_and_position_closes_are_bounded() {
        // An edit names its order by id only: no product a product rule could check.
        refused(
            send(
                "/api/v3/brokerage/orders/edit",
                r#"{"order_id":"o1","price":"30000","size":"0.5"}"#,
                &[],
            ),
            &["'product_id' is required"],
        );
        let edit =
            |body: &str, max: Maxima| send_with("/api/v3/brokerage/orders/edit", body, &[], max);
        edit(
            r#"{"order_id":"o1","price":"30000","size":"0.5"}"#,
            &[(BASE, "1"), (PRICE, "50000")],
        )
        .unwrap();
        refused(
            edit(
                r#"{"order_id":"o1","price":"30000","size":"5"}"#,
                &[(BASE, "1")],
            ),
            &[&format!("{BASE} 5 exceeds")],
        );
        refused(
            edit(
                r#"{"order_id":"o1","price":"90000","size":"0.5"}"#,
                &[(PRICE, "50000")],
            ),
            &[&format!("{PRICE} 90000 exceeds")],
        );
        // An edit names no product: spot size or futures contracts, keyward cannot tell.
        refused(
            edit(
                r#"{"order_id":"o1","price":"1","size":"0.5"}"#,
                &[("notional", "50000")],
            ),
            &["names no product_id"],
        );
        refused(
            edit(
                r#"{"order_id":"o1","price":"30000","size":"0.5","attached_order_configuration":{"limit_limit_gtc":{"limit_price":"90000"}}}"#,
                &[(PRICE, "50000")],
            ),
            &[&format!("attached: {PRICE} 90000 exceeds")],
        );
        refused(
            send_with(
                "/api/v3/brokerage/orders/edit_preview",
                r#"{"order_id":"o1","price":"1","size":"7"}"#,
                &[],
                &[(BASE, "1")],
            ),
            &[&format!("{BASE} 7 exceeds")],
        );
        let close =
            |body: &str, max: Maxima| send("/api/v3/brokerage/orders/close_position", body, max);
        close(
            r#"{"client_order_id":"c","product_id":"BIT-28JUL23-CDE","size":"3"}"#,
            &[(BASE, "3")],
        )
        .unwrap();
        refused(
            close(
                r#"{"client_order_id":"c","product_id":"BIT-28JUL23-CDE","size":"4"}"#,
                &[(BASE, "3")],
            ),
            &[&format!("{BASE} 4 exceeds")],
        );
        // Without a size the whole position is closed: no size to bound.
        refused(
            close(
                r#"{"client_order_id":"c","product_id":"BIT-28JUL23-CDE"}"#,
                &[(BASE, "3")],
            ),
            &["cannot be established"],
        );
    }
}
