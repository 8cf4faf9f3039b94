//! KuCoin: spot and margin on `api.kucoin.com`, futures on `api-futures.kucoin.com`.
//!
//! **Routing.** The two hosts share path names (`/api/v1/orders` is a spot order on one and a
//! futures order on the other), so keyward gives the futures host a path prefix:
//! `/<credential>/api/...` goes to `api.kucoin.com/api/...` and
//! `/<credential>/futures/api/...` goes to `api-futures.kucoin.com/api/...`. Allow rules and
//! presets name futures paths with the prefix (`/futures/api/v1/orders`); the signature covers
//! the path the exchange receives (without it). The broker host (`api-broker.kucoin.com`:
//! sub-account and API-key management for brokers) is not routed at all.
//!
//! **Signing** (<https://www.kucoin.com/docs-new/authentication>):
//! `KC-API-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + path[?query] + body))`,
//! `KC-API-PASSPHRASE = base64(HMAC-SHA256(secret, passphrase))` (API keys of version 2 and 3;
//! version-1 keys with a plaintext passphrase were retired by KuCoin in 2021),
//! `KC-API-TIMESTAMP` in milliseconds, `KC-API-KEY`, and `KC-API-KEY-VERSION: 2` (what ccxt
//! sends; KuCoin verifies version-3 keys the same way). Bodies are JSON; keyward signs and
//! sends its compact re-serialisation, numbers exactly as the bot wrote them.
//!
//! **What the bot sends that is dropped.** Its `KC-API-KEY` (read as the client token),
//! `KC-API-SIGN`, `KC-API-TIMESTAMP`, `KC-API-PASSPHRASE`, `KC-API-KEY-VERSION`, and ccxt's
//! broker headers `KC-API-PARTNER`, `KC-API-PARTNER-SIGN`, `KC-API-PARTNER-VERIFY` (a
//! signature over the timestamp and the bot's dummy key, meaningless for the real key): keyward
//! builds upstream headers from scratch, so none of them is forwarded.

pub mod leverage;
pub mod orders;
use super::{plain_header, secret_header};
use std::time::SystemTime;

use http::{header, HeaderName, HeaderValue};

use super::common::{json_body, json_content_type, path_and_query};
use super::deny::{prefix, DenyRule, SUB_ACCOUNT_MANAGEMENT, TRANSFERS, WITHDRAWALS};
use super::native::CodedError;
use super::profile::{delete, get, joined_preset, post};
use super::unix_millis;
use super::{Access, Credential, Exchange, Outbound, Route};
use super::{Conventions, Notional, Preset, Profile, PublicPaths};
use crate::request::Refusal;
use crate::request::{CanonRules, CanonicalRequest};

pub struct Kucoin;

pub const PROFILE: Profile = Profile {
    id: "kucoin",
    key_headers: &[KEY_HEADER],
    notional: Notional {
        price: "price",
        quantity: "size",
        quote_quantity: Some("funds"),
    },
    deny: DENIED,
    presets: &[READ, SPOT_TRADE, FUTURES_TRADE, TRADE],
    // "Get API Key Info" (permissions, IP whitelist). Hard-denied to bots (keyword guard).
    permission_endpoint: get("/api/v1/user/api-key"),
    orders: orders::ORDER_ENDPOINTS,
    leverage: leverage::LEVERAGE_ENDPOINTS,
    answers_with_key: &[],
    orders_unread: &[],
    public: super::PublicPaths::NONE,
    conventions: Conventions {
        canon: CanonRules {
            // Futures `DELETE /api/v1/orders/multi-cancel` takes a JSON body.
            body_on_delete: true,
            ..CanonRules::JSON
        },
        needs_passphrase: true,
        // KuCoin's {"code","msg"} (code as a string): 400003 unknown key and 400007 "access
        // denied, requires more permission" (ccxt: AuthenticationError, not retried), 429000
        // rate limit (RateLimitExceeded), 400100 bad parameter (BadRequest).
        error: Some(CodedError::strings(
            "code",
            "msg",
            ["400003", "400007", "429000", "400100"],
        )),
        ..Conventions::COMMON
    },
};

const SPOT_HOST: &str = "api.kucoin.com";
const FUTURES_HOST: &str = "api-futures.kucoin.com";
/// keyward's path prefix for the futures host.
pub const FUTURES_PREFIX: &str = "/futures";

const KEY_HEADER: &str = "kc-api-key";
/// The API-key version keyward announces (see the module documentation).
const KEY_VERSION: &str = "2";

/// Public market data on the spot host, forwarded unsigned (`{x}` = one path segment).
const PUBLIC_SPOT: PublicPaths = PublicPaths::paths(&[
    "/api/v1/timestamp",
    "/api/v1/status",
    "/api/v1/currencies",
    "/api/v1/currencies/{currency}",
    "/api/v3/currencies",
    "/api/v3/currencies/{currency}",
    "/api/v1/symbols",
    "/api/v2/symbols",
    "/api/v2/symbols/{symbol}",
    "/api/v1/markets",
    "/api/v1/prices",
    "/api/v1/market/orderbook/level1",
    "/api/v1/market/orderbook/level2_20",
    "/api/v1/market/orderbook/level2_100",
    "/api/v1/market/allTickers",
    "/api/v1/market/stats",
    "/api/v1/market/histories",
    "/api/v1/market/candles",
    "/api/v1/mark-price/{symbol}/current",
    "/api/v3/mark-price/all-symbols",
    "/api/v1/margin/config",
    "/api/v3/announcements",
    "/api/v1/convert/currencies",
    "/api/v1/convert/symbol",
    "/api/v1/bullet-public",
]);

/// Public market data on the futures host (paths as the exchange names them, no prefix).
const PUBLIC_FUTURES: PublicPaths = PublicPaths::paths(&[
    "/api/v1/timestamp",
    "/api/v1/status",
    "/api/v1/contracts/active",
    "/api/v1/contracts/{symbol}",
    "/api/v1/contracts/risk-limit/{symbol}",
    "/api/v1/contract/funding-rates",
    "/api/v1/funding-rate/{symbol}/current",
    "/api/v1/allTickers",
    "/api/v1/ticker",
    "/api/v1/level2/snapshot",
    "/api/v1/level2/depth20",
    "/api/v1/level2/depth100",
    "/api/v1/level2/message/query",
    "/api/v1/level3/snapshot",
    "/api/v2/level3/snapshot",
    "/api/v1/level3/message/query",
    "/api/v1/trade/history",
    "/api/v1/kline/query",
    "/api/v1/index/query",
    "/api/v1/interest/query",
    "/api/v1/premium/query",
    "/api/v1/mark-price/{symbol}/current",
    "/api/v1/trade-statistics",
    "/api/v1/bullet-public",
]);

/// Explicitly denied endpoints (prefixes of keyward's path, so futures ones carry `/futures`),
/// besides the keyword guard (which already catches every path containing `withdraw`,
/// `transfer`, `sub-account`, `api-key`, ...).
const DENIED: &[DenyRule] = &[
    prefix("/api/v1/withdrawals", WITHDRAWALS),
    prefix("/api/v3/withdrawals", WITHDRAWALS),
    prefix("/futures/api/v1/withdrawals", WITHDRAWALS),
    prefix(
        "/api/v1/accounts/inner-transfer",
        "internal transfers are never allowed",
    ),
    prefix(
        "/api/v2/accounts/inner-transfer",
        "internal transfers are never allowed",
    ),
    prefix(
        "/api/v1/accounts/sub-transfer",
        "sub-account transfers are never allowed",
    ),
    prefix(
        "/api/v2/accounts/sub-transfer",
        "sub-account transfers are never allowed",
    ),
    prefix(
        "/api/v3/accounts/universal-transfer",
        "universal transfers are never allowed",
    ),
    prefix("/api/v3/transfer-out", TRANSFERS),
    prefix("/futures/api/v1/transfer-out", TRANSFERS),
    prefix("/futures/api/v2/transfer-out", TRANSFERS),
    prefix("/futures/api/v3/transfer-out", TRANSFERS),
    prefix("/futures/api/v1/transfer-in", TRANSFERS),
    prefix("/api/v1/sub/", SUB_ACCOUNT_MANAGEMENT),
    prefix("/api/v2/sub/", SUB_ACCOUNT_MANAGEMENT),
    prefix("/api/v3/sub/", SUB_ACCOUNT_MANAGEMENT),
    prefix("/api/v1/sub-accounts", SUB_ACCOUNT_MANAGEMENT),
    prefix("/api/v2/sub-accounts", SUB_ACCOUNT_MANAGEMENT),
    prefix(
        "/api/v1/user/api-key",
        "API-key information is for keyward's own self-check only",
    ),
    prefix(
        "/api/v1/broker/",
        "broker sub-account and API-key management is never allowed",
    ),
    prefix(
        "/api/v1/asset/ndbroker/",
        "broker sub-account and API-key management is never allowed",
    ),
    prefix("/api/ua/v1/sub-account", SUB_ACCOUNT_MANAGEMENT),
];

/// `kucoin:read`: balances, orders, fills and fees, spot (classic and high-frequency) and
/// futures, the account-type lookups ccxt makes, and private WebSocket tokens.
const READ: Preset = Preset {
    name: "read",
    entries: &[
        get("/api/v1/accounts"),
        get("/api/v1/accounts/{accountId}"),
        get("/api/v1/accounts/ledgers"),
        get("/api/v1/hf/accounts/ledgers"),
        get("/api/v1/hf/accounts/opened"),
        get("/api/ua/v1/account/mode"),
        get("/api/v2/user-info"),
        get("/api/v1/base-fee"),
        get("/api/v1/trade-fees"),
        get("/api/v1/orders"),
        get("/api/v1/orders/{orderId}"),
        get("/api/v1/order/client-order/{clientOid}"),
        get("/api/v1/limit/orders"),
        get("/api/v1/fills"),
        get("/api/v1/limit/fills"),
        get("/api/v1/hf/orders/active"),
        get("/api/v1/hf/orders/active/symbols"),
        get("/api/v1/hf/orders/done"),
        get("/api/v1/hf/orders/{orderId}"),
        get("/api/v1/hf/orders/client-order/{clientOid}"),
        get("/api/v1/hf/fills"),
        get("/api/v1/stop-order"),
        get("/api/v1/stop-order/{orderId}"),
        get("/api/v3/market/orderbook/level2"),
        get("/api/v3/margin/symbols"),
        get("/api/v1/isolated/symbols"),
        post("/api/v1/bullet-private"),
        get("/futures/api/v1/account-overview"),
        get("/futures/api/v1/positions"),
        get("/futures/api/v1/position"),
        get("/futures/api/v1/orders"),
        get("/futures/api/v1/orders/{orderId}"),
        get("/futures/api/v1/orders/byClientOid"),
        get("/futures/api/v1/recentDoneOrders"),
        get("/futures/api/v1/stopOrders"),
        get("/futures/api/v1/fills"),
        get("/futures/api/v1/recentFills"),
        get("/futures/api/v1/openOrderStatistics"),
        get("/futures/api/v1/funding-history"),
        get("/futures/api/v1/trade-fees"),
        get("/futures/api/v2/getMaxOpenSize"),
        get("/futures/api/v2/getCrossUserLeverage"),
        get("/futures/api/v2/position/getMarginMode"),
        get("/futures/api/v2/position/getPositionMode"),
        post("/futures/api/v1/bullet-private"),
    ],
};

/// `kucoin:spot-trade`: place and cancel spot orders (classic, high-frequency, stop).
const SPOT_TRADE: Preset = Preset {
    name: "spot-trade",
    entries: &[
        post("/api/v1/orders"),
        post("/api/v1/orders/test"),
        delete("/api/v1/orders"),
        delete("/api/v1/orders/{orderId}"),
        delete("/api/v1/order/client-order/{clientOid}"),
        post("/api/v1/hf/orders"),
        post("/api/v1/hf/orders/test"),
        post("/api/v1/hf/orders/sync"),
        post("/api/v1/hf/orders/multi"),
        post("/api/v1/hf/orders/alter"),
        delete("/api/v1/hf/orders"),
        delete("/api/v1/hf/orders/cancelAll"),
        delete("/api/v1/hf/orders/{orderId}"),
        delete("/api/v1/hf/orders/sync/{orderId}"),
        delete("/api/v1/hf/orders/client-order/{clientOid}"),
        post("/api/v1/stop-order"),
        delete("/api/v1/stop-order/cancel"),
        delete("/api/v1/stop-order/{orderId}"),
    ],
};

/// `kucoin:futures-trade`: place and cancel futures orders, leverage and margin mode.
const FUTURES_TRADE: Preset = Preset {
    name: "futures-trade",
    entries: &[
        post("/futures/api/v1/orders"),
        post("/futures/api/v1/orders/test"),
        post("/futures/api/v1/orders/multi"),
        post("/futures/api/v1/st-orders"),
        delete("/futures/api/v1/orders"),
        delete("/futures/api/v3/orders"),
        delete("/futures/api/v1/orders/{orderId}"),
        delete("/futures/api/v1/orders/client-order/{clientOid}"),
        delete("/futures/api/v1/stopOrders"),
        post("/futures/api/v2/changeCrossUserLeverage"),
        post("/futures/api/v2/position/changeMarginMode"),
        post("/futures/api/v1/position/risk-limit-level/change"),
    ],
};

/// `kucoin:trade`: spot and futures trading together.
const TRADE: Preset = joined_preset!("trade", SPOT_TRADE, FUTURES_TRADE);

impl Kucoin {
    /// The exchange host and the path it receives, for keyward's path.
    fn split(path: &str) -> Option<(&'static str, &str)> {
        if let Some(rest) = path.strip_prefix(FUTURES_PREFIX) {
            rest.starts_with("/api/").then_some((FUTURES_HOST, rest))
        } else {
            path.starts_with("/api/").then_some((SPOT_HOST, path))
        }
    }
}

impl Exchange for Kucoin {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn route(&self, path: &str) -> Option<Route> {
        let (host, upstream) = Self::split(path)?;
        let public = if host == FUTURES_HOST {
            PUBLIC_FUTURES
        } else {
            PUBLIC_SPOT
        };
        Some(Route {
            host,
            access: public.access(upstream),
        })
    }

    fn sign(
        &self,
        req: &CanonicalRequest,
        access: Access,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Outbound, Refusal> {
        let (host, path) =
            Self::split(&req.path).ok_or_else(|| Refusal::not_found("not a KuCoin API path"))?;
        let endpoint = path_and_query(path, &req.query.encode());
        let body = json_body(
            &req.body,
            "KuCoin takes JSON bodies (Content-Type: application/json)",
        )?;
        let mut headers: Vec<(HeaderName, HeaderValue)> = vec![
            // The exchange's own host name, also when tests re-point the connection elsewhere
            // (the mock tells the spot and futures hosts apart by it).
            (header::HOST, HeaderValue::from_static(host)),
        ];
        if !body.is_empty() {
            headers.push(json_content_type());
        }
        if access != Access::Public {
            let passphrase = credential.passphrase.as_ref().ok_or_else(|| {
                Refusal::bad_credential("KuCoin credentials need a passphrase; re-seal with the API key, secret and passphrase",
                )
            })?;
            let timestamp = unix_millis(now).to_string();
            let prehash = format!("{timestamp}{}{endpoint}{body}", req.method.as_str());
            let signature =
                super::common::base64(&credential.key.hmac_sha256(&[prehash.as_bytes()])?);
            let signed_passphrase =
                super::common::base64(&credential.key.hmac_sha256(&[passphrase.expose()])?);
            headers.extend([
                secret_header(KEY_HEADER, credential.api_key.expose())?,
                secret_header("kc-api-sign", signature.as_bytes())?,
                plain_header("kc-api-timestamp", &timestamp),
                secret_header("kc-api-passphrase", signed_passphrase.as_bytes())?,
                (
                    HeaderName::from_static("kc-api-key-version"),
                    HeaderValue::from_static(KEY_VERSION),
                ),
            ]);
        }
        Ok(Outbound::new(req, host, endpoint, headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::hard_deny;
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, header};
    use crate::request::canonicalise;
    use crate::request::Method;

    use std::time::Duration;

    // Dummy credential used to compute the expected values offline with ccxt 4.5.90:
    // ccxt.kucoin / ccxt.kucoinfutures({'apiKey': API_KEY, 'secret': SECRET,
    // 'password': PASSPHRASE}) with nonce() fixed at 1700000000123, then
    // .sign(path, [api], method, params) — see each test for the call.
    const API_KEY: &str = "65f1a2b3c4d5e6f708091a2b";
    const SECRET: &str = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3";
    const PASSPHRASE: &str = "kw-test-passphrase";
    const CCXT_PASSPHRASE: &str = "7ZhIOCOoxW/iSTWb/X1CuRXbfMj+CjwQUZorLcMG4KY=";
    const TS: u64 = 1_700_000_000_123;

    fn credential() -> Credential {
        testing::credential(API_KEY, SECRET, Some(PASSPHRASE))
    }

    fn signed(method: Method, path: &str, query: Option<&str>, body: &str) -> Outbound {
        let ct = (!body.is_empty()).then_some("application/json");
        let req = canonicalise(
            method,
            path,
            query,
            ct,
            body.as_bytes(),
            &Kucoin.canon_rules(),
        )
        .unwrap();
        let access = Kucoin.route(path).unwrap().access;
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(TS);
        Kucoin.sign(&req, access, &credential(), at).unwrap()
    }

    fn assert_auth(out: &Outbound, sign: &str) {
        assert_eq!(header(out, "kc-api-key"), Some(API_KEY));
        assert_eq!(header(out, "kc-api-timestamp"), Some("1700000000123"));
        assert_eq!(header(out, "kc-api-passphrase"), Some(CCXT_PASSPHRASE));
        assert_eq!(header(out, "kc-api-key-version"), Some("2"));
        assert_eq!(header(out, "kc-api-sign"), Some(sign));
        for secret in ["kc-api-key", "kc-api-sign", "kc-api-passphrase"] {
            let (_, v) = out.headers.iter().find(|(k, _)| k == secret).unwrap();
            assert!(v.is_sensitive(), "{secret}");
        }
        assert!(!out
            .headers
            .iter()
            .any(|(k, _)| k.as_str().contains("partner")));
    }

    /// ccxt: kucoin.sign('hf/orders', ['private'], 'POST', {clientOid, side, symbol, type,
    /// price: '30000.5', size: '0.001'}).
    #[test]
    fn spot_post_json_matches_ccxt() {
        let body = r#"{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"30000.5","size":"0.001"}"#;
        let out = signed(Method::Post, "/api/v1/hf/orders", None, body);
        assert_eq!(out.host, SPOT_HOST);
        assert_eq!(out.path_and_query, "/api/v1/hf/orders");
        assert_eq!(out.body, body.as_bytes());
        assert_eq!(header(&out, "content-type"), Some("application/json"));
        assert_eq!(header(&out, "host"), Some(SPOT_HOST));
        assert_auth(&out, "QSoCWtnegfwoyUoK8GSsIEKIooW3FewlYpVM//B+1ck=");
    }

    /// ccxt: kucoin.sign('hf/orders/{orderId}', ['private'], 'DELETE',
    /// {orderId: '5bd6e9286d99522a52e458de', symbol: 'BTC-USDT'}) and
    /// kucoin.sign('accounts', ['private'], 'GET', {type: 'trade', currency: 'USDT'}).
    #[test]
    fn spot_queries_match_ccxt() {
        for (method, path, query, sign) in [
            (
                Method::Delete,
                "/api/v1/hf/orders/5bd6e9286d99522a52e458de",
                "symbol=BTC-USDT",
                "XjrccTMz1egciEmKcLQNaujUCcuBYx1CE5MDE1JyYIQ=",
            ),
            (
                Method::Get,
                "/api/v1/accounts",
                "type=trade&currency=USDT",
                "md17bJJjaaHD0lWLxuBOXVqAQxYXOngjv6EHfw2yjTA=",
            ),
        ] {
            let out = signed(method, path, Some(query), "");
            assert_eq!(out.path_and_query, format!("{path}?{query}"));
            assert!(out.body.is_empty());
            assert_eq!(header(&out, "content-type"), None);
            assert_auth(&out, sign);
        }
    }

    /// ccxt: kucoinfutures.sign('orders', ['futuresPrivate'], 'POST', {clientOid: 'abc123',
    /// side, symbol: 'XBTUSDTM', type, leverage: 3, price: '30000', size: 1,
    /// marginMode: 'ISOLATED'}) — numbers stay numbers, exactly as written.
    #[test]
    fn futures_prefix_is_stripped_and_signature_matches_ccxt() {
        let body = r#"{"clientOid":"abc123","side":"buy","symbol":"XBTUSDTM","type":"limit","leverage":3,"price":"30000","size":1,"marginMode":"ISOLATED"}"#;
        let out = signed(Method::Post, "/futures/api/v1/orders", None, body);
        assert_eq!(out.host, FUTURES_HOST);
        assert_eq!(out.path_and_query, "/api/v1/orders");
        assert_eq!(header(&out, "host"), Some(FUTURES_HOST));
        assert_eq!(out.body, body.as_bytes());
        assert_auth(&out, "VRXBiSsFrJ+hmIXly/PdW1OsFUvhZ5tGRaCpU046hWQ=");
    }

    #[test]
    fn private_paths_are_signed() {
        assert_routes(
            &Kucoin,
            &[],
            &["/futures/api/v1/orders", "/api/v1/accounts"],
            &[],
        );
    }

    #[test]
    fn routes() {
        assert_eq!(Kucoin.route("/api/v1/orders").unwrap().host, SPOT_HOST);
        assert_eq!(
            Kucoin.route("/futures/api/v1/orders").unwrap().host,
            FUTURES_HOST
        );
        assert_routes(
            &Kucoin,
            &[],
            &[],
            &[
                "/futures",
                "/futures/v1/orders",
                "/futuresapi/v1",
                "/v1/orders",
                "/API/v1/orders",
                "/futures/futures/api/v1/orders",
            ],
        );
    }

    #[test]
    fn money_movement_is_hard_denied() {
        assert_hard_deny(
            &Kucoin,
            &[
                post("/api/v1/withdrawals"),
                post("/api/v3/withdrawals"),
                delete("/api/v1/withdrawals/5bffb63303aa675e8bbe18f9"),
                post("/api/v2/accounts/inner-transfer"),
                post("/api/v2/accounts/sub-transfer"),
                post("/api/v3/accounts/universal-transfer"),
                post("/futures/api/v3/transfer-out"),
                post("/futures/api/v1/transfer-in"),
                post("/api/v2/sub/user/created"),
                get("/api/v1/sub/user"),
                post("/api/v1/sub/api-key"),
                post("/api/v1/sub/api-key/update"),
                get("/api/v2/sub-accounts"),
                get("/api/v1/user/api-key"),
                post("/api/v1/broker/nd/transfer"),
                post("/api/ua/v1/account/transfer"),
                get("/api/V1/Sub/user"),
                post("/api/v2/Accounts/Inner-Transfer"),
            ],
            &[],
        );
        assert!(hard_deny(&Kucoin, Method::Post, "/api/v1/hf/orders").is_none());
        assert!(hard_deny(&Kucoin, Method::Post, "/futures/api/v1/orders").is_none());
    }

    #[test]
    fn permission_endpoint_is_on_the_spot_host() {
        let (m, p) = PROFILE.permission_endpoint;
        assert_eq!((m, Kucoin.route(p).unwrap().host), (Method::Get, SPOT_HOST));
    }

    #[test]
    fn form_bodies_are_refused() {
        let r = canonicalise(
            Method::Post,
            "/api/v1/hf/orders",
            None,
            Some("application/x-www-form-urlencoded"),
            b"symbol=BTC-USDT",
            &Kucoin.canon_rules(),
        );
        assert!(r.is_err());
    }
}
