//! `keyward check`'s part of the key-permission self-check: each credential's key asked about
//! once, one line each, and the credentials `serve` would refuse.

use std::collections::HashMap;

use keyward::config::{Config, PermissionCheck};
use keyward::error::Result;
use keyward::exchange::permission::{Fact, Verdict};
use keyward::proxy;
use keyward::startup::Unsealed;

/// `check`'s key-permission self-check lines; the credentials that `serve` would refuse.
pub fn print_key_checks(
    config: &Config,
    unsealed: &HashMap<String, Unsealed>,
) -> Result<Vec<String>> {
    let credentials = unsealed
        .iter()
        .map(|(name, u)| (name.clone(), &u.credential))
        .collect();
    let mut refused = Vec::new();
    for (name, finding) in proxy::check_keys_once(config, &credentials)? {
        let mode = config.credential(&name).map(|c| c.permission_check);
        let Some(f) = finding else {
            println!("credential {name}: key permissions not checked (permission_check = \"off\")");
            continue;
        };
        let ip = match f.ip_restricted {
            Fact::Known(true) => "; IP-restricted",
            Fact::Known(false) => {
                "; WARNING: no IP restriction at the exchange (restrict the key to this host's address)"
            }
            Fact::Unknown => "",
        };
        let serves = f.serves() || mode != Some(PermissionCheck::Refuse);
        let what = match (f.serves(), serves) {
            (true, _) => "ok".to_owned(),
            (false, true) => "WARNING (served only because permission_check = \"warn\")".to_owned(),
            (false, false) => {
                refused.push(name.clone());
                "REFUSED".to_owned()
            }
        };
        let fix = match f.verdict {
            Verdict::CanMove { .. } => format!("; {}", proxy::RECREATE),
            Verdict::Unknown => "; fix what stops the check (the key, the network), or recreate the key with trade and read permissions only".to_owned(),
            _ => String::new(),
        };
        println!(
            "credential {name}: key permissions {what}: {} ({}){ip}{fix}",
            f.describe(),
            f.verdict_name()
        );
    }
    Ok(refused)
}
