//! The sealing key in AWS KMS: an asymmetric `RSA_3072` `ENCRYPT_DECRYPT` key. `keyward keygen`
//! creates it under an alias (or adopts the key `[token] key` names), `keyward seal` encrypts
//! offline to the public key `GetPublicKey` returns (RSA-OAEP with SHA-256, which KMS calls
//! `RSAES_OAEP_SHA_256`), and opening a vault asks KMS `Decrypt` for the data key. The private
//! key never leaves KMS; the unsealed data key is in keyward's memory, as with a PKCS#11 RSA key.

use std::sync::Mutex;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{EncryptionAlgorithmSpec, KeySpec, KeyUsageType, OriginType};
use rsa::pkcs8::DecodePublicKey;

use super::client::Kms;
use super::hmac;
use super::settings::AwsKmsConfig;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::operations::Token;
use crate::token::sealing::{
    KeyService, OaepHash, Rsa3072PublicKey, SealingAlgorithm, SealingPublicKey, ServiceKey,
};
use crate::token::{HmacAlgorithm, KeyRef};

/// The sealing key in KMS.
pub struct AwsKmsToken {
    kms: Kms,
    /// The key id (the UUID) behind `[token] key`, once `GetPublicKey` has named it.
    key_id: Mutex<Option<String>>,
    /// [`KEY_SERVICE_TURNS`](crate::token::operations::KEY_SERVICE_TURNS) permits
    /// ([`Token::gate`]).
    gate: tokio::sync::Semaphore,
}

impl AwsKmsToken {
    /// Opens nothing yet: every operation is one API call.
    pub fn open(config: &AwsKmsConfig) -> Result<Self> {
        Ok(Self::with(Kms::new(config)?))
    }

    fn with(kms: Kms) -> Self {
        AwsKmsToken {
            kms,
            key_id: Mutex::new(None),
            gate: tokio::sync::Semaphore::new(crate::token::operations::KEY_SERVICE_TURNS),
        }
    }

    #[cfg(test)]
    pub(super) fn for_test(
        config: &AwsKmsConfig,
        credentials: aws_sdk_kms::config::Credentials,
    ) -> Self {
        Self::with(Kms::with_credentials(config, Some(credentials)).unwrap())
    }

    fn config(&self) -> &AwsKmsConfig {
        self.kms.config()
    }

    fn key_id(&self) -> Option<String> {
        self.key_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adopts the existing key, or (for an alias that names none) creates one and the alias.
    fn create_or_adopt(&self) -> Result<()> {
        let key = self.config().key.clone();
        let described = self
            .kms
            .run(move |c| async move { c.describe_key().key_id(key).send().await })?;
        let meta = match described {
            Ok(out) => out.key_metadata,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(self.kms.refused("describing the key", "kms:DescribeKey", e)),
        };
        let Some(meta) = meta else {
            return self.create();
        };
        let fits = meta.key_spec() == Some(&KeySpec::Rsa3072)
            && meta.key_usage() == Some(&KeyUsageType::EncryptDecrypt)
            && matches!(
                meta.origin(),
                Some(OriginType::AwsKms) | Some(OriginType::AwsCloudhsm)
            );
        if !fits {
            return Err(Error::token(format!(
                "{}: the key is {:?} {:?} (origin {:?}); keyward seals to RSA_3072 \
                 ENCRYPT_DECRYPT keys whose material KMS generated: set [token] key to a new \
                 alias and run `keyward keygen --algorithm rsa3072`",
                self.describe(),
                meta.key_spec().map(|s| s.as_str()),
                meta.key_usage().map(|s| s.as_str()),
                meta.origin().map(|s| s.as_str()),
            )));
        }
        tracing::info!(key = %self.config().key, "adopting the existing AWS KMS key");
        Ok(())
    }

    fn create(&self) -> Result<()> {
        let alias = self.config().key.clone();
        if !alias.starts_with("alias/") {
            return Err(Error::token(format!(
                "{}: there is no such key, and keyward creates keys only under an alias it can \
                 name: set [token] key = \"alias/keyward-seal\" (or the id of a key you made)",
                self.describe()
            )));
        }
        let created = self.kms.run(|c| async move {
            c.create_key()
                .key_spec(KeySpec::Rsa3072)
                .key_usage(KeyUsageType::EncryptDecrypt)
                .description("keyward sealing key (vault data keys are RSA-OAEP encrypted to it)")
                .send()
                .await
        })?;
        let key_id = created
            .map_err(|e| self.kms.refused("creating the key", "kms:CreateKey", e))?
            .key_metadata
            .map(|m| m.key_id)
            .ok_or_else(|| Error::token("CreateKey answered without the new key's metadata"))?;
        let target = key_id.clone();
        let aliased = self.kms.run(move |c| async move {
            c.create_alias()
                .alias_name(alias)
                .target_key_id(target)
                .send()
                .await
        })?;
        aliased.map_err(|e| {
            self.kms.refused(
                &format!("naming the new key {key_id} by the alias"),
                "kms:CreateAlias",
                e,
            )
        })?;
        tracing::info!(key = %self.config().key, %key_id, "created the AWS KMS sealing key");
        Ok(())
    }
}

/// The key id (UUID) of a key ARN `arn:aws:kms:REGION:ACCOUNT:key/ID`, or the id itself.
fn bare_key_id(arn_or_id: &str) -> &str {
    arn_or_id
        .rsplit_once(":key/")
        .map_or(arn_or_id, |(_, id)| id)
}

impl Token for AwsKmsToken {
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        Some(&self.gate)
    }

    fn describe(&self) -> String {
        let key = match self.key_id() {
            Some(id) if id != self.config().key => format!("'{}' ({id})", self.config().key),
            _ => format!("'{}'", self.config().key),
        };
        format!("AWS KMS key {key} ({})", self.kms.where_())
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        let key = self.config().key.clone();
        let answer = self
            .kms
            .run(move |c| async move { c.get_public_key().key_id(key).send().await })?;
        let out = answer.map_err(|e| {
            self.kms
                .refused("reading the public key", "kms:GetPublicKey", e)
        })?;
        // KeySpec, or the deprecated CustomerMasterKeySpec alone (as moto answers).
        #[allow(deprecated)]
        let spec = out
            .key_spec()
            .map(KeySpec::as_str)
            .or(out.customer_master_key_spec().map(|s| s.as_str()));
        if spec != Some(KeySpec::Rsa3072.as_str())
            || out.key_usage() != Some(&KeyUsageType::EncryptDecrypt)
            || !out
                .encryption_algorithms()
                .contains(&EncryptionAlgorithmSpec::RsaesOaepSha256)
        {
            return Err(Error::token(format!(
                "{}: the key is {:?} {:?}; keyward seals to RSA_3072 ENCRYPT_DECRYPT keys only: \
                 set [token] key to a new alias and run `keyward keygen --algorithm rsa3072`",
                self.describe(),
                spec,
                out.key_usage().map(|s| s.as_str()),
            )));
        }
        let der = out.public_key().ok_or_else(|| {
            Error::token(format!(
                "{}: GetPublicKey answered without a public key",
                self.describe()
            ))
        })?;
        let public = rsa::RsaPublicKey::from_public_key_der(der.as_ref())
            .map_err(|e| {
                Error::token(format!(
                    "{}: the public key is not a DER RSA SubjectPublicKeyInfo ({e})",
                    self.describe()
                ))
            })
            .and_then(|k| {
                Rsa3072PublicKey::new(k)
                    .map_err(|why| Error::token(format!("{}: {why}", self.describe())))
            })?;
        if let Some(id) = out.key_id() {
            *self.key_id.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(bare_key_id(id).to_string());
        }
        Ok(public.into())
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        if algorithm != SealingAlgorithm::Rsa3072 {
            return Err(Error::usage(format!(
                "{}: keyward seals to AWS KMS with RSA-OAEP (KMS has no ECDH decryption); run \
                 `keyward keygen --algorithm rsa3072`",
                self.describe()
            )));
        }
        self.create_or_adopt()?;
        self.public_key()
    }

    fn rsa_oaep_decrypt(&self, hash: OaepHash, ciphertext: &[u8]) -> Result<SecretBytes> {
        let algorithm = match hash {
            OaepHash::Sha256 => EncryptionAlgorithmSpec::RsaesOaepSha256,
            OaepHash::Sha1 => EncryptionAlgorithmSpec::RsaesOaepSha1,
        };
        let key = self.config().key.clone();
        let blob = Blob::new(ciphertext);
        let answer = self.kms.run(move |c| async move {
            c.decrypt()
                .key_id(key)
                .encryption_algorithm(algorithm)
                .ciphertext_blob(blob)
                .send()
                .await
                // The data key leaves the SDK's output on the KMS runtime, into locked memory
                // (the Blob's Vec is wiped), so that every path drops it wiped: also a caller that
                // stopped waiting. What the SDK itself copied is in the README ("AWS KMS").
                .map(|out| out.plaintext.map(|b| SecretBytes::new(b.into_inner())))
        })?;
        let plain = answer.map_err(|e| {
            self.kms
                .refused("decrypting the vault's data key", "kms:Decrypt", e)
        })?;
        plain.ok_or_else(|| {
            Error::token(format!(
                "{}: Decrypt answered without a plaintext",
                self.describe()
            ))
        })
    }

    fn hmac(&self, key: &KeyRef, algorithm: HmacAlgorithm, parts: &[&[u8]]) -> Result<Vec<u8>> {
        hmac::generate(&self.kms, key, algorithm, parts)
    }

    fn import_hmac_key(&self, key: &KeyRef, secret: &SecretBytes) -> Result<()> {
        hmac::import(&self.kms, key, secret)
    }

    fn service_key(&self) -> Option<ServiceKey> {
        Some(ServiceKey {
            service: KeyService::AwsKms,
            mount: self.config().region.clone(),
            key: self.key_id()?,
            // An asymmetric KMS key's material never changes (KMS rotates symmetric keys only).
            version: 1,
        })
    }
}

#[cfg(test)]
mod tests;
