//! What `[token] kind = "vault"` says: where the Transit server is, which key seals, and where
//! the Vault token comes from (a file only its owner can read, an environment variable, or an
//! AppRole login whose secret_id comes from either — never the configuration itself). The
//! Vault token is read into zeroizing memory per use and appears in no message, log or `Debug`
//! output.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use http::Uri;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use crate::secure_file::{self, Purpose, Secrecy};

/// A Vault token file larger than this holds more than a token.
const MAX_TOKEN_FILE: u64 = 4096;

/// A Transit server, mount and sealing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitConfig {
    /// `https://…`, or `http://` to a loopback address.
    pub address: Uri,
    pub mount: String,
    pub key: String,
    pub token: VaultTokenSource,
    pub namespace: Option<String>,
    /// PEM file of the CA(s) the server's TLS certificate chains to (else the webpki roots).
    pub ca: Option<PathBuf>,
}

/// Where the Vault token comes from. Its `Debug` and `Display` name the source, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VaultTokenSource {
    /// A file (or systemd credential) readable by its owner only.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// An AppRole login (`POST auth/<mount>/login`) at start-up, again before the token's TTL
    /// ends, and when the server refuses the token.
    AppRole(AppRole),
}

/// `[token] approle`: the role, and where its secret_id comes from (never the config itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRole {
    /// The auth method's mount path (default `approle`).
    pub mount: String,
    /// Not a secret by itself (it names the role), so it may be written in.
    pub role_id: String,
    pub secret_id: SecretFrom,
}

/// A file readable by its owner only, or an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFrom {
    File(PathBuf),
    Env(String),
}

impl fmt::Display for VaultTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultTokenSource::File(path) => write!(f, "Vault token file {}", path.display()),
            VaultTokenSource::Env(name) => write!(f, "environment variable {name}"),
            VaultTokenSource::AppRole(role) => write!(
                f,
                "the AppRole login (auth/{}, secret_id from {})",
                role.mount,
                match &role.secret_id {
                    SecretFrom::File(path) => format!("file {}", path.display()),
                    SecretFrom::Env(name) => format!("environment variable {name}"),
                }
            ),
        }
    }
}

impl VaultTokenSource {
    /// Reads the token, trimming surrounding whitespace (`bao token create` output often ends
    /// in a newline). An empty token, or one with bytes an HTTP header cannot carry, is refused.
    /// For an AppRole login, reads the secret_id (the client logs in with it).
    pub fn read(&self) -> Result<SecretBytes> {
        match self {
            VaultTokenSource::File(path) => read_secret(&SecretFrom::File(path.clone()), self),
            VaultTokenSource::Env(name) => read_secret(&SecretFrom::Env(name.clone()), self),
            VaultTokenSource::AppRole(role) => read_secret(&role.secret_id, self),
        }
    }
}

/// `from`'s value, trimmed and checked; `source` names it in messages.
fn read_secret(from: &SecretFrom, source: &VaultTokenSource) -> Result<SecretBytes> {
    let what = match source {
        VaultTokenSource::AppRole(_) => "AppRole secret_id",
        _ => "Vault token",
    };
    let raw = match from {
        SecretFrom::File(path) => secure_file::read_secret(
            path,
            Purpose {
                what: if what == "Vault token" {
                    "Vault token file"
                } else {
                    "AppRole secret_id file"
                },
                kind: ErrorKind::Token,
                secrecy: Secrecy::Secret,
            },
            MAX_TOKEN_FILE,
        )?,
        SecretFrom::Env(name) => SecretBytes::from_env(name).ok_or_else(|| {
            Error::token(format!(
                "environment variable {name} (the {what}) is not set"
            ))
        })?,
    };
    let token = SecretBytes::copy_from(raw.expose().trim_ascii());
    if token.is_empty() {
        return Err(Error::token(format!("the {what} from {source} is empty")));
    }
    if !token.expose().iter().all(|b| b.is_ascii_graphic()) {
        return Err(Error::token(format!(
            "the {what} from {source} has characters a {what} never has (spaces or control \
             characters inside it): put it alone in its file or variable"
        )));
    }
    Ok(token)
}

/// `https`, or `http` only to a loopback address (the token would cross the network in clear).
pub fn check_address(text: &str) -> std::result::Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|_| format!("{text:?} is not a URL such as \"https://vault.example:8200\""))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("{text:?} has no host; e.g. \"https://vault.example:8200\""))?;
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(format!(
            "{text:?}: give the server's address only, without a path (keyward adds /v1/...)"
        ));
    }
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(format!(
            "{text:?}: plain http would send the Vault token and the unsealed data keys across \
             the network in clear; use https (with `ca` for a private CA), or http only to a \
             loopback address"
        )),
        _ => Err(format!("{text:?}: the address must start with https://")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A Transit mount path (`transit`, `team/transit`) or key name: letters, digits, `_`, `-`,
/// `.`; `/` between a mount's segments only.
pub fn check_name(text: &str, mount: bool) -> std::result::Result<(), String> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let ok = if mount {
        text.split('/').all(segment_ok)
    } else {
        segment_ok(text)
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a Transit {}: letters, digits, '_', '-' and '.'{}",
            if mount { "mount path" } else { "key name" },
            if mount {
                ", segments separated by '/'"
            } else {
                ""
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "https://vault.example:8200",
            "http://127.0.0.1:8200",
            "http://[::1]:8200",
            "http://localhost:8200/",
        ] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://10.0.0.5:8200", "in clear"),
            ("http://vault.example", "in clear"),
            ("ftp://vault.example", "https://"),
            ("https://vault.example/v1/transit", "without a path"),
            ("vault.example", "https://"),
        ] {
            let e = check_address(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn names() {
        assert!(check_name("transit", true).is_ok());
        assert!(check_name("team-a/transit", true).is_ok());
        assert!(check_name("keyward-seal.v2", false).is_ok());
        for (bad, mount) in [
            ("a/b", false),
            ("/transit", true),
            ("t:x", true),
            ("..", false),
        ] {
            assert!(check_name(bad, mount).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_token_is_trimmed_checked_and_never_shown() {
        std::env::set_var("KEYWARD_TEST_VAULT_TOKEN", " s.abcdef\n");
        let source = VaultTokenSource::Env("KEYWARD_TEST_VAULT_TOKEN".into());
        assert_eq!(source.read().unwrap().expose(), b"s.abcdef");
        assert!(!format!("{source:?} {source}").contains("abcdef"));
        std::env::set_var("KEYWARD_TEST_VAULT_TOKEN_BAD", "s.ab cd");
        let e = VaultTokenSource::Env("KEYWARD_TEST_VAULT_TOKEN_BAD".into())
            .read()
            .unwrap_err()
            .to_string();
        assert!(e.contains("put it alone") && !e.contains("s.ab"), "{e}");
        let e = VaultTokenSource::Env("KEYWARD_TEST_VAULT_TOKEN_UNSET".into())
            .read()
            .unwrap_err();
        assert!(e.to_string().contains("is not set"), "{e}");
    }

    #[test]
    fn a_token_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s.secret-token\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = VaultTokenSource::File(path.clone())
            .read()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("chmod 600") && !e.contains("secret-token"),
            "{e}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let token = VaultTokenSource::File(path).read().unwrap();
        assert_eq!(token.expose(), b"s.secret-token");
    }
}
