//! Exchange keys kept on a PKCS#11 token, named by `CKA_LABEL`: HMAC secrets stored as
//! `CKK_GENERIC_SECRET` keys (`CKM_SHA256_HMAC`, `CKM_SHA512_HMAC`), and API key pairs generated
//! on the token (Ed25519 with `CKM_EDDSA`, P-256 with `CKM_ECDSA` over a SHA-256 digest computed
//! here). Every private or secret key is created sensitive and non-extractable, and can only sign.
//!
//! Handles are looked up by label once and cached (a token object's handle is valid in every
//! session of the process) until the pool loses its sessions; a handle the token no longer knows
//! is looked up again.

use std::collections::HashMap;
use std::sync::Mutex;

use cryptoki::error::RvError;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::attributes;
use super::ec::{self, ED25519_EC_PARAMS, P256_EC_PARAMS};
use super::error::{ck, OpError};
use super::Pkcs11Token;
use crate::error::Error;
use crate::secret::SecretBytes;
use crate::token::signing::padded_hmac_key;
use crate::token::signing::{ed25519_spki, p256_spki};
use crate::token::{HmacAlgorithm, KeyRef, SignatureAlgorithm};

type OpResult<T> = std::result::Result<T, OpError>;

/// Cached handles of signing keys, by label and class, with the session generation they were
/// found in: after the pool has lost its sessions, every cached handle is looked up again.
#[derive(Default)]
pub(super) struct HandleCache(Mutex<HashMap<(String, u64), (u64, ObjectHandle)>>);

impl HandleCache {
    fn get(&self, label: &str, class: ObjectClass, generation: u64) -> Option<ObjectHandle> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&(label.to_owned(), class_id(class))) {
            Some((found_in, handle)) if *found_in == generation => Some(*handle),
            _ => None,
        }
    }
    fn put(&self, label: &str, class: ObjectClass, generation: u64, handle: ObjectHandle) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert((label.to_owned(), class_id(class)), (generation, handle));
    }
    fn evict(&self, label: &str, class: ObjectClass) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&(label.to_owned(), class_id(class)));
    }
}

fn class_id(class: ObjectClass) -> u64 {
    if class == ObjectClass::SECRET_KEY {
        0
    } else if class == ObjectClass::PRIVATE_KEY {
        1
    } else {
        2
    }
}

impl Pkcs11Token {
    pub(super) fn import_hmac(
        &self,
        session: &Session,
        key: &KeyRef,
        secret: &SecretBytes,
    ) -> OpResult<()> {
        let label = label(key);
        self.refuse_existing(
            session,
            &[ObjectClass::SECRET_KEY, ObjectClass::PRIVATE_KEY],
            &label,
            &key.to_string(),
            "delete it first if you mean to replace it, e.g. with `pkcs11-tool --delete-object`",
        )?;
        if secret.is_empty() {
            return Err(Error::usage("the HMAC secret is empty").into());
        }
        let padded = padded_hmac_key(secret.expose());
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
        ];
        template.extend(attributes::resident(&[
            Attribute::Modifiable(false),
            Attribute::Sign(true),
            Attribute::Verify(false),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ]));
        // Pushed, not passed to `resident` (which copies its slice): the one copy of the
        // secret in the template is the one zeroised below.
        template.push(Attribute::Value(padded.expose().to_vec()));
        template.extend(label);
        let created = session
            .create_object(&template)
            .map_err(ck(format_args!("storing the HMAC key {key}")));
        for attr in &mut template {
            if let Attribute::Value(v) = attr {
                v.zeroize();
            }
        }
        created.map(drop)
    }

    pub(super) fn hmac_in_token(
        &self,
        session: &Session,
        key: &KeyRef,
        algorithm: HmacAlgorithm,
        parts: &[&[u8]],
    ) -> OpResult<Vec<u8>> {
        let mechanism = match algorithm {
            HmacAlgorithm::Sha256 => Mechanism::Sha256Hmac,
            HmacAlgorithm::Sha512 => Mechanism::Sha512Hmac,
        };
        let message = parts.concat();
        self.with_key(session, key, ObjectClass::SECRET_KEY, |handle| {
            session
                .sign(&mechanism, handle, &message)
                .map_err(ck(format_args!("{algorithm} with the key {key}")))
        })
    }

    pub(super) fn sign_in_token(
        &self,
        session: &Session,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        message: &[u8],
    ) -> OpResult<Vec<u8>> {
        let digest;
        let (mechanism, data) = match algorithm {
            SignatureAlgorithm::Ed25519 => (
                Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                message,
            ),
            SignatureAlgorithm::EcdsaP256 => {
                digest = Sha256::digest(message);
                (Mechanism::Ecdsa, &digest[..])
            }
        };
        let signature = self.with_key(session, key, ObjectClass::PRIVATE_KEY, |handle| {
            session
                .sign(&mechanism, handle, data)
                .map_err(ck(format_args!("{algorithm} signing with the key {key}")))
        })?;
        if signature.len() != 64 {
            return Err(Error::token(format!(
                "{algorithm} signature from the token is {} bytes, expected 64",
                signature.len()
            ))
            .into());
        }
        Ok(signature)
    }

    pub(super) fn generate_api_key(
        &self,
        session: &Session,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
    ) -> OpResult<Vec<u8>> {
        let label = label(key);
        self.refuse_existing(
            session,
            &[
                ObjectClass::PRIVATE_KEY,
                ObjectClass::PUBLIC_KEY,
                ObjectClass::SECRET_KEY,
            ],
            &label,
            &key.to_string(),
            "delete it first if you mean to replace it, e.g. with `pkcs11-tool --delete-object`",
        )?;
        let (mechanism, params) = match algorithm {
            SignatureAlgorithm::Ed25519 => {
                (Mechanism::EccEdwardsKeyPairGen, ED25519_EC_PARAMS.to_vec())
            }
            SignatureAlgorithm::EcdsaP256 => (Mechanism::EccKeyPairGen, P256_EC_PARAMS.to_vec()),
        };
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
        ];
        let mut private = attributes::resident(&[
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
        ]);
        public.extend(label.clone());
        private.extend(label);
        let (public, _private) = session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(ck(format_args!("generating an {algorithm} key pair {key}")))?;
        self.read_signing_public(session, public, key)
            .map(|(_, spki)| spki)
    }

    /// The API key pair labelled `key`, if there is one. A public key without its private key
    /// (or the reverse) is an error, not "none".
    pub(super) fn find_api_key(
        &self,
        session: &Session,
        key: &KeyRef,
    ) -> OpResult<Option<(SignatureAlgorithm, Vec<u8>)>> {
        let count = |class| -> OpResult<usize> {
            let mut template = vec![Attribute::Class(class)];
            template.extend(label(key));
            Ok(session
                .find_objects(&template)
                .map_err(ck("searching for keys"))?
                .len())
        };
        match (
            count(ObjectClass::PUBLIC_KEY)?,
            count(ObjectClass::PRIVATE_KEY)?,
        ) {
            (0, 0) => return Ok(None),
            (1, 1) => {}
            (public, private) => {
                return Err(Error::token(format!(
                    "token '{}' holds {public} public and {private} private keys labelled {key}; \
                     an exchange API key is one pair (`keyward keygen --api-key` makes one)",
                    self.token_label
                ))
                .into())
            }
        }
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        template.extend(label(key));
        let handle = self.find_one(session, &template, &format!("public key {key}"), "")?;
        self.read_signing_public(session, handle, key).map(Some)
    }

    /// The algorithm and DER SPKI of the API public key `handle`.
    fn read_signing_public(
        &self,
        session: &Session,
        handle: ObjectHandle,
        key: &KeyRef,
    ) -> OpResult<(SignatureAlgorithm, Vec<u8>)> {
        let [key_type, params, point] = attributes::read(
            session,
            handle,
            [
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
            format_args!("reading the public key {key}"),
        )?;
        let key_type = match key_type {
            Some(Attribute::KeyType(t)) => Some(t),
            _ => None,
        };
        let (params, point) = (attributes::bytes(params), attributes::bytes(point));
        let unknown = || {
            Error::token(format!(
                "the key {key} on token '{}' is neither Ed25519 nor EC P-256",
                self.token_label
            ))
        };
        let point = point.ok_or_else(unknown)?;
        match (key_type, params.as_deref()) {
            (Some(t), _) if t == KeyType::EC_EDWARDS => Ok((
                SignatureAlgorithm::Ed25519,
                ed25519_spki(&ec::parse_ed25519_point(&point)?),
            )),
            (Some(t), Some(p)) if t == KeyType::EC && ec::is_p256(p) => Ok((
                SignatureAlgorithm::EcdsaP256,
                p256_spki(&ec::parse_p256_point(&point)?),
            )),
            _ => Err(unknown().into()),
        }
    }

    /// Runs `use_key` with the handle of the key labelled `key` of `class`, looking it up (and
    /// caching it) if need be, and once more after a fresh lookup if the token no longer knows
    /// the cached handle.
    fn with_key<T>(
        &self,
        session: &Session,
        key: &KeyRef,
        class: ObjectClass,
        use_key: impl Fn(ObjectHandle) -> OpResult<T>,
    ) -> OpResult<T> {
        let generation = self.pool.generation();
        if let Some(handle) = self.handles.get(key.as_str(), class, generation) {
            match use_key(handle) {
                Err(e)
                    if matches!(
                        e.rv(),
                        Some(RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid)
                    ) =>
                {
                    self.handles.evict(key.as_str(), class)
                }
                done => return done,
            }
        }
        let mut template = vec![Attribute::Class(class)];
        template.extend(label(key));
        let what = if class == ObjectClass::SECRET_KEY {
            format!("HMAC key {key}")
        } else {
            format!("private key {key}")
        };
        let handle = self.find_one(
            session,
            &template,
            &what,
            "create it with `keyward import --in-token` or `keyward keygen --api-key`",
        )?;
        self.handles.put(key.as_str(), class, generation, handle);
        use_key(handle)
    }
}

fn label(key: &KeyRef) -> Vec<Attribute> {
    vec![Attribute::Label(key.as_str().as_bytes().to_vec())]
}
