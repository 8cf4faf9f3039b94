//! Whether a credential can serve now. One answer for the request pipeline, the WebSocket
//! upgrade, `/readyz` and the `keyward_credential_serving` gauge, so that readiness cannot say
//! "ready" about a credential whose every request is refused.
//!
//! A credential signs while its key version has not expired (`credential_expired`) and the
//! key-permission self-check lets it serve (`key_can_withdraw`, `key_permissions_unknown` under
//! `permission_check = "refuse"`); it serves while it signs and is not disabled by the kill
//! switch (`credential_disabled`).

use std::time::SystemTime;

use serde_json::{json, Value};

use super::kill::Target;
use super::state::{CredentialState, Resources, Snapshot};
use crate::request::Refusal;

/// The checks every request and WebSocket session of `c` passes after its client's admission
/// (which is where the kill switch is asked, client first).
pub(super) fn signs(
    resources: &Resources,
    c: &CredentialState,
    now: SystemTime,
) -> Result<(), Refusal> {
    c.version.check(&c.name, now)?;
    resources.key_checks().admit(&c.key_holder())
}

/// Whether `c` serves: not disabled, and it [`signs`].
pub(super) fn serves(
    resources: &Resources,
    c: &CredentialState,
    now: SystemTime,
) -> Result<(), Refusal> {
    resources.kill_switch().check(Target::Credential, &c.name)?;
    signs(resources, c, now)
}

/// Every credential of the snapshot in force, by name, and whether it serves.
pub(super) struct Standing<'a> {
    pub each: Vec<(&'a CredentialState, Result<(), Refusal>)>,
}

impl<'a> Standing<'a> {
    pub(super) fn of(resources: &Resources, snapshot: &'a Snapshot, now: SystemTime) -> Self {
        let mut each: Vec<_> = snapshot
            .credentials
            .values()
            .map(|c| (c.as_ref(), serves(resources, c, now)))
            .collect();
        each.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Standing { each }
    }

    pub(super) fn serving(&self) -> usize {
        self.each.iter().filter(|(_, r)| r.is_ok()).count()
    }

    /// `name (code)` of each credential that does not serve.
    pub(super) fn not_serving(&self) -> Vec<String> {
        self.each
            .iter()
            .filter_map(|(c, r)| r.as_ref().err().map(|e| format!("{} ({})", c.name, e.code)))
            .collect()
    }

    /// `/readyz`'s `credentials` list: name, exchange, `serving`, and for one that does not
    /// serve the refusal its requests get (code and message).
    pub(super) fn to_json(&self) -> Value {
        self.each
            .iter()
            .map(|(c, r)| {
                let (code, reason) = match r {
                    Ok(()) => (None, None),
                    Err(e) => (Some(e.code), Some(e.message.as_str())),
                };
                json!({
                    "name": c.name,
                    "exchange": c.exchange.id(),
                    "serving": r.is_ok(),
                    "code": code,
                    "reason": reason,
                })
            })
            .collect()
    }
}
