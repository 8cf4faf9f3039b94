//! AWS KMS as the token (`[token] kind = "aws-kms"`): the sealing key is an asymmetric
//! `RSA_3072` KMS key that decrypts vault data keys (`Decrypt`), reached with the official AWS
//! SDK for Rust. An exchange secret can live in KMS as imported HMAC key material, and requests
//! are then signed by `GenerateMac` (`hmac`). The settings are compiled always, so a configuration is checked the same with
//! or without the `aws-kms` cargo feature; the SDK and the backend only with it.

mod settings;

pub use settings::{check_endpoint, check_key, check_region, AwsKmsConfig};

#[cfg(feature = "aws-kms")]
mod client;
#[cfg(feature = "aws-kms")]
mod health;
#[cfg(feature = "aws-kms")]
mod hmac;
#[cfg(feature = "aws-kms")]
mod service;

#[cfg(feature = "aws-kms")]
pub use service::AwsKmsToken;

#[cfg(feature = "aws-kms")]
pub use health::doctor_checks;

/// Without the `aws-kms` feature there is nothing to ask KMS (opening the token says why).
#[cfg(not(feature = "aws-kms"))]
pub fn doctor_checks(_: &AwsKmsConfig) -> Vec<(&'static str, crate::error::Result<String>)> {
    Vec::new()
}
