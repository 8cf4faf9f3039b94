//! The vocabulary of signing inside the token, with a key that never leaves it: which key, and
//! which algorithm.

use std::fmt;

use p256::pkcs8::EncodePublicKey;
use spki::der::asn1::BitString;
use spki::der::Encode;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// How a token finds one of its signing keys: a PKCS#11 `CKA_LABEL` such as
/// `keyward-hmac-binance-main`, a PIV slot. Object handles are not stable across sessions, so a
/// key is always named this way; only the backend that created the reference reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef(String);

impl KeyRef {
    pub fn new(reference: impl Into<String>) -> Self {
        KeyRef(reference.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0)
    }
}

/// An HMAC computed inside the token (`CKM_SHA256_HMAC`, `CKM_SHA512_HMAC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    Sha256,
    Sha512,
}

impl fmt::Display for HmacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HmacAlgorithm::Sha256 => "HMAC-SHA256",
            HmacAlgorithm::Sha512 => "HMAC-SHA512",
        })
    }
}

/// An asymmetric signature made inside the token with an exchange API key generated there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// Ed25519 over the message (`CKM_EDDSA`), e.g. Binance Ed25519 API keys.
    Ed25519,
    /// ECDSA P-256 over SHA-256 of the message (`CKM_ECDSA` on the digest), e.g. Coinbase ES256.
    EcdsaP256,
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureAlgorithm::Ed25519 => "Ed25519",
            SignatureAlgorithm::EcdsaP256 => "ECDSA P-256 (SHA-256)",
        })
    }
}

/// DER SubjectPublicKeyInfo of a P-256 key (RFC 5480).
pub(super) fn p256_spki(key: &p256::PublicKey) -> Vec<u8> {
    key.to_public_key_der()
        .expect("a P-256 key encodes")
        .into_vec()
}

/// DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410).
pub(super) fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ED25519_OID,
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(key).expect("32 bytes fit a BIT STRING"),
    }
    .to_der()
    .expect("an Ed25519 SPKI encodes")
}
