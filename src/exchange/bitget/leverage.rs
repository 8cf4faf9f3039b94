//! The tests of Bitget's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Bitget's own documentation (as it says there).

use crate::exchange::bitget::Bitget;
use crate::exchange::testing::{refuses_each, LeverageBot};

#[test]
fn every_leverage_field_is_bounded() {
    let bot = LeverageBot {
        exchange: &Bitget,
        rule: "/api/v2/mix/account/set-leverage",
        params: &[("symbol", &["BTCUSDT"])],
        max: "5",
    };
    let head = r#""symbol":"BTCUSDT","productType":"USDT-FUTURES","marginCoin":"USDT""#;
    let judge = |tail: &str| bot.judge(&format!("{{{head},{tail}}}"));
    for ok in [
        r#""leverage":"5""#,
        r#""leverage":"5","holdSide":"long""#,
        r#""longLeverage":"5","shortLeverage":"2""#,
        r#""leverage":"2","longLeverage":"5","shortLeverage":"3""#,
    ] {
        judge(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    refuses_each(
        judge,
        &[
            (r#""leverage":"6""#, "leverage 6 exceeds"),
            // `longLeverage` takes precedence over `leverage`: a low `leverage` hides nothing.
            (
                r#""leverage":"2","longLeverage":"50""#,
                "longLeverage 50 exceeds",
            ),
            (
                r#""leverage":"2","shortLeverage":"50""#,
                "shortLeverage 50 exceeds",
            ),
            (r#""holdSide":"long""#, "sets no leverage"),
            (r#""leverage":"0""#, "leverage=0"),
            (
                r#""leverage":"2","long_leverage":"50""#,
                "another spelling of 'longLeverage'",
            ),
            (
                r#""leverage":"2","crossMarginLeverage":"50""#,
                "'crossMarginLeverage' is not a field",
            ),
        ],
    );
}
