//! The signing key of a credential, behind one seam: a signer asks its [`SigningKey`] for an
//! HMAC or a signature and never reads key bytes, so the same exchange code signs with a secret
//! in locked host memory or with a key that lives on a token (issue 8) or in a key service.
//!
//! Every operation defaults to "not supported by this key": an HMAC secret cannot make RSA
//! signatures, an RSA key cannot make HMACs, and a token-held key may support only some
//! operations. A key says whether its operations [`block`](SigningKey::blocks) (a PKCS#11 or
//! network round trip), so the pipeline can move them off the async worker.

mod asymmetric;
mod hmac;
mod token;

pub use asymmetric::{is_pem, PrivateKey};
pub use hmac::HmacSecret;
pub use token::OnToken;

use std::fmt;

use crate::secret::SecretBytes;

/// What kind of key a credential signs with; exchanges that take several kinds (Binance HMAC,
/// RSA or Ed25519; Coinbase ES256 or EdDSA) choose their signature format from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// A shared secret for HMAC-SHA256/512.
    Hmac,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa,
    /// Pure Ed25519.
    Ed25519,
    /// ECDSA P-256 with SHA-256, as the fixed-size `r‖s` (JWS ES256).
    EcdsaP256,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Hmac => "HMAC",
            KeyAlgorithm::Rsa => "RSA",
            KeyAlgorithm::Ed25519 => "Ed25519",
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
        }
    }
}

impl From<crate::token::SignatureAlgorithm> for KeyAlgorithm {
    fn from(algorithm: crate::token::SignatureAlgorithm) -> Self {
        match algorithm {
            crate::token::SignatureAlgorithm::Ed25519 => KeyAlgorithm::Ed25519,
            crate::token::SignatureAlgorithm::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key operation failed. Messages name the operation and the key's kind, never material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The key cannot do this operation at all (an HMAC secret asked for an RSA signature, an
    /// in-token key asked to reveal its bytes).
    Unsupported {
        operation: &'static str,
        algorithm: KeyAlgorithm,
    },
    /// The operation was possible but failed (a token error, an RSA failure).
    Failed(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Unsupported {
                operation,
                algorithm,
            } => write!(f, "this {algorithm} key cannot {operation}"),
            KeyError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for KeyError {}

/// Runs `op`, an operation of `key`, without stalling the async worker it is called on: a key
/// that blocks (a token or key-service round trip, [`SigningKey::blocks`]) runs under
/// `block_in_place`, so the runtime moves the worker's other tasks elsewhere; a key in memory
/// runs at once. For synchronous callers on the runtime (a WebSocket session's frame).
pub fn run_blocking<T>(key: &dyn SigningKey, op: impl FnOnce() -> T) -> T {
    match key.blocks() {
        true => tokio::task::block_in_place(op),
        false => op(),
    }
}

/// [`run_blocking`] from async code, once `key`'s token has given a turn ([`turn`]): a burst
/// of requests on one token waits for it without a thread each.
pub async fn run_in_turn<T>(key: &dyn SigningKey, op: impl FnOnce() -> T) -> T {
    let _turn = turn(key).await;
    run_blocking(key, op)
}

/// A turn at `key`'s token (one of its [`gate`](SigningKey::gate)'s permits), waited for
/// asynchronously and held while the operation blocks a thread. `None` (go at once) for a key
/// without a bound.
async fn turn(key: &dyn SigningKey) -> Option<tokio::sync::SemaphorePermit<'_>> {
    // The gate is never closed: a failed acquire cannot happen, and would only not wait.
    key.gate()?.acquire().await.ok()
}

/// A credential's signing key: bytes in locked memory ([`HmacSecret`],
/// [`PrivateKey`]) or a handle on a token ([`OnToken`]).
pub trait SigningKey: Send + Sync {
    fn algorithm(&self) -> KeyAlgorithm;

    /// HMAC-SHA256 of the concatenation of `parts` (the pieces an exchange signs, in order).
    fn hmac_sha256(&self, parts: &[&[u8]]) -> Result<[u8; 32], KeyError> {
        let _ = parts;
        Err(self.unsupported("compute HMAC-SHA256"))
    }

    /// HMAC-SHA512 of the concatenation of `parts`.
    fn hmac_sha512(&self, parts: &[&[u8]]) -> Result<[u8; 64], KeyError> {
        let _ = parts;
        Err(self.unsupported("compute HMAC-SHA512"))
    }

    /// An asymmetric signature of `msg` in [`SigningKey::algorithm`]'s form.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let _ = msg;
        Err(self.unsupported("make asymmetric signatures"))
    }

    /// The secret itself, for the one kind of exchange that sends it as a header instead of
    /// signing with it (Alpaca). Only a key held in host memory can; a token-held key never.
    fn reveal(&self) -> Result<&SecretBytes, KeyError> {
        Err(self.unsupported("reveal its secret"))
    }

    /// Whether operations block the calling thread (a token or network round trip).
    fn blocks(&self) -> bool {
        false
    }

    /// The permits an async caller waits for before an operation blocks a thread (the token's
    /// [`gate`](crate::token::Token::gate)), or `None` when there is no bound.
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        None
    }

    /// The error for an operation this key does not have.
    fn unsupported(&self, operation: &'static str) -> KeyError {
        KeyError::Unsupported {
            operation,
            algorithm: self.algorithm(),
        }
    }
}

impl fmt::Debug for dyn SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, REDACTED)", self.algorithm())
    }
}

#[cfg(test)]
mod turn_tests {
    use super::*;
    use std::time::Duration;

    /// A key whose token serves one operation at a time.
    struct OneAtATime(tokio::sync::Semaphore);

    impl SigningKey for OneAtATime {
        fn algorithm(&self) -> KeyAlgorithm {
            KeyAlgorithm::Hmac
        }
        fn gate(&self) -> Option<&tokio::sync::Semaphore> {
            Some(&self.0)
        }
    }

    #[tokio::test]
    async fn a_second_caller_waits_for_the_tokens_turn_and_a_key_without_a_gate_does_not() {
        let key = OneAtATime(tokio::sync::Semaphore::new(1));
        let first = turn(&key).await;
        assert!(first.is_some());
        let waiting = tokio::time::timeout(Duration::from_millis(50), turn(&key)).await;
        assert!(
            waiting.is_err(),
            "the second turn came while the first was held"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_millis(50), turn(&key)).await;
        assert!(second.expect("the turn once the first is done").is_some());
        let memory = hmac::HmacSecret::new(crate::secret::SecretBytes::copy_from(b"k"));
        assert!(turn(&memory).await.is_none());
    }
}
