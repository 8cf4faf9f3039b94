//! The tests of BitMEX's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from BitMEX's own documentation (as it says there).

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
