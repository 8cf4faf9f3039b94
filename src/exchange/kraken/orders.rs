//! Kraken spot REST order endpoints: the rule their field tables (`orders.toml` beside this
//! file) name, and the tables' tests. The tables are written from Kraken's own API
//! documentation: the Spot REST OpenAPI specification behind docs.kraken.com/api/docs/rest-api
//! (krakenfx/api-specs, `spot-rest/openapi_v3.yaml` with `schemas/requests/trading/orders/`
//! `add.yaml`, `batchadd.yaml`, `amend.yaml`, `edit.yaml` and `partials/properties/oflags.yaml`,
//! `ordertype.yaml`): Add Order, Add Order Batch, Amend Order, Edit Order.
//!
//! What the tables encode:
//! * `price` and `price2` mean different things by `ordertype`: `price` is the limit price of a
//!   `limit` or `iceberg` order but the trigger of the stop and take-profit kinds, whose limit
//!   price is `price2`; trailing stops give both as offsets relative to the market (`+5`, `+2%`).
//! * `oflags=viqc` makes `volume` the amount of quote currency (documented for market buys
//!   only); any other use of it, and any flag Kraken does not document, is refused.
//! * `volume=0` closes a whole margin position (a size keyward cannot know): refused.
//! * A conditional close (`close[ordertype]`, `close[price]`, `close[price2]` in a form body;
//!   a `close` object in JSON) is a second order in the opposite direction and the same volume,
//!   read and judged as an order of its own.
//! * Add Order Batch: a JSON `orders` array with one shared `pair`.

use crate::order::{Order, SizeUnit};

/// The order flags of `oflags` ("comma delimited list of order flags").
const OFLAGS: &[&str] = &["post", "fcib", "fciq", "nompp", "viqc"];

/// What `volume` measures: the base asset, or with `oflags=viqc` ("order volume expressed in
/// quote currency. This option is supported only for buy market orders") the quote currency.
fn size_unit(order: &Order) -> Result<SizeUnit, String> {
    let mut viqc = false;
    if let Some(flags) = order.field("oflags") {
        for flag in flags.split(',') {
            if !OFLAGS.contains(&flag) {
                return Err(format!(
                    "oflags holds {flag:?}, which is not a flag Kraken documents ({}); keyward refuses it",
                    OFLAGS.join(", ")
                ));
            }
            viqc |= flag == "viqc";
        }
    }
    if order.base_size.is_some_and(|v| v.is_zero()) {
        return Err(
            "volume=0 closes a whole margin position, a size keyward cannot know; send the volume"
                .to_owned(),
        );
    }
    if !viqc {
        return Ok(SizeUnit::Base);
    }
    match (order.order_type.as_deref(), order.side.as_deref()) {
        (Some("market"), Some("buy")) => Ok(SizeUnit::Quote),
        _ => Err(
            "oflags=viqc (volume in the quote currency) is documented for market buys only; keyward cannot tell how Kraken reads volume on this order"
                .to_owned(),
        ),
    }
}

/// The rules `orders.toml` names.
pub const RULES: crate::order::table::Rules = crate::rules![size_units: [size_unit]];

#[cfg(test)]
mod tests {
    use crate::order::testing::{refused, Allowed, Bot, Judged, Maxima};
    use crate::request::Method;

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    fn send(
        path: &str,
        content_type: &'static str,
        body: &str,
        params: Allowed,
        max: Maxima,
    ) -> Judged {
        Bot::new(&super::super::PROFILE, Method::Post, Some(content_type))
            .judge_with(path, body, params, max)
    }

    fn add(body: &str, max: Maxima) -> Judged {
        send("/0/private/AddOrder", FORM, body, &[], max)
    }

    const MAX: &[(&str, &str)] = &[("volume", "1"), ("notional", "50000")];

    #[test]
    fn orders_within_the_rule_pass_in_every_form() {
        add(
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=0.5&price=30000",
            MAX,
        )
        .unwrap();
        send(
            "/0/private/AddOrder",
            JSON,
            r#"{"nonce":1,"pair":"XBTUSD","type":"buy","ordertype":"limit","volume":"0.5","price":"30000","oflags":"post,fciq"}"#,
            &[("pair", &["XBTUSD"])],
            MAX,
        )
        .unwrap();
        // A market buy of 40000 USD worth (viqc): its notional is the quote volume.
        let orders = add(
            "pair=XBTUSD&type=buy&ordertype=market&volume=40000&oflags=viqc",
            &[("notional", "50000")],
        )
        .unwrap();
        assert_eq!(orders[0].quote_size, Some(40000.into()));
        // A stop-loss-limit is bounded by its limit price, `price2`.
        add(
            "pair=XBTUSD&type=buy&ordertype=stop-loss-limit&volume=1&price=31000&price2=32000",
            MAX,
        )
        .unwrap();
        // A limit buy with a conditional close: two orders, both within.
        let orders = add(
            "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=30000&close%5Bordertype%5D=limit&close%5Bprice%5D=40000",
            MAX,
        )
        .unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].side.as_deref(), Some("sell"));
        assert_eq!(orders[1].base_size, Some(1.into()));
        assert_eq!(orders[1].price, Some(40000.into()));
    }

    #[test]
    fn every_size_and_price_field_is_bounded() {
        refused(
            add("pair=XBTUSD&type=buy&ordertype=limit&volume=2&price=1", MAX),
            &["volume 2 exceeds"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=60000",
                MAX,
            ),
            &["notional 60000 exceeds"],
        );
        // A market buy with a decoy price: its notional cannot be bounded.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=market&volume=0.9&price=0.01",
                MAX,
            ),
            &["notional", "market executes at the market"],
        );
        // Quote-sized market buys (viqc): the notional is the quote amount, the base unknown.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=market&volume=60000&oflags=viqc",
                &[("notional", "50000")],
            ),
            &["notional 60000 exceeds"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=market&volume=100&oflags=viqc",
                &[("volume", "1")],
            ),
            &["base size cannot be established"],
        );
        // viqc anywhere but on a market buy, and undocumented flags, are refused.
        refused(
            add(
                "pair=XBTUSD&type=sell&ordertype=market&volume=0.1&oflags=viqc",
                MAX,
            ),
            &["viqc", "market buys only"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=0.1&price=1&oflags=VIQC",
                MAX,
            ),
            &["\"VIQC\"", "not a flag"],
        );
        // A stop-loss-limit whose `price` is a low trigger and `price2` the real limit price.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=stop-loss-limit&volume=1&price=100&price2=90000",
                MAX,
            ),
            &["notional 90000 exceeds"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=take-profit-limit&volume=1&price=100&price2=90000",
                &[("price", "50000")],
            ),
            &["price 90000 exceeds"],
        );
        // A trailing-stop-limit's limit price is an offset: no bound can be computed.
        refused(
            add("pair=XBTUSD&type=buy&ordertype=trailing-stop-limit&volume=1&price=%2B100&price2=%2B0", MAX),
            &["notional", "price is set by 'price2'"],
        );
        // Relative prices and other spellings of numbers are not plain decimals.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=-100",
                MAX,
            ),
            &["price=-100 is not a plain decimal"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1e0&price=1",
                MAX,
            ),
            &["volume=1e0 is not a plain decimal"],
        );
        // volume=0 closes a whole margin position.
        refused(
            add(
                "pair=XBTUSD&type=sell&ordertype=settle-position&volume=0&leverage=2",
                MAX,
            ),
            &["volume=0"],
        );
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&leverage=5",
                &[("leverage", "3")],
            ),
            &["leverage 5 exceeds"],
        );
    }

    #[test]
    fn a_conditional_close_is_an_order_of_its_own() {
        // Over the price bound: the close's own price.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=30000&close%5Bordertype%5D=limit&close%5Bprice%5D=70000",
                &[("price", "50000")],
            ),
            &["close: price 70000 exceeds"],
        );
        // A stop-loss close executes at the market: under a notional bound it is refused.
        refused(
            add(
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=30000&close%5Bordertype%5D=stop-loss&close%5Bprice%5D=25000",
                MAX,
            ),
            &["close: ", "notional", "stop-loss executes at the market"],
        );
        // A buy-only rule refuses the close, which sells.
        refused(
            send(
                "/0/private/AddOrder",
                JSON,
                r#"{"pair":"XBTUSD","type":"buy","ordertype":"limit","volume":"1","price":"30000","close":{"ordertype":"limit","price":"40000"}}"#,
                &[("type", &["buy"])],
                &[],
            ),
            &["close: type=sell is not allowed"],
        );
        // A stop-loss-limit close is bounded by its `price2`.
        refused(
            add(
                "pair=XBTUSD&type=sell&ordertype=limit&volume=1&price=30000&close%5Bordertype%5D=stop-loss-limit&close%5Bprice%5D=31000&close%5Bprice2%5D=99000",
                MAX,
            ),
            &["close: notional 99000 exceeds"],
        );
        // Both spellings at once name the close's type twice.
        refused(
            send(
                "/0/private/AddOrder",
                JSON,
                r#"{"pair":"XBTUSD","type":"buy","ordertype":"limit","volume":"1","price":"1","close[ordertype]":"limit","close":{"ordertype":"limit","price":"2"}}"#,
                &[],
                &[],
            ),
            &["both set the order's type"],
        );
    }

    fn batch(body: &str, max: Maxima) -> Judged {
        send(
            "/0/private/AddOrderBatch",
            JSON,
            body,
            &[("pair", &["XBTUSD"])],
            max,
        )
    }

    #[test]
    fn every_batch_item_is_an_order() {
        let two = |v2: &str| {
            format!(
                r#"{{"nonce":1,"pair":"XBTUSD","deadline":"2030-01-01T00:00:00Z","orders":[{{"ordertype":"limit","type":"buy","volume":"0.5","price":"30000"}},{{"ordertype":"limit","type":"sell","volume":"{v2}","price":"42000"}}]}}"#
            )
        };
        let orders = batch(&two("1"), MAX).unwrap();
        assert_eq!(orders[1].instrument.as_deref(), Some("XBTUSD"));
        refused(batch(&two("3"), MAX), &["orders[1]: volume 3 exceeds"]);
        // An item's conditional close is judged too.
        refused(
            batch(
                r#"{"pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"30000","close":{"ordertype":"stop-loss-limit","price":"29000","price2":"80000"}},{"ordertype":"limit","type":"buy","volume":"1","price":"1"}]}"#,
                MAX,
            ),
            &["orders[0]: close: notional 80000 exceeds"],
        );
        // An item naming another pair names two instruments.
        refused(
            batch(
                r#"{"pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"1","pair":"ETHUSD"},{"ordertype":"limit","type":"buy","volume":"1","price":"1"}]}"#,
                MAX,
            ),
            &[
                "orders[0]: ",
                "'pair' is given beside the batch and again in the order",
            ],
        );
        // Nothing else is read beside the batch, and the batch is JSON only.
        refused(
            batch(
                r#"{"pair":"XBTUSD","volume":"9","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"1"}]}"#,
                MAX,
            ),
            &["'volume' is not read by keyward beside the batch"],
        );
        refused(
            send(
                "/0/private/AddOrderBatch",
                FORM,
                "pair=XBTUSD&orders=x",
                &[],
                MAX,
            ),
            &["'orders' must be a JSON array"],
        );
        // A form-style close name inside a JSON item is not documented there.
        refused(
            batch(
                r#"{"pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"1","price":"1","close[ordertype]":"limit"}]}"#,
                MAX,
            ),
            &["'close[ordertype]' is not a field keyward knows"],
        );
    }

    #[test]
    fn amends_and_edits_are_bounded() {
        let amend = |body: &str, max: Maxima| send("/0/private/AmendOrder", FORM, body, &[], max);
        amend(
            "txid=OABC&order_qty=0.5&limit_price=30000",
            &[("volume", "1"), ("price", "50000")],
        )
        .unwrap();
        // `max.volume` bounds the amend's `order_qty`: both are the base size.
        refused(
            amend("txid=OABC&order_qty=3", &[("volume", "1")]),
            &["volume 3 exceeds"],
        );
        refused(
            amend("txid=OABC&limit_price=90000", &[("price", "50000")]),
            &["price 90000 exceeds"],
        );
        // The amend does not say the order's type: its notional cannot be computed.
        refused(
            amend(
                "txid=OABC&order_qty=0.1&limit_price=1",
                &[("notional", "50000")],
            ),
            &["notional"],
        );
        refused(
            amend("txid=OABC&limit_price=%2B50", &[("price", "50000")]),
            &["not a plain decimal"],
        );
        let edit = |body: &str, max: Maxima| send("/0/private/EditOrder", FORM, body, &[], max);
        edit(
            "txid=OABC&pair=XBTUSD&volume=0.5&price=30000",
            &[("volume", "1"), ("price", "50000")],
        )
        .unwrap();
        refused(
            edit("txid=OABC&pair=XBTUSD&volume=5", &[("volume", "1")]),
            &["volume 5 exceeds"],
        );
        refused(
            edit("txid=OABC&pair=XBTUSD&price=90000", &[("price", "50000")]),
            &["price 90000 exceeds"],
        );
        // `price2` may be a stop-limit order's limit price: the edit's price is unknown.
        refused(
            edit(
                "txid=OABC&pair=XBTUSD&price=1&price2=90000",
                &[("price", "50000")],
            ),
            &["price is set by 'price2'"],
        );
        refused(
            edit("txid=OABC&pair=XBTUSD&volume=1&oflags=viqc", &[]),
            &["viqc"],
        );
    }

    #[test]
    fn other_spellings_are_refused() {
        for (body, says) in [
            (
                "pair=XBTUSD&type=buy&ordertype=limit&Volume=9&price=1",
                "'Volume' is another spelling of 'volume'",
            ),
            (
                "pair=XBTUSD&type=buy&ORDERTYPE=market&volume=9",
                "'ORDERTYPE' is another spelling of 'ordertype'",
            ),
            (
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&close%5BPrice%5D=9",
                "another spelling of 'close[price]'",
            ),
            (
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&display_vol=1",
                "another spelling of 'displayvol'",
            ),
            (
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&qty=50",
                "'qty' is not a field keyward knows",
            ),
            // A form parameter literally named like the JSON close's dotted name.
            (
                "pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&close.price=9",
                "holds a '.'",
            ),
        ] {
            refused(add(body, MAX), &[says]);
        }
        // Non-ASCII look-alikes and dotted decoys in JSON.
        refused(
            send(
                "/0/private/AddOrder",
                JSON,
                r#"{"pair":"XBTUSD","type":"buy","ordertype":"limit","volume":"0.1","vоlume":"50","price":"1"}"#,
                &[],
                MAX,
            ),
            &["not ASCII"],
        );
        refused(
            send(
                "/0/private/AddOrder",
                JSON,
                r#"{"pair":"XBTUSD","type":"buy","ordertype":"limit","volume":"1","price":"1","close.price":"99999"}"#,
                &[],
                MAX,
            ),
            &["member name \"close.price\" holds a '.'"],
        );
    }
}
