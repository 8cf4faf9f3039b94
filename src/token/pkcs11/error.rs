//! The one place PKCS#11 errors become keyward errors.

use std::fmt::Display;

use cryptoki::error::{Error as CkError, RvError};

use crate::error::Error;

/// A failed step of a token operation: a PKCS#11 call (kept as such, so the session pool can
/// tell a lost session or login from any other failure) or an error of keyward's own.
pub(super) enum OpError {
    Ck { doing: String, err: CkError },
    Other(Error),
}

impl From<Error> for OpError {
    fn from(e: Error) -> Self {
        OpError::Other(e)
    }
}

impl OpError {
    /// The return value, when this was a PKCS#11 call that failed.
    pub(super) fn rv(&self) -> Option<RvError> {
        match self {
            OpError::Ck {
                err: CkError::Pkcs11(rv, _),
                ..
            } => Some(*rv),
            _ => None,
        }
    }

    /// The keyward error, prefixed with `here` (which token) for PKCS#11 failures.
    pub(super) fn into_error(self, here: &str) -> Error {
        match self {
            OpError::Ck { doing, err } => ck_error(format_args!("{here}: {doing}"), err),
            OpError::Other(e) => e,
        }
    }
}

/// `map_err` for a PKCS#11 call: `doing` says what was being attempted.
pub(super) fn ck(doing: impl Display) -> impl FnOnce(CkError) -> OpError {
    move |err| OpError::Ck {
        doing: doing.to_string(),
        err,
    }
}

/// A keyward error from a PKCS#11 error. `doing` says what was being attempted; the result says
/// what to do about it. Never includes a PIN (cryptoki errors carry none).
pub(super) fn ck_error(doing: impl Display, err: CkError) -> Error {
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
                "the token is not present; plug it in (keyward logs in again on the next request)"
                    .to_string()
            }
            RvError::SessionHandleInvalid | RvError::SessionClosed => {
                "the session to the token was closed, and opening a new one failed".to_string()
            }
            RvError::UserNotLoggedIn => {
                "not logged in to the token (logging in again failed)".to_string()
            }
            RvError::MechanismInvalid | RvError::FunctionNotSupported => format!(
                "the token does not support this operation ({rv:?}); list what it supports with \
                 `pkcs11-tool --module <module> --list-mechanisms`"
            ),
            RvError::MechanismParamInvalid | RvError::ArgumentsBad => format!(
                "the token refused the mechanism's parameters ({rv:?})"
            ),
            RvError::KeySizeRange => "the token refused the key's size (KeySizeRange)".to_string(),
            RvError::KeyFunctionNotPermitted | RvError::KeyTypeInconsistent => format!(
                "the key on the token is not allowed to do this ({rv:?}); was it created by keyward?"
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
    fn wrong_pin_message_names_no_pin() {
        let err = ck_error(
            "PKCS#11 token 'k': logging in",
            CkError::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login),
        );
        assert!(err.to_string().contains("PIN rejected by token"), "{err}");
    }
}
