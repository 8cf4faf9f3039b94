//! Binance's order endpoints: the rules their field tables (`orders.toml` beside this file)
//! name, and the tables' tests. The tables are written from Binance's own API documentation: the spot REST API (`binance-spot-api-docs`, `rest-api.md`: "New order",
//! "Cancel an Existing Order and Send a New Order", "Order Amend Keep Priority", "New order
//! using SOR"), and the USDⓈ-M / COIN-M futures "New Order", "Modify Order" and "Place
//! Multiple Orders" pages (developers.binance.com, derivatives).
//!
//! What `quantity` counts: the base asset on spot and USDⓈ-M futures; on COIN-M futures
//! (`/dapi/v1/*`) "quantity measured by contract number", each contract worth the symbol's
//! `contractSize` in USD (exchangeInfo; 100 for BTCUSD, 10 for most others), which keyward does
//! not know offline: a bound on `quantity` applies to it as written, a `notional` bound
//! refuses the order ([`SizeUnit::Contracts`]).

use crate::order::{Order, SizeUnit};

/// COIN-M contracts.
const CONTRACTS: SizeUnit = SizeUnit::Contracts(
    "Binance COIN-M sizes orders in contracts of the symbol's contractSize in USD (exchangeInfo), which keyward does not know offline",
);

/// `closePosition=true` "Close-All": the whole position when triggered, with no `quantity`
/// ("Cannot be sent with closePosition=true").
fn close_position(order: &Order) -> Result<Option<SizeUnit>, String> {
    match order.field("closePosition") {
        Some("true") if order.base_size.is_some() => Err(
            "'quantity' cannot be sent with closePosition=true, which closes the whole position; send one"
                .to_owned(),
        ),
        Some("true") => Ok(Some(SizeUnit::WholePosition(
            "closePosition=true closes the whole position when triggered, a size keyward cannot know",
        ))),
        _ => Ok(None),
    }
}

fn futures_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(close_position(order)?.unwrap_or(SizeUnit::Base))
}

fn coin_m_unit(order: &Order) -> Result<SizeUnit, String> {
    Ok(close_position(order)?.unwrap_or(CONTRACTS))
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules =
    crate::rules![size_units: [futures_unit, coin_m_unit]];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::testing::Bot;
    use crate::request::Method;

    const BOT: Bot = Bot::new(
        &super::super::PROFILE,
        Method::Post,
        Some("application/x-www-form-urlencoded"),
    );

    fn judge(
        method: Method,
        path: &str,
        body: &str,
        max: &[(&str, &str)],
    ) -> Result<Vec<Order>, String> {
        BOT.send(method, path, None, body, &[], max)
    }

    #[test]
    fn spot_sizes_however_expressed() {
        let max = [("quantity", "1"), ("notional", "50000")];
        let ok = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=30000";
        judge(Method::Post, "/api/v3/order", ok, &max).unwrap();
        let big = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=2&price=1";
        assert!(judge(Method::Post, "/api/v3/order", big, &max)
            .unwrap_err()
            .contains("quantity 2 exceeds"));
        // A market buy with a decoy price: notional cannot be bounded, refused.
        let market = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.9&price=0.01";
        let e = judge(Method::Post, "/api/v3/order", market, &max).unwrap_err();
        assert!(e.contains("notional") && e.contains("MARKET"), "{e}");
        // Quote-sized market order: notional is the quote amount.
        let quote = "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=60000";
        assert!(judge(
            Method::Post,
            "/api/v3/order",
            quote,
            &[("notional", "50000")]
        )
        .unwrap_err()
        .contains("notional 60000 exceeds"));
        // ... and its base size cannot be established for a quantity bound.
        let quote = "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10";
        assert!(
            judge(Method::Post, "/api/v3/order", quote, &[("quantity", "1")])
                .unwrap_err()
                .contains("base size cannot be established")
        );
        // A pegged limit order has no price keyward can bound.
        let peg = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=1&pegPriceType=MARKET_PEG";
        assert!(judge(Method::Post, "/api/v3/order", peg, &max)
            .unwrap_err()
            .contains("pegPriceType"));
    }

    #[test]
    fn unknown_and_respelled_fields_are_refused() {
        let max = [("quantity", "1")];
        for (body, says) in [
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.1&price=1&qty=50",
                "'qty' is not a field",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&Quantity=50&price=1",
                "is another spelling of 'quantity'",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.1&quote_order_qty=5",
                "another spelling of 'quoteOrderQty'",
            ),
            (
                "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1e3&price=1",
                "not a plain decimal",
            ),
        ] {
            let e = judge(Method::Post, "/api/v3/order", body, &max).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let max = [("quantity", "1"), ("notional", "100000")];
        let items = |q2: &str| {
            let json = format!(
                r#"[{{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.5","price":"30000"}},{{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"{q2}","price":"30000"}}]"#
            );
            let mut p = crate::request::Params::new();
            p.set("batchOrders", json);
            p.encode()
        };
        judge(Method::Post, "/fapi/v1/batchOrders", &items("0.7"), &max).unwrap();
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &items("5"), &max).unwrap_err();
        assert!(
            e.starts_with("batchOrders[1]: ") && e.contains("quantity 5"),
            "{e}"
        );
        // An escaped member name is decoded by the strict JSON parser, then refused as a twin
        // spelling or read as itself: never skipped.
        let escaped = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","q\u0075antity":"9","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &escaped, &max).unwrap_err();
        assert!(e.contains("quantity 9 exceeds"), "{e}");
        // Non-ASCII look-alikes are refused.
        let folded = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"ſymbol":"ETHUSDT","symbol":"BTCUSDT","side":"BUY","type":"LIMIT","quantity":"0.1","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        let e = judge(Method::Post, "/fapi/v1/batchOrders", &folded, &max).unwrap_err();
        assert!(e.contains("not ASCII"), "{e}");
    }

    #[test]
    fn coin_m_contracts_are_bounded_as_written_and_never_valued() {
        let max = [("quantity", "10")];
        let order =
            "symbol=BTCUSD_PERP&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=30000";
        judge(Method::Post, "/dapi/v1/order", order, &max).unwrap();
        let e = judge(
            Method::Post,
            "/dapi/v1/order",
            &order.replace("quantity=10", "quantity=11"),
            &max,
        )
        .unwrap_err();
        assert!(e.contains("quantity 11 exceeds"), "{e}");
        // 10 contracts of 100 USD are not 10 × 30000: no notional keyward can compute.
        for (method, path, body) in [
            (Method::Post, "/dapi/v1/order", order),
            (
                Method::Put,
                "/dapi/v1/order",
                "symbol=BTCUSD_PERP&orderId=1&side=BUY&quantity=1&price=1",
            ),
        ] {
            let e = judge(method, path, body, &[("notional", "1000000")]).unwrap_err();
            assert!(e.contains("contractSize"), "{path}: {e}");
        }
        let batch = {
            let mut p = crate::request::Params::new();
            p.set(
                "batchOrders",
                r#"[{"symbol":"BTCUSD_PERP","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"1","price":"1"}]"#.to_owned(),
            );
            p.encode()
        };
        judge(Method::Post, "/dapi/v1/batchOrders", &batch, &max).unwrap();
        let e = judge(
            Method::Post,
            "/dapi/v1/batchOrders",
            &batch,
            &[("notional", "1000000")],
        )
        .unwrap_err();
        assert!(
            e.starts_with("batchOrders[0]: ") && e.contains("contractSize"),
            "{e}"
        );
        // USDⓈ-M stays in the base asset, valued at its limit price.
        let e = judge(
            Method::Post,
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=60000",
            &[("notional", "50000")],
        )
        .unwrap_err();
        assert!(e.contains("notional 60000 exceeds"), "{e}");
    }

    #[test]
    fn close_position_has_no_size_and_market_orders_no_price() {
        for path in ["/fapi/v1/order", "/dapi/v1/order"] {
            let close =
                "symbol=BTCUSDT&side=SELL&type=STOP_MARKET&stopPrice=20000&closePosition=true";
            judge(Method::Post, path, close, &[("stopPrice", "30000")]).unwrap();
            let e = judge(Method::Post, path, close, &[("quantity", "1")]).unwrap_err();
            assert!(
                e.contains("closePosition=true closes the whole position"),
                "{e}"
            );
            let e = judge(Method::Post, path, &format!("{close}&quantity=1"), &[]).unwrap_err();
            assert!(e.contains("cannot be sent with closePosition=true"), "{e}");
            // A market order's decoy price is never compared with a price bound.
            let e = judge(
                Method::Post,
                path,
                "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=0.01",
                &[("price", "50000")],
            )
            .unwrap_err();
            assert!(
                e.contains("a market order has no price to bound")
                    && e.contains("whatever its 'price' says"),
                "{e}"
            );
        }
    }

    #[test]
    fn amends_are_bounded_by_their_own_size_fields() {
        // `max.quantity` bounds the amend's own size field: both are the base size.
        let cases = [
            (
                "/api/v3/order/amend/keepPriority",
                "symbol=BTCUSDT&orderId=1&newQty=3",
                "quantity",
                "quantity 3 exceeds",
            ),
            (
                "/api/v3/order/amend/keepPriority",
                "symbol=BTCUSDT&orderId=1&newQty=3",
                "newQty",
                "newQty 3 exceeds",
            ),
            (
                "/fapi/v1/order",
                "symbol=BTCUSDT&orderId=1&side=BUY&quantity=4&price=10",
                "quantity",
                "quantity 4 exceeds",
            ),
        ];
        for (path, body, field, error) in cases {
            let e = judge(Method::Put, path, body, &[(field, "1")]).unwrap_err();
            assert!(e.contains(error), "{e}");
        }
    }
}
