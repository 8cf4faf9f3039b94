//! The open card: PIN verification (never a second try of a rejected PIN), reconnecting after
//! another program reset the card, what GET METADATA says about a slot, and management-key
//! authentication (the default key of whichever algorithm the card's key uses, or a key file).

use std::collections::HashMap;

use yubikey::piv::{self, AlgorithmId, ManagementSlotId, SlotAlgorithmId, SlotId};
use yubikey::{MgmAlgorithmId, MgmKey, YubiKey};

use super::errors::{pin_blocked, yk_error};
use super::names::{algorithm_name, key_len, slot_id};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::token::pin::{read_secret_file, strip_line_ending, PinSource};
use crate::token::piv::PivSlot;
use crate::token::KeyOptions;

/// The default management key of every YubiKey (3DES before firmware 5.7, AES-192 from 5.7 on).
const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// The DER content of the OID secp256r1 (1.2.840.10045.3.1.7).
const P256_OID: [u8; 8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A PIV slot's key as GET METADATA describes it.
#[derive(Clone)]
pub(super) struct SlotKey {
    pub algorithm: AlgorithmId,
    /// `None` on firmware before 5.3, which cannot report policies.
    pub policy: Option<(yubikey::PinPolicy, yubikey::TouchPolicy)>,
    /// The public key's bytes: a SEC1 point, or the 32 bytes of an Ed25519 key.
    pub public: Vec<u8>,
}

impl SlotKey {
    pub fn needs_touch(&self) -> Option<bool> {
        self.policy
            .map(|(_, touch)| !matches!(touch, yubikey::TouchPolicy::Never))
    }

    pub fn pin_always(&self) -> bool {
        matches!(self.policy, Some((yubikey::PinPolicy::Always, _)))
    }
}

/// The open card and what keyward keeps beside it, behind one lock.
pub(super) struct Session {
    pub yubikey: YubiKey,
    pub pin: SecretBytes,
    /// Where the PIN came from, for messages.
    pub source: PinSource,
    /// Set once the card rejects the PIN: keyward never tries it again.
    pub pin_rejected: bool,
    /// What GET METADATA said about the slots used so far that hold a key (keys do not change
    /// under an open token; empty slots are not remembered, so a key generated later is seen).
    pub keys: HashMap<u8, SlotKey>,
}

impl Session {
    /// Runs `f` on the card. If another program reset the card since the last call, or it was
    /// pulled (and maybe plugged back in), its PIN verification and applet selection are gone:
    /// reconnects, which selects PIV and verifies the PIN again, and runs `f` once more. The
    /// outer error is the reconnection's (the card is still out: the next call tries again).
    pub fn call<T>(
        &mut self,
        here: &str,
        mut f: impl FnMut(&mut YubiKey) -> yubikey::Result<T>,
    ) -> Result<yubikey::Result<T>> {
        match f(&mut self.yubikey) {
            Err(yubikey::Error::PcscError {
                inner:
                    Some(
                        why @ (pcsc::Error::ResetCard
                        | pcsc::Error::RemovedCard
                        | pcsc::Error::NoSmartcard),
                    ),
            }) => {
                tracing::warn!(
                    "{here}: {}; reconnecting",
                    if why == pcsc::Error::ResetCard {
                        "another program reset the YubiKey"
                    } else {
                        "the YubiKey was removed since the last operation"
                    }
                );
                self.reconnect(here)?;
                Ok(f(&mut self.yubikey))
            }
            other => Ok(other),
        }
    }

    pub fn verify_pin(&mut self, here: &str) -> Result<()> {
        if self.pin_rejected {
            return Err(Error::token(format!(
                "{here}: the YubiKey rejected the PIN earlier and keyward does not try a PIN \
                 twice; fix the PIN in {} and restart keyward",
                self.source
            )));
        }
        let pin = SecretBytes::copy_from(self.pin.expose());
        let result = self.call(here, |yk| yk.verify_pin(pin.expose()))?;
        let source = &self.source;
        match result {
            Ok(()) => Ok(()),
            Err(yubikey::Error::WrongPin { tries }) => {
                self.pin_rejected = true;
                Err(match tries {
                    0 => pin_blocked(here),
                    n => Error::token(format!(
                        "{here}: wrong PIN (from {source}); the YubiKey blocks the PIN after {n} \
                         more wrong {}. keyward did not retry: fix the PIN and restart",
                        if n == 1 { "try" } else { "tries" }
                    )),
                })
            }
            Err(yubikey::Error::PinLocked) => {
                self.pin_rejected = true;
                Err(pin_blocked(here))
            }
            Err(e) => Err(yk_error(format_args!("{here}: verifying the PIN"), e)),
        }
    }

    /// Reconnects after a reset or a replug: selects PIV and verifies the PIN again (the crate's copy of the
    /// PIN that verified at start-up). A rejection counts like any other.
    fn reconnect(&mut self, here: &str) -> Result<()> {
        if self.pin_rejected {
            return self.verify_pin(here);
        }
        match self.yubikey.reconnect() {
            Ok(()) => Ok(()),
            Err(yubikey::Error::WrongPin { .. }) | Err(yubikey::Error::PinLocked) => {
                self.pin_rejected = true;
                Err(Error::token(format!(
                    "{here}: the YubiKey was reset and now rejects the PIN (it was changed?); \
                     keyward did not retry: fix {} and restart",
                    self.source
                )))
            }
            Err(e) => Err(yk_error(format_args!("{here}: reconnecting"), e)),
        }
    }

    /// What GET METADATA says about `slot`; `None` if it is empty. Firmware before 5.3 has no
    /// metadata: then the slot's certificate, if any, names the key.
    pub fn slot_key(&mut self, here: &str, slot: PivSlot) -> Result<Option<SlotKey>> {
        if let Some(key) = self.keys.get(&slot.id()) {
            return Ok(Some(key.clone()));
        }
        let key = self.read_slot_key(here, slot)?;
        if let Some(key) = &key {
            self.keys.insert(slot.id(), key.clone());
        }
        Ok(key)
    }

    fn read_slot_key(&mut self, here: &str, slot: PivSlot) -> Result<Option<SlotKey>> {
        let metadata = match self.call(here, |yk| piv::metadata(yk, slot_id(slot)))? {
            Ok(m) => m,
            Err(yubikey::Error::NotFound) => return Ok(None),
            Err(yubikey::Error::NotSupported) => return self.slot_key_from_certificate(here, slot),
            Err(e) => {
                return Err(yk_error(
                    format_args!("{here}: reading slot {slot}'s metadata"),
                    e,
                ))
            }
        };
        let SlotAlgorithmId::Asymmetric(algorithm) = metadata.algorithm else {
            return Err(Error::token(format!(
                "{here}: slot {slot} is not a key slot"
            )));
        };
        let public = metadata
            .public
            .map(|spki| spki.subject_public_key.raw_bytes().to_vec())
            .ok_or_else(|| {
                Error::token(format!(
                    "{here}: the metadata of slot {slot} has no public key"
                ))
            })?;
        Ok(Some(SlotKey {
            algorithm,
            policy: metadata.policy,
            public,
        }))
    }

    fn slot_key_from_certificate(&mut self, here: &str, slot: PivSlot) -> Result<Option<SlotKey>> {
        let cert = match self.call(here, |yk| yubikey::Certificate::read(yk, slot_id(slot)))? {
            Ok(c) => c,
            Err(yubikey::Error::NotFound) | Err(yubikey::Error::InvalidObject) => return Ok(None),
            Err(e) => {
                return Err(yk_error(
                    format_args!("{here}: reading slot {slot}'s certificate"),
                    e,
                ))
            }
        };
        let spki = cert.subject_pki();
        let p256 = spki.algorithm.oid.to_string() == "1.2.840.10045.2.1"
            && spki
                .algorithm
                .parameters
                .as_ref()
                .is_some_and(|p| p.value() == P256_OID);
        let ed25519 = spki.algorithm.oid.to_string() == "1.3.101.112";
        let algorithm = match (p256, ed25519) {
            (true, _) => AlgorithmId::EccP256,
            (_, true) => AlgorithmId::Ed25519,
            _ => AlgorithmId::Rsa2048, // only named in "keyward cannot use" messages
        };
        Ok(Some(SlotKey {
            algorithm,
            policy: None,
            public: spki.subject_public_key.raw_bytes().to_vec(),
        }))
    }

    /// Authenticates with the management key: the one in `--management-key-file`, or the
    /// default key of the algorithm the card's management key uses (GET METADATA; 3DES on
    /// firmware without it).
    pub fn authenticate(&mut self, here: &str, options: &KeyOptions, version: &str) -> Result<()> {
        let management = SlotId::Management(ManagementSlotId::Management);
        let (algorithm, is_default) = match self.call(here, |yk| piv::metadata(yk, management))? {
            Ok(m) => match m.algorithm {
                SlotAlgorithmId::Management(alg) => (alg, m.default),
                _ => return Err(Error::token(format!("{here}: odd management-key metadata"))),
            },
            Err(yubikey::Error::NotSupported) => (MgmAlgorithmId::ThreeDes, None),
            Err(e) => {
                return Err(yk_error(
                    format_args!("{here}: reading the management key's metadata"),
                    e,
                ))
            }
        };
        let key = match &options.management_key_file {
            None if is_default == Some(false) => {
                return Err(Error::token(format!(
                    "{here}: the management key is not the default one; give it with \
                     --management-key-file FILE (hex, as `ykman piv access change-management-key` \
                     shows it)"
                )))
            }
            None => MgmKey::from_bytes(DEFAULT_MANAGEMENT_KEY, Some(algorithm))
                .map_err(|e| yk_error(format_args!("{here}: the default management key"), e))?,
            Some(path) => {
                let key = read_management_key(path)?;
                MgmKey::from_bytes(key.expose(), Some(algorithm)).map_err(|_| {
                    Error::usage(format!(
                        "{}: the management key is {} bytes, but this YubiKey's management key \
                         is {} ({} bytes)",
                        path.display(),
                        key.len(),
                        algorithm_name(algorithm),
                        key_len(algorithm)
                    ))
                })?
            }
        };
        self.call(here, |yk| yk.authenticate(&key))?
            .map_err(|e| match e {
                yubikey::Error::AuthenticationError => Error::token(format!(
                    "{here}: the YubiKey refused the {} management key {} (firmware {version}); \
                 give the right one with --management-key-file FILE",
                    algorithm_name(algorithm),
                    match &options.management_key_file {
                        Some(p) => format!("from {}", p.display()),
                        None => "(the default)".to_string(),
                    }
                )),
                other => yk_error(format_args!("{here}: management-key authentication"), other),
            })
    }
}

fn read_management_key(path: &std::path::Path) -> Result<SecretBytes> {
    let raw = read_secret_file(path, "management-key file")?;
    let text = strip_line_ending(raw.expose());
    let mut key = SecretBytes::zeroed(text.len() / 2);
    if !text.len().is_multiple_of(2) || hex::decode_to_slice(text, key.expose_mut()).is_err() {
        return Err(Error::usage(format!(
            "management-key file {}: expected the key as hex digits (48 for 3DES or AES-192)",
            path.display()
        )));
    }
    Ok(key)
}
