//! Asymmetric API keys held in host memory (Binance RSA/Ed25519, Coinbase ES256/EdDSA ...): parsed
//! once when the credential is unsealed, then used to sign each request. The signing itself is done by `ring`
//! (RSA PKCS#1 v1.5 SHA-256, Ed25519) and the RustCrypto `p256` crate (ECDSA P-256 SHA-256),
//! never by hand-written code.

use std::fmt;

use super::{KeyAlgorithm, KeyError, SigningKey};

use p256::ecdsa::signature::Signer;
use ring::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::{pem::PemObject, PrivateKeyDer};

/// A private signing key held in memory. `Debug` never shows it.
pub enum PrivateKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, REDACTED)", self.algorithm())
    }
}

/// Whether a secret looks like a PEM block (and should be parsed as a private key).
pub fn is_pem(secret: &[u8]) -> bool {
    secret.trim_ascii_start().starts_with(b"-----BEGIN ")
}

impl PrivateKey {
    /// Parses a PEM private key: PKCS#8 (RSA, Ed25519, EC P-256), PKCS#1 (RSA) or SEC1 (EC P-256).
    /// Errors say what was found, never the key material.
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, String> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("the secret is not a PEM private key ({e})"))?;
        match der {
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(PrivateKey::Rsa)
                .map_err(|e| format!("the RSA key is not usable: {e}")),
            PrivateKeyDer::Sec1(k) => p256::SecretKey::from_sec1_der(k.secret_sec1_der())
                .map(|sk| PrivateKey::EcdsaP256(sk.into()))
                .map_err(|_| "the EC key is not a P-256 (prime256v1) key".to_owned()),
            PrivateKeyDer::Pkcs8(k) => {
                let der = k.secret_pkcs8_der();
                if let Ok(kp) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    return Ok(PrivateKey::Ed25519(kp));
                }
                if let Ok(kp) = RsaKeyPair::from_pkcs8(der) {
                    return Ok(PrivateKey::Rsa(kp));
                }
                use p256::pkcs8::DecodePrivateKey;
                p256::SecretKey::from_pkcs8_der(der)
                    .map(|sk| PrivateKey::EcdsaP256(sk.into()))
                    .map_err(|_| {
                        "the PKCS#8 key is not RSA (2048+ bits), Ed25519 or EC P-256".to_owned()
                    })
            }
            _ => Err("unsupported PEM private key type".to_owned()),
        }
    }

    /// An Ed25519 key from its 32-byte seed (or a 64-byte seed‖public-key, as some exchanges
    /// issue them; the public half must match).
    pub fn from_ed25519_bytes(bytes: &[u8]) -> Result<PrivateKey, String> {
        match bytes.len() {
            32 => Ed25519KeyPair::from_seed_unchecked(bytes)
                .map(PrivateKey::Ed25519)
                .map_err(|_| "not an Ed25519 seed".to_owned()),
            64 => {
                let kp = Ed25519KeyPair::from_seed_and_public_key(&bytes[..32], &bytes[32..])
                    .map_err(|_| {
                        "the Ed25519 key's public half does not match its seed".to_owned()
                    })?;
                Ok(PrivateKey::Ed25519(kp))
            }
            n => Err(format!("an Ed25519 key is 32 or 64 bytes, not {n}")),
        }
    }

    pub fn algorithm(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn kind(&self) -> KeyAlgorithm {
        match self {
            PrivateKey::Rsa(_) => KeyAlgorithm::Rsa,
            PrivateKey::Ed25519(_) => KeyAlgorithm::Ed25519,
            PrivateKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// Signs `msg`: RSASSA-PKCS1-v1_5 with SHA-256, pure Ed25519, or ECDSA P-256 with SHA-256
    /// as the fixed-size `r‖s` (JWS ES256 form).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(
                    &RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(sig)
            }
            PrivateKey::Ed25519(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
            PrivateKey::EcdsaP256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(msg);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }

    /// The public key, for tests and self-checks: SPKI-less raw form (Ed25519: 32 bytes,
    /// P-256: SEC1 uncompressed, RSA: PKCS#1 `RSAPublicKey` DER).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(kp) => kp.public().as_ref().to_vec(),
            PrivateKey::Ed25519(kp) => kp.public_key().as_ref().to_vec(),
            PrivateKey::EcdsaP256(sk) => sk
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
        }
    }
}

impl SigningKey for PrivateKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.kind()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        PrivateKey::sign(self, msg).map_err(KeyError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePrivateKey;
    use ring::signature::{UnparsedPublicKey, ED25519};

    #[test]
    fn ed25519_pkcs8_pem_signs_verifiably() {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, doc.as_ref())
        );
        assert!(is_pem(pem.as_bytes()));
        let key = PrivateKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), "Ed25519");
        let sig = key.sign(b"symbol=BTCUSDT").unwrap();
        UnparsedPublicKey::new(&ED25519, key.public_key_bytes())
            .verify(b"symbol=BTCUSDT", &sig)
            .unwrap();
        assert!(!format!("{key:?}").contains(&pem[30..50]));
    }

    #[test]
    fn p256_sec1_and_pkcs8() {
        let sk = p256::SecretKey::random(&mut rand_core::OsRng);
        let sec1 = sk.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
        let key = PrivateKey::from_pem(sec1.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), "ECDSA-P256");
        let sig = key.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 64);
        use p256::ecdsa::signature::Verifier;
        let vk = p256::ecdsa::VerifyingKey::from(sk.public_key());
        vk.verify(b"hello", &p256::ecdsa::Signature::from_slice(&sig).unwrap())
            .unwrap();
        let pkcs8 = sk.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
        assert_eq!(
            PrivateKey::from_pem(pkcs8.as_bytes()).unwrap().algorithm(),
            "ECDSA-P256"
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(PrivateKey::from_pem(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
        assert!(PrivateKey::from_pem(b"not pem").is_err());
        assert!(PrivateKey::from_ed25519_bytes(&[1u8; 31]).is_err());
        assert!(PrivateKey::from_ed25519_bytes(&[7u8; 32]).is_ok());
    }
}
