//! Start-up: configuration → token → vault → unsealed credentials.
//!
//! Logs in to the token once and unseals every configured credential into locked memory. A
//! credential whose signing key is on the token gets a handle on that key instead, checked here
//! (present, and the pair the vault records), so a missing key fails start-up, not the first
//! request. `serve` keeps the token logged in afterwards, so that a reload can open a vault that
//! changed ([`unseal_credential`], e.g. after `keyward rotate`); `check` drops it once
//! everything is unsealed. Everything here blocks: it runs before the async runtime starts, or
//! on a blocking thread for a reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::audit::{CheckpointKey, CheckpointSigner, Checkpoints, DEFAULT_SOCKET};
use crate::config::{CheckpointConfig, Config, CredentialConfig, Ship};
use crate::error::{Error, Result};
use crate::exchange::nonce::Nonce;
use crate::exchange::Credential;
use crate::key::OnToken;
use crate::rotation::KeyVersion;
use crate::token::{self, HmacAlgorithm, KeyRef, SignatureAlgorithm, Token};
use crate::vault::{self, Contents, TokenKey, VaultHeader};

/// One unsealed credential and what its vault file says about it.
pub struct Unsealed {
    pub header: VaultHeader,
    /// The key version that signs (the vault's newest) and until when.
    pub version: KeyVersion,
    pub credential: Credential,
    /// Where the signing key is, for `keyward check`: "secret sealed in the vault" or
    /// "in-token HMAC key 'keyward-hmac-…'".
    pub mode: String,
}

/// Unseals every credential of the configuration with the token. Fails on the first credential
/// that cannot be unsealed, naming its vault file.
pub fn unseal_all(config: &Config) -> Result<HashMap<String, Unsealed>> {
    unseal_with(config, &open_token(config)?)
}

/// Opens the token the configuration names and logs in.
pub fn open_token(config: &Config) -> Result<Arc<dyn Token>> {
    Ok(Arc::from(token::open(&config.token)?))
}

/// [`unseal_all`] with a token already open (that `serve` also signs audit checkpoints with).
pub fn unseal_with(config: &Config, token: &Arc<dyn Token>) -> Result<HashMap<String, Unsealed>> {
    let started = Instant::now();
    locked_memory(config.server.require_locked_memory)?;
    let mut out = HashMap::new();
    for c in &config.credentials {
        out.insert(c.name.clone(), unseal_credential(c, token, None)?);
    }
    if config.credentials.is_empty() {
        return Err(Error::config(
            "no [[credential]] is configured; seal one with `keyward seal` and add it",
        ));
    }
    locked_memory(config.server.require_locked_memory)?;
    let lock = crate::secret::lock_report();
    tracing::info!(
        locked_secret_bytes = lock.locked_bytes,
        unlocked_secret_bytes = lock.unlocked_bytes,
        token = %token.describe(),
        credentials = out.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "unsealed the credentials (token opened, PIN verified, every vault opened)"
    );
    Ok(out)
}

/// Opens credential `c`'s vault with `token` (logged in) and loads its signing key. `nonce`:
/// the credential's nonce source to keep (a reload), else a new one. Errors name the credential
/// and its vault file.
pub fn unseal_credential(
    c: &CredentialConfig,
    token: &Arc<dyn Token>,
    nonce: Option<Nonce>,
) -> Result<Unsealed> {
    let (header, contents) = vault::open(
        &c.vault,
        (&c.name, c.exchange.id()),
        &c.vault_sha256,
        SystemTime::now(),
        token.as_ref(),
    )
    .map_err(|e| e.context(format!("credential {:?}", c.name)))?;
    let nonce = match nonce {
        Some(nonce) => nonce,
        None if c.exchange.persistent_nonce() => Nonce::persistent(&nonce_file(&c.vault))?,
        None => Nonce::in_memory(),
    };
    let mode = contents.describe_mode();
    let credential = match contents {
        Contents::Sealed(secrets) => Credential::load(c.exchange, secrets, c.recv_window_ms, nonce),
        Contents::InToken(held) => {
            let key = on_token(token, &held.key).map_err(|e| {
                e.context(format!("credential {:?} ({})", c.name, c.vault.display()))
            })?;
            Credential::with_key(
                c.exchange,
                held.api_key,
                held.passphrase,
                Box::new(key),
                c.recv_window_ms,
                nonce,
            )
        }
    }
    .map_err(|e| {
        Error::vault(format!(
            "credential {:?} ({}): {e}",
            c.name,
            c.vault.display()
        ))
    })?;
    if let Some(said) = c.exchange.key_environment(credential.api_key.expose()) {
        if said != c.environment {
            return Err(Error::config(format!(
                "credential {:?}: its {} key is a {} key ({}), but the credential says environment \
                 = \"{}\": set environment = \"{}\", or seal a {} key",
                c.name,
                c.exchange.id(),
                said.as_str(),
                c.exchange.key_environment_hint(),
                c.environment.as_str(),
                said.as_str(),
                c.environment.as_str(),
            )));
        }
    }
    Ok(Unsealed {
        version: KeyVersion::new(&header, c.rotation),
        header,
        credential,
        mode,
    })
}

/// Whether the secrets' memory is locked: checked before the PIN or any secret is read, and
/// again once every credential is unsealed. An `mlock` failure has been logged as a warning by
/// then; with `[server] require_locked_memory` it refuses to start.
fn locked_memory(require: bool) -> Result<()> {
    match crate::secret::probe_locking() {
        Err(why) if require => Err(Error::config(format!(
            "refusing to start ([server] require_locked_memory = true): {why}"
        ))),
        _ => Ok(()),
    }
}

/// A handle on the key `key` names, once the token shows it has it: an HMAC key computes an
/// HMAC; a key pair's public key must be the one the vault recorded.
fn on_token(token: &Arc<dyn Token>, key: &TokenKey) -> Result<OnToken> {
    match key {
        TokenKey::Hmac { label } => {
            token
                .hmac(label, HmacAlgorithm::Sha256, &[b"keyward start-up check"])
                .map_err(|e| {
                    e.context(format!(
                        "the HMAC key {label} is not usable (store it again with `keyward import \
                         --in-token`)"
                    ))
                })?;
            Ok(OnToken::hmac(token.clone(), label.clone()))
        }
        TokenKey::Pair {
            label,
            algorithm,
            public_key,
        } => match token.signing_public_key(label)? {
            Some((found, spki)) if found == *algorithm && spki == *public_key => {
                Ok(OnToken::pair(token.clone(), label.clone(), *algorithm))
            }
            Some(_) => Err(Error::token(format!(
                "{} holds a key pair {label}, but not the {algorithm} key this vault was made \
                 for (its public key differs): was it generated again? Register the new public \
                 key with the exchange and run `keyward import --in-token` again",
                token.describe()
            ))),
            None => Err(Error::token(format!(
                "{} holds no key pair {label}; this vault's signing key was generated on another \
                 token, or deleted",
                token.describe()
            ))),
        },
    }
}

/// Where a credential's nonce high-water mark is kept: beside its vault file.
pub fn nonce_file(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".nonce");
    vault.with_file_name(name)
}

/// Signs audit checkpoints with the token's ECDSA P-256 key.
struct TokenSigner {
    token: Arc<dyn Token>,
    key: KeyRef,
}

impl CheckpointSigner for TokenSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.token
            .sign(&self.key, SignatureAlgorithm::EcdsaP256, message)
    }
}

/// The audit checkpoints `config` asks for, signed by `token`: checks first that the token holds
/// the configured key and that it signs for the configured public key (a test signature), so a
/// wrong key fails start-up rather than every checkpoint.
pub fn audit_checkpoints(token: &Arc<dyn Token>, config: &CheckpointConfig) -> Result<Checkpoints> {
    let key = CheckpointKey::from_pem_file(&config.public_key)
        .map_err(|e| e.context("[audit] checkpoint_public_key"))?;
    let label = &config.key;
    match token.signing_public_key(label)? {
        Some((SignatureAlgorithm::EcdsaP256, spki)) if spki == key.spki_der() => {}
        Some((SignatureAlgorithm::EcdsaP256, _)) => {
            return Err(Error::audit(format!(
                "{} holds the audit checkpoint key {label}, but its public key is not {} \
                 (fingerprint {}): point [audit] checkpoint_public_key at the PEM `keyward keygen \
                 --audit-key` wrote for this token",
                token.describe(),
                config.public_key.display(),
                key.fingerprint()
            )))
        }
        Some((other, _)) => {
            return Err(Error::audit(format!(
                "{}: the key {label} is an {other} key; audit checkpoints need an ECDSA P-256 key \
                 (`keyward keygen --audit-key`)",
                token.describe()
            )))
        }
        None => {
            return Err(Error::audit(format!(
                "{} holds no audit checkpoint key {label}; make it with `keyward keygen \
                 --audit-key --out {}`",
                token.describe(),
                config.public_key.display()
            )))
        }
    }
    let signer = TokenSigner {
        token: token.clone(),
        key: label.clone(),
    };
    let probe = b"keyward audit checkpoint key start-up check";
    let sig = signer
        .sign(probe)
        .map_err(|e| e.context(format!("signing with the audit checkpoint key {label}")))?;
    if !key.verifies(probe, &hex::encode(sig)) {
        return Err(Error::audit(format!(
            "{}: the audit checkpoint key {label} does not sign for its public key; the public \
             object was replaced. Generate a new audit key pair",
            token.describe()
        )));
    }
    let ship_to = ship_target(
        &config.ship,
        "audit checkpoints are not shipped off the host (set [audit] checkpoint_socket), so a \
         deleted tail of the log cannot be detected",
    );
    tracing::info!(
        key = %key.fingerprint(),
        every = config.every,
        interval_s = config.interval.as_secs(),
        ship = %ship_to.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "nowhere".into()),
        "audit checkpoints signed on the token"
    );
    Ok(Checkpoints {
        signer: Box::new(signer),
        key,
        every: config.every,
        interval: config.interval,
        ship_to,
    })
}

/// The socket `ship` sends to: the one configured, or `/dev/log` when it exists at start-up
/// (else nowhere, with a warning that `/dev/log` is missing and then `missing`).
pub fn ship_target(ship: &Ship, missing: &str) -> Option<PathBuf> {
    match ship {
        Ship::Off => None,
        Ship::Socket(path) => Some(path.clone()),
        Ship::Default if Path::new(DEFAULT_SOCKET).exists() => Some(DEFAULT_SOCKET.into()),
        Ship::Default => {
            tracing::warn!("{DEFAULT_SOCKET} does not exist: {missing}");
            None
        }
    }
}
