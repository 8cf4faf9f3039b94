//! In-KMS HMAC: an exchange secret imported into KMS as HMAC key material that cannot be
//! exported, and requests signed with `GenerateMac`. A KMS HMAC key does one algorithm only, so a
//! credential gets two keys, `<alias>-sha256` (`HMAC_256`) and `<alias>-sha512` (`HMAC_512`).
//!
//! Import: `CreateKey` (`Origin = EXTERNAL`, `GENERATE_VERIFY_MAC`), `CreateAlias`,
//! `GetParametersForImport` (an RSA-4096 wrapping key and an import token), the material
//! encrypted to the wrapping key with RSA-OAEP-SHA-256 by the `rsa` crate
//! (`RSAES_OAEP_SHA_256`), `ImportKeyMaterial` (never expires).

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, KeySpec, KeyUsageType, MacAlgorithmSpec, OriginType,
    WrappingKeySpec,
};
use rand_core::OsRng;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha512};

use super::client::Kms;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::{HmacAlgorithm, KeyRef};

/// KMS's largest `GenerateMac` message.
const MAX_MESSAGE: usize = 4096;

/// The KMS key spec, MAC algorithm, alias suffix and material length range of one algorithm.
struct Spec {
    key_spec: KeySpec,
    mac: MacAlgorithmSpec,
    suffix: &'static str,
    /// KMS's shortest `HMAC_256` / `HMAC_512` material; the longest is the hash's block size.
    min: usize,
    block: usize,
}

fn spec(algorithm: HmacAlgorithm) -> Spec {
    match algorithm {
        HmacAlgorithm::Sha256 => Spec {
            key_spec: KeySpec::Hmac256,
            mac: MacAlgorithmSpec::HmacSha256,
            suffix: "-sha256",
            min: 32,
            block: 64,
        },
        HmacAlgorithm::Sha512 => Spec {
            key_spec: KeySpec::Hmac512,
            mac: MacAlgorithmSpec::HmacSha512,
            suffix: "-sha512",
            min: 64,
            block: 128,
        },
    }
}

/// The KMS alias of `key`'s `algorithm` key.
pub(super) fn alias(key: &KeyRef, algorithm: HmacAlgorithm) -> String {
    format!("{}{}", key.as_str(), spec(algorithm).suffix)
}

/// The key material that gives the same HMAC as `secret` and that KMS accepts: a secret longer
/// than the block size is hashed first (RFC 2104 does that itself), and one shorter than KMS's
/// minimum is zero-padded (RFC 2104 pads every key to the block size with zeros).
pub(super) fn material(secret: &[u8], algorithm: HmacAlgorithm) -> SecretBytes {
    let s = spec(algorithm);
    let hashed;
    let key: &[u8] = if secret.len() > s.block {
        hashed = match algorithm {
            HmacAlgorithm::Sha256 => SecretBytes::copy_from(&Sha256::digest(secret)),
            HmacAlgorithm::Sha512 => SecretBytes::copy_from(&Sha512::digest(secret)),
        };
        hashed.expose()
    } else {
        secret
    };
    let mut padded = SecretBytes::zeroed(key.len().max(s.min));
    padded.expose_mut()[..key.len()].copy_from_slice(key);
    padded
}

/// `GenerateMac` with `key`'s `algorithm` key over the concatenation of `parts`.
pub(super) fn generate(
    kms: &Kms,
    key: &KeyRef,
    algorithm: HmacAlgorithm,
    parts: &[&[u8]],
) -> Result<Vec<u8>> {
    let message: Vec<u8> = parts.concat();
    if message.len() > MAX_MESSAGE {
        return Err(Error::token(format!(
            "{algorithm} in AWS KMS: the message is {} bytes, KMS MACs at most {MAX_MESSAGE}",
            message.len()
        )));
    }
    let (id, mac) = (alias(key, algorithm), spec(algorithm).mac);
    let name = id.clone();
    let answer = kms.run(move |c| async move {
        c.generate_mac()
            .key_id(id)
            .mac_algorithm(mac)
            .message(Blob::new(message))
            .send()
            .await
    })?;
    let out = answer.map_err(|e| {
        kms.refused_for(
            &name,
            &format!("{algorithm} of a request"),
            "kms:GenerateMac",
            e,
        )
    })?;
    out.mac
        .map(Blob::into_inner)
        .ok_or_else(|| Error::token("GenerateMac answered without a MAC"))
}

/// Creates `key`'s two HMAC keys with `secret` as their material. Refuses to replace a key.
pub(super) fn import(kms: &Kms, key: &KeyRef, secret: &SecretBytes) -> Result<()> {
    for algorithm in [HmacAlgorithm::Sha256, HmacAlgorithm::Sha512] {
        import_one(kms, key, algorithm, secret).map_err(|e| {
            e.context(format_args!(
                "importing {algorithm} key {}",
                alias(key, algorithm)
            ))
        })?;
    }
    Ok(())
}

fn import_one(
    kms: &Kms,
    key: &KeyRef,
    algorithm: HmacAlgorithm,
    secret: &SecretBytes,
) -> Result<()> {
    let s = spec(algorithm);
    let name = alias(key, algorithm);
    if !name.starts_with("alias/") {
        return Err(Error::usage(format!(
            "{name} is not a KMS alias (alias/...)"
        )));
    }
    let probe = name.clone();
    let existing = kms.run(move |c| async move { c.describe_key().key_id(probe).send().await })?;
    match existing {
        Ok(_) => {
            return Err(Error::token(format!(
                "{name} already names a KMS key; keyward does not replace keys: schedule its \
                 deletion and delete the alias (`aws kms delete-alias`) first"
            )))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) => {}
        Err(e) => return Err(kms.refused_for(&name, "looking the alias up", "kms:DescribeKey", e)),
    }
    let created = kms.run(move |c| async move {
        c.create_key()
            .key_spec(s.key_spec)
            .key_usage(KeyUsageType::GenerateVerifyMac)
            .origin(OriginType::External)
            .description("keyward: an exchange API secret (imported, not exportable)")
            .send()
            .await
    })?;
    let key_id = created
        .map_err(|e| kms.refused_for(&name, "creating the key", "kms:CreateKey", e))?
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| Error::token("CreateKey answered without the new key's metadata"))?;
    let (id, alias_name) = (key_id.clone(), name.clone());
    kms.run(move |c| async move {
        c.create_alias()
            .alias_name(alias_name)
            .target_key_id(id)
            .send()
            .await
    })?
    .map_err(|e| kms.refused_for(&name, "naming the new key", "kms:CreateAlias", e))?;
    let id = key_id.clone();
    let params = kms
        .run(move |c| async move {
            c.get_parameters_for_import()
                .key_id(id)
                .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
                .wrapping_key_spec(WrappingKeySpec::Rsa4096)
                .send()
                .await
        })?
        .map_err(|e| {
            kms.refused_for(
                &name,
                "getting the import parameters",
                "kms:GetParametersForImport",
                e,
            )
        })?;
    let (Some(public), Some(import_token)) = (params.public_key, params.import_token) else {
        return Err(Error::token(
            "GetParametersForImport answered without a wrapping key or import token",
        ));
    };
    let wrapping = rsa::RsaPublicKey::from_public_key_der(public.as_ref())
        .ok()
        .filter(|k| k.n().bits() >= 3072)
        .ok_or_else(|| {
            Error::token("the KMS wrapping key is not an RSA key of at least 3072 bits")
        })?;
    let material = material(secret.expose(), algorithm);
    let wrapped = wrapping
        .encrypt(&mut OsRng, rsa::Oaep::new::<Sha256>(), material.expose())
        .map_err(|e| Error::token(format!("wrapping the key material failed ({e})")))?;
    drop(material);
    let id = key_id.clone();
    kms.run(move |c| async move {
        c.import_key_material()
            .key_id(id)
            .import_token(import_token)
            .encrypted_key_material(Blob::new(wrapped))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await
    })?
    .map_err(|e| {
        kms.refused_for(
            &name,
            "importing the key material",
            "kms:ImportKeyMaterial",
            e,
        )
    })?;
    tracing::info!(alias = %name, %key_id, "imported an HMAC key into AWS KMS");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::digest::KeyInit;
    use hmac::{Hmac, Mac};

    fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }

    #[test]
    fn the_material_gives_the_secrets_own_hmac() {
        let msg = b"symbol=BTCUSDT&side=BUY&timestamp=1";
        type MacFn = fn(&[u8], &[u8]) -> Vec<u8>;
        let algorithms: [(HmacAlgorithm, std::ops::RangeInclusive<usize>, MacFn); 2] = [
            (HmacAlgorithm::Sha256, 32..=64, mac::<Hmac<Sha256>>),
            (HmacAlgorithm::Sha512, 64..=128, mac::<Hmac<Sha512>>),
        ];
        for len in [1, 24, 32, 63, 64, 65, 100, 128, 129, 300] {
            let secret: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) | 1).collect();
            for (algorithm, sizes, mac) in &algorithms {
                let m = material(&secret, *algorithm);
                assert!(sizes.contains(&m.len()), "{len} {algorithm:?}");
                assert_eq!(
                    mac(&secret, msg),
                    mac(m.expose(), msg),
                    "{len} {algorithm:?}"
                );
            }
        }
    }
}
