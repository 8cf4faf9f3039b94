//! What an in-token vault records in place of the secret: which key on the token signs for the
//! credential (vault format version 2, field `in_token`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::token::{KeyRef, SignatureAlgorithm};

const HMAC: &str = "hmac";
const ED25519: &str = "ed25519";
const ECDSA_P256: &str = "ecdsa-p256";
const MAX_LABEL: usize = 128;

/// An exchange signing key that lives on the token. The secret is never in the vault file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKey {
    /// An HMAC secret stored on the token as a sensitive, non-extractable secret key.
    Hmac { label: KeyRef },
    /// An exchange API key pair generated on the token. Its public key (DER
    /// SubjectPublicKeyInfo) is recorded so that start-up can check the token still holds it.
    Pair {
        label: KeyRef,
        algorithm: SignatureAlgorithm,
        public_key: Vec<u8>,
    },
}

impl TokenKey {
    pub fn label(&self) -> &KeyRef {
        match self {
            TokenKey::Hmac { label } | TokenKey::Pair { label, .. } => label,
        }
    }

    /// E.g. "HMAC key 'keyward-hmac-binance-main'".
    pub fn describe(&self) -> String {
        match self {
            TokenKey::Hmac { label } => format!("HMAC key {label}"),
            TokenKey::Pair {
                label, algorithm, ..
            } => format!("{algorithm} key pair {label}"),
        }
    }

    pub(crate) fn to_raw(&self) -> RawTokenKey {
        let (kind, public_key) = match self {
            TokenKey::Hmac { .. } => (HMAC, None),
            TokenKey::Pair {
                algorithm,
                public_key,
                ..
            } => (
                match algorithm {
                    SignatureAlgorithm::Ed25519 => ED25519,
                    SignatureAlgorithm::EcdsaP256 => ECDSA_P256,
                },
                Some(STANDARD.encode(public_key)),
            ),
        };
        RawTokenKey {
            kind: kind.to_owned(),
            label: self.label().as_str().to_owned(),
            public_key,
        }
    }
}

/// The `in_token` object as written.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTokenKey {
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl RawTokenKey {
    pub(crate) fn parse(&self) -> Result<TokenKey> {
        if self.label.is_empty()
            || self.label.len() > MAX_LABEL
            || self.label.chars().any(char::is_control)
        {
            return Err(Error::vault(format!(
                "field 'in_token.label' must be 1 to {MAX_LABEL} characters without control \
                 characters"
            )));
        }
        let label = KeyRef::new(self.label.clone());
        let algorithm = match self.kind.as_str() {
            HMAC => {
                if self.public_key.is_some() {
                    return Err(Error::vault(
                        "field 'in_token.public_key' does not belong to an HMAC key",
                    ));
                }
                return Ok(TokenKey::Hmac { label });
            }
            ED25519 => SignatureAlgorithm::Ed25519,
            ECDSA_P256 => SignatureAlgorithm::EcdsaP256,
            other => {
                return Err(Error::vault(format!(
                    "in_token.type '{other}' is not supported (this keyward reads {HMAC}, \
                     {ED25519}, {ECDSA_P256})"
                )))
            }
        };
        let public_key = self
            .public_key
            .as_deref()
            .ok_or_else(|| Error::vault("an in-token key pair needs 'in_token.public_key'"))?;
        let public_key = STANDARD
            .decode(public_key)
            .map_err(|_| Error::vault("field 'in_token.public_key' is not valid base64"))?;
        Ok(TokenKey::Pair {
            label,
            algorithm,
            public_key,
        })
    }
}
