//! KuCoin private push: `/kucoin-push/<push host><path>?token=...` (upstream `wss://<push
//! host><path>`), for spot (`ws-api-spot.kucoin.com`) and futures (`ws-api-futures.kucoin.com`).
//!
//! KuCoin's socket URL and token come from REST `POST /api/v1/bullet-private` (futures:
//! `/futures/api/v1/bullet-private`); the token alone would stream the account around keyward.
//! keyward gives the bot a placeholder of its own for `data.token` and rewrites each
//! `data.instanceServers[].endpoint` to keyward's own socket URL for this credential (at the
//! Host the bot used for REST), keeping KuCoin's host in the path; on the upgrade it swaps the
//! real token into the query. Only the push hosts below are relayed: an answer naming another
//! is withheld. A subscription to a private topic is judged as the REST read of the same data
//! (`/spotMarket/tradeOrdersV2` = `GET /api/v1/orders`, so `kucoin:read` allows it), a public
//! one as its public read. `{"type":"ping"}` passes; there is no order entry on these sockets.
//! <https://www.kucoin.com/docs-new/websocket-api/base-info/introduction>

use std::borrow::Cow;

use crate::exchange::profile::post;
use crate::exchange::ws::{
    symbol_topic, BotFrame, OpKind, RestEquivalent, WsOp, WsProtocol, WsRoute,
};
use crate::request::{Json, Method, Refusal, RefusalKind};

const SPOT: u8 = 0;
const FUTURES: u8 = 1;

/// keyward's path prefix for KuCoin's push sockets.
const PREFIX: &str = "/kucoin-push/";

/// The push hosts keyward relays, and which API each serves.
const HOSTS: &[(&str, &str, u8)] = &[
    ("ws-api-spot.kucoin.com", "ws-api-spot.kucoin.com:443", SPOT),
    (
        "ws-api-futures.kucoin.com",
        "ws-api-futures.kucoin.com:443",
        FUTURES,
    ),
];

/// Topics (the part before `:`) and the REST reads they equal, per API.
const SPOT_TOPICS: &[(&str, &str)] = &[
    ("/spotMarket/tradeOrders", "/api/v1/orders"),
    ("/spotMarket/tradeOrdersV2", "/api/v1/orders"),
    ("/account/balance", "/api/v1/accounts"),
    ("/market/ticker", "/api/v1/market/orderbook/level1"),
    ("/market/snapshot", "/api/v1/market/stats"),
    ("/market/level2", "/api/v1/market/orderbook/level2_100"),
    ("/spotMarket/level1", "/api/v1/market/orderbook/level1"),
    (
        "/spotMarket/level2Depth5",
        "/api/v1/market/orderbook/level2_20",
    ),
    (
        "/spotMarket/level2Depth50",
        "/api/v1/market/orderbook/level2_100",
    ),
    ("/market/match", "/api/v1/market/histories"),
    ("/market/candles", "/api/v1/market/candles"),
];
const FUTURES_TOPICS: &[(&str, &str)] = &[
    ("/contractMarket/tradeOrders", "/futures/api/v1/orders"),
    ("/contract/position", "/futures/api/v1/position"),
    (
        "/contractAccount/wallet",
        "/futures/api/v1/account-overview",
    ),
    ("/contractMarket/tickerV2", "/futures/api/v1/ticker"),
    ("/contractMarket/ticker", "/futures/api/v1/ticker"),
    ("/contractMarket/level2", "/futures/api/v1/level2/snapshot"),
    (
        "/contractMarket/level2Depth5",
        "/futures/api/v1/level2/depth20",
    ),
    (
        "/contractMarket/level2Depth50",
        "/futures/api/v1/level2/depth100",
    ),
    ("/contractMarket/execution", "/futures/api/v1/ticker"),
];

/// Members a push URL's query may have besides `token` (ccxt adds `privateChannel`).
const QUERY_KEYS: &[&str] = &["connectId", "privateChannel", "acceptUserMessage"];

/// What a query value keeps unescaped: RFC 3986's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub struct KucoinWs;

/// The push host and the rest of a keyward push path.
fn split(path: &str) -> Option<(&'static (&'static str, &'static str, u8), &str)> {
    let rest = path.strip_prefix(PREFIX)?;
    let (host, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let entry = HOSTS.iter().find(|(h, _, _)| *h == host)?;
    let simple = tail
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_".contains(&b));
    simple.then_some((entry, tail))
}

impl WsProtocol for KucoinWs {
    fn route(&self, path: &str) -> Option<WsRoute> {
        split(path).map(|((_, authority, api), _)| WsRoute {
            authority,
            api: *api,
        })
    }

    fn upstream_path<'p>(&self, path: &'p str) -> Cow<'p, str> {
        match split(path) {
            Some((_, "")) | None => Cow::Borrowed("/"),
            Some((_, tail)) => Cow::Borrowed(tail),
        }
    }

    fn rest_bearer(&self, method: Method, path: &str) -> Option<&'static [&'static str]> {
        [
            post("/api/v1/bullet-private"),
            post("/futures/api/v1/bullet-private"),
        ]
        .contains(&(method, path))
        .then_some(&["data", "token"])
    }

    fn rest_bearer_answer(&self, answer: &mut Json, socket_base: &str) -> Result<(), Refusal> {
        let servers = answer
            .get_mut("data")
            .and_then(|d| d.get_mut("instanceServers"));
        let Some(Json::Array(servers)) = servers else {
            return Err(withheld("it has no data.instanceServers list"));
        };
        for server in servers {
            let Some(Json::String(endpoint)) = server.get("endpoint") else {
                return Err(withheld("an instance server has no endpoint"));
            };
            let mine = format!("{socket_base}{}", keyward_path(endpoint)?);
            server.set("endpoint", Json::String(mine));
        }
        Ok(())
    }

    fn url_bearer<'u>(
        &self,
        _route: WsRoute,
        _path: &'u str,
        query: Option<&'u str>,
    ) -> Result<Option<&'u str>, Refusal> {
        let mut token = None;
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("token", t)) if token.is_none() && !t.is_empty() => token = Some(t),
                Some((k, _)) if QUERY_KEYS.contains(&k) => {}
                _ => {
                    return Err(Refusal::bad_request(
                        "a KuCoin push URL is ?token=<the token of bullet-private through keyward>[&connectId=..]",
                    ))
                }
            }
        }
        token.map(Some).ok_or_else(|| {
            Refusal::bad_request("a KuCoin push URL needs ?token= from bullet-private")
        })
    }

    fn upstream_target(&self, path: &str, query: Option<&str>, real: Option<&str>) -> String {
        let base = self.upstream_path(path);
        let Some(real) = real else {
            return base.into_owned();
        };
        let token: String = percent_encoding::utf8_percent_encode(real, QUERY_VALUE).collect();
        let kept = query
            .unwrap_or("")
            .split('&')
            .filter(|p| p.split_once('=').is_some_and(|(k, _)| k != "token"));
        let mut target = format!("{base}?token={token}");
        for pair in kept {
            target.push('&');
            target.push_str(pair);
        }
        target
    }

    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
        let Json::Object(members) = frame else {
            return Err(Refusal::bad_request("a KuCoin frame is a JSON object"));
        };
        if let Some((k, _)) = members.iter().find(|(k, _)| {
            !matches!(
                k.as_str(),
                "id" | "type" | "topic" | "privateChannel" | "response"
            )
        }) {
            return Err(Refusal::bad_request(format!(
                "a KuCoin frame has no member {k:?}"
            )));
        }
        let Some(Json::String(kind)) = frame.get("type") else {
            return Err(Refusal::bad_request("the frame has no string \"type\""));
        };
        let id = frame.get("id").cloned().unwrap_or(Json::Null);
        match kind.as_str() {
            "ping" => Ok(BotFrame::Keepalive),
            "subscribe" | "unsubscribe" => {
                let Some(Json::String(topic)) = frame.get("topic") else {
                    return Err(Refusal::bad_request("a subscription names its \"topic\""));
                };
                Ok(BotFrame::Op(WsOp {
                    name: kind.clone(),
                    id,
                    token: None,
                    kind: OpKind::Subscribe(vec![rest_read(route, topic)?]),
                }))
            }
            other => Err(Refusal::bad_request(format!(
                "{other:?} is not a KuCoin frame type keyward relays"
            ))),
        }
    }

    fn error_reply(&self, _route: WsRoute, op: &WsOp, refusal: &Refusal) -> String {
        Json::Object(vec![
            ("id".to_owned(), op.id.clone()),
            ("type".to_owned(), Json::String("error".to_owned())),
            ("code".to_owned(), Json::Number("403".to_owned())),
            (
                "data".to_owned(),
                Json::String(format!("keyward {}: {}", refusal.code, refusal.message)),
            ),
        ])
        .to_compact()
    }
}

/// keyward's push path for one of KuCoin's endpoints (`wss://<host>[:443]<path>`).
fn keyward_path(endpoint: &str) -> Result<String, Refusal> {
    let rest = endpoint
        .strip_prefix("wss://")
        .ok_or_else(|| withheld("an endpoint is not wss://"))?;
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.strip_suffix(":443").unwrap_or(authority);
    // keyward's paths have no trailing `/`: KuCoin's root path is keyward's bare host segment.
    let tail = if tail == "/" { "" } else { tail };
    let path = format!("{PREFIX}{host}{tail}");
    match split(&path) {
        Some(_) if !path.ends_with('/') => Ok(path),
        _ => Err(withheld(&format!(
            "it names the push endpoint {endpoint:?}, which keyward does not relay"
        ))),
    }
}

fn withheld(why: &str) -> Refusal {
    Refusal::new(
        RefusalKind::Upstream,
        "upstream_unreadable",
        format!("KuCoin's bullet-private answer is withheld: {why}"),
    )
}

/// The REST read a topic (`/name` or `/name:SYMBOLS`) equals on this socket.
fn rest_read(route: WsRoute, topic: &str) -> Result<RestEquivalent, Refusal> {
    let table = if route.api == FUTURES {
        FUTURES_TOPICS
    } else {
        SPOT_TOPICS
    };
    symbol_topic(table, topic).ok_or_else(|| {
        Refusal::bad_request(format!(
            "{topic:?} is not a KuCoin topic keyward relays on this socket"
        ))
    })
}

#[cfg(test)]
mod tests;
