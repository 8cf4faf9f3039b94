//! The vocabulary of PIV (a YubiKey's smart-card applet) that the configuration and the command
//! line speak: which slot holds a key, and the PIN and touch policies a key is generated with.
//! The backend (`yubikey.rs`) maps these onto the `yubikey` crate; nothing here talks to a card.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A PIV key slot keyward may use: 9a (authentication), 9c (digital signature), 9d (key
/// management), 9e (card authentication) or a retired key-management slot 82..95.
///
/// Written as two hex digits (`"9d"`, `"82"`), case-insensitive. 9b (the management key), f9
/// (attestation) and the PIN/PUK references are not key slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PivSlot(u8);

impl PivSlot {
    /// The slot's number (0x9d for 9d).
    pub fn id(self) -> u8 {
        self.0
    }

    fn from_id(id: u8) -> Option<Self> {
        matches!(id, 0x9a | 0x9c | 0x9d | 0x9e | 0x82..=0x95).then_some(PivSlot(id))
    }

    /// The slot's name in PIV, for messages.
    pub fn purpose(self) -> &'static str {
        match self.0 {
            0x9a => "PIV Authentication",
            0x9c => "Digital Signature",
            0x9d => "Key Management",
            0x9e => "Card Authentication",
            _ => "Retired Key Management",
        }
    }
}

impl FromStr for PivSlot {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let id = (s.len() == 2)
            .then(|| u8::from_str_radix(s, 16).ok())
            .flatten()
            .and_then(PivSlot::from_id);
        id.ok_or_else(|| {
            Error::config(format!(
                "{s:?} is not a PIV key slot; use \"9a\", \"9c\", \"9d\", \"9e\" or a retired slot \
                 \"82\" to \"95\" (9d, Key Management, is the slot meant for decryption)"
            ))
        })
    }
}

impl fmt::Display for PivSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.0)
    }
}

/// When the card wants the PIN for a key's private operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PinPolicy {
    /// Once per session: keyward verifies the PIN when it opens the card.
    #[default]
    Once,
    /// Before every operation: keyward verifies the PIN again right before each one.
    Always,
}

/// When the card wants a touch of its contact for a key's private operations. A card waits for
/// the touch (about 15 s on a YubiKey), then refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TouchPolicy {
    #[default]
    Never,
    /// Every operation.
    Always,
    /// One touch counts for 15 s.
    Cached,
}

fn parse_choice<T: Copy>(what: &str, s: &str, choices: &[(&str, T)]) -> Result<T> {
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<_> = choices.iter().map(|(n, _)| *n).collect();
            Error::usage(format!("{what} {s:?}: use one of {}", names.join(", ")))
        })
}

impl FromStr for PinPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_choice(
            "PIN policy",
            s,
            &[("once", PinPolicy::Once), ("always", PinPolicy::Always)],
        )
    }
}

impl FromStr for TouchPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_choice(
            "touch policy",
            s,
            &[
                ("never", TouchPolicy::Never),
                ("always", TouchPolicy::Always),
                ("cached", TouchPolicy::Cached),
            ],
        )
    }
}

impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinPolicy::Once => "once",
            PinPolicy::Always => "always",
        })
    }
}

impl fmt::Display for TouchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TouchPolicy::Never => "never",
            TouchPolicy::Always => "always",
            TouchPolicy::Cached => "cached",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots() {
        for (text, id) in [("9a", 0x9a), ("9C", 0x9c), ("9d", 0x9d), ("9e", 0x9e)] {
            assert_eq!(text.parse::<PivSlot>().unwrap().id(), id);
        }
        for id in 0x82..=0x95u8 {
            let slot: PivSlot = format!("{id:02x}").parse().unwrap();
            assert_eq!(slot.id(), id);
            assert_eq!(slot.to_string(), format!("{id:02x}"));
        }
        for bad in [
            "9b", "f9", "80", "81", "96", "81", "9", "09d", "", "zz", "+9",
        ] {
            let err = bad.parse::<PivSlot>().unwrap_err();
            assert!(
                err.to_string().contains("not a PIV key slot"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn policies() {
        assert_eq!("always".parse::<PinPolicy>().unwrap(), PinPolicy::Always);
        assert_eq!(
            "cached".parse::<TouchPolicy>().unwrap(),
            TouchPolicy::Cached
        );
        let err = "never".parse::<PinPolicy>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "PIN policy \"never\": use one of once, always"
        );
        assert_eq!(PinPolicy::default(), PinPolicy::Once);
        assert_eq!(TouchPolicy::default(), TouchPolicy::Never);
    }
}
