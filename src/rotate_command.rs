//! `keyward rotate`: seals the next key version of a configured credential into its vault file
//! (no token needed) and says what to do next, at keyward and at the exchange.

use std::path::Path;
use std::process::ExitCode;

use keyward::config::Config;
use keyward::error::{Error, Result};
use keyward::vault;

pub fn rotate(
    config_path: &Path,
    name: &str,
    recipient: Option<&str>,
    expires_days: Option<u64>,
) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let credential = config.credential(name).ok_or_else(|| {
        let known: Vec<&str> = config.credentials.iter().map(|c| c.name.as_str()).collect();
        Error::usage(format!(
            "{} has no [[credential]] named {name:?} (it has: {})",
            config_path.display(),
            known.join(", ")
        ))
    })?;
    let recipient = recipient.map(vault::read_recipient).transpose()?;
    let exchange = credential.exchange;
    let secrets = crate::checked_secrets(exchange)?;
    let rotated = vault::rotate_file(
        &credential.vault,
        (name, exchange.id()),
        &credential.vault_sha256,
        recipient.as_ref(),
        &secrets,
        crate::expires_in(expires_days),
    )?;
    drop(secrets);
    let (version, shown) = (rotated.version, credential.vault.display());
    println!("version {version}");
    println!("{}", rotated.digest.config_line());
    let fingerprint = rotated.recipient.fingerprint();
    if fingerprint != rotated.previous_fingerprint {
        eprintln!(
            "keyward: note: version {version} is sealed to key {fingerprint}, version {} was \
             sealed to {}: only a token holding the new key opens it",
            version - 1,
            rotated.previous_fingerprint
        );
    }
    let id = exchange.id();
    eprintln!(
        "keyward: sealed version {version} of credential {name:?} ({id}) to key {fingerprint} \
         in {shown}; versions 1..{} are kept for the record and never sign. Next:\n  \
         1. at {id}, the new API key must allow trading and reading only: no withdrawals, no \
         transfers (restrict it to this host's address too);\n  \
         2. replace the vault_sha256 line of the [[credential]] named {name:?} in {} with the \
         line above;\n  \
         3. reload keyward (`kill -HUP <pid>`, `systemctl reload keyward` or POST /reload on \
         the admin API): from then on version {version} signs, and the audit records carry \
         \"key_version\":{version};\n  \
         4. once requests show key_version {version}, delete the old API key at {id}.",
        version - 1,
        config_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
