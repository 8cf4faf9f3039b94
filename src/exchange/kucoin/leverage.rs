//! The tests of KuCoin's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from KuCoin's own documentation (as it says there).

use crate::exchange::kucoin::Kucoin;
use crate::exchange::testing::{decided, leverage_rule};
use crate::request::Method::Post;

#[test]
fn cross_leverage_and_order_leverage_are_bounded() {
    let path = "/futures/api/v2/changeCrossUserLeverage";
    let judge = |body: &str| {
        decided(
            &Kucoin,
            vec![leverage_rule("POST", path, &[], "5")],
            Post,
            path,
            None,
            body,
        )
    };
    judge(r#"{"symbol":"XBTUSDTM","leverage":"5"}"#).unwrap();
    for (body, says) in [
        (
            r#"{"symbol":"XBTUSDTM","leverage":"6"}"#,
            "leverage 6 exceeds",
        ),
        (r#"{"symbol":"XBTUSDTM","leverage":"0"}"#, "leverage=0"),
        (r#"{"symbol":"XBTUSDTM"}"#, "sets no leverage"),
    ] {
        let e = judge(body).unwrap_err();
        assert!(e.contains(says), "{body}: {e}");
    }
    // An isolated order carries its leverage: bounded when given, and an order without one
    // changes none.
    let orders = "/futures/api/v1/orders";
    let judge = |body: &str| {
        decided(
            &Kucoin,
            vec![leverage_rule("POST", orders, &[], "5")],
            Post,
            orders,
            None,
            body,
        )
    };
    let order = r#"{"clientOid":"a","side":"buy","symbol":"XBTUSDTM","type":"limit","price":"30000","size":1"#;
    judge(&format!("{order},\"leverage\":5}}")).unwrap();
    judge(&format!("{order}}}")).unwrap();
    let e = judge(&format!("{order},\"leverage\":20}}")).unwrap_err();
    assert!(e.contains("leverage 20 exceeds"), "{e}");
    let e = judge(&format!("{order},\"leverage\":0}}")).unwrap_err();
    assert!(e.contains("leverage=0"), "{e}");
}
