//! The on-disk JSON form of a vault file (see the format description in `vault.rs`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::envelope::{Sealed, NONCE_LEN};
use super::stanza::Stanza;
use super::token_key::RawTokenKey;
use crate::error::{Error, Result};

/// A vault whose secret is sealed in it.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// A vault whose signing key is on the token (`in_token`); the secret is not in it.
pub(crate) const IN_TOKEN_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultFile {
    pub keyward_vault: u32,
    pub name: String,
    pub exchange: String,
    pub created: String,
    pub expires: Option<String>,
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_token: Option<RawTokenKey>,
    pub stanza: RawStanza,
    pub nonce: String,
    pub ciphertext: String,
}

/// The stanza as written: `epk` for P-256, `ek` for RSA (see `stanza.rs`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStanza {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ek: Option<String>,
    pub nonce: String,
    pub wrapped_key: String,
}

/// Only the version, read first so that a newer format gets "upgrade keyward", not a list of
/// unknown fields.
#[derive(Deserialize)]
struct VersionProbe {
    keyward_vault: Option<serde_json::Value>,
}

impl VaultFile {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| {
            json_error(e, |e| {
                format!("not a keyward vault file ({e}); it may be truncated or damaged")
            })
        })?;
        match probe.keyward_vault {
            None => {
                return Err(Error::vault(
                    "not a keyward vault file (no \"keyward_vault\" version field)",
                ))
            }
            Some(serde_json::Value::Number(n))
                if [FORMAT_VERSION, IN_TOKEN_VERSION]
                    .map(u64::from)
                    .contains(&n.as_u64().unwrap_or(0)) => {}
            Some(other) => {
                return Err(Error::vault(format!(
                    "vault format version {other} is not supported by this keyward (it reads \
                     versions {FORMAT_VERSION} and {IN_TOKEN_VERSION}); upgrade keyward or reseal \
                     the credential"
                )))
            }
        }
        let file: VaultFile = serde_json::from_slice(bytes)
            .map_err(|e| json_error(e, |e| format!("malformed vault file ({e})")))?;
        match (file.keyward_vault, &file.in_token) {
            (FORMAT_VERSION, Some(_)) => Err(Error::vault(format!(
                "a version {FORMAT_VERSION} vault has no 'in_token' field (version \
                 {IN_TOKEN_VERSION} has)"
            ))),
            (IN_TOKEN_VERSION, None) => Err(Error::vault(format!(
                "a version {IN_TOKEN_VERSION} vault needs the 'in_token' field"
            ))),
            _ => Ok(file),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("plain strings serialize");
        out.push(b'\n');
        out
    }

    pub(crate) fn sealed(&self) -> Result<Sealed> {
        let optional = |value: &Option<String>, field| value.as_deref().map(|v| decode(v, field));
        let stanza = Stanza::from_fields(
            &self.stanza.alg,
            optional(&self.stanza.epk, "stanza.epk").transpose()?,
            optional(&self.stanza.ek, "stanza.ek").transpose()?,
        )?;
        Ok(Sealed {
            stanza,
            wrap_nonce: decode_nonce(&self.stanza.nonce, "stanza.nonce")?,
            wrapped_key: decode(&self.stanza.wrapped_key, "stanza.wrapped_key")?,
            nonce: decode_nonce(&self.nonce, "nonce")?,
            ciphertext: decode(&self.ciphertext, "ciphertext")?,
        })
    }

    pub(crate) fn stanza_from(sealed: &Sealed) -> RawStanza {
        let (epk, ek) = match &sealed.stanza {
            Stanza::P256 { epk } => (Some(STANDARD.encode(epk)), None),
            Stanza::Rsa { ek, .. } => (None, Some(STANDARD.encode(ek))),
        };
        RawStanza {
            alg: sealed.stanza.alg().to_string(),
            epk,
            ek,
            nonce: STANDARD.encode(sealed.wrap_nonce),
            wrapped_key: STANDARD.encode(&sealed.wrapped_key),
        }
    }
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn decode(value: &str, field: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(value)
        .map_err(|_| Error::vault(format!("field '{field}' is not valid base64")))
}

fn decode_nonce(value: &str, field: &str) -> Result<[u8; NONCE_LEN]> {
    let bytes = decode(value, field)?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        Error::vault(format!(
            "field '{field}' is {} bytes, expected {NONCE_LEN}",
            b.len()
        ))
    })
}

/// The one place a JSON error becomes a vault error: `message` is given serde_json's text (with
/// line and column), and the error is kept as the source. It may quote values from the file, which
/// is safe: a vault file holds no plaintext secret.
fn json_error(e: serde_json::Error, message: impl FnOnce(&serde_json::Error) -> String) -> Error {
    Error::vault(message(&e)).with_source(e)
}
