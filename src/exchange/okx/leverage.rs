//! OKX v5's leverage-setting endpoint, from OKX's own documentation (docs-v5 "Set leverage",
//! `POST /api/v5/account/set-leverage`): `instId` (or, for cross MARGIN and the
//! auto-borrow currency leverage, `ccy`), `lever`, `mgnMode` (`isolated`, `cross`), `posSide`
//! (isolated long/short mode).

use crate::order::{leverage_spec, post, Field, Meaning, OrderEndpoint, OrderSpec};

use Meaning::*;

const FIELDS: &[Field] = &[
    ("instId", Instrument),
    // A currency's leverage (cross MARGIN, auto borrow) instead of an instrument's: no
    // instrument, so an instrument rule refuses such a request.
    ("ccy", Inert),
    ("lever", Leverage),
    ("mgnMode", Inert),
    ("posSide", Inert),
];

const SET_LEVERAGE: OrderSpec = leverage_spec(
    FIELDS,
    "okx.com docs-v5 Trading Account: Set leverage (POST /api/v5/account/set-leverage)",
);

/// Every leverage-setting endpoint of `okx:trade`.
pub const LEVERAGE_ENDPOINTS: &[OrderEndpoint] =
    &[post("/api/v5/account/set-leverage", &SET_LEVERAGE)];

#[cfg(test)]
mod tests {
    use crate::exchange::okx::Okx;
    use crate::exchange::testing::{decided, leverage_rule};
    use crate::request::Method::Post;

    const PATH: &str = "/api/v5/account/set-leverage";

    #[test]
    fn lever_is_bounded() {
        let judge = |body: &str| {
            decided(
                &Okx,
                vec![leverage_rule(
                    "POST",
                    PATH,
                    &[("instId", &["BTC-USDT-SWAP"])],
                    "5",
                )],
                Post,
                PATH,
                None,
                body,
            )
        };
        judge(r#"{"instId":"BTC-USDT-SWAP","lever":"5","mgnMode":"cross"}"#).unwrap();
        judge(r#"{"instId":"BTC-USDT-SWAP","lever":5,"mgnMode":"isolated","posSide":"long"}"#)
            .unwrap();
        for (body, says) in [
            (
                r#"{"instId":"BTC-USDT-SWAP","lever":"6","mgnMode":"cross"}"#,
                "lever 6 exceeds",
            ),
            (
                r#"{"instId":"BTC-USDT-SWAP","lever":"0","mgnMode":"cross"}"#,
                "lever=0",
            ),
            (
                r#"{"instId":"BTC-USDT-SWAP","mgnMode":"cross"}"#,
                "sets no leverage",
            ),
            (
                r#"{"instId":"BTC-USDT-SWAP","Lever":"50","mgnMode":"cross"}"#,
                "another spelling of 'lever'",
            ),
            // A currency's leverage names no instrument, which the rule constrains.
            (
                r#"{"ccy":"BTC","lever":"3","mgnMode":"cross"}"#,
                "'instId' is required",
            ),
        ] {
            let e = judge(body).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
        // Without an instrument rule the currency's leverage is bounded like any.
        let open = |body: &str| {
            decided(
                &Okx,
                vec![leverage_rule("POST", PATH, &[], "5")],
                Post,
                PATH,
                None,
                body,
            )
        };
        open(r#"{"ccy":"BTC","lever":"3","mgnMode":"cross"}"#).unwrap();
        assert!(open(r#"{"ccy":"BTC","lever":"30","mgnMode":"cross"}"#).is_err());
    }
}
