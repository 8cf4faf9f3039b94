//! [`Token`] over PKCS#11 through `cryptoki` (SoftHSM, vendor HSMs, YubiKey via ykcs11).
//!
//! One module is loaded and `C_Initialize`d once per process (with `CKF_OS_LOCKING_OK`; without it
//! concurrent sessions crash SoftHSM) and never finalized, so several [`Pkcs11Token`]s on one
//! module share it safely. Each token keeps one logged-in RW session behind a `Mutex`.
//!
//! PKCS#11 login state belongs to the application, not the session: while one session is logged
//! in, `C_Login` on another returns `CKR_USER_ALREADY_LOGGED_IN`, which is treated as success.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::{RawAuthPin, Ulong};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use zeroize::Zeroize;

use super::operations::Token;
use super::operations::{unsupported, Operation};
use super::pin::PinSource;
use super::sealing::{SealingAlgorithm, SealingPublicKey};
use super::uri::{ObjectType, Pkcs11Uri};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// DER encoding of the named curve OID 1.2.840.10045.3.1.7 (P-256), the value of `CKA_EC_PARAMS`.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Length of the ECDH shared secret (the x-coordinate) for P-256.
const SHARED_SECRET_LEN: usize = 32;

/// A key pair on a PKCS#11 token, with a logged-in session.
pub struct Pkcs11Token {
    token_label: String,
    uri: Pkcs11Uri,
    session: Mutex<Session>,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Pkcs11Token {
    /// Loads `module`, finds the token `uri` names, opens a RW session and logs in with the PIN
    /// from `pin`.
    pub fn open(module: &Path, uri: &Pkcs11Uri, pin: &PinSource) -> Result<Self> {
        check_object_type(uri)?;
        let ctx = context(module)?;
        let (slot, info) = select_token(&ctx, uri)?;
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
        let session = ctx
            .open_rw_session(slot)
            .map_err(|e| ck_error(format_args!("{here}: opening a session"), e))?;

        let pin = pin.read()?;
        let raw = RawAuthPin::new(Box::new(pin.expose().to_vec()));
        drop(pin);
        match session.login_with_raw(UserType::User, &raw) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(ck_error(format_args!("{here}: logging in"), e)),
        }
        drop(raw); // SecretBox zeroizes its Vec.

        Ok(Pkcs11Token {
            token_label,
            uri: uri.clone(),
            session: Mutex::new(session),
        })
    }

    /// Generates a P-256 key pair on the token, named by the URI's `object` (label) and `id`.
    /// The private key is sensitive, non-extractable and can only derive. Refuses to run if a key
    /// with that label/id already exists.
    fn generate_p256(&self) -> Result<p256::PublicKey> {
        let session = self.session();
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let existing = session
                .find_objects(&self.key_template(class, None))
                .map_err(|e| {
                    ck_error(format_args!("{}: searching for keys", self.describe()), e)
                })?;
            if !existing.is_empty() {
                return Err(Error::token(format!(
                    "a key {} already exists on token '{}'; keygen will not replace it \
                     (choose another object= label in the URI, or delete the old key yourself)",
                    self.uri.key_description(),
                    self.token_label
                )));
            }
        }
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Derive(true),
            Attribute::Sign(false),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
        ];
        for template in [&mut public, &mut private] {
            template.extend(self.name_attributes());
        }
        let (public_handle, _private_handle) = session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(|e| {
                ck_error(
                    format_args!("{}: generating a P-256 key pair", self.describe()),
                    e,
                )
            })?;
        self.read_public_key(&session, public_handle)
    }

    /// Locks the session. A panic elsewhere while holding it leaves the session itself usable.
    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn name_attributes(&self) -> Vec<Attribute> {
        let mut attrs = Vec::new();
        if let Some(label) = &self.uri.object {
            attrs.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.uri.id {
            attrs.push(Attribute::Id(id.clone()));
        }
        attrs
    }

    fn key_template(&self, class: ObjectClass, key_type: Option<KeyType>) -> Vec<Attribute> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(key_type) = key_type {
            template.push(Attribute::KeyType(key_type));
        }
        template.extend(self.name_attributes());
        template
    }

    /// Finds exactly one EC key of `class` named by the URI.
    fn find_key(&self, session: &Session, class: ObjectClass) -> Result<ObjectHandle> {
        let which = if class == ObjectClass::PRIVATE_KEY {
            "private"
        } else {
            "public"
        };
        let found = session
            .find_objects(&self.key_template(class, Some(KeyType::EC)))
            .map_err(|e| ck_error(format_args!("{}: searching for keys", self.describe()), e))?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::token(format!(
                "no EC {which} key {} on token '{}'; create it with `keyward keygen` or fix \
                 object=/id= in the token URI",
                self.uri.key_description(),
                self.token_label
            ))),
            many => Err(Error::token(format!(
                "{} EC {which} keys {} on token '{}'; add id= to the token URI to choose one",
                many.len(),
                self.uri.key_description(),
                self.token_label
            ))),
        }
    }

    fn read_public_key(&self, session: &Session, handle: ObjectHandle) -> Result<p256::PublicKey> {
        let attrs = session
            .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(|e| {
                ck_error(
                    format_args!("{}: reading the public key", self.describe()),
                    e,
                )
            })?;
        let mut params = None;
        let mut point = None;
        for attr in attrs {
            match attr {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        if params.as_deref() != Some(&P256_EC_PARAMS[..]) {
            return Err(Error::token(format!(
                "{}: the key is not on curve P-256; keyward seals to P-256 keys only",
                self.describe()
            )));
        }
        let point = point.ok_or_else(|| {
            Error::token(format!(
                "{}: the token did not return CKA_EC_POINT",
                self.describe()
            ))
        })?;
        parse_ec_point(&point).map_err(|e| e.context(self.describe()))
    }

    fn read_derived_secret(&self, session: &Session, derived: ObjectHandle) -> Result<SecretBytes> {
        let attrs = session
            .get_attributes(derived, &[AttributeType::Value])
            .map_err(|e| {
                ck_error(
                    format_args!("{}: reading the ECDH result", self.describe()),
                    e,
                )
            })?;
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
                self.describe()
            )));
        };
        if value.len() != SHARED_SECRET_LEN {
            return Err(Error::token(format!(
                "{}: the ECDH shared secret is {} bytes, expected {SHARED_SECRET_LEN}",
                self.describe(),
                value.len()
            )));
        }
        Ok(value)
    }
}

impl Token for Pkcs11Token {
    fn describe(&self) -> String {
        format!(
            "PKCS#11 token '{}', key {}",
            self.token_label,
            self.uri.key_description()
        )
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        let session = self.session();
        let handle = self.find_key(&session, ObjectClass::PUBLIC_KEY)?;
        self.read_public_key(&session, handle).map(Into::into)
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        match algorithm {
            SealingAlgorithm::P256 => self.generate_p256().map(Into::into),
            SealingAlgorithm::Rsa3072 => Err(unsupported(self, Operation::Generate(algorithm))),
        }
    }

    fn ecdh_p256(&self, peer: &p256::PublicKey) -> Result<SecretBytes> {
        let session = self.session();
        let private = self.find_key(&session, ObjectClass::PRIVATE_KEY)?;
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
            .map_err(|e| ck_error(format_args!("{}: ECDH derive", self.describe()), e))?;
        let value = self.read_derived_secret(&session, derived);
        // Destroy the derived object whether or not reading it worked.
        let destroyed = session.destroy_object(derived).map_err(|e| {
            ck_error(
                format_args!("{}: destroying the derived ECDH object", self.describe()),
                e,
            )
        });
        let value = value?;
        destroyed?;
        Ok(value)
    }
}

/// The URI names a key pair; `type=` may say public or private but nothing else.
fn check_object_type(uri: &Pkcs11Uri) -> Result<()> {
    match uri.object_type {
        None | Some(ObjectType::Public) | Some(ObjectType::Private) => Ok(()),
        Some(other) => Err(Error::config(format!(
            "token URI {uri}: type={} does not name a key pair; keyward's sealing key is a P-256 \
             key pair (drop type= or use type=private)",
            other.as_str()
        ))),
    }
}

/// Process-wide, initialized PKCS#11 contexts, one per module. Never finalized: finalizing would
/// end every other token's sessions on the same module.
fn context(module: &Path) -> Result<Pkcs11> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let shown = module.display();
    let canonical = module.canonicalize().map_err(|e| {
        Error::token(format!(
            "PKCS#11 module {shown} cannot be used ({e}); install softhsm2 or set `module` in the \
             [token] section"
        ))
        .with_source(e)
    })?;
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = contexts.get(&canonical) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&canonical)
        .map_err(|e| ck_error(format_args!("loading PKCS#11 module {shown}"), e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(ck_error(
                format_args!("initializing PKCS#11 module {shown}"),
                e,
            ))
        }
    }
    contexts.insert(canonical, ctx.clone());
    Ok(ctx)
}

/// Chooses the one initialized token matching the URI's token attributes. Slot numbers are used
/// only when the URI gives `slot-id`.
fn select_token(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<(Slot, TokenInfo)> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| ck_error("listing PKCS#11 slots", e))?;
    let mut seen = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| ck_error(format_args!("reading token info of slot {}", slot.id()), e))?;
        seen.push(format!(
            "'{}' (serial {})",
            info.label().trim_end(),
            info.serial_number().trim_end()
        ));
        if token_matches(&info, uri) {
            matching.push((slot, info));
        }
    }
    match matching.len() {
        1 => Ok(matching.pop().expect("one element")),
        0 if seen.is_empty() => Err(Error::token(format!(
            "no initialized PKCS#11 token found for {uri}; create one (e.g. `softhsm2-util \
             --init-token --free --label keyward`) or check SOFTHSM2_CONF"
        ))),
        0 => Err(Error::token(format!(
            "no PKCS#11 token matches {uri}; tokens seen: {}",
            seen.join(", ")
        ))),
        n => Err(Error::token(format!(
            "{n} PKCS#11 tokens match {uri}: {}; add serial= to the token URI to choose one",
            matching
                .iter()
                .map(|(_, i)| format!(
                    "'{}' (serial {})",
                    i.label().trim_end(),
                    i.serial_number().trim_end()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn token_matches(info: &TokenInfo, uri: &Pkcs11Uri) -> bool {
    let same = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|want| want == have.trim_end())
    };
    same(&uri.token, info.label())
        && same(&uri.serial, info.serial_number())
        && same(&uri.manufacturer, info.manufacturer_id())
        && same(&uri.model, info.model())
}

/// `CKA_EC_POINT` is a DER OCTET STRING wrapping the 65-byte uncompressed SEC1 point; some tokens
/// return the raw point. Both are accepted.
fn parse_ec_point(value: &[u8]) -> Result<p256::PublicKey> {
    let sec1 = match value {
        [0x04, 0x41, point @ ..] if point.len() == 65 => point,
        raw if raw.len() == 65 && raw[0] == 0x04 => raw,
        _ => {
            return Err(Error::token(format!(
                "CKA_EC_POINT is not a P-256 uncompressed point ({} bytes)",
                value.len()
            )))
        }
    };
    p256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| Error::token("CKA_EC_POINT is not a valid P-256 point"))
}

/// The one place PKCS#11 errors become keyward errors. `doing` says what was being attempted;
/// the result says what to do about it. Never includes a PIN (cryptoki errors carry none).
fn ck_error(doing: impl Display, err: CkError) -> Error {
    let advice = match &err {
        CkError::LibraryLoading(e) => format!(
            "cannot load the module ({e}); install softhsm2 or set `module` in the [token] section"
        ),
        CkError::Pkcs11(rv, _) => match rv {
            RvError::PinIncorrect => {
                "PIN rejected by token; check the PIN file (the token locks after repeated \
                 failures)"
                    .to_string()
            }
            RvError::PinLocked => {
                "the user PIN is locked; reset it with the security officer PIN".to_string()
            }
            RvError::PinLenRange => "PIN rejected by token: wrong length".to_string(),
            RvError::UserPinNotInitialized => {
                "the user PIN is not initialized; initialize the token first".to_string()
            }
            RvError::TokenNotPresent | RvError::DeviceRemoved => {
                "the token is not present; plug it in and restart keyward".to_string()
            }
            RvError::SessionHandleInvalid | RvError::SessionClosed => {
                "the session to the token was closed; restart keyward".to_string()
            }
            RvError::UserNotLoggedIn => "not logged in to the token".to_string(),
            RvError::MechanismInvalid | RvError::FunctionNotSupported => format!(
                "the token does not support this operation ({rv:?}); keyward needs P-256 key \
                 generation and ECDH (CKM_EC_KEY_PAIR_GEN, CKM_ECDH1_DERIVE)"
            ),
            RvError::TokenWriteProtected => "the token is write-protected".to_string(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    };
    Error::token(format!("{doing}: {advice}")).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_forms() {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let public = secret.public_key();
        let raw = public.to_encoded_point(false);
        let mut der = vec![0x04, 0x41];
        der.extend_from_slice(raw.as_bytes());
        assert_eq!(parse_ec_point(&der).unwrap(), public);
        assert_eq!(parse_ec_point(raw.as_bytes()).unwrap(), public);
        assert!(parse_ec_point(&der[..66]).is_err());
        assert!(parse_ec_point(&[0x04, 0x41]).is_err());
    }

    #[test]
    fn missing_module_says_what_to_do() {
        let err = context(Path::new("/nonexistent/libpkcs11.so")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/libpkcs11.so"), "{msg}");
        assert!(msg.contains("install softhsm2"), "{msg}");
    }

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

    #[test]
    fn wrong_pin_message_names_no_pin() {
        let err = ck_error(
            "PKCS#11 token 'k': logging in",
            CkError::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login),
        );
        assert!(err.to_string().contains("PIN rejected by token"), "{err}");
    }
}
