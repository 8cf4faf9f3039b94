//! BitMEX's order endpoints: their field tables are data, `orders.toml` beside this file, written
//! from BitMEX's own API documentation (the REST API explorer's swagger definition,
//! BitMEX/api-connectors `swagger.json`, API 1.2.0, and docs.bitmex.com/api-explorer/new-order);
//! here is the rule they name, what `orderQty` counts, and the tables' tests.

use crate::order::{Order, SizeUnit};

/// What `orderQty` counts: contracts whose value keyward cannot compute.
fn size_unit(_: &Order) -> Result<SizeUnit, String> {
    Ok(SizeUnit::Contracts(
        "BitMEX sizes orders in contracts of the instrument's multiplier (spot: the base currency's minor unit), which keyward does not know offline",
    ))
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [size_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{refused, Allowed, Bot, Judged, Maxima};
    use crate::request::Method;

    fn send(method: Method, path: &str, body: &str, params: Allowed, max: Maxima) -> Judged {
        Bot::json(&super::super::PROFILE).send(method, path, None, body, params, max)
    }

    fn new(body: &str, max: Maxima) -> Judged {
        send(
            Method::Post,
            "/api/v1/order",
            body,
            &[("symbol", &["XBTUSD"])],
            max,
        )
    }

    const MAX: &[(&str, &str)] = &[("orderQty", "1000"), ("price", "70000")];

    #[test]
    fn orders_within_the_rule_pass() {
        // ccxt's createOrder shape.
        let orders = new(
            r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1000,"ordType":"Limit","price":60000.5,"displayQty":0,"execInst":"ParticipateDoNotInitiate","clOrdID":"x"}"#,
            MAX,
        )
        .unwrap();
        assert_eq!(orders[0].base_size, Some(1000.into()));
        new(
            r#"{"symbol":"XBTUSD","side":"Sell","orderQty":10,"ordType":"Stop","stopPx":50000,"execInst":"LastPrice,ReduceOnly"}"#,
            &[("orderQty", "1000"), ("stopPx", "60000")],
        )
        .unwrap();
        // A market order has no price a `max.price` could bound.
        refused(
            new(
                r#"{"symbol":"XBTUSD","side":"Sell","orderQty":10,"ordType":"Stop","stopPx":50000}"#,
                MAX,
            ),
            &["a market order has no price"],
        );
        send(
            Method::Put,
            "/api/v1/order",
            r#"{"orderID":"abc","orderQty":500,"price":61000}"#,
            &[],
            MAX,
        )
        .unwrap();
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        let cases: [(&str, Maxima, &[&str]); 10] = [
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1001,"ordType":"Limit","price":1}"#,
                MAX,
                &["orderQty 1001 exceeds"],
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":70001}"#,
                MAX,
                &["price 70001 exceeds"],
            ),
            (
                r#"{"symbol":"ETHUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1}"#,
                MAX,
                &["symbol=ETHUSD is not allowed"],
            ),
            // Contracts of an unknown multiplier have no notional keyward can compute.
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1}"#,
                &[("notional", "1000000")],
                &["notional", "contracts of the instrument's multiplier"],
            ),
            // A pegged order's price follows the book, whatever `price` says.
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Pegged","price":1,"pegPriceType":"PrimaryPeg","pegOffsetValue":-1,"execInst":"Fixed"}"#,
                MAX,
                &["price is set by"],
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"price":1,"pegPriceType":"MarketPeg","pegOffsetValue":5}"#,
                MAX,
                &["price is set by 'pegPriceType'"],
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Pegged","price":1}"#,
                MAX,
                &["price is set by 'price'"],
            ),
            // The deprecated simple quantities are another unit.
            (
                r#"{"symbol":"XBTUSD","side":"Buy","simpleOrderQty":100,"ordType":"Market"}"#,
                MAX,
                &["'simpleOrderQty': is deprecated"],
            ),
            // A negative quantity (a sell, by BitMEX's default side) is not a plain decimal.
            (
                r#"{"symbol":"XBTUSD","orderQty":-5000,"ordType":"Market"}"#,
                MAX,
                &["orderQty=-5000 is not a plain decimal"],
            ),
            // A Close order without orderQty closes the whole position: no size.
            (
                r#"{"symbol":"XBTUSD","side":"Sell","ordType":"Stop","stopPx":50000,"execInst":"Close"}"#,
                MAX,
                &["limits orderQty", "cannot be established"],
            ),
        ];
        for (body, max, says) in cases {
            refused(new(body, max), says);
        }
    }

    #[test]
    fn amends_and_position_closes_are_bounded() {
        let amend = |body: &str| send(Method::Put, "/api/v1/order", body, &[], MAX);
        let amend_price = |body: &str| {
            send(
                Method::Put,
                "/api/v1/order",
                body,
                &[],
                &[("price", "70000")],
            )
        };
        let amends: [(&str, &[&str]); 5] = [
            (
                r#"{"orderID":"abc","orderQty":5000}"#,
                &["orderQty 5000 exceeds"],
            ),
            // `max.orderQty` bounds what stays open, `leavesQty`: both are the size.
            (
                r#"{"orderID":"abc","leavesQty":5000}"#,
                &["orderQty 5000 exceeds"],
            ),
            (
                r#"{"orderID":"abc","orderQty":1,"leavesQty":5000}"#,
                &["both set the order's base size"],
            ),
            // A price-only amend leaves the size unknown: refused under a size bound.
            (
                r#"{"orderID":"abc","price":60000}"#,
                &["limits orderQty", "cannot be established"],
            ),
            (
                r#"{"orderID":"abc","simpleLeavesQty":1}"#,
                &["'simpleLeavesQty': is deprecated"],
            ),
        ];
        for (body, says) in amends {
            refused(amend(body), says);
        }
        for (body, says) in [
            (r#"{"orderID":"abc","price":90000}"#, "price 90000 exceeds"),
            (
                r#"{"orderID":"abc","pegOffsetValue":100}"#,
                "price is set by 'pegOffsetValue'",
            ),
        ] {
            refused(amend_price(body), &[says]);
        }
        // closePosition closes the whole position, a size keyward cannot know.
        let close = |max: Maxima| {
            send(
                Method::Post,
                "/api/v1/order/closePosition",
                r#"{"symbol":"XBTUSD","price":60000}"#,
                &[("symbol", &["XBTUSD"])],
                max,
            )
        };
        close(&[("price", "70000")]).unwrap();
        refused(close(MAX), &["limits orderQty", "cannot be established"]);
    }

    #[test]
    fn other_spellings_are_refused() {
        for (body, says) in [
            (
                r#"{"symbol":"XBTUSD","side":"Buy","OrderQty":5000,"ordType":"Market"}"#,
                "'OrderQty' is another spelling of 'orderQty'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","order_qty":5000,"ordType":"Market"}"#,
                "'order_qty' is another spelling of 'orderQty'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordtype":"Market"}"#,
                "'ordtype' is another spelling of 'ordType'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"quantity":5000}"#,
                "'quantity' is not a field keyward knows",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"ordеrQty":5000}"#,
                "not ASCII",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1,"ordType":"Limit","price":1,"orderQty.value":5000}"#,
                "holds a '.'",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":{"value":5000},"ordType":"Market"}"#,
                "'orderQty' must be a single value",
            ),
            (
                r#"{"symbol":"XBTUSD","side":"Buy","orderQty":1e4,"ordType":"Market"}"#,
                "not a plain decimal",
            ),
        ] {
            refused(new(body, MAX), &[says]);
        }
    }
}
