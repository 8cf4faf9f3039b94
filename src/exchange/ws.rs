//! WebSocket sessions as an exchange speaks them: its socket paths and their upstream hosts,
//! where a bot's frame carries its client token, which op equals which REST request (so the
//! allowlist judges it exactly as that request), and how keyward logs in and signs frames.
//!
//! An exchange with WebSocket support returns its [`WsProtocol`] from
//! [`Exchange::ws`](super::Exchange::ws); the exchange-independent session (strict frame
//! parsing, decisions, audit, in `src/session.rs`) asks the protocol only these questions.

use std::time::SystemTime;

use super::common::base64;
use super::{unix_secs, Credential};
use crate::request::{CanonicalRequest, Json, Method, Params, Refusal};

/// One socket path of an exchange and where keyward relays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsRoute {
    /// The upstream host and port, e.g. `ws-api.binance.com:443`.
    pub authority: &'static str,
    /// Which of the exchange's socket APIs this is (a tag the exchange defines).
    pub api: u8,
}

impl WsRoute {
    pub const fn new(authority: &'static str, api: u8) -> Self {
        WsRoute { authority, api }
    }
}

/// The REST request a WebSocket op equals: what the allowlist judges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestEquivalent {
    pub method: Method,
    /// The REST path (Deribit's is the op's method name, so it is built per frame).
    pub path: String,
    /// Query-string parameters (for exchanges whose REST API takes them there).
    pub query: Params,
    /// A JSON body (for exchanges whose REST API takes one).
    pub json: Option<Json>,
}

impl RestEquivalent {
    /// A read without parameters (what a subscription to a channel is judged as).
    pub fn read(path: impl Into<String>) -> Self {
        Self::query(Method::Get, path, Params::new())
    }

    /// A request with parameters in the query string.
    pub fn query(method: Method, path: impl Into<String>, query: Params) -> Self {
        RestEquivalent {
            method,
            path: path.into(),
            query,
            json: None,
        }
    }

    /// A request with a JSON body.
    pub fn json(method: Method, path: impl Into<String>, body: Json) -> Self {
        RestEquivalent {
            method,
            path: path.into(),
            query: Params::new(),
            json: Some(body),
        }
    }
}

/// What a bot's text frame is, as the exchange's protocol reads it.
pub enum BotFrame {
    /// The exchange's application-level keepalive, shape-checked: forwarded unchanged.
    Keepalive,
    /// Any other frame: an op to decide.
    Op(WsOp),
}

impl BotFrame {
    /// An op to decide.
    pub fn op(name: impl Into<String>, id: Json, token: Option<String>, kind: OpKind) -> Self {
        BotFrame::Op(WsOp {
            name: name.into(),
            id,
            token,
            kind,
        })
    }
}

/// One op of a bot's frame.
pub struct WsOp {
    /// The op as the exchange names it (`order.place`, `auth`, `subscribe`), for the audit.
    pub name: String,
    /// The bot's request id, to answer it (`Json::Null` when the frame has none).
    pub id: Json,
    /// A client token the frame carries where the exchange's own API key goes.
    pub token: Option<String>,
    pub kind: OpKind,
}

/// What deciding an op means.
pub enum OpKind {
    /// The bot's login: keyward authenticates the bot by its token (which must be present) and
    /// performs the exchange's login itself ([`WsProtocol::login`]).
    Login,
    /// A session method keyward answers itself ([`WsProtocol::outbound`] with no requests);
    /// nothing reaches the exchange.
    Local,
    /// A request equal to these REST requests (one per batch item or channel); the op is
    /// allowed only if every one is, and then sent as [`WsProtocol::outbound`] builds it.
    Rest(Vec<RestEquivalent>),
    /// A subscription to channels, each equal to the REST read of the same data; allowed only
    /// if every one is, and then sent as keyward parsed it (nothing in it is signed).
    Subscribe(Vec<RestEquivalent>),
}

/// What keyward does with a bot's login or an allowed op.
pub enum Reply {
    /// Send this frame to the exchange.
    ToExchange(String),
    /// Answer the bot with this frame; nothing goes to the exchange.
    ToBot(String),
}

/// One op on its way to the exchange: what keyward builds its login or outbound frame from.
pub struct Outgoing<'a> {
    pub route: WsRoute,
    pub op: &'a WsOp,
    /// The bot's frame as parsed.
    pub frame: &'a Json,
    pub credential: &'a Credential,
    pub now: SystemTime,
}

impl Outgoing<'_> {
    /// The real API key as the text a frame carries.
    pub fn api_key(&self) -> Result<String, Refusal> {
        credential_text(self.credential.api_key.expose())
    }
}

/// An exchange's WebSocket protocol. Every method but [`WsProtocol::route`] works on one parsed
/// frame; none keeps state between frames (the session does).
pub trait WsProtocol: Send + Sync + 'static {
    /// The upstream of a socket path (after `/<credential>`), or `None` if keyward does not
    /// relay that path.
    fn route(&self, path: &str) -> Option<WsRoute>;

    /// The upstream path of a keyward socket path (by default the same path).
    fn upstream_path<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        std::borrow::Cow::Borrowed(path)
    }

    /// Where the exchange's answer to this REST request carries a bearer token for its sockets
    /// (Kraken's `GetWebSocketsToken`: `result.token`; Binance's listen keys: `listenKey`), as
    /// the member names leading to it: the bot gets a placeholder of its own instead, which
    /// keyward swaps back in the frames and socket URLs it sends ([`WsProtocol::with_bearer`],
    /// [`WsProtocol::url_bearer`]).
    fn rest_bearer(&self, _method: Method, _path: &str) -> Option<&'static [&'static str]> {
        None
    }

    /// The exchange's answer to a request of [`WsProtocol::rest_bearer`], the placeholder already
    /// in: where it names the exchange's socket URL (KuCoin's `instanceServers[].endpoint`),
    /// keyward's own instead. `socket_base` is `ws[s]://<the Host the bot used>/<credential>`.
    /// An error withholds the answer from the bot.
    fn rest_bearer_answer(&self, _answer: &mut Json, _socket_base: &str) -> Result<(), Refusal> {
        Ok(())
    }

    /// The bearer placeholder a socket URL carries (Binance's listen key in the path or the
    /// query), or `None` if this URL carries none. An error refuses the upgrade (a query string
    /// where none belongs, a listen key keyward did not issue).
    fn url_bearer<'u>(
        &self,
        _route: WsRoute,
        _path: &'u str,
        query: Option<&'u str>,
    ) -> Result<Option<&'u str>, Refusal> {
        match query {
            None => Ok(None),
            Some(_) => Err(Refusal::bad_request(
                "keyward relays this WebSocket path without a query string",
            )),
        }
    }

    /// The upstream path and query of a socket URL whose bearer is `real` (by default the
    /// [`WsProtocol::upstream_path`] of a URL without one).
    fn upstream_target(&self, path: &str, _query: Option<&str>, _real: Option<&str>) -> String {
        self.upstream_path(path).into_owned()
    }

    /// The bearer placeholder a bot's frame carries, if this exchange's frames carry one.
    fn bearer<'f>(&self, _frame: &'f Json) -> Option<&'f str> {
        None
    }

    /// The frame with its bearer replaced by the real token.
    fn with_bearer(&self, frame: &Json, _real: &str) -> Json {
        frame.clone()
    }

    /// Whether `text` is the exchange's literal keepalive (OKX's bare `ping`), which is not JSON.
    fn literal_keepalive(&self, _text: &str) -> bool {
        false
    }

    /// Reads a bot's frame. An error means keyward cannot classify it (unknown op, wrong shape):
    /// the session closes the socket with 1008.
    fn read(&self, route: WsRoute, frame: &Json) -> Result<BotFrame, Refusal>;

    /// keyward's own login in place of the bot's (or its own answer to it). Only called for
    /// ops [`WsProtocol::read`] made [`OpKind::Login`]; an exchange without login frames
    /// (Kraken, Coinbase: each frame carries its own authorisation) keeps the default.
    fn login(&self, _out: &Outgoing<'_>) -> Result<Reply, Refusal> {
        Err(Refusal::bad_request(
            "this exchange's sockets have no login frame",
        ))
    }

    /// The frame keyward sends for an allowed op, built from the canonical requests it was
    /// judged as (in the order of [`OpKind::Rest`]) and signed where the exchange signs frames.
    /// An exchange whose [`WsProtocol::read`] makes no such ops (its sockets only subscribe:
    /// Bitget, BitMEX, KuCoin) keeps the default, which refuses.
    fn outbound(&self, _out: &Outgoing<'_>, _: &[CanonicalRequest]) -> Result<Reply, Refusal> {
        Err(Refusal::bad_request(
            "this exchange's sockets carry no requests keyward builds; order entry goes over REST",
        ))
    }

    /// The exchange-shaped error answer to the bot's op `op` (for its id).
    fn error_reply(&self, route: WsRoute, op: &WsOp, refusal: &Refusal) -> String;

    /// An exchange frame on its way to the bot: `None` hides it (an answer to a frame keyward
    /// sent on its own); by default it passes unchanged.
    fn to_bot(&self, _route: WsRoute, text: String) -> Option<String> {
        Some(text)
    }
}

/// Credential material (an API key, a passphrase) as the text a frame carries.
pub fn credential_text(bytes: &[u8]) -> Result<String, Refusal> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Refusal::bad_credential("the credential's key or passphrase is not text; re-seal it")
    })
}

/// A frame member that must be an object (`params`, `args[0]`): a refusal naming it otherwise.
pub fn object<'j>(frame: &'j Json, key: &str) -> Result<&'j [(String, Json)], Refusal> {
    match frame.get(key) {
        Some(Json::Object(members)) => Ok(members),
        None => Ok(&[]),
        Some(_) => Err(Refusal::bad_request(format!(
            "the frame's {key:?} must be an object"
        ))),
    }
}

/// A string member of a frame.
pub fn string<'j>(frame: &'j Json, key: &str) -> Result<Option<&'j str>, Refusal> {
    match frame.get(key) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refusal::bad_request(format!(
            "the frame's {key:?} must be a string"
        ))),
    }
}

/// Flat parameters (scalars only) as REST query parameters, leaving out `skip`; a nested value
/// is refused, since no REST query parameter could carry it.
pub fn flat_params(members: &[(String, Json)], skip: &[&str]) -> Result<Params, Refusal> {
    let mut params = Params::new();
    for (k, v) in members {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let text = v.scalar_text().ok_or_else(|| {
            Refusal::bad_request(format!(
                "parameter {k:?} must be a string, number or boolean"
            ))
        })?;
        params.set(k, text.to_owned());
    }
    Ok(params)
}

/// The canonical query parameters as a JSON object, each in the JSON type the bot gave it (a
/// number stays a number, a boolean a boolean), leaving out `skip`: the exchange reads the
/// values keyward judged.
pub fn typed_params(
    original: &[(String, Json)],
    canonical: &Params,
    skip: &[&str],
) -> Vec<(String, Json)> {
    canonical
        .iter()
        .filter(|(k, _)| !skip.contains(k))
        .map(|(k, v)| {
            let typed = match original.iter().find(|(o, _)| o == k).map(|(_, v)| v) {
                Some(Json::Number(_)) => Json::Number(v.to_owned()),
                Some(Json::Bool(_)) => Json::Bool(v == "true"),
                _ => Json::String(v.to_owned()),
            };
            (k.to_owned(), typed)
        })
        .collect()
}

/// The login frame OKX and Bitget take: `{"op":"login","args":[{apiKey, passphrase, timestamp,
/// sign}]}` with the real key and passphrase, keyward's timestamp (seconds) and
/// `base64(HMAC-SHA256(secret, ts + "GET" + verify_path))`, and the bot's `id` if it sent one.
pub fn passphrase_login(out: &Outgoing<'_>, verify_path: &str) -> Result<Reply, Refusal> {
    let timestamp = unix_secs(out.now).to_string();
    let sign =
        out.credential
            .key
            .hmac_sha256(&[timestamp.as_bytes(), b"GET", verify_path.as_bytes()])?;
    let passphrase =
        out.credential.passphrase.as_ref().ok_or_else(|| {
            Refusal::bad_credential("this exchange needs a passphrase; re-seal it")
        })?;
    let login = Json::object([
        ("apiKey", Json::text(out.api_key()?)),
        (
            "passphrase",
            Json::text(credential_text(passphrase.expose())?),
        ),
        ("timestamp", Json::text(timestamp)),
        ("sign", Json::text(base64(&sign))),
    ]);
    let frame = Json::object([
        ("op", Json::text("login")),
        ("args", Json::Array(vec![login])),
    ]);
    Ok(Reply::ToExchange(
        with_id(frame, "id", &out.op.id).to_compact(),
    ))
}

/// The client token in a passphrase login (`args[0].apiKey`).
pub fn login_token(args: &[Json]) -> Result<String, Refusal> {
    match args {
        [login @ Json::Object(_)] => match login.get("apiKey") {
            Some(Json::String(token)) => Ok(token.clone()),
            _ => Err(Refusal::bad_request(
                "login args[0].apiKey must be a string",
            )),
        },
        _ => Err(Refusal::bad_request("login takes one object in args")),
    }
}

/// `frame` with the bot's request id as member `key`, if the bot sent one.
pub fn with_id(mut frame: Json, key: &str, id: &Json) -> Json {
    if *id != Json::Null {
        frame.set(key, id.clone());
    }
    frame
}

/// The members of a bot's frame, which must be a JSON object (`what`: "a Gate frame").
pub fn members<'j>(frame: &'j Json, what: &str) -> Result<&'j [(String, Json)], Refusal> {
    match frame {
        Json::Object(members) => Ok(members),
        _ => Err(Refusal::bad_request(format!("{what} is a JSON object"))),
    }
}

/// Refuses a frame with a member outside `allowed` (`what`: "a Gate frame").
pub fn only(members: &[(String, Json)], allowed: &[&str], what: &str) -> Result<(), Refusal> {
    match members.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(Refusal::bad_request(format!("{what} has no member {k:?}"))),
        None => Ok(()),
    }
}

/// A string member the frame must have (`what`: "frame", "request").
pub fn required<'j>(frame: &'j Json, key: &str, what: &str) -> Result<&'j str, Refusal> {
    match frame.get(key) {
        Some(Json::String(s)) => Ok(s),
        _ => Err(Refusal::bad_request(format!(
            "the {what} has no string {key:?}"
        ))),
    }
}

/// The bot's request id in member `key` (`Json::Null` when the frame has none).
pub fn request_id(frame: &Json, key: &str) -> Json {
    frame.get(key).cloned().unwrap_or(Json::Null)
}

/// A frame's `args`, which must be a non-empty array.
pub fn args(frame: &Json) -> Result<&[Json], Refusal> {
    match frame.get("args") {
        Some(Json::Array(items)) if !items.is_empty() => Ok(items),
        _ => Err(Refusal::bad_request("\"args\" must be a non-empty array")),
    }
}

/// A subscription to `channels`, each judged as the REST read `read` makes of it.
pub fn subscription<T>(
    channels: &[T],
    read: impl Fn(&T) -> Result<RestEquivalent, Refusal>,
) -> Result<OpKind, Refusal> {
    channels
        .iter()
        .map(read)
        .collect::<Result<_, _>>()
        .map(OpKind::Subscribe)
}

/// The value `name` has in `table`.
pub fn lookup<V: Copy>(table: &[(&str, V)], name: &str) -> Option<V> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A topic `name` or `name:SYMBOLS` (BitMEX, KuCoin) as the REST read `table` gives `name`,
/// for those symbols (`symbol`); `None` if `table` has no such name.
pub fn symbol_topic(table: &[(&str, &'static str)], topic: &str) -> Option<RestEquivalent> {
    let (name, symbols) = match topic.split_once(':') {
        Some((name, symbols)) => (name, Some(symbols)),
        None => (topic, None),
    };
    let mut query = Params::new();
    if let Some(symbols) = symbols {
        query.set("symbol", symbols.to_owned());
    }
    Some(RestEquivalent::query(
        Method::Get,
        lookup(table, name)?,
        query,
    ))
}

/// `hex(HMAC-SHA256(secret, "GET/realtime" + expires))`: the signature of Bybit's and BitMEX's
/// socket auth.
pub fn realtime_signature(out: &Outgoing<'_>, expires: &str) -> Result<String, Refusal> {
    let signature = out
        .credential
        .key
        .hmac_sha256(&[b"GET/realtime", expires.as_bytes()])?;
    Ok(hex::encode(signature))
}

/// The one canonical request an op was judged as (`what`: "a Gate request").
pub fn single<'c>(
    checked: &'c [CanonicalRequest],
    what: &str,
) -> Result<&'c CanonicalRequest, Refusal> {
    match checked {
        [one] => Ok(one),
        _ => Err(Refusal::bad_request(format!("{what} is one request"))),
    }
}

/// A refusal as the text of an exchange-shaped error answer's message.
pub fn refusal_text(refusal: &Refusal) -> Json {
    Json::text(format!("keyward {}: {}", refusal.code, refusal.message))
}
