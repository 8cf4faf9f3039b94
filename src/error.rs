//! One error type for everything outside the request path.
//!
//! An [`Error`] is a small copyable [`ErrorKind`], a message written for the operator and,
//! where a foreign error caused it, that error as its [`source`](std::error::Error::source).
//!
//! * The **kind** decides the exit code and lets callers branch without parsing text.
//! * The **message** is complete on its own: it says what failed and, where there is one, the
//!   command or setting that fixes it. `Display` prints it alone, so a caller that prints the
//!   error (`keyward: {e}`) shows everything the operator needs.
//! * The **source** keeps the foreign error for programs: to downcast (an `io::ErrorKind`, a
//!   PKCS#11 return value) or to walk the chain in a log. Its text already appears in the message
//!   where it helps the operator; it is not printed a second time.
//!
//! Each foreign error becomes an [`Error`] in one place: [`Error::io`] for `std::io`, `From` for
//! `toml` and `getrandom`, `token::pkcs11`'s mapping for PKCS#11 and `vault::file`'s for JSON. Messages and sources never
//! hold secret material (PINs, API secrets, shared secrets): the foreign errors mapped here carry
//! none, and keyward builds the messages itself.

use std::error::Error as StdError;
use std::fmt;

/// What kind of thing went wrong; decides the exit code and lets callers branch without parsing text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The configuration file is missing, unparseable or inconsistent.
    Config,
    /// The hardware token (PKCS#11 module, slot, login, key) failed, is missing, or cannot do
    /// what was asked of it.
    Token,
    /// A vault file is missing, malformed, tampered with, or sealed to another key.
    Vault,
    /// Bad command-line input (malformed recipient, unreadable stdin ...).
    Usage,
    /// The audit log could not be written or does not verify.
    Audit,
    /// A filesystem, network or operating-system operation failed.
    Io,
}

/// A foreign error kept as the cause of an [`Error`].
pub type Source = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
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

    /// A failed filesystem or network operation: `{context}: {err}`, kind [`ErrorKind::Io`],
    /// with `err` as the source. `context` says what was being done to what
    /// (`cannot read config /etc/keyward.toml`).
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {err}")).with_source(err)
    }

    /// Keeps `source` as the cause. The message should already say what the operator needs to
    /// know about it; the source is for programs.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
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

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// A configuration file that is not valid TOML, or does not fit keyward's schema (an unknown key,
/// a missing section). toml's message names the line and column and quotes the offending line:
/// a configuration holds no secret (PINs come from a file or the environment, client tokens are
/// stored as hashes), so quoting it is safe. The toml error itself is not kept as the source: it
/// holds the whole document, which has no place in a log.
impl From<toml::de::Error> for Error {
    fn from(err: toml::de::Error) -> Self {
        Self::config(err.to_string().trim_end())
    }
}

/// The operating system could not provide randomness.
impl From<getrandom::Error> for Error {
    fn from(err: getrandom::Error) -> Self {
        Self::new(
            ErrorKind::Io,
            format!("the system random number generator failed: {err}"),
        )
        .with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_their_cause() {
        let err = Error::io(
            "cannot read config /x.toml",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.to_string().starts_with("cannot read config /x.toml: "));
        let source = StdError::source(&err).expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn context_prefixes_the_message_and_keeps_kind_and_source() {
        let err = Error::io("open", std::io::Error::other("boom"))
            .context("vault/a.kwv")
            .context("credential \"a\"");
        assert_eq!(err.to_string(), "credential \"a\": vault/a.kwv: open: boom");
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(StdError::source(&err).is_some());
    }

    #[test]
    fn toml_errors_are_config_errors() {
        let err: Error = toml::from_str::<toml::Table>("a = ").unwrap_err().into();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(!err.to_string().ends_with('\n'));
    }
}
