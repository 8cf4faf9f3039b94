//! Gate API v4 (`https://api.gateio.ws/api/v4/...`): spot, margin, perpetual futures
//! (`/futures/{settle}`), delivery futures (`/delivery/{settle}`), options, wallet, earn.
//!
//! Signing: `SIGN = hex(HMAC-SHA512(secret, METHOD + "\n" + "/api/v4/path" + "\n" + query +
//! "\n" + hex(SHA512(body)) + "\n" + timestamp_seconds))`, with `KEY` and `Timestamp` headers.
//! <https://www.gate.com/docs/developers/apiv4/#authentication>
//!
//! Gate's documentation and its SDKs disagree on whether the signed query string is the one
//! sent (percent-encoded) or its decoded form. keyward sidesteps the question: it sends query
//! values with only unreserved characters, `,` and `:` (all identical encoded or decoded) and
//! refuses query values that would need percent-encoding, so the two forms are the same bytes.

#[cfg(test)]
mod leverage;
pub mod orders;
mod ws;
use super::permission::{self, Fact, KeyPermissions, Reading};
use serde_json::Value;

use super::{plain_header, secret_header};

use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha512};

use super::common::{json_body, json_content_type, path_and_query};
use super::native::NativeMembers;
use super::profile::shipped;
use super::unix_secs;
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::{CanonicalRequest, Method, Params};
use crate::request::{Refusal, RefusalKind};

shipped!(Gate, "gate");

const HOST: &str = "api.gateio.ws";
const KEY_HEADER: &str = "key";
const SIGN_HEADER: &str = "sign";
const TS_HEADER: &str = "timestamp";

/// Query characters that read the same encoded and decoded.
fn plain_query_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',' | b':')
}

/// The query string keyward sends and signs (identical bytes), or why it cannot be written so.
fn query_string(query: &Params) -> Result<String, Refusal> {
    let mut out = String::new();
    for (i, (k, v)) in query.iter().enumerate() {
        if let Some(c) = k.bytes().chain(v.bytes()).find(|b| !plain_query_byte(*b)) {
            return Err(Refusal::bad_params(format!(
                "query parameter '{k}' contains {:?}: Gate's signature over percent-encoded query strings is ambiguous, so keyward accepts only letters, digits and - _ . ~ , : there",
                char::from(c)
            )));
        }
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(out)
}

impl Exchange for Gate {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::GateWs)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/api/v4/")?;
        (!rest.is_empty()).then(|| PROFILE.route(HOST, path))
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        if PROFILE.public.contains(&req.path)
            && req.method != Method::Get
            && !(req.method == Method::Post && req.path.ends_with("/funding_rates"))
        {
            return Err(Refusal::method_not_allowed(
                &[Method::Get],
                format!("{} is public market data: use GET", req.path),
            ));
        }
        query_string(&req.query).map(|_| ())
    }

    fn native_error(&self, reject: &Refusal) -> NativeMembers {
        // Gate's `{"label","message"}` beside keyward's `error`, so that client libraries raise
        // their usual exception (ccxt: FORBIDDEN → PermissionDenied, not ExchangeNotAvailable).
        let label = match reject.kind {
            RefusalKind::Unauthenticated => "INVALID_KEY",
            RefusalKind::Forbidden => "FORBIDDEN",
            RefusalKind::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            RefusalKind::RateLimited => "TOO_MANY_REQUESTS",
            k if !k.is_client_error() => "SERVER_ERROR",
            _ => "BAD_REQUEST",
        };
        vec![
            ("label", label.into()),
            (
                "message",
                format!("keyward {}: {}", reject.code, reject.message).into(),
            ),
        ]
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        let query = query_string(&req.query)?;
        let path_and_query = path_and_query(&req.path, &query);
        let body = json_body(&req.body, "Gate takes JSON bodies")?;
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if !body.is_empty() || access == Access::Signed {
            headers.push(json_content_type());
        }
        if access == Access::Signed {
            let ts = unix_secs(now).to_string();
            let payload = format!(
                "{}\n{}\n{}\n{}\n{}",
                req.method.as_str(),
                req.path,
                query,
                hex::encode(Sha512::digest(body.as_bytes())),
                ts
            );
            let signature = hex::encode(credential.key.hmac_sha512(&[payload.as_bytes()])?);
            headers.push(secret_header(KEY_HEADER, credential.api_key.expose())?);
            headers.push(plain_header(TS_HEADER, &ts));
            headers.push(secret_header(SIGN_HEADER, signature.as_bytes())?);
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `GET /api/v4/account/main_keys`: the main account's keys; for ours (`key`), `perms` lists
/// `{name, read_only}`: `withdraw` not read-only can withdraw, `wallet` not read-only can
/// transfer; `ip_whitelist` is empty when unrestricted.
/// <https://www.gate.io/docs/developers/apiv4/#query-all-main-account-key-information>
fn permissions(answer: &[u8], key_id: &str) -> Reading {
    let keys = match permission::json(answer) {
        Some(Value::Array(keys)) => keys,
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Reading::Unreadable,
    };
    let Some(k) = keys
        .iter()
        .find(|k| k.get("key").and_then(Value::as_str) == Some(key_id))
    else {
        return Reading::Unreadable;
    };
    let Some(Value::Array(perms)) = k.get("perms") else {
        return Reading::Unreadable;
    };
    let writes = |name: &str| {
        let mut fact = Fact::Known(false);
        for p in perms {
            if p.get("name").and_then(Value::as_str) == Some(name) {
                fact = fact.or(match p.get("read_only") {
                    Some(Value::Bool(ro)) => Fact::Known(!ro),
                    _ => Fact::Unknown,
                });
            }
        }
        fact
    };
    Reading::Read(KeyPermissions {
        withdraw: writes("withdraw"),
        transfer: writes("wallet"),
        ip_restricted: permission::ip_list(k.get("ip_whitelist")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::profile::{delete, get, patch, post, put};
    use crate::exchange::testing::{
        self, assert_hard_deny, assert_routes, at_secs, canon, check_signed, Vector,
    };
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use crate::request::canonicalise;

    fn credential(secret: &str) -> Credential {
        testing::credential("real-gate-key", secret, None)
    }

    /// Expected signatures produced OFFLINE with ccxt 4.5.90's own `gate.sign()`:
    /// `g = ccxt.gate({'apiKey': 'k', 'secret': 'gate-test-secret'})`,
    /// `g.nonce = lambda: 1700000000123` (timestamp 1700000000), then
    /// `g.sign('orders', ['private', 'spot'], 'POST', {...})` and
    /// `g.sign('orders', ['private', 'spot'], 'GET', {...})` with the parameters below.
    #[test]
    fn matches_ccxt() {
        let auth = |sign| {
            [
                ("content-type", "application/json"),
                ("key", "real-gate-key"),
                ("timestamp", "1700000000"),
                ("sign", sign),
            ]
        };
        let body = r#"{"currency_pair":"BTC_USDT","type":"limit","side":"buy","amount":"0.01","price":"30000","text":"t-abc"}"#;
        let post = Vector {
            method: Method::Post,
            path: "/api/v4/spot/orders",
            query: None,
            body,
            at: at_secs(1_700_000_000),
            target: "/api/v4/spot/orders",
            headers: &auth(CCXT_POST),
            sensitive: &[KEY_HEADER, SIGN_HEADER],
        };
        check_signed(&Gate, &credential("gate-test-secret"), &post);
        let get = Vector {
            method: Method::Get,
            query: Some("currency_pair=BTC_USDT&status=open"),
            body: "",
            target: "/api/v4/spot/orders?currency_pair=BTC_USDT&status=open",
            headers: &auth(CCXT_GET),
            ..post
        };
        check_signed(&Gate, &credential("gate-test-secret"), &get);
    }

    /// ccxt 4.5.90's `edit_order` for a spot order, produced OFFLINE as in [`matches_ccxt`]:
    /// `g.sign('orders/{order_id}', ['private', 'spot'], 'PATCH', {'order_id': '12345',
    /// 'currency_pair': 'BTC_USDT', 'account': 'spot', 'amount': '0.02', 'price': '31000'})`.
    /// ccxt sends every amend parameter in the query string and again in the JSON body.
    #[test]
    fn amend_matches_ccxt() {
        let cred = credential("gate-test-secret");
        let query = "currency_pair=BTC_USDT&account=spot&amount=0.02&price=31000";
        let body =
            r#"{"currency_pair":"BTC_USDT","account":"spot","amount":"0.02","price":"31000"}"#;
        let path = "/api/v4/spot/orders/12345";
        assert!(Gate
            .check_request(&canon(&Gate, Method::Patch, path, Some(query), body))
            .is_ok());
        let amend = Vector {
            method: Method::Patch,
            path,
            query: Some(query),
            body,
            at: at_secs(1_700_000_000),
            target: &format!("{path}?{query}"),
            headers: &[
                ("content-type", "application/json"),
                ("key", "real-gate-key"),
                ("timestamp", "1700000000"),
                ("sign", CCXT_PATCH),
            ],
            sensitive: &[KEY_HEADER, SIGN_HEADER],
        };
        check_signed(&Gate, &cred, &amend);
        // Gate's documented shape: the pair in the query, the new amount and price in the body.
        let req = canon(
            &Gate,
            Method::Patch,
            "/api/v4/spot/orders/12345",
            Some("currency_pair=BTC_USDT"),
            r#"{"amount":"0.02"}"#,
        );
        assert_eq!(req.param("amount"), Some("0.02"));
        // A copy that differs in value or in letter case is refused; POST never mirrors.
        for (m, q, b) in [
            (Method::Patch, "amount=0.02", r#"{"amount":"0.5"}"#),
            (Method::Patch, "amount=0.02", r#"{"Amount":"0.02"}"#),
            (Method::Patch, "amount=0.02", r#"{"amount":["0.02"]}"#),
            (Method::Post, "amount=0.02", r#"{"amount":"0.02"}"#),
            (
                Method::Post,
                "currency_pair=BTC_USDT",
                r#"{"amount":"0.02"}"#,
            ),
        ] {
            let r = canonicalise(
                m,
                "/api/v4/spot/orders/12345",
                Some(q),
                Some("application/json"),
                b.as_bytes(),
                &Gate.canon_rules(),
            );
            assert!(r.is_err(), "{m} ?{q} {b}");
        }
    }

    #[test]
    fn amend_limits_see_the_mirrored_parameter_once() {
        use crate::policy::{Allowlist, Rule};
        use rust_decimal::Decimal;
        let rule = Rule {
            id: "allow[0]".into(),
            method: Method::Patch,
            path: "/api/v4/spot/orders/{order_id}".into(),
            params: vec![("currency_pair".into(), vec!["BTC_USDT".into()])],
            max: vec![("amount".into(), Decimal::new(5, 2))],
            max_leverage: None,
            notional: Gate.notional(),
        };
        let list = Allowlist { rules: vec![rule] };
        let decide = |q: &str, b: &str| {
            let req = canon(&Gate, Method::Patch, "/api/v4/spot/orders/1", Some(q), b);
            crate::policy::decide(&Gate, Some(&list), false, Access::Signed, &req)
        };
        let mirrored = r#"{"currency_pair":"BTC_USDT","amount":"0.02"}"#;
        assert!(decide("currency_pair=BTC_USDT&amount=0.02", mirrored).is_allowed());
        let over = r#"{"currency_pair":"BTC_USDT","amount":"0.06"}"#;
        assert!(!decide("currency_pair=BTC_USDT&amount=0.06", over).is_allowed());
        // A second order hidden in the body is still seen.
        let hidden = r#"{"amount":"0.02","orders":[{"amount":"9"}]}"#;
        assert!(!decide("currency_pair=BTC_USDT&amount=0.02", hidden).is_allowed());
    }

    const CCXT_PATCH: &str = "831ff4dacf6f704b0ae95e6e85e028dfc32fefde65a0ca72497f70acccfd2f0eae4cbe66d9f18e1bf9915c7f3470f3cadf45a0d32057c636943243501d6ca4de";
    const CCXT_POST: &str = "b30f81603ef76212d6827f1c5d96a4deab86b94fcba9a4c780199528f9514be924c7f8fbb9ac9345fc6ac124434b6ce4ee069f7346784cc1ecce409c2a1482f8";
    const CCXT_GET: &str = "ca0d3c5399136d56c6d1c9e837d0b3d6e1e56a2127b858f192079d195dda8c38742dc29cdfd9d8aac9456540c734c96e79d597a78ce8feb79ce354042a07924f";

    #[test]
    fn secrets_are_sensitive() {
        let req = canon(&Gate, Method::Get, "/api/v4/spot/accounts", None, "");
        let out = Gate
            .sign(
                &req,
                Signing::new(Access::Signed, &credential("s"), at_secs(1)),
            )
            .unwrap();
        for (k, v) in &out.headers {
            if k == KEY_HEADER || k == SIGN_HEADER {
                assert!(v.is_sensitive());
            }
        }
    }

    #[test]
    fn ambiguous_query_values_refused() {
        let req = canon(
            &Gate,
            Method::Get,
            "/api/v4/spot/orders",
            Some("text=a%20b"),
            "",
        );
        assert!(Gate.check_request(&req).is_err());
        let req = canon(
            &Gate,
            Method::Get,
            "/api/v4/spot/tickers",
            Some("currency_pair=BTC_USDT,ETH_USDT"),
            "",
        );
        assert!(Gate.check_request(&req).is_ok());
    }

    #[test]
    fn routes() {
        assert_routes(
            &Gate,
            &[
                "/api/v4/futures/usdt/contracts",
                "/api/v4/spot/currency_pairs/BTC_USDT",
            ],
            &["/api/v4/futures/usdt/orders"],
            &["/api/v3/spot/orders", "/spot/orders"],
        );
        let post_public = canon(&Gate, Method::Post, "/api/v4/spot/tickers", None, "{}");
        assert!(Gate.check_request(&post_public).is_err());
        let patch_public = canon(&Gate, Method::Patch, "/api/v4/spot/tickers", None, "{}");
        assert!(Gate.check_request(&patch_public).is_err());
    }

    #[test]
    fn hard_deny_and_presets() {
        assert_hard_deny(
            &Gate,
            &[
                post("/api/v4/withdrawals"),
                delete("/api/v4/withdrawals/w123"),
                post("/api/v4/withdrawals/push"),
                post("/api/v4/push"),
                post("/api/v4/wallet/transfers"),
                get("/api/v4/wallet/transfers"),
                post("/api/v4/wallet/sub_account_transfers"),
                post("/api/v4/wallet/sub_account_to_sub_account"),
                post("/api/v4/sub_accounts"),
                post("/api/v4/sub_accounts/1/keys"),
                put("/api/v4/sub_accounts/1/keys/k"),
                post("/api/v4/otc/bank/create"),
                post("/api/v4/otc/order/create"),
                get("/api/v4/wallet/withdrawals"),
                get("/api/v4/unified/transferable"),
                post("/API/V4/OTC/order/create"),
                post("/api/v4/Push"),
            ],
            &[],
        );
        for preset in ["spot-trade", "trade"] {
            assert!(Gate
                .preset(preset)
                .unwrap()
                .contains(&patch("/api/v4/spot/orders/{order_id}")));
        }
    }
}
