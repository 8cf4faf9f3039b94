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

use std::time::SystemTime;

use crate::exchange::ws::{
    login_token, passphrase_login, BotFrame, OpKind, Reply, RestEquivalent, WsOp, WsProtocol,
    WsRoute,
};
use crate::exchange::Credential;
use crate::request::{CanonicalRequest, Json, Method, Params, Refusal};

const PRIVATE: u8 = 0;
const BUSINESS: u8 = 1;
const PUBLIC: u8 = 2;

const AUTHORITY: &str = "ws.okx.com:8443";

/// Trade ops, the REST endpoints they equal, and whether the REST body is the whole `args`
/// array (batches) or its one object.
const TRADE_OPS: &[(&str, &str, bool)] = &[
    ("order", "/api/v5/trade/order", false),
    ("batch-orders", "/api/v5/trade/batch-orders", true),
    ("cancel-order", "/api/v5/trade/cancel-order", false),
    (
        "batch-cancel-orders",
        "/api/v5/trade/cancel-batch-orders",
        true,
    ),
    ("amend-order", "/api/v5/trade/amend-order", false),
    (
        "batch-amend-orders",
        "/api/v5/trade/amend-batch-orders",
        true,
    ),
    ("mass-cancel", "/api/v5/trade/mass-cancel", false),
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
        let api = match path {
            "/ws/v5/private" => PRIVATE,
            "/ws/v5/business" => BUSINESS,
            "/ws/v5/public" => PUBLIC,
            _ => return None,
        };
        Some(WsRoute {
            authority: AUTHORITY,
            api,
        })
    }

    fn literal_keepalive(&self, text: &str) -> bool {
        text == "ping"
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let Json::Object(members) = frame else {
            return Err(Refusal::bad_request("an OKX frame is a JSON object"));
        };
        let Some(Json::String(op)) = frame.get("op") else {
            return Err(Refusal::bad_request("the frame has no string \"op\""));
        };
        let allowed: &[&str] = match op.as_str() {
            "login" | "subscribe" | "unsubscribe" => &["op", "args", "id"],
            _ => &["op", "args", "id", "expTime"],
        };
        if let Some((k, _)) = members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(Refusal::bad_request(format!(
                "an OKX {op:?} frame has no member {k:?}"
            )));
        }
        let args = match frame.get("args") {
            Some(Json::Array(items)) if !items.is_empty() => items.as_slice(),
            _ => return Err(Refusal::bad_request("\"args\" must be a non-empty array")),
        };
        let op_of = |kind, token| {
            Ok(BotFrame::Op(WsOp {
                name: op.clone(),
                id: frame.get("id").cloned().unwrap_or(Json::Null),
                token,
                kind,
            }))
        };
        match op.as_str() {
            "login" if route.api != PUBLIC => op_of(OpKind::Login, Some(login_token(args)?)),
            "subscribe" | "unsubscribe" => {
                let reads = args
                    .iter()
                    .map(|a| channel(route, a))
                    .collect::<Result<Vec<_>, _>>()?;
                op_of(OpKind::Subscribe(reads), None)
            }
            trade if route.api == PRIVATE => {
                let (_, path, batch) =
                    TRADE_OPS
                        .iter()
                        .find(|(o, _, _)| *o == trade)
                        .ok_or_else(|| {
                            Refusal::bad_request(format!(
                                "{trade:?} is not an OKX op keyward knows"
                            ))
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
                    OpKind::Rest(vec![RestEquivalent::json(Method::Post, *path, body)]),
                    None,
                )
            }
            other => Err(Refusal::bad_request(format!(
                "{other:?} is not an OKX op keyward relays on this socket"
            ))),
        }
    }

    fn login(
        &self,
        _route: WsRoute,
        op: &WsOp,
        _frame: &Json,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Reply, Refusal> {
        passphrase_login(op, "/users/self/verify", credential, now)
    }

    fn outbound(
        &self,
        _route: WsRoute,
        op: &WsOp,
        frame: &Json,
        checked: &[CanonicalRequest],
        _credential: &Credential,
        _now: SystemTime,
    ) -> Result<Reply, Refusal> {
        let [canonical] = checked else {
            return Err(Refusal::bad_request("an OKX trade op is one request"));
        };
        let args = match &canonical.body {
            crate::request::Body::Json(Json::Array(items)) => items.clone(),
            crate::request::Body::Json(one) => vec![one.clone()],
            _ => return Err(Refusal::bad_request("an OKX trade op carries objects")),
        };
        let mut out = vec![
            ("id".to_owned(), op.id.clone()),
            ("op".to_owned(), Json::String(op.name.clone())),
            ("args".to_owned(), Json::Array(args)),
        ];
        if let Some(exp) = frame.get("expTime") {
            out.push(("expTime".to_owned(), exp.clone()));
        }
        Ok(Reply::ToExchange(Json::Object(out).to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        let msg = Json::String(format!("keyward {}: {}", refusal.code, refusal.message));
        let code = |c: &str| Json::String(c.to_owned());
        let out = match op.name.as_str() {
            "login" | "subscribe" | "unsubscribe" => vec![
                ("event".to_owned(), code("error")),
                ("code".to_owned(), code("60009")),
                ("msg".to_owned(), msg),
                ("id".to_owned(), op.id.clone()),
            ],
            _ => vec![
                ("id".to_owned(), op.id.clone()),
                ("op".to_owned(), Json::String(op.name.clone())),
                ("code".to_owned(), code("1")),
                ("msg".to_owned(), msg.clone()),
                (
                    "data".to_owned(),
                    Json::Array(vec![Json::Object(vec![
                        ("sCode".to_owned(), code("50120")),
                        ("sMsg".to_owned(), msg),
                    ])]),
                ),
            ],
        };
        Json::Object(out).to_compact()
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
    Ok(RestEquivalent::query(Method::Get, *path, Params::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::common::base64;
    use crate::exchange::testing;
    use std::time::{Duration, UNIX_EPOCH};

    const PRIVATE_ROUTE: WsRoute = WsRoute {
        authority: AUTHORITY,
        api: PRIVATE,
    };

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
        let Reply::ToExchange(out) = OkxWs
            .login(PRIVATE_ROUTE, &op, &Json::Null, &credential, now)
            .unwrap()
        else {
            panic!()
        };
        let sign = {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"real-secret").unwrap();
            mac.update(b"1700000000GET/users/self/verify");
            base64(&mac.finalize().into_bytes())
        };
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
