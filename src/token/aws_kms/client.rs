//! The AWS SDK client for KMS, and the one place its errors become keyward's. Token methods
//! block, the SDK is async: the client owns a one-worker tokio runtime of its own, whose
//! connection pool lives as long as the token (one TLS handshake, then reused connections), and
//! each call waits for its future from whatever thread asked (start-up, or a request under
//! `block_in_place`). TLS is rustls with ring (no aws-lc-rs); credentials come from the SDK's
//! default chain only.

use std::future::Future;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::config::SharedCredentialsProvider;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;

use super::settings::AwsKmsConfig;
use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One attempt; the SDK's standard retry mode makes up to three.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A KMS client and the runtime its calls run on.
pub(super) struct Kms {
    client: aws_sdk_kms::Client,
    runtime: Option<tokio::runtime::Runtime>,
    config: AwsKmsConfig,
    /// The chain the client signs with (the client's own config no longer returns it).
    credentials: Option<SharedCredentialsProvider>,
}

impl Kms {
    /// Credentials from the default chain (environment, profile, web identity, ECS, IMDS).
    pub fn new(config: &AwsKmsConfig) -> Result<Self> {
        Self::with_credentials(config, None)
    }

    /// For tests: fixed credentials instead of the default chain.
    pub fn with_credentials(
        config: &AwsKmsConfig,
        credentials: Option<aws_sdk_kms::config::Credentials>,
    ) -> Result<Self> {
        // With it, the SDK's trace log prints response bodies: Decrypt's is the data key.
        if std::env::var("LOG_SENSITIVE_BODIES").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(Error::usage(
                "LOG_SENSITIVE_BODIES=true makes the AWS SDK log KMS response bodies (Decrypt's \
                 is a vault's data key) at trace level: unset it",
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("keyward-kms")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the AWS KMS client's runtime", e))?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .http_client(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url.to_string().trim_end_matches('/'));
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let sdk = loader.load().await;
            let _ = tx.send((aws_sdk_kms::Client::new(&sdk), sdk.credentials_provider()));
        });
        let (client, credentials) = rx
            .recv()
            .map_err(|_| Error::token("the AWS KMS client could not be set up"))?;
        Ok(Kms {
            client,
            credentials,
            runtime: Some(runtime),
            config: config.clone(),
        })
    }

    /// The credentials provider calls are signed with, if any (for doctor).
    pub fn credentials_provider(&self) -> Option<SharedCredentialsProvider> {
        self.credentials.clone()
    }

    pub fn config(&self) -> &AwsKmsConfig {
        &self.config
    }

    /// Runs `call` with the client on the KMS runtime and waits for its result.
    pub fn run<F, Fut, T>(&self, call: F) -> Result<T>
    where
        F: FnOnce(aws_sdk_kms::Client) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        let future = call(self.client.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        // The SDK's own operation timeout ends the call first; this only guards a stuck runtime.
        rx.recv_timeout(CALL_TIMEOUT + Duration::from_secs(5))
            .map_err(|_| Error::token(format!("{}: no answer from AWS KMS", self.where_())))
    }

    /// `region eu-west-1` or the endpoint URL, for messages.
    pub fn where_(&self) -> String {
        match &self.config.endpoint_url {
            Some(url) => format!("KMS endpoint {}", url.to_string().trim_end_matches('/')),
            None => format!("AWS KMS in {}", self.config.region),
        }
    }

    /// The error of a failed call `what` (e.g. "decrypting the vault's data key"), which needs
    /// IAM permission `action`: what KMS said and what to do about it.
    pub fn refused<E>(&self, what: &str, action: &str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.refused_for(&self.config.key, what, action, err)
    }

    /// [`Kms::refused`] of a call on `key` (an HMAC key's alias) instead of the sealing key.
    pub fn refused_for<E>(&self, key: &str, what: &str, action: &str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let described = format!("AWS KMS key '{key}' ({})", self.where_());
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("unknown error");
                let message: String = e
                    .message()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(300)
                    .collect();
                Error::token(format!(
                    "{described}: {what} was refused ({code}{}{message}): {}",
                    if message.is_empty() { "" } else { ": " },
                    fix(code, action)
                ))
            }
            _ => Error::token(format!(
                "{described}: {what} failed before KMS answered ({}): check [token] region and \
                 endpoint_url, the network, and that keyward's user has AWS credentials (the \
                 SDK's default chain: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
                 web identity, or an instance/task role)",
                DisplayErrorContext(&err)
            )),
        }
    }
}

/// What to do about KMS error `code` (the `__type` of its JSON error body).
fn fix(code: &str, action: &str) -> String {
    match code {
        "AccessDeniedException" => format!(
            "the AWS identity keyward runs as may not call {action} on this key: attach the IAM \
             policy in the README (\"AWS KMS\") to it, or allow it in the key policy"
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "IncompleteSignature" => {
            "the AWS credentials keyward found are not valid (unknown access \
             key, wrong secret key, or an expired session): fix AWS_PROFILE / AWS_ACCESS_KEY_ID or \
             the instance role"
                .into()
        }
        "DisabledException" => "the key is disabled: enable it (`aws kms enable-key --key-id \
             ...`); until then keyward cannot use it (no vault sealed to it opens, no request it \
             signs is sent)"
            .into(),
        "KMSInvalidStateException" => "the key is not usable in its state (pending deletion, or \
             pending import): cancel the deletion (`aws kms cancel-key-deletion`) and enable it; \
             a deleted key cannot be recovered and neither can the vaults sealed to it"
            .into(),
        "NotFoundException" => "there is no such key in this region (deleted, or [token] key / \
             region is wrong): vaults sealed to a deleted key cannot be opened again; create a \
             key with `keyward keygen --algorithm rsa3072` and reseal to its recipient"
            .into(),
        "InvalidCiphertextException" | "IncorrectKeyException" => "the key does not decrypt this \
             ciphertext: the vault was sealed to another key, or the service cannot decrypt \
             RSA-OAEP (moto cannot; see the README)"
            .into(),
        "InvalidKeyUsageException" | "UnsupportedOperationException" => "the key cannot do this \
             (wrong key spec or usage): keyward seals to an RSA_3072 ENCRYPT_DECRYPT key and signs \
             with HMAC_256 / HMAC_512 GENERATE_VERIFY_MAC keys"
            .into(),
        "ThrottlingException" | "LimitExceededException" => {
            "KMS throttled the call: raise the account's KMS request quota or send fewer requests"
                .into()
        }
        _ => "see the error above and the key's CloudTrail events".into(),
    }
}

impl Drop for Kms {
    fn drop(&mut self) {
        // A runtime must not be dropped (which waits) inside another runtime: let it go.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fix;

    #[test]
    fn every_refusal_says_what_to_do() {
        assert!(fix("AccessDeniedException", "kms:Decrypt").contains("kms:Decrypt"));
        assert!(fix("DisabledException", "x").contains("enable-key"));
        assert!(fix("KMSInvalidStateException", "x").contains("cancel-key-deletion"));
        assert!(fix("UnrecognizedClientException", "x").contains("not valid"));
        assert!(fix("SomethingNew", "x").contains("CloudTrail"));
    }
}
