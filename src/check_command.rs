//! `keyward check`: validates the configuration, unseals every credential and prints what
//! `serve` would run with; exits non-zero when something would refuse to serve.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use keyward::config::Config;
use keyward::error::Result;
use keyward::exchange::environment::Environment;
use keyward::startup::unseal_all;

pub fn check(config_path: &Path) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let unsealed = unseal_all(&config)?;
    println!("config {}: ok", config_path.display());
    println!(
        "listen {} ({}); anonymous market data {}",
        config.server.listen,
        if config.server.tls.is_some() {
            "TLS"
        } else {
            "plain HTTP"
        },
        if config.server.anonymous_market_data {
            "on"
        } else {
            "off"
        }
    );
    let now = SystemTime::now();
    let mut expired = Vec::new();
    for c in &config.credentials {
        let u = &unsealed[&c.name];
        let standing = match u.version.standing(now) {
            keyward::rotation::Standing::Current => "",
            keyward::rotation::Standing::Due => "; DUE: rotate it soon with `keyward rotate`",
            keyward::rotation::Standing::Expired => {
                expired.push(c.name.as_str());
                "; EXPIRED: serve answers its requests 403 credential_expired"
            }
        };
        println!(
            "credential {} ({}): unsealed from {} (key {}; {}; {}{standing}){}",
            c.name,
            c.exchange.id(),
            c.vault.display(),
            u.header.recipient_fingerprint,
            u.mode,
            u.version.describe(now),
            if c.upstream.is_some() {
                "; upstream overridden"
            } else {
                ""
            }
        );
        if let Some(name) = &c.host_name {
            println!(
                "credential {}: also served to Host {name} with the exchange's own paths (no /{} prefix)",
                c.name, c.name
            );
        }
        if let Some(at) = c.listen {
            println!(
                "credential {}: also served at {at} with the exchange's own paths (no /{} prefix)",
                c.name, c.name
            );
        }
        if let (Environment::Demo, Some(demo)) = (c.environment, c.exchange.profile().demo) {
            println!(
                "credential {}: environment demo: requests go to {} {}",
                c.name,
                c.exchange.id(),
                demo.name
            );
        }
    }
    let refused = crate::permission_command::print_key_checks(&config, &unsealed)?;
    for cl in &config.clients {
        let mut names: Vec<&str> = Vec::new();
        for r in &cl.allow.rules {
            if !names.contains(&r.id.as_str()) {
                names.push(&r.id);
            }
        }
        println!(
            "client {} -> {}: {} endpoint rules [{}]; rate {}; sources {}",
            cl.name,
            cl.credential,
            cl.allow.rules.len(),
            names.join(", "),
            cl.rate
                .map(|r| r.to_string())
                .unwrap_or_else(|| "unlimited".into()),
            if cl.source_ips.is_empty() {
                "any".to_owned()
            } else {
                cl.source_ips
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    if !refused.is_empty() {
        eprintln!(
            "keyward: credential(s) {} would not be served (permission_check = \"refuse\"): {}",
            refused.join(", "),
            keyward::proxy::RECREATE
        );
    }
    if !expired.is_empty() {
        eprintln!(
            "keyward: the key version of {} has expired: seal the new key with `keyward rotate \
             --config {} --credential NAME`, pin it and reload",
            expired.join(", "),
            config_path.display()
        );
    }
    if !refused.is_empty() || !expired.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
