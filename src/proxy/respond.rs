//! What the bot gets back: a refusal as an HTTP status and a JSON body, or the exchange's
//! answer with hop-by-hop headers removed.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};

use super::forward::Answer;

use crate::request::{Json, Method, Refusal, RefusalKind};
use crate::secret::SecretBytes;

pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// The HTTP status of a refusal kind.
pub fn status(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
        RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
        RefusalKind::NotFound => StatusCode::NOT_FOUND,
        RefusalKind::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        RefusalKind::Timeout => StatusCode::REQUEST_TIMEOUT,
        RefusalKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RefusalKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        RefusalKind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RefusalKind::WrongHost => StatusCode::MISDIRECTED_REQUEST,
        RefusalKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        RefusalKind::Upstream => StatusCode::BAD_GATEWAY,
        RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        RefusalKind::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// A refusal as the bot sees it: its status, `Allow` for 405, and the JSON error body with the
/// exchange's `native` members after keyward's own.
pub fn refusal<E>(
    refusal: &Refusal,
    native: Vec<(&'static str, serde_json::Value)>,
) -> Response<BoxBody<Bytes, E>> {
    let mut resp = Response::new(
        Full::new(Bytes::from(refusal.to_json_with(native)))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status(refusal.kind);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = refusal.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let RefusalKind::MethodNotAllowed { allowed } = refusal.kind {
        if let Ok(v) = HeaderValue::from_str(&Method::list(allowed)) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    resp
}

/// The exchange's answer goes back unchanged but for hop-by-hop headers and cookies.
pub fn pass_through(resp: Answer) -> Response<ProxyBody> {
    let (mut parts, body) = resp.into_parts();
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::PROXY_AUTHENTICATE,
        header::SET_COOKIE,
        header::CONTENT_LENGTH,
    ] {
        parts.headers.remove(name);
    }
    parts.headers.remove("keep-alive");
    Response::from_parts(parts, full(body))
}

/// A body of `bytes`.
fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The exchange's answer with every occurrence of `key` (the real API key) replaced, for
/// endpoints whose answers echo it (Bybit `query-api`).
pub fn redact_key(resp: Answer, key: &[u8]) -> Response<ProxyBody> {
    let (parts, bytes) = resp.into_parts();
    let redacted = replace_all(&bytes, key, b"REDACTED-BY-KEYWARD");
    pass_through(Response::from_parts(parts, Bytes::from(redacted)))
}

/// The exchange's answer with the bearer token at `field` (member names) replaced by the placeholder
/// `issue` returns for it (and every other copy of the token too). An answer that cannot be
/// parsed strictly is not passed on; one without a token (an error) passes unchanged.
pub fn swap_bearer(
    resp: Answer,
    field: &[&str],
    issue: impl FnOnce(SecretBytes) -> String,
    finish: impl FnOnce(&mut Json) -> Result<(), Refusal>,
) -> Result<Response<ProxyBody>, Refusal> {
    let unreadable = || {
        Refusal::new(
            RefusalKind::Upstream,
            "upstream_unreadable",
            "the exchange's answer to this endpoint carries a token and could not be read to replace it; it is not passed on",
        )
    };
    let (parts, bytes) = resp.into_parts();
    let text = std::str::from_utf8(&bytes).map_err(|_| unreadable())?;
    let mut answer = Json::parse(text).map_err(|_| unreadable())?;
    let (last, parents) = field.split_last().ok_or_else(unreadable)?;
    let token = match member(&mut answer, parents).and_then(|h| h.get(last)) {
        Some(Json::String(t)) if !t.is_empty() => SecretBytes::copy_from(t.as_bytes()),
        Some(_) => return Err(unreadable()),
        None => return Ok(pass_through(Response::from_parts(parts, bytes))),
    };
    let placeholder = issue(SecretBytes::copy_from(token.expose()));
    if let Some(h) = member(&mut answer, parents) {
        h.set(last, Json::String(placeholder.clone()));
    }
    finish(&mut answer)?;
    let out = replace_all(
        answer.to_compact().as_bytes(),
        token.expose(),
        placeholder.as_bytes(),
    );
    Ok(pass_through(Response::from_parts(parts, Bytes::from(out))))
}

/// The member of `json` at the end of `path` (`json` itself for an empty path).
fn member<'j>(json: &'j mut Json, path: &[&str]) -> Option<&'j mut Json> {
    path.iter().try_fold(json, |at, name| at.get_mut(name))
}

/// `haystack` with every non-overlapping occurrence of `needle` replaced by `with`.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_all_replaces_every_occurrence() {
        assert_eq!(
            replace_all(br#"{"apiKey":"K1","x":"aK1K1"}"#, b"K1", b"R"),
            br#"{"apiKey":"R","x":"aRR"}"#.to_vec()
        );
        assert_eq!(replace_all(b"abc", b"", b"R"), b"abc".to_vec());
    }

    #[test]
    fn method_not_allowed_lists_the_methods() {
        let r = Refusal::method_not_allowed(Method::COMMON, "no");
        let resp: Response<BoxBody<Bytes, std::convert::Infallible>> = refusal(&r, Vec::new());
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET, POST, PUT, DELETE");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn every_kind_has_a_status_of_its_class() {
        let kinds = [
            RefusalKind::BadRequest,
            RefusalKind::Unauthenticated,
            RefusalKind::Forbidden,
            RefusalKind::NotFound,
            RefusalKind::MethodNotAllowed {
                allowed: Method::ALL,
            },
            RefusalKind::Timeout,
            RefusalKind::TooLarge,
            RefusalKind::HeadersTooLarge,
            RefusalKind::UnsupportedMedia,
            RefusalKind::WrongHost,
            RefusalKind::RateLimited,
            RefusalKind::Internal,
            RefusalKind::Upstream,
            RefusalKind::Unavailable,
            RefusalKind::UpstreamTimeout,
        ];
        for k in kinds {
            assert_eq!(status(k).is_client_error(), k.is_client_error(), "{k:?}");
        }
    }
}
