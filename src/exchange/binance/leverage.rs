//! The tests of Binance's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Binance's own documentation (as it says there).

use crate::exchange::binance::Binance;
use crate::exchange::testing::{decided, leverage_rule};
use crate::request::Method::Post;

#[test]
fn leverage_is_bounded_on_both_futures_endpoints() {
    for path in ["/fapi/v1/leverage", "/dapi/v1/leverage"] {
        let symbol = if path.starts_with("/fapi") {
            "BTCUSDT"
        } else {
            "BTCUSD_PERP"
        };
        let judge = |q: &str| {
            decided(
                &Binance,
                vec![leverage_rule("POST", path, &[("symbol", &[symbol])], "5")],
                Post,
                path,
                Some(q),
                "",
            )
        };
        judge(&format!("symbol={symbol}&leverage=5&recvWindow=5000")).unwrap();
        let e = judge(&format!("symbol={symbol}&leverage=6")).unwrap_err();
        assert!(
            e.contains("leverage 6 exceeds the maximum leverage 5"),
            "{e}"
        );
        for (q, says) in [
            (
                format!("symbol={symbol}&leverage=0"),
                "leverage=0 is no leverage",
            ),
            (format!("symbol={symbol}"), "sets no leverage"),
            (
                format!("symbol={symbol}&leverage=1e3"),
                "not a plain decimal",
            ),
            (
                format!("symbol={symbol}&Leverage=50"),
                "another spelling of 'leverage'",
            ),
            (
                format!("symbol={symbol}&leverage=2&lever=50"),
                "'lever' is not a field",
            ),
            (
                "symbol=ETHUSDT&leverage=2".to_owned(),
                "symbol=ETHUSDT is not allowed",
            ),
        ] {
            let e = judge(&q).unwrap_err();
            assert!(e.contains(says), "{q}: {e}");
        }
    }
}
