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

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;

use super::permission::{self, Fact, KeyPermissions, Reading};

use http::{header, HeaderName, HeaderValue};

use super::common::{access_headers, json_body, json_content_type, path_and_query, AccessHeaders};
use super::profile::shipped;
use super::unix_millis;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::CanonicalRequest;
use crate::request::Refusal;

shipped!(Kucoin, "kucoin");

const SPOT_HOST: &str = "api.kucoin.com";
const FUTURES_HOST: &str = "api-futures.kucoin.com";
/// keyward's path prefix for the futures host.
pub const FUTURES_PREFIX: &str = "/futures";

const ACCESS: AccessHeaders = access_headers!("kc-api-");
/// The API-key version keyward announces (see the module documentation).
const KEY_VERSION: &str = "2";

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
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::KucoinWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let (host, _) = Self::split(path)?;
        Some(PROFILE.route(host, path))
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
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
            let passphrase = credential.passphrase_or("KuCoin credentials need a passphrase; re-seal with the API key, secret and passphrase")?;
            let timestamp = unix_millis(now).to_string();
            // Key version 2: the passphrase is sent signed too.
            let signed_passphrase =
                super::common::base64(&credential.key.hmac_sha256(&[passphrase.expose()])?);
            headers.extend(ACCESS.signed(
                credential,
                &timestamp,
                req.method,
                &endpoint,
                &body,
                signed_passphrase.as_bytes(),
            )?);
            headers.push((
                HeaderName::from_static("kc-api-key-version"),
                HeaderValue::from_static(KEY_VERSION),
            ));
        }
        Ok(Outbound::new(req, host, endpoint, headers, body))
    }
}

/// `GET /api/v1/user/api-key`: `data.permission` is a comma-separated list (`General`,
/// `Spot`, `Margin`, `Futures`, `InnerTransfer`, `Transfer` = withdrawal, `Earn`);
/// `data.ipWhitelist` the bound addresses (absent or empty when none).
/// <https://www.kucoin.com/docs/rest/account/sub-account-api/get-api-key-info>
fn permissions(answer: &[u8], _key_id: &str) -> Reading {
    let Some(v) = permission::json(answer).filter(|v| v.get("code") == Some(&"200000".into()))
    else {
        return Reading::Unreadable;
    };
    let Some(d) = v.get("data").filter(|d| d.is_object()) else {
        return Reading::Unreadable;
    };
    let perm = d.get("permission");
    Reading::Read(KeyPermissions {
        withdraw: permission::words_contain(perm, &["Transfer", "Withdrawal"]),
        transfer: permission::words_contain(perm, &["InnerTransfer"]),
        ip_restricted: match d.get("ipWhitelist") {
            None => Fact::Known(false),
            ips => permission::ip_list(ips),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{delete, get, post};
    use crate::exchange::testing::{self, assert_hard_deny, assert_routes, header};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::canonicalise;
    use crate::request::Method;
    use std::time::SystemTime;

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
        Kucoin
            .sign(&req, Signing::new(access, &credential(), at))
            .unwrap()
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
            &[post("/api/v1/hf/orders"), post("/futures/api/v1/orders")],
        );
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
