//! Pieces every exchange profile uses in the same way: the explicit hard-deny table and its
//! matcher, preset concatenation, the upstream target and body, and small signing helpers.
//! What differs between exchanges (what is signed, how, and where it goes) stays in each
//! exchange's own file.

use base64::Engine;
use http::{header, HeaderName, HeaderValue};

use super::{path_matches_with, PresetEntry};
use crate::key::KeyError;
use crate::request::{Body, CanonicalRequest, Method};
use crate::request::{Refusal, RefusalKind};

/// How a [`DenyRule`]'s path is compared with the request's path. Always ASCII
/// case-insensitive: keyward does not know how the exchange matches letter case, so a case
/// variant of a denied endpoint is denied too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyMatch {
    /// The request path starts with the rule's text (`/wapi/`, `/api/v3/account/sub-`).
    Prefix,
    /// The rule's path itself or any path below it: `/api/v1/user` matches `/api/v1/user` and
    /// `/api/v1/user/x`, not `/api/v1/userEvent`.
    Tree,
    /// Only paths strictly below the rule's path (`/a/b/x`, not `/a/b` itself).
    Below,
    /// Exactly the rule's path pattern, whose `{x}` segments match any one segment (see
    /// [`super::path_matches`]).
    Path,
}

/// One entry of an exchange's explicit hard-deny list (the keyword guard in
/// [`super::hard_deny`] runs in addition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenyRule {
    /// The HTTP methods the rule denies; `None` = every method.
    pub methods: Option<&'static [Method]>,
    pub path: &'static str,
    pub matching: DenyMatch,
    pub reason: &'static str,
}

impl DenyRule {
    const fn new(matching: DenyMatch, path: &'static str, reason: &'static str) -> Self {
        DenyRule {
            methods: None,
            path,
            matching,
            reason,
        }
    }

    /// Every path starting with `prefix`, any method.
    pub const fn prefix(prefix: &'static str, reason: &'static str) -> Self {
        Self::new(DenyMatch::Prefix, prefix, reason)
    }

    /// `path` and everything below it, any method.
    pub const fn tree(path: &'static str, reason: &'static str) -> Self {
        Self::new(DenyMatch::Tree, path, reason)
    }

    /// Everything strictly below `path`, any method.
    pub const fn below(path: &'static str, reason: &'static str) -> Self {
        Self::new(DenyMatch::Below, path, reason)
    }

    /// Exactly the path pattern `path`, any method.
    pub const fn path(path: &'static str, reason: &'static str) -> Self {
        Self::new(DenyMatch::Path, path, reason)
    }

    /// The same rule for these methods only.
    pub const fn only(self, methods: &'static [Method]) -> Self {
        DenyRule {
            methods: Some(methods),
            ..self
        }
    }

    pub fn matches(&self, method: Method, path: &str) -> bool {
        if self.methods.is_some_and(|ms| !ms.contains(&method)) {
            return false;
        }
        let boundary = || path.as_bytes().get(self.path.len()).copied();
        match self.matching {
            DenyMatch::Prefix => starts_with_ignore_case(path, self.path),
            DenyMatch::Tree => {
                starts_with_ignore_case(path, self.path) && matches!(boundary(), None | Some(b'/'))
            }
            DenyMatch::Below => {
                starts_with_ignore_case(path, self.path) && boundary() == Some(b'/')
            }
            DenyMatch::Path => path_matches_with(self.path, path, |p, g| p.eq_ignore_ascii_case(g)),
        }
    }
}

/// The reason of the first rule that denies `method path`, if any.
pub fn denied_by(rules: &[DenyRule], method: Method, path: &str) -> Option<&'static str> {
    rules
        .iter()
        .find(|rule| rule.matches(method, path))
        .map(|rule| rule.reason)
}

/// ASCII case-insensitive prefix test.
pub fn starts_with_ignore_case(path: &str, prefix: &str) -> bool {
    path.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Two presets as one (e.g. `trade` = `spot-trade` then `futures-trade`), in a `const`:
/// `const TRADE: &[PresetEntry] = &concat_presets::<{ A.len() + B.len() }>(A, B);`
pub const fn concat_presets<const N: usize>(
    first: &[PresetEntry],
    second: &[PresetEntry],
) -> [PresetEntry; N] {
    assert!(first.len() + second.len() == N);
    let mut all = [(Method::Get, ""); N];
    let mut i = 0;
    while i < first.len() {
        all[i] = first[i];
        i += 1;
    }
    while i < N {
        all[i] = second[i - first.len()];
        i += 1;
    }
    all
}

/// Standard base64 (with padding), as most exchanges print signatures.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The origin-form target: `path`, then `?query` when there is a query string.
pub fn path_and_query(path: &str, query: &str) -> String {
    let mut target = path.to_owned();
    if !query.is_empty() {
        target.push('?');
        target.push_str(query);
    }
    target
}

/// The body of a JSON-only exchange as keyward sends (and signs) it: the compact
/// re-serialisation, or nothing. A form body is refused (415) with `refusal`.
pub fn json_body(body: &Body, refusal: &str) -> Result<String, Refusal> {
    match body {
        Body::Empty => Ok(String::new()),
        Body::Json(j) => Ok(j.to_compact()),
        Body::Form(_) => Err(Refusal::unsupported_media(refusal)),
    }
}

/// `Content-Type: application/json`.
pub fn json_content_type() -> (HeaderName, HeaderValue) {
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )
}

/// `Content-Type: application/x-www-form-urlencoded`.
pub fn form_content_type() -> (HeaderName, HeaderValue) {
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    )
}

/// Refuses (400) a method other than GET and POST, for APIs that use only those two.
pub fn get_or_post_only(req: &CanonicalRequest, api: &str) -> Result<(), Refusal> {
    match req.method {
        Method::Get | Method::Post => Ok(()),
        m => Err(Refusal::bad_request(format!(
            "{api} uses GET and POST only, not {m}"
        ))),
    }
}

/// The exchange's own error code for a refusal with a client-error status, from the codes for
/// 401, 403, 429 and any other 4xx (in that order); `None` for other statuses.
pub fn client_error_code<T>(
    reject: &Refusal,
    [unauthenticated, forbidden, too_many, other]: [T; 4],
) -> Option<T> {
    match reject.kind {
        RefusalKind::Unauthenticated => Some(unauthenticated),
        RefusalKind::Forbidden => Some(forbidden),
        RefusalKind::RateLimited => Some(too_many),
        k if k.is_client_error() => Some(other),
        _ => None,
    }
}

/// The message member of a native error: `keyward: <message>`.
pub fn keyward_message(reject: &Refusal) -> serde_json::Value {
    serde_json::Value::from(format!("keyward: {}", reject.message))
}

/// A key operation that failed while signing: a key that cannot do what this exchange needs
/// is the operator's configuration error (500 `bad_credential`); a key that could but failed
/// (a token gone away) makes keyward unavailable for now (503 `key_unavailable`).
impl From<KeyError> for Refusal {
    fn from(e: KeyError) -> Refusal {
        match e {
            KeyError::Unsupported { .. } => Refusal::bad_credential(format!(
                "the credential's key cannot sign for this exchange: {e}; re-seal it with the kind of key the exchange issued"
            )),
            KeyError::Failed(why) => Refusal::new(
                RefusalKind::Unavailable,
                "key_unavailable",
                format!("the credential's key failed to sign: {why}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_rule_matching() {
        let prefix = DenyRule::prefix("/api/sub-", "p");
        assert!(prefix.matches(Method::Get, "/api/sub-x"));
        assert!(prefix.matches(Method::Post, "/API/Sub-x/y"));
        assert!(!prefix.matches(Method::Get, "/api/sub"));

        let tree = DenyRule::tree("/api/user", "t").only(&[Method::Post, Method::Put]);
        assert!(tree.matches(Method::Post, "/api/user"));
        assert!(tree.matches(Method::Put, "/API/User/prefs"));
        assert!(!tree.matches(Method::Post, "/api/userEvent"));
        assert!(!tree.matches(Method::Get, "/api/user"));

        let below = DenyRule::below("/v2", "b");
        assert!(below.matches(Method::Get, "/v2/x"));
        assert!(below.matches(Method::Get, "/V2/"));
        assert!(!below.matches(Method::Get, "/v2"));
        assert!(!below.matches(Method::Get, "/v2x/y"));

        let path = DenyRule::path("/p/{id}/Move", "x");
        assert!(path.matches(Method::Delete, "/p/42/move"));
        assert!(path.matches(Method::Delete, "/P/42/MOVE"));
        assert!(!path.matches(Method::Delete, "/p/42/move/x"));
        assert!(!path.matches(Method::Delete, "/p/4:2/move"));

        let rules = [tree, prefix, below];
        assert_eq!(denied_by(&rules, Method::Put, "/api/user/x"), Some("t"));
        assert_eq!(denied_by(&rules, Method::Get, "/api/user/x"), None);
        assert_eq!(denied_by(&rules, Method::Get, "/v2/a"), Some("b"));
    }

    #[test]
    fn presets_concatenate_in_order() {
        const A: &[PresetEntry] = &[(Method::Get, "/a")];
        const B: &[PresetEntry] = &[(Method::Post, "/b"), (Method::Delete, "/c")];
        const AB: &[PresetEntry] = &concat_presets::<{ A.len() + B.len() }>(A, B);
        assert_eq!(
            AB,
            [
                (Method::Get, "/a"),
                (Method::Post, "/b"),
                (Method::Delete, "/c")
            ]
        );
    }
}
