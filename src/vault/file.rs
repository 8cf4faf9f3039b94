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
#[derive(Clone, Serialize, Deserialize)]
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
pub(crate) struct VersionProbe {
    pub keyward_vault: Option<serde_json::Value>,
}

impl VaultFile {
    /// A version 1 or 2 file (the caller has read its version).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
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

/// The binary parts of one sealed version, decoded and checked for length.
pub(crate) fn sealed_parts(stanza: &RawStanza, nonce: &str, ciphertext: &str) -> Result<Sealed> {
    let optional = |value: &Option<String>, field| value.as_deref().map(|v| decode(v, field));
    let parsed = Stanza::from_fields(
        &stanza.alg,
        optional(&stanza.epk, "stanza.epk").transpose()?,
        optional(&stanza.ek, "stanza.ek").transpose()?,
    )?;
    Ok(Sealed {
        stanza: parsed,
        wrap_nonce: decode_nonce(&stanza.nonce, "stanza.nonce")?,
        wrapped_key: decode(&stanza.wrapped_key, "stanza.wrapped_key")?,
        nonce: decode_nonce(nonce, "nonce")?,
        ciphertext: decode(ciphertext, "ciphertext")?,
    })
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
pub(crate) fn json_error(
    e: serde_json::Error,
    message: impl FnOnce(&serde_json::Error) -> String,
) -> Error {
    Error::vault(message(&e)).with_source(e)
}
