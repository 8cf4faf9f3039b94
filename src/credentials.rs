//! Start-up glue between the configuration, the token and the vault: log in once, unseal every
//! configured credential into locked memory, log out.

use std::collections::HashMap;
use std::time::SystemTime;

use crate::config::{Config, TokenConfig};
use crate::error::{Error, Result};
use crate::exchange::Credential;
use crate::token::{Pkcs11Token, Pkcs11Uri};
use crate::vault::{self, VaultHeader};

/// Opens the PKCS#11 token named by `[token]` and logs in.
pub fn open_token(cfg: &TokenConfig) -> Result<Pkcs11Token> {
    let uri: Pkcs11Uri = cfg.uri.parse().map_err(|e: Error| e.context("token.uri"))?;
    Pkcs11Token::open(&cfg.module, &uri, &cfg.pin)
}

/// One unsealed credential and what its vault file says about it.
pub struct Unsealed {
    pub header: VaultHeader,
    pub credential: Credential,
}

/// Unseals every credential of the configuration with the token. Fails on the first credential
/// that cannot be unsealed, naming its vault file.
pub fn unseal_all(config: &Config) -> Result<HashMap<String, Unsealed>> {
    let token = open_token(&config.token)?;
    let mut out = HashMap::new();
    for c in &config.credentials {
        let (header, secrets) = vault::open(&c.vault, &c.name, c.exchange.id(), &token)
            .map_err(|e| e.context(format!("credential {:?}", c.name)))?;
        if header.is_expired(SystemTime::now()) {
            tracing::warn!(credential = %c.name, "the credential's recorded expiry has passed; rotate it (keyward seal a new vault file)");
        }
        out.insert(
            c.name.clone(),
            Unsealed {
                header,
                credential: Credential {
                    api_key: secrets.api_key,
                    secret: secrets.secret,
                    passphrase: secrets.passphrase,
                    recv_window_ms: c.recv_window_ms,
                },
            },
        );
    }
    if config.credentials.is_empty() {
        return Err(Error::config(
            "no [[credential]] is configured; seal one with `keyward seal` and add it",
        ));
    }
    Ok(out)
}
