//! The tests of Bybit's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Bybit's own documentation (as it says there).

use crate::exchange::bybit::Bybit;
use crate::exchange::testing::{refuses_each, LeverageBot};

const BOT: LeverageBot = LeverageBot {
    exchange: &Bybit,
    rule: "/v5/position/set-leverage",
    params: &[("symbol", &["BTCUSDT"])],
    max: "10",
};

#[test]
fn both_sides_are_bounded() {
    BOT.judge(r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"10","sellLeverage":"10"}"#)
        .unwrap();
    // Hedge mode, isolated: the sides may differ, and each is bounded.
    BOT.judge(r#"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"3","sellLeverage":"7.5"}"#)
        .unwrap();
    refuses_each(
        |body| BOT.judge(body),
        &[
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
        ],
    );
}
