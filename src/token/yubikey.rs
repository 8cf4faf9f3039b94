//! [`Token`] on a YubiKey's PIV applet, through the `yubikey` crate over PC/SC (`pcscd`).
//!
//! The sealing key is a P-256 key generated in a PIV slot; opening a vault is PIV ECDH (GENERAL
//! AUTHENTICATE with the ephemeral point), so the private key never leaves the card. Other slots
//! may hold exchange API keys (P-256 ECDSA on every YubiKey 5, Ed25519 from firmware 5.7), which
//! sign in place. PIV has no HMAC: an HMAC exchange secret is unsealed into keyward's memory.
//!
//! The PIN is verified once when the card is opened, after its retry counter has been read (a
//! blocked PIN is reported without an attempt), and again right before each operation of a key
//! whose PIN policy is "always". A rejected PIN is never retried: the token refuses every later
//! operation instead of spending the card's remaining tries. A key whose touch policy is not
//! "never" makes the card wait for a touch; the card answers a missing touch with the status of
//! a missing PIN (6982), and the slot's touch policy, read with GET METADATA, tells them apart.
//!
//! If another program resets the card or selects the PIV applet while the token is open, the
//! token reconnects or verifies the PIN that worked once more, and repeats the operation once.
//! The card is reset (PIN verification dropped) when the token is dropped. The `yubikey` crate
//! keeps its own copy of a verified PIN (to re-verify on reconnect) in ordinary heap memory for
//! as long as the card is open; keyward's copy is in locked, zeroizing memory.

mod errors;
mod names;
mod session;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};
use yubikey::piv::{self, AlgorithmId};
use yubikey::YubiKey;

use super::operations::{unsupported, Operation, Token};
use super::pin::PinSource;
use super::piv::PivSlot;
use super::sealing::{SealingAlgorithm, SealingPublicKey};
use super::signing::{ed25519_spki, p256_spki, KeyRef, SignatureAlgorithm};
use super::KeyOptions;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use errors::{pin_blocked, select, yk_error};
use names::{article, crate_pin_policy, crate_touch_policy, piv_algorithm, slot_id};
use session::{Session, SlotKey};

/// The longest message the `yubikey` crate can send for an Ed25519 signature (its GENERAL
/// AUTHENTICATE buffer is 1024 bytes, of which the TLV framing takes 10).
pub const MAX_ED25519_MESSAGE: usize = 1014;

/// A YubiKey (PIV) holding keyward's sealing key in one slot, perhaps API keys in others.
pub struct YubiKeyToken {
    serial: u32,
    version: yubikey::Version,
    slot: PivSlot,
    options: KeyOptions,
    session: Mutex<Session>,
    /// One turn ([`Token::gate`]): the card does one operation at a time (`session`).
    gate: tokio::sync::Semaphore,
}

impl std::fmt::Debug for YubiKeyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl YubiKeyToken {
    /// Finds the YubiKey (the one with `serial`, or the only one there is), checks and verifies
    /// the PIN from `pin`. `options` say how keys generated on it are made.
    pub fn open(
        serial: Option<u32>,
        slot: PivSlot,
        pin: &PinSource,
        options: &KeyOptions,
    ) -> Result<Self> {
        let mut yubikey = select(serial)?;
        let serial = yubikey.serial().0;
        let version = yubikey.version();
        let here = format!("YubiKey {serial}");
        let pin_value = pin.read()?;
        if !(6..=8).contains(&pin_value.len()) {
            return Err(Error::token(format!(
                "{here}: the PIN from {pin} is {} bytes; a PIV PIN is 6 to 8 (nothing was sent \
                 to the card)",
                pin_value.len()
            )));
        }
        let tries = yubikey
            .get_pin_retries()
            .map_err(|e| yk_error(format_args!("{here}: reading the PIN retry counter"), e))?;
        if tries == 0 {
            return Err(pin_blocked(&here));
        }
        let mut session = Session {
            yubikey,
            pin: pin_value,
            source: pin.clone(),
            pin_rejected: false,
            keys: HashMap::new(),
        };
        session.verify_pin(&here)?;
        Ok(YubiKeyToken {
            serial,
            version,
            slot,
            options: options.clone(),
            session: Mutex::new(session),
            gate: tokio::sync::Semaphore::new(1),
        })
    }

    /// The card's firmware version, e.g. (5, 7, 1); Ed25519 needs (5, 7, 0) or later.
    pub fn firmware(&self) -> (u8, u8, u8) {
        (self.version.major, self.version.minor, self.version.patch)
    }

    fn here(&self) -> String {
        format!("YubiKey {}", self.serial)
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key in `slot`, which must hold one.
    fn existing_key(&self, session: &mut Session, slot: PivSlot) -> Result<SlotKey> {
        session.slot_key(&self.here(), slot)?.ok_or_else(|| {
            Error::token(format!(
                "{}: slot {slot} ({}) holds no key; generate one with `keyward keygen --config \
                 ...` or set [token] slot to the slot that holds it",
                self.here(),
                slot.purpose()
            ))
        })
    }

    /// Generates a key of `algorithm` in the empty `slot` with the configured policies.
    fn generate_in(&self, slot: PivSlot, algorithm: AlgorithmId) -> Result<Vec<u8>> {
        let here = self.here();
        let mut session = self.session();
        if let Some(key) = session.slot_key(&here, slot)? {
            return Err(Error::token(format!(
                "{here}: slot {slot} ({}) already holds {} key; keygen will not replace it \
                 (choose another slot, e.g. a retired slot 82..95, or delete the key yourself)",
                slot.purpose(),
                article(key.algorithm)
            )));
        }
        session.authenticate(&here, &self.options, &self.version.to_string())?;
        let (pin, touch) = (
            self.options.pin_policy.unwrap_or_default(),
            self.options.touch.unwrap_or_default(),
        );
        let spki = session
            .call(&here, |yk| {
                piv::generate(
                    yk,
                    slot_id(slot),
                    algorithm,
                    crate_pin_policy(pin),
                    crate_touch_policy(touch),
                )
            })?
            .map_err(|e| {
                yk_error(
                    format_args!(
                        "{here}: generating {} key in slot {slot}",
                        article(algorithm)
                    ),
                    e,
                )
            })?;
        tracing::info!(serial = self.serial, %slot, %pin, %touch, "generated a key on the YubiKey");
        Ok(spki.subject_public_key.raw_bytes().to_vec())
    }

    /// Runs a private-key operation of `slot`'s key: verifies the PIN first for a key whose PIN
    /// policy is "always", and names a refusal for what the slot needs (PIN or touch).
    fn private_op(
        &self,
        session: &mut Session,
        slot: PivSlot,
        key: &SlotKey,
        what: &str,
        mut op: impl FnMut(&mut YubiKey) -> yubikey::Result<yubikey::Buffer>,
    ) -> Result<yubikey::Buffer> {
        let here = self.here();
        if key.pin_always() {
            session.verify_pin(&here)?;
        }
        let mut result = session.call(&here, &mut op)?;
        if matches!(result, Err(yubikey::Error::AuthenticationError))
            && key.needs_touch() == Some(false)
        {
            // No touch needed, so the card forgot the PIN verification: another program selected
            // the PIV applet (which drops it). Verify the PIN that worked once more, and retry.
            tracing::warn!("{here}: the YubiKey forgot the PIN verification; verifying again");
            session.verify_pin(&here)?;
            result = session.call(&here, &mut op)?;
        }
        result.map_err(|e| match e {
            yubikey::Error::AuthenticationError => match key.needs_touch() {
                Some(true) => Error::token(format!(
                    "{here}: {what} with slot {slot} was refused: the YubiKey was not touched in \
                     time (the key's touch policy asks for a touch; touch the YubiKey while it \
                     blinks, within about 15 s)"
                )),
                Some(false) => Error::token(format!(
                    "{here}: {what} with slot {slot} was refused although the PIN was just \
                     verified (another program is using the YubiKey; stop it)"
                )),
                None => Error::token(format!(
                    "{here}: {what} with slot {slot} was refused: the PIN is not verified or the \
                     YubiKey was not touched in time (firmware {} cannot report the slot's touch \
                     policy)",
                    self.version
                )),
            },
            other => yk_error(format_args!("{here}: {what} with slot {slot}"), other),
        })
    }
}

impl Token for YubiKeyToken {
    fn gate(&self) -> Option<&tokio::sync::Semaphore> {
        Some(&self.gate)
    }

    fn describe(&self) -> String {
        format!(
            "YubiKey {} (firmware {}), slot {}",
            self.serial, self.version, self.slot
        )
    }

    fn public_key_is_the_devices(&self) -> bool {
        // GET METADATA (5.3+) reports the slot's public key from the key itself.
        (self.version.major, self.version.minor) >= (5, 3)
    }

    fn public_key(&self) -> Result<SealingPublicKey> {
        let mut session = self.session();
        let key = self.existing_key(&mut session, self.slot)?;
        p256_public(&self.here(), self.slot, &key).map(Into::into)
    }

    fn generate(&self, algorithm: SealingAlgorithm) -> Result<SealingPublicKey> {
        match algorithm {
            SealingAlgorithm::P256 => {
                let point = self.generate_in(self.slot, AlgorithmId::EccP256)?;
                p256::PublicKey::from_sec1_bytes(&point)
                    .map(Into::into)
                    .map_err(|_| Error::token(format!("{}: bad P-256 public key", self.here())))
            }
            SealingAlgorithm::Rsa3072 => Err(unsupported(self, Operation::Generate(algorithm))),
        }
    }

    fn ecdh_p256(&self, peer: &p256::PublicKey) -> Result<SecretBytes> {
        let mut session = self.session();
        let key = self.existing_key(&mut session, self.slot)?;
        p256_public(&self.here(), self.slot, &key)?;
        let point = peer.to_encoded_point(false);
        let slot = self.slot;
        let shared = self.private_op(&mut session, slot, &key, "ECDH", |yk| {
            piv::decrypt_data(yk, point.as_bytes(), AlgorithmId::EccP256, slot_id(slot))
        })?;
        if shared.len() != 32 {
            return Err(Error::token(format!(
                "{}: the ECDH result is {} bytes, expected 32",
                self.here(),
                shared.len()
            )));
        }
        Ok(SecretBytes::copy_from(&shared)) // `shared` zeroizes itself on drop
    }

    fn sign(&self, key: &KeyRef, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>> {
        let slot = key_slot(key)?;
        let mut session = self.session();
        let slot_key = self.existing_key(&mut session, slot)?;
        let wanted = piv_algorithm(algorithm);
        if slot_key.algorithm != wanted {
            return Err(Error::token(format!(
                "{}: slot {slot} holds {} key, not {} one",
                self.here(),
                article(slot_key.algorithm),
                article(wanted)
            )));
        }
        match algorithm {
            SignatureAlgorithm::EcdsaP256 => {
                let digest = Sha256::digest(message);
                let der = self.private_op(&mut session, slot, &slot_key, "signing", |yk| {
                    piv::sign_data(yk, &digest, AlgorithmId::EccP256, slot_id(slot))
                })?;
                let signature = p256::ecdsa::Signature::from_der(&der).map_err(|_| {
                    Error::token(format!(
                        "{}: the card's ECDSA signature is not DER",
                        self.here()
                    ))
                })?;
                Ok(signature.to_bytes().to_vec())
            }
            SignatureAlgorithm::Ed25519 => {
                if message.len() > MAX_ED25519_MESSAGE {
                    return Err(Error::token(format!(
                        "{}: an Ed25519 message for the YubiKey is at most {MAX_ED25519_MESSAGE} \
                         bytes (the yubikey crate's limit); this one is {}",
                        self.here(),
                        message.len()
                    )));
                }
                let signature =
                    self.private_op(&mut session, slot, &slot_key, "signing", |yk| {
                        piv::sign_data(yk, message, AlgorithmId::Ed25519, slot_id(slot))
                    })?;
                Ok(signature.to_vec())
            }
        }
    }

    fn signing_public_key(&self, key: &KeyRef) -> Result<Option<(SignatureAlgorithm, Vec<u8>)>> {
        let slot = key_slot(key)?;
        let mut session = self.session();
        let Some(found) = session.slot_key(&self.here(), slot)? else {
            return Ok(None);
        };
        let algorithm = match found.algorithm {
            AlgorithmId::EccP256 => SignatureAlgorithm::EcdsaP256,
            AlgorithmId::Ed25519 => SignatureAlgorithm::Ed25519,
            other => {
                return Err(Error::token(format!(
                    "{}: slot {slot} holds {} key, not an exchange API key keyward signs with \
                     (P-256 or Ed25519)",
                    self.here(),
                    article(other)
                )))
            }
        };
        Ok(Some((algorithm, self.spki(algorithm, &found.public)?)))
    }

    fn generate_signing_key(&self, key: &KeyRef, algorithm: SignatureAlgorithm) -> Result<Vec<u8>> {
        let slot = key_slot(key)?;
        if slot == self.slot {
            return Err(Error::usage(format!(
                "{}: slot {slot} is the sealing key's slot ([token] slot); put the exchange API key \
                 in another slot",
                self.here()
            )));
        }
        let public = self.generate_in(slot, piv_algorithm(algorithm))?;
        self.spki(algorithm, &public)
    }
}

impl YubiKeyToken {
    /// DER SubjectPublicKeyInfo of a slot's public key bytes (a SEC1 point, or Ed25519's 32).
    fn spki(&self, algorithm: SignatureAlgorithm, public: &[u8]) -> Result<Vec<u8>> {
        let bad = || {
            Error::token(format!(
                "{}: the card gave a malformed public key",
                self.here()
            ))
        };
        match algorithm {
            SignatureAlgorithm::EcdsaP256 => p256::PublicKey::from_sec1_bytes(public)
                .map(|k| p256_spki(&k))
                .map_err(|_| bad()),
            SignatureAlgorithm::Ed25519 => public
                .try_into()
                .map(|k: &[u8; 32]| ed25519_spki(k))
                .map_err(|_| bad()),
        }
    }
}

/// The P-256 public key of a slot that must hold one (the sealing key).
fn p256_public(here: &str, slot: PivSlot, key: &SlotKey) -> Result<p256::PublicKey> {
    if key.algorithm != AlgorithmId::EccP256 {
        return Err(Error::token(format!(
            "{here}: slot {slot} holds {} key; keyward seals to P-256 keys only (generate one in \
             an empty slot with `keyward keygen`, or set [token] slot to the slot that holds it)",
            article(key.algorithm)
        )));
    }
    p256::PublicKey::from_sec1_bytes(&key.public).map_err(|_| {
        Error::token(format!(
            "{here}: slot {slot}'s public key is not a P-256 point"
        ))
    })
}

/// A signing key's slot: its [`KeyRef`] is the slot's two hex digits ("9c", "82").
fn key_slot(key: &KeyRef) -> Result<PivSlot> {
    key.as_str()
        .parse()
        .map_err(|e: Error| Error::usage(format!("key {key}: {e}")))
}
