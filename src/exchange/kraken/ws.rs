//! Kraken spot WebSocket v2: private `/v2` (upstream `ws-auth.kraken.com/v2`) and public
//! `/public/v2` (upstream `ws.kraken.com/v2`, market data channels only, each judged as the
//! public REST read of the same data).
//!
//! Kraken's socket is authorised by the token of REST `GetWebSocketsToken`, which would trade
//! on the socket by itself; keyward gives the bot a placeholder of its own in that REST answer
//! and swaps it for the real token in `params.token` of each frame it relays for that bot (the
//! placeholder also identifies the bot). Subscriptions are judged as the REST read of the same
//! data (`executions` = `POST /0/private/OpenOrders`, `balances` = `POST /0/private/Balance`).
//! Order ops (`add_order`, `batch_add`, `amend_order`, `cancel_order`, `cancel_all`) are
//! judged as their REST endpoints, their v2 fields renamed to the REST fields of the same
//! meaning (`ws_orders.rs`), so the REST order tables and limits decide them.
//! <https://docs.kraken.com/api/docs/websocket-v2/executions>

use crate::exchange::profile::post;
use crate::exchange::ws::{
    lookup, members, object, only, refusal_text, request_id, required, BotFrame, OpKind, Outgoing,
    Reply, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{CanonicalRequest, Json, Method, Params, Refusal};

use super::ws_orders::{rest_body, ORDER_OPS};

const PRIVATE: u8 = 0;
const PUBLIC: u8 = 1;

/// The public socket's keyward path (Kraken's own path is `/v2` on both hosts).
const PUBLIC_PATH: &str = "/public/v2";

/// keyward's socket paths and the socket each is.
const ROUTES: &[(&str, WsRoute)] = &[
    ("/v2", WsRoute::new("ws-auth.kraken.com:443", PRIVATE)),
    (PUBLIC_PATH, WsRoute::new("ws.kraken.com:443", PUBLIC)),
];

/// Channels and the REST reads they equal (the public socket offers those under `/0/public/`).
const CHANNELS: &[(&str, Method, &str)] = &[
    ("executions", Method::Post, "/0/private/OpenOrders"),
    ("balances", Method::Post, "/0/private/Balance"),
    ("level3", Method::Get, "/0/public/Depth"),
    ("ticker", Method::Get, "/0/public/Ticker"),
    ("book", Method::Get, "/0/public/Depth"),
    ("trade", Method::Get, "/0/public/Trades"),
    ("ohlc", Method::Get, "/0/public/OHLC"),
    ("instrument", Method::Get, "/0/public/AssetPairs"),
];

pub struct KrakenWs;

impl WsProtocol for KrakenWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        lookup(ROUTES, path)
    }

    fn upstream_path<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        std::borrow::Cow::Borrowed(path.strip_prefix("/public").unwrap_or(path))
    }

    fn rest_bearer(&self, method: Method, path: &str) -> Option<&'static [&'static str]> {
        ((method, path) == post("/0/private/GetWebSocketsToken")).then_some(&["result", "token"])
    }

    fn bearer<'f>(&self, frame: &'f Json) -> Option<&'f str> {
        match frame.get("params").and_then(|p| p.get("token")) {
            Some(Json::String(t)) => Some(t),
            _ => None,
        }
    }

    fn with_bearer(&self, frame: &Json, real: &str) -> Json {
        let mut frame = frame.clone();
        if let Json::Object(members) = &mut frame {
            if let Some((_, params)) = members.iter_mut().find(|(k, _)| k == "params") {
                params.set("token", Json::String(real.to_owned()));
            }
        }
        frame
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let members = members(frame, "a Kraken request")?;
        only(members, &["method", "params", "req_id"], "a Kraken request")?;
        let method = required(frame, "method", "request")?;
        let params = object(frame, "params")?;
        // The op, judged as this REST request.
        let judged_as = |rest| {
            let kind = OpKind::Rest(vec![rest]);
            Ok(BotFrame::op(
                method,
                request_id(frame, "req_id"),
                None,
                kind,
            ))
        };
        match method {
            "ping" => Ok(BotFrame::Keepalive),
            "subscribe" | "unsubscribe" => {
                let channel = params
                    .iter()
                    .find(|(k, _)| k == "channel")
                    .and_then(|(_, v)| v.scalar_text())
                    .ok_or_else(|| Refusal::bad_request("a subscription names its channel"))?;
                let (_, rest_method, path) = CHANNELS
                    .iter()
                    .filter(|(_, _, p)| route.api == PRIVATE || p.starts_with("/0/public/"))
                    .find(|(c, _, _)| *c == channel)
                    .ok_or_else(|| {
                        Refusal::bad_request(format!(
                            "{channel:?} is not a Kraken channel keyward relays on this socket"
                        ))
                    })?;
                judged_as(RestEquivalent::query(*rest_method, *path, Params::new()))
            }
            order if route.api == PRIVATE => {
                let (_, path) = ORDER_OPS.iter().find(|(m, _)| *m == order).ok_or_else(|| {
                    Refusal::bad_request(format!("{order:?} is not a Kraken method keyward relays"))
                })?;
                judged_as(RestEquivalent::json(
                    Method::Post,
                    *path,
                    rest_body(order, params)?,
                ))
            }
            other => Err(Refusal::bad_request(format!(
                "{other:?} is not a Kraken method keyward relays on this socket"
            ))),
        }
    }

    fn outbound(&self, out: &Outgoing<'_>, _: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        // The frame as parsed, with the real token the session swapped in.
        Ok(Reply::ToExchange(out.frame.to_compact()))
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        Json::object([
            ("method", Json::text(&op.name)),
            ("req_id", op.id.clone()),
            ("success", Json::Bool(false)),
            ("error", refusal_text(refusal)),
        ])
        .to_compact()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: WsRoute = WsRoute::new("ws-auth.kraken.com:443", PRIVATE);

    #[test]
    fn the_placeholder_is_found_and_swapped_and_orders_are_judged_as_rest() {
        let frame = Json::parse(
            r#"{"method":"subscribe","params":{"channel":"executions","token":"keyward-1"},"req_id":3}"#,
        )
        .unwrap();
        assert_eq!(KrakenWs.bearer(&frame), Some("keyward-1"));
        let swapped = KrakenWs.with_bearer(&frame, "REAL");
        assert_eq!(
            swapped.to_compact(),
            r#"{"method":"subscribe","params":{"channel":"executions","token":"REAL"},"req_id":3}"#
        );
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Rest(rest),
            ..
        })) = KrakenWs.read(ROUTE, &frame)
        else {
            panic!()
        };
        assert_eq!(rest[0].path, "/0/private/OpenOrders");
        let order = r#"{"method":"add_order","params":{"order_type":"limit","order_qty":1,"token":"t"},"req_id":4}"#;
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Rest(rest),
            ..
        })) = KrakenWs.read(ROUTE, &Json::parse(order).unwrap())
        else {
            panic!()
        };
        assert_eq!(rest[0].path, "/0/private/AddOrder");
        assert_eq!(
            rest[0].json.as_ref().unwrap().to_compact(),
            r#"{"ordertype":"limit","volume":1}"#
        );
        for bad in [
            r#"{"method":"add_order","params":{"side":"buy"}}"#,
            r#"{"method":"batch_cancel","params":{}}"#,
            r#"{"method":"subscribe","params":{"channel":"withdrawals"}}"#,
        ] {
            assert!(KrakenWs.read(ROUTE, &Json::parse(bad).unwrap()).is_err());
        }
    }

    #[test]
    fn the_public_socket_relays_market_data_only() {
        let route = KrakenWs.route("/public/v2").unwrap();
        assert_eq!(route.authority, "ws.kraken.com:443");
        assert_eq!(KrakenWs.upstream_path("/public/v2"), "/v2");
        assert_eq!(KrakenWs.upstream_path("/v2"), "/v2");
        assert!(KrakenWs.route("/public").is_none());
        let read = |text: &str| KrakenWs.read(route, &Json::parse(text).unwrap());
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Rest(rest),
            ..
        })) = read(r#"{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"]}}"#)
        else {
            panic!()
        };
        assert_eq!(
            (rest[0].method, rest[0].path.as_str()),
            (Method::Get, "/0/public/Ticker")
        );
        for private in ["executions", "balances"] {
            let frame = format!(r#"{{"method":"subscribe","params":{{"channel":"{private}"}}}}"#);
            assert!(read(&frame).is_err(), "{private}");
        }
    }
}
