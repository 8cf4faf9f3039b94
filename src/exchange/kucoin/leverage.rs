//! The tests of KuCoin's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from KuCoin's own documentation (as it says there).

use crate::exchange::kucoin::Kucoin;
use crate::exchange::testing::{refuses_each, LeverageBot};

#[test]
fn cross_leverage_and_order_leverage_are_bounded() {
    let cross = LeverageBot {
        exchange: &Kucoin,
        rule: "/futures/api/v2/changeCrossUserLeverage",
        params: &[],
        max: "5",
    };
    cross
        .judge(r#"{"symbol":"XBTUSDTM","leverage":"5"}"#)
        .unwrap();
    refuses_each(
        |body| cross.judge(body),
        &[
            (
                r#"{"symbol":"XBTUSDTM","leverage":"6"}"#,
                "leverage 6 exceeds",
            ),
            (r#"{"symbol":"XBTUSDTM","leverage":"0"}"#, "leverage=0"),
            (r#"{"symbol":"XBTUSDTM"}"#, "sets no leverage"),
        ],
    );
    // An isolated order carries its leverage: bounded when given, and an order without one
    // changes none.
    let orders = LeverageBot {
        rule: "/futures/api/v1/orders",
        ..cross
    };
    let order = r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","type":"limit","price":"30000","size":1"#;
    orders.judge(&format!("{order},\"leverage\":5}}")).unwrap();
    orders.judge(&format!("{order}}}")).unwrap();
    refuses_each(
        |body| orders.judge(body),
        &[
            (format!("{order},\"leverage\":20}}"), "leverage 20 exceeds"),
            (format!("{order},\"leverage\":0}}"), "leverage=0"),
        ],
    );
}
