//! Stage 2 of the pipeline: which credential a request is for, and the exchange path.
//!
//! On the main listener the first path segment names the credential
//! (`/<credential>/<exchange path>`); on a credential's own listener (`[[credential]] listen`),
//! or under a credential's own host name (`[[credential]] host_name`), the whole path is the
//! exchange's.

use http::{header, HeaderMap};

use super::state::{CredentialState, Snapshot};
use crate::request::{check_path, Refusal};

/// The credential that owns a request by where it arrived, not by its path: the listener's
/// (`bound`), else the one whose `host_name` its `Host` names (the Host check has already
/// accepted it).
pub(super) fn owner<'a>(
    snapshot: &'a Snapshot,
    bound: Option<&'a str>,
    headers: &HeaderMap,
) -> Option<&'a str> {
    if bound.is_some() || snapshot.credential_hosts.is_empty() {
        return bound;
    }
    let host = headers
        .get(header::HOST)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => &host,
    };
    snapshot.credential_hosts.get(name).map(String::as_str)
}

/// Stage 2: `/<credential>/<exchange path>` → the credential and the exchange path; for a
/// request its [`owner`] claims, the owner and the whole path.
pub(super) fn route<'s, 't>(
    snapshot: &'s Snapshot,
    owner: Option<&str>,
    target: &'t str,
) -> Result<(&'s CredentialState, &'t str), Refusal> {
    let (name, path) = match owner {
        // A credential's own listener or host name: the whole path is the exchange's.
        Some(name) => {
            check_path(target)?;
            (name, target)
        }
        None => split_target(target)?,
    };
    let credential = snapshot.credentials.get(name).ok_or_else(|| {
        Refusal::not_found(format!(
            "no credential named {name:?}; use http://HOST:PORT/<credential> as the exchange base URL"
        ))
    })?;
    Ok((credential, path))
}

/// Checks a target path and splits it into `<credential>` and the exchange path.
pub fn split_target(target: &str) -> Result<(&str, &str), Refusal> {
    check_path(target)?;
    target[1..]
        .split_once('/')
        .map(|(c, _)| (c, &target[1 + c.len()..]))
        .ok_or_else(|| Refusal::not_found("the path must be /<credential>/<exchange API path>"))
}
