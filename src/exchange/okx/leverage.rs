//! The tests of OKX's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from OKX's own documentation (as it says there).

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
    judge(r#"{"instId":"BTC-USDT-SWAP","lever":5,"mgnMode":"isolated","posSide":"long"}"#).unwrap();
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
