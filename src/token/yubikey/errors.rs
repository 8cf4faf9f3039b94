//! The one place `yubikey` crate and PC/SC errors become keyward errors, and finding the card:
//! every reader is tried, the YubiKey asked for is kept and the others are left as they were.

use yubikey::YubiKey;

use crate::error::{Error, Result};

/// Lists the PC/SC readers, opens every YubiKey, keeps the one asked for and leaves the others
/// as they were (no reset).
pub(super) fn select(serial: Option<u32>) -> Result<YubiKey> {
    let mut context = yubikey::reader::Context::open()
        .map_err(|e| yk_error("connecting to the PC/SC service", e))?;
    let readers = context
        .iter()
        .map_err(|e| yk_error("listing smart-card readers", e))?;
    let mut found = Vec::new();
    let mut without = Vec::new();
    for reader in readers {
        match reader.open() {
            Ok(yk) => found.push(yk),
            Err(_) => without.push(format!("'{}'", reader.name())),
        }
    }
    let serials: Vec<String> = found.iter().map(|y| y.serial().to_string()).collect();
    let chosen = match serial {
        Some(s) => found.iter().position(|y| y.serial().0 == s),
        None if found.len() == 1 => Some(0),
        None => None,
    };
    let Some(index) = chosen else {
        for yk in found {
            let _ = yk.disconnect(pcsc::Disposition::LeaveCard);
        }
        let readers = if without.is_empty() {
            String::new()
        } else {
            format!(" (readers without a YubiKey: {})", without.join(", "))
        };
        return Err(Error::token(match (serial, serials.len()) {
            (_, 0) => {
                format!("no YubiKey found{readers}; plug it in (and check that pcscd sees it)")
            }
            (Some(s), _) => format!(
                "no YubiKey with serial {s}; YubiKeys present: {}; fix [token] serial",
                serials.join(", ")
            ),
            (None, _) => format!(
                "{} YubiKeys are present (serials {}); set [token] serial to choose one",
                serials.len(),
                serials.join(", ")
            ),
        }));
    };
    let yubikey = found.swap_remove(index);
    for other in found {
        let _ = other.disconnect(pcsc::Disposition::LeaveCard);
    }
    Ok(yubikey)
}

pub(super) fn pin_blocked(here: &str) -> Error {
    Error::token(format!(
        "{here}: the PIN is blocked after too many wrong tries; unblock it with the PUK \
         (`ykman piv access unblock-pin`), then check the PIN keyward reads"
    ))
}

/// The one place `yubikey` crate errors become keyward errors. `doing` says what was attempted.
pub(super) fn yk_error(doing: impl std::fmt::Display, err: yubikey::Error) -> Error {
    use pcsc::Error as P;
    let advice = match err {
        yubikey::Error::PcscError { inner: Some(p) } => match p {
            P::NoService | P::ServiceStopped => {
                "the PC/SC service is not running; start pcscd (`systemctl start pcscd`, or \
                 `apt-get install pcscd`)"
                    .to_string()
            }
            P::NoReadersAvailable => {
                "no smart-card reader is connected; plug in the YubiKey".to_string()
            }
            P::NoSmartcard | P::RemovedCard => {
                "the YubiKey was removed; plug it back in (keyward reconnects on the next \
                 request that needs it)"
                    .to_string()
            }
            P::ResetCard => "another program reset the YubiKey; restart keyward".to_string(),
            P::SharingViolation => {
                "another program holds the YubiKey exclusively (e.g. gpg's scdaemon); stop it"
                    .to_string()
            }
            other => format!("PC/SC error: {other}"),
        },
        yubikey::Error::NotSupported | yubikey::Error::AlgorithmError => {
            "the YubiKey does not support this (Ed25519 needs firmware 5.7 or later)".to_string()
        }
        other => other.to_string(),
    };
    Error::token(format!("{doing}: {advice}")).with_source(err)
}
