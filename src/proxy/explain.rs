//! `keyward policy explain`: the decision keyward would make on a request, from the config
//! alone (no token, no network), through the same [`check`] as the proxy.

use super::routing::split_target;
use crate::config::Config;
use crate::policy::{check, Caller, Decision};
use crate::request::{CanonicalRequest, Method, Refusal, RequestParts};

/// What `client_name` sending `method target` (with `body`) would get: the canonical request and
/// the decision, or the refusal that comes before policy.
pub fn explain(
    config: &Config,
    client_name: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> Result<(CanonicalRequest, Decision), Refusal> {
    let method = Method::parse(method).ok_or_else(|| {
        Refusal::bad_request(format!(
            "method {method:?} must be one of {}",
            Method::list(Method::ALL)
        ))
    })?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let (cred_name, exchange_path) = split_target(path)?;
    let cred = config
        .credential(cred_name)
        .ok_or_else(|| Refusal::not_found(format!("no credential named {cred_name:?}")))?;
    let client = config.client(client_name).ok_or_else(|| {
        Refusal::unauthenticated(format!("no client named {client_name:?} in the config"))
    })?;
    if client.credential != cred.name {
        return Err(Refusal::forbidden(
            "wrong_credential",
            format!(
                "client {} may not use credential {:?}",
                client.name, cred.name
            ),
        ));
    }
    let body = body.unwrap_or("");
    let parts = RequestParts {
        method,
        path: exchange_path,
        query,
        content_type: guess_content_type(body),
        body: body.as_bytes(),
    };
    let checked = check(cred.exchange, &parts, Caller::Client(&client.allow))?;
    Ok((checked.canonical, checked.decision))
}

/// A body is JSON if it looks like JSON, else a form (as bots send them).
fn guess_content_type(body: &str) -> Option<&'static str> {
    match body.trim_start().as_bytes().first() {
        None => None,
        Some(b'{' | b'[') => Some("application/json"),
        Some(_) => Some("application/x-www-form-urlencoded"),
    }
}
