//! Binance's market and user-data streams: spot `stream.binance.com:9443` (`/ws`, `/stream`)
//! and USD-M futures `fstream.binance.com` (keyward paths under `/fstream`: `/ws`, `/stream`,
//! `/public/ws`, `/market/ws`, `/private/ws`).
//!
//! A stream socket takes only `SUBSCRIBE`/`UNSUBSCRIBE` of public streams
//! (`<symbol>@<channel>`, `!<channel>@arr`), each judged as the REST market data read it
//! carries, and `LIST_SUBSCRIPTIONS`/`GET_PROPERTY`/`SET_PROPERTY`. User data comes on a socket
//! whose URL carries a listen key (`/fstream/ws/<key>`, `/fstream/private/ws?listenKey=<key>`):
//! the bot got a placeholder from REST `POST /fapi/v1/listenKey` through keyward (a real key
//! reads the account's orders, fills and balances around keyward), and keyward puts the real
//! key in the upstream URL only. A stream name without `@` (a listen key) is refused.
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>

use crate::exchange::ws::{BotFrame, OpKind, RestEquivalent, WsOp, WsRoute};
use crate::request::{Json, Method, Params, Refusal, RefusalKind};

/// The socket APIs (tags of [`WsRoute::api`]).
pub const SPOT: u8 = 2;
pub const FUTURES: u8 = 3;

const SPOT_HOST: &str = "stream.binance.com:9443";
const FUTURES_HOST: &str = "fstream.binance.com:443";
/// keyward's prefix of the futures stream paths (Binance's own paths are the same as spot's).
const FUTURES_PREFIX: &str = "/fstream";
/// The query member that carries a listen key on `/private/ws`.
const LISTEN_KEY: &str = "listenKey=";
/// What a placeholder issued by keyward looks like.
const PLACEHOLDER: &str = "keyward-";

/// Stream channels (the part after `@`, up to a `_` or `@` suffix) and the REST data they carry.
const CHANNELS: &[(&str, &str, &str)] = &[
    // (channel, spot REST path, futures REST path)
    ("trade", "/api/v3/trades", "/fapi/v1/trades"),
    ("aggTrade", "/api/v3/aggTrades", "/fapi/v1/aggTrades"),
    ("kline", "/api/v3/klines", "/fapi/v1/klines"),
    ("continuousKline", "", "/fapi/v1/continuousKlines"),
    ("ticker", "/api/v3/ticker/24hr", "/fapi/v1/ticker/24hr"),
    ("miniTicker", "/api/v3/ticker/24hr", "/fapi/v1/ticker/24hr"),
    (
        "bookTicker",
        "/api/v3/ticker/bookTicker",
        "/fapi/v1/ticker/bookTicker",
    ),
    ("depth", "/api/v3/depth", "/fapi/v1/depth"),
    ("depth5", "/api/v3/depth", "/fapi/v1/depth"),
    ("depth10", "/api/v3/depth", "/fapi/v1/depth"),
    ("depth20", "/api/v3/depth", "/fapi/v1/depth"),
    ("avgPrice", "/api/v3/avgPrice", ""),
    ("markPrice", "", "/fapi/v1/premiumIndex"),
    ("forceOrder", "", "/fapi/v1/allForceOrders"),
    ("compositeIndex", "", "/fapi/v1/indexInfo"),
    ("assetIndex", "", "/fapi/v1/assetIndex"),
    ("contractInfo", "", "/fapi/v1/exchangeInfo"),
];

/// Binance's socket base path, the one segment after it (a listen key, or a label of the
/// bot's own, which Binance ignores), and the API, of a keyward stream path.
fn split(path: &str) -> Option<(u8, &'static str, Option<&str>)> {
    let (api, rest) = match path.strip_prefix(FUTURES_PREFIX) {
        Some(rest) => (FUTURES, rest),
        None => (SPOT, path),
    };
    let bases: &[&str] = match api {
        FUTURES => &["/public/ws", "/market/ws", "/private/ws", "/ws", "/stream"],
        _ => &["/ws", "/stream"],
    };
    bases.iter().find_map(|base| {
        let tail = rest.strip_prefix(base)?;
        if tail.is_empty() {
            return Some((api, *base, None));
        }
        let segment = tail.strip_prefix('/')?;
        let plain = !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plain.then_some((api, *base, Some(segment)))
    })
}

/// The route of a stream socket path, if it is one.
pub fn route(path: &str) -> Option<WsRoute> {
    let (api, _, _) = split(path)?;
    let authority = if api == FUTURES {
        FUTURES_HOST
    } else {
        SPOT_HOST
    };
    Some(WsRoute { authority, api })
}

/// Binance's path of a keyward stream path (the bot's label dropped) and the listen key
/// placeholder its URL carries, if any.
fn parse<'u>(
    path: &'u str,
    query: Option<&'u str>,
) -> Result<(&'static str, Option<&'u str>), Refusal> {
    let (_, base, segment) =
        split(path).ok_or_else(|| Refusal::bad_request("not a Binance stream path"))?;
    let from_query = match query {
        None => None,
        Some(q) if base == "/private/ws" => Some(q.strip_prefix(LISTEN_KEY).ok_or_else(|| {
            Refusal::bad_request("the only query keyward relays here is listenKey=<key>")
        })?),
        Some(_) => {
            return Err(Refusal::bad_request(
                "keyward relays this Binance stream path without a query string",
            ))
        }
    };
    let bearer = match (segment, from_query) {
        (Some(_), Some(_)) => {
            return Err(Refusal::bad_request("one listen key per socket URL"));
        }
        (Some(s), None) | (None, Some(s)) if s.starts_with(PLACEHOLDER) => Some(s),
        (_, Some(_)) => {
            return Err(Refusal::unauthenticated(
                "the listen key is not one keyward issued; get it from REST POST /fapi/v1/listenKey through keyward",
            ))
        }
        // A label of the bot's (ccxt's `multipleTrades`) is dropped: Binance ignores it.
        _ => None,
    };
    if base == "/private/ws" && bearer.is_none() {
        return Err(Refusal::bad_request("/private/ws needs ?listenKey=<key>"));
    }
    Ok((base, bearer))
}

/// The listen key placeholder a stream socket URL carries.
pub fn url_bearer<'u>(path: &'u str, query: Option<&'u str>) -> Result<Option<&'u str>, Refusal> {
    parse(path, query).map(|(_, bearer)| bearer)
}

/// Binance's path and query for a stream socket: the real listen key where the URL carried a
/// placeholder, the bot's label dropped.
pub fn upstream_target(path: &str, query: Option<&str>, real: Option<&str>) -> String {
    let Ok((base, bearer)) = parse(path, query) else {
        return path.to_owned();
    };
    match (bearer, real) {
        (Some(_), Some(real)) if base == "/private/ws" => format!("{base}?{LISTEN_KEY}{real}"),
        (Some(_), Some(real)) => format!("{base}/{real}"),
        _ => base.to_owned(),
    }
}

/// Reads a bot's frame on a stream socket.
pub fn read(route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal> {
    let Json::Object(members) = frame else {
        return Err(Refusal::bad_request(
            "a Binance stream request is a JSON object",
        ));
    };
    if let Some((k, _)) = members
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "id" | "method" | "params"))
    {
        return Err(Refusal::bad_request(format!(
            "a Binance stream request has only id, method and params, not {k:?}"
        )));
    }
    let Some(Json::String(method)) = frame.get("method") else {
        return Err(Refusal::bad_request("the request has no string \"method\""));
    };
    let params: &[Json] = match frame.get("params") {
        None => &[],
        Some(Json::Array(items)) => items,
        Some(_) => return Err(Refusal::bad_request("params must be an array")),
    };
    let kind = match method.as_str() {
        "SUBSCRIBE" | "UNSUBSCRIBE" => OpKind::Subscribe(
            params
                .iter()
                .map(|s| match s {
                    Json::String(s) => stream_read(route, s),
                    _ => Err(Refusal::bad_request("a stream name is a string")),
                })
                .collect::<Result<_, _>>()?,
        ),
        "LIST_SUBSCRIPTIONS" | "GET_PROPERTY" | "SET_PROPERTY" => OpKind::Subscribe(Vec::new()),
        other => {
            return Err(Refusal::bad_request(format!(
                "{other:?} is not a Binance stream method keyward relays"
            )))
        }
    };
    Ok(BotFrame::Op(WsOp {
        name: method.clone(),
        id: frame.get("id").cloned().unwrap_or(Json::Null),
        token: None,
        kind,
    }))
}

/// The REST read a public stream carries: `btcusdt@trade` = `GET /api/v3/trades`.
fn stream_read(route: WsRoute, stream: &str) -> Result<RestEquivalent, Refusal> {
    let unknown = || {
        Refusal::bad_request(format!(
            "{stream:?} is not a Binance market stream keyward relays (user data comes with a listen key in the socket URL)"
        ))
    };
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    // `!ticker@arr`, `!bookTicker`: every symbol's; `btcusdt@kline_1m`: one symbol's.
    let name = match stream.strip_prefix('!') {
        Some(all) => all.split('@').next(),
        None => match stream.split_once('@') {
            Some((symbol, channel)) if plain(symbol) => channel.split(['_', '@']).next(),
            _ => None,
        },
    }
    .filter(|name| plain(name))
    .ok_or_else(unknown)?;
    let path = CHANNELS
        .iter()
        .find(|(c, _, _)| *c == name)
        .map(|(_, spot, futures)| {
            if route.api == FUTURES {
                *futures
            } else {
                *spot
            }
        })
        .filter(|p| !p.is_empty())
        .ok_or_else(unknown)?;
    Ok(RestEquivalent::query(Method::Get, path, Params::new()))
}

/// Binance's stream error answer: `{"error":{"code","msg"},"id"}`.
pub fn error_reply(op: &WsOp, refusal: &Refusal) -> String {
    let code = match refusal.kind {
        RefusalKind::Forbidden | RefusalKind::Unauthenticated => "2",
        _ => "3",
    };
    Json::Object(vec![
        (
            "error".to_owned(),
            Json::Object(vec![
                ("code".to_owned(), Json::Number(code.to_owned())),
                (
                    "msg".to_owned(),
                    Json::String(format!("keyward {}: {}", refusal.code, refusal.message)),
                ),
            ]),
        ),
        ("id".to_owned(), op.id.clone()),
    ])
    .to_compact()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_and_listen_keys_are_swapped_in_the_upstream_url_only() {
        for (path, query, api, bearer, upstream) in [
            ("/ws", None, SPOT, None, "/ws"),
            ("/ws/multipleTrades", None, SPOT, None, "/ws"),
            ("/stream", None, SPOT, None, "/stream"),
            (
                "/fstream/ws/keyward-ab12",
                None,
                FUTURES,
                Some("keyward-ab12"),
                "/ws/REAL",
            ),
            (
                "/fstream/public/ws/multipleTrades",
                None,
                FUTURES,
                None,
                "/public/ws",
            ),
            ("/fstream/market/ws", None, FUTURES, None, "/market/ws"),
            (
                "/fstream/private/ws",
                Some("listenKey=keyward-ab12"),
                FUTURES,
                Some("keyward-ab12"),
                "/private/ws?listenKey=REAL",
            ),
        ] {
            let r = route(path).unwrap_or_else(|| panic!("{path} routes"));
            assert_eq!(r.api, api, "{path}");
            assert_eq!(url_bearer(path, query).unwrap(), bearer, "{path}");
            assert_eq!(
                upstream_target(path, query, bearer.map(|_| "REAL")),
                upstream
            );
        }
        for bad in ["/ws/a/b", "/ws-x", "/fstream/api/ws", "/wsx", "/ws/a%2Fb"] {
            assert!(route(bad).is_none(), "{bad}");
        }
        // a query anywhere but /private/ws, a real-looking key there, and no key at all: refused
        assert!(url_bearer("/ws", Some("listenKey=keyward-1")).is_err());
        assert!(url_bearer(
            "/fstream/private/ws",
            Some("listenKey=pqia91ma19a5s61cv6a81va")
        )
        .is_err());
        assert!(url_bearer("/fstream/private/ws", None).is_err());
        assert!(url_bearer("/fstream/private/ws", Some("x=1")).is_err());
        // a real listen key in the path is a label: dropped, never sent upstream
        assert_eq!(
            upstream_target("/fstream/ws/pqia91ma19a5s61cv6a81va", None, None),
            "/ws"
        );
    }

    #[test]
    fn streams_are_judged_as_market_data_and_listen_keys_refused() {
        let futures = route("/fstream/ws").unwrap();
        let frame = Json::parse(
            r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@markPrice@1s","!ticker@arr","btcusdt@kline_1m"],"id":1}"#,
        )
        .unwrap();
        let Ok(BotFrame::Op(WsOp {
            kind: OpKind::Subscribe(reads),
            ..
        })) = read(futures, &frame)
        else {
            panic!("a subscription")
        };
        let paths: Vec<_> = reads.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/fapi/v1/aggTrades",
                "/fapi/v1/premiumIndex",
                "/fapi/v1/ticker/24hr",
                "/fapi/v1/klines"
            ]
        );
        let spot = route("/ws").unwrap();
        for bad in [
            r#"{"method":"SUBSCRIBE","params":["pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"],"id":1}"#,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@markPrice"],"id":1}"#,
            r#"{"method":"SUBSCRIBE","params":["btc/usdt@trade"],"id":1}"#,
            r#"{"method":"SUBSCRIBE","params":[1],"id":1}"#,
            r#"{"method":"order.place","params":[],"id":1}"#,
            r#"{"method":"SUBSCRIBE","params":[],"id":1,"x":1}"#,
        ] {
            assert!(read(spot, &Json::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }
}
