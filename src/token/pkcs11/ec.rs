//! Elliptic-curve attribute values as PKCS#11 stores them, and the public keys they become.

use crate::error::{Error, Result};

/// DER of the named curve OID 1.2.840.10045.3.1.7 (P-256), the value of `CKA_EC_PARAMS`.
pub(super) const P256_EC_PARAMS: [u8; 10] =
    [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `CKA_EC_PARAMS` of P-256 given as explicit parameters (SEC 1 `ECParameters`: prime field,
/// a, b with the curve's seed, generator, order, cofactor), as OpenSSL's `i2d_ECPKParameters`
/// writes them. ykcs11 answers this for a key it knows from GET METADATA instead of an
/// attestation certificate.
const P256_EXPLICIT_EC_PARAMS: &str = "3081f7020101302c06072a8648ce3d0101022100ffffffff00000001000000000000000000000000ffffffffffffffffffffffff305b0420ffffffff00000001000000000000000000000000fffffffffffffffffffffffc04205ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b031500c49d360886e704936a6678e1139d26b7819f7e900441046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551020101";
/// DER of the OID 1.3.101.112 (Ed25519, RFC 8410), `CKA_EC_PARAMS` of an Edwards key.
pub(super) const ED25519_EC_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// Whether `CKA_EC_PARAMS` names P-256: by its OID, or by its explicit parameters.
pub(super) fn is_p256(params: &[u8]) -> bool {
    params == P256_EC_PARAMS || hex::encode(params) == P256_EXPLICIT_EC_PARAMS
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::signing::{ed25519_spki, p256_spki};
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    #[test]
    fn p256_by_oid_or_explicit_parameters() {
        use p256::elliptic_curve::bigint::ArrayEncoding;
        use p256::elliptic_curve::Curve;
        assert!(is_p256(&P256_EC_PARAMS));
        let explicit = hex::decode(P256_EXPLICIT_EC_PARAMS).unwrap();
        assert!(is_p256(&explicit));
        // The explicit form carries P-256's order and base point.
        let order = p256::NistP256::ORDER.to_be_byte_array();
        assert!(explicit.windows(32).any(|w| w == &order[..]));
        let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
        assert!(explicit.windows(65).any(|w| w == g.as_bytes()));
        let mut other = explicit.clone();
        let last = other.len() - 1;
        other[last] = 2; // cofactor 2
        assert!(!is_p256(&other));
        assert!(!is_p256(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22])); // P-384's OID
    }

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
