//! The hardware token: the one trait over whatever holds keyward's sealing key.
//!
//! A [`Token`] performs private-key operations inside the hardware; the private key never leaves
//! it. Its core is the sealing key pair ([`SealingAlgorithm`], [`SealingPublicKey`]) that unseals
//! vault files. Everything a token may or may not be able to do is an optional operation whose
//! default answers "this token does not support …", so a backend implements what its hardware
//! offers and nothing else.
//!
//! Today there is one backend, [`Pkcs11Token`] (SoftHSM, vendor HSMs, YubiKey through ykcs11),
//! addressed by PKCS#11 URIs ([`Pkcs11Uri`]). [`open`] turns the `[token]` configuration into a
//! token, so nothing above this module names a backend. The PIN is read from a [`PinSource`] —
//! never from argv or the configuration file itself.
//!
//! Token calls block. Start-up calls them before the runtime starts; request signing with a key
//! kept on the token runs under `block_in_place` (the key's `SigningKey::blocks`). No token
//! method is `async`, so a PKCS#11 session can never be held across an `.await`; the PKCS#11
//! backend checks a session out of its pool for each call.

mod operations;
mod pin;
mod pkcs11;
mod sealing;
mod signing;
mod uri;

pub use operations::Token;
pub use pin::PinSource;
pub use pkcs11::Pkcs11Token;
pub use sealing::{OaepHash, Rsa3072PublicKey, SealingAlgorithm, SealingPublicKey};
pub use signing::{HmacAlgorithm, KeyRef, SignatureAlgorithm};
pub use uri::{ObjectType, Pkcs11Uri};

use std::path::PathBuf;

use crate::error::Result;

/// The validated `[token]` section: which backend holds the sealing key and how to unlock it.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub backend: Backend,
    pub pin: PinSource,
}

/// Where the token is and how to find it.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A PKCS#11 module and the token and key pair a URI names.
    Pkcs11 { module: PathBuf, uri: Pkcs11Uri },
}

/// Opens the token `config` names and logs in. Blocks.
pub fn open(config: &TokenConfig) -> Result<Box<dyn Token>> {
    match &config.backend {
        Backend::Pkcs11 { module, uri } => {
            Ok(Box::new(Pkcs11Token::open(module, uri, &config.pin)?))
        }
    }
}
