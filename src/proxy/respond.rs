//! What the bot gets back: a refusal as an HTTP status and a JSON body, or the exchange's
//! answer with hop-by-hop headers removed.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;

use crate::request::{Method, Refusal, RefusalKind};

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
    if let RefusalKind::MethodNotAllowed { allowed } = refusal.kind {
        if let Ok(v) = HeaderValue::from_str(&Method::list(allowed)) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    resp
}

/// The exchange's answer goes back unchanged but for hop-by-hop headers and cookies.
pub fn pass_through(resp: Response<Incoming>) -> Response<ProxyBody> {
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
    Response::from_parts(parts, body.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

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
