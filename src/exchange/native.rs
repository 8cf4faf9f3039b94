//! Exchanges' own error shapes for keyward's refusals, so that client libraries classify a
//! refusal as they would the exchange's (ccxt raises a non-retryable permission or
//! authentication error instead of a retryable "exchange not available").
//!
//! Most exchanges answer `{"<code>": <code>, "<message>": "<text>"}` with a code per kind of
//! failure: that shape is data, a [`CodedError`] in the exchange's profile. Exchanges whose
//! error has another shape (Gate's label, Kraken's list, BitMEX's object) write it in their
//! own [`Exchange::native_error`](super::Exchange::native_error).

use crate::request::{Refusal, RefusalKind};

/// Extra top-level members of keyward's JSON error body.
pub type NativeMembers = Vec<(&'static str, serde_json::Value)>;

/// A `{code, message}` error body: the member names, the exchange's codes for the refusals
/// that are the client's fault, and a `data` member where the exchange's shape always has one.
/// Refusals that are keyward's or the exchange's fault (5xx) get no native members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodedError {
    code: &'static str,
    message: &'static str,
    codes: Codes,
    data: Option<Data>,
    /// Whether the exchange answers its own refusals with HTTP 200 and the code in the body
    /// (Bybit), which is what its clients read: pybit raises its canned "IP rate limit" text
    /// for any other status and never shows the body.
    in_200: bool,
}

/// The codes for an unknown client (401), a refusal (403), a rate limit (429) and any other
/// client error (4xx), in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codes {
    Numbers([i64; 4]),
    Strings([&'static str; 4]),
}

/// The value of a `data` member that the exchange's error shape always carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    Null,
    EmptyList,
}

impl CodedError {
    /// Numeric codes for 401, 403, 429 and other 4xx refusals.
    pub const fn numbers(code: &'static str, message: &'static str, codes: [i64; 4]) -> Self {
        CodedError {
            code,
            message,
            codes: Codes::Numbers(codes),
            data: None,
            in_200: false,
        }
    }

    /// Codes written as strings, for 401, 403, 429 and other 4xx refusals.
    pub const fn strings(
        code: &'static str,
        message: &'static str,
        codes: [&'static str; 4],
    ) -> Self {
        CodedError {
            code,
            message,
            codes: Codes::Strings(codes),
            data: None,
            in_200: false,
        }
    }

    /// The same shape with a `data` member.
    pub const fn with_data(self, data: Data) -> Self {
        CodedError {
            data: Some(data),
            ..self
        }
    }

    /// The same shape, answered with HTTP 200 as the exchange answers its own refusals.
    pub const fn in_200(self) -> Self {
        CodedError {
            in_200: true,
            ..self
        }
    }

    /// Whether `reject` is answered with HTTP 200 (a client error, in an exchange whose own
    /// refusals are); keyward's log and audit keep its own status.
    pub fn answers_200(&self, reject: &Refusal) -> bool {
        self.in_200 && client_error_index(reject.kind).is_some()
    }

    /// The members for `reject`: its code, `keyward: <message>`, and `data`.
    pub fn members(&self, reject: &Refusal) -> NativeMembers {
        let Some(i) = client_error_index(reject.kind) else {
            return Vec::new();
        };
        let code = match self.codes {
            Codes::Numbers(c) => serde_json::Value::from(c[i]),
            Codes::Strings(c) => serde_json::Value::from(c[i]),
        };
        let mut members = vec![
            (self.code, code),
            (
                self.message,
                serde_json::Value::from(format!("keyward: {}", reject.message)),
            ),
        ];
        match self.data {
            Some(Data::Null) => members.push(("data", serde_json::Value::Null)),
            Some(Data::EmptyList) => members.push(("data", serde_json::Value::Array(Vec::new()))),
            None => {}
        }
        members
    }
}

/// Which of the four client-error codes a refusal takes; `None` when it is not the client's.
fn client_error_index(kind: RefusalKind) -> Option<usize> {
    match kind {
        RefusalKind::Unauthenticated => Some(0),
        RefusalKind::Forbidden => Some(1),
        RefusalKind::RateLimited => Some(2),
        k if k.is_client_error() => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn body(shape: CodedError, reject: &Refusal) -> Value {
        serde_json::from_str(&reject.to_json_with(shape.members(reject))).unwrap()
    }

    #[test]
    fn codes_by_kind_with_keywards_own_member_first() {
        let shape = CodedError::numbers("code", "msg", [1, 2, 3, 4]);
        let cases = [
            (Refusal::unauthenticated("who"), 1),
            (Refusal::forbidden("hard_deny", "no"), 2),
            (
                Refusal::new(RefusalKind::RateLimited, "rate_limited", "slow"),
                3,
            ),
            (Refusal::bad_request("what"), 4),
            (Refusal::not_found("where"), 4),
        ];
        for (reject, code) in cases {
            let v = body(shape, &reject);
            assert_eq!(v["code"], code, "{reject}");
            assert_eq!(v["msg"], format!("keyward: {}", reject.message));
            assert_eq!(v["error"]["code"], reject.code);
            assert!(v.get("data").is_none());
        }
        for kind in [
            RefusalKind::Internal,
            RefusalKind::Upstream,
            RefusalKind::Unavailable,
        ] {
            assert!(shape.members(&Refusal::new(kind, "x", "y")).is_empty());
        }
    }

    #[test]
    fn string_codes_and_data_members() {
        let reject = Refusal::forbidden("hard_deny", "no");
        let okx =
            CodedError::strings("code", "msg", ["a", "b", "c", "d"]).with_data(Data::EmptyList);
        assert_eq!(
            body(okx, &reject),
            json!({"error": {"code": "hard_deny", "message": "no"}, "code": "b", "msg": "keyward: no", "data": []})
        );
        let bitget = CodedError::strings("code", "msg", ["a", "b", "c", "d"]).with_data(Data::Null);
        assert_eq!(body(bitget, &reject)["data"], Value::Null);
        assert!(body(bitget, &reject).get("data").is_some());
        let bybit = CodedError::numbers("retCode", "retMsg", [1, 2, 3, 4]);
        assert_eq!(body(bybit, &reject)["retCode"], 2);
        assert_eq!(body(bybit, &reject)["retMsg"], "keyward: no");
    }
}
