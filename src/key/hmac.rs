//! A shared HMAC secret held in locked, zeroizing host memory.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use super::{KeyAlgorithm, KeyError, SigningKey};
use crate::secret::SecretBytes;

/// An exchange's HMAC secret, as the bytes the exchange's HMAC is keyed with (a base64 secret
/// such as Kraken's is decoded before it gets here).
pub struct HmacSecret(SecretBytes);

impl HmacSecret {
    pub fn new(secret: SecretBytes) -> Self {
        HmacSecret(secret)
    }
}

impl std::fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSecret(REDACTED)")
    }
}

impl SigningKey for HmacSecret {
    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::Hmac
    }

    fn hmac_sha256(&self, parts: &[&[u8]]) -> Result<[u8; 32], KeyError> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC accepts any key length");
        parts.iter().for_each(|p| mac.update(p));
        Ok(mac.finalize().into_bytes().into())
    }

    fn hmac_sha512(&self, parts: &[&[u8]]) -> Result<[u8; 64], KeyError> {
        let mut mac =
            Hmac::<Sha512>::new_from_slice(self.0.expose()).expect("HMAC accepts any key length");
        parts.iter().for_each(|p| mac.update(p));
        Ok(mac.finalize().into_bytes().into())
    }

    fn reveal(&self) -> Result<&SecretBytes, KeyError> {
        Ok(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn rfc4231_case_2() {
        let key = HmacSecret::new(SecretBytes::copy_from(b"Jefe"));
        let msg: &[&[u8]] = &[b"what do ya want ", b"for nothing?"];
        assert_eq!(
            hex::encode(key.hmac_sha256(msg).unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(key.hmac_sha512(msg).unwrap()),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    #[test]
    fn no_asymmetric_signature_and_no_leak() {
        let key = HmacSecret::new(SecretBytes::copy_from(b"s3cr3t-value"));
        let e = key.sign(b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "this HMAC key cannot make asymmetric signatures"
        );
        let dynkey: &dyn SigningKey = &key;
        assert!(!format!("{dynkey:?} {key:?}").contains("s3cr3t"));
    }
}
