//! Bybit v5 sockets: `/v5/private` (order, execution, position and wallet streams),
//! `/v5/trade` (order entry) and `/v5/public/{spot,linear,inverse,option}`.
//!
//! The bot's `{"op":"auth","args":[key, expires, signature]}` carries its client token as the
//! key; keyward rewrites it in place with the real key, its own expiry (now + 10 s) and
//! `hex(HMAC-SHA256(secret, "GET/realtime" + expires))`, so the bot sees Bybit's own answer.
//! Trade ops are the REST endpoint of the same name (`order.create` = `POST /v5/order/create`,
//! batches item by item through the REST batch reader); a private topic is judged as the REST
//! read of the same data (`order` = `GET /v5/order/realtime`, so `bybit:read` allows it).
//! <https://bybit-exchange.github.io/docs/v5/ws/connect>

use crate::exchange::unix_millis;
use crate::exchange::ws::{
    lookup, members, only, realtime_signature, refusal_text, required, single, subscription,
    with_id, BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{Body, CanonicalRequest, Json, Method, Refusal};

const PRIVATE: u8 = 0;
const TRADE: u8 = 1;
const PUBLIC: u8 = 2;

const AUTHORITY: &str = "stream.bybit.com:443";

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/v5/private", WsRoute::new(AUTHORITY, PRIVATE)),
    ("/v5/trade", WsRoute::new(AUTHORITY, TRADE)),
    ("/v5/public/spot", WsRoute::new(AUTHORITY, PUBLIC)),
    ("/v5/public/linear", WsRoute::new(AUTHORITY, PUBLIC)),
    ("/v5/public/inverse", WsRoute::new(AUTHORITY, PUBLIC)),
    ("/v5/public/option", WsRoute::new(AUTHORITY, PUBLIC)),
];

/// Trade ops and the REST endpoints they equal.
const TRADE_OPS: &[(&str, &str)] = &[
    ("order.create", "/v5/order/create"),
    ("order.amend", "/v5/order/amend"),
    ("order.cancel", "/v5/order/cancel"),
    ("order.create-batch", "/v5/order/create-batch"),
    ("order.amend-batch", "/v5/order/amend-batch"),
    ("order.cancel-batch", "/v5/order/cancel-batch"),
];

/// Private topics (a topic or its `topic.category` form) and the REST reads they equal.
const PRIVATE_TOPICS: &[(&str, &str)] = &[
    ("order", "/v5/order/realtime"),
    ("stopOrder", "/v5/order/realtime"),
    ("execution", "/v5/execution/list"),
    ("execution.fast", "/v5/execution/list"),
    ("position", "/v5/position/list"),
    ("wallet", "/v5/account/wallet-balance"),
    ("greeks", "/v5/asset/coin-greeks"),
];

/// Public topic prefixes and the public market data they equal.
const PUBLIC_TOPICS: &[(&str, &str)] = &[
    ("orderbook", "/v5/market/orderbook"),
    ("publicTrade", "/v5/market/recent-trade"),
    ("tickers", "/v5/market/tickers"),
    ("kline", "/v5/market/kline"),
    ("allLiquidation", "/v5/market/tickers"),
    ("liquidation", "/v5/market/tickers"),
];

pub struct BybitWs;

impl WsProtocol for BybitWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path)
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Bybit frame")?;
        let op = required(frame, "op", "frame")?;
        let allowed: &[&str] = match (op, route.api) {
            ("ping", _) => &["op", "req_id"],
            ("auth", PRIVATE | TRADE) => &["op", "args", "req_id"],
            ("subscribe" | "unsubscribe", PRIVATE | PUBLIC) => &["op", "args", "req_id"],
            (_, TRADE) => &["op", "reqId", "header", "args"],
            _ => &[],
        };
        only(
            members,
            allowed,
            &format!("a Bybit {op:?} frame on this socket"),
        )?;
        let id = frame
            .get("req_id")
            .or_else(|| frame.get("reqId"))
            .cloned()
            .unwrap_or(Json::Null);
        let args = match frame.get("args") {
            Some(Json::Array(items)) => items.as_slice(),
            None => &[],
            Some(_) => return Err(Refusal::bad_request("\"args\" must be an array")),
        };
        let op_of = |kind, token| Ok(BotFrame::op(op, id.clone(), token, kind));
        match op {
            "ping" => Ok(BotFrame::Keepalive),
            "auth" => match args.first() {
                Some(Json::String(token)) if args.len() == 3 => {
                    op_of(OpKind::Login, Some(token.clone()))
                }
                _ => Err(Refusal::bad_request("auth takes [key, expires, signature]")),
            },
            "subscribe" | "unsubscribe" => {
                let topics = subscription(args, |t| match t {
                    Json::String(t) => topic(route, t),
                    _ => Err(Refusal::bad_request("a topic is a string")),
                })?;
                op_of(topics, None)
            }
            trade => {
                let path = lookup(TRADE_OPS, trade).ok_or_else(|| {
                    Refusal::bad_request(format!("{trade:?} is not a Bybit op keyward knows"))
                })?;
                let [body @ Json::Object(_)] = args else {
                    return Err(Refusal::bad_request(
                        "a Bybit trade op takes one object in args",
                    ));
                };
                op_of(
                    OpKind::Rest(vec![RestEquivalent::json(Method::Post, path, body.clone())]),
                    None,
                )
            }
        }
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        let expires = (unix_millis(out.now) + 10_000).to_string();
        let signature = realtime_signature(out, &expires)?;
        let args = [out.api_key()?, expires, signature];
        let frame = Json::object([
            ("op", Json::text("auth")),
            ("args", Json::Array(args.map(Json::String).to_vec())),
        ]);
        Ok(Reply::ToExchange(
            with_id(frame, "req_id", &out.op.id).to_compact(),
        ))
    }

    fn outbound(&self, out: &Outgoing<'_>, checked: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let Body::Json(body) = &single(checked, "a Bybit trade op")?.body else {
            return Err(Refusal::bad_request("a Bybit trade op carries an object"));
        };
        let recv_window = out.credential.recv_window_ms;
        let window = match out
            .frame
            .get("header")
            .and_then(|h| h.get("X-BAPI-RECV-WINDOW"))
        {
            Some(v) => v
                .scalar_text()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| Refusal::bad_request("X-BAPI-RECV-WINDOW is not a number"))?
                .min(recv_window),
            None => recv_window,
        };
        let header = Json::object([
            (
                "X-BAPI-TIMESTAMP",
                Json::text(unix_millis(out.now).to_string()),
            ),
            ("X-BAPI-RECV-WINDOW", Json::text(window.to_string())),
        ]);
        let frame = Json::object([
            ("op", Json::text(&out.op.name)),
            ("reqId", out.op.id.clone()),
            ("header", header),
            ("args", Json::Array(vec![body.clone()])),
        ]);
        Ok(Reply::ToExchange(frame.to_compact()))
    }

    fn error_reply(&self, route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        let msg = refusal_text(refusal);
        if route.api == TRADE && op.name != "auth" {
            Json::object([
                ("reqId", op.id.clone()),
                ("retCode", Json::Number("10005".to_owned())),
                ("retMsg", msg),
                ("op", Json::text(&op.name)),
                ("data", Json::Object(Vec::new())),
            ])
        } else {
            Json::object([
                ("success", Json::Bool(false)),
                ("ret_msg", msg),
                ("op", Json::text(&op.name)),
                ("req_id", op.id.clone()),
            ])
        }
        .to_compact()
    }
}

/// The REST request a topic equals on this socket.
fn topic(route: WsRoute, topic: &str) -> Result<RestEquivalent, Refusal> {
    let (table, name) = if route.api == PUBLIC {
        (PUBLIC_TOPICS, topic.split('.').next().unwrap_or(""))
    } else {
        let name = match topic.split_once('.') {
            // `order.spot`, `position.linear`: the topic for one category.
            Some((name, _)) if name != "execution" => name,
            Some(("execution", rest)) if rest.starts_with("fast") => "execution.fast",
            Some((name, _)) => name,
            None => topic,
        };
        (PRIVATE_TOPICS, name)
    };
    let path = lookup(table, name).ok_or_else(|| {
        Refusal::bad_request(format!("{topic:?} is not a Bybit topic keyward relays"))
    })?;
    Ok(RestEquivalent::read(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::testing;
    use std::time::{Duration, UNIX_EPOCH};

    const TRADE_ROUTE: WsRoute = WsRoute::new(AUTHORITY, TRADE);
    fn op(route: WsRoute, text: &str) -> WsOp {
        match BybitWs.read(route, &Json::parse(text).unwrap()).unwrap() {
            BotFrame::Op(op) => op,
            BotFrame::Keepalive => panic!("keepalive"),
        }
    }

    #[test]
    fn auth_is_rewritten_with_the_real_key_and_keywards_signature() {
        let frame = r#"{"op":"auth","args":["client-token","1","dummy"],"req_id":"a"}"#;
        let op = op(TRADE_ROUTE, frame);
        assert_eq!(op.token.as_deref(), Some("client-token"));
        let credential = testing::credential("real-key", "real-secret", None);
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let out = testing::outgoing(TRADE_ROUTE, &op, &Json::Null, &credential, now);
        let out = testing::sent(BybitWs.login(&out));
        let expected = hex::encode(testing::hmac_sha256(
            b"real-secret",
            b"GET/realtime1700000010000",
        ));
        assert_eq!(
            out,
            format!(
                r#"{{"op":"auth","args":["real-key","1700000010000","{expected}"],"req_id":"a"}}"#
            )
        );
    }

    #[test]
    fn trade_ops_are_their_rest_endpoints_and_topics_their_reads() {
        let op1 = op(
            TRADE_ROUTE,
            r#"{"op":"order.create-batch","reqId":"1","header":{},"args":[{"category":"linear","request":[]}]}"#,
        );
        let OpKind::Rest(rest) = op1.kind else {
            panic!()
        };
        assert_eq!(rest[0].path, "/v5/order/create-batch");
        let private = BybitWs.route("/v5/private").unwrap();
        let op2 = op(
            private,
            r#"{"op":"subscribe","args":["order","wallet","position.linear"]}"#,
        );
        let OpKind::Subscribe(rest) = op2.kind else {
            panic!()
        };
        let paths: Vec<_> = rest.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/v5/order/realtime",
                "/v5/account/wallet-balance",
                "/v5/position/list"
            ]
        );
    }

    #[test]
    fn unknown_ops_topics_and_members_are_refused() {
        let private = BybitWs.route("/v5/private").unwrap();
        for (route, text) in [
            (TRADE_ROUTE, r#"{"op":"withdraw","reqId":"1","args":[{}]}"#),
            (
                TRADE_ROUTE,
                r#"{"op":"order.create","reqId":"1","args":[{}],"x":1}"#,
            ),
            (
                TRADE_ROUTE,
                r#"{"op":"order.create","reqId":"1","args":[{},{}]}"#,
            ),
            (private, r#"{"op":"subscribe","args":["transfer"]}"#),
            (private, r#"{"op":"order.create","args":[{}]}"#),
        ] {
            assert!(
                BybitWs.read(route, &Json::parse(text).unwrap()).is_err(),
                "{text}"
            );
        }
    }
}
