//! The tests of Gate's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from Gate's own documentation (as it says there).

use crate::exchange::gate::Gate;
use crate::exchange::testing::{refuses_each, LeverageBot};

#[test]
fn leverage_and_the_cross_leverage_are_bounded() {
    let futures = LeverageBot {
        exchange: &Gate,
        rule: "/api/v4/futures/{settle}/positions/{contract}/leverage",
        params: &[("contract", &["BTC_USDT"])],
        max: "10",
    };
    let path = "/api/v4/futures/usdt/positions/BTC_USDT/leverage";
    let judge = |q: &str| futures.send(path, Some(q), "");
    judge("leverage=10").unwrap();
    // Cross margin as ccxt sets it: `leverage=0` and the cross leverage beside it.
    judge("leverage=0&cross_leverage_limit=10").unwrap();
    refuses_each(
        judge,
        &[
            ("leverage=11", "leverage 11 exceeds"),
            (
                "leverage=0&cross_leverage_limit=50",
                "cross_leverage_limit 50 exceeds",
            ),
            (
                "leverage=0",
                "switches to cross margin at the leverage 'cross_leverage_limit' gives",
            ),
            ("leverage=0&cross_leverage_limit=0", "leverage=0"),
            // Ignored beside a non-zero leverage by Gate, bounded anyway.
            (
                "leverage=5&cross_leverage_limit=50",
                "cross_leverage_limit 50 exceeds",
            ),
            ("", "sets no leverage"),
            (
                "leverage=5&crossLeverageLimit=50",
                "another spelling of 'cross_leverage_limit'",
            ),
        ],
    );
    // The contract in the path is the instrument the rule constrains.
    let e = futures
        .send(
            "/api/v4/futures/usdt/positions/ETH_USDT/leverage",
            Some("leverage=2"),
            "",
        )
        .unwrap_err();
    assert!(e.contains("contract=ETH_USDT is not allowed"), "{e}");
    // Delivery: a zero is cross margin at a leverage the request does not state.
    let delivery = LeverageBot {
        rule: "/api/v4/delivery/{settle}/positions/{contract}/leverage",
        params: &[],
        ..futures
    };
    let path = "/api/v4/delivery/usdt/positions/BTC_USDT_20300101/leverage";
    let judge = |q: &str| delivery.send(path, Some(q), "");
    judge("leverage=3").unwrap();
    refuses_each(
        judge,
        &[
            ("leverage=0", "switches to cross margin"),
            (
                "leverage=0&cross_leverage_limit=3",
                "'cross_leverage_limit' is not a field",
            ),
        ],
    );
}
