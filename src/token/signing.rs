//! The vocabulary of signing inside the token, with a key that never leaves it: which key, and
//! which algorithm.

use std::fmt;

use p256::pkcs8::EncodePublicKey;
use spki::der::asn1::BitString;
use spki::der::Encode;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::secret::SecretBytes;

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

/// HMAC keys shorter than this are stored zero-padded to it. SoftHSM refuses `CKM_SHA256_HMAC`
/// keys under 32 bytes and `CKM_SHA512_HMAC` keys under 64, and Transit imports no HMAC key
/// under 32 bytes; HMAC pads every key shorter than the hash's block size (64 bytes for SHA-256,
/// 128 for SHA-512) with zeros to that size, so a key and the key zero-padded to 64 bytes give
/// the same HMAC-SHA256 and HMAC-SHA512 results.
pub(crate) const HMAC_KEY_MIN: usize = 64;

/// The key's bytes zero-padded to [`HMAC_KEY_MIN`] (unchanged if already that long).
pub(crate) fn padded_hmac_key(secret: &[u8]) -> SecretBytes {
    let mut padded = SecretBytes::zeroed(secret.len().max(HMAC_KEY_MIN));
    padded.expose_mut()[..secret.len()].copy_from_slice(secret);
    padded
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

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::{Sha256, Sha512};

    /// The padding is invisible to HMAC: for every key length up to the padded length, and both
    /// hashes, the padded key gives the result of the key itself (RFC 2104: keys shorter than
    /// the block size are zero-padded to it). The SoftHSM and
    /// Transit tests check the tokens agree.
    #[test]
    fn zero_padding_leaves_hmac_unchanged() {
        let msg = b"symbol=BTCUSDT&side=BUY&timestamp=1";
        for len in 1..=HMAC_KEY_MIN + 8 {
            let key: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) | 1).collect();
            let padded = padded_hmac_key(&key);
            assert_eq!(padded.len(), len.max(HMAC_KEY_MIN));
            let mac256 = |k: &[u8]| {
                let mut m = Hmac::<Sha256>::new_from_slice(k).unwrap();
                m.update(msg);
                m.finalize().into_bytes()
            };
            let mac512 = |k: &[u8]| {
                let mut m = Hmac::<Sha512>::new_from_slice(k).unwrap();
                m.update(msg);
                m.finalize().into_bytes()
            };
            assert_eq!(mac256(&key), mac256(padded.expose()), "len {len}");
            assert_eq!(mac512(&key), mac512(padded.expose()), "len {len}");
        }
        // Padding past the block size would change the result: that is why it stops at 64.
        let key = [7u8; 16];
        let mut too_long = key.to_vec();
        too_long.resize(65, 0);
        let mut a = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        let mut b = Hmac::<Sha256>::new_from_slice(&too_long).unwrap();
        a.update(msg);
        b.update(msg);
        assert_ne!(a.finalize().into_bytes(), b.finalize().into_bytes());
    }
}
