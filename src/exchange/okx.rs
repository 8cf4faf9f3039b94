//! OKX v5: spot, margin, futures, perpetual swaps and options, all on one host (`www.okx.com`)
//! under `/api/v5/`; the market is the `instType`/`instId` parameter.
//!
//! Signing: `OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath +
//! body))`, where `timestamp` is ISO 8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`),
//! `requestPath` is the path with its query string (`/api/v5/account/balance?ccy=BTC`) and
//! `body` is the raw JSON body (empty for GET). The key, timestamp and plaintext passphrase travel
//! in `OK-ACCESS-KEY`, `OK-ACCESS-TIMESTAMP` and `OK-ACCESS-PASSPHRASE`.
//! <https://www.okx.com/docs-v5/en/#overview-rest-authentication>
//!
//! The bot's own `OK-ACCESS-*` headers are dropped (upstream headers are built from scratch).
//! ccxt's broker fields in order bodies (`clOrdId` prefixed with its broker id, `tag`) are order
//! data, not credentials, and are forwarded as the bot wrote them.

pub mod orders;
use super::{plain_header, secret_header};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::common::{
    client_error_code, denied_by, get_or_post_only, json_body, json_content_type, keyward_message,
    path_and_query, DenyRule,
};
use super::{unix_millis, Access, Credential, Exchange, Notional, Outbound, PresetEntry, Route};
use crate::request::Refusal;
use crate::request::{CanonRules, CanonicalRequest, Method};

pub struct Okx;

const HOST: &str = "www.okx.com";
const KEY_HEADER: &str = "ok-access-key";

/// Public data, forwarded unsigned: path prefixes.
const PUBLIC_PREFIXES: &[&str] = &[
    "/api/v5/public/",
    "/api/v5/market/",
    "/api/v5/rubik/stat/",
    "/api/v5/system/",
];

/// Hard deny (path prefixes), on top of the shared keyword guard.
const DENIED: &[DenyRule] = &[
    DenyRule::prefix(
        "/api/v5/asset/withdrawal",
        "withdrawals (and their cancellation) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/asset/cancel-withdrawal",
        "withdrawals (and their cancellation) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/asset/transfer",
        "funding/trading and sub-account transfers are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/asset/subaccount/",
        "sub-account operations are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/account/subaccount/",
        "sub-account operations are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/users/",
        "sub-account and API-key management is never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/broker/",
        "broker endpoints (sub-account and API-key management) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v5/fiat/",
        "fiat deposits and withdrawals are never allowed",
    ),
];

/// `okx:read`: balances, positions, account configuration, fees, orders, fills, currencies.
const READ: &[PresetEntry] = &[
    (Method::Get, "/api/v5/account/balance"),
    (Method::Get, "/api/v5/account/positions"),
    (Method::Get, "/api/v5/account/positions-history"),
    (Method::Get, "/api/v5/account/account-position-risk"),
    (Method::Get, "/api/v5/account/config"),
    (Method::Get, "/api/v5/account/trade-fee"),
    (Method::Get, "/api/v5/account/leverage-info"),
    (Method::Get, "/api/v5/account/max-size"),
    (Method::Get, "/api/v5/account/max-avail-size"),
    (Method::Get, "/api/v5/account/bills"),
    (Method::Get, "/api/v5/account/bills-archive"),
    (Method::Get, "/api/v5/asset/currencies"),
    (Method::Get, "/api/v5/asset/balances"),
    (Method::Get, "/api/v5/trade/order"),
    (Method::Get, "/api/v5/trade/orders-pending"),
    (Method::Get, "/api/v5/trade/orders-history"),
    (Method::Get, "/api/v5/trade/orders-history-archive"),
    (Method::Get, "/api/v5/trade/fills"),
    (Method::Get, "/api/v5/trade/fills-history"),
    (Method::Get, "/api/v5/trade/order-algo"),
    (Method::Get, "/api/v5/trade/orders-algo-pending"),
    (Method::Get, "/api/v5/trade/orders-algo-history"),
];

/// `okx:trade`: orders and algo orders for every instrument type (`instType`/`instId` say
/// which; constrain them with a rule of your own), closing positions, leverage.
const TRADE: &[PresetEntry] = &[
    (Method::Post, "/api/v5/trade/order"),
    (Method::Post, "/api/v5/trade/batch-orders"),
    (Method::Post, "/api/v5/trade/cancel-order"),
    (Method::Post, "/api/v5/trade/cancel-batch-orders"),
    (Method::Post, "/api/v5/trade/amend-order"),
    (Method::Post, "/api/v5/trade/amend-batch-orders"),
    (Method::Post, "/api/v5/trade/close-position"),
    (Method::Post, "/api/v5/trade/mass-cancel"),
    (Method::Post, "/api/v5/trade/cancel-all-after"),
    (Method::Post, "/api/v5/trade/order-algo"),
    (Method::Post, "/api/v5/trade/cancel-algos"),
    (Method::Post, "/api/v5/trade/amend-algos"),
    (Method::Post, "/api/v5/account/set-leverage"),
];

impl Exchange for Okx {
    fn id(&self) -> &'static str {
        "okx"
    }

    fn key_headers(&self) -> &'static [&'static str] {
        &[KEY_HEADER]
    }

    fn needs_passphrase(&self) -> bool {
        true
    }

    fn notional(&self) -> Notional {
        // `sz` is in base currency for spot limit orders; for a spot market buy with
        // `tgtCcy=quote_ccy` it is a quote amount (no `px`, so a notional limit refuses it),
        // and for swaps, futures and options it counts contracts.
        Notional {
            price: "px",
            quantity: "sz",
            quote_quantity: None,
        }
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        get_or_post_only(req, "OKX v5")
    }

    fn canon_rules(&self) -> CanonRules {
        CanonRules::JSON
    }

    fn route(&self, path: &str) -> Option<Route> {
        if !path.starts_with("/api/v5/") {
            return None;
        }
        let access = if PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
            Access::Public
        } else {
            Access::Signed
        };
        Some(Route { host: HOST, access })
    }

    fn denied_endpoint(&self, method: Method, path: &str) -> Option<&'static str> {
        denied_by(DENIED, method, path)
    }

    fn preset(&self, name: &str) -> Option<&'static [PresetEntry]> {
        match name {
            "read" => Some(READ),
            "trade" => Some(TRADE),
            _ => None,
        }
    }

    fn preset_names(&self) -> &'static [&'static str] {
        &["read", "trade"]
    }

    fn native_error(&self, reject: &Refusal) -> Vec<(&'static str, serde_json::Value)> {
        // OKX's {"code","msg"} (code as a string); ccxt maps 50111 to AuthenticationError,
        // 50110 to PermissionDenied (OKX uses it for IP restrictions; OKX's own "no permission"
        // code is not classified by ccxt), 50011 to RateLimitExceeded and 51000 to BadRequest.
        let Some(code) = client_error_code(reject, ["50111", "50110", "50011", "51000"]) else {
            return Vec::new();
        };
        vec![
            ("code", serde_json::Value::from(code)),
            ("msg", keyward_message(reject)),
            ("data", serde_json::Value::Array(Vec::new())),
        ]
    }

    fn permission_endpoint(&self) -> PresetEntry {
        (Method::Get, "/api/v5/account/config")
    }

    fn sign(
        &self,
        req: &CanonicalRequest,
        access: Access,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Outbound, Refusal> {
        let path_and_query = path_and_query(&req.path, &req.query.encode());
        let body = json_body(&req.body, "OKX takes JSON bodies, not forms")?;
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if !body.is_empty() {
            headers.push(json_content_type());
        }
        if access != Access::Public {
            let passphrase = credential.passphrase.as_ref().ok_or_else(|| {
                Refusal::bad_credential("this OKX credential has no passphrase; re-seal it with the API key, secret and passphrase on three lines",
                )
            })?;
            let timestamp = iso_millis(now);
            let signature = super::common::base64(&credential.key.hmac_sha256(&[
                timestamp.as_bytes(),
                req.method.as_str().as_bytes(),
                path_and_query.as_bytes(),
                body.as_bytes(),
            ])?);
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            headers.push(secret_header("ok-access-sign", signature.as_bytes())?);
            headers.push(plain_header("ok-access-timestamp", &timestamp));
            headers.push(secret_header("ok-access-passphrase", passphrase.expose())?);
        }
        Ok(Outbound {
            method: req.method,
            host: HOST,
            path_and_query,
            headers,
            body: Bytes::from(body),
        })
    }
}

/// `2020-12-08T09:08:57.715Z`: UTC, milliseconds, as OKX's `OK-ACCESS-TIMESTAMP` wants it.
fn iso_millis(now: SystemTime) -> String {
    let ms = unix_millis(now);
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::hard_deny;
    use crate::exchange::testing::{self, at, canon, header};
    use crate::request::RefusalKind;

    fn credential() -> Credential {
        testing::credential("okx-api-key", "okx-secret-key", Some("okx-passphrase"))
    }

    #[test]
    fn timestamp_format() {
        assert_eq!(iso_millis(at(1607418537715)), "2020-12-08T09:08:57.715Z");
        assert_eq!(iso_millis(at(1607418537000)), "2020-12-08T09:08:57.000Z");
    }

    // Expected signatures were produced offline with ccxt 4.5.90's own signer:
    //   ex = ccxt.okx({'apiKey': 'okx-api-key', 'secret': 'okx-secret-key',
    //                  'password': 'okx-passphrase'})
    //   ex.nonce = lambda: 1607418537715
    //   ex.sign('trade/order', ['private'], 'POST', {... 'clOrdId': ..., 'tag': ...})
    //   ex.sign('account/balance', ['private'], 'GET', {'ccy': 'BTC,USDT'})
    #[test]
    fn post_signature_matches_ccxt() {
        let body = r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.010","px":"30000.0","clOrdId":"6b9ad766b55dBCDE0123456789abcdef","tag":"6b9ad766b55dBCDE"}"#;
        let req = canon(&Okx, Method::Post, "/api/v5/trade/order", None, body);
        let out = Okx
            .sign(&req, Access::Signed, &credential(), at(1607418537715))
            .unwrap();
        assert_eq!(out.body, body.as_bytes(), "the body is sent byte for byte");
        assert_eq!(out.path_and_query, "/api/v5/trade/order");
        assert_eq!(header(&out, "ok-access-key"), Some("okx-api-key"));
        assert_eq!(header(&out, "ok-access-passphrase"), Some("okx-passphrase"));
        assert_eq!(
            header(&out, "ok-access-timestamp"),
            Some("2020-12-08T09:08:57.715Z")
        );
        assert_eq!(
            header(&out, "ok-access-sign"),
            Some("Ra0GXDx52aRAKrXbvbVXNuR8BeuwaAh5PDLoiFWlRWQ=")
        );
        assert_eq!(header(&out, "content-type"), Some("application/json"));
        for (name, value) in &out.headers {
            if name.as_str().starts_with("ok-access-") && name != "ok-access-timestamp" {
                assert!(value.is_sensitive(), "{name}");
            }
        }
    }

    #[test]
    fn get_signature_matches_ccxt() {
        let req = canon(
            &Okx,
            Method::Get,
            "/api/v5/account/balance",
            Some("ccy=BTC%2CUSDT"),
            "",
        );
        let out = Okx
            .sign(&req, Access::Signed, &credential(), at(1607418537715))
            .unwrap();
        assert_eq!(out.path_and_query, "/api/v5/account/balance?ccy=BTC%2CUSDT");
        assert!(out.body.is_empty());
        assert_eq!(
            header(&out, "ok-access-sign"),
            Some("ic1bmOCsHiHyqK31qEtEseG+novxFmRnfu11FxnsdwU=")
        );
        assert_eq!(header(&out, "content-type"), None);
    }

    #[test]
    fn public_data_is_unsigned() {
        for p in [
            "/api/v5/public/instruments",
            "/api/v5/market/ticker",
            "/api/v5/public/time",
        ] {
            assert_eq!(Okx.route(p).unwrap().access, Access::Public, "{p}");
        }
        let req = canon(
            &Okx,
            Method::Get,
            "/api/v5/public/instruments",
            Some("instType=SPOT"),
            "",
        );
        let out = Okx
            .sign(&req, Access::Public, &credential(), at(1))
            .unwrap();
        assert!(out.headers.is_empty());
        assert_eq!(
            out.path_and_query,
            "/api/v5/public/instruments?instType=SPOT"
        );
        assert_eq!(
            Okx.route("/api/v5/trade/order").unwrap().access,
            Access::Signed
        );
        assert!(Okx.route("/api/v3/trade/order").is_none());
        assert!(Okx.route("/v5/trade/order").is_none());
    }

    #[test]
    fn missing_passphrase_is_refused_not_sent() {
        let mut c = credential();
        c.passphrase = None;
        let req = canon(&Okx, Method::Get, "/api/v5/account/balance", None, "");
        assert!(Okx.sign(&req, Access::Signed, &c, at(1)).is_err());
    }

    #[test]
    fn hard_deny_list() {
        for (m, p) in [
            (Method::Post, "/api/v5/asset/withdrawal"),
            (Method::Post, "/api/v5/asset/withdrawal-lightning"),
            (Method::Post, "/api/v5/asset/cancel-withdrawal"),
            (Method::Get, "/api/v5/asset/withdrawal-history"),
            (Method::Post, "/api/v5/asset/transfer"),
            (Method::Get, "/api/v5/asset/transfer-state"),
            (Method::Post, "/api/v5/asset/subaccount/transfer"),
            (Method::Get, "/api/v5/asset/subaccount/balances"),
            (
                Method::Post,
                "/api/v5/account/subaccount/set-loan-allocation",
            ),
            (Method::Post, "/api/v5/users/subaccount/create-subaccount"),
            (Method::Post, "/api/v5/users/subaccount/apikey"),
            (Method::Post, "/api/v5/users/subaccount/modify-apikey"),
            (Method::Post, "/api/v5/users/subaccount/delete-apikey"),
            (Method::Post, "/api/v5/users/subaccount/set-transfer-out"),
            (Method::Post, "/api/v5/broker/nd/create-subaccount"),
            (Method::Post, "/api/v5/fiat/withdrawal"),
            (Method::Post, "/api/v5/Users/subaccount/create-subaccount"),
            (Method::Post, "/API/V5/BROKER/nd/create-subaccount"),
        ] {
            assert!(hard_deny(&Okx, m, p).is_some(), "{m} {p}");
        }
        for (m, p) in [
            (Method::Get, "/api/v5/account/config"),
            (Method::Post, "/api/v5/trade/order"),
            (Method::Get, "/api/v5/asset/currencies"),
        ] {
            assert!(hard_deny(&Okx, m, p).is_none(), "{m} {p}");
        }
    }

    #[test]
    fn presets_never_overlap_hard_deny() {
        for name in Okx.preset_names() {
            for (m, p) in Okx.preset(name).unwrap() {
                assert!(hard_deny(&Okx, *m, p).is_none(), "{name}: {m} {p}");
                assert_eq!(Okx.route(p).unwrap().access, Access::Signed, "{name}: {p}");
            }
        }
        assert!(READ.contains(&Okx.permission_endpoint()));
    }

    #[test]
    fn native_error_shape_for_ccxt() {
        let denied = Okx.native_error(&Refusal::forbidden("hard_deny", "no"));
        assert!(
            denied.contains(&("code", serde_json::Value::from("50110"))),
            "{denied:?}"
        );
        let unknown = Okx.native_error(&Refusal::unauthenticated("who"));
        assert!(
            unknown.contains(&("code", serde_json::Value::from("50111"))),
            "{unknown:?}"
        );
        assert!(Okx
            .native_error(&Refusal::new(RefusalKind::Upstream, "upstream", "x"))
            .is_empty());
    }
}
