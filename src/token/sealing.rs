//! The sealing key's vocabulary: which algorithm a token's sealing key pair uses, and its public
//! half, which is all that `keyward seal` needs.

use std::fmt;

/// The algorithm of a sealing key pair: how a vault's data key is recovered inside the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealingAlgorithm {
    /// ECDH on NIST P-256 (`CKM_ECDH1_DERIVE`, PIV GENERAL AUTHENTICATE).
    P256,
    /// RSA-OAEP with a 3072-bit modulus (`CKM_RSA_PKCS_OAEP`), for HSMs without ECDH. No backend
    /// generates or uses one yet, and no vault is sealed to one.
    Rsa3072,
}

impl fmt::Display for SealingAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealingAlgorithm::P256 => "P-256",
            SealingAlgorithm::Rsa3072 => "RSA-3072",
        })
    }
}

/// The public half of a token's sealing key pair.
///
/// One variant per public-key type a vault can be sealed to; an RSA public key joins P-256 when
/// vaults can be sealed with RSA-OAEP (each `match` on this type then says what to do with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealingPublicKey {
    P256(p256::PublicKey),
}

impl SealingPublicKey {
    pub fn algorithm(&self) -> SealingAlgorithm {
        match self {
            SealingPublicKey::P256(_) => SealingAlgorithm::P256,
        }
    }

    /// The P-256 key, if this is one.
    pub fn as_p256(&self) -> Option<&p256::PublicKey> {
        match self {
            SealingPublicKey::P256(key) => Some(key),
        }
    }
}

impl From<p256::PublicKey> for SealingPublicKey {
    fn from(key: p256::PublicKey) -> Self {
        SealingPublicKey::P256(key)
    }
}

/// The hash (and MGF1 hash) of an RSA-OAEP decryption. SHA-256 wherever the token supports it;
/// SoftHSM 2.6 accepts SHA-1 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OaepHash {
    Sha1,
    Sha256,
}

impl fmt::Display for OaepHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OaepHash::Sha1 => "SHA-1",
            OaepHash::Sha256 => "SHA-256",
        })
    }
}
