//! keyward's PIV vocabulary ([`PivSlot`], policies, [`SignatureAlgorithm`]) in the `yubikey`
//! crate's terms, and names of the crate's algorithms for messages.

use yubikey::piv::{AlgorithmId, SlotId};
use yubikey::MgmAlgorithmId;

use crate::token::piv::{PinPolicy, PivSlot, TouchPolicy};
use crate::token::signing::SignatureAlgorithm;

pub(super) fn slot_id(slot: PivSlot) -> SlotId {
    SlotId::try_from(slot.id()).expect("a PivSlot is a PIV key slot")
}

pub(super) fn piv_algorithm(algorithm: SignatureAlgorithm) -> AlgorithmId {
    match algorithm {
        SignatureAlgorithm::EcdsaP256 => AlgorithmId::EccP256,
        SignatureAlgorithm::Ed25519 => AlgorithmId::Ed25519,
    }
}

pub(super) fn crate_pin_policy(policy: PinPolicy) -> yubikey::PinPolicy {
    match policy {
        PinPolicy::Once => yubikey::PinPolicy::Once,
        PinPolicy::Always => yubikey::PinPolicy::Always,
    }
}

pub(super) fn crate_touch_policy(policy: TouchPolicy) -> yubikey::TouchPolicy {
    match policy {
        TouchPolicy::Never => yubikey::TouchPolicy::Never,
        TouchPolicy::Always => yubikey::TouchPolicy::Always,
        TouchPolicy::Cached => yubikey::TouchPolicy::Cached,
    }
}

pub(super) fn article(algorithm: AlgorithmId) -> &'static str {
    match algorithm {
        AlgorithmId::EccP256 => "a P-256",
        AlgorithmId::EccP384 => "a P-384",
        AlgorithmId::Ed25519 => "an Ed25519",
        AlgorithmId::X25519 => "an X25519",
        _ => "an RSA",
    }
}

pub(super) fn algorithm_name(algorithm: MgmAlgorithmId) -> &'static str {
    match algorithm {
        MgmAlgorithmId::ThreeDes => "3DES",
        MgmAlgorithmId::Aes128 => "AES-128",
        MgmAlgorithmId::Aes192 => "AES-192",
        MgmAlgorithmId::Aes256 => "AES-256",
    }
}

pub(super) fn key_len(algorithm: MgmAlgorithmId) -> usize {
    match algorithm {
        MgmAlgorithmId::ThreeDes | MgmAlgorithmId::Aes192 => 24,
        MgmAlgorithmId::Aes128 => 16,
        MgmAlgorithmId::Aes256 => 32,
    }
}
