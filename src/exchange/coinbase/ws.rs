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
use std::time::SystemTime;

use super::{random_nonce, signed_jwt, token_in_jwt};
use crate::exchange::unix_secs;
use crate::exchange::ws::{
    credential_text, BotFrame, OpKind, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::exchange::Credential;
use crate::request::{CanonicalRequest, Json, Method, Params, Refusal};

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
/// The bot's own auth members, dropped.
const BOT_AUTH: &[&str] = &["jwt", "api_key", "timestamp", "signature"];

pub struct CoinbaseWs;

impl WsProtocol for CoinbaseWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        (path == "/ws").then_some(WsRoute {
            authority: "advanced-trade-ws.coinbase.com:443",
            api: 0,
        })
    }

    fn upstream_path<'p>(&self, _path: &'p str) -> Cow<'p, str> {
        Cow::Borrowed("/")
    }

    fn read(&self, _route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let Json::Object(members) = frame else {
            return Err(Refusal::bad_request("a Coinbase frame is a JSON object"));
        };
        if let Some((k, _)) = members.iter().find(|(k, _)| {
            !matches!(k.as_str(), "type" | "product_ids" | "channel")
                && !BOT_AUTH.contains(&k.as_str())
        }) {
            return Err(Refusal::bad_request(format!(
                "a Coinbase subscription has no member {k:?}"
            )));
        }
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
        Ok(BotFrame::Op(WsOp {
            name: format!("{kind} {channel}"),
            id: Json::Null,
            token,
            kind: OpKind::Rest(vec![RestEquivalent::query(
                Method::Get,
                path,
                Params::new(),
            )]),
        }))
    }

    fn outbound(
        &self,
        _route: WsRoute,
        _op: &WsOp,
        frame: &Json,
        _checked: &[CanonicalRequest],
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Reply, Refusal> {
        let mut out = frame.clone();
        for member in BOT_AUTH {
            out.remove(member);
        }
        let channel = frame
            .get("channel")
            .and_then(Json::scalar_text)
            .unwrap_or("");
        if PRIVATE.iter().any(|(c, _)| *c == channel) {
            let key_name = credential_text(credential.api_key.expose())?;
            let jwt = signed_jwt(
                &key_name,
                &*credential.key,
                None,
                unix_secs(now),
                &random_nonce()?,
            )?;
            out.set("jwt", Json::String(jwt));
        }
        Ok(Reply::ToExchange(out.to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        Json::Object(vec![
            ("type".to_owned(), Json::String("error".to_owned())),
            (
                "message".to_owned(),
                Json::String(format!("keyward {}: {}", refusal.code, refusal.message)),
            ),
            ("reason".to_owned(), Json::String(op.name.clone())),
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
