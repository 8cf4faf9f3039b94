//! `keyward admin status|disable|enable|reload`: one request to the admin API of a running
//! keyward. The address is `--url` or the `[admin] listen` of `--config`; the token is read from
//! `--token-file` (checked like a PIN file) or `KEYWARD_ADMIN_TOKEN`, never from argv. Prints the
//! JSON answer; a refusal exits 1 with the server's code and message.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use keyward::config::Config;
use keyward::error::{Error, ErrorKind, Result};
use keyward::proxy::kill::Target;
use keyward::proxy::{admin_call, AdminRequest};
use keyward::secret::SecretBytes;
use keyward::secure_file::{self, Purpose, Secrecy};

use crate::cli::{AdminCommand, AdminFlags, AdminTarget};

/// The environment variable that may hold the admin token.
const TOKEN_ENV: &str = "KEYWARD_ADMIN_TOKEN";

pub(crate) fn admin(to: &AdminFlags, command: &AdminCommand) -> Result<ExitCode> {
    let addr = address(to)?;
    let token = token(to.token_file.as_deref())?;
    let target = |t: &AdminTarget| match t {
        AdminTarget::Client => Target::Client,
        AdminTarget::Credential => Target::Credential,
    };
    let request = match command {
        AdminCommand::Status => AdminRequest::Status,
        AdminCommand::Reload => AdminRequest::Reload,
        AdminCommand::Disable { target: t, name } => AdminRequest::Switch {
            target: target(t),
            name,
            enable: false,
        },
        AdminCommand::Enable { target: t, name } => AdminRequest::Switch {
            target: target(t),
            name,
            enable: true,
        },
    };
    let answer = admin_call(addr, request, &token)?;
    if !answer.is_success() {
        let (code, message) = answer.error();
        eprintln!(
            "keyward: the admin API at {addr} refused ({} {code}): {message}",
            answer.status
        );
        return Ok(ExitCode::from(1));
    }
    let text = match command {
        AdminCommand::Status => serde_json::to_string_pretty(&answer.body),
        _ => serde_json::to_string(&answer.body),
    }
    .map_err(|e| Error::io("cannot print the answer", std::io::Error::other(e)))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `--url` (a loopback `http://IP:PORT`) or `--config`'s `[admin] listen`.
fn address(to: &AdminFlags) -> Result<SocketAddr> {
    match (&to.url, &to.config) {
        (Some(_), Some(_)) => Err(Error::usage("give --url or --config, not both")),
        (None, None) => Err(Error::usage(
            "say where the admin API is: --config keyward.toml (its [admin] listen) or --url http://127.0.0.1:9901",
        )),
        (Some(url), None) => parse_url(url),
        (None, Some(config)) => Config::load(config)?
            .admin
            .map(|a| a.listen)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{} has no [admin] table: the admin API is off",
                    config.display()
                ))
            }),
    }
}

fn parse_url(url: &str) -> Result<SocketAddr> {
    let bad = || {
        Error::usage(format!(
            "--url {url:?}: give http://IP:PORT of the admin listener, e.g. http://127.0.0.1:9901"
        ))
    };
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let addr: SocketAddr = rest.trim_end_matches('/').parse().map_err(|_| bad())?;
    if !addr.ip().is_loopback() {
        return Err(Error::usage(format!(
            "--url {url:?} is not a loopback address: the admin token would cross the network in \
             clear; run `keyward admin` on keyward's host, or use --config with its [admin] listen"
        )));
    }
    Ok(addr)
}

/// The admin token, one trailing newline stripped; an empty one is refused.
fn token(file: Option<&Path>) -> Result<SecretBytes> {
    let raw = match file {
        Some(path) => secure_file::read_secret(
            path,
            Purpose {
                what: "admin token file",
                kind: ErrorKind::Usage,
                secrecy: Secrecy::Secret,
            },
            1024,
        )?,
        None => SecretBytes::from_env(TOKEN_ENV).ok_or_else(|| {
            Error::usage(format!(
                "no admin token: give --token-file FILE (mode 0600) or set {TOKEN_ENV}"
            ))
        })?,
    };
    let bytes = raw.expose();
    let trimmed = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    if trimmed.is_empty() {
        return Err(Error::usage("the admin token is empty"));
    }
    Ok(SecretBytes::copy_from(trimmed))
}
