//! The tests of Bybit's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Bybit's own documentation (as it says there).

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
