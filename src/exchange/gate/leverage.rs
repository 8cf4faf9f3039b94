//! Gate API v4's leverage-setting endpoints, from Gate's own documentation
//! (gate.com/docs/developers/apiv4: Futures "Update position leverage",
//! `POST /futures/{settle}/positions/{contract}/leverage`; Delivery "Update position leverage",
//! `POST /delivery/{settle}/positions/{contract}/leverage`). The contract is in the path; the
//! query carries `leverage` ("New position leverage"; `0` is cross margin) and, on futures,
//! `cross_leverage_limit` ("Cross margin leverage (valid only when `leverage` is 0)", which
//! ccxt's `set_leverage` sends with `leverage=0` for a cross position) and `pid`.

use crate::order::{leverage_spec, post, Field, Meaning, OrderEndpoint, OrderSpec};

use Meaning::*;

const FUTURES_FIELDS: &[Field] = &[
    ("contract", Instrument),
    ("leverage", LeverageOrCross(Some("cross_leverage_limit"))),
    ("cross_leverage_limit", Leverage),
    // "Product ID": which product's position, not how much leverage.
    ("pid", Inert),
];

const FUTURES: OrderSpec = leverage_spec(
    FUTURES_FIELDS,
    "gate.com apiv4 Futures: Update position leverage (POST /futures/{settle}/positions/{contract}/leverage)",
);

/// A delivery position's `leverage` has no cross leverage beside it: a `0` (cross margin, at a
/// leverage the request does not state) is refused under a leverage bound.
const DELIVERY_FIELDS: &[Field] = &[
    ("contract", Instrument),
    ("leverage", LeverageOrCross(None)),
];

const DELIVERY: OrderSpec = leverage_spec(
    DELIVERY_FIELDS,
    "gate.com apiv4 Delivery: Update position leverage (POST /delivery/{settle}/positions/{contract}/leverage)",
);

/// Every leverage-setting endpoint of `gate:futures-trade`.
pub const LEVERAGE_ENDPOINTS: &[OrderEndpoint] = &[
    post(
        "/api/v4/futures/{settle}/positions/{contract}/leverage",
        &FUTURES,
    ),
    post(
        "/api/v4/delivery/{settle}/positions/{contract}/leverage",
        &DELIVERY,
    ),
];

#[cfg(test)]
mod tests {
    use crate::exchange::gate::Gate;
    use crate::exchange::testing::{decided, leverage_rule};
    use crate::request::Method::Post;

    #[test]
    fn leverage_and_the_cross_leverage_are_bounded() {
        let rule = "/api/v4/futures/{settle}/positions/{contract}/leverage";
        let path = "/api/v4/futures/usdt/positions/BTC_USDT/leverage";
        let judge = |q: &str| {
            decided(
                &Gate,
                vec![leverage_rule(
                    "POST",
                    rule,
                    &[("contract", &["BTC_USDT"])],
                    "10",
                )],
                Post,
                path,
                Some(q),
                "",
            )
        };
        judge("leverage=10").unwrap();
        // Cross margin as ccxt sets it: `leverage=0` and the cross leverage beside it.
        judge("leverage=0&cross_leverage_limit=10").unwrap();
        for (q, says) in [
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
        ] {
            let e = judge(q).unwrap_err();
            assert!(e.contains(says), "{q}: {e}");
        }
        // The contract in the path is the instrument the rule constrains.
        let e = decided(
            &Gate,
            vec![leverage_rule(
                "POST",
                rule,
                &[("contract", &["BTC_USDT"])],
                "10",
            )],
            Post,
            "/api/v4/futures/usdt/positions/ETH_USDT/leverage",
            Some("leverage=2"),
            "",
        )
        .unwrap_err();
        assert!(e.contains("contract=ETH_USDT is not allowed"), "{e}");
        // Delivery: a zero is cross margin at a leverage the request does not state.
        let rule = "/api/v4/delivery/{settle}/positions/{contract}/leverage";
        let path = "/api/v4/delivery/usdt/positions/BTC_USDT_20300101/leverage";
        let judge = |q: &str| {
            decided(
                &Gate,
                vec![leverage_rule("POST", rule, &[], "10")],
                Post,
                path,
                Some(q),
                "",
            )
        };
        judge("leverage=3").unwrap();
        let e = judge("leverage=0").unwrap_err();
        assert!(e.contains("switches to cross margin"), "{e}");
        let e = judge("leverage=0&cross_leverage_limit=3").unwrap_err();
        assert!(e.contains("'cross_leverage_limit' is not a field"), "{e}");
    }
}
