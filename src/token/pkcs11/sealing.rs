//! The sealing key pair on a PKCS#11 token: named by the URI's `object` (label) and `id`, P-256
//! (`CKM_ECDH1_DERIVE`) or RSA-3072 (`CKM_RSA_PKCS_OAEP`). The private key is generated
//! sensitive and non-extractable, and can only derive (P-256) or decrypt (RSA).

use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::Session;
use cryptoki::types::Ulong;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use zeroize::Zeroize;

use super::attributes;
use super::ec::{is_p256, parse_p256_point, P256_EC_PARAMS};
use super::error::{ck, OpError};
use super::Pkcs11Token;
use crate::error::Error;
use crate::secret::SecretBytes;
use crate::token::{OaepHash, Rsa3072PublicKey, SealingAlgorithm, SealingPublicKey};

type OpResult<T> = std::result::Result<T, OpError>;

/// Length of the ECDH shared secret (the x-coordinate) for P-256.
const SHARED_SECRET_LEN: usize = 32;
const RSA_PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

impl Pkcs11Token {
    /// `CKA_LABEL` and `CKA_ID` of the sealing key, as the URI gives them.
    fn sealing_name(&self) -> Vec<Attribute> {
        let mut attrs = Vec::new();
        if let Some(label) = &self.uri.object {
            attrs.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.uri.id {
            attrs.push(Attribute::Id(id.clone()));
        }
        attrs
    }

    /// The one sealing key of `class` (and `key_type`, if given) the URI names.
    fn sealing_key(
        &self,
        session: &Session,
        class: ObjectClass,
        key_type: Option<KeyType>,
    ) -> OpResult<ObjectHandle> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(key_type) = key_type {
            template.push(Attribute::KeyType(key_type));
        }
        template.extend(self.sealing_name());
        let kind = match key_type {
            Some(KeyType::EC) => "EC ",
            Some(KeyType::RSA) => "RSA ",
            _ => "",
        };
        let which = if class == ObjectClass::PRIVATE_KEY {
            "private"
        } else {
            "public"
        };
        self.find_one(
            session,
            &template,
            &format!("{kind}{which} key {}", self.uri.key_description()),
            "create it with `keyward keygen` or fix object=/id= in the token URI",
        )
    }

    pub(super) fn sealing_public_key(&self, session: &Session) -> OpResult<SealingPublicKey> {
        let handle = self.sealing_key(session, ObjectClass::PUBLIC_KEY, None)?;
        let attrs = session
            .get_attributes(handle, &[AttributeType::KeyType])
            .map_err(ck("reading the public key's type"))?;
        match attrs.first() {
            Some(Attribute::KeyType(t)) if *t == KeyType::EC => {
                self.read_p256_public(session, handle).map(Into::into)
            }
            Some(Attribute::KeyType(t)) if *t == KeyType::RSA => {
                self.read_rsa_public(session, handle).map(Into::into)
            }
            other => Err(Error::token(format!(
                "{}: the sealing key is neither EC P-256 nor RSA ({other:?})",
                self.describe_key()
            ))
            .into()),
        }
    }

    pub(super) fn generate_sealing_key(
        &self,
        session: &Session,
        algorithm: SealingAlgorithm,
    ) -> OpResult<SealingPublicKey> {
        self.refuse_existing(
            session,
            &[ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY],
            &self.sealing_name(),
            &self.uri.key_description(),
            "choose another object= label in the URI, or delete the old key yourself",
        )?;
        let mut private = attributes::resident(&[Attribute::Sign(false), Attribute::Unwrap(false)]);
        // The public object is private (only a logged-in user sees it), non-modifiable and
        // non-destroyable, so nobody without the PIN can replace it; a token that refuses
        // CKA_DESTROYABLE (PKCS#11 < 2.40) gets the pair without it (see below).
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Modifiable(false),
        ];
        let mechanism = match algorithm {
            SealingAlgorithm::P256 => {
                public.push(Attribute::EcParams(P256_EC_PARAMS.to_vec()));
                private.extend([Attribute::Derive(true), Attribute::Decrypt(false)]);
                Mechanism::EccKeyPairGen
            }
            SealingAlgorithm::Rsa3072 => {
                public.extend([
                    Attribute::ModulusBits(Ulong::new(Rsa3072PublicKey::BITS as _)),
                    Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
                    Attribute::Encrypt(true),
                    Attribute::Verify(false),
                    Attribute::Wrap(false),
                ]);
                private.extend([Attribute::Decrypt(true), Attribute::Derive(false)]);
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        public.extend(self.sealing_name());
        private.extend(self.sealing_name());
        let mut pinned = public.clone();
        pinned.push(Attribute::Destroyable(false));
        let (public_handle, _private) = match session.generate_key_pair(&mechanism, &pinned, &private)
        {
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::AttributeTypeInvalid
                | cryptoki::error::RvError::TemplateInconsistent
                | cryptoki::error::RvError::AttributeValueInvalid,
                _,
            )) => {
                tracing::warn!(
                    "{}: the token refuses CKA_DESTROYABLE=false; the sealing public key is                      generated destroyable (keyward proves the pair before every use)",
                    self.describe_key()
                );
                session.generate_key_pair(&mechanism, &public, &private)
            }
            other => other,
        }
        .map_err(ck(format_args!("generating a {algorithm} key pair")))?;
        match algorithm {
            SealingAlgorithm::P256 => self
                .read_p256_public(session, public_handle)
                .map(Into::into),
            SealingAlgorithm::Rsa3072 => {
                self.read_rsa_public(session, public_handle).map(Into::into)
            }
        }
    }

    pub(super) fn ecdh(&self, session: &Session, peer: &p256::PublicKey) -> OpResult<SecretBytes> {
        let private = self.sealing_key(session, ObjectClass::PRIVATE_KEY, Some(KeyType::EC))?;
        let peer_point = peer.to_encoded_point(false);
        let mechanism =
            Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer_point.as_bytes()));
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::ValueLen(Ulong::new(SHARED_SECRET_LEN as _)),
            Attribute::Token(false),
        ];
        let derived = session
            .derive_key(&mechanism, private, &template)
            .map_err(ck("ECDH derive"))?;
        let value = self.read_derived_secret(session, derived);
        // Destroy the derived object whether or not reading it worked. A token that refuses
        // (ykcs11 keeps one derived object per slot, overwritten by the next derive) has already
        // handed the value over; it is a session object, gone when the session closes.
        if let Err(e) = session.destroy_object(derived) {
            tracing::warn!(
                "{}: the token did not destroy the derived ECDH object ({e}); it lives until the \
                 session closes",
                self.describe_key()
            );
        }
        value
    }

    pub(super) fn oaep_decrypt(
        &self,
        session: &Session,
        hash: OaepHash,
        ciphertext: &[u8],
    ) -> OpResult<SecretBytes> {
        let private = self.sealing_key(session, ObjectClass::PRIVATE_KEY, Some(KeyType::RSA))?;
        let (hash_mechanism, mgf) = match hash {
            OaepHash::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
            OaepHash::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        };
        let mechanism = Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
            hash_mechanism,
            mgf,
            PkcsOaepSource::empty(),
        ));
        let mut plain = session
            .decrypt(&mechanism, private, ciphertext)
            .map_err(ck(format_args!("RSA-OAEP ({hash}) decryption")))?;
        let value = SecretBytes::copy_from(&plain);
        plain.zeroize();
        Ok(value)
    }

    fn describe_key(&self) -> String {
        use crate::token::Token;
        self.describe()
    }

    fn read_p256_public(
        &self,
        session: &Session,
        handle: ObjectHandle,
    ) -> OpResult<p256::PublicKey> {
        let [params, point] = attributes::public_bytes(
            session,
            handle,
            [AttributeType::EcParams, AttributeType::EcPoint],
        )?;
        if !params.as_deref().is_some_and(is_p256) {
            return Err(Error::token(format!(
                "{}: the key is not on curve P-256; keyward seals to P-256 and RSA-3072 keys only",
                self.describe_key()
            ))
            .into());
        }
        let point = point.ok_or_else(|| {
            Error::token(format!(
                "{}: the token did not return CKA_EC_POINT",
                self.describe_key()
            ))
        })?;
        Ok(parse_p256_point(&point).map_err(|e| e.context(self.describe_key()))?)
    }

    fn read_rsa_public(
        &self,
        session: &Session,
        handle: ObjectHandle,
    ) -> OpResult<Rsa3072PublicKey> {
        let [modulus, exponent] = attributes::public_bytes(
            session,
            handle,
            [AttributeType::Modulus, AttributeType::PublicExponent],
        )?;
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(Error::token(format!(
                "{}: the token did not return the RSA modulus and exponent",
                self.describe_key()
            ))
            .into());
        };
        Ok(Rsa3072PublicKey::from_components(&modulus, &exponent)
            .map_err(|why| Error::token(format!("{}: {why}", self.describe_key())))?)
    }

    fn read_derived_secret(
        &self,
        session: &Session,
        derived: ObjectHandle,
    ) -> OpResult<SecretBytes> {
        let attrs = session
            .get_attributes(derived, &[AttributeType::Value])
            .map_err(ck("reading the ECDH result"))?;
        let mut value = None;
        for attr in attrs {
            if let Attribute::Value(mut v) = attr {
                value = Some(SecretBytes::copy_from(&v));
                v.zeroize();
            }
        }
        let Some(value) = value else {
            // SoftHSM silently omits sensitive attributes; say why if the token tells us.
            let why = match session.get_attribute_info(derived, &[AttributeType::Value]) {
                Ok(info) if matches!(info.first(), Some(AttributeInfo::Sensitive)) => {
                    "it is marked sensitive"
                }
                _ => "no value was returned",
            };
            return Err(Error::token(format!(
                "{}: the token does not let keyward read the ECDH shared secret ({why}); \
                 this token cannot unseal keyward vaults",
                self.describe_key()
            ))
            .into());
        };
        if value.len() != SHARED_SECRET_LEN {
            return Err(Error::token(format!(
                "{}: the ECDH shared secret is {} bytes, expected {SHARED_SECRET_LEN}",
                self.describe_key(),
                value.len()
            ))
            .into());
        }
        Ok(value)
    }
}
