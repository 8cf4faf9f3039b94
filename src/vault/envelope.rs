//! The envelope: a fresh data key encrypts the payload; the data key is wrapped to the recipient.
//!
//! ```text
//! data key   = 32 random bytes
//! ciphertext = AES-256-GCM(data key, nonce, payload, aad("payload"))
//! epk        = ephemeral P-256 key pair (fresh per file)
//! shared     = ECDH(epk, recipient).x                      (on the token when opening)
//! KEK        = HKDF-SHA256(ikm = shared, salt = epk_sec1 || recipient_sec1,
//!                          info = "keyward/v1/p256 data key")   (both points compressed, 33 bytes)
//! wrapped    = AES-256-GCM(KEK, wrap nonce, data key, aad("data key"))
//! ```
//!
//! Both AADs bind the header (see [`Header::aad`]). All key material lives in [`SecretBytes`].

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use p256::ecdh::EphemeralSecret;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::OsRng;
use sha2::Sha256;

use super::recipient::Recipient;
use super::secrets::CredentialSecrets;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{SealingPublicKey, Token};

pub(crate) const ALG_P256: &str = "p256-ecdh-hkdf-sha256";
const HKDF_INFO: &[u8] = b"keyward/v1/p256 data key";
const AAD_DOMAIN: &[u8] = b"keyward vault aad";
const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

pub(crate) const AUTH_FAILED: &str = "authentication failed — the file was modified, or it was \
                                      sealed for another credential or key";

/// The header fields that both encryptions authenticate, exactly as they appear in the file.
pub(crate) struct Header<'a> {
    pub version: u32,
    pub alg: &'a str,
    pub name: &'a str,
    pub exchange: &'a str,
    pub recipient_fingerprint: &'a str,
    pub created: &'a str,
    pub expires: Option<&'a str>,
}

impl Header<'_> {
    /// One canonical, unambiguous encoding: every field length-prefixed (u32 big-endian), the
    /// optional expiry preceded by a presence byte, and a purpose label so the two encryptions'
    /// AADs differ.
    pub(crate) fn aad(&self, purpose: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let version = self.version.to_string();
        for field in [
            AAD_DOMAIN,
            purpose.as_bytes(),
            version.as_bytes(),
            self.alg.as_bytes(),
            self.name.as_bytes(),
            self.exchange.as_bytes(),
            self.recipient_fingerprint.as_bytes(),
            self.created.as_bytes(),
        ] {
            put_field(&mut out, field);
        }
        match self.expires {
            None => out.push(0),
            Some(expires) => {
                out.push(1);
                put_field(&mut out, expires.as_bytes());
            }
        }
        out
    }
}

/// The binary parts of a sealed file.
pub(crate) struct Sealed {
    /// Ephemeral public key, compressed SEC1 (33 bytes).
    pub epk: Vec<u8>,
    pub wrap_nonce: [u8; NONCE_LEN],
    /// Wrapped data key with its GCM tag (48 bytes).
    pub wrapped_key: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    /// Encrypted payload with its GCM tag.
    pub ciphertext: Vec<u8>,
}

pub(crate) fn seal(
    recipient: &Recipient,
    header: &Header<'_>,
    secrets: &CredentialSecrets,
) -> Result<Sealed> {
    let payload = secrets.to_payload()?;
    let mut data_key = SecretBytes::zeroed(KEY_LEN);
    fill_random(data_key.expose_mut())?;
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let ciphertext = aead_seal(&data_key, &nonce, &header.aad("payload"), payload.expose())?;

    let ephemeral = EphemeralSecret::random(&mut OsRng);
    let epk = ephemeral
        .public_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    let SealingPublicKey::P256(recipient_key) = recipient.public_key();
    let shared = ephemeral.diffie_hellman(recipient_key);
    let kek = derive_kek(shared.raw_secret_bytes(), &epk, recipient)?;
    drop(shared); // zeroized on drop
    let mut wrap_nonce = [0u8; NONCE_LEN];
    fill_random(&mut wrap_nonce)?;
    let wrapped_key = aead_seal(
        &kek,
        &wrap_nonce,
        &header.aad("data key"),
        data_key.expose(),
    )?;

    Ok(Sealed {
        epk,
        wrap_nonce,
        wrapped_key,
        nonce,
        ciphertext,
    })
}

/// Unwraps the data key with the token and decrypts the payload. `recipient` is the token's key.
pub(crate) fn open(
    token: &dyn Token,
    recipient: &Recipient,
    header: &Header<'_>,
    sealed: &Sealed,
) -> Result<CredentialSecrets> {
    let epk = p256::PublicKey::from_sec1_bytes(&sealed.epk)
        .map_err(|_| Error::vault("stanza.epk is not a P-256 point"))?;
    let shared = token.ecdh_p256(&epk)?;
    let kek = derive_kek(shared.expose(), &sealed.epk, recipient)?;
    drop(shared);
    let data_key = aead_open(
        &kek,
        &sealed.wrap_nonce,
        &header.aad("data key"),
        &sealed.wrapped_key,
    )?;
    drop(kek);
    if data_key.len() != KEY_LEN {
        return Err(Error::vault(AUTH_FAILED));
    }
    let payload = aead_open(
        &data_key,
        &sealed.nonce,
        &header.aad("payload"),
        &sealed.ciphertext,
    )?;
    CredentialSecrets::from_payload(payload.expose())
}

fn derive_kek(shared_x: &[u8], epk: &[u8], recipient: &Recipient) -> Result<SecretBytes> {
    let mut salt = Vec::with_capacity(2 * super::recipient::P256_COMPRESSED_LEN);
    salt.extend_from_slice(epk);
    salt.extend_from_slice(&recipient.key_bytes());
    let mut kek = SecretBytes::zeroed(KEY_LEN);
    Hkdf::<Sha256>::new(Some(&salt), shared_x)
        .expand(HKDF_INFO, kek.expose_mut())
        .map_err(|_| Error::vault("HKDF output length invalid"))?;
    Ok(kek)
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    Ok(getrandom::getrandom(buf)?)
}

/// Returns ciphertext || tag. The plaintext is copied once into a buffer that becomes the
/// ciphertext in place (capacity reserved up front, so it is never reallocated).
fn aead_seal(
    key: &SecretBytes,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key.expose())
        .map_err(|_| Error::vault("AES-256-GCM key length invalid"))?;
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::from(*nonce), aad, &mut out)
        .map_err(|_| Error::vault("AES-256-GCM encryption failed (payload too large)"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts ciphertext || tag into a locked buffer; any failure is [`AUTH_FAILED`].
fn aead_open(
    key: &SecretBytes,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<SecretBytes> {
    let cipher = Aes256Gcm::new_from_slice(key.expose())
        .map_err(|_| Error::vault("AES-256-GCM key length invalid"))?;
    let Some(split) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(Error::vault(AUTH_FAILED));
    };
    let (ciphertext, tag) = sealed.split_at(split);
    let tag: [u8; TAG_LEN] = tag.try_into().expect("split at TAG_LEN from the end");
    let mut plaintext = SecretBytes::copy_from(ciphertext);
    cipher
        .decrypt_in_place_detached(
            &Nonce::from(*nonce),
            aad,
            plaintext.expose_mut(),
            &Tag::from(tag),
        )
        .map_err(|_| Error::vault(AUTH_FAILED))?;
    Ok(plaintext)
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).expect("header fields are small");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(name: &'a str, expires: Option<&'a str>) -> Header<'a> {
        Header {
            version: 1,
            alg: ALG_P256,
            name,
            exchange: "binance",
            recipient_fingerprint: "00",
            created: "2024-01-01T00:00:00Z",
            expires,
        }
    }

    #[test]
    fn aad_is_unambiguous() {
        let a = header("ab", None).aad("payload");
        let mut h = header("a", None);
        h.exchange = "bbinance";
        assert_ne!(a, h.aad("payload"));
        assert_ne!(a, header("ab", Some("")).aad("payload"));
        assert_ne!(a, header("ab", None).aad("data key"));
        assert_eq!(a, header("ab", None).aad("payload"));
    }
}
