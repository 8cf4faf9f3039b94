//! Software tokens for the vault's unit tests: a P-256 key and an RSA-3072 key in memory, the
//! latter decrypting RSA-OAEP only with the hashes it is told to accept (as SoftHSM 2.6 accepts
//! only SHA-1).

use std::sync::OnceLock;

use rsa::traits::PublicKeyParts;

use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{OaepHash, Rsa3072PublicKey, SealingPublicKey, Token};

pub(crate) struct SoftToken(pub p256::SecretKey);

impl SoftToken {
    pub fn new(seed: u8) -> Self {
        SoftToken(p256::SecretKey::from_slice(&[seed; 32]).unwrap())
    }
    pub fn recipient(&self) -> super::Recipient {
        super::Recipient::p256(self.0.public_key())
    }
}

impl Token for SoftToken {
    fn describe(&self) -> String {
        "software test token".to_string()
    }
    fn public_key(&self) -> Result<SealingPublicKey> {
        Ok(self.0.public_key().into())
    }
    fn ecdh_p256(&self, peer: &p256::PublicKey) -> Result<SecretBytes> {
        let shared = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), peer.as_affine());
        Ok(SecretBytes::copy_from(shared.raw_secret_bytes()))
    }
}

/// One RSA-3072 key per test binary (generating one takes a while).
pub(crate) fn rsa_key(which: usize) -> &'static rsa::RsaPrivateKey {
    static KEYS: OnceLock<Vec<rsa::RsaPrivateKey>> = OnceLock::new();
    &KEYS.get_or_init(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| s.spawn(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 3072).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    })[which]
}

pub(crate) struct SoftRsaToken {
    pub key: &'static rsa::RsaPrivateKey,
    pub accepts: Vec<OaepHash>,
}

impl SoftRsaToken {
    pub fn new(which: usize, accepts: &[OaepHash]) -> Self {
        SoftRsaToken {
            key: rsa_key(which),
            accepts: accepts.to_vec(),
        }
    }
    pub fn public(&self) -> Rsa3072PublicKey {
        Rsa3072PublicKey::new(self.key.to_public_key()).unwrap()
    }
}

impl Token for SoftRsaToken {
    fn describe(&self) -> String {
        format!("software RSA test token ({} bits)", self.key.n().bits())
    }
    fn public_key(&self) -> Result<SealingPublicKey> {
        Ok(self.public().into())
    }
    fn rsa_oaep_decrypt(&self, hash: OaepHash, ciphertext: &[u8]) -> Result<SecretBytes> {
        if !self.accepts.contains(&hash) {
            return Err(Error::token(format!("CKR_ARGUMENTS_BAD for OAEP {hash}")));
        }
        let padding = match hash {
            OaepHash::Sha1 => rsa::Oaep::new::<sha1::Sha1>(),
            OaepHash::Sha256 => rsa::Oaep::new::<sha2::Sha256>(),
        };
        let plain = self
            .key
            .decrypt(padding, ciphertext)
            .map_err(|_| Error::token("decryption failed"))?;
        Ok(SecretBytes::new(plain))
    }
}
