//! Why keyward refuses a request: a [`RefusalKind`] (what went wrong, in words the pipeline
//! stages share), a stable machine-readable code and a message that says what to change.
//!
//! Nothing here knows HTTP: `src/proxy/` turns a kind into a status and a refusal into the JSON
//! body `{"error":{"code":"...","message":"..."}}` (with each exchange's native members).
//! Messages are built from keyward's own words and the bot's canonical request; they never
//! include secrets (credential material, client tokens, signatures).

use super::Method;

/// What went wrong, as the HTTP adapter and the exchanges' native error shapes classify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request is malformed or ambiguous (400).
    BadRequest,
    /// No client token matches (401).
    Unauthenticated,
    /// Known client, but policy or admission says no (403).
    Forbidden,
    /// Not a credential or not a path of its exchange's API (404).
    NotFound,
    /// A method this exchange's API does not use; `allowed` lists those it does (405 + `Allow`).
    MethodNotAllowed { allowed: &'static [Method] },
    /// The body did not arrive in time (408).
    Timeout,
    /// The body is larger than the configured bound (413).
    TooLarge,
    /// A header, or all headers together, larger than the configured bound (431).
    HeadersTooLarge,
    /// A body in a media type the exchange does not take (415).
    UnsupportedMedia,
    /// `Host` names something other than this keyward (421).
    WrongHost,
    /// A rate limit was exceeded (429).
    RateLimited,
    /// keyward itself cannot complete the request (a bad credential, a failing key) (500).
    Internal,
    /// The exchange could not be reached or answered badly (502).
    Upstream,
    /// keyward cannot serve at all right now: audit disk, token, nonce store (503).
    Unavailable,
    /// The exchange did not answer in time (504).
    UpstreamTimeout,
}

impl RefusalKind {
    /// Whether the bot's request is at fault (as opposed to keyward or the exchange).
    pub fn is_client_error(self) -> bool {
        !matches!(
            self,
            RefusalKind::Internal
                | RefusalKind::Upstream
                | RefusalKind::Unavailable
                | RefusalKind::UpstreamTimeout
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which the request may be tried again (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// This refusal, telling the bot to wait `seconds` (at least 1) before trying again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// A method outside `allowed` (sent with an `Allow` header listing them).
    pub fn method_not_allowed(allowed: &'static [Method], message: impl Into<String>) -> Self {
        Self::new(
            RefusalKind::MethodNotAllowed { allowed },
            "method_not_allowed",
            message,
        )
    }

    pub fn bad_path(message: &str) -> Self {
        Self::new(RefusalKind::BadRequest, "bad_path", message)
    }
    pub fn bad_params(message: String) -> Self {
        Self::new(RefusalKind::BadRequest, "bad_params", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::BadRequest, "bad_request", message)
    }
    pub fn unsupported_media(message: &str) -> Self {
        Self::new(
            RefusalKind::UnsupportedMedia,
            "unsupported_media_type",
            message,
        )
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Unauthenticated, "unknown_client", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Forbidden, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::NotFound, "not_found", message)
    }
    /// The credential or its key cannot sign this request (500 `bad_credential`).
    pub fn bad_credential(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Internal, "bad_credential", message)
    }

    pub fn to_json(&self) -> String {
        self.to_json_with(Vec::new())
    }

    /// The error body with extra top-level members (an exchange's native error shape) after
    /// keyward's own `error` member. Exchanges whose native shape itself lives in `error`
    /// (Kraken's list of strings, BitMEX's `{"message","name"}`) return an `error` member: it
    /// takes that place, and keyward's own `{"code","message"}` moves to `keyward`.
    pub fn to_json_with(&self, extra: Vec<(&'static str, serde_json::Value)>) -> String {
        let own = serde_json::json!({ "code": self.code, "message": self.message });
        // keyward's own member comes first; it is "error" unless the exchange's native shape
        // needs that name, then "keyward" (a name exchanges may never use). Later duplicates of
        // a name are dropped.
        let own_name = if extra.iter().any(|(k, _)| *k == "error") {
            "keyward"
        } else {
            "error"
        };
        let mut members: Vec<(&str, serde_json::Value)> = vec![(own_name, own)];
        for (k, v) in extra {
            if k != "keyward" && !members.iter().any(|(seen, _)| *seen == k) {
                members.push((k, v));
            }
        }
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(*k)))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywards_own_member_comes_first() {
        let r = Refusal::forbidden("denied", "no");
        let text = r.to_json_with(vec![("code", (-1002).into()), ("msg", "m".into())]);
        assert!(text.starts_with(r#"{"error":{"code":"denied""#), "{text}");
    }

    #[test]
    fn native_members_follow_keywards_own() {
        let r = Refusal::forbidden("denied", "no");
        let v: serde_json::Value = serde_json::from_str(
            &r.to_json_with(vec![("code", (-1002).into()), ("keyward", 1.into())]),
        )
        .unwrap();
        assert_eq!(v["code"], -1002);
        assert_eq!(v["error"]["code"], "denied");
        assert!(v.get("keyward").is_none(), "`keyward` is reserved");
    }

    #[test]
    fn native_error_member_moves_keywards_own() {
        let r = Refusal::forbidden("hard_deny", "no");
        let v: serde_json::Value = serde_json::from_str(&r.to_json_with(vec![(
            "error",
            serde_json::json!(["EGeneral:Permission denied"]),
        )]))
        .unwrap();
        assert_eq!(v["error"][0], "EGeneral:Permission denied");
        assert_eq!(v["keyward"]["code"], "hard_deny");
        assert_eq!(v["keyward"]["message"], "no");
        let v: serde_json::Value =
            serde_json::from_str(&r.to_json_with(vec![("label", "FORBIDDEN".into())])).unwrap();
        assert_eq!(v["error"]["code"], "hard_deny");
        assert_eq!(v["label"], "FORBIDDEN");
    }

    #[test]
    fn json_shape() {
        let r = Refusal::forbidden("denied", "no \"rule\" allows it");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["error"]["code"], "denied");
        assert_eq!(v["error"]["message"], "no \"rule\" allows it");
    }
}
