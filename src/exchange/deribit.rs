//! Deribit REST (JSON-RPC over HTTP): `/api/v2/public/<method>` and `/api/v2/private/<method>`
//! on `www.deribit.com`.
//!
//! Signing (<https://docs.deribit.com/articles/authentication>): the `deri-hmac-sha256` scheme,
//! `Authorization: deri-hmac-sha256 id=<client id>,ts=<ms>,sig=<sig>,nonce=<nonce>` where `sig`
//! is the hex HMAC-SHA256, keyed with the client secret, of
//! `ts \n nonce \n METHOD \n URI \n body \n` (URI = the path with `?query` when there is one).
//! keyward owns `ts` and the nonce (strictly increasing per credential).
//!
//! Every private method is reachable by GET with query parameters *and* by POST with a JSON-RPC
//! body, so the hard deny goes by path (the method name), never by HTTP method. A JSON-RPC body
//! must be one object whose `method` (if present) names the same method as the path: a body
//! that asks for another method, or a batch (array), is refused before policy.
//!
//! The bot's client token: Deribit's own `id=` in a `deri-hmac-sha256` header (what ccxt sends
//! with the client token as its API key), or `Authorization: Bearer <client token>`.

pub mod orders;
mod ws;

use super::permission::{self, KeyPermissions, Reading};
use serde_json::Value;

use http::{header, HeaderMap, HeaderName, HeaderValue};

use super::common::{json_body, json_content_type, target};
use super::profile::shipped;
use super::{sensitive_header, unix_millis};
use super::{Access, Exchange, Outbound, Route, Signing};
use crate::request::Json;
use crate::request::{Body, CanonicalRequest, Method};
use crate::request::{Refusal, RefusalKind};

shipped!(Deribit, "deribit");

pub const HOST: &str = "www.deribit.com";
const PREFIX: &str = "/api/v2/";
const SCHEME: &[u8] = b"deri-hmac-sha256 ";

/// Private method name fragments that are refused: block trades and block RFQs settle trades
/// with a chosen counterparty at a chosen price, which can move value to another account.
const DENIED_PRIVATE_FRAGMENTS: &[(&str, &str)] = &[
    (
        "block_trade",
        "block trades (a chosen counterparty at a chosen price) are never allowed",
    ),
    (
        "block_rfq",
        "block RFQs (a chosen counterparty at a chosen price) are never allowed",
    ),
];

/// `(public?, method)` of a Deribit API path: `/api/v2/{public|private}/{method}`.
fn split(path: &str) -> Option<(bool, &str)> {
    let rest = path.strip_prefix(PREFIX)?;
    let (scope, method) = rest.split_once('/')?;
    if method.is_empty() || method.contains('/') {
        return None;
    }
    match scope {
        "public" => Some((true, method)),
        "private" => Some((false, method)),
        _ => None,
    }
}

/// Deribit's string to sign.
fn string_to_sign(ts: u64, nonce: &str, method: Method, uri: &str, body: &[u8]) -> Vec<u8> {
    let mut s = format!("{ts}\n{nonce}\n{method}\n{uri}\n").into_bytes();
    s.extend_from_slice(body);
    s.push(b'\n');
    s
}

/// The `id=` of a `deri-hmac-sha256` credential (`id=..,ts=..,sig=..,nonce=..`).
fn deribit_id(params: &[u8]) -> Result<&[u8], Refusal> {
    let mut id = None;
    for item in params.split(|b| *b == b',') {
        let item = item.trim_ascii();
        if let Some(v) = item.strip_prefix(b"id=") {
            if id.is_some() {
                return Err(Refusal::bad_request(
                    "the deri-hmac-sha256 Authorization header has more than one id=",
                ));
            }
            id = Some(v);
        }
    }
    match id {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Refusal::bad_request(
            "the deri-hmac-sha256 Authorization header has no id=; set the bot's API key (client id) to its keyward client token",
        )),
    }
}

impl Exchange for Deribit {
    fn read_permissions(&self, answer: &[u8], key_id: &str) -> Reading {
        permissions(answer, key_id)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let (public, _) = split(path)?;
        Some(Route {
            host: HOST,
            access: if public {
                Access::Public
            } else {
                Access::Signed
            },
        })
    }

    fn ws(&self) -> Option<&'static dyn super::ws::WsProtocol> {
        Some(&ws::DeribitWs)
    }

    fn client_token(&self, headers: &HeaderMap) -> Result<Option<Vec<u8>>, Refusal> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(Refusal::bad_request("more than one Authorization header"));
        }
        let v = value.as_bytes();
        if v.len() > SCHEME.len() && v[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
            return deribit_id(&v[SCHEME.len()..]).map(|t| Some(t.to_vec()));
        }
        match super::bearer(v) {
            Some(t) => Ok(Some(t.to_vec())),
            None => Err(Refusal::bad_request(
                "Authorization must be \"deri-hmac-sha256 id=<client token>,...\" or \"Bearer <client token>\"",
            )),
        }
    }

    fn check_request(&self, req: &CanonicalRequest) -> Result<(), Refusal> {
        let Body::Json(body) = &req.body else {
            return Ok(());
        };
        let Json::Object(_) = body else {
            return Err(Refusal::bad_request(
                "a Deribit request body must be one JSON-RPC object (no batches)",
            ));
        };
        let path_method = req.path.strip_prefix(PREFIX).unwrap_or(&req.path);
        match body.get("method") {
            None => Ok(()),
            Some(Json::String(m)) if m == path_method => Ok(()),
            Some(Json::String(m)) => Err(Refusal::bad_request(format!(
                "the JSON-RPC method {m:?} differs from the path's {path_method:?}; keyward checks the path, so send each method to its own path"
            ))),
            Some(_) => Err(Refusal::bad_request("the JSON-RPC method must be a string")),
        }
    }

    /// Private methods whose name holds a denied fragment (the profile lists whole names).
    fn deny_more(&self, _method: Method, path: &str) -> Option<&'static str> {
        // By path only: every Deribit method answers GET and POST alike. ASCII
        // case-insensitive: keyward does not know how Deribit matches letter case.
        let path = path.to_ascii_lowercase();
        match split(&path)? {
            (true, _) => None,
            (false, name) => DENIED_PRIVATE_FRAGMENTS
                .iter()
                .find(|(f, _)| name.contains(f))
                .map(|(_, r)| *r),
        }
    }

    fn sign(&self, req: &CanonicalRequest, with: Signing<'_>) -> Result<Outbound, Refusal> {
        let (access, credential, now) = (with.access, with.credential, with.now);
        if split(&req.path).is_none() {
            return Err(Refusal::not_found("not a Deribit API path"));
        }
        let path_and_query = target(req);
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        let body = json_body(
            &req.body,
            "Deribit takes JSON-RPC bodies or query parameters",
        )?;
        if !body.is_empty() {
            headers.push(json_content_type());
        }
        if access != Access::Public {
            let ts = unix_millis(now);
            let nonce = credential.nonce.next(now).map_err(|e| {
                tracing::error!(error = %e, "nonce state");
                Refusal::new(RefusalKind::Unavailable,
                    "nonce_unavailable",
                    "keyward cannot issue a nonce (state file not writable); the operator must fix it",
                )
            })?;
            let nonce = nonce.to_string();
            let payload = string_to_sign(ts, &nonce, req.method, &path_and_query, body.as_bytes());
            let sig = hex::encode(credential.key.hmac_sha256(&[&payload])?);
            let mut value = b"deri-hmac-sha256 id=".to_vec();
            value.extend_from_slice(credential.api_key.expose());
            value.extend_from_slice(format!(",ts={ts},sig={sig},nonce={nonce}").as_bytes());
            headers.push((header::AUTHORIZATION, sensitive_header(&value)?));
        }
        Ok(Outbound::new(req, HOST, path_and_query, headers, body))
    }
}

/// `private/list_api_keys`: the account's keys; for ours (`client_id`), `max_scope` names
/// `wallet:read_write` when the key can withdraw and transfer; `ip_whitelist` is empty when
/// unrestricted.
/// <https://docs.deribit.com/#private-list_api_keys>
fn permissions(answer: &[u8], key_id: &str) -> Reading {
    let Some(Value::Array(keys)) =
        permission::json(answer).and_then(|mut v| v.get_mut("result").map(Value::take))
    else {
        return Reading::Unreadable;
    };
    let Some(k) = keys
        .iter()
        .find(|k| k.get("client_id").and_then(Value::as_str) == Some(key_id))
    else {
        return Reading::Unreadable;
    };
    let moves = permission::words_contain(k.get("max_scope"), &["wallet:read_write"]);
    Reading::Read(KeyPermissions {
        withdraw: moves,
        transfer: moves,
        ip_restricted: permission::ip_list(k.get("ip_whitelist")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::hard_deny;
    use crate::exchange::testing::{self, assert_routes, at, canon};
    use crate::exchange::Credential;
    use crate::exchange::Signing;
    use bytes::Bytes;

    const ID: &str = "AMANDA_CLIENT_ID";
    const SECRET: &str = "AMANDA_CLIENT_SECRET_0123456789abcdef";

    fn credential() -> Credential {
        testing::credential(ID, SECRET, None)
    }

    fn auth(out: &Outbound) -> String {
        testing::secret_header_text(out, header::AUTHORIZATION.as_str()).to_owned()
    }

    // Expected values produced offline with ccxt 4.5.90's own deribit.sign(), apiKey
    // AMANDA_CLIENT_ID, secret AMANDA_CLIENT_SECRET_0123456789abcdef, milliseconds() patched to
    // 1700000000000 and nonce() to 1700000000000000 (what keyward's nonce is at that instant).
    /// `req` signed with the test credential at 1 700 000 000 000 ms (ccxt's vectors' time).
    fn signed_at_1_700_000_000_000(req: &CanonicalRequest) -> Outbound {
        Deribit
            .sign(
                req,
                Signing::new(Access::Signed, &credential(), at(1_700_000_000_000)),
            )
            .unwrap()
    }

    #[test]
    fn get_with_query_matches_ccxt() {
        let req = canon(
            &Deribit,
            Method::Get,
            "/api/v2/private/buy",
            Some(
                "instrument_name=BTC-PERPETUAL&amount=100&type=limit&price=30000.5&label=a%20b%2Fc",
            ),
            "",
        );
        let out = signed_at_1_700_000_000_000(&req);
        assert_eq!(
            out.path_and_query,
            "/api/v2/private/buy?instrument_name=BTC-PERPETUAL&amount=100&type=limit&price=30000.5&label=a%20b%2Fc"
        );
        assert_eq!(
            auth(&out),
            "deri-hmac-sha256 id=AMANDA_CLIENT_ID,ts=1700000000000,sig=75ee7d193763495c5e14b5df800774c3461866bf3ff36cb98b3c28eb7f9faf85,nonce=1700000000000000"
        );
    }

    #[test]
    fn get_without_query_matches_ccxt() {
        let req = canon(
            &Deribit,
            Method::Get,
            "/api/v2/private/get_account_summary",
            None,
            "",
        );
        let out = signed_at_1_700_000_000_000(&req);
        assert_eq!(
            auth(&out),
            "deri-hmac-sha256 id=AMANDA_CLIENT_ID,ts=1700000000000,sig=f6e3e230ae63c6a055a0d71b221578b0846fe368830aac4fa7308268f74c479d,nonce=1700000000000000"
        );
    }

    // ccxt never POSTs to Deribit; this value is Python's hmac over Deribit's documented string
    // ("1700000000000\n1700000000000000\nPOST\n/api/v2/private/sell\n" + body + "\n").
    #[test]
    fn post_json_rpc_body_keeps_numbers() {
        let body = r#"{"jsonrpc":"2.0","id":7,"method":"private/sell","params":{"instrument_name":"ETH-PERPETUAL","amount":10,"price":2000.0}}"#;
        let req = canon(&Deribit, Method::Post, "/api/v2/private/sell", None, body);
        Deribit.check_request(&req).unwrap();
        let out = signed_at_1_700_000_000_000(&req);
        assert_eq!(out.body, Bytes::from(body));
        assert!(auth(&out)
            .contains(",sig=53948c99369a49c06d68d25df6738b2b19bf67cdda0201c2d329261360792ebb,"));
    }

    #[test]
    fn nonces_increase() {
        let c = credential();
        let req = canon(
            &Deribit,
            Method::Get,
            "/api/v2/private/get_positions",
            None,
            "",
        );
        let a = Deribit
            .sign(
                &req,
                Signing::new(Access::Signed, &c, at(1_700_000_000_000)),
            )
            .unwrap();
        let b = Deribit
            .sign(
                &req,
                Signing::new(Access::Signed, &c, at(1_700_000_000_000)),
            )
            .unwrap();
        assert!(auth(&a).ends_with("nonce=1700000000000000"));
        assert!(auth(&b).ends_with("nonce=1700000000000001"));
    }

    #[test]
    fn json_rpc_method_must_match_the_path() {
        let bad = [
            r#"{"jsonrpc":"2.0","method":"private/withdraw","params":{}}"#,
            r#"{"method":"private/buy "}"#,
            r#"{"method":"public/get_time"}"#,
            r#"{"method":7}"#,
            r#"[{"method":"private/buy"}]"#,
        ];
        for body in bad {
            let req = canon(&Deribit, Method::Post, "/api/v2/private/buy", None, body);
            assert!(Deribit.check_request(&req).is_err(), "{body}");
        }
        let ok = canon(
            &Deribit,
            Method::Post,
            "/api/v2/private/buy",
            None,
            r#"{"params":{"instrument_name":"BTC-PERPETUAL"}}"#,
        );
        assert!(Deribit.check_request(&ok).is_ok());
    }

    #[test]
    fn deny_by_path_for_every_method() {
        for name in [
            "withdraw",
            "cancel_withdrawal",
            "submit_transfer_to_user",
            "submit_transfer_to_subaccount",
            "submit_transfer_between_subaccounts",
            "cancel_transfer_by_id",
            "move_positions",
            "add_to_address_book",
            "create_api_key",
            "list_api_keys",
            "create_subaccount",
            "execute_block_trade",
            "approve_block_trade",
            "create_block_rfq",
            "enable_affiliate_program",
            "some_new_withdraw_thing",
            "Move_Positions",
            "EXECUTE_BLOCK_TRADE",
            "Set_Email_Language",
        ] {
            let path = format!("/api/v2/private/{name}");
            for m in [Method::Get, Method::Post, Method::Put, Method::Delete] {
                assert!(hard_deny(&Deribit, m, &path).is_some(), "{m} {path}");
            }
        }
        for m in [Method::Get, Method::Post] {
            assert!(hard_deny(&Deribit, m, "/api/v2/public/auth").is_some());
            assert!(hard_deny(&Deribit, m, "/api/v2/public/fork_token").is_some());
            assert!(hard_deny(&Deribit, m, "/api/v2/private/buy").is_none());
            assert!(hard_deny(&Deribit, m, "/api/v2/public/get_instruments").is_none());
        }
    }

    #[test]
    fn client_token_places() {
        let tok = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            Deribit.client_token(&h)
        };
        assert_eq!(
            tok("deri-hmac-sha256 id=kwt_abc,ts=1,sig=00,nonce=x").unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        assert_eq!(
            tok("Deri-HMAC-SHA256 ts=1, id=kwt_abc ,sig=00").unwrap(),
            Some(b"kwt_abc".to_vec())
        );
        assert_eq!(tok("Bearer kwt_abc").unwrap(), Some(b"kwt_abc".to_vec()));
        assert!(tok("deri-hmac-sha256 id=a,id=b").is_err());
        assert!(tok("deri-hmac-sha256 ts=1,sig=2").is_err());
        assert!(tok("Basic abc").is_err());
        assert_eq!(Deribit.client_token(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn routes() {
        assert_routes(
            &Deribit,
            &["/api/v2/public/get_instruments"],
            &["/api/v2/private/buy"],
            &[
                "/api/v2/private",
                "/api/v2/private/buy/x",
                "/api/v1/private/buy",
                "/api/v2/other/buy",
            ],
        );
    }
}
