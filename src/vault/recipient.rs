//! The public half of a sealing key: what `keyward seal` needs, and all it needs.
//!
//! For RSA, the recipient also says which OAEP hash the token decrypts with, since sealing runs
//! without the token: `keyward keygen` finds out by a trial decryption ([`recipient_of`]).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::OsRng;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{OaepHash, Rsa3072PublicKey, SealingPublicKey, Token};

const PREFIX: &str = "kwr1-";
const P256_TAG: &str = "p256";
const RSA_TAG: &str = "rsa3072";
/// Length of a compressed SEC1 P-256 point.
pub(crate) const P256_COMPRESSED_LEN: usize = 33;

/// A key that vault files are sealed to. Its string form is
/// `kwr1-p256-<base64url, no padding, of the 33-byte compressed SEC1 point>` or
/// `kwr1-rsa3072-<sha256|sha1>-<base64url, no padding, of the DER SubjectPublicKeyInfo>`.
#[derive(Clone, PartialEq, Eq)]
pub enum Recipient {
    P256(p256::PublicKey),
    /// An RSA-3072 key and the OAEP hash its token decrypts with.
    Rsa {
        key: Rsa3072PublicKey,
        oaep: OaepHash,
    },
}

impl Recipient {
    pub fn p256(key: p256::PublicKey) -> Self {
        Recipient::P256(key)
    }

    pub fn rsa(key: Rsa3072PublicKey, oaep: OaepHash) -> Self {
        Recipient::Rsa { key, oaep }
    }

    pub fn public_key(&self) -> SealingPublicKey {
        match self {
            Recipient::P256(key) => SealingPublicKey::P256(*key),
            Recipient::Rsa { key, .. } => SealingPublicKey::Rsa3072(key.clone()),
        }
    }

    /// The key's encoding that the fingerprint, the string form and the KDF salt are built from.
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        key_bytes(&self.public_key())
    }

    /// Hex of the first 16 bytes of SHA-256 over [`key_bytes`].
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public_key())
    }
}

/// The encoding of a sealing public key that fingerprints and KDF salts use: the 33-byte
/// compressed SEC1 point for P-256, the DER SubjectPublicKeyInfo for RSA.
pub(crate) fn key_bytes(key: &SealingPublicKey) -> Vec<u8> {
    match key {
        SealingPublicKey::P256(key) => key.to_encoded_point(true).as_bytes().to_vec(),
        SealingPublicKey::Rsa3072(key) => key
            .as_rsa()
            .to_public_key_der()
            .expect("an RSA public key encodes")
            .into_vec(),
    }
}

/// The fingerprint of a sealing key, as a vault file's `recipient` field records it: hex of the
/// first 16 bytes of SHA-256 over [`key_bytes`]. It names the key, not the OAEP hash (which the
/// vault's `stanza.alg` records).
pub fn fingerprint(key: &SealingPublicKey) -> String {
    hex::encode(&Sha256::digest(key_bytes(key))[..16])
}

/// The recipient of the sealing key `token` holds. For an RSA key this makes one trial
/// decryption per OAEP hash, SHA-256 first: a random value is encrypted here exactly as `seal`
/// encrypts, and the token must return it. The first hash that round-trips is recorded in the
/// recipient; `C_GetMechanismInfo` cannot tell, as it says nothing about OAEP parameters.
pub fn recipient_of(token: &dyn Token) -> Result<Recipient> {
    let key = match token.public_key()? {
        SealingPublicKey::P256(key) => return Ok(Recipient::P256(key)),
        SealingPublicKey::Rsa3072(key) => key,
    };
    let mut failures = Vec::new();
    for oaep in OaepHash::PREFERENCE {
        let mut probe = SecretBytes::zeroed(32);
        getrandom::getrandom(probe.expose_mut())?;
        let ciphertext = oaep_encrypt(&key, oaep, probe.expose())?;
        match token.rsa_oaep_decrypt(oaep, &ciphertext) {
            Ok(plain) if plain.expose() == probe.expose() => {
                return Ok(Recipient::Rsa { key, oaep });
            }
            Ok(_) => failures.push(format!("{oaep}: the token decrypted to another value")),
            Err(e) => failures.push(format!("{oaep}: {e}")),
        }
    }
    Err(Error::token(format!(
        "{}: the RSA sealing key cannot decrypt RSA-OAEP with SHA-256 or SHA-1, so no vault \
         could be opened with it ({})",
        token.describe(),
        failures.join("; ")
    )))
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = URL_SAFE_NO_PAD.encode(self.key_bytes());
        match self {
            Recipient::P256(_) => write!(f, "{PREFIX}{P256_TAG}-{key}"),
            Recipient::Rsa { oaep, .. } => write!(f, "{PREFIX}{RSA_TAG}-{}-{key}", oaep.id()),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

impl FromStr for Recipient {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let shown: String = s.chars().take(80).collect();
        let bad = |why: &str| Error::usage(format!("recipient '{shown}': {why}"));
        let rest = s.strip_prefix(PREFIX).ok_or_else(|| {
            bad(
                "a recipient starts with 'kwr1-'; print the token's with `keyward keygen` or \
                 `keyward check`",
            )
        })?;
        let (tag, encoded) = rest
            .split_once('-')
            .ok_or_else(|| bad("expected 'kwr1-<key type>-<key>'"))?;
        let decode = |encoded: &str| {
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| bad("the key is not valid unpadded base64url"))
        };
        match tag {
            P256_TAG => parse_p256(&decode(encoded)?).map_err(|why| bad(&why)),
            RSA_TAG => {
                let (hash, encoded) = encoded
                    .split_once('-')
                    .ok_or_else(|| bad("expected 'kwr1-rsa3072-<sha256|sha1>-<key>'"))?;
                let oaep = OaepHash::from_id(hash).ok_or_else(|| {
                    bad(&format!(
                        "OAEP hash '{hash}' is not supported (sha256 or sha1)"
                    ))
                })?;
                let key = rsa::RsaPublicKey::from_public_key_der(&decode(encoded)?)
                    .map_err(|_| bad("the key is not a DER RSA SubjectPublicKeyInfo"))?;
                let key = Rsa3072PublicKey::new(key).map_err(|why| bad(&why))?;
                Ok(Recipient::Rsa { key, oaep })
            }
            other => Err(bad(&format!(
                "key type '{other}' is not supported (this keyward supports p256 and rsa3072)"
            ))),
        }
    }
}

fn parse_p256(bytes: &[u8]) -> std::result::Result<Recipient, String> {
    if bytes.len() != P256_COMPRESSED_LEN {
        return Err(format!(
            "the key is {} bytes, a compressed P-256 point is {P256_COMPRESSED_LEN}",
            bytes.len()
        ));
    }
    if !matches!(bytes[0], 0x02 | 0x03) {
        return Err("the key is not a compressed P-256 point".into());
    }
    p256::PublicKey::from_sec1_bytes(bytes)
        .map(Recipient::P256)
        .map_err(|_| "the key is not a point on P-256".into())
}

/// RSA-OAEP encryption to `key` with `hash` (and MGF1 with the same hash), empty label: what
/// the token's `CKM_RSA_PKCS_OAEP` decrypts. Only the public-key operation runs on the host.
pub(crate) fn oaep_encrypt(key: &Rsa3072PublicKey, hash: OaepHash, msg: &[u8]) -> Result<Vec<u8>> {
    let padding = match hash {
        OaepHash::Sha1 => rsa::Oaep::new::<sha1::Sha1>(),
        OaepHash::Sha256 => rsa::Oaep::new::<sha2::Sha256>(),
    };
    key.as_rsa()
        .encrypt(&mut OsRng, padding, msg)
        .map_err(|e| Error::vault(format!("RSA-OAEP encryption failed ({e})")))
}

#[cfg(test)]
mod tests;
