//! Bitget v2 sockets: `/v2/ws/private` (orders, fills, account, positions) and `/v2/ws/public`.
//!
//! The bot's `{"op":"login","args":[{"apiKey",...}]}` carries its client token as `apiKey`;
//! keyward rewrites it with the real key and passphrase, its own timestamp and
//! `base64(HMAC-SHA256(secret, ts + "GET" + "/user/verify"))`. A private channel is judged as
//! the REST read of the same data for its `instType` (spot or futures), so `bitget:read`
//! allows it. The bare text `ping` is Bitget's keepalive. Order entry over the socket (`trade`)
//! is not relayed: it closes the socket with 1008.
//! <https://www.bitget.com/api-doc/common/websocket-intro>

use crate::exchange::ws::{
    args, login_token, lookup, members, only, passphrase_login, refusal_text, required,
    subscription, BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{Json, Refusal};

const PRIVATE: u8 = 0;
const PUBLIC: u8 = 1;

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/v2/ws/private", WsRoute::new("ws.bitget.com:443", PRIVATE)),
    ("/v2/ws/public", WsRoute::new("ws.bitget.com:443", PUBLIC)),
];

/// Private channels: the REST read for spot and margin, and the one for futures.
const PRIVATE_CHANNELS: &[(&str, &str, &str)] = &[
    (
        "orders",
        "/api/v2/spot/trade/unfilled-orders",
        "/api/v2/mix/order/orders-pending",
    ),
    (
        "orders-algo",
        "/api/v2/spot/trade/unfilled-orders",
        "/api/v2/mix/order/orders-plan-pending",
    ),
    (
        "fill",
        "/api/v2/spot/trade/fills",
        "/api/v2/mix/order/fill-history",
    ),
    (
        "account",
        "/api/v2/spot/account/assets",
        "/api/v2/mix/account/accounts",
    ),
    (
        "positions",
        "/api/v2/mix/position/all-position",
        "/api/v2/mix/position/all-position",
    ),
];

/// Public channels (by name or prefix) and the public market data they equal.
const PUBLIC_CHANNELS: &[(&str, &str)] = &[
    ("ticker", "/api/v2/spot/market/tickers"),
    ("books", "/api/v2/spot/market/orderbook"),
    ("trade", "/api/v2/spot/market/fills"),
    ("candle", "/api/v2/spot/market/candles"),
];

pub struct BitgetWs;

impl WsProtocol for BitgetWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path)
    }

    fn literal_keepalive(&self, text: &str) -> bool {
        text == "ping"
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Bitget frame")?;
        // ccxt leaks its `url` option into the login frame; keyward rebuilds the login, so it
        // is dropped there (and refused anywhere else).
        let allowed: &[&str] = match frame.get("op") {
            Some(Json::String(op)) if op == "login" => &["op", "args", "url"],
            _ => &["op", "args"],
        };
        only(members, allowed, "a Bitget frame")?;
        let op = required(frame, "op", "frame")?;
        let args = args(frame)?;
        let (kind, token) = match op {
            "login" if route.api == PRIVATE => (OpKind::Login, Some(login_token(args)?)),
            "subscribe" | "unsubscribe" => (subscription(args, |a| channel(route, a))?, None),
            other => {
                return Err(Refusal::bad_request(format!(
                    "{other:?} is not a Bitget op keyward relays on this socket"
                )))
            }
        };
        Ok(BotFrame::op(op, Json::Null, token, kind))
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        passphrase_login(out, "/user/verify")
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        Json::object([
            ("event", Json::text("error")),
            ("code", Json::Number("30004".to_owned())),
            ("msg", refusal_text(refusal)),
            ("op", Json::text(&op.name)),
        ])
        .to_compact()
    }
}

/// The REST read a subscription argument equals on this socket.
fn channel(route: WsRoute, arg: &Json) -> Result<RestEquivalent, Refusal> {
    let Some(Json::String(name)) = arg.get("channel") else {
        return Err(Refusal::bad_request("a subscription names its \"channel\""));
    };
    let path = if route.api == PUBLIC {
        PUBLIC_CHANNELS
            .iter()
            .find(|(c, _)| name.starts_with(c))
            .map(|(_, p)| *p)
    } else {
        let spot = matches!(
            arg.get("instType").and_then(Json::scalar_text),
            Some("SPOT" | "MARGIN")
        );
        PRIVATE_CHANNELS
            .iter()
            .find(|(c, _, _)| name == c)
            .map(|(_, s, f)| if spot { *s } else { *f })
    };
    let path = path.ok_or_else(|| {
        Refusal::bad_request(format!(
            "{name:?} is not a Bitget channel keyward relays here"
        ))
    })?;
    Ok(RestEquivalent::read(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_their_reads_and_other_ops_are_refused() {
        let route = BitgetWs.route("/v2/ws/private").unwrap();
        let frame = Json::parse(
            r#"{"op":"subscribe","args":[{"instType":"SPOT","channel":"orders","instId":"default"},{"instType":"USDT-FUTURES","channel":"account","coin":"default"}]}"#,
        )
        .unwrap();
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Subscribe(reads),
            ..
        })) = BitgetWs.read(route, &frame)
        else {
            panic!()
        };
        let paths: Vec<_> = reads.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/api/v2/spot/trade/unfilled-orders",
                "/api/v2/mix/account/accounts"
            ]
        );
        for bad in [
            r#"{"op":"trade","args":[{"channel":"place-order"}]}"#,
            r#"{"op":"subscribe","args":[{"channel":"withdraw"}]}"#,
            r#"{"op":"login","args":[{"apiKey":1}]}"#,
            r#"{"op":"subscribe","args":[{"channel":"orders"}],"id":1}"#,
        ] {
            assert!(
                BitgetWs.read(route, &Json::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
