//! Binance's WebSocket APIs: spot (`/ws-api/v3`) and USD-M futures (`/ws-fapi/v1`).
//!
//! Every request is `{"id", "method", "params"}`; a method is the REST endpoint of the same
//! name (`order.place` = `POST /api/v3/order`), judged as that request. keyward answers the
//! bot's `session.logon` itself and signs every request on its own, so HMAC and RSA keys work
//! as well as Ed25519 ones: all params but `signature` (`apiKey` included), sorted by name,
//! `k=v&...` without percent-encoding; HMAC hex, RSA and Ed25519 base64.
//! <https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/request-security>

mod streams;

use std::time::SystemTime;

use super::{recv_window, signature};
use crate::exchange::unix_millis;
use crate::exchange::ws::{
    flat_params, lookup, members, object, only, refusal_text, request_id, required, typed_params,
    BotFrame, OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{CanonicalRequest, Json, Method, Refusal, RefusalKind};

/// The socket APIs.
const SPOT: u8 = 0;
const FUTURES: u8 = 1;

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/ws-api/v3", WsRoute::new("ws-api.binance.com:443", SPOT)),
    (
        "/ws-fapi/v1",
        WsRoute::new("ws-fapi.binance.com:443", FUTURES),
    ),
];

/// How a method is sent upstream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// Public market data: no key.
    None,
    /// The API key only (`USER_STREAM` listen-key management).
    Key,
    /// Key, timestamp, receive window and signature.
    Signed,
}

/// What keyward does with a method.
#[derive(Clone, Copy)]
enum Kind {
    /// The bot's login, answered by keyward (it signs every request itself instead).
    Logon,
    /// Session methods keyward answers itself (the session is keyward's, not the bot's).
    Local,
    /// The REST request it equals, sent as `send` (usually the same method).
    Rest {
        method: Method,
        path: &'static str,
        auth: Auth,
        send: Option<&'static str>,
    },
}

const fn rest(method: Method, path: &'static str, auth: Auth) -> Kind {
    Kind::Rest {
        method,
        path,
        auth,
        send: None,
    }
}

use Auth::{Key, None as Public, Signed};
use Method::{Delete, Get, Post, Put};

/// Spot WebSocket API methods and the REST endpoints they equal.
const SPOT_METHODS: &[(&str, Kind)] = &[
    ("session.logon", Kind::Logon),
    ("session.status", Kind::Local),
    ("session.logout", Kind::Local),
    (
        "userDataStream.subscribe",
        Kind::Rest {
            method: Post,
            path: "/api/v3/userDataStream",
            auth: Signed,
            send: Some("userDataStream.subscribe.signature"),
        },
    ),
    (
        "userDataStream.subscribe.signature",
        rest(Post, "/api/v3/userDataStream", Signed),
    ),
    (
        "userDataStream.unsubscribe",
        rest(Delete, "/api/v3/userDataStream", Public),
    ),
    ("order.place", rest(Post, "/api/v3/order", Signed)),
    ("order.test", rest(Post, "/api/v3/order/test", Signed)),
    ("order.cancel", rest(Delete, "/api/v3/order", Signed)),
    (
        "order.cancelReplace",
        rest(Post, "/api/v3/order/cancelReplace", Signed),
    ),
    (
        "order.amend.keepPriority",
        rest(Put, "/api/v3/order/amend/keepPriority", Signed),
    ),
    (
        "openOrders.cancelAll",
        rest(Delete, "/api/v3/openOrders", Signed),
    ),
    (
        "orderList.place.oco",
        rest(Post, "/api/v3/orderList/oco", Signed),
    ),
    (
        "orderList.place.oto",
        rest(Post, "/api/v3/orderList/oto", Signed),
    ),
    (
        "orderList.place.otoco",
        rest(Post, "/api/v3/orderList/otoco", Signed),
    ),
    (
        "orderList.cancel",
        rest(Delete, "/api/v3/orderList", Signed),
    ),
    ("sor.order.place", rest(Post, "/api/v3/sor/order", Signed)),
    (
        "sor.order.test",
        rest(Post, "/api/v3/sor/order/test", Signed),
    ),
    ("order.status", rest(Get, "/api/v3/order", Signed)),
    ("openOrders.status", rest(Get, "/api/v3/openOrders", Signed)),
    ("allOrders", rest(Get, "/api/v3/allOrders", Signed)),
    ("myTrades", rest(Get, "/api/v3/myTrades", Signed)),
    (
        "myPreventedMatches",
        rest(Get, "/api/v3/myPreventedMatches", Signed),
    ),
    ("orderList.status", rest(Get, "/api/v3/orderList", Signed)),
    ("allOrderLists", rest(Get, "/api/v3/allOrderList", Signed)),
    (
        "openOrderLists.status",
        rest(Get, "/api/v3/openOrderList", Signed),
    ),
    ("account.status", rest(Get, "/api/v3/account", Signed)),
    (
        "account.commission",
        rest(Get, "/api/v3/account/commission", Signed),
    ),
    (
        "account.rateLimits.orders",
        rest(Get, "/api/v3/rateLimit/order", Signed),
    ),
    (
        "trades.historical",
        rest(Get, "/api/v3/historicalTrades", Key),
    ),
    ("ping", rest(Get, "/api/v3/ping", Public)),
    ("time", rest(Get, "/api/v3/time", Public)),
    ("exchangeInfo", rest(Get, "/api/v3/exchangeInfo", Public)),
    ("depth", rest(Get, "/api/v3/depth", Public)),
    ("trades.recent", rest(Get, "/api/v3/trades", Public)),
    ("trades.aggregate", rest(Get, "/api/v3/aggTrades", Public)),
    ("klines", rest(Get, "/api/v3/klines", Public)),
    ("uiKlines", rest(Get, "/api/v3/uiKlines", Public)),
    ("avgPrice", rest(Get, "/api/v3/avgPrice", Public)),
    ("ticker", rest(Get, "/api/v3/ticker", Public)),
    ("ticker.24hr", rest(Get, "/api/v3/ticker/24hr", Public)),
    (
        "ticker.tradingDay",
        rest(Get, "/api/v3/ticker/tradingDay", Public),
    ),
    ("ticker.price", rest(Get, "/api/v3/ticker/price", Public)),
    (
        "ticker.book",
        rest(Get, "/api/v3/ticker/bookTicker", Public),
    ),
];

/// USD-M futures WebSocket API methods.
const FUTURES_METHODS: &[(&str, Kind)] = &[
    ("session.logon", Kind::Logon),
    ("session.status", Kind::Local),
    ("session.logout", Kind::Local),
    ("order.place", rest(Post, "/fapi/v1/order", Signed)),
    ("order.modify", rest(Put, "/fapi/v1/order", Signed)),
    ("order.cancel", rest(Delete, "/fapi/v1/order", Signed)),
    ("order.status", rest(Get, "/fapi/v1/order", Signed)),
    ("algoOrder.place", rest(Post, "/fapi/v1/algoOrder", Signed)),
    (
        "algoOrder.cancel",
        rest(Delete, "/fapi/v1/algoOrder", Signed),
    ),
    (
        "account.position",
        rest(Get, "/fapi/v2/positionRisk", Signed),
    ),
    (
        "v2/account.position",
        rest(Get, "/fapi/v3/positionRisk", Signed),
    ),
    ("account.balance", rest(Get, "/fapi/v2/balance", Signed)),
    ("v2/account.balance", rest(Get, "/fapi/v3/balance", Signed)),
    ("account.status", rest(Get, "/fapi/v2/account", Signed)),
    ("v2/account.status", rest(Get, "/fapi/v3/account", Signed)),
    // `userDataStream.start` and `.ping` are not relayed: their answer carries the real listen
    // key, which the bot gets only as a placeholder over REST `POST /fapi/v1/listenKey`.
    (
        "userDataStream.stop",
        rest(Delete, "/fapi/v1/listenKey", Key),
    ),
    ("depth", rest(Get, "/fapi/v1/depth", Public)),
    ("ticker.price", rest(Get, "/fapi/v1/ticker/price", Public)),
    (
        "ticker.book",
        rest(Get, "/fapi/v1/ticker/bookTicker", Public),
    ),
];

/// The bot's own signing fields: dropped, re-created by keyward.
const BOT_FIELDS: &[&str] = &["apiKey", "signature", "timestamp"];

/// A parameter of the WebSocket API only (whether answers carry rate-limit counters): not
/// part of the REST request the op equals, so not judged; kept (a boolean) in the frame sent.
const RETURN_RATE_LIMITS: &str = "returnRateLimits";

fn methods(api: u8) -> &'static [(&'static str, Kind)] {
    if api == FUTURES {
        FUTURES_METHODS
    } else {
        SPOT_METHODS
    }
}

fn kind(route: WsRoute, method: &str) -> Option<Kind> {
    methods(route.api)
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, k)| *k)
}

pub struct BinanceWs;

impl WsProtocol for BinanceWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path).or_else(|| streams::route(path))
    }

    fn rest_bearer(&self, method: Method, path: &str) -> Option<&'static [&'static str]> {
        let listen_key = matches!(method, Post | Put)
            && matches!(
                path,
                "/fapi/v1/listenKey"
                    | "/dapi/v1/listenKey"
                    | "/papi/v1/listenKey"
                    | "/eapi/v1/listenKey"
                    | "/api/v3/userDataStream"
                    | "/sapi/v1/userDataStream"
                    | "/sapi/v1/userDataStream/isolated"
            );
        listen_key.then_some(&["listenKey"])
    }

    fn url_bearer<'u>(
        &self,
        route: WsRoute,
        path: &'u str,
        query: Option<&'u str>,
    ) -> Result<Option<&'u str>, Refusal> {
        match route.api {
            streams::SPOT | streams::FUTURES => streams::url_bearer(path, query),
            _ if query.is_some() => Err(Refusal::bad_request(
                "keyward relays the WebSocket API without a query string",
            )),
            _ => Ok(None),
        }
    }

    fn upstream_target(&self, path: &str, query: Option<&str>, real: Option<&str>) -> String {
        match self.route(path).map(|r| r.api) {
            Some(streams::SPOT | streams::FUTURES) => streams::upstream_target(path, query, real),
            _ => path.to_owned(),
        }
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        if matches!(route.api, streams::SPOT | streams::FUTURES) {
            return streams::read(route, frame);
        }
        let members = members(frame, "a Binance request")?;
        only(members, &["id", "method", "params"], "a Binance request")?;
        let method = required(frame, "method", "request")?;
        let kind = kind(route, method).ok_or_else(|| {
            Refusal::bad_request(format!(
                "{method:?} is not a Binance WebSocket API method keyward knows"
            ))
        })?;
        let params = object(frame, "params")?;
        let token = match params.iter().find(|(k, _)| k == "apiKey") {
            Some((_, Json::String(t))) => Some(t.clone()),
            Some(_) => return Err(Refusal::bad_request("params.apiKey must be a string")),
            None => None,
        };
        match params.iter().find(|(k, _)| k == RETURN_RATE_LIMITS) {
            None | Some((_, Json::Bool(_))) => {}
            Some(_) => {
                return Err(Refusal::bad_request(
                    "params.returnRateLimits must be a boolean",
                ))
            }
        }
        let kind = match kind {
            Kind::Logon => OpKind::Login,
            Kind::Local => OpKind::Local,
            Kind::Rest { method, path, .. } => OpKind::Rest(vec![RestEquivalent::query(
                method,
                path,
                flat_params(params, &["apiKey", "signature", RETURN_RATE_LIMITS])?,
            )]),
        };
        Ok(BotFrame::op(method, request_id(frame, "id"), token, kind))
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        Ok(Reply::ToBot(session_answer(out.op, out.now)))
    }

    fn outbound(&self, out: &Outgoing<'_>, checked: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let op = out.op;
        let (Some(Kind::Rest { auth, send, .. }), [canonical]) =
            (kind(out.route, &op.name), checked)
        else {
            return Ok(Reply::ToBot(session_answer(op, out.now)));
        };
        let params = signed_params(object(out.frame, "params")?, canonical, auth, out)?;
        let frame = Json::object([
            ("id", op.id.clone()),
            ("method", Json::text(send.unwrap_or(&op.name))),
            ("params", params),
        ]);
        Ok(Reply::ToExchange(frame.to_compact()))
    }

    fn error_reply(&self, route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        if matches!(route.api, streams::SPOT | streams::FUTURES) {
            return streams::error_reply(op, refusal);
        }
        let (status, code) = match refusal.kind {
            RefusalKind::Forbidden => (403, "-1002"),
            RefusalKind::Unauthenticated => (401, "-2015"),
            RefusalKind::RateLimited => (429, "-1003"),
            kind if kind.is_client_error() => (400, "-1100"),
            _ => (500, "-1001"),
        };
        let error = Json::object([
            ("code", Json::Number(code.to_owned())),
            ("msg", refusal_text(refusal)),
        ]);
        Json::object([
            ("id", op.id.clone()),
            ("status", Json::Number(status.to_string())),
            ("error", error),
        ])
        .to_compact()
    }
}

/// keyward's own answer to `session.logon`, `session.status` and `session.logout`: the session
/// is keyward's (it signs every request), so the bot is told it is authorised as soon as its
/// token is known.
fn session_answer(op: &WsOp, now: SystemTime) -> String {
    let ms = Json::Number(unix_millis(now).to_string());
    let authorized = op.name != "session.logout";
    let result = Json::object([
        ("apiKey", Json::Null),
        (
            "authorizedSince",
            if authorized { ms.clone() } else { Json::Null },
        ),
        ("connectedSince", ms.clone()),
        ("returnRateLimits", Json::Bool(false)),
        ("serverTime", ms),
        ("userDataStream", Json::Bool(false)),
    ]);
    Json::object([
        ("id", op.id.clone()),
        ("status", Json::Number("200".to_owned())),
        ("result", result),
    ])
    .to_compact()
}

/// The params keyward sends: the canonical parameters (typed as the bot wrote them), then, as
/// `auth` needs, the real API key, keyward's timestamp and capped receive window, sorted by
/// name, and the signature over all of them.
fn signed_params(
    original: &[(String, Json)],
    canonical: &CanonicalRequest,
    auth: Auth,
    out: &Outgoing<'_>,
) -> Result<Json, Refusal> {
    let mut params = typed_params(original, &canonical.query, BOT_FIELDS);
    if let Some((k, v)) = original.iter().find(|(k, _)| k == RETURN_RATE_LIMITS) {
        params.push((k.clone(), v.clone()));
    }
    if auth != Auth::None {
        params.push(("apiKey".to_owned(), Json::text(out.api_key()?)));
    }
    if auth == Auth::Signed {
        let window = recv_window(canonical, out.credential)?;
        params.retain(|(k, _)| k != "recvWindow");
        params.push(("recvWindow".to_owned(), Json::Number(window.to_string())));
        params.push((
            "timestamp".to_owned(),
            Json::Number(unix_millis(out.now).to_string()),
        ));
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let payload = params
            .iter()
            .map(|(k, v)| format!("{k}={}", v.scalar_text().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("&");
        let signature = signature(&*out.credential.key, payload.as_bytes())?;
        params.push(("signature".to_owned(), Json::String(signature)));
    }
    Ok(Json::Object(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::testing;
    use crate::request::canonicalise;
    use std::time::{Duration, UNIX_EPOCH};

    const SPOT_ROUTE: WsRoute = WsRoute::new("ws-api.binance.com:443", SPOT);
    fn op(frame: &Json) -> WsOp {
        match BinanceWs.read(SPOT_ROUTE, frame).unwrap() {
            BotFrame::Op(op) => op,
            BotFrame::Keepalive => panic!("not an op"),
        }
    }

    /// The documented example (Binance WebSocket API, "SIGNED request example (HMAC)"): keyward
    /// signs the same params with the same secret, timestamp and window to the same signature.
    #[test]
    fn signs_the_documented_hmac_example() {
        let frame = Json::parse(
            r#"{"id":"4885f793-e5ad-4c3b-8f6c-55d891472b71","method":"order.place","params":{
            "symbol":"BTCUSDT","side":"SELL","type":"LIMIT","timeInForce":"GTC",
            "quantity":"0.01000000","price":"52000.00","newOrderRespType":"ACK",
            "recvWindow":100,"timestamp":1,"apiKey":"client-token","signature":"dummy"}}"#,
        )
        .unwrap();
        let op = op(&frame);
        assert_eq!(op.token.as_deref(), Some("client-token"));
        let OpKind::Rest(rest) = &op.kind else {
            panic!("order.place is a REST request")
        };
        assert_eq!(
            (rest[0].method, rest[0].path.as_str()),
            (Post, "/api/v3/order")
        );
        let canonical = canonicalise(
            Post,
            &rest[0].path,
            Some(&rest[0].query.encode()),
            None,
            b"",
            &super::super::PROFILE.conventions.canon,
        )
        .unwrap();
        let credential = testing::credential(
            "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            None,
        );
        let now = UNIX_EPOCH + Duration::from_millis(1645423376532);
        let out = testing::outgoing(SPOT_ROUTE, &op, &frame, &credential, now);
        let out = testing::sent(BinanceWs.outbound(&out, &[canonical]));
        let out = Json::parse(&out).unwrap();
        let params = out.get("params").unwrap();
        assert_eq!(
            params.get("signature"),
            Some(&Json::String(
                "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a".into()
            ))
        );
        assert_eq!(
            params.get("apiKey").and_then(Json::scalar_text),
            Some("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A")
        );
        assert_eq!(params.get("recvWindow"), Some(&Json::Number("100".into())));
        assert!(!out.to_compact().contains("client-token"));
        assert!(!out.to_compact().contains("dummy"));
    }

    #[test]
    fn subscribe_is_sent_as_the_signature_subscription_and_judged_as_the_listen_key() {
        let frame =
            Json::parse(r#"{"id":1,"method":"userDataStream.subscribe","params":{}}"#).unwrap();
        let op = op(&frame);
        let OpKind::Rest(rest) = &op.kind else {
            panic!()
        };
        assert_eq!(
            (rest[0].method, rest[0].path.as_str()),
            (Post, "/api/v3/userDataStream")
        );
        let canonical = canonicalise(
            Post,
            &rest[0].path,
            None,
            None,
            b"",
            &super::super::PROFILE.conventions.canon,
        )
        .unwrap();
        let credential = testing::credential("real-key", "secret", None);
        let out = testing::outgoing(SPOT_ROUTE, &op, &frame, &credential, UNIX_EPOCH);
        let out = testing::sent(BinanceWs.outbound(&out, &[canonical]));
        assert!(out.contains(r#""method":"userDataStream.subscribe.signature""#));
        assert!(out.contains(r#""signature":""#));
    }

    #[test]
    fn unknown_methods_extra_members_and_nested_params_are_refused() {
        for text in [
            r#"{"id":1,"method":"sapi.withdraw","params":{}}"#,
            r#"{"id":1,"method":"order.place","params":{},"extra":1}"#,
            r#"{"id":1,"method":"order.place","params":{"symbol":{"a":1}}}"#,
            r#"{"id":1,"method":"order.place","params":[]}"#,
            r#"{"id":1,"params":{}}"#,
            r#"[1]"#,
        ] {
            let frame = Json::parse(text).unwrap();
            assert!(BinanceWs.read(SPOT_ROUTE, &frame).is_err(), "{text}");
        }
    }

    #[test]
    fn a_logon_is_answered_by_keyward() {
        let frame = Json::parse(
            r#"{"id":"x","method":"session.logon","params":{"apiKey":"tok","signature":"s","timestamp":1}}"#,
        )
        .unwrap();
        let op = op(&frame);
        assert!(matches!(op.kind, OpKind::Login));
        let credential = testing::credential("real-key", "secret", None);
        let out = testing::outgoing(SPOT_ROUTE, &op, &frame, &credential, UNIX_EPOCH);
        let Ok(Reply::ToBot(answer)) = BinanceWs.login(&out) else {
            panic!()
        };
        assert!(answer.starts_with(r#"{"id":"x","status":200"#), "{answer}");
        assert!(!answer.contains("real-key"));
    }
}
