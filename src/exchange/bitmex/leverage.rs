//! The tests of BitMEX's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from BitMEX's own documentation (as it says there).

use crate::exchange::bitmex::Bitmex;
use crate::exchange::testing::{refuses_each, LeverageBot};

#[test]
fn zero_is_cross_margin_at_the_maximum_and_refused() {
    for path in [
        "/api/v1/position/leverage",
        "/api/v1/position/crossLeverage",
    ] {
        let bot = LeverageBot {
            exchange: &Bitmex,
            rule: path,
            params: &[("symbol", &["XBTUSD"])],
            max: "10",
        };
        bot.judge(r#"{"symbol":"XBTUSD","leverage":10}"#).unwrap();
        bot.judge(r#"{"symbol":"XBTUSD","leverage":"0.5"}"#)
            .unwrap();
        refuses_each(
            |body| bot.judge(body).map_err(|e| format!("{path}: {e}")),
            &[
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
            ],
        );
    }
    let any = LeverageBot {
        exchange: &Bitmex,
        rule: "/api/v1/position/leverage",
        params: &[],
        max: "100",
    };
    let e = any
        .judge(r#"{"symbol":"XBTUSD","leverage":0}"#)
        .unwrap_err();
    assert!(e.contains("up to the exchange's maximum leverage"), "{e}");
}
