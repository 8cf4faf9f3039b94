//! A credential as the signers see it: the API key, the passphrase where the exchange has one,
//! the secret as a [`SigningKey`], and the credential's nonce and receive window.

use base64::Engine;

use super::nonce::Nonce;
use super::{Exchange, KeyUse, SecretForm};
use crate::key::{is_pem, HmacSecret, KeyAlgorithm, PrivateKey, SigningKey};
use crate::request::Refusal;
use crate::secret::SecretBytes;
use crate::vault::CredentialSecrets;

/// The unsealed material of one credential, as the signer needs it. The signer never reads the
/// secret: it asks [`Credential::key`] for HMACs or signatures.
pub struct Credential {
    pub api_key: SecretBytes,
    pub passphrase: Option<SecretBytes>,
    /// The secret as a signing key: an HMAC secret (a [`SecretForm::Base64`] secret already
    /// decoded) or the parsed private key of an asymmetric API key.
    pub key: Box<dyn SigningKey>,
    /// Upper bound for the exchange's receive window (Binance `recvWindow`), in milliseconds.
    pub recv_window_ms: u64,
    /// Strictly increasing nonces for this key.
    pub nonce: Nonce,
}

impl Credential {
    /// The passphrase the exchange's signature needs, or a `bad_credential` refusal saying
    /// `missing` (the credential was sealed without one).
    pub fn passphrase_or(&self, missing: &str) -> Result<&SecretBytes, Refusal> {
        self.passphrase
            .as_ref()
            .ok_or_else(|| Refusal::bad_credential(missing))
    }

    /// Builds the signer's view of unsealed secrets, parsing a private key where the exchange's
    /// secret form says so. Errors describe the form, never the material.
    pub fn load(
        exchange: &dyn Exchange,
        secrets: CredentialSecrets,
        recv_window_ms: u64,
        nonce: Nonce,
    ) -> Result<Credential, String> {
        let key: Box<dyn SigningKey> = match parse_secret(exchange.secret_form(), &secrets.secret)?
        {
            Some(private_key) => Box::new(private_key),
            // A base64 secret is decoded once here, not on every request.
            None => Box::new(HmacSecret::new(match exchange.secret_form() {
                SecretForm::Base64 => decode_base64_secret(&secrets.secret)?,
                _ => secrets.secret,
            })),
        };
        Self::with_key(
            exchange,
            secrets.api_key,
            secrets.passphrase,
            key,
            recv_window_ms,
            nonce,
        )
    }

    /// A credential whose signing key is already made (one held on a token): checks that the
    /// exchange signs with a key of its kind and can use a key that never reveals its bytes.
    pub fn with_key(
        exchange: &dyn Exchange,
        api_key: SecretBytes,
        passphrase: Option<SecretBytes>,
        key: Box<dyn SigningKey>,
        recv_window_ms: u64,
        nonce: Nonce,
    ) -> Result<Credential, String> {
        if exchange.needs_passphrase() && passphrase.is_none() {
            return Err(format!(
                "{} credentials need a passphrase; re-seal with the API key, secret and passphrase on three lines",
                exchange.id()
            ));
        }
        if !accepts_key(exchange.secret_form(), key.algorithm()) {
            return Err(format!(
                "{} does not sign with {} keys",
                exchange.id(),
                key.algorithm()
            ));
        }
        check_key_use(exchange, &*key)?;
        Ok(Credential {
            api_key,
            passphrase,
            key,
            recv_window_ms,
            nonce,
        })
    }
}

/// Whether an exchange whose secret has `form` signs with keys of `algorithm`.
pub fn accepts_key(form: SecretForm, algorithm: KeyAlgorithm) -> bool {
    use KeyAlgorithm::*;
    match form {
        SecretForm::Text | SecretForm::Base64 => algorithm == Hmac,
        SecretForm::TextOrPem => matches!(algorithm, Hmac | Rsa | Ed25519),
        SecretForm::PrivateKey => matches!(algorithm, Ed25519 | EcdsaP256),
    }
}

/// Standard base64 `text` decoded into locked memory, or `error` (which never shows the text).
fn decode_base64(text: &[u8], error: &str) -> Result<SecretBytes, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(SecretBytes::new)
        .map_err(|_| error.to_owned())
}

/// A [`SecretForm::Base64`] secret, decoded into locked memory.
fn decode_base64_secret(secret: &SecretBytes) -> Result<SecretBytes, String> {
    let decoded = decode_base64(
        secret.expose(),
        "the secret must be standard base64 (as the exchange shows it)",
    )?;
    if decoded.is_empty() {
        return Err("the secret decodes to nothing".to_owned());
    }
    Ok(decoded)
}

/// Checks a secret against its form; returns the parsed private key when it is one.
pub fn parse_secret(form: SecretForm, secret: &SecretBytes) -> Result<Option<PrivateKey>, String> {
    let bytes = secret.expose();
    let pem = is_pem(bytes);
    match form {
        SecretForm::Text if pem => {
            Err("this exchange uses an HMAC secret, not a PEM key".to_owned())
        }
        SecretForm::Text => Ok(None),
        SecretForm::Base64 => decode_base64_secret(secret).map(|_| None),
        SecretForm::TextOrPem if pem => match PrivateKey::from_pem(bytes) {
            Ok(key @ (PrivateKey::Rsa(_) | PrivateKey::Ed25519(_))) => Ok(Some(key)),
            Ok(other) => Err(format!(
                "the PEM holds an {} key; this exchange's API keys are RSA or Ed25519",
                other.algorithm()
            )),
            Err(_) if bytes.windows(10).any(|w| w == b"PUBLIC KEY") => Err(
                "this is a public key: seal the PRIVATE key whose public half is registered at the exchange"
                    .to_owned(),
            ),
            Err(e) => Err(e),
        },
        SecretForm::TextOrPem => Ok(None),
        SecretForm::PrivateKey if pem => PrivateKey::from_pem(bytes).map(Some),
        SecretForm::PrivateKey => {
            let raw = decode_base64(
                bytes.trim_ascii(),
                "the secret must be a PEM private key or a base64 Ed25519 key",
            )?;
            PrivateKey::from_ed25519_bytes(raw.expose()).map(Some)
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(REDACTED)")
    }
}

/// An exchange that takes its secret as a header (Alpaca) needs a key that can reveal it: a key
/// held on a token or in a key service never can, so such a credential is refused when it is
/// loaded, not on its first request.
pub fn check_key_use(exchange: &dyn Exchange, key: &dyn SigningKey) -> Result<(), String> {
    match exchange.key_use() {
        KeyUse::SecretInHeader if key.reveal().is_err() => Err(format!(
            "{} sends its API secret itself with every request, so its secret cannot live on a token or in a key service; seal it into a vault file instead",
            exchange.id()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::SystemTime;

    use crate::exchange::Signing;

    use super::*;
    use crate::exchange::{registry, Access};
    use crate::key::{KeyAlgorithm, KeyError};

    /// A key that behaves like one held on a token: it signs through its operations, counts
    /// them, blocks, and never reveals its bytes.
    struct TokenLike {
        inner: Box<dyn SigningKey>,
        calls: Arc<AtomicUsize>,
    }

    impl SigningKey for TokenLike {
        fn algorithm(&self) -> KeyAlgorithm {
            self.inner.algorithm()
        }
        fn hmac_sha256(&self, parts: &[&[u8]]) -> Result<[u8; 32], KeyError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.hmac_sha256(parts)
        }
        fn hmac_sha512(&self, parts: &[&[u8]]) -> Result<[u8; 64], KeyError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.hmac_sha512(parts)
        }
        fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.inner.sign(msg)
        }
        fn blocks(&self) -> bool {
            true
        }
    }

    fn secret_for(form: SecretForm) -> String {
        match form {
            SecretForm::Text | SecretForm::TextOrPem => "s3cr3t-for-the-seam-test".to_owned(),
            SecretForm::Base64 => "c2VjcmV0".to_owned(),
            SecretForm::PrivateKey => base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
        }
    }

    /// Every signer signs through its credential's key (none reads key bytes), so a key that
    /// lives on a token works for each of them — except Alpaca, which sends its secret itself
    /// and must refuse such a key with a clear `bad_credential`.
    #[test]
    fn every_signer_asks_its_key() {
        for ex in registry() {
            let secrets = CredentialSecrets {
                api_key: SecretBytes::copy_from(b"seam-api-key"),
                secret: SecretBytes::copy_from(secret_for(ex.secret_form()).as_bytes()),
                passphrase: ex
                    .needs_passphrase()
                    .then(|| SecretBytes::copy_from(b"seam-pass")),
            };
            let mut cred = Credential::load(*ex, secrets, 5000, Nonce::in_memory()).unwrap();
            let plain = {
                let (method, path) = ex.permission_endpoint();
                crate::request::canonicalise(method, path, None, None, b"", &ex.canon_rules())
                    .unwrap()
            };
            let calls = Arc::new(AtomicUsize::new(0));
            cred.key = Box::new(TokenLike {
                inner: cred.key,
                calls: calls.clone(),
            });
            let result = ex.sign(
                &plain,
                Signing::new(Access::Signed, &cred, SystemTime::now()),
            );
            if ex.id() == "alpaca" {
                let e = result.unwrap_err();
                assert_eq!(e.code, "bad_credential", "{e}");
                assert!(e.message.contains("reveal its secret"), "{e}");
                continue;
            }
            result.unwrap_or_else(|e| panic!("{}: {e}", ex.id()));
            // The key was asked (at least once: KuCoin also signs its passphrase).
            assert!(cred.key.blocks());
            assert!(
                calls.load(Ordering::Relaxed) >= 1,
                "{}: the signer did not use its key",
                ex.id()
            );
        }
    }

    #[test]
    fn a_secret_sent_as_a_header_needs_a_key_that_can_reveal_it() {
        let alpaca = crate::exchange::lookup("alpaca").unwrap();
        let token_like = TokenLike {
            inner: Box::new(HmacSecret::new(SecretBytes::copy_from(b"s"))),
            calls: Arc::new(AtomicUsize::new(0)),
        };
        let e = check_key_use(alpaca, &token_like).unwrap_err();
        assert!(e.contains("cannot live on a token"), "{e}");
        assert!(check_key_use(alpaca, &HmacSecret::new(SecretBytes::copy_from(b"s"))).is_ok());
        let bybit = crate::exchange::lookup("bybit").unwrap();
        assert!(check_key_use(bybit, &token_like).is_ok());
    }

    #[test]
    fn an_hmac_exchange_refuses_an_asymmetric_key() {
        let ex = crate::exchange::lookup("bybit").unwrap();
        let mut cred = Credential::load(
            ex,
            CredentialSecrets {
                api_key: SecretBytes::copy_from(b"k"),
                secret: SecretBytes::copy_from(b"s"),
                passphrase: None,
            },
            5000,
            Nonce::in_memory(),
        )
        .unwrap();
        cred.key = Box::new(PrivateKey::from_ed25519_bytes(&[3u8; 32]).unwrap());
        let (method, path) = ex.permission_endpoint();
        let req =
            crate::request::canonicalise(method, path, None, None, b"", &ex.canon_rules()).unwrap();
        let e = ex
            .sign(&req, Signing::new(Access::Signed, &cred, SystemTime::now()))
            .unwrap_err();
        assert_eq!(e.code, "bad_credential");
        assert!(
            e.message
                .contains("this Ed25519 key cannot compute HMAC-SHA256"),
            "{e}"
        );
    }
}
