//! The public half of a sealing key: what `keyward seal` needs, and all it needs.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::token::SealingPublicKey;

const PREFIX: &str = "kwr1-";
const P256_TAG: &str = "p256";
/// Length of a compressed SEC1 P-256 point.
pub(crate) const P256_COMPRESSED_LEN: usize = 33;

/// A key that vault files are sealed to. Its string form is
/// `kwr1-p256-<base64url, no padding, of the 33-byte compressed SEC1 point>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(SealingPublicKey);

impl Recipient {
    pub fn from_public_key(key: impl Into<SealingPublicKey>) -> Self {
        Recipient(key.into())
    }

    pub fn public_key(&self) -> &SealingPublicKey {
        &self.0
    }

    /// The key's encoding that the fingerprint, the string form and the KDF salt are built from
    /// (for P-256: the 33-byte compressed SEC1 point).
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        match &self.0 {
            SealingPublicKey::P256(key) => key.to_encoded_point(true).as_bytes().to_vec(),
        }
    }

    /// Hex of the first 16 bytes of SHA-256 over the compressed SEC1 point.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.key_bytes());
        hex::encode(&digest[..16])
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match &self.0 {
            SealingPublicKey::P256(_) => P256_TAG,
        };
        write!(
            f,
            "{PREFIX}{tag}-{}",
            URL_SAFE_NO_PAD.encode(self.key_bytes())
        )
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
        match tag {
            P256_TAG => {}
            other => {
                return Err(bad(&format!(
                    "key type '{other}' is not supported (this keyward supports p256)"
                )))
            }
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| bad("the key is not valid unpadded base64url"))?;
        if bytes.len() != P256_COMPRESSED_LEN {
            return Err(bad(&format!(
                "the key is {} bytes, a compressed P-256 point is {P256_COMPRESSED_LEN}",
                bytes.len()
            )));
        }
        if !matches!(bytes[0], 0x02 | 0x03) {
            return Err(bad("the key is not a compressed P-256 point"));
        }
        let key = p256::PublicKey::from_sec1_bytes(&bytes)
            .map_err(|_| bad("the key is not a point on P-256"))?;
        Ok(Recipient::from_public_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> p256::PublicKey {
        p256::SecretKey::from_slice(&[seed; 32])
            .unwrap()
            .public_key()
    }

    #[test]
    fn round_trip() {
        for seed in 1..20u8 {
            let r = Recipient::from_public_key(key(seed));
            let s = r.to_string();
            assert!(s.starts_with("kwr1-p256-"), "{s}");
            assert_eq!(s.len(), "kwr1-p256-".len() + 44);
            let back: Recipient = s.parse().unwrap();
            assert_eq!(back, r);
            assert_eq!(back.public_key(), &SealingPublicKey::P256(key(seed)));
            assert_eq!(back.fingerprint(), r.fingerprint());
        }
    }

    #[test]
    fn fingerprint_is_sha256_prefix_of_compressed_point() {
        let r = Recipient::from_public_key(key(1));
        let point = key(1).to_encoded_point(true);
        let want = hex::encode(&Sha256::digest(point.as_bytes())[..16]);
        assert_eq!(r.fingerprint(), want);
        assert_eq!(r.fingerprint().len(), 32);
        assert_ne!(
            r.fingerprint(),
            Recipient::from_public_key(key(2)).fingerprint()
        );
    }

    #[test]
    fn bad_strings_are_refused_precisely() {
        let good = Recipient::from_public_key(key(3)).to_string();
        let body = good.strip_prefix("kwr1-p256-").unwrap();
        let mut flipped_prefix = URL_SAFE_NO_PAD.decode(body).unwrap();
        flipped_prefix[0] = 0x04;
        // x = 5 is not the x-coordinate of any P-256 point... find one that fails.
        let not_on_curve = (0u8..=255)
            .map(|b| {
                let mut p = [0u8; 33];
                p[0] = 0x02;
                p[32] = b;
                p
            })
            .find(|p| p256::PublicKey::from_sec1_bytes(p).is_err())
            .unwrap();
        let cases = [
            ("", "starts with 'kwr1-'".to_string()),
            ("age1xyz", "starts with 'kwr1-'".to_string()),
            ("kwr1-p256", "expected 'kwr1-<key type>-<key>'".to_string()),
            (&*format!("kwr1-rsa-{body}"), "key type 'rsa'".to_string()),
            (&*format!("kwr1-p256-{body}="), "base64url".to_string()),
            (
                &*format!("kwr1-p256-{}", &body[..40]),
                "is 30 bytes".to_string(),
            ),
            (
                &*format!("kwr1-p256-{}", URL_SAFE_NO_PAD.encode(flipped_prefix)),
                "not a compressed".to_string(),
            ),
            (
                &*format!("kwr1-p256-{}", URL_SAFE_NO_PAD.encode(not_on_curve)),
                "not a point".to_string(),
            ),
        ];
        for (s, want) in cases {
            let err = s.parse::<Recipient>().expect_err(s);
            assert!(err.to_string().contains(&want), "{s}: {err}");
            assert_eq!(err.kind(), crate::ErrorKind::Usage);
        }
    }
}
