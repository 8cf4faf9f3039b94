//! The benchmarks' orders: one representative order per exchange, as a bot sends it (in
//! `keyward::proxy::fuzzing`'s input format), checked when loaded to be allowed and signed by
//! the fuzz targets' fixed world ([`fuzzing::allowlist`], [`fuzzing::credential`]; BitMEX's
//! order, sized in contracts, is judged there by a bound on the contract count).
#![allow(dead_code)] // each benchmark uses a part

use std::time::{Duration, SystemTime};

use keyward::exchange::Exchange;
use keyward::policy::{self, Allowlist, Caller, Permit};
use keyward::proxy::fuzzing;
use keyward::request::{CanonicalRequest, Method, RequestParts};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// A representative order per exchange: (exchange, method, target after `/main`, content
/// type, body).
const ORDERS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "binance",
        "POST",
        "/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&recvWindow=5000&timestamp=1700000000000&signature=0000000000000000000000000000000000000000000000000000000000000000",
        None,
        "",
    ),
    (
        "okx",
        "POST",
        "/api/v5/trade/order",
        Some(JSON),
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.01","px":"30000"}"#,
    ),
    (
        "bybit",
        "POST",
        "/v5/order/create",
        Some(JSON),
        r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.01","price":"30000"}"#,
    ),
    (
        "coinbase",
        "POST",
        "/api/v3/brokerage/orders",
        Some(JSON),
        r#"{"client_order_id":"1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"30000"}}}"#,
    ),
    (
        "kraken",
        "POST",
        "/0/private/AddOrder",
        Some(FORM),
        "nonce=1&ordertype=limit&type=buy&volume=0.01&pair=XBTUSD&price=30000",
    ),
    (
        "kucoin",
        "POST",
        "/api/v1/orders",
        Some(JSON),
        r#"{"clientOid":"1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"30000","size":"0.01"}"#,
    ),
    (
        "gate",
        "POST",
        "/api/v4/spot/orders",
        Some(JSON),
        r#"{"currency_pair":"BTC_USDT","side":"buy","type":"limit","amount":"0.01","price":"30000"}"#,
    ),
    (
        "bitget",
        "POST",
        "/api/v2/spot/trade/place-order",
        Some(JSON),
        r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","price":"30000","size":"0.01"}"#,
    ),
    (
        "bitmex",
        "POST",
        "/api/v1/order",
        Some(JSON),
        r#"{"symbol":"XBTUSD","side":"Buy","orderQty":100,"price":30000,"ordType":"Limit"}"#,
    ),
    (
        "deribit",
        "GET",
        "/api/v2/private/buy?instrument_name=BTC-PERPETUAL&amount=10&type=limit&price=30000",
        None,
        "",
    ),
    (
        "alpaca",
        "POST",
        "/trading/v2/orders",
        Some(JSON),
        r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"150"}"#,
    ),
];

/// One exchange's order: the fuzz input's text, and what the stages make of it.
pub struct Case {
    pub text: Vec<u8>,
    pub exchange: &'static dyn Exchange,
    pub method: Method,
    /// The exchange path (the target without `/main` and the query).
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<&'static str>,
    pub body: &'static [u8],
}

impl Case {
    pub fn new(
        (id, method, target, content_type, body): (
            &str,
            &str,
            &str,
            Option<&'static str>,
            &'static str,
        ),
    ) -> Case {
        let mut text = format!(
            "{id}\n{method} /{}{target}\nhost: {}\n",
            fuzzing::CREDENTIAL,
            fuzzing::LISTEN
        );
        if let Some(ct) = content_type {
            text.push_str(&format!("content-type: {ct}\n"));
        }
        text.push('\n');
        text.push_str(body);
        let text = text.into_bytes();
        let exchange = keyward::exchange::lookup(id).expect("a registered exchange");
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let case = Case {
            text,
            exchange,
            method: Method::parse(method).expect("a method keyward takes"),
            path,
            query,
            content_type,
            body: body.as_bytes(),
        };
        // Under the fuzz allowlist, the fuzz target's properties (idempotence, only allowed
        // requests are signed, what is sent is what was checked) hold; and the order is signed.
        let verdict = fuzzing::policy(&case.text);
        assert!(
            matches!(verdict, fuzzing::Verdict::Signed(_)),
            "{id}: {verdict:?}"
        );
        let checked = policy::check(exchange, &case.parts(), case.caller())
            .unwrap_or_else(|r| panic!("{id}: refused: {}", r.message));
        let why = checked.decision.to_string();
        let permit = checked
            .permit()
            .unwrap_or_else(|_| panic!("{id}: the benchmark's order is not allowed: {why}"));
        permit
            .sign(exchange, fuzzing::credential(exchange), now())
            .unwrap_or_else(|r| panic!("{id}: not signed: {}", r.message));
        case
    }

    pub fn id(&self) -> &'static str {
        self.exchange.id()
    }

    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: self.method,
            path: &self.path,
            query: self.query.as_deref(),
            content_type: self.content_type,
            body: self.body,
        }
    }

    pub fn allowlist(&self) -> &'static Allowlist {
        fuzzing::allowlist(self.exchange)
    }

    pub fn caller(&self) -> Caller<'static> {
        Caller::Client(self.allowlist())
    }

    pub fn canonical(&self) -> CanonicalRequest {
        self.parts()
            .canonicalise(&self.exchange.canon_rules())
            .expect("the order is canonical")
    }

    pub fn permit(&self) -> Permit {
        policy::check(self.exchange, &self.parts(), self.caller())
            .and_then(|checked| checked.permit())
            .unwrap_or_else(|r| panic!("{}: not permitted: {r:?}", self.id()))
    }
}

pub fn cases() -> Vec<Case> {
    ORDERS.iter().copied().map(Case::new).collect()
}

/// The instant every request is signed at (the signers read only the clock they are given).
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200)
}
