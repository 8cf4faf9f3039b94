//! One error type for everything outside the request path.
//!
//! An [`Error`] is a small copyable [`ErrorKind`] plus a message written for the operator: it says
//! what failed and, where there is one, the command or setting that fixes it. Messages are built
//! by keyward itself and never include secret material (PINs, API secrets, shared secrets).

use std::fmt;

/// What kind of thing went wrong; decides the exit code and lets callers branch without parsing text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration file is missing, unparseable or inconsistent.
    Config,
    /// The hardware token (PKCS#11 module, slot, login, key) failed or is missing.
    Token,
    /// A vault file is missing, malformed, tampered with, or sealed to another key.
    Vault,
    /// Bad command-line input (malformed recipient, unreadable stdin ...).
    Usage,
    /// The audit log could not be written or does not verify.
    Audit,
    /// A filesystem or network operation failed.
    Io,
}

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    pub fn token(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Token, message)
    }
    pub fn vault(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Vault, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn audit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Audit, message)
    }
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {err}"))
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with where it happened (a file name, a config key ...).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
