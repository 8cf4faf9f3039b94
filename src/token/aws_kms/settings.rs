//! What `[token] kind = "aws-kms"` says: the region, the sealing key (key id, key ARN or alias)
//! and, for a local KMS-compatible endpoint, its URL. Credentials are never in the
//! configuration: the AWS SDK's default chain finds them (environment, shared profile, web
//! identity, ECS or EC2 instance role). Compiled with or without the `aws-kms` feature, so a
//! configuration is checked the same either way.

use http::Uri;

/// An AWS KMS region and sealing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsKmsConfig {
    /// e.g. `eu-west-1`.
    pub region: String,
    /// A key id (`1234abcd-…`), key ARN (`arn:aws:kms:…:key/…`) or alias (`alias/keyward-seal`).
    pub key: String,
    /// A KMS-compatible endpoint instead of AWS's own (`https://…`, or `http://` to loopback).
    pub endpoint_url: Option<Uri>,
}

impl AwsKmsConfig {
    /// Whether `key` is an alias, which `keyward keygen` may create.
    pub fn key_is_alias(&self) -> bool {
        self.key.starts_with("alias/") || self.key.contains(":alias/")
    }
}

/// An AWS region name: lowercase letters, digits and `-` (`eu-west-1`, `us-gov-west-1`).
pub fn check_region(text: &str) -> Result<(), String> {
    let ok = text.len() <= 32
        && text.contains('-')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not an AWS region such as \"eu-west-1\""
        ))
    }
}

/// A KMS key id, key ARN or alias (alias name or alias ARN), in the characters KMS allows.
pub fn check_key(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 2048
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | ':'));
    if !ok {
        return Err(format!(
            "{text:?} is not a KMS key: give its key id, key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) \
             or an alias (alias/keyward-seal)"
        ));
    }
    if text.starts_with("arn:") && !text.starts_with("arn:aws") {
        return Err(format!("{text:?} is not an AWS ARN"));
    }
    Ok(())
}

/// The endpoint: `https`, or `http` only to a loopback address (request signatures and the
/// unwrapped data keys would cross the network in clear). The same rule as a Vault address.
pub fn check_endpoint(text: &str) -> Result<Uri, String> {
    crate::token::transit_checks::check_address(text)
        .map_err(|why| why.replace("the Vault token", "KMS requests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_keys_and_endpoints() {
        assert!(check_region("eu-west-1").is_ok());
        assert!(check_region("us-gov-west-1").is_ok());
        for bad in ["EU-west-1", "eu west", "euwest1", ""] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
        for good in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/keyward-seal",
            "arn:aws:kms:eu-west-1:111122223333:alias/keyward-seal",
        ] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "key id", "arn:gcp:kms:x", "k\u{7f}"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        let alias = |key: &str| AwsKmsConfig {
            region: "eu-west-1".into(),
            key: key.into(),
            endpoint_url: None,
        };
        assert!(alias("alias/k").key_is_alias());
        assert!(alias("arn:aws:kms:eu-west-1:1:alias/k").key_is_alias());
        assert!(!alias("arn:aws:kms:eu-west-1:1:key/k").key_is_alias());
        assert!(check_endpoint("http://127.0.0.1:4566").is_ok());
        assert!(check_endpoint("https://kms.eu-west-1.amazonaws.com").is_ok());
        let e = check_endpoint("http://10.0.0.2:4566").unwrap_err();
        assert!(e.contains("KMS requests") && e.contains("in clear"), "{e}");
    }
}
