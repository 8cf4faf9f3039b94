//! Start-up: configuration → token → vault → unsealed credentials.
//!
//! Logs in to the token once, unseals every configured credential into locked memory and logs out
//! (the token is dropped). Everything here blocks; it runs before the async runtime starts, and a
//! later reload would build a new set of credentials the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::exchange::nonce::Nonce;
use crate::exchange::Credential;
use crate::token;
use crate::vault::{self, VaultHeader};

/// One unsealed credential and what its vault file says about it.
pub struct Unsealed {
    pub header: VaultHeader,
    pub credential: Credential,
}

/// Unseals every credential of the configuration with the token. Fails on the first credential
/// that cannot be unsealed, naming its vault file.
pub fn unseal_all(config: &Config) -> Result<HashMap<String, Unsealed>> {
    let token = token::open(&config.token)?;
    let mut out = HashMap::new();
    for c in &config.credentials {
        let (header, secrets) = vault::open(&c.vault, &c.name, c.exchange.id(), token.as_ref())
            .map_err(|e| e.context(format!("credential {:?}", c.name)))?;
        if header.is_expired(SystemTime::now()) {
            tracing::warn!(credential = %c.name, "the credential's recorded expiry has passed; rotate it (keyward seal a new vault file)");
        }
        let nonce = if c.exchange.persistent_nonce() {
            Nonce::persistent(&nonce_file(&c.vault))?
        } else {
            Nonce::in_memory()
        };
        let credential =
            Credential::load(c.exchange, secrets, c.recv_window_ms, nonce).map_err(|e| {
                Error::vault(format!(
                    "credential {:?} ({}): {e}",
                    c.name,
                    c.vault.display()
                ))
            })?;
        out.insert(c.name.clone(), Unsealed { header, credential });
    }
    if config.credentials.is_empty() {
        return Err(Error::config(
            "no [[credential]] is configured; seal one with `keyward seal` and add it",
        ));
    }
    Ok(out)
}

/// Where a credential's nonce high-water mark is kept: beside its vault file.
pub fn nonce_file(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".nonce");
    vault.with_file_name(name)
}
