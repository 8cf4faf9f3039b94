//! Gate API v4 sockets: spot `/ws/v4` (upstream `/ws/v4/` on `api.gateio.ws`) and USDT/BTC
//! perpetual futures `/v4/ws/usdt`, `/v4/ws/btc` (on `fx-ws.gateio.ws`).
//!
//! Gate signs every private frame, so keyward rebuilds each one with the real key, its own time
//! and signature: `api` requests (login, order place/cancel/amend/status) are
//! `hex(HMAC-SHA512(secret, "api\n" + channel + "\n" + req_param JSON + "\n" + time))` over the
//! exact compact JSON keyward sends; private subscriptions carry
//! `hex(HMAC-SHA512(secret, "channel=..&event=..&time=.."))`. The bot's client token is
//! `payload.api_key` (api requests) or `auth.KEY` (subscriptions). An order op is judged as the
//! REST request it equals (`spot.order_place` = `POST /api/v4/spot/orders`, a list of orders =
//! `POST /api/v4/spot/batch_orders`), a private channel as the REST read of the same data.
//! <https://www.gate.io/docs/developers/apiv4/ws/en/>

use std::borrow::Cow;

use crate::exchange::unix_secs;
use crate::exchange::ws::{
    flat_params, lookup, members, only, refusal_text, request_id, required, single, BotFrame,
    OpKind, Outgoing, Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{Body, CanonicalRequest, Json, Method, Refusal};

const SPOT: u8 = 0;
const USDT: u8 = 1;
const BTC: u8 = 2;

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/ws/v4", WsRoute::new("api.gateio.ws:443", SPOT)),
    ("/v4/ws/usdt", WsRoute::new("fx-ws.gateio.ws:443", USDT)),
    ("/v4/ws/btc", WsRoute::new("fx-ws.gateio.ws:443", BTC)),
];

/// Private channels (after `spot.` / `futures.`) and the REST reads they equal.
const SPOT_CHANNELS: &[(&str, &str)] = &[
    ("orders", "/api/v4/spot/open_orders"),
    ("orders_v2", "/api/v4/spot/open_orders"),
    ("usertrades", "/api/v4/spot/my_trades"),
    ("usertrades_v2", "/api/v4/spot/my_trades"),
    ("balances", "/api/v4/spot/accounts"),
    ("priceorders", "/api/v4/spot/price_orders"),
];
const FUTURES_CHANNELS: &[(&str, &str)] = &[
    ("orders", "/api/v4/futures/{settle}/orders"),
    ("usertrades", "/api/v4/futures/{settle}/my_trades"),
    ("balances", "/api/v4/futures/{settle}/accounts"),
    ("positions", "/api/v4/futures/{settle}/positions"),
    ("autoorders", "/api/v4/futures/{settle}/price_orders"),
];
/// Public channels (after the market prefix) that need no auth.
const PUBLIC_CHANNELS: &[&str] = &[
    "tickers",
    "trades",
    "candlesticks",
    "book_ticker",
    "order_book",
    "order_book_update",
    "obu",
];

pub struct GateWs;

impl GateWs {
    fn market(route: WsRoute) -> &'static str {
        if route.api == SPOT {
            "spot"
        } else {
            "futures"
        }
    }

    fn settle(route: WsRoute) -> &'static str {
        if route.api == BTC {
            "btc"
        } else {
            "usdt"
        }
    }

    /// The REST request an `api` channel's `req_param` equals.
    fn api_request(route: WsRoute, op: &str, param: &Json) -> Result<RestEquivalent, Refusal> {
        let base = if route.api == SPOT {
            "/api/v4/spot".to_owned()
        } else {
            format!("/api/v4/futures/{}", Self::settle(route))
        };
        let id = |key: &str| -> Result<String, Refusal> {
            match param.get(key).and_then(Json::scalar_text) {
                Some(id)
                    if !id.is_empty()
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
                {
                    Ok(id.to_owned())
                }
                _ => Err(Refusal::bad_request(format!("{op} needs a plain {key:?}"))),
            }
        };
        let members = match param {
            Json::Object(m) => m.as_slice(),
            _ => &[],
        };
        let query = |skip: &[&str]| flat_params(members, skip);
        // One order, by the id in its path; the other parameters in the query.
        let by_id = |method| -> Result<RestEquivalent, Refusal> {
            let path = format!("{base}/orders/{}", id("order_id")?);
            Ok(RestEquivalent::query(method, path, query(&["order_id"])?))
        };
        Ok(match (op, param) {
            ("order_place", Json::Array(_)) if route.api == SPOT => {
                RestEquivalent::json(Method::Post, format!("{base}/batch_orders"), param.clone())
            }
            ("order_place", Json::Object(_)) => {
                // ccxt's createOrderWs leaks its own `textIsRequired` flag into the order; it is
                // no Gate field, and is dropped (a boolean only).
                let mut order = param.clone();
                if matches!(order.get("textIsRequired"), Some(Json::Bool(_))) {
                    order.remove("textIsRequired");
                }
                RestEquivalent::json(Method::Post, format!("{base}/orders"), order)
            }
            ("order_cancel", _) => by_id(Method::Delete)?,
            ("order_cancel_cp", _) => {
                RestEquivalent::query(Method::Delete, format!("{base}/orders"), query(&[])?)
            }
            ("order_amend", Json::Object(_)) => {
                let mut body = param.clone();
                body.remove("order_id");
                RestEquivalent::json(
                    Method::Patch,
                    format!("{base}/orders/{}", id("order_id")?),
                    body,
                )
            }
            ("order_status", _) => by_id(Method::Get)?,
            ("order_list", _) => {
                RestEquivalent::query(Method::Get, format!("{base}/orders"), query(&[])?)
            }
            _ => {
                return Err(Refusal::bad_request(format!(
                    "{op:?} is not a Gate socket request keyward relays"
                )))
            }
        })
    }
}

impl WsProtocol for GateWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path)
    }

    fn upstream_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        // Gate's spot socket lives at `/ws/v4/`; keyward's paths have no empty segment.
        if path == "/ws/v4" {
            Cow::Borrowed("/ws/v4/")
        } else {
            Cow::Borrowed(path)
        }
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Gate frame")?;
        let allowed = ["time", "id", "channel", "event", "payload", "auth"];
        only(members, &allowed, "a Gate frame")?;
        let channel = required(frame, "channel", "frame")?;
        let market = Self::market(route);
        let name = channel
            .strip_prefix(market)
            .and_then(|c| c.strip_prefix('.'))
            .ok_or_else(|| {
                Refusal::bad_request(format!("{channel:?} is not a {market} channel"))
            })?;
        let event = frame.get("event").and_then(Json::scalar_text).unwrap_or("");
        let op = |kind, token: Option<&Json>| {
            let token = token.and_then(Json::scalar_text).map(str::to_owned);
            let name = format!("{channel} {event}");
            Ok(BotFrame::op(name, request_id(frame, "id"), token, kind))
        };
        match (name, event) {
            ("ping", _) => Ok(BotFrame::Keepalive),
            ("login", "api") => {
                let payload = frame.get("payload");
                op(OpKind::Login, payload.and_then(|p| p.get("api_key")))
            }
            (api, "api") => {
                let payload = frame
                    .get("payload")
                    .ok_or_else(|| Refusal::bad_request("an api request has a payload"))?;
                let param = payload.get("req_param").unwrap_or(&Json::Null);
                let rest = Self::api_request(route, api, param)?;
                op(OpKind::Rest(vec![rest]), payload.get("api_key"))
            }
            (sub, "subscribe" | "unsubscribe") if PUBLIC_CHANNELS.contains(&sub) => {
                if frame.get("auth").is_some() {
                    return Err(Refusal::bad_request("a public channel takes no auth"));
                }
                let path = if route.api == SPOT {
                    "/api/v4/spot/tickers".to_owned()
                } else {
                    format!("/api/v4/futures/{}/tickers", Self::settle(route))
                };
                op(OpKind::Subscribe(vec![RestEquivalent::read(path)]), None)
            }
            (sub, "subscribe" | "unsubscribe") => {
                let table = if route.api == SPOT {
                    SPOT_CHANNELS
                } else {
                    FUTURES_CHANNELS
                };
                let path = lookup(table, sub)
                    .map(|p| p.replace("{settle}", Self::settle(route)))
                    .ok_or_else(|| {
                        Refusal::bad_request(format!(
                            "{channel:?} is not a Gate channel keyward relays"
                        ))
                    })?;
                let token = frame.get("auth").and_then(|a| a.get("KEY"));
                op(OpKind::Rest(vec![RestEquivalent::read(path)]), token)
            }
            _ => Err(Refusal::bad_request(format!(
                "{channel:?} {event:?} is not a Gate op keyward relays"
            ))),
        }
    }

    fn login(&self, out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        api_frame(out, Json::Object(Vec::new()))
    }

    fn outbound(&self, out: &Outgoing<'_>, checked: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        let canonical = single(checked, "a Gate request")?;
        let event = out
            .frame
            .get("event")
            .and_then(Json::scalar_text)
            .unwrap_or("");
        if event != "api" {
            return subscription(out, event);
        }
        let req_param = out.frame.get("payload").and_then(|p| p.get("req_param"));
        // The body keyward judged, or (requests judged by their query) the parameters as parsed.
        let param = match &canonical.body {
            Body::Json(body) => match req_param {
                Some(Json::Object(original)) if out.op.name.ends_with("order_amend api") => {
                    let mut amended = body.clone();
                    if let Some((_, id)) = original.iter().find(|(k, _)| k == "order_id") {
                        amended.set("order_id", id.clone());
                    }
                    amended
                }
                _ => body.clone(),
            },
            _ => req_param.cloned().unwrap_or(Json::Object(Vec::new())),
        };
        api_frame(out, param)
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        let (channel, event) = op.name.split_once(' ').unwrap_or((&op.name, ""));
        let message = refusal_text(refusal);
        if event == "api" {
            let header = Json::object([
                ("status", Json::text("403")),
                ("channel", Json::text(channel)),
                ("event", Json::text("api")),
            ]);
            let errs = Json::object([("label", Json::text("FORBIDDEN")), ("message", message)]);
            Json::object([
                ("request_id", op.id.clone()),
                ("header", header),
                ("data", Json::object([("errs", errs)])),
            ])
        } else {
            let error =
                Json::object([("code", Json::Number("4".to_owned())), ("message", message)]);
            Json::object([
                ("id", op.id.clone()),
                ("channel", Json::text(channel)),
                ("event", Json::text(event)),
                ("error", error),
                ("result", Json::Null),
            ])
        }
        .to_compact()
    }
}

/// An `api` request signed by keyward over the exact `req_param` text it sends.
fn api_frame(out: &Outgoing<'_>, param: Json) -> Result<Reply, Refusal> {
    let channel = out.frame.get("channel").cloned().unwrap_or(Json::Null);
    let channel_text = channel.scalar_text().unwrap_or("");
    let time = unix_secs(out.now).to_string();
    let param_text = param.to_compact();
    let signature = out.credential.key.hmac_sha512(&[
        b"api\n",
        channel_text.as_bytes(),
        b"\n",
        param_text.as_bytes(),
        b"\n",
        time.as_bytes(),
    ])?;
    let req_id = out
        .frame
        .get("payload")
        .and_then(|p| p.get("req_id"))
        .cloned()
        .unwrap_or_else(|| out.op.id.clone());
    let payload = Json::object([
        ("req_id", req_id),
        ("timestamp", Json::text(time.clone())),
        ("api_key", Json::text(out.api_key()?)),
        ("signature", Json::text(hex::encode(signature))),
        ("req_param", param),
    ]);
    let frame = Json::object([
        ("id", out.op.id.clone()),
        ("time", Json::Number(time)),
        ("channel", channel),
        ("event", Json::text("api")),
        ("payload", payload),
    ]);
    Ok(Reply::ToExchange(frame.to_compact()))
}

/// A private subscription with keyward's own auth.
fn subscription(out: &Outgoing<'_>, event: &str) -> Result<Reply, Refusal> {
    let channel = out.frame.get("channel").cloned().unwrap_or(Json::Null);
    let time = unix_secs(out.now).to_string();
    let signed = format!(
        "channel={}&event={event}&time={time}",
        channel.scalar_text().unwrap_or("")
    );
    let signature = out.credential.key.hmac_sha512(&[signed.as_bytes()])?;
    let mut frame = Json::object([
        ("id", request_id(out.frame, "id")),
        ("time", Json::Number(time)),
        ("channel", channel),
        ("event", Json::text(event)),
    ]);
    if let Some(payload) = out.frame.get("payload") {
        frame.set("payload", payload.clone());
    }
    let auth = Json::object([
        ("method", Json::text("api_key")),
        ("KEY", Json::text(out.api_key()?)),
        ("SIGN", Json::text(hex::encode(signature))),
    ]);
    frame.set("auth", auth);
    Ok(Reply::ToExchange(frame.to_compact()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::testing;
    use crate::request::Params;
    use std::time::{Duration, UNIX_EPOCH};

    const SPOT_ROUTE: WsRoute = WsRoute::new("api.gateio.ws:443", SPOT);
    fn op(text: &str) -> (Json, WsOp) {
        let frame = Json::parse(text).unwrap();
        match GateWs.read(SPOT_ROUTE, &frame).unwrap() {
            BotFrame::Op(op) => (frame, op),
            BotFrame::Keepalive => panic!(),
        }
    }

    #[test]
    fn an_order_is_its_rest_request_and_signed_over_the_json_sent() {
        let (frame, op) = op(
            r#"{"id":"1","time":1,"channel":"spot.order_place","event":"api","payload":{"req_id":"1","timestamp":"1","api_key":"tok","signature":"d","req_param":{"currency_pair":"BTC_USDT","side":"buy","type":"limit","amount":"0.01","price":"30000"},"req_header":{"X-Gate-Channel-Id":"ccxt"}}}"#,
        );
        assert_eq!(op.token.as_deref(), Some("tok"));
        let OpKind::Rest(rest) = &op.kind else {
            panic!()
        };
        assert_eq!(
            (rest[0].method, rest[0].path.as_str()),
            (Method::Post, "/api/v4/spot/orders")
        );
        let canonical = CanonicalRequest {
            method: Method::Post,
            path: rest[0].path.clone(),
            query: Params::new(),
            body: Body::Json(rest[0].json.clone().unwrap()),
        };
        let credential = testing::credential("real-key", "real-secret", None);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let out = testing::outgoing(SPOT_ROUTE, &op, &frame, &credential, now);
        let out = testing::sent(GateWs.outbound(&out, &[canonical]));
        let sent = Json::parse(&out).unwrap();
        let payload = sent.get("payload").unwrap();
        let param = payload.get("req_param").unwrap().to_compact();
        let signed = format!("api\nspot.order_place\n{param}\n1700000000");
        let expected = hex::encode(testing::hmac_sha512(b"real-secret", signed.as_bytes()));
        assert_eq!(
            payload.get("signature").and_then(Json::scalar_text),
            Some(expected.as_str())
        );
        assert!(!out.contains("tok") && !out.contains("ccxt"), "{out}");
    }

    #[test]
    fn cancels_amends_and_channels_map_and_others_are_refused() {
        let (_, cancel) = op(
            r#"{"channel":"spot.order_cancel","event":"api","payload":{"api_key":"t","req_param":{"order_id":"12","currency_pair":"BTC_USDT"}}}"#,
        );
        let OpKind::Rest(rest) = cancel.kind else {
            panic!()
        };
        assert_eq!(rest[0].path, "/api/v4/spot/orders/12");
        assert_eq!(rest[0].query.get("currency_pair"), Some("BTC_USDT"));
        let (_, sub) = op(
            r#"{"time":1,"channel":"spot.orders","event":"subscribe","payload":["BTC_USDT"],"auth":{"method":"api_key","KEY":"t","SIGN":"x"}}"#,
        );
        assert_eq!(sub.token.as_deref(), Some("t"));
        for bad in [
            r#"{"channel":"spot.withdraw","event":"api","payload":{"req_param":{}}}"#,
            r#"{"channel":"spot.order_cancel","event":"api","payload":{"req_param":{"order_id":"../1"}}}"#,
            r#"{"channel":"futures.orders","event":"subscribe"}"#,
            r#"{"channel":"spot.orders","event":"subscribe","extra":1}"#,
        ] {
            assert!(
                GateWs.read(SPOT_ROUTE, &Json::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(GateWs.upstream_path("/ws/v4"), "/ws/v4/");
    }
}
