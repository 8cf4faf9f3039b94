//! What a token can do: the [`Token`] trait. Describing itself and naming its sealing public key
//! are required; every other operation is optional and by default answers "this token does not
//! support …", so a backend implements what its hardware offers and nothing else.

use std::fmt;

use super::sealing::{OaepHash, SealingAlgorithm, SealingPublicKey, ServiceKey};
use super::signing::{HmacAlgorithm, KeyRef, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The turns ([`Token::gate`]) of a key service (Vault/OpenBao Transit, AWS KMS): requests in
/// flight to it at once from threads keyward blocks on it. Beyond that many, a request waits
/// for a turn without a thread.
pub const KEY_SERVICE_TURNS: usize = 32;

/// A token holding keyward's sealing key pair, and perhaps signing keys.
pub trait Token: Send + Sync {
    /// A human description for messages, e.g. `PKCS#11 token 'keyward', key 'keyward-seal'`.
    fn describe(&self) -> String;

    /// The public half of the sealing key pair the token holds.
    fn public_key(&self) -> Result<SealingPublicKey>;

    /// Whether [`public_key`](Token::public_key) comes from the device's own record of the
    /// private key (YubiKey slot metadata, firmware 5.3+), rather than from a separate object
    /// that could be replaced (a PKCS#11 public-key object, a PIV certificate). Only then is the
    /// ECDH proof of the pair skipped (it would cost a touch on a touch-always key).
    fn public_key_is_the_devices(&self) -> bool {
        false
    }

    /// The permits for operations that block a thread, one per operation the token can serve
    /// at once (a PKCS#11 token: its session pool). An async caller waits for one *before* it
    /// blocks a thread on an operation, so a burst of requests signed on the token waits
    /// without a thread each. `None`: the token sets no bound.
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        None
    }

    /// The key-service key (and version) behind [`public_key`](Token::public_key), for a token
    /// that is a key service (Transit), once `public_key` has read it; recipients name it.
    fn service_key(&self) -> Option<ServiceKey> {
        None
    }

    /// Generates the sealing key pair on the token and returns its public half. The private key
    /// is created sensitive and non-extractable. Refuses to replace an existing key.
    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        Err(unsupported(self, Operation::Generate(algorithm)))
    }

    /// ECDH between the token's private P-256 sealing key and `peer`: the 32-byte x-coordinate
    /// of the shared point.
    fn ecdh_p256(&self, _peer: &p256::PublicKey) -> Result<SecretBytes> {
        Err(unsupported(self, Operation::EcdhP256))
    }

    /// RSA-OAEP decryption of `ciphertext` with the token's private RSA sealing key.
    fn rsa_oaep_decrypt(&self, hash: OaepHash, _ciphertext: &[u8]) -> Result<SecretBytes> {
        Err(unsupported(self, Operation::RsaOaepDecrypt(hash)))
    }

    /// The HMAC of the concatenation of `parts` (the pieces an exchange signs, in order, as the
    /// `SigningKey` seam passes them) under the secret key `key`, which never leaves the token.
    fn hmac(&self, _key: &KeyRef, algorithm: HmacAlgorithm, _parts: &[&[u8]]) -> Result<Vec<u8>> {
        Err(unsupported(self, Operation::Hmac(algorithm)))
    }

    /// Stores `secret` on the token under `key` as a sensitive, non-extractable HMAC key that can
    /// only sign (compute HMACs). Refuses to replace an existing key.
    fn import_hmac_key(&self, _key: &KeyRef, _secret: &SecretBytes) -> Result<()> {
        Err(unsupported(self, Operation::ImportHmacKey))
    }

    /// The exchange API key pair the token holds under `key`, if any: its algorithm and its
    /// public key as DER SubjectPublicKeyInfo. A token that cannot hold such keys holds none.
    fn signing_public_key(&self, _key: &KeyRef) -> Result<Option<(SignatureAlgorithm, Vec<u8>)>> {
        Ok(None)
    }

    /// The signature of `message` with the private key `key`, in the algorithm's fixed-size form
    /// (Ed25519: 64 bytes; ECDSA: `r || s`, as JWS ES256 wants).
    fn sign(
        &self,
        _key: &KeyRef,
        algorithm: SignatureAlgorithm,
        _message: &[u8],
    ) -> Result<Vec<u8>> {
        Err(unsupported(self, Operation::Sign(algorithm)))
    }

    /// Generates an exchange API key pair on the token under `key` and returns its public key as
    /// DER SubjectPublicKeyInfo. The private key is created sensitive and non-extractable.
    /// Refuses to replace an existing key.
    fn generate_signing_key(
        &self,
        _key: &KeyRef,
        algorithm: SignatureAlgorithm,
    ) -> Result<Vec<u8>> {
        Err(unsupported(self, Operation::GenerateSigningKey(algorithm)))
    }
}

/// An optional [`Token`] operation, as named in "does not support" errors.
#[derive(Clone, Copy, Debug)]
pub(super) enum Operation {
    Generate(SealingAlgorithm),
    EcdhP256,
    RsaOaepDecrypt(OaepHash),
    Hmac(HmacAlgorithm),
    ImportHmacKey,
    Sign(SignatureAlgorithm),
    GenerateSigningKey(SignatureAlgorithm),
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Generate(alg) => write!(f, "generating a sealing key pair ({alg})"),
            Operation::EcdhP256 => f.write_str("P-256 ECDH (which opens vaults sealed to P-256)"),
            Operation::RsaOaepDecrypt(hash) => write!(f, "RSA-OAEP decryption with {hash}"),
            Operation::Hmac(alg) => write!(f, "{alg} with a key kept on the token"),
            Operation::ImportHmacKey => f.write_str("keeping HMAC keys (no HMAC mechanism)"),
            Operation::Sign(alg) => write!(f, "{alg} signing with a key kept on the token"),
            Operation::GenerateSigningKey(alg) => {
                write!(f, "generating an {alg} exchange API key on the token")
            }
        }
    }
}

/// The error of an operation `token` does not offer.
pub(super) fn unsupported<T: Token + ?Sized>(token: &T, operation: Operation) -> Error {
    Error::token(format!(
        "{}: this token does not support {operation}",
        token.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token that implements only what every token must.
    struct Minimal;

    impl Token for Minimal {
        fn describe(&self) -> String {
            "minimal test token".into()
        }
        fn public_key(&self) -> Result<SealingPublicKey> {
            Err(Error::token("no key"))
        }
    }

    #[test]
    fn optional_operations_say_what_the_token_does_not_support() {
        let token: &dyn Token = &Minimal;
        let peer = p256::SecretKey::from_slice(&[7; 32]).unwrap().public_key();
        let key = KeyRef::new("keyward-hmac-x");
        let errors = [
            (
                token.generate(SealingAlgorithm::Rsa3072).unwrap_err(),
                "generating a sealing key pair (RSA-3072)",
            ),
            (token.ecdh_p256(&peer).unwrap_err(), "P-256 ECDH"),
            (
                token.rsa_oaep_decrypt(OaepHash::Sha256, b"").unwrap_err(),
                "RSA-OAEP decryption with SHA-256",
            ),
            (
                token
                    .hmac(&key, HmacAlgorithm::Sha512, &[b"m"])
                    .unwrap_err(),
                "HMAC-SHA512 with a key kept on the token",
            ),
            (
                token
                    .sign(&key, SignatureAlgorithm::Ed25519, b"m")
                    .unwrap_err(),
                "Ed25519 signing",
            ),
        ];
        for (err, what) in errors {
            assert_eq!(err.kind(), crate::ErrorKind::Token);
            let msg = err.to_string();
            assert!(
                msg.starts_with("minimal test token: this token does not support "),
                "{msg}"
            );
            assert!(msg.contains(what), "{msg}");
        }
    }
}
