//! The tests of OKX's leverage table: the `leverage` list of `orders.toml` beside this
//! file, written from OKX's own documentation (as it says there).

use crate::exchange::okx::Okx;
use crate::exchange::testing::{refuses_each, LeverageBot};

const PATH: &str = "/api/v5/account/set-leverage";

#[test]
fn lever_is_bounded() {
    let bot = LeverageBot {
        exchange: &Okx,
        rule: PATH,
        params: &[("instId", &["BTC-USDT-SWAP"])],
        max: "5",
    };
    bot.judge(r#"{"instId":"BTC-USDT-SWAP","lever":"5","mgnMode":"cross"}"#)
        .unwrap();
    bot.judge(r#"{"instId":"BTC-USDT-SWAP","lever":5,"mgnMode":"isolated","posSide":"long"}"#)
        .unwrap();
    refuses_each(
        |body| bot.judge(body),
        &[
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
        ],
    );
    // Without an instrument rule the currency's leverage is bounded like any.
    let open = LeverageBot { params: &[], ..bot };
    open.judge(r#"{"ccy":"BTC","lever":"3","mgnMode":"cross"}"#)
        .unwrap();
    assert!(open
        .judge(r#"{"ccy":"BTC","lever":"30","mgnMode":"cross"}"#)
        .is_err());
}
