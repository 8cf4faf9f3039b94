//! An exchange key kept on the token: every HMAC and signature is a token operation, and the
//! key's bytes never enter keyward's memory.

use std::sync::Arc;

use super::{KeyAlgorithm, KeyError, SigningKey};
use crate::token::{HmacAlgorithm, KeyRef, SignatureAlgorithm, Token};

/// A handle on a key that lives on `token` under `key`. Its operations block (a token round
/// trip), so the pipeline runs them off the async worker; it can never reveal its secret.
pub struct OnToken {
    token: Arc<dyn Token>,
    key: KeyRef,
    algorithm: KeyAlgorithm,
}

impl OnToken {
    /// An HMAC secret on the token.
    pub fn hmac(token: Arc<dyn Token>, key: KeyRef) -> Self {
        OnToken {
            token,
            key,
            algorithm: KeyAlgorithm::Hmac,
        }
    }

    /// An API key pair on the token.
    pub fn pair(token: Arc<dyn Token>, key: KeyRef, algorithm: SignatureAlgorithm) -> Self {
        OnToken {
            token,
            key,
            algorithm: algorithm.into(),
        }
    }

    fn mac<const N: usize>(
        &self,
        hash: HmacAlgorithm,
        parts: &[&[u8]],
    ) -> Result<[u8; N], KeyError> {
        let mac = self.token.hmac(&self.key, hash, parts).map_err(failed)?;
        mac.try_into().map_err(|mac: Vec<u8>| {
            KeyError::Failed(format!(
                "{hash} from the token is {} bytes, expected {N}",
                mac.len()
            ))
        })
    }
}

/// A token operation that failed while serving. The key was usable at start-up (checked there),
/// so the token itself is the likely cause: the message says so, not only what the token said.
fn failed(e: crate::error::Error) -> KeyError {
    KeyError::Failed(format!(
        "{e} (the key worked at start-up: the token is probably gone or failing; requests signed \
         on it are refused until it answers again)"
    ))
}

impl std::fmt::Debug for OnToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OnToken({}, {})", self.algorithm, self.key)
    }
}

impl SigningKey for OnToken {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn hmac_sha256(&self, parts: &[&[u8]]) -> Result<[u8; 32], KeyError> {
        match self.algorithm {
            KeyAlgorithm::Hmac => self.mac(HmacAlgorithm::Sha256, parts),
            _ => Err(self.unsupported("compute HMAC-SHA256")),
        }
    }

    fn hmac_sha512(&self, parts: &[&[u8]]) -> Result<[u8; 64], KeyError> {
        match self.algorithm {
            KeyAlgorithm::Hmac => self.mac(HmacAlgorithm::Sha512, parts),
            _ => Err(self.unsupported("compute HMAC-SHA512")),
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let algorithm = match self.algorithm {
            KeyAlgorithm::Ed25519 => SignatureAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256 => SignatureAlgorithm::EcdsaP256,
            _ => return Err(self.unsupported("make asymmetric signatures")),
        };
        self.token.sign(&self.key, algorithm, msg).map_err(failed)
    }

    fn blocks(&self) -> bool {
        true
    }

    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        self.token.gate()
    }
}
