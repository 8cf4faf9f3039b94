//! Deribit's socket `/ws/api/v2`: JSON-RPC, the whole API (the method is the path).
//!
//! The bot's `public/auth` carries its client token as `client_id` (any grant); keyward sends
//! its own `client_signature` grant in its place (real client id, its own timestamp and nonce,
//! `hex(HMAC-SHA256(secret, ts + "\n" + nonce + "\n" + data))`), and the access and refresh
//! tokens of every answer are replaced before it reaches the bot (a real token would let the
//! bot use the API around keyward). Every other method is judged as `GET /api/v2/<method>` with
//! its params, so withdrawals, transfers, key management and `fork_token`/`exchange_token` are
//! hard-denied on the socket exactly as on REST; subscriptions to `user.*` channels are judged
//! as the REST read of the same data.
//! <https://docs.deribit.com/#public-auth>

use std::sync::atomic::{AtomicU64, Ordering};

use crate::exchange::unix_millis;
use crate::exchange::ws::{
    flat_params, members, object, only, refusal_text, request_id, required, single, subscription,
    typed_params, BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{CanonicalRequest, Json, Method, Refusal};

/// What the bot sees instead of a Deribit access or refresh token.
pub const TOKEN_PLACEHOLDER: &str = "keyward-session-token";

/// The bot's own auth fields, never judged or sent.
const BOT_FIELDS: &[&str] = &["access_token"];

/// `user.*` channel families and the REST reads they equal.
const USER_CHANNELS: &[(&str, &str)] = &[
    ("user.orders", "private/get_open_orders_by_currency"),
    ("user.trades", "private/get_user_trades_by_currency"),
    ("user.changes", "private/get_open_orders_by_currency"),
    ("user.portfolio", "private/get_account_summary"),
    ("user.position", "private/get_positions"),
    ("user.access_log", "private/get_account_summary"),
];

/// keyward's one socket path and its upstream.
const PATH: &str = "/ws/api/v2";
const ROUTE: WsRoute = WsRoute::new("www.deribit.com:443", 0);

pub struct DeribitWs;

impl WsProtocol for DeribitWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        (path == PATH).then_some(ROUTE)
    }

    fn read(&self, _route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Deribit request")?;
        only(
            members,
            &["jsonrpc", "id", "method", "params"],
            "a JSON-RPC request",
        )?;
        let method = required(frame, "method", "request")?;
        let scope = method.split('/').next().unwrap_or("");
        let name = method.get(scope.len() + 1..).unwrap_or("");
        if !matches!(scope, "public" | "private")
            || name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(Refusal::bad_request(format!(
                "{method:?} is not a Deribit method name"
            )));
        }
        let params = object(frame, "params")?;
        let op = |kind, token| Ok(BotFrame::op(method, request_id(frame, "id"), token, kind));
        match method {
            "public/test" | "public/set_heartbeat" | "public/disable_heartbeat" => {
                Ok(BotFrame::Keepalive)
            }
            "public/auth" => {
                let token = match params.iter().find(|(k, _)| k == "client_id") {
                    None => None,
                    Some((_, Json::String(t))) => Some(t.clone()),
                    Some(_) => return Err(Refusal::bad_request("client_id must be a string")),
                };
                op(OpKind::Login, token)
            }
            "public/subscribe"
            | "private/subscribe"
            | "public/unsubscribe"
            | "private/unsubscribe" => {
                let Some(Json::Array(channels)) =
                    params.iter().find(|(k, _)| k == "channels").map(|(_, v)| v)
                else {
                    return Err(Refusal::bad_request(
                        "a subscription lists its \"channels\"",
                    ));
                };
                op(subscription(channels, channel)?, None)
            }
            _ => op(
                OpKind::Rest(vec![RestEquivalent::query(
                    Method::Get,
                    format!("/api/v2/{method}"),
                    flat_params(params, BOT_FIELDS)?,
                )]),
                None,
            ),
        }
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        static NONCE: AtomicU64 = AtomicU64::new(0);
        let ts = unix_millis(out.now).to_string();
        let nonce = format!("kw{}", NONCE.fetch_add(1, Ordering::Relaxed));
        let signature =
            out.credential
                .key
                .hmac_sha256(&[ts.as_bytes(), b"\n", nonce.as_bytes(), b"\n"])?;
        let params = Json::object([
            ("grant_type", Json::text("client_signature")),
            ("client_id", Json::text(out.api_key()?)),
            ("timestamp", Json::Number(ts)),
            ("signature", Json::text(hex::encode(signature))),
            ("nonce", Json::text(nonce)),
            ("data", Json::text("")),
        ]);
        Ok(Reply::ToExchange(request(out.op, "public/auth", params)))
    }

    fn outbound(&self, out: &Outgoing<'_>, checked: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let canonical = single(checked, "a Deribit method call")?;
        let params = typed_params(object(out.frame, "params")?, &canonical.query, BOT_FIELDS);
        Ok(Reply::ToExchange(request(
            out.op,
            &out.op.name,
            Json::Object(params),
        )))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        let error = Json::object([
            ("code", Json::Number("13021".to_owned())),
            ("message", refusal_text(refusal)),
        ]);
        Json::object([
            ("jsonrpc", Json::text("2.0")),
            ("id", op.id.clone()),
            ("error", error),
        ])
        .to_compact()
    }

    fn to_bot(&self, _route: WsRoute, text: String) -> Option<String> {
        if !text.contains("_token") {
            return Some(text);
        }
        // The answer to an auth carries the tokens in `result`; they are replaced there, and a
        // frame that still names a token anywhere else is not shown at all.
        let mut frame = Json::parse(&text).ok()?;
        if let Json::Object(members) = &mut frame {
            if let Some((_, Json::Object(result))) = members.iter_mut().find(|(k, _)| k == "result")
            {
                for (k, v) in result.iter_mut() {
                    if k == "access_token" || k == "refresh_token" {
                        *v = Json::String(TOKEN_PLACEHOLDER.to_owned());
                    }
                }
            }
        }
        let out = frame.to_compact();
        (!names_a_token(&out)).then_some(out)
    }
}

/// Whether compact JSON holds an access or refresh token other than the placeholder.
fn names_a_token(text: &str) -> bool {
    ["\"access_token\":", "\"refresh_token\":"]
        .iter()
        .any(|key| {
            text.match_indices(key).any(|(i, _)| {
                !text[i + key.len()..].starts_with(&format!("\"{TOKEN_PLACEHOLDER}\""))
            })
        })
}

/// A JSON-RPC request for the bot's id.
fn request(op: &WsOp, method: &str, params: Json) -> String {
    Json::object([
        ("jsonrpc", Json::text("2.0")),
        ("id", op.id.clone()),
        ("method", Json::text(method)),
        ("params", params),
    ])
    .to_compact()
}

/// The REST read a channel equals: `user.*` the private read of the same data, any other
/// channel public market data.
fn channel(channel: &Json) -> Result<RestEquivalent, Refusal> {
    let Json::String(name) = channel else {
        return Err(Refusal::bad_request("a channel is a string"));
    };
    let method = if name.starts_with("user.") {
        USER_CHANNELS
            .iter()
            .find(|(prefix, _)| name.starts_with(&format!("{prefix}.")))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                Refusal::bad_request(format!("{name:?} is not a Deribit channel keyward relays"))
            })?
    } else {
        "public/ticker"
    };
    Ok(RestEquivalent::read(format!("/api/v2/{method}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest_path(text: &str) -> String {
        match DeribitWs.read(ROUTE, &Json::parse(text).unwrap()).unwrap() {
            BotFrame::Op(WsOp {
                kind: OpKind::Rest(r),
                ..
            }) => r[0].path.clone(),
            _ => panic!("{text}"),
        }
    }

    #[test]
    fn the_method_is_the_path() {
        assert_eq!(
            rest_path(
                r#"{"jsonrpc":"2.0","id":1,"method":"private/withdraw","params":{"currency":"BTC"}}"#
            ),
            "/api/v2/private/withdraw"
        );
        assert_eq!(
            rest_path(r#"{"id":2,"method":"public/fork_token","params":{}}"#),
            "/api/v2/public/fork_token"
        );
        for bad in [
            r#"{"id":1,"method":"private/../withdraw"}"#,
            r#"{"id":1,"method":"admin/x"}"#,
            r#"{"id":1,"method":"private/buy","params":{"a":[1]}}"#,
            r#"{"id":1,"method":"private/buy","extra":1}"#,
            r#"{"id":1,"method":"private/subscribe","params":{"channels":["user.secret.x"]}}"#,
        ] {
            assert!(
                DeribitWs.read(ROUTE, &Json::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_in_answers_are_replaced() {
        let answer = r#"{"jsonrpc":"2.0","id":9,"result":{"access_token":"real-a","refresh_token":"real-r","expires_in":900}}"#;
        let shown = DeribitWs.to_bot(ROUTE, answer.to_owned()).unwrap();
        assert!(
            !shown.contains("real-a") && !shown.contains("real-r"),
            "{shown}"
        );
        assert!(shown.contains(TOKEN_PLACEHOLDER));
        let elsewhere = r#"{"params":{"data":{"access_token":"real-a"}}}"#;
        assert_eq!(DeribitWs.to_bot(ROUTE, elsewhere.to_owned()), None);
        let market = r#"{"params":{"channel":"ticker.BTC-PERPETUAL.raw"}}"#;
        assert_eq!(
            DeribitWs.to_bot(ROUTE, market.to_owned()).as_deref(),
            Some(market)
        );
    }
}
