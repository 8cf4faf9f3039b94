//! BitMEX's leverage-setting endpoints, from BitMEX's API explorer (swagger): "Choose leverage
//! for a position" (`POST /api/v1/position/leverage`: `symbol`, `leverage` — "Send a number
//! between 0.01 and 100 to enable isolated margin with a fixed leverage. Send 0 to enable cross
//! margin." — and `targetAccountId`, a paired account's position) and "Choose leverage for a
//! cross position" (`POST /api/v1/position/crossLeverage`, the same fields).
//!
//! `leverage=0` switches the position to cross margin, which may use the account's whole
//! margin up to the exchange's maximum leverage: a leverage bound refuses it.

use crate::order::{leverage_spec, post, Field, Meaning, OrderEndpoint, OrderSpec};

use Meaning::*;

const LEVERAGE_FIELDS: &[Field] = &[
    ("symbol", Instrument),
    ("leverage", LeverageOrCross(None)),
    ("targetAccountId", Inert),
];

const LEVERAGE: OrderSpec = leverage_spec(
    LEVERAGE_FIELDS,
    "bitmex.com/api/explorer Position: updateLeverage (POST /position/leverage)",
);

/// A cross position's leverage; a `0` is documented for no value here, so it is refused too.
const CROSS_FIELDS: &[Field] = &[
    ("symbol", Instrument),
    ("leverage", Leverage),
    ("targetAccountId", Inert),
];

const CROSS: OrderSpec = leverage_spec(
    CROSS_FIELDS,
    "bitmex.com/api/explorer Position: updateCrossLeverage (POST /position/crossLeverage)",
);

/// Every leverage-setting endpoint of BitMEX (`bitmex:trade` has the first).
pub const LEVERAGE_ENDPOINTS: &[OrderEndpoint] = &[
    post("/api/v1/position/leverage", &LEVERAGE),
    post("/api/v1/position/crossLeverage", &CROSS),
];

#[cfg(test)]
mod tests {
    use crate::exchange::bitmex::Bitmex;
    use crate::exchange::testing::{decided, leverage_rule};
    use crate::request::Method::Post;

    #[test]
    fn zero_is_cross_margin_at_the_maximum_and_refused() {
        for path in [
            "/api/v1/position/leverage",
            "/api/v1/position/crossLeverage",
        ] {
            let judge = |body: &str| {
                decided(
                    &Bitmex,
                    vec![leverage_rule(
                        "POST",
                        path,
                        &[("symbol", &["XBTUSD"])],
                        "10",
                    )],
                    Post,
                    path,
                    None,
                    body,
                )
            };
            judge(r#"{"symbol":"XBTUSD","leverage":10}"#).unwrap();
            judge(r#"{"symbol":"XBTUSD","leverage":"0.5"}"#).unwrap();
            for (body, says) in [
                (
                    r#"{"symbol":"XBTUSD","leverage":10.01}"#,
                    "leverage 10.01 exceeds",
                ),
                (r#"{"symbol":"XBTUSD","leverage":0}"#, "leverage=0"),
                (r#"{"symbol":"XBTUSD","leverage":"0.00"}"#, "leverage=0"),
                (r#"{"symbol":"XBTUSD"}"#, "sets no leverage"),
                (
                    r#"{"symbol":"XBTUSD","leverage":5,"crossMargin":true}"#,
                    "'crossMargin' is not a field",
                ),
            ] {
                let e = judge(body).unwrap_err();
                assert!(e.contains(says), "{path} {body}: {e}");
            }
        }
        let e = decided(
            &Bitmex,
            vec![leverage_rule(
                "POST",
                "/api/v1/position/leverage",
                &[],
                "100",
            )],
            Post,
            "/api/v1/position/leverage",
            None,
            r#"{"symbol":"XBTUSD","leverage":0}"#,
        )
        .unwrap_err();
        assert!(e.contains("up to the exchange's maximum leverage"), "{e}");
    }
}
