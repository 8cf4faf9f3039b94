//! The hardware token: the one trait over whatever holds keyward's sealing key.
//!
//! A [`Token`] performs private-key operations inside the hardware; the private key never leaves
//! it. Its core is the sealing key pair ([`SealingAlgorithm`], [`SealingPublicKey`]) that unseals
//! vault files. Everything a token may or may not be able to do is an optional operation whose
//! default answers "this token does not support …", so a backend implements what its hardware
//! offers and nothing else.
//!
//! Two backends: [`Pkcs11Token`] (SoftHSM, vendor HSMs, YubiKey through ykcs11), addressed by
//! PKCS#11 URIs ([`Pkcs11Uri`]), and [`YubiKeyToken`], a YubiKey's PIV applet through the
//! `yubikey` crate, addressed by serial number and [`PivSlot`]. [`open`] turns the `[token]`
//! configuration into a token, so nothing above this module names a backend. The PIN is read
//! from a [`PinSource`] — never from argv or the configuration file itself.
//!
//! Token calls block. Start-up calls them before the runtime starts; request signing with a key
//! kept on the token runs under `block_in_place` (the key's `SigningKey::blocks`). No token
//! method is `async`, so a PKCS#11 session can never be held across an `.await`; the PKCS#11
//! backend checks a session out of its pool for each call.

mod aws_kms;
mod operations;
mod pin;
mod piv;
mod pkcs11;
mod sealing;
mod signing;
mod transit;
mod uri;
mod yubikey;

/// `keyward doctor`'s AWS KMS checks: the credentials the SDK finds, and the sealing key.
pub use aws_kms::doctor_checks as aws_kms_doctor_checks;
pub use aws_kms::AwsKmsConfig;
#[cfg(feature = "aws-kms")]
pub use aws_kms::AwsKmsToken;
/// The `[token] kind = "aws-kms"` checks the configuration applies.
pub(crate) mod aws_kms_checks {
    pub use super::aws_kms::{check_endpoint, check_key, check_region};
}
pub use operations::Token;
pub use pin::PinSource;
pub use piv::{PinPolicy, PivSlot, TouchPolicy};
pub use pkcs11::Pkcs11Token;
pub use sealing::{
    KeyService, OaepHash, Rsa3072PublicKey, SealingAlgorithm, SealingPublicKey, ServiceKey,
};
pub use signing::{HmacAlgorithm, KeyRef, SignatureAlgorithm};
/// The `[token] kind = "vault"` checks the configuration applies.
pub(crate) mod transit_checks {
    pub use super::transit::{check_address, check_name};
}
pub use transit::{
    AppRole, HmacKey as TransitHmacKey, SecretFrom, TransitConfig, TransitToken, VaultTokenSource,
};
pub use uri::{ObjectType, Pkcs11Uri};
pub use yubikey::{YubiKeyToken, MAX_ED25519_MESSAGE};

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The validated `[token]` section: which backend holds the sealing key and how to unlock it.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub backend: Backend,
    /// The PIN of a hardware token; `None` for a key service, which has its own credential.
    pub pin: Option<PinSource>,
}

/// Where the token is and how to find it.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A PKCS#11 module and the token and key pair a URI names.
    Pkcs11 { module: PathBuf, uri: Pkcs11Uri },
    /// A YubiKey's PIV applet over PC/SC: the one with `serial` (or the only one plugged in),
    /// and the slot of the sealing key.
    YubiKey { serial: Option<u32>, slot: PivSlot },
    /// A HashiCorp Vault / OpenBao Transit key (`kind = "vault"`).
    Transit(TransitConfig),
    /// An AWS KMS key (`kind = "aws-kms"`); usable when keyward is built with the `aws-kms`
    /// feature.
    AwsKms(AwsKmsConfig),
}

/// How `keyward keygen` makes keys, where the hardware lets keyward choose (a YubiKey's PIN and
/// touch policies, and the management key that authorises key generation). `None` is the
/// default: PIN once, touch never, the card's default management key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyOptions {
    pub pin_policy: Option<PinPolicy>,
    pub touch: Option<TouchPolicy>,
    /// A file (owner-only) holding the management key in hex.
    pub management_key_file: Option<PathBuf>,
}

/// Before logging in (`keyward doctor`): loads the PKCS#11 module `config` names. `Ok(None)`
/// for a YubiKey, which has no module (PC/SC is asked when it is opened). Blocks.
pub fn load_module(config: &TokenConfig) -> Result<Option<String>> {
    match &config.backend {
        Backend::Pkcs11 { module, .. } => {
            pkcs11::load_module(module)?;
            Ok(Some(format!("PKCS#11 module {} loads", module.display())))
        }
        Backend::YubiKey { .. } | Backend::Transit(_) | Backend::AwsKms(_) => Ok(None),
    }
}

/// Before logging in: finds the token `config` names and says which it is (label and serial).
/// `Ok(None)` for a YubiKey (found when it is opened). Blocks.
pub fn find(config: &TokenConfig) -> Result<Option<String>> {
    match &config.backend {
        Backend::Pkcs11 { module, uri } => {
            let (label, serial) = pkcs11::find_token(module, uri)?;
            Ok(Some(format!(
                "token '{label}' (serial {serial}) is present"
            )))
        }
        Backend::YubiKey { .. } | Backend::Transit(_) | Backend::AwsKms(_) => Ok(None),
    }
}

/// Opens the token `config` names and logs in. Blocks.
pub fn open(config: &TokenConfig) -> Result<Box<dyn Token>> {
    open_with(config, &KeyOptions::default())
}

/// Opens the token to generate keys with `options`. Blocks.
pub fn open_with(config: &TokenConfig, options: &KeyOptions) -> Result<Box<dyn Token>> {
    let pin = || {
        config
            .pin
            .as_ref()
            .ok_or_else(|| Error::config("token.pin: required for a hardware token"))
    };
    match &config.backend {
        Backend::Transit(_) if *options != KeyOptions::default() => Err(Error::usage(
            "--pin-policy, --touch and --management-key-file are YubiKey options; this \
             configuration's [token] is a Vault Transit key",
        )),
        Backend::Transit(transit) => Ok(Box::new(TransitToken::open(transit)?)),
        Backend::AwsKms(_) if *options != KeyOptions::default() => Err(Error::usage(
            "--pin-policy, --touch and --management-key-file are YubiKey options; this \
             configuration's [token] is an AWS KMS key",
        )),
        Backend::AwsKms(kms) => open_aws_kms(kms),
        Backend::Pkcs11 { .. } if *options != KeyOptions::default() => Err(Error::usage(
            "--pin-policy, --touch and --management-key-file are YubiKey options; this \
             configuration's [token] is a PKCS#11 token (set the key's policies with the HSM's \
             own tools)",
        )),
        Backend::Pkcs11 { module, uri } => Ok(Box::new(Pkcs11Token::open(module, uri, pin()?)?)),
        Backend::YubiKey { serial, slot } => Ok(Box::new(YubiKeyToken::open(
            *serial,
            *slot,
            pin()?,
            options,
        )?)),
    }
}

#[cfg(feature = "aws-kms")]
fn open_aws_kms(config: &AwsKmsConfig) -> Result<Box<dyn Token>> {
    Ok(Box::new(AwsKmsToken::open(config)?))
}

#[cfg(not(feature = "aws-kms"))]
fn open_aws_kms(_: &AwsKmsConfig) -> Result<Box<dyn Token>> {
    Err(Error::config(
        "token.kind: this keyward was built without AWS KMS support: build it with `cargo \
         build --release --features aws-kms`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yubikey_key_options_are_refused_for_a_pkcs11_token() {
        let config = TokenConfig {
            backend: Backend::Pkcs11 {
                module: "/nonexistent/module.so".into(),
                uri: "pkcs11:token=t;object=k".parse().unwrap(),
            },
            pin: Some(PinSource::Env("UNUSED".into())),
        };
        let options = KeyOptions {
            touch: Some(TouchPolicy::Always),
            ..KeyOptions::default()
        };
        let err = open_with(&config, &options).err().expect("refused");
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(err.to_string().contains("are YubiKey options"), "{err}");
        // Without them, the PKCS#11 token is opened (and here fails on the missing module).
        let err = open(&config).err().expect("no module");
        assert!(err.to_string().contains("/nonexistent/module.so"), "{err}");
    }
}
