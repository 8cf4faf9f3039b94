//! What `keyward doctor` asks AWS KMS before it uses the sealing key: whether the SDK's default
//! chain finds AWS credentials (the access key id shown masked, never the secret), and how KMS
//! describes the key (reachable with those credentials, Enabled, `RSA_3072`, `ENCRYPT_DECRYPT`,
//! material KMS generated). Each is one check with its outcome.

use aws_sdk_kms::config::ProvideCredentials;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, OriginType};

use super::client::Kms;
use super::settings::AwsKmsConfig;
use crate::error::{Error, Result};

/// The checks, in order, with the SDK's default credential chain.
pub fn doctor_checks(config: &AwsKmsConfig) -> Vec<(&'static str, Result<String>)> {
    match Kms::new(config) {
        Ok(kms) => checks(&kms),
        Err(e) => vec![("aws credentials", Err(e))],
    }
}

pub(super) fn checks(kms: &Kms) -> Vec<(&'static str, Result<String>)> {
    let credentials = credentials(kms);
    if credentials.is_err() {
        return vec![("aws credentials", credentials)];
    }
    vec![("aws credentials", credentials), ("kms key", key(kms))]
}

fn credentials(kms: &Kms) -> Result<String> {
    let provider = kms.credentials_provider();
    let found = kms.run(|_| async move {
        match provider {
            Some(p) => p
                .provide_credentials()
                .await
                .map(|c| c.access_key_id().to_owned())
                .map_err(|e| DisplayErrorContext(e).to_string()),
            None => Err("no credentials provider is configured".to_owned()),
        }
    })?;
    match found {
        Ok(id) => Ok(format!(
            "access key {} found by the AWS SDK's default chain",
            mask(&id)
        )),
        Err(why) => Err(Error::token(format!(
            "the AWS SDK's default chain finds no credentials ({why})"
        ))),
    }
}

/// `AKIA…WXYZ`: enough to tell keys apart, not the whole id.
fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn key(kms: &Kms) -> Result<String> {
    let key = kms.config().key.clone();
    let out = kms
        .run(move |c| async move { c.describe_key().key_id(key).send().await })?
        .map_err(|e| kms.refused("describing the key", "kms:DescribeKey", e))?;
    let meta = out
        .key_metadata
        .ok_or_else(|| Error::token("DescribeKey answered without the key's metadata"))?;
    let name = format!("AWS KMS key '{}' ({})", kms.config().key, meta.key_id);
    let state = meta.key_state.as_ref().map_or("unknown", |s| s.as_str());
    if meta.key_state != Some(KeyState::Enabled) {
        return Err(Error::token(format!(
            "{name} is {state}: enable it (`aws kms enable-key --key-id {}`; a key pending \
             deletion first `aws kms cancel-key-deletion`); until then no vault sealed to it opens",
            meta.key_id
        )));
    }
    let spec = meta.key_spec.as_ref().map_or("unknown", |s| s.as_str());
    let usage = meta.key_usage.as_ref().map_or("unknown", |s| s.as_str());
    let origin = meta.origin.as_ref().map_or("unknown", |s| s.as_str());
    let fits = meta.key_spec == Some(KeySpec::Rsa3072)
        && meta.key_usage == Some(KeyUsageType::EncryptDecrypt)
        && matches!(
            meta.origin,
            Some(OriginType::AwsKms) | Some(OriginType::AwsCloudhsm)
        );
    if !fits {
        return Err(Error::token(format!(
            "{name} is {spec} {usage} (origin {origin}); keyward seals to RSA_3072 \
             ENCRYPT_DECRYPT keys whose material KMS generated: set [token] key to a new alias and \
             run `keyward keygen --algorithm rsa3072`"
        )));
    }
    Ok(format!(
        "{name} ({}): {state}, {spec} {usage}, origin {origin}",
        kms.where_()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn access_key_ids_are_masked() {
        assert_eq!(super::mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(super::mask("short"), "…");
    }
}
