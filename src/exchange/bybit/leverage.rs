//! Bybit v5's leverage-setting endpoint, from Bybit's own documentation
//! (`bybit-exchange/docs` `docs/v5/position/leverage.mdx`, "Set Leverage",
//! `POST /v5/position/set-leverage`): `category` (`linear`, `inverse`), `symbol`, and both
//! `buyLeverage` and `sellLeverage` ("[`1`, max leverage]"; one-way mode and cross margin want
//! them equal, isolated hedge mode may differ). A leverage bound applies to each.

use crate::order::{leverage_spec, post, Field, Meaning, OrderEndpoint, OrderSpec};

use Meaning::*;

const FIELDS: &[Field] = &[
    ("category", Inert),
    ("symbol", Instrument),
    ("buyLeverage", Leverage),
    ("sellLeverage", Leverage),
];

const SET_LEVERAGE: OrderSpec = leverage_spec(
    FIELDS,
    "bybit-exchange/docs docs/v5/position/leverage.mdx (Set Leverage, POST /v5/position/set-leverage)",
);

/// Every leverage-setting endpoint of `bybit:trade`.
pub const LEVERAGE_ENDPOINTS: &[OrderEndpoint] =
    &[post("/v5/position/set-leverage", &SET_LEVERAGE)];

#[cfg(test)]
mod tests {
    use crate::exchange::bybit::Bybit;
    use crate::exchange::testing::{decided, leverage_rule};
    use crate::request::Method::Post;

    const PATH: &str = "/v5/position/set-leverage";

    fn judge(body: &str) -> Result<String, String> {
        decided(
            &Bybit,
            vec![leverage_rule(
                "POST",
                PATH,
                &[("symbol", &["BTCUSDT"])],
                "10",
            )],
            Post,
            PATH,
            None,
            body,
        )
    }

    #[test]
    fn both_sides_are_bounded() {
        judge(r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"10","sellLeverage":"10"}"#)
            .unwrap();
        // Hedge mode, isolated: the sides may differ, and each is bounded.
        judge(r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"3","sellLeverage":"7.5"}"#)
            .unwrap();
        for (body, says) in [
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"10","sellLeverage":"25"}"#,
                "sellLeverage 25 exceeds",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"25","sellLeverage":"2"}"#,
                "buyLeverage 25 exceeds",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"0","sellLeverage":"2"}"#,
                "buyLeverage=0",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT"}"#,
                "sets no leverage",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"2","sellleverage":"50"}"#,
                "another spelling of 'sellLeverage'",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"2","sellLeverage":"2","leverage":"50"}"#,
                "'leverage' is not a field",
            ),
            (
                r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":{"v":"2"},"sellLeverage":"2"}"#,
                "must be a single value",
            ),
            (
                r#"{"category":"linear","symbol":"ETHUSDT","buyLeverage":"2","sellLeverage":"2"}"#,
                "symbol=ETHUSDT",
            ),
        ] {
            let e = judge(body).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
    }
}
