//! The secret fields of one exchange credential, and the payload they are sealed as.

use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The secret fields of one exchange credential. `Debug` shows no secret.
#[derive(Debug)]
pub struct CredentialSecrets {
    pub api_key: SecretBytes,
    pub secret: SecretBytes,
    pub passphrase: Option<SecretBytes>,
}

impl CredentialSecrets {
    /// Payload: `field(api key) || field(secret) || 0x00` or `... || 0x01 || field(passphrase)`,
    /// with `field(x) = u32 big-endian length || x`. Not JSON: no intermediate `String`s.
    pub(super) fn to_payload(&self) -> Result<SecretBytes> {
        let fields: Vec<&[u8]> = [Some(&self.api_key), Some(&self.secret)]
            .into_iter()
            .chain(std::iter::once(self.passphrase.as_ref()))
            .flatten()
            .map(SecretBytes::expose)
            .collect();
        let mut total = 1;
        for field in &fields {
            u32::try_from(field.len())
                .map_err(|_| Error::usage("a credential field is too long"))?;
            total += 4 + field.len();
        }
        let mut out = SecretBytes::zeroed(total);
        let buf = out.expose_mut();
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            buf[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&(fields[0].len() as u32).to_be_bytes());
        put(fields[0]);
        put(&(fields[1].len() as u32).to_be_bytes());
        put(fields[1]);
        match fields.get(2) {
            None => put(&[0]),
            Some(passphrase) => {
                put(&[1]);
                put(&(passphrase.len() as u32).to_be_bytes());
                put(passphrase);
            }
        }
        debug_assert_eq!(at, total);
        Ok(out)
    }

    pub(super) fn from_payload(mut bytes: &[u8]) -> Result<Self> {
        let corrupt =
            || Error::vault("the decrypted payload is malformed (sealed by another program?)");
        let field = |bytes: &mut &[u8]| -> Result<SecretBytes> {
            let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let len = u32::from_be_bytes(*len) as usize;
            if rest.len() < len {
                return Err(corrupt());
            }
            let (value, rest) = rest.split_at(len);
            *bytes = rest;
            Ok(SecretBytes::copy_from(value))
        };
        let api_key = field(&mut bytes)?;
        let secret = field(&mut bytes)?;
        let (flag, mut rest) = bytes.split_first().ok_or_else(corrupt)?;
        let passphrase = match flag {
            0 => None,
            1 => Some(field(&mut rest)?),
            _ => return Err(corrupt()),
        };
        if !rest.is_empty() {
            return Err(corrupt());
        }
        Ok(CredentialSecrets {
            api_key,
            secret,
            passphrase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        for passphrase in [None, Some(SecretBytes::copy_from(b"pass phrase"))] {
            let secrets = CredentialSecrets {
                api_key: SecretBytes::copy_from(b"key"),
                secret: SecretBytes::copy_from(b"s\x00cret"),
                passphrase,
            };
            let encoded = secrets.to_payload().unwrap();
            let back = CredentialSecrets::from_payload(encoded.expose()).unwrap();
            assert_eq!(back.api_key.expose(), b"key");
            assert_eq!(back.secret.expose(), b"s\x00cret");
            assert_eq!(
                back.passphrase.as_ref().map(SecretBytes::expose),
                secrets.passphrase.as_ref().map(SecretBytes::expose)
            );
            for cut in 0..encoded.len() {
                assert!(
                    CredentialSecrets::from_payload(&encoded.expose()[..cut]).is_err(),
                    "cut {cut}"
                );
            }
            let mut longer = encoded.expose().to_vec();
            longer.push(0);
            assert!(CredentialSecrets::from_payload(&longer).is_err());
        }
    }
}
