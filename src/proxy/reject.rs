//! The errors a bot sees: an HTTP status, a stable machine-readable code and a message that says
//! what to change. Rendered as `{"error":{"code":"...","message":"..."}}`.
//!
//! Messages are built from keyward's own words and the bot's canonical request; they never
//! include secrets (credential material, client tokens, signatures).

use bytes::Bytes;
use http::{header, Response, StatusCode};

use super::canonical::Method;
use http_body_util::{combinators::BoxBody, BodyExt, Full};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For 405: the methods allowed, sent as the `Allow` header.
    pub allow: Option<String>,
}

impl Reject {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    /// 405 with an `Allow` header listing `allowed`.
    pub fn method_not_allowed(allowed: &[Method], message: impl Into<String>) -> Self {
        let mut r = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        );
        r.allow = Some(Method::list(allowed));
        r
    }

    pub fn bad_path(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_path", message)
    }
    pub fn bad_params(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_params", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unsupported_media(message: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unknown_client", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
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

    pub fn into_response<E>(self) -> Response<BoxBody<Bytes, E>> {
        self.into_response_with(Vec::new())
    }

    pub fn into_response_with<E>(
        self,
        extra: Vec<(&'static str, serde_json::Value)>,
    ) -> Response<BoxBody<Bytes, E>> {
        let mut resp = Response::new(
            Full::new(Bytes::from(self.to_json_with(extra)))
                .map_err(|never| match never {})
                .boxed(),
        );
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(v) = self
            .allow
            .as_deref()
            .and_then(|a| http::HeaderValue::from_str(a).ok())
        {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        resp
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywards_own_member_comes_first() {
        let r = Reject::forbidden("denied", "no");
        let text = r.to_json_with(vec![("code", (-1002).into()), ("msg", "m".into())]);
        assert!(text.starts_with(r#"{"error":{"code":"denied""#), "{text}");
    }

    #[test]
    fn native_members_follow_keywards_own() {
        let r = Reject::forbidden("denied", "no");
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
        let r = Reject::forbidden("hard_deny", "no");
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
        let r = Reject::forbidden("denied", "no \"rule\" allows it");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["error"]["code"], "denied");
        assert_eq!(v["error"]["message"], "no \"rule\" allows it");
    }
}
