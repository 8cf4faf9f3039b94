//! Config reload (SIGHUP, and later `POST /admin/reload`): a validated config whose
//! restart-only settings are unchanged becomes the new [`Snapshot`] at once; anything else keeps
//! the config in force and says why.
//!
//! A reload changes the clients (tokens, allowlists, rates, source addresses) and the
//! per-request knobs of `[server]` (anonymous market data and its rate, host names, trusted
//! proxies, body and header bounds, `header_read_timeout_ms`). It cannot change what start-up
//! opened once — the listener, the token and the unsealed credentials, the audit log, the
//! upstream clients and the WebSocket caps: a file that changes one of those is refused whole,
//! naming the keys, and needs a restart.

use std::fmt;
use std::path::Path;

use super::restart::RestartOnly;
use super::state::{Snapshot, State};
use crate::config::Config;
use crate::error::Error;

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    pub clients: usize,
}

/// Why a reload kept the config in force.
#[derive(Debug)]
pub enum ReloadError {
    /// The file could not be read or is not a valid config (the error names the key).
    Invalid(Error),
    /// The file changes settings only a restart applies.
    NeedsRestart(Vec<&'static str>),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Invalid(e) => write!(f, "{e}"),
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
        let snapshot = Snapshot::recompile(next, &self.snapshot(), self.resources());
        self.replace(snapshot);
        Ok(Reloaded {
            clients: next.clients.len(),
        })
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
