//! Elliptic-curve attribute values as PKCS#11 stores them, and the public keys they become.

use p256::pkcs8::EncodePublicKey;
use spki::der::asn1::BitString;
use spki::der::Encode;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::error::{Error, Result};

/// DER of the named curve OID 1.2.840.10045.3.1.7 (P-256), the value of `CKA_EC_PARAMS`.
pub(super) const P256_EC_PARAMS: [u8; 10] =
    [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the OID 1.3.101.112 (Ed25519, RFC 8410), `CKA_EC_PARAMS` of an Edwards key.
pub(super) const ED25519_EC_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// `CKA_EC_POINT` is a DER OCTET STRING wrapping the 65-byte uncompressed SEC1 point; some tokens
/// return the raw point. Both are accepted.
pub(super) fn parse_p256_point(value: &[u8]) -> Result<p256::PublicKey> {
    let sec1 = match value {
        [0x04, 0x41, point @ ..] if point.len() == 65 => point,
        raw if raw.len() == 65 && raw[0] == 0x04 => raw,
        _ => {
            return Err(Error::token(format!(
                "CKA_EC_POINT is not a P-256 uncompressed point ({} bytes)",
                value.len()
            )))
        }
    };
    p256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| Error::token("CKA_EC_POINT is not a valid P-256 point"))
}

/// An Ed25519 `CKA_EC_POINT`: the 32-byte public key in a DER OCTET STRING, or raw.
pub(super) fn parse_ed25519_point(value: &[u8]) -> Result<[u8; 32]> {
    let raw = match value {
        [0x04, 0x20, point @ ..] if point.len() == 32 => point,
        raw if raw.len() == 32 => raw,
        _ => {
            return Err(Error::token(format!(
                "CKA_EC_POINT is not an Ed25519 public key ({} bytes)",
                value.len()
            )))
        }
    };
    Ok(raw.try_into().expect("32 bytes"))
}

/// DER SubjectPublicKeyInfo of a P-256 key (RFC 5480).
pub(super) fn p256_spki(key: &p256::PublicKey) -> Vec<u8> {
    key.to_public_key_der()
        .expect("a P-256 key encodes")
        .into_vec()
}

/// DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410).
pub(super) fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ED25519_OID,
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(key).expect("32 bytes fit a BIT STRING"),
    }
    .to_der()
    .expect("an Ed25519 SPKI encodes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    #[test]
    fn p256_point_forms() {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let public = secret.public_key();
        let raw = public.to_encoded_point(false);
        let mut der = vec![0x04, 0x41];
        der.extend_from_slice(raw.as_bytes());
        assert_eq!(parse_p256_point(&der).unwrap(), public);
        assert_eq!(parse_p256_point(raw.as_bytes()).unwrap(), public);
        assert!(parse_p256_point(&der[..66]).is_err());
        assert!(parse_p256_point(&[0x04, 0x41]).is_err());
    }

    #[test]
    fn ed25519_point_forms_and_spki() {
        let key = [9u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&key);
        assert_eq!(parse_ed25519_point(&der).unwrap(), key);
        assert_eq!(parse_ed25519_point(&key).unwrap(), key);
        assert!(parse_ed25519_point(&der[..20]).is_err());
        // RFC 8410 section 10.1: 302a300506032b6570032100 || key
        let spki = ed25519_spki(&key);
        assert_eq!(hex::encode(&spki[..12]), "302a300506032b6570032100");
        assert_eq!(&spki[12..], &key);
        // The P-256 SPKI decodes back to the key.
        let sk = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        let der = p256_spki(&sk.public_key());
        use p256::pkcs8::DecodePublicKey;
        assert_eq!(
            p256::PublicKey::from_public_key_der(&der).unwrap(),
            sk.public_key()
        );
    }
}
