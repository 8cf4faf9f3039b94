//! [`Token`] over PKCS#11 through `cryptoki` (SoftHSM, vendor HSMs, YubiKey via ykcs11).
//!
//! One module is loaded and `C_Initialize`d once per process (with `CKF_OS_LOCKING_OK`; without it
//! concurrent sessions crash SoftHSM) and never finalized, so several [`Pkcs11Token`]s on one
//! module share it safely ([`module`]). Each token keeps a pool of logged-in RW sessions that
//! logs in again when the token forgets them ([`session`]).
//!
//! The sealing key pair (P-256 or RSA-3072) is named by the URI's `object`/`id` ([`sealing`]);
//! exchange keys kept on the token are named by their label ([`signing`]).

mod attributes;
mod ec;
mod error;
mod module;
mod sealing;
mod session;
mod signing;

use std::path::Path;

use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use self::error::{ck, OpError};
use self::session::SessionPool;
use super::operations::Token;
use super::pin::PinSource;
use super::sealing::{OaepHash, SealingAlgorithm, SealingPublicKey};
use super::signing::{HmacAlgorithm, KeyRef, SignatureAlgorithm};
use super::uri::{ObjectType, Pkcs11Uri};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// A token, its sealing key's name, and a pool of logged-in sessions.
pub struct Pkcs11Token {
    token_label: String,
    uri: Pkcs11Uri,
    pool: SessionPool,
    handles: signing::HandleCache,
    /// One permit per session the pool may open ([`Token::gate`]).
    gate: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Pkcs11Token {
    /// Loads `module`, finds the token `uri` names, opens a RW session and logs in with the PIN
    /// from `pin` (read again whenever the token must be logged in to again).
    pub fn open(module: &Path, uri: &Pkcs11Uri, pin: &PinSource) -> Result<Self> {
        check_object_type(uri)?;
        let module = module::context(module)?;
        let (slot, info) = module::select_token(&module.ctx, uri)?;
        let token_label = info.label().trim_end().to_string();
        let here = format!("PKCS#11 token '{token_label}'");
        if info.user_pin_locked() {
            return Err(Error::token(format!(
                "{here}: the user PIN is locked after too many wrong attempts; \
                 reset it with the security officer PIN"
            )));
        }
        if !info.user_pin_initialized() {
            return Err(Error::token(format!(
                "{here}: the user PIN is not initialized; initialize the token first \
                 (e.g. `softhsm2-util --init-token`)"
            )));
        }
        let pool = SessionPool::open(module, uri.clone(), slot, &info, pin.clone(), here)?;
        Ok(Pkcs11Token {
            token_label,
            uri: uri.clone(),
            gate: tokio::sync::Semaphore::new(pool.max()),
            pool,
            handles: Default::default(),
        })
    }

    /// The most sessions this token's pool opens.
    pub fn max_sessions(&self) -> usize {
        self.pool.max()
    }

    /// The sessions the pool has open now.
    pub fn open_sessions(&self) -> usize {
        self.pool.open_now()
    }

    /// Exactly one object matching `template`; `what` names it in errors ("EC private key
    /// 'keyward-seal'"), `create` says how to make it.
    fn find_one(
        &self,
        session: &Session,
        template: &[Attribute],
        what: &str,
        create: &str,
    ) -> std::result::Result<ObjectHandle, OpError> {
        let found = session
            .find_objects(template)
            .map_err(ck("searching for keys"))?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::token(format!(
                "no {what} on token '{}'; {create}",
                self.token_label
            ))
            .into()),
            many => Err(Error::token(format!(
                "{} {what}s on token '{}'; keyward needs exactly one (delete the others, or add \
                 id= to the token URI)",
                many.len(),
                self.token_label
            ))
            .into()),
        }
    }

    /// Refuses when an object of one of `classes` matching `name` exists: key generation and
    /// import never replace a key.
    fn refuse_existing(
        &self,
        session: &Session,
        classes: &[ObjectClass],
        name: &[Attribute],
        described: &str,
        fix: &str,
    ) -> std::result::Result<(), OpError> {
        for class in classes {
            let mut template = vec![Attribute::Class(*class)];
            template.extend_from_slice(name);
            let existing = session
                .find_objects(&template)
                .map_err(ck("searching for keys"))?;
            if !existing.is_empty() {
                return Err(Error::token(format!(
                    "a key {described} already exists on token '{}'; keyward will not replace \
                     it ({fix})",
                    self.token_label
                ))
                .into());
            }
        }
        Ok(())
    }
}

impl Token for Pkcs11Token {
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        Some(&self.gate)
    }

    fn describe(&self) -> String {
        format!(
            "PKCS#11 token '{}', key {}",
            self.token_label,
            self.uri.key_description()
        )
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        self.pool.run(|s| self.sealing_public_key(s))
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        self.pool.run(|s| self.generate_sealing_key(s, algorithm))
    }

    fn ecdh_p256(&self, peer: &p256::PublicKey) -> Result<SecretBytes> {
        self.pool.run(|s| self.ecdh(s, peer))
    }

    fn rsa_oaep_decrypt(&self, hash: OaepHash, ciphertext: &[u8]) -> Result<SecretBytes> {
        self.pool.run(|s| self.oaep_decrypt(s, hash, ciphertext))
    }

    fn hmac(&self, key: &KeyRef, algorithm: HmacAlgorithm, parts: &[&[u8]]) -> Result<Vec<u8>> {
        self.pool
            .run(|s| self.hmac_in_token(s, key, algorithm, parts))
    }

    fn import_hmac_key(&self, key: &KeyRef, secret: &SecretBytes) -> Result<()> {
        self.pool.run(|s| self.import_hmac(s, key, secret))
    }

    fn signing_public_key(&self, key: &KeyRef) -> Result<Option<(SignatureAlgorithm, Vec<u8>)>> {
        self.pool.run(|s| self.find_api_key(s, key))
    }

    fn sign(&self, key: &KeyRef, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        self.pool
            .run(|s| self.sign_in_token(s, key, algorithm, message))
    }

    fn generate_signing_key(&self, key: &KeyRef, algorithm: SignatureAlgorithm) -> Result<Vec<u8>> {
        self.pool.run(|s| self.generate_api_key(s, key, algorithm))
    }
}

/// Loads and initializes `module` (what `keyward doctor` checks first).
pub fn load_module(module: &Path) -> Result<()> {
    module::context(module).map(|_| ())
}

/// The token `uri` names on `module`, found without logging in: its label and serial number.
pub fn find_token(module: &Path, uri: &Pkcs11Uri) -> Result<(String, String)> {
    let module = module::context(module)?;
    let (_, info) = module::select_token(&module.ctx, uri)?;
    Ok((
        info.label().trim_end().to_owned(),
        info.serial_number().trim_end().to_owned(),
    ))
}

/// The URI names a key pair; `type=` may say public or private but nothing else.
fn check_object_type(uri: &Pkcs11Uri) -> Result<()> {
    match uri.object_type {
        None | Some(ObjectType::Public) | Some(ObjectType::Private) => Ok(()),
        Some(other) => Err(Error::config(format!(
            "token URI {uri}: type={} does not name a key pair; keyward's sealing key is a key \
             pair (drop type= or use type=private)",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_type_must_name_a_key_pair() {
        for (uri, ok) in [
            ("pkcs11:object=k", true),
            ("pkcs11:object=k;type=private", true),
            ("pkcs11:object=k;type=public", true),
            ("pkcs11:object=k;type=secret-key", false),
            ("pkcs11:object=k;type=cert", false),
        ] {
            let result = check_object_type(&uri.parse().unwrap());
            assert_eq!(result.is_ok(), ok, "{uri}");
        }
    }
}
