//! BitMEX `/realtime` (upstream `ws.bitmex.com/realtime`): order, execution, position, margin
//! and wallet tables, and the public market data tables.
//!
//! The bot's `{"op":"authKeyExpires","args":[key, expires, signature]}` carries its client
//! token as the key; keyward rewrites it with the real key, its own expiry (now + 10 s, Unix
//! seconds) and `hex(HMAC-SHA256(secret, "GET/realtime" + expires))`, so the bot sees BitMEX's
//! own answer. A subscription to a private table is judged as the REST read of the same data
//! (`order` = `GET /api/v1/order`, so `bitmex:read` allows it), a public one as its public read.
//! There is no order entry on this socket; the bare text `ping` passes.
//! <https://www.bitmex.com/app/wsAPI>

use crate::exchange::unix_secs;
use crate::exchange::ws::{
    realtime_signature, refusal_text, symbol_topic, BotFrame, OpKind, Outgoing, Reply,
    RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{Json, Refusal};

/// Tables (the part of a topic before `:`) and the REST reads they equal.
const TABLES: &[(&str, &str)] = &[
    // private
    ("order", "/api/v1/order"),
    ("execution", "/api/v1/execution"),
    ("position", "/api/v1/position"),
    ("margin", "/api/v1/user/margin"),
    ("wallet", "/api/v1/user/wallet"),
    // public
    ("announcement", "/api/v1/announcement"),
    ("funding", "/api/v1/funding"),
    ("instrument", "/api/v1/instrument"),
    ("insurance", "/api/v1/insurance"),
    ("liquidation", "/api/v1/liquidation"),
    ("orderBookL2", "/api/v1/orderBook/L2"),
    ("orderBookL2_25", "/api/v1/orderBook/L2"),
    ("orderBook10", "/api/v1/orderBook/L2"),
    ("quote", "/api/v1/quote"),
    ("quoteBin1m", "/api/v1/quote/bucketed"),
    ("quoteBin5m", "/api/v1/quote/bucketed"),
    ("quoteBin1h", "/api/v1/quote/bucketed"),
    ("quoteBin1d", "/api/v1/quote/bucketed"),
    ("settlement", "/api/v1/settlement"),
    ("trade", "/api/v1/trade"),
    ("tradeBin1m", "/api/v1/trade/bucketed"),
    ("tradeBin5m", "/api/v1/trade/bucketed"),
    ("tradeBin1h", "/api/v1/trade/bucketed"),
    ("tradeBin1d", "/api/v1/trade/bucketed"),
];

const LOGIN: &str = "authKeyExpires";

pub struct BitmexWs;

impl WsProtocol for BitmexWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        (path == "/realtime").then_some(WsRoute {
            authority: "ws.bitmex.com:443",
            api: 0,
        })
    }

    fn literal_keepalive(&self, text: &str) -> bool {
        text == "ping"
    }

    fn read(&self, _route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let Json::Object(members) = frame else {
            return Err(Refusal::bad_request("a BitMEX frame is a JSON object"));
        };
        if let Some((k, _)) = members
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "op" | "args"))
        {
            return Err(Refusal::bad_request(format!(
                "a BitMEX frame has no member {k:?}"
            )));
        }
        let Some(Json::String(op)) = frame.get("op") else {
            return Err(Refusal::bad_request("the frame has no string \"op\""));
        };
        let args = match frame.get("args") {
            Some(Json::Array(items)) => items.as_slice(),
            Some(single @ Json::String(_)) => std::slice::from_ref(single),
            None => &[],
            Some(_) => return Err(Refusal::bad_request("\"args\" must be an array")),
        };
        let op_of = |kind, token| {
            Ok(BotFrame::Op(WsOp {
                name: op.clone(),
                id: Json::Null,
                token,
                kind,
            }))
        };
        match op.as_str() {
            LOGIN => match args {
                [Json::String(token), _, _] => op_of(OpKind::Login, Some(token.clone())),
                _ => Err(Refusal::bad_request(
                    "authKeyExpires takes [key, expires, signature]",
                )),
            },
            "subscribe" | "unsubscribe" => {
                let topics = args
                    .iter()
                    .map(|t| match t {
                        Json::String(t) => topic(t),
                        _ => Err(Refusal::bad_request("a topic is a string")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if topics.is_empty() {
                    return Err(Refusal::bad_request("a subscription names its topics"));
                }
                op_of(OpKind::Subscribe(topics), None)
            }
            other => Err(Refusal::bad_request(format!(
                "{other:?} is not a BitMEX op keyward relays (order entry goes over REST)"
            ))),
        }
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        let expires = (unix_secs(out.now) + 10).to_string();
        let signature = realtime_signature(out, &expires)?;
        let args = vec![
            Json::text(out.api_key()?),
            Json::Number(expires),
            Json::text(signature),
        ];
        let frame = Json::object([("op", Json::text(LOGIN)), ("args", Json::Array(args))]);
        Ok(Reply::ToExchange(frame.to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        // BitMEX's own error shape: `{"status","error","meta","request"}`.
        Json::object([
            ("status", Json::Number("403".to_owned())),
            ("error", refusal_text(refusal)),
            ("meta", Json::Object(Vec::new())),
            ("request", Json::object([("op", Json::text(&op.name))])),
        ])
        .to_compact()
    }
}

/// The REST read a topic (`table` or `table:SYMBOL`) equals.
fn topic(topic: &str) -> Result<RestEquivalent, Refusal> {
    symbol_topic(TABLES, topic).ok_or_else(|| {
        Refusal::bad_request(format!("{topic:?} is not a BitMEX topic keyward relays"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::testing;
    use crate::request::Method;
    use std::time::{Duration, UNIX_EPOCH};

    const ROUTE: WsRoute = WsRoute {
        authority: "ws.bitmex.com:443",
        api: 0,
    };

    fn read(text: &str) -> Result<BotFrame, Refusal> {
        BitmexWs.read(ROUTE, &Json::parse(text).unwrap())
    }

    #[test]
    fn auth_key_expires_is_rewritten_with_the_real_key_and_keywards_signature() {
        let Ok(BotFrame::Op(op)) =
            read(r#"{"op":"authKeyExpires","args":["client-token",1700000000000,"dummy"]}"#)
        else {
            panic!()
        };
        assert!(matches!(op.kind, OpKind::Login));
        assert_eq!(op.token.as_deref(), Some("client-token"));
        let credential = testing::credential("real-key", "real-secret", None);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let Reply::ToExchange(out) = BitmexWs
            .login(&testing::outgoing(
                ROUTE,
                &op,
                &Json::Null,
                &credential,
                now,
            ))
            .unwrap()
        else {
            panic!()
        };
        // hex(HMAC-SHA256("real-secret", "GET/realtime1700000010")), computed independently
        // (python3 -c 'import hmac,hashlib;print(hmac.new(b"real-secret",
        // b"GET/realtime1700000010",hashlib.sha256).hexdigest())').
        assert_eq!(
            out,
            format!(
                r#"{{"op":"authKeyExpires","args":["real-key",1700000010,"{}"]}}"#,
                EXPECTED_SIGNATURE
            )
        );
    }

    const EXPECTED_SIGNATURE: &str =
        "14e527a8b56fb95f7cf1fb93f5029da29f04693f6e40d5b612fb59b426cb1d0f";

    #[test]
    fn topics_are_their_rest_reads_and_everything_else_is_refused() {
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Subscribe(rest),
            ..
        })) = read(r#"{"op":"subscribe","args":["order","margin","trade:XBTUSD"]}"#)
        else {
            panic!()
        };
        let paths: Vec<_> = rest.iter().map(|r| (r.method, r.path.as_str())).collect();
        assert_eq!(
            paths,
            [
                (Method::Get, "/api/v1/order"),
                (Method::Get, "/api/v1/user/margin"),
                (Method::Get, "/api/v1/trade"),
            ]
        );
        assert_eq!(rest[2].query.get("symbol"), Some("XBTUSD"));
        assert!(BitmexWs.literal_keepalive("ping"));
        for bad in [
            r#"{"op":"subscribe","args":["transact"]}"#,
            r#"{"op":"subscribe","args":["chat"]}"#,
            r#"{"op":"subscribe","args":[]}"#,
            r#"{"op":"subscribe","args":[1]}"#,
            r#"{"op":"subscribe","args":["order"],"id":1}"#,
            r#"{"op":"cancelAllAfter","args":60000}"#,
            r#"{"op":"authKey","args":["k",1,"s"]}"#,
            r#"{"op":"authKeyExpires","args":["k"]}"#,
            r#"[]"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
