//! HashiCorp Vault / OpenBao Transit as the token: the sealing key is a non-exportable
//! RSA-3072 Transit key. `keyward keygen` creates (or adopts) it, sealing encrypts offline to
//! its public key (RSA-OAEP with SHA-256, as Transit decrypts), and opening a vault asks Transit
//! to decrypt the stanza's 384-byte `ek` (`POST <mount>/decrypt/<key>` with
//! `vault:v<N>:<base64>`). The private key never leaves the key service; the unsealed data key
//! and credential secret are in keyward's memory, as with a PKCS#11 RSA sealing key.
//!
//! Every call authenticates with the Vault token (re-read from its source each time, so a
//! rotated token file is picked up) and fails closed with a message naming what to fix.

mod approle;
mod hmac;
mod http;
mod settings;

pub use hmac::HmacKey;
pub use settings::{
    check_address, check_name, AppRole, SecretFrom, TransitConfig, VaultTokenSource,
};

use std::collections::HashMap;
use std::sync::Mutex;

use ::http::{Method, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use serde::Deserialize;
use zeroize::Zeroize;

use self::http::{Client, Reply};
use super::operations::Token;
use super::sealing::{
    KeyService, OaepHash, Rsa3072PublicKey, SealingAlgorithm, SealingPublicKey, ServiceKey,
};
use super::signing::{HmacAlgorithm, KeyRef};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The Transit key type keyward seals to.
const KEY_TYPE: &str = "rsa-3072";

/// The sealing key in a Transit mount.
pub struct TransitToken {
    client: Client,
    /// The key version whose public key [`Token::public_key`] last returned: decryption uses it.
    version: Mutex<Option<u32>>,
    /// [`KEY_SERVICE_TURNS`](super::operations::KEY_SERVICE_TURNS) permits ([`Token::gate`]).
    gate: tokio::sync::Semaphore,
}

/// What to do when the sealing key is not found.
const SEALING_KEY_GONE: &str = "the key does not exist (deleted, or [token] mount/key is wrong): \
     a vault sealed to a deleted key cannot be opened again; create a key with `keyward keygen \
     --algorithm rsa3072` and reseal the credentials to its recipient";

#[derive(Deserialize)]
struct Answer<T> {
    data: T,
}

#[derive(Deserialize)]
struct KeyData {
    #[serde(rename = "type")]
    kind: String,
    exportable: bool,
    allow_plaintext_backup: bool,
    latest_version: u32,
    keys: HashMap<String, KeyVersion>,
}

#[derive(Deserialize)]
struct KeyVersion {
    #[serde(default)]
    public_key: Option<String>,
}

#[derive(Deserialize)]
struct Plaintext {
    plaintext: String,
}

#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<String>,
}

impl TransitToken {
    /// Opens nothing yet: every operation is one API call.
    pub fn open(config: &TransitConfig) -> Result<Self> {
        Ok(TransitToken {
            client: Client::new(config.clone())?,
            version: Mutex::new(None),
            gate: tokio::sync::Semaphore::new(super::operations::KEY_SERVICE_TURNS),
        })
    }

    fn config(&self) -> &TransitConfig {
        self.client.config()
    }

    fn key_path(&self) -> String {
        format!("{}/{}", self.config().mount, self.config().key)
    }

    fn cached_version(&self) -> Option<u32> {
        *self.version.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key, or `None` if the mount has no key of that name.
    fn read_key(&self) -> Result<Option<KeyData>> {
        let c = self.config();
        let reply = self
            .client
            .call(Method::GET, &format!("{}/keys/{}", c.mount, c.key), None)?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if reply.status != StatusCode::OK {
            return Err(self.refused("reading the key", &reply, "read"));
        }
        let answer: Answer<KeyData> = serde_json::from_slice(&reply.body).map_err(|e| {
            Error::token(format!(
                "{}: the answer to reading the key is not a Transit key ({e})",
                self.describe()
            ))
        })?;
        Ok(Some(answer.data))
    }

    /// The key must be one keyward may seal to: RSA-3072, never exportable or backed up in
    /// plaintext (its private key could then be read out of the key service).
    fn check_key(&self, key: &KeyData) -> Result<()> {
        let name = self.key_path();
        if key.kind != KEY_TYPE {
            return Err(Error::token(format!(
                "Transit key '{name}' is of type {}; keyward seals to {KEY_TYPE} keys only: set \
                 [token] key to another name and run `keyward keygen --algorithm rsa3072`",
                key.kind
            )));
        }
        if key.exportable || key.allow_plaintext_backup {
            return Err(Error::token(format!(
                "Transit key '{name}' is exportable or allows plaintext backup, so its private \
                 key can be read out of the key service; keyward refuses it (neither can be \
                 turned off): set [token] key to a new name and run `keyward keygen --algorithm \
                 rsa3072`"
            )));
        }
        Ok(())
    }

    fn newest_public_key(&self, key: &KeyData) -> Result<(u32, Rsa3072PublicKey)> {
        let name = self.key_path();
        let version = key.latest_version;
        let pem = key
            .keys
            .get(&version.to_string())
            .and_then(|v| v.public_key.as_deref())
            .ok_or_else(|| {
                Error::token(format!(
                    "Transit key '{name}': the server shows no public key for version {version}"
                ))
            })?;
        let public = rsa::RsaPublicKey::from_public_key_pem(pem)
            .map_err(|e| {
                Error::token(format!(
                    "Transit key '{name}' version {version}: the public key is not a PEM RSA key ({e})"
                ))
            })
            .and_then(|k| {
                Rsa3072PublicKey::new(k)
                    .map_err(|why| Error::token(format!("Transit key '{name}': {why}")))
            })?;
        Ok((version, public))
    }

    fn refused(&self, what: &str, reply: &Reply, capability: &str) -> Error {
        refused(
            &self.client,
            &self.describe(),
            what,
            reply,
            capability,
            SEALING_KEY_GONE,
        )
    }

    fn create_key(&self) -> Result<()> {
        let c = self.config();
        let body = serde_json::json!({
            "type": KEY_TYPE,
            "exportable": false,
            "allow_plaintext_backup": false,
        });
        let reply = self.client.call(
            Method::POST,
            &format!("{}/keys/{}", c.mount, c.key),
            Some(body.to_string().into_bytes()),
        )?;
        if !reply.status.is_success() {
            return Err(self.refused("creating the key", &reply, "create"));
        }
        Ok(())
    }
}

impl Token for TransitToken {
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        Some(&self.gate)
    }

    fn describe(&self) -> String {
        let c = self.config();
        let version = self
            .cached_version()
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        format!(
            "Transit key '{}'{version} at {}",
            self.key_path(),
            c.address.to_string().trim_end_matches('/')
        )
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        let key = self.read_key()?.ok_or_else(|| {
            Error::token(format!(
                "{}: the mount has no such key (deleted, or [token] mount/key is wrong): create \
                 one with `keyward keygen --algorithm rsa3072`; vaults sealed to a deleted key \
                 cannot be opened again",
                self.describe()
            ))
        })?;
        self.check_key(&key)?;
        let (version, public) = self.newest_public_key(&key)?;
        *self.version.lock().unwrap_or_else(|e| e.into_inner()) = Some(version);
        Ok(public.into())
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        if algorithm != SealingAlgorithm::Rsa3072 {
            return Err(Error::usage(format!(
                "{}: Transit cannot do {algorithm} ECDH; run `keyward keygen --algorithm rsa3072`",
                self.describe()
            )));
        }
        match self.read_key()? {
            Some(existing) => {
                self.check_key(&existing)?;
                tracing::info!(key = %self.key_path(), "adopting the existing Transit key");
            }
            None => self.create_key()?,
        }
        self.public_key()
    }

    fn rsa_oaep_decrypt(&self, hash: OaepHash, ciphertext: &[u8]) -> Result<SecretBytes> {
        if hash != OaepHash::Sha256 {
            return Err(Error::token(format!(
                "{}: Transit decrypts RSA-OAEP with SHA-256 only, not {hash}",
                self.describe()
            )));
        }
        let version = match self.cached_version() {
            Some(v) => v,
            None => {
                self.public_key()?;
                self.cached_version().unwrap_or(1)
            }
        };
        let c = self.config();
        let body = serde_json::json!({
            "ciphertext": format!("vault:v{version}:{}", STANDARD.encode(ciphertext)),
        });
        let reply = self.client.call(
            Method::POST,
            &format!("{}/decrypt/{}", c.mount, c.key),
            Some(body.to_string().into_bytes()),
        )?;
        if reply.status != StatusCode::OK {
            return Err(self.refused("decrypting the vault's data key", &reply, "update"));
        }
        let mut answer: Answer<Plaintext> = serde_json::from_slice(&reply.body).map_err(|_| {
            Error::token(format!(
                "{}: the answer to decrypt has no plaintext",
                self.describe()
            ))
        })?;
        let plain = STANDARD.decode(answer.data.plaintext.as_bytes());
        answer.data.plaintext.zeroize();
        let plain = plain.map_err(|_| {
            Error::token(format!(
                "{}: the decrypted plaintext is not base64",
                self.describe()
            ))
        })?;
        Ok(SecretBytes::new(plain))
    }

    fn hmac(&self, key: &KeyRef, algorithm: HmacAlgorithm, parts: &[&[u8]]) -> Result<Vec<u8>> {
        hmac::hmac(&self.client, &HmacKey::parse(key)?, algorithm, parts)
    }

    fn import_hmac_key(&self, key: &KeyRef, secret: &SecretBytes) -> Result<()> {
        hmac::import(&self.client, &HmacKey::parse(key)?, secret)
    }

    fn service_key(&self) -> Option<ServiceKey> {
        Some(ServiceKey {
            service: KeyService::Transit,
            mount: self.config().mount.clone(),
            key: self.config().key.clone(),
            version: self.cached_version()?,
        })
    }
}

/// The error for a refused call about `subject`, naming what to fix. `capability` is the policy
/// capability the call needs on its path; `missing` says what to do when the key is not found.
fn refused(
    client: &Client,
    subject: &str,
    what: &str,
    reply: &Reply,
    capability: &str,
    missing: &str,
) -> Error {
    let errors = serde_json::from_slice::<Errors>(&reply.body)
        .map(|e| e.errors.join("; "))
        .unwrap_or_default();
    let errors: String = errors
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let fix = match reply.status {
        StatusCode::FORBIDDEN => format!(
            "the Vault token from {} is revoked or expired, or its policy does not allow \
             \"{capability}\" here: give keyward a valid token with the policy in the README \
             (\"Vault / OpenBao Transit\")",
            client.config().token
        ),
        StatusCode::SERVICE_UNAVAILABLE => {
            "the server is sealed or not ready: unseal it (`bao operator unseal`)".into()
        }
        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
            if errors.contains("not found") || errors.contains("no existing key") =>
        {
            missing.into()
        }
        _ => "see the server's log".into(),
    };
    Error::token(format!(
        "{subject}: {what} was refused (HTTP {}{}{errors}): {fix}",
        reply.status.as_u16(),
        if errors.is_empty() { "" } else { ": " },
    ))
}
