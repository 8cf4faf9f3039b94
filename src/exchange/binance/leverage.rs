//! The tests of Binance's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Binance's own documentation (as it says there).

use crate::exchange::binance::Binance;
use crate::exchange::testing::{refuses_each, LeverageBot};

#[test]
fn leverage_is_bounded_on_both_futures_endpoints() {
    for path in ["/fapi/v1/leverage", "/dapi/v1/leverage"] {
        let symbol = if path.starts_with("/fapi") {
            "BTCUSDT"
        } else {
            "BTCUSD_PERP"
        };
        let symbols = [symbol];
        let bot = LeverageBot {
            exchange: &Binance,
            rule: path,
            params: &[("symbol", &symbols)],
            max: "5",
        };
        let judge = |q: &str| bot.send(path, Some(q), "");
        judge(&format!("symbol={symbol}&leverage=5&recvWindow=5000")).unwrap();
        let e = judge(&format!("symbol={symbol}&leverage=6")).unwrap_err();
        assert!(
            e.contains("leverage 6 exceeds the maximum leverage 5"),
            "{e}"
        );
        refuses_each(
            judge,
            &[
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
            ],
        );
    }
}
