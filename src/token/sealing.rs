//! The sealing key's vocabulary: which algorithm a token's sealing key pair uses, and its public
//! half, which is all that `keyward seal` needs.

use std::fmt;

use rsa::traits::PublicKeyParts;

/// The algorithm of a sealing key pair: how a vault's data key is recovered inside the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealingAlgorithm {
    /// ECDH on NIST P-256 (`CKM_ECDH1_DERIVE`, PIV GENERAL AUTHENTICATE).
    P256,
    /// RSA-OAEP with a 3072-bit modulus (`CKM_RSA_PKCS_OAEP`), for HSMs without ECDH.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealingPublicKey {
    P256(p256::PublicKey),
    Rsa3072(Rsa3072PublicKey),
}

impl SealingPublicKey {
    pub fn algorithm(&self) -> SealingAlgorithm {
        match self {
            SealingPublicKey::P256(_) => SealingAlgorithm::P256,
            SealingPublicKey::Rsa3072(_) => SealingAlgorithm::Rsa3072,
        }
    }

    /// The P-256 key, if this is one.
    pub fn as_p256(&self) -> Option<&p256::PublicKey> {
        match self {
            SealingPublicKey::P256(key) => Some(key),
            SealingPublicKey::Rsa3072(_) => None,
        }
    }

    /// The RSA key, if this is one.
    pub fn as_rsa(&self) -> Option<&Rsa3072PublicKey> {
        match self {
            SealingPublicKey::Rsa3072(key) => Some(key),
            SealingPublicKey::P256(_) => None,
        }
    }
}

impl From<p256::PublicKey> for SealingPublicKey {
    fn from(key: p256::PublicKey) -> Self {
        SealingPublicKey::P256(key)
    }
}

impl From<Rsa3072PublicKey> for SealingPublicKey {
    fn from(key: Rsa3072PublicKey) -> Self {
        SealingPublicKey::Rsa3072(key)
    }
}

/// An RSA public key with a 3072-bit modulus: the only size keyward generates and seals to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rsa3072PublicKey(rsa::RsaPublicKey);

impl Rsa3072PublicKey {
    /// Modulus length in bits.
    pub const BITS: usize = 3072;

    /// Checks the modulus size; errors say what was found.
    pub fn new(key: rsa::RsaPublicKey) -> Result<Self, String> {
        let bits = key.n().bits();
        if bits != Self::BITS {
            return Err(format!(
                "the RSA key has a {bits}-bit modulus; keyward seals to RSA-3072 keys only"
            ));
        }
        Ok(Rsa3072PublicKey(key))
    }

    /// From the big-endian modulus and public exponent (`CKA_MODULUS`, `CKA_PUBLIC_EXPONENT`).
    pub fn from_components(modulus: &[u8], exponent: &[u8]) -> Result<Self, String> {
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(modulus),
            rsa::BigUint::from_bytes_be(exponent),
        )
        .map_err(|e| format!("not a usable RSA public key ({e})"))?;
        Self::new(key)
    }

    pub fn as_rsa(&self) -> &rsa::RsaPublicKey {
        &self.0
    }
}

/// The hash (and MGF1 hash) of an RSA-OAEP encryption, with an empty label. SHA-256 wherever the
/// token supports it; SoftHSM 2.6 accepts SHA-1 only. Which one a token takes is found out by a
/// trial decryption when its recipient is made (see `vault::recipient_of`), since
/// `C_GetMechanismInfo` says nothing about OAEP parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OaepHash {
    Sha1,
    Sha256,
}

impl OaepHash {
    /// Preferred first.
    pub const PREFERENCE: [OaepHash; 2] = [OaepHash::Sha256, OaepHash::Sha1];

    /// The lowercase name used in recipient strings and vault `alg` values.
    pub fn id(self) -> &'static str {
        match self {
            OaepHash::Sha1 => "sha1",
            OaepHash::Sha256 => "sha256",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::PREFERENCE.into_iter().find(|h| h.id() == id)
    }
}

impl fmt::Display for OaepHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OaepHash::Sha1 => "SHA-1",
            OaepHash::Sha256 => "SHA-256",
        })
    }
}

/// Which key service holds a [`ServiceKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyService {
    /// HashiCorp Vault / OpenBao Transit.
    Transit,
    /// AWS KMS.
    AwsKms,
}

/// A version of a key in a key service, as a recipient string names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceKey {
    pub service: KeyService,
    /// The Transit mount path, e.g. `transit`; for AWS KMS, the region.
    pub mount: String,
    /// The key's name.
    pub key: String,
    /// The key version (Transit's `latest_version` when the recipient was made; always 1 for
    /// AWS KMS, whose asymmetric keys never rotate).
    pub version: u32,
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.service {
            KeyService::Transit => write!(
                f,
                "Transit key '{}/{}' version {}",
                self.mount, self.key, self.version
            ),
            KeyService::AwsKms => write!(f, "AWS KMS key {} in {}", self.key, self.mount),
        }
    }
}
