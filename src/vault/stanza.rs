//! The stanza: how a vault's key-encryption key (KEK) is agreed between the sealer, who has only
//! the recipient's public key, and the token, which holds the private key.
//!
//! Both kinds end in the same 32-byte shared secret, from which the KEK is derived the same way:
//!
//! ```text
//! P-256:   epk = fresh ephemeral key;  shared = ECDH(epk, recipient).x     (token: CKM_ECDH1_DERIVE)
//! RSA:     shared = 32 random bytes;   ek = RSA-OAEP(recipient, shared)   (token: CKM_RSA_PKCS_OAEP)
//! KEK    = HKDF-SHA256(ikm = shared, salt = material || recipient key bytes, info = per kind)
//! ```
//!
//! where `material` is `epk` (compressed SEC1, 33 bytes) or `ek` (384 bytes), and the recipient
//! key bytes are the compressed point or the DER SubjectPublicKeyInfo. The OAEP label is empty
//! (SoftHSM accepts no other); the header is bound by the AEAD wrapping the data key instead.

use hkdf::Hkdf;
use p256::ecdh::EphemeralSecret;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::OsRng;
use sha2::Sha256;

use super::recipient::{oaep_encrypt, Recipient};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{OaepHash, Rsa3072PublicKey, Token};

/// Why opening failed when the file was modified, or sealed for another credential or key.
pub(crate) const AUTH_FAILED: &str = "authentication failed — the file was modified, or it was \
                                      sealed for another credential or key";

pub(crate) const ALG_P256: &str = "p256-ecdh-hkdf-sha256";
const ALG_RSA_SHA256: &str = "rsa-oaep-sha256-hkdf-sha256";
const ALG_RSA_SHA1: &str = "rsa-oaep-sha1-hkdf-sha256";
/// Every `stanza.alg` this keyward reads.
pub(crate) const ALGS: [&str; 3] = [ALG_P256, ALG_RSA_SHA256, ALG_RSA_SHA1];

const P256_INFO: &[u8] = b"keyward/v1/p256 data key";
const RSA_INFO: &[u8] = b"keyward/v1/rsa-oaep data key";
const SHARED_LEN: usize = 32;
const KEK_LEN: usize = 32;
const P256_EPK_LEN: usize = super::recipient::P256_COMPRESSED_LEN;
const RSA_EK_LEN: usize = Rsa3072PublicKey::BITS / 8;

/// A parsed stanza: the public material the token needs to recover the shared secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stanza {
    /// The ephemeral public key, compressed SEC1.
    P256 { epk: Vec<u8> },
    /// The RSA-OAEP encryption of the shared secret, and its hash.
    Rsa { oaep: OaepHash, ek: Vec<u8> },
}

impl Stanza {
    pub(crate) fn alg(&self) -> &'static str {
        match self {
            Stanza::P256 { .. } => ALG_P256,
            Stanza::Rsa {
                oaep: OaepHash::Sha256,
                ..
            } => ALG_RSA_SHA256,
            Stanza::Rsa {
                oaep: OaepHash::Sha1,
                ..
            } => ALG_RSA_SHA1,
        }
    }

    /// From a file's fields: `epk` for P-256, `ek` for RSA, never both.
    pub(crate) fn from_fields(
        alg: &str,
        epk: Option<Vec<u8>>,
        ek: Option<Vec<u8>>,
    ) -> Result<Stanza> {
        let oaep = match alg {
            ALG_P256 => None,
            ALG_RSA_SHA256 => Some(OaepHash::Sha256),
            ALG_RSA_SHA1 => Some(OaepHash::Sha1),
            other => {
                return Err(Error::vault(format!(
                    "key wrapping '{other}' is not supported (this keyward reads {})",
                    ALGS.join(", ")
                )))
            }
        };
        let exact = |field: &str, value: Option<Vec<u8>>, len: usize| match value {
            None => Err(Error::vault(format!(
                "stanza.alg '{alg}' needs the field 'stanza.{field}'"
            ))),
            Some(v) if v.len() != len => Err(Error::vault(format!(
                "field 'stanza.{field}' is {} bytes, expected {len}",
                v.len()
            ))),
            Some(v) => Ok(v),
        };
        let absent = |field: &str, value: &Option<Vec<u8>>| match value {
            Some(_) => Err(Error::vault(format!(
                "field 'stanza.{field}' does not belong to stanza.alg '{alg}'"
            ))),
            None => Ok(()),
        };
        match oaep {
            None => {
                absent("ek", &ek)?;
                Ok(Stanza::P256 {
                    epk: exact("epk", epk, P256_EPK_LEN)?,
                })
            }
            Some(oaep) => {
                absent("epk", &epk)?;
                Ok(Stanza::Rsa {
                    oaep,
                    ek: exact("ek", ek, RSA_EK_LEN)?,
                })
            }
        }
    }

    /// The sealer's side: a fresh stanza for `recipient` and the shared secret it carries.
    pub(crate) fn create(recipient: &Recipient) -> Result<(Stanza, SecretBytes)> {
        match recipient {
            Recipient::P256(key) => {
                let ephemeral = EphemeralSecret::random(&mut OsRng);
                let epk = ephemeral
                    .public_key()
                    .to_encoded_point(true)
                    .as_bytes()
                    .to_vec();
                let shared = ephemeral.diffie_hellman(key);
                let shared = SecretBytes::copy_from(shared.raw_secret_bytes());
                Ok((Stanza::P256 { epk }, shared))
            }
            Recipient::Rsa { key, oaep, .. } => {
                let mut shared = SecretBytes::zeroed(SHARED_LEN);
                getrandom::getrandom(shared.expose_mut())?;
                let ek = oaep_encrypt(key, *oaep, shared.expose())?;
                Ok((Stanza::Rsa { oaep: *oaep, ek }, shared))
            }
        }
    }

    /// The opener's side: the token recovers the shared secret; its private key never leaves it.
    pub(crate) fn recover(&self, token: &dyn Token) -> Result<SecretBytes> {
        let shared = match self {
            Stanza::P256 { epk } => {
                let epk = p256::PublicKey::from_sec1_bytes(epk)
                    .map_err(|_| Error::vault("stanza.epk is not a P-256 point"))?;
                token.ecdh_p256(&epk)?
            }
            Stanza::Rsa { oaep, ek } => token.rsa_oaep_decrypt(*oaep, ek).map_err(|e| {
                e.context(
                    "stanza.ek could not be decrypted (the file was modified, or it was sealed \
                     to another key)",
                )
            })?,
        };
        if shared.len() != SHARED_LEN {
            return Err(Error::vault(AUTH_FAILED));
        }
        Ok(shared)
    }

    /// The KEK from the shared secret: HKDF-SHA256 with this stanza's material and the recipient
    /// key in the salt.
    pub(crate) fn kek(&self, shared: &SecretBytes, recipient_key: &[u8]) -> Result<SecretBytes> {
        let (material, info) = match self {
            Stanza::P256 { epk } => (epk, P256_INFO),
            Stanza::Rsa { ek, .. } => (ek, RSA_INFO),
        };
        let mut salt = Vec::with_capacity(material.len() + recipient_key.len());
        salt.extend_from_slice(material);
        salt.extend_from_slice(recipient_key);
        let mut kek = SecretBytes::zeroed(KEK_LEN);
        Hkdf::<Sha256>::new(Some(&salt), shared.expose())
            .expand(info, kek.expose_mut())
            .map_err(|_| Error::vault("HKDF output length invalid"))?;
        Ok(kek)
    }
}
