//! Token operations, counted and timed: [`MeteredToken`] wraps the process's token before
//! anything uses it (unsealing, in-token signing, audit checkpoints, readiness probes).

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::{Described, Histograms, Metrics, OperationLabels, FAST_BUCKETS};
use crate::error::Result;
use crate::secret::SecretBytes;
use crate::token::{
    HmacAlgorithm, KeyRef, OaepHash, SealingAlgorithm, SealingPublicKey, SignatureAlgorithm, Token,
};

/// The operations a token performs, as the `operation` label names them.
const OPERATIONS: [&str; 9] = [
    "public_key",
    "generate",
    "ecdh_p256",
    "rsa_oaep_decrypt",
    "hmac",
    "import_hmac_key",
    "signing_public_key",
    "sign",
    "generate_signing_key",
];

pub(crate) struct TokenMetrics {
    operations: Family<OperationLabels, Counter>,
    errors: Family<OperationLabels, Counter>,
    time: Histograms<OperationLabels>,
}

impl TokenMetrics {
    pub(super) fn new() -> TokenMetrics {
        let m = TokenMetrics {
            operations: Family::default(),
            errors: Family::default(),
            time: Family::new_with_constructor(|| Histogram::new(FAST_BUCKETS)),
        };
        for operation in OPERATIONS {
            let labels = OperationLabels { operation };
            drop(m.operations.get_or_create(&labels));
            drop(m.errors.get_or_create(&labels));
        }
        m
    }

    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "token_operations",
            "Operations asked of the token (PKCS#11 or YubiKey), by operation",
            Described(self.operations.clone()),
        );
        registry.register(
            "token_errors",
            "Token operations that failed, by operation",
            Described(self.errors.clone()),
        );
        registry.register_with_unit(
            "token_operation_duration",
            "Time of each token operation, by operation",
            Unit::Seconds,
            Described(self.time.clone()),
        );
    }

    fn observe<T>(&self, operation: &'static str, run: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let out = run();
        let labels = OperationLabels { operation };
        self.time
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        self.operations.get_or_create(&labels).inc();
        if out.is_err() {
            self.errors.get_or_create(&labels).inc();
        }
        out
    }
}

/// A token whose every operation is counted, timed and (when it fails) counted as an error.
pub struct MeteredToken {
    inner: Arc<dyn Token>,
    metrics: Arc<Metrics>,
}

impl MeteredToken {
    /// `token`, metered into `metrics`.
    pub fn wrap(token: Arc<dyn Token>, metrics: Arc<Metrics>) -> Arc<dyn Token> {
        Arc::new(MeteredToken {
            inner: token,
            metrics,
        })
    }

    fn observe<T>(&self, operation: &'static str, run: impl FnOnce() -> Result<T>) -> Result<T> {
        self.metrics.token().observe(operation, run)
    }
}

impl Token for MeteredToken {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        self.observe("public_key", || self.inner.public_key())
    }

    fn public_key_is_the_devices(&self) -> bool {
        self.inner.public_key_is_the_devices()
    }

    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        self.inner.gate()
    }

    fn service_key(&self) -> Option<crate::token::ServiceKey> {
        self.inner.service_key()
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        self.observe("generate", || self.inner.generate(algorithm))
    }

    fn ecdh_p256(&self, peer: &p256::PublicKey) -> Result<SecretBytes> {
        self.observe("ecdh_p256", || self.inner.ecdh_p256(peer))
    }

    fn rsa_oaep_decrypt(&self, hash: OaepHash, ciphertext: &[u8]) -> Result<SecretBytes> {
        self.observe("rsa_oaep_decrypt", || {
            self.inner.rsa_oaep_decrypt(hash, ciphertext)
        })
    }

    fn hmac(&self, key: &KeyRef, algorithm: HmacAlgorithm, parts: &[&[u8]]) -> Result<Vec<u8>> {
        self.observe("hmac", || self.inner.hmac(key, algorithm, parts))
    }

    fn import_hmac_key(&self, key: &KeyRef, secret: &SecretBytes) -> Result<()> {
        self.observe("import_hmac_key", || {
            self.inner.import_hmac_key(key, secret)
        })
    }

    fn signing_public_key(&self, key: &KeyRef) -> Result<Option<(SignatureAlgorithm, Vec<u8>)>> {
        self.observe("signing_public_key", || self.inner.signing_public_key(key))
    }

    fn sign(&self, key: &KeyRef, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        self.observe("sign", || self.inner.sign(key, algorithm, message))
    }

    fn generate_signing_key(&self, key: &KeyRef, algorithm: SignatureAlgorithm) -> Result<Vec<u8>> {
        self.observe("generate_signing_key", || {
            self.inner.generate_signing_key(key, algorithm)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token that offers nothing but its description (every optional operation fails).
    struct Bare;

    impl Token for Bare {
        fn describe(&self) -> String {
            "bare test token".into()
        }
        fn public_key(&self) -> Result<SealingPublicKey> {
            Err(crate::Error::token("no key"))
        }
    }

    #[test]
    fn each_operation_is_counted_and_a_failure_is_an_error() {
        let metrics = Arc::new(Metrics::new());
        let token = MeteredToken::wrap(Arc::new(Bare), metrics.clone());
        assert!(token.public_key().is_err());
        assert!(token.public_key().is_err());
        assert!(token.signing_public_key(&KeyRef::new("k")).is_ok());
        let text = metrics.encode(super::super::Current {
            open_connections: 0,
            in_flight: 0,
            websocket_sessions: 0,
            credentials: Vec::new(),
        });
        for line in [
            "keyward_token_operations_total{operation=\"public_key\"} 2",
            "keyward_token_errors_total{operation=\"public_key\"} 2",
            "keyward_token_operations_total{operation=\"signing_public_key\"} 1",
            "keyward_token_errors_total{operation=\"signing_public_key\"} 0",
            "keyward_token_operation_duration_seconds_count{operation=\"public_key\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
