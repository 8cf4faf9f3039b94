//! OKX v5 sockets: `/ws/v5/private` (orders, account, positions; order entry),
//! `/ws/v5/business` (algo orders, candles) and `/ws/v5/public`.
//!
//! The bot's `{"op":"login","args":[{"apiKey","passphrase","timestamp","sign"}]}` carries its
//! client token as `apiKey`; keyward rewrites it with the real key and passphrase, its own
//! timestamp (seconds) and `base64(HMAC-SHA256(secret, ts + "GET" + "/users/self/verify"))`.
//! Trade ops are the REST endpoint of the same name (`order` = `POST /api/v5/trade/order`,
//! `batch-orders` item by item through the REST batch reader); a private channel is judged as
//! the REST read of the same data. The bare text `ping` is OKX's keepalive.
//! <https://www.okx.com/docs-v5/en/#overview-websocket>

use crate::exchange::ws::{
    args, login_token, lookup, members, only, passphrase_login, refusal_text, request_id, required,
    single, subscription, BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol,
    WsRoute,
};
use crate::request::{Body, CanonicalRequest, Json, Method, Refusal};

const PRIVATE: u8 = 0;
const BUSINESS: u8 = 1;
const PUBLIC: u8 = 2;

const AUTHORITY: &str = "ws.okx.com:8443";

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/ws/v5/private", WsRoute::new(AUTHORITY, PRIVATE)),
    ("/ws/v5/business", WsRoute::new(AUTHORITY, BUSINESS)),
    ("/ws/v5/public", WsRoute::new(AUTHORITY, PUBLIC)),
];

/// Trade ops, the REST endpoints they equal, and whether the REST body is the whole `args`
/// array (batches) or its one object.
const TRADE_OPS: &[(&str, (&str, bool))] = &[
    ("order", ("/api/v5/trade/order", false)),
    ("batch-orders", ("/api/v5/trade/batch-orders", true)),
    ("cancel-order", ("/api/v5/trade/cancel-order", false)),
    (
        "batch-cancel-orders",
        ("/api/v5/trade/cancel-batch-orders", true),
    ),
    ("amend-order", ("/api/v5/trade/amend-order", false)),
    (
        "batch-amend-orders",
        ("/api/v5/trade/amend-batch-orders", true),
    ),
    ("mass-cancel", ("/api/v5/trade/mass-cancel", false)),
];

/// Private and business channels and the REST reads they equal.
const PRIVATE_CHANNELS: &[(&str, &str)] = &[
    ("orders", "/api/v5/trade/orders-pending"),
    ("fills", "/api/v5/trade/fills"),
    ("account", "/api/v5/account/balance"),
    ("positions", "/api/v5/account/positions"),
    ("balance_and_position", "/api/v5/account/balance"),
    ("liquidation-warning", "/api/v5/account/positions"),
    ("account-greeks", "/api/v5/account/greeks"),
    ("orders-algo", "/api/v5/trade/orders-algo-pending"),
    ("algo-advance", "/api/v5/trade/orders-algo-pending"),
];

/// Public channels (by name or prefix) and the public market data they equal.
const PUBLIC_CHANNELS: &[(&str, &str)] = &[
    ("tickers", "/api/v5/market/tickers"),
    ("books", "/api/v5/market/books"),
    ("bbo-tbt", "/api/v5/market/books"),
    ("trades", "/api/v5/market/trades"),
    ("candle", "/api/v5/market/candles"),
    ("mark-price", "/api/v5/public/mark-price"),
    ("index-tickers", "/api/v5/market/index-tickers"),
    ("funding-rate", "/api/v5/public/funding-rate"),
    ("open-interest", "/api/v5/public/open-interest"),
    ("price-limit", "/api/v5/public/price-limit"),
    ("instruments", "/api/v5/public/instruments"),
];

pub struct OkxWs;

impl WsProtocol for OkxWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path)
    }

    fn literal_keepalive(&self, text: &str) -> bool {
        text == "ping"
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "an OKX frame")?;
        let op = required(frame, "op", "frame")?;
        let allowed: &[&str] = match op {
            "login" | "subscribe" | "unsubscribe" => &["op", "args", "id"],
            _ => &["op", "args", "id", "expTime"],
        };
        only(members, allowed, &format!("an OKX {op:?} frame"))?;
        let args = args(frame)?;
        let op_of = |kind, token| Ok(BotFrame::op(op, request_id(frame, "id"), token, kind));
        match op {
            "login" if route.api != PUBLIC => op_of(OpKind::Login, Some(login_token(args)?)),
            "subscribe" | "unsubscribe" => op_of(subscription(args, |a| channel(route, a))?, None),
            trade if route.api == PRIVATE => {
                let (path, batch) = lookup(TRADE_OPS, trade).ok_or_else(|| {
                    Refusal::bad_request(format!("{trade:?} is not an OKX op keyward knows"))
                })?;
                if args.iter().any(|a| !matches!(a, Json::Object(_))) {
                    return Err(Refusal::bad_request(
                        "an OKX trade op takes objects in args",
                    ));
                }
                let body = match (batch, args) {
                    (true, _) => Json::Array(args.to_vec()),
                    (false, [one]) => one.clone(),
                    (false, _) => {
                        return Err(Refusal::bad_request(format!(
                            "{trade:?} takes one object in args"
                        )))
                    }
                };
                op_of(
                    OpKind::Rest(vec![RestEquivalent::json(Method::Post, path, body)]),
                    None,
                )
            }
            other => Err(Refusal::bad_request(format!(
                "{other:?} is not an OKX op keyward relays on this socket"
            ))),
        }
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        passphrase_login(out, "/users/self/verify")
    }

    fn outbound(&self, out: &Outgoing<'_>, checked: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let args = match &single(checked, "an OKX trade op")?.body {
            Body::Json(Json::Array(items)) => items.clone(),
            Body::Json(one) => vec![one.clone()],
            _ => return Err(Refusal::bad_request("an OKX trade op carries objects")),
        };
        let mut frame = Json::object([
            ("id", out.op.id.clone()),
            ("op", Json::text(&out.op.name)),
            ("args", Json::Array(args)),
        ]);
        if let Some(exp) = out.frame.get("expTime") {
            frame.set("expTime", exp.clone());
        }
        Ok(Reply::ToExchange(frame.to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        let msg = refusal_text(refusal);
        match op.name.as_str() {
            "login" | "subscribe" | "unsubscribe" => Json::object([
                ("event", Json::text("error")),
                ("code", Json::text("60009")),
                ("msg", msg),
                ("id", op.id.clone()),
            ]),
            _ => Json::object([
                ("id", op.id.clone()),
                ("op", Json::text(&op.name)),
                ("code", Json::text("1")),
                ("msg", msg.clone()),
                (
                    "data",
                    Json::Array(vec![Json::object([
                        ("sCode", Json::text("50120")),
                        ("sMsg", msg),
                    ])]),
                ),
            ]),
        }
        .to_compact()
    }
}

/// The REST read a subscription argument equals on this socket.
fn channel(route: WsRoute, arg: &Json) -> Result<RestEquivalent, Refusal> {
    let Some(Json::String(name)) = arg.get("channel") else {
        return Err(Refusal::bad_request("a subscription names its \"channel\""));
    };
    let found = if route.api == PUBLIC || name.starts_with("candle") {
        PUBLIC_CHANNELS
            .iter()
            .find(|(c, _)| name == c || name.starts_with(c))
    } else {
        PRIVATE_CHANNELS.iter().find(|(c, _)| name == c)
    };
    let (_, path) = found.ok_or_else(|| {
        Refusal::bad_request(format!(
            "{name:?} is not an OKX channel keyward relays here"
        ))
    })?;
    Ok(RestEquivalent::read(*path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::common::base64;
    use crate::exchange::testing;
    use std::time::{Duration, UNIX_EPOCH};

    const PRIVATE_ROUTE: WsRoute = WsRoute::new(AUTHORITY, PRIVATE);
    fn op(text: &str) -> WsOp {
        match OkxWs
            .read(PRIVATE_ROUTE, &Json::parse(text).unwrap())
            .unwrap()
        {
            BotFrame::Op(op) => op,
            BotFrame::Keepalive => panic!(),
        }
    }

    #[test]
    fn login_is_rewritten_with_the_real_key_passphrase_and_signature() {
        let op = op(
            r#"{"op":"login","args":[{"apiKey":"tok","passphrase":"x","timestamp":"1","sign":"d"}]}"#,
        );
        assert_eq!(op.token.as_deref(), Some("tok"));
        let credential = testing::credential("real-key", "real-secret", Some("real-pass"));
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let out = testing::outgoing(PRIVATE_ROUTE, &op, &Json::Null, &credential, now);
        let out = testing::sent(OkxWs.login(&out));
        let sign = base64(&testing::hmac_sha256(
            b"real-secret",
            b"1700000000GET/users/self/verify",
        ));
        assert_eq!(
            out,
            format!(
                r#"{{"op":"login","args":[{{"apiKey":"real-key","passphrase":"real-pass","timestamp":"1700000000","sign":"{sign}"}}]}}"#
            )
        );
    }

    #[test]
    fn batches_are_the_rest_batch_and_channels_their_reads() {
        let batch = op(
            r#"{"id":"1","op":"batch-orders","args":[{"instId":"BTC-USDT"},{"instId":"ETH-USDT"}]}"#,
        );
        let OpKind::Rest(rest) = batch.kind else {
            panic!()
        };
        assert_eq!(rest[0].path, "/api/v5/trade/batch-orders");
        assert!(matches!(&rest[0].json, Some(Json::Array(items)) if items.len() == 2));
        let sub = op(
            r#"{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"},{"channel":"account"}]}"#,
        );
        let OpKind::Subscribe(rest) = sub.kind else {
            panic!()
        };
        assert_eq!(rest[1].path, "/api/v5/account/balance");
        assert!(OkxWs.literal_keepalive("ping") && !OkxWs.literal_keepalive("ping "));
    }

    #[test]
    fn unknown_ops_channels_and_members_are_refused() {
        for text in [
            r#"{"id":"1","op":"withdrawal","args":[{}]}"#,
            r#"{"id":"1","op":"order","args":[{},{}]}"#,
            r#"{"id":"1","op":"order","args":[{}],"extra":1}"#,
            r#"{"op":"subscribe","args":[{"channel":"deposit-info"}]}"#,
            r#"{"op":"subscribe","args":[]}"#,
        ] {
            assert!(
                OkxWs
                    .read(PRIVATE_ROUTE, &Json::parse(text).unwrap())
                    .is_err(),
                "{text}"
            );
        }
    }
}
