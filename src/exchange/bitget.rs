//! Bitget v2 (spot `/api/v2/spot/`, futures `/api/v2/mix/`, margin, earn, copy trading, ...) and
//! the unified-account v3 API (`/api/v3/`), all on one host (`api.bitget.com`).
//!
//! Signing: `ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath +
//! ["?" + queryString] + body))`, with `timestamp` in milliseconds. As Bitget verifies it (and
//! ccxt signs it), `queryString` is the decoded `key=value&...` form while the URL carries the
//! percent-encoded one; for the usual values (symbols, product types, numbers) the two are the
//! same. The key, timestamp and plaintext passphrase travel in `ACCESS-KEY`, `ACCESS-TIMESTAMP`
//! and `ACCESS-PASSPHRASE`.
//! <https://www.bitget.com/api-doc/common/signature>
//!
//! The bot's own `ACCESS-*` headers, ccxt's `X-CHANNEL-API-CODE` broker header and `PAPTRADING`
//! are dropped (upstream headers are built from scratch).

pub mod orders;
use super::{plain_header, secret_header};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::common::{
    client_error_code, concat_presets, denied_by, get_or_post_only, json_body, json_content_type,
    keyward_message, path_and_query, DenyRule,
};
use super::{unix_millis, Access, Credential, Exchange, Notional, Outbound, PresetEntry, Route};
use crate::request::Refusal;
use crate::request::{CanonRules, CanonicalRequest, Method, Params};

pub struct Bitget;

const HOST: &str = "api.bitget.com";
const KEY_HEADER: &str = "access-key";

/// Public market data, forwarded unsigned: path prefixes ...
const PUBLIC_PREFIXES: &[&str] = &[
    "/api/v2/public/",
    "/api/v2/spot/public/",
    "/api/v2/spot/market/",
    "/api/v2/mix/market/",
    "/api/v2/margin/market/",
    "/api/v3/market/",
];
/// ... and single paths; minus the private endpoints under those prefixes.
const PUBLIC: &[&str] = &["/api/v2/margin/currencies"];
const PRIVATE_UNDER_PUBLIC: &[&str] = &[
    "/api/v2/mix/market/query-position-lever",
    "/api/v2/mix/market/position-long-short",
];

/// Hard deny (path prefixes), on top of the shared keyword guard.
const DENIED: &[DenyRule] = &[
    DenyRule::prefix(
        "/api/v2/spot/wallet/withdrawal",
        "withdrawals are never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/spot/wallet/cancel-withdrawal",
        "withdrawals (and their cancellation) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/spot/wallet/transfer",
        "transfers between accounts are never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/spot/wallet/subaccount-transfer",
        "sub-account transfers are never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/spot/wallet/modify-deposit-account",
        "changing where deposits are credited is never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/spot/account/subaccount-assets",
        "sub-account operations are never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/user/",
        "sub-account and API-key management is never allowed",
    ),
    DenyRule::prefix(
        "/api/v2/broker/",
        "broker endpoints (sub-accounts, their API keys and withdrawals) are never allowed",
    ),
    DenyRule::prefix("/api/v2/p2p/", "P2P trading is never allowed"),
    DenyRule::prefix(
        "/api/v3/account/withdrawal",
        "withdrawals are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/account/cancel-withdrawal",
        "withdrawals (and their cancellation) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/account/withdraw-address",
        "withdrawal addresses are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/account/transfer",
        "transfers between accounts are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/account/sub-",
        "sub-account operations are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/user/",
        "sub-account and API-key management is never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/broker/",
        "broker endpoints (sub-accounts, their API keys and withdrawals) are never allowed",
    ),
    DenyRule::prefix(
        "/api/v3/p2p/",
        "P2P trading releases coins to other users and is never allowed",
    ),
];

/// `bitget:read`: spot and futures balances, orders, fills, positions, bills, fee rates.
const READ: &[PresetEntry] = &[
    (Method::Get, "/api/v2/spot/account/info"),
    (Method::Get, "/api/v2/spot/account/assets"),
    (Method::Get, "/api/v2/spot/account/bills"),
    (Method::Get, "/api/v2/spot/trade/orderInfo"),
    (Method::Get, "/api/v2/spot/trade/unfilled-orders"),
    (Method::Get, "/api/v2/spot/trade/history-orders"),
    (Method::Get, "/api/v2/spot/trade/fills"),
    (Method::Get, "/api/v2/spot/trade/current-plan-order"),
    (Method::Get, "/api/v2/spot/trade/history-plan-order"),
    (Method::Get, "/api/v2/common/trade-rate"),
    (Method::Get, "/api/v2/mix/account/account"),
    (Method::Get, "/api/v2/mix/account/accounts"),
    (Method::Get, "/api/v2/mix/account/bill"),
    (Method::Get, "/api/v2/mix/position/single-position"),
    (Method::Get, "/api/v2/mix/position/all-position"),
    (Method::Get, "/api/v2/mix/position/history-position"),
    (Method::Get, "/api/v2/mix/order/detail"),
    (Method::Get, "/api/v2/mix/order/orders-pending"),
    (Method::Get, "/api/v2/mix/order/orders-history"),
    (Method::Get, "/api/v2/mix/order/orders-plan-pending"),
    (Method::Get, "/api/v2/mix/order/orders-plan-history"),
    (Method::Get, "/api/v2/mix/order/fills"),
    (Method::Get, "/api/v2/mix/order/fill-history"),
    (Method::Get, "/api/v2/mix/market/query-position-lever"),
    // ccxt calls it in load_markets to tell a unified (v3) account from a classic one.
    (Method::Get, "/api/v3/account/settings"),
];

/// `bitget:spot-trade`: spot orders (single, batch, plan), cancellations, cancel-replace.
const SPOT_TRADE: &[PresetEntry] = &[
    (Method::Post, "/api/v2/spot/trade/place-order"),
    (Method::Post, "/api/v2/spot/trade/cancel-order"),
    (Method::Post, "/api/v2/spot/trade/cancel-replace-order"),
    (Method::Post, "/api/v2/spot/trade/batch-orders"),
    (Method::Post, "/api/v2/spot/trade/batch-cancel-order"),
    (Method::Post, "/api/v2/spot/trade/cancel-symbol-order"),
    (Method::Post, "/api/v2/spot/trade/place-plan-order"),
    (Method::Post, "/api/v2/spot/trade/modify-plan-order"),
    (Method::Post, "/api/v2/spot/trade/cancel-plan-order"),
];

/// `bitget:futures-trade`: USDT-, USDC- and coin-margined futures orders, TP/SL and plan
/// orders, closing positions, leverage, margin mode and position mode.
const FUTURES_TRADE: &[PresetEntry] = &[
    (Method::Post, "/api/v2/mix/order/place-order"),
    (Method::Post, "/api/v2/mix/order/cancel-order"),
    (Method::Post, "/api/v2/mix/order/modify-order"),
    (Method::Post, "/api/v2/mix/order/batch-place-order"),
    (Method::Post, "/api/v2/mix/order/batch-cancel-orders"),
    (Method::Post, "/api/v2/mix/order/cancel-all-orders"),
    (Method::Post, "/api/v2/mix/order/close-positions"),
    (Method::Post, "/api/v2/mix/order/click-backhand"),
    (Method::Post, "/api/v2/mix/order/place-tpsl-order"),
    (Method::Post, "/api/v2/mix/order/place-plan-order"),
    (Method::Post, "/api/v2/mix/order/modify-tpsl-order"),
    (Method::Post, "/api/v2/mix/order/modify-plan-order"),
    (Method::Post, "/api/v2/mix/order/cancel-plan-order"),
    (Method::Post, "/api/v2/mix/account/set-leverage"),
    (Method::Post, "/api/v2/mix/account/set-margin-mode"),
    (Method::Post, "/api/v2/mix/account/set-position-mode"),
];

/// `bitget:trade`: spot and futures trading together.
const TRADE: &[PresetEntry] =
    &concat_presets::<{ SPOT_TRADE.len() + FUTURES_TRADE.len() }>(SPOT_TRADE, FUTURES_TRADE);

impl Exchange for Bitget {
    fn id(&self) -> &'static str {
        "bitget"
    }

    fn key_headers(&self) -> &'static [&'static str] {
        &[KEY_HEADER]
    }

    fn needs_passphrase(&self) -> bool {
        true
    }

    fn notional(&self) -> Notional {
        // `size` is in base currency for limit orders; a spot market buy's `size` is a quote
        // amount (no `price`, so a notional limit refuses it).
        Notional {
            price: "price",
            quantity: "size",
            quote_quantity: None,
        }
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        get_or_post_only(req, "Bitget")
    }

    fn canon_rules(&self) -> CanonRules {
        CanonRules::JSON
    }

    fn route(&self, path: &str) -> Option<Route> {
        if !(path.starts_with("/api/v2/") || path.starts_with("/api/v3/")) {
            return None;
        }
        let public = (PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
            || PUBLIC.contains(&path))
            && !PRIVATE_UNDER_PUBLIC.contains(&path);
        let access = if public {
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
            "spot-trade" => Some(SPOT_TRADE),
            "futures-trade" => Some(FUTURES_TRADE),
            "trade" => Some(TRADE),
            _ => None,
        }
    }

    fn preset_names(&self) -> &'static [&'static str] {
        &["read", "spot-trade", "futures-trade", "trade"]
    }

    fn native_error(&self, reject: &Refusal) -> Vec<(&'static str, serde_json::Value)> {
        // Bitget's {"code","msg"} (code as a string); ccxt maps 40006 to AuthenticationError,
        // 40014 ("Incorrect permissions") to PermissionDenied, 429 to DDoSProtection and 40017
        // ("Parameter verification failed") to BadRequest.
        let Some(code) = client_error_code(reject, ["40006", "40014", "429", "40017"]) else {
            return Vec::new();
        };
        vec![
            ("code", serde_json::Value::from(code)),
            ("msg", keyward_message(reject)),
            ("data", serde_json::Value::Null),
        ]
    }

    fn permission_endpoint(&self) -> PresetEntry {
        // Its `authorities` field lists the key's permissions.
        (Method::Get, "/api/v2/spot/account/info")
    }

    fn sign(
        &self,
        req: &CanonicalRequest,
        access: Access,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Outbound, Refusal> {
        let path_and_query = path_and_query(&req.path, &req.query.encode());
        let body = json_body(&req.body, "Bitget takes JSON bodies, not forms")?;
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if !body.is_empty() {
            headers.push(json_content_type());
        }
        if access != Access::Public {
            let passphrase = credential.passphrase.as_ref().ok_or_else(|| {
                Refusal::bad_credential("this Bitget credential has no passphrase; re-seal it with the API key, secret and passphrase on three lines",
                )
            })?;
            let timestamp = unix_millis(now).to_string();
            let query = if req.query.is_empty() {
                String::new()
            } else {
                format!("?{}", raw_query(&req.query))
            };
            let signature = super::common::base64(&credential.key.hmac_sha256(&[
                timestamp.as_bytes(),
                req.method.as_str().as_bytes(),
                req.path.as_bytes(),
                query.as_bytes(),
                body.as_bytes(),
            ])?);
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            headers.push(secret_header("access-sign", signature.as_bytes())?);
            headers.push(plain_header("access-timestamp", &timestamp));
            headers.push(secret_header("access-passphrase", passphrase.expose())?);
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

/// The decoded `key=value&...` form Bitget computes its signature over.
fn raw_query(query: &Params) -> String {
    let mut out = String::new();
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::hard_deny;
    use crate::exchange::testing::{self, at, canon, header};
    use crate::request::RefusalKind;

    fn credential() -> Credential {
        testing::credential("bg_api_key", "bitget-secret", Some("bitget-passphrase"))
    }

    // Expected signatures were produced offline with ccxt 4.5.90's own signer:
    //   ex = ccxt.bitget({'apiKey': 'bg_api_key', 'secret': 'bitget-secret',
    //                     'password': 'bitget-passphrase'})
    //   ex.nonce = lambda: 1695806875837
    //   ex.sign('v2/spot/trade/place-order', ['private', 'spot'], 'POST', {...})
    //   ex.sign('v2/spot/trade/unfilled-orders', ['private', 'spot'], 'GET',
    //           {'symbol': 'BTCUSDT', 'tpslType': 'normal,tpsl'})
    #[test]
    fn post_signature_matches_ccxt() {
        let body = r#"{"symbol":"BTCUSDT","side":"buy","orderType":"limit","force":"gtc","size":"0.010","price":"30000.0","clientOid":"abc-123"}"#;
        let req = canon(
            &Bitget,
            Method::Post,
            "/api/v2/spot/trade/place-order",
            None,
            body,
        );
        let out = Bitget
            .sign(&req, Access::Signed, &credential(), at(1695806875837))
            .unwrap();
        assert_eq!(out.body, body.as_bytes(), "the body is sent byte for byte");
        assert_eq!(out.path_and_query, "/api/v2/spot/trade/place-order");
        assert_eq!(header(&out, "access-key"), Some("bg_api_key"));
        assert_eq!(header(&out, "access-passphrase"), Some("bitget-passphrase"));
        assert_eq!(header(&out, "access-timestamp"), Some("1695806875837"));
        assert_eq!(
            header(&out, "access-sign"),
            Some("6qR+FLq2rzhhOPKYSa+bRaHY3bg+zsdRWgAfA0Oiw6E=")
        );
        assert_eq!(header(&out, "content-type"), Some("application/json"));
        for (name, value) in &out.headers {
            if name.as_str().starts_with("access-") && name != "access-timestamp" {
                assert!(value.is_sensitive(), "{name}");
            }
        }
    }

    #[test]
    fn get_signature_matches_ccxt_over_the_decoded_query() {
        let req = canon(
            &Bitget,
            Method::Get,
            "/api/v2/spot/trade/unfilled-orders",
            Some("symbol=BTCUSDT&tpslType=normal%2Ctpsl"),
            "",
        );
        let out = Bitget
            .sign(&req, Access::Signed, &credential(), at(1695806875837))
            .unwrap();
        assert_eq!(
            out.path_and_query,
            "/api/v2/spot/trade/unfilled-orders?symbol=BTCUSDT&tpslType=normal%2Ctpsl"
        );
        assert!(out.body.is_empty());
        assert_eq!(
            header(&out, "access-sign"),
            Some("H+pXW2iAewj2ctA1EQVVp1RTWEvw2VtLGQE6NKC4duM=")
        );
        assert_eq!(header(&out, "content-type"), None);
    }

    #[test]
    fn public_market_data_is_unsigned() {
        for p in [
            "/api/v2/spot/public/symbols",
            "/api/v2/spot/public/coins",
            "/api/v2/spot/market/tickers",
            "/api/v2/mix/market/contracts",
            "/api/v2/margin/currencies",
            "/api/v2/public/time",
            "/api/v3/market/instruments",
        ] {
            assert_eq!(Bitget.route(p).unwrap().access, Access::Public, "{p}");
        }
        assert_eq!(
            Bitget
                .route("/api/v2/mix/market/query-position-lever")
                .unwrap()
                .access,
            Access::Signed
        );
        let req = canon(
            &Bitget,
            Method::Get,
            "/api/v2/mix/market/contracts",
            Some("productType=USDT-FUTURES"),
            "",
        );
        let out = Bitget
            .sign(&req, Access::Public, &credential(), at(1))
            .unwrap();
        assert!(out.headers.is_empty());
        assert!(Bitget.route("/api/spot/v1/wallet/withdrawal").is_none());
        assert!(Bitget.route("/api/v1/spot/trade/place-order").is_none());
    }

    #[test]
    fn hard_deny_list() {
        for (m, p) in [
            (Method::Post, "/api/v2/spot/wallet/withdrawal"),
            (Method::Post, "/api/v2/spot/wallet/cancel-withdrawal"),
            (Method::Get, "/api/v2/spot/wallet/withdrawal-records"),
            (Method::Post, "/api/v2/spot/wallet/transfer"),
            (Method::Post, "/api/v2/spot/wallet/subaccount-transfer"),
            (Method::Post, "/api/v2/spot/wallet/modify-deposit-account"),
            (Method::Get, "/api/v2/spot/account/subaccount-assets"),
            (Method::Get, "/api/v2/spot/account/transferRecords"),
            (Method::Get, "/api/v2/mix/account/sub-account-assets"),
            (Method::Post, "/api/v2/user/create-virtual-subaccount"),
            (
                Method::Post,
                "/api/v2/user/create-virtual-subaccount-apikey",
            ),
            (
                Method::Post,
                "/api/v2/user/modify-virtual-subaccount-apikey",
            ),
            (
                Method::Post,
                "/api/v2/user/batch-create-subaccount-and-apikey",
            ),
            (Method::Post, "/api/v2/broker/account/subaccount-withdrawal"),
            (
                Method::Post,
                "/api/v2/broker/manage/create-subaccount-apikey",
            ),
            (Method::Post, "/api/v2/p2p/orderList"),
            (Method::Post, "/api/v3/account/withdrawal"),
            (Method::Post, "/api/v3/account/cancel-withdrawal"),
            (Method::Get, "/api/v3/account/withdraw-address"),
            (Method::Post, "/api/v3/account/transfer"),
            (Method::Post, "/api/v3/account/sub-transfer"),
            (Method::Post, "/api/v3/account/sub-master-transfer"),
            (Method::Get, "/api/v3/account/sub-deposit-address"),
            (Method::Post, "/api/v3/user/create-sub-api"),
            (Method::Post, "/api/v3/user/freeze-sub"),
            (Method::Post, "/api/v3/broker/delete-sub-apikey"),
            (Method::Post, "/api/v3/p2p/order-release"),
            (Method::Post, "/api/v3/copy/futures/transfer"),
            (Method::Post, "/api/v2/User/create-virtual-subaccount"),
            (Method::Post, "/api/v2/spot/wallet/Modify-Deposit-Account"),
            (Method::Post, "/api/v3/P2P/order-release"),
        ] {
            assert!(hard_deny(&Bitget, m, p).is_some(), "{m} {p}");
        }
        for (m, p) in [
            (Method::Get, "/api/v2/spot/account/info"),
            (Method::Post, "/api/v2/spot/trade/place-order"),
            (Method::Post, "/api/v2/mix/order/place-order"),
        ] {
            assert!(hard_deny(&Bitget, m, p).is_none(), "{m} {p}");
        }
    }

    #[test]
    fn presets_never_overlap_hard_deny() {
        for name in Bitget.preset_names() {
            for (m, p) in Bitget.preset(name).unwrap() {
                assert!(hard_deny(&Bitget, *m, p).is_none(), "{name}: {m} {p}");
                assert_eq!(
                    Bitget.route(p).unwrap().access,
                    Access::Signed,
                    "{name}: {p}"
                );
            }
        }
        assert_eq!(TRADE.len(), SPOT_TRADE.len() + FUTURES_TRADE.len());
        assert!(READ.contains(&Bitget.permission_endpoint()));
    }

    #[test]
    fn native_error_shape_for_ccxt() {
        let denied = Bitget.native_error(&Refusal::forbidden("hard_deny", "no"));
        assert!(
            denied.contains(&("code", serde_json::Value::from("40014"))),
            "{denied:?}"
        );
        let unknown = Bitget.native_error(&Refusal::unauthenticated("who"));
        assert!(
            unknown.contains(&("code", serde_json::Value::from("40006"))),
            "{unknown:?}"
        );
        assert!(Bitget
            .native_error(&Refusal::new(RefusalKind::Upstream, "upstream", "x"))
            .is_empty());
    }
}
