//! Config reload (SIGHUP and `POST /reload`): a validated config whose restart-only settings
//! are unchanged becomes the new [`Snapshot`] at once; anything else keeps the config in force
//! and says why.
//!
//! A reload changes the clients (tokens, allowlists, rates, source addresses), the per-request
//! knobs of `[server]` (anonymous market data and its rate, host names, trusted proxies, body
//! and header bounds, `header_read_timeout_ms`) and each `[[credential]]`'s vault, pin,
//! `recv_window_ms`, `rotate_after_days` and `warn_days`: a credential whose vault file, pin or
//! `recv_window_ms` changed is opened again with the token session start-up opened (its newest
//! version then signs, e.g. after `keyward rotate`), the others keep their unsealed key. A vault
//! that does not open refuses the whole reload. It cannot change what start-up opened once —
//! the listener, the token, the set of credentials with their exchanges and upstreams, the
//! audit log and the WebSocket caps: a file that changes one of those is refused whole, naming
//! the keys, and needs a restart.

use std::fmt;
use std::path::Path;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::restart::RestartOnly;
use super::state::{CredentialState, Resources, Snapshot, Source, State};
use crate::config::Config;
use crate::error::Error;
use crate::startup::unseal_credential;

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    pub clients: usize,
    /// The credentials whose vault was opened again, with the key version that now signs.
    pub reopened: Vec<(String, u32)>,
}

/// Why a reload kept the config in force.
#[derive(Debug)]
pub enum ReloadError {
    /// The file could not be read or is not a valid config (the error names the key).
    Invalid(Error),
    /// The file changes settings only a restart applies.
    NeedsRestart(Vec<&'static str>),
    /// A credential's vault (new file or pin) does not open (the error names it).
    Vault(Error),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Invalid(e) => write!(f, "{e}"),
            ReloadError::Vault(e) => write!(
                f,
                "{e} (nothing of the new file was applied: the credentials in force keep signing)"
            ),
            ReloadError::NeedsRestart(keys) => write!(
                f,
                "the new config changes {} — a reload cannot apply that; restart keyward (nothing of the new file was applied)",
                keys.join(", ")
            ),
        }
    }
}

impl State {
    /// Puts `next` in force if a reload can apply it; requests in flight finish with the
    /// snapshot they started with, new ones get the new one.
    pub fn reload(&self, next: &Config) -> Result<Reloaded, ReloadError> {
        let changed = self.restart_only().changed(&RestartOnly::of(next));
        if !changed.is_empty() {
            return Err(ReloadError::NeedsRestart(changed));
        }
        let (credentials, reopened) =
            reopen(next, &self.snapshot(), self.resources()).map_err(ReloadError::Vault)?;
        let snapshot = Snapshot::recompile(next, credentials, self.resources());
        super::keycheck::check_new_keys(self.resources(), &snapshot);
        self.replace(snapshot);
        Ok(Reloaded {
            clients: next.clients.len(),
            reopened,
        })
    }
}

/// A snapshot's credentials, by name.
type Credentials = HashMap<String, Arc<CredentialState>>;

/// The credentials of `next`. One whose vault file, pin and `recv_window_ms` are as in
/// `current` keeps its unsealed key (and with it its nonces); another is opened again with the
/// token session, keeping its nonce sequence. The names, exchanges and upstreams are those of
/// `current` (a restart-only setting).
fn reopen(
    next: &Config,
    current: &Snapshot,
    resources: &Resources,
) -> Result<(Credentials, Vec<(String, u32)>), Error> {
    let mut out = HashMap::new();
    let mut reopened = Vec::new();
    for c in &next.credentials {
        let old = current.credentials.get(&c.name).ok_or_else(|| {
            Error::config(format!(
                "credential {:?} is new; restart keyward to add a credential",
                c.name
            ))
        })?;
        let source = Source::of(c);
        let state = if old.source == source {
            CredentialState {
                name: c.name.clone(),
                exchange: old.exchange,
                credential: old.credential.clone(),
                version: old.version.with_policy(c.rotation),
                environment: old.environment,
                upstream: old.upstream.clone(),
                source,
                permission_check: c.permission_check,
                budgets: c.budgets,
            }
        } else {
            let token = resources.token().ok_or_else(|| {
                Error::token(format!(
                    "credential {:?}: its vault changed, and this keyward holds no token \
                     session to open it; restart keyward",
                    c.name
                ))
            })?;
            let unsealed = unseal_credential(c, token, Some(old.credential.nonce.shared()))?;
            reopened.push((c.name.clone(), unsealed.version.number));
            CredentialState::new(c, unsealed, resources)?
        };
        log_version(&state, "reload");
        out.insert(c.name.clone(), Arc::new(state));
    }
    Ok((out, reopened))
}

/// The credential's key version in the log: info, or a warning when it is due or expired.
pub(super) fn log_version(c: &CredentialState, at: &str) {
    use crate::rotation::Standing;
    let now = SystemTime::now();
    let version = c.version.describe(now);
    match c.version.standing(now) {
        Standing::Current => {
            tracing::info!(credential = %c.name, at, "{version}")
        }
        Standing::Due => tracing::warn!(
            credential = %c.name,
            at,
            "{version}: rotate it soon (`keyward rotate --credential {}`)",
            c.name
        ),
        Standing::Expired => tracing::error!(
            credential = %c.name,
            at,
            "{version}: its requests get 403 credential_expired until it is rotated \
             (`keyward rotate --credential {}`, pin, reload)",
            c.name
        ),
    }
}

/// Reads the config file at `path` again and puts it in force if a reload can apply it (see
/// [`State::reload`]); otherwise the config in force stays and the error says why. Logs the
/// outcome either way. What SIGHUP does; an admin endpoint can call it too.
pub fn reload(path: &Path, state: &State) -> Result<Reloaded, ReloadError> {
    let result = Config::load(path)
        .map_err(ReloadError::Invalid)
        .and_then(|config| state.reload(&config));
    match &result {
        Ok(done) => tracing::info!(
            config = %path.display(),
            clients = done.clients,
            reopened = ?done.reopened,
            "config reloaded: new requests use it, requests in flight finish with the old one"
        ),
        // One log line (a TOML error's own text spans several).
        Err(e) => tracing::error!(
            config = %path.display(),
            error = %e.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" "),
            "config reload refused; the config in force is unchanged"
        ),
    }
    result
}
