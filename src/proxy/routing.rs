//! Stage 2 of the pipeline: which credential a request is for, and the exchange path.
//!
//! On the main listener the first path segment names the credential
//! (`/<credential>/<exchange path>`); on a credential's own listener (`[[credential]] listen`)
//! the whole path is the exchange's.

use super::state::{CredentialState, Snapshot};
use crate::request::{check_path, Refusal};

/// Stage 2: `/<credential>/<exchange path>` → the credential and the exchange path.
pub(super) fn route<'s, 't>(
    snapshot: &'s Snapshot,
    bound: Option<&str>,
    target: &'t str,
) -> Result<(&'s CredentialState, &'t str), Refusal> {
    let (name, path) = match bound {
        // A credential's own listener: the whole path is the exchange's.
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
