//! Coinbase Advanced Trade WebSocket: keyward's `/ws` (upstream `/` on
//! `advanced-trade-ws.coinbase.com`).
//!
//! A private channel's `subscribe` carries a JWT (ES256 or EdDSA, no `uri` claim) or the
//! legacy `api_key`/`timestamp`/`signature`; the bot's is a dummy whose `kid`/`sub` (or
//! `api_key`) is its client token. keyward drops it and adds its own JWT signed with the real
//! key. `user` = `GET /api/v3/brokerage/orders/historical/batch` and `futures_balance_summary`
//! = `GET /api/v3/brokerage/cfm/balance_summary` (both in `coinbase:read`); other channels are
//! public market data. Order entry does not exist on this socket.
//! <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-auth>

use std::borrow::Cow;

use super::{random_nonce, signed_jwt, token_in_jwt};
use crate::exchange::unix_secs;
use crate::exchange::ws::{
    members, only, refusal_text, BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp,
    WsProtocol, WsRoute,
};
use crate::request::{CanonicalRequest, Json, Refusal};

/// Private channels and the REST reads they equal.
const PRIVATE: &[(&str, &str)] = &[
    ("user", "/api/v3/brokerage/orders/historical/batch"),
    (
        "futures_balance_summary",
        "/api/v3/brokerage/cfm/balance_summary",
    ),
];
/// Public channels.
const PUBLIC: &[&str] = &[
    "heartbeats",
    "status",
    "ticker",
    "ticker_batch",
    "level2",
    "candles",
    "market_trades",
];
/// The members a frame may have: the subscription's, then the bot's own auth (dropped).
const MEMBERS: &[&str] = &[
    "type",
    "product_ids",
    "channel",
    "jwt",
    "api_key",
    "timestamp",
    "signature",
];
const BOT_AUTH: &[&str] = MEMBERS.split_at(3).1;

/// keyward's one socket path and its upstream.
const PATH: &str = "/ws";
const ROUTE: WsRoute = WsRoute::new("advanced-trade-ws.coinbase.com:443", 0);

pub struct CoinbaseWs;

impl WsProtocol for CoinbaseWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        (path == PATH).then_some(ROUTE)
    }

    fn upstream_path<'p>(&self, _path: &'p str) -> Cow<'p, str> {
        Cow::Borrowed("/")
    }

    fn read(&self, _route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Coinbase frame")?;
        only(members, MEMBERS, "a Coinbase subscription")?;
        let kind = frame.get("type").and_then(Json::scalar_text).unwrap_or("");
        if !matches!(kind, "subscribe" | "unsubscribe") {
            return Err(Refusal::bad_request(format!(
                "{kind:?} is not a Coinbase frame type keyward relays"
            )));
        }
        let channel = frame
            .get("channel")
            .and_then(Json::scalar_text)
            .unwrap_or("");
        let path = match PRIVATE.iter().find(|(c, _)| *c == channel) {
            Some((_, path)) => *path,
            None if PUBLIC.contains(&channel) => "/api/v3/brokerage/market/products",
            None => {
                return Err(Refusal::bad_request(format!(
                    "{channel:?} is not a Coinbase channel keyward relays"
                )))
            }
        };
        let token = match (frame.get("jwt"), frame.get("api_key")) {
            (Some(Json::String(jwt)), _) => Some(
                String::from_utf8(token_in_jwt(jwt.as_bytes())?)
                    .map_err(|_| Refusal::bad_request("the JWT's key name is not text"))?,
            ),
            (None, Some(Json::String(key))) => Some(key.clone()),
            (None, None) => None,
            _ => return Err(Refusal::bad_request("jwt and api_key must be strings")),
        };
        let read = OpKind::Rest(vec![RestEquivalent::read(path)]);
        Ok(BotFrame::op(
            format!("{kind} {channel}"),
            Json::Null,
            token,
            read,
        ))
    }

    fn outbound(&self, out: &Outgoing<'_>, _: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let mut frame = out.frame.clone();
        for member in BOT_AUTH {
            frame.remove(member);
        }
        let channel = out
            .frame
            .get("channel")
            .and_then(Json::scalar_text)
            .unwrap_or("");
        if PRIVATE.iter().any(|(c, _)| *c == channel) {
            let key = &*out.credential.key;
            let now = unix_secs(out.now);
            let jwt = signed_jwt(&out.api_key()?, key, None, now, &random_nonce()?)?;
            frame.set("jwt", Json::String(jwt));
        }
        Ok(Reply::ToExchange(frame.to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        Json::object([
            ("type", Json::text("error")),
            ("message", refusal_text(refusal)),
            ("reason", Json::text(&op.name)),
        ])
        .to_compact()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_map_and_the_token_is_read_from_the_dummy_jwt() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"ES256","kid":"kwt_tok"}"#),
            b64.encode(r#"{"sub":"kwt_tok"}"#)
        );
        let route = CoinbaseWs.route("/ws").unwrap();
        let frame = Json::parse(&format!(
            r#"{{"type":"subscribe","product_ids":["BTC-USD"],"channel":"user","jwt":"{jwt}"}}"#
        ))
        .unwrap();
        let Ok(BotFrame::Op(op)) = CoinbaseWs.read(route, &frame) else {
            panic!()
        };
        assert_eq!(op.token.as_deref(), Some("kwt_tok"));
        for bad in [
            r#"{"type":"subscribe","channel":"withdrawals"}"#,
            r#"{"type":"order","channel":"user"}"#,
            r#"{"type":"subscribe","channel":"user","x":1}"#,
        ] {
            assert!(
                CoinbaseWs.read(route, &Json::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
