//! One `[[credential]]` as written, and its validation into a [`CredentialConfig`].

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::server;
use crate::config::{
    resolve, CredentialConfig, ExchangeBudgets, PermissionCheck, UpstreamConfig,
    DEFAULT_RECV_WINDOW_MS,
};
use crate::error::{Error, Result};
use crate::exchange::{self, environment::Environment};
use crate::rotation::{RotationPolicy, DEFAULT_ROTATE_AFTER_DAYS, DEFAULT_WARN_DAYS, MAX_DAYS};
use crate::vault::VaultDigest;

const MAX_RECV_WINDOW_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCredential {
    pub(super) name: String,
    exchange: String,
    vault: PathBuf,
    vault_sha256: Option<String>,
    recv_window_ms: Option<u64>,
    #[serde(default)]
    environment: Environment,
    rotate_after_days: Option<u32>,
    warn_days: Option<u32>,
    listen: Option<String>,
    host_name: Option<String>,
    upstream: Option<RawUpstream>,
    permission_check: Option<String>,
    rate_tier: Option<String>,
    exchange_budgets: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    base: String,
    ca: Option<PathBuf>,
    ws_base: Option<String>,
}

impl RawCredential {
    /// `key` is `credential[i]` (error messages name it); `tls` and `plaintext_ok` are the
    /// `[server]` settings its own listener follows.
    pub(super) fn validate(
        self,
        key: &str,
        base: &Path,
        tls: bool,
        plaintext_ok: bool,
    ) -> Result<CredentialConfig> {
        let c = self;
        let exchange = exchange::lookup(&c.exchange).ok_or_else(|| {
            let known: Vec<_> = exchange::registry().iter().map(|e| e.id()).collect();
            Error::config(format!(
                "{key}.exchange: unknown exchange {:?}; known: {}",
                c.exchange,
                known.join(", ")
            ))
        })?;
        let recv_window_ms = c.recv_window_ms.unwrap_or(DEFAULT_RECV_WINDOW_MS);
        if recv_window_ms == 0 || recv_window_ms > MAX_RECV_WINDOW_MS {
            return Err(Error::config(format!(
                "{key}.recv_window_ms: must be between 1 and {MAX_RECV_WINDOW_MS}"
            )));
        }
        if c.environment == Environment::Demo && exchange.profile().demo.is_none() {
            let known: Vec<_> = exchange::registry()
                .iter()
                .filter(|e| e.profile().demo.is_some())
                .map(|e| e.id())
                .collect();
            return Err(Error::config(format!(
                "{key}.environment: keyward knows no demo environment for {}, so a demo \
                 credential of it could only be sent to the live exchange; exchanges with \
                 one: {}",
                exchange.id(),
                known.join(", ")
            )));
        }
        let listen = c
            .listen
            .map(|text| server::bot_listen(&format!("{key}.listen"), &text, tls, plaintext_ok))
            .transpose()?;
        let host_name = match c.host_name {
            None => None,
            Some(h)
                if !h.is_empty()
                    && h.contains('.')
                    && h.parse::<std::net::IpAddr>().is_err()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
            {
                Some(h.to_ascii_lowercase())
            }
            Some(h) => {
                return Err(Error::config(format!(
                    "{key}.host_name: {h:?} is not a host name such as \"{}.localhost\" (letters, \
                     digits, '-' and '.', no port, not an IP address)",
                    c.name
                )))
            }
        };
        let upstream = match c.upstream {
            None => None,
            Some(u) => {
                let uri: http::Uri = u.base.parse().map_err(|_| {
                    Error::config(format!("{key}.upstream.base: {:?} is not a URL", u.base))
                })?;
                if uri.scheme_str() != Some("https")
                    || uri.authority().is_none()
                    || !uri.path().trim_end_matches('/').is_empty()
                {
                    return Err(Error::config(format!(
                        "{key}.upstream.base: {:?} must be https://HOST[:PORT] with no path",
                        u.base
                    )));
                }
                let ws_base = u.ws_base.map(|w| parse_ws_base(&w, key)).transpose()?;
                Some(UpstreamConfig {
                    base: uri,
                    ca: u.ca.map(|p| resolve(base, &p)),
                    ws_base,
                })
            }
        };
        let vault = resolve(base, &c.vault);
        let vault_sha256 = match c.vault_sha256 {
            None => {
                return Err(Error::config(format!(
                    "{key}.vault_sha256: missing for credential {:?}: every vault is pinned \
                     by its SHA-256, so only the file you sealed is served; `keyward digest \
                     {}` prints the line to add (so does `keyward seal`)",
                    c.name,
                    vault.display()
                )))
            }
            Some(hex) => hex.parse::<VaultDigest>().map_err(|()| {
                Error::config(format!(
                    "{key}.vault_sha256: {hex:?} is not 64 hex digits (the SHA-256 `keyward \
                     digest {}` prints)",
                    vault.display()
                ))
            })?,
        };
        let rotation = rotation_policy(key, c.rotate_after_days, c.warn_days)?;
        let permission_check = match c.permission_check.as_deref() {
            None | Some("refuse") => PermissionCheck::Refuse,
            Some("warn") => PermissionCheck::Warn,
            Some("off") => PermissionCheck::Off,
            Some(other) => {
                return Err(Error::config(format!(
                    "{key}.permission_check: {other:?} must be \"refuse\" (the default: a key \
                     that can withdraw or transfer is not served), \"warn\" or \"off\""
                )))
            }
        };
        let budgets = match (c.exchange_budgets.as_deref(), c.rate_tier.as_deref()) {
            (None | Some("count"), tier) => ExchangeBudgets::Counted {
                tier: rate_tier(key, exchange, tier)?,
            },
            (Some("off"), None) => ExchangeBudgets::Off,
            (Some("off"), Some(_)) => {
                return Err(Error::config(format!(
                    "{key}.rate_tier: has no effect with exchange_budgets = \"off\"; remove one"
                )))
            }
            (Some(other), _) => {
                return Err(Error::config(format!(
                    "{key}.exchange_budgets: {other:?} must be \"count\" (the default: keyward \
                     refuses a request that would pass the exchange's own request budget) or \
                     \"off\""
                )))
            }
        };
        Ok(CredentialConfig {
            name: c.name,
            exchange,
            vault,
            vault_sha256,
            recv_window_ms,
            environment: c.environment,
            rotation,
            listen,
            host_name,
            upstream,
            permission_check,
            budgets,
        })
    }
}

/// `rate_tier`: one of the exchange's `weight_tiers` (the index of), the first when not given.
fn rate_tier(key: &str, exchange: &dyn exchange::Exchange, given: Option<&str>) -> Result<usize> {
    let tiers = exchange.profile().weights.map_or(&[][..], |w| w.tiers);
    let Some(name) = given else { return Ok(0) };
    match tiers.iter().position(|t| *t == name) {
        Some(i) => Ok(i),
        None if tiers.is_empty() => Err(Error::config(format!(
            "{key}.rate_tier: {} has no rate tiers keyward knows (its budgets are the same for \
             every account); remove the line",
            exchange.id()
        ))),
        None => Err(Error::config(format!(
            "{key}.rate_tier: {name:?} is not one of {}'s tiers: {} (the first is the default)",
            exchange.id(),
            tiers.join(", ")
        ))),
    }
}

/// `rotate_after_days` (1..3650, default 90) and `warn_days` (0..3650, default 14).
fn rotation_policy(
    key: &str,
    rotate_after_days: Option<u32>,
    warn_days: Option<u32>,
) -> Result<RotationPolicy> {
    let policy = RotationPolicy {
        rotate_after_days: rotate_after_days.unwrap_or(DEFAULT_ROTATE_AFTER_DAYS),
        warn_days: warn_days.unwrap_or(DEFAULT_WARN_DAYS),
    };
    if policy.rotate_after_days == 0 || policy.rotate_after_days > MAX_DAYS {
        return Err(Error::config(format!(
            "{key}.rotate_after_days: must be between 1 and {MAX_DAYS} (days after a key \
             version is sealed until keyward stops signing with it)"
        )));
    }
    if policy.warn_days > MAX_DAYS {
        return Err(Error::config(format!(
            "{key}.warn_days: must be between 0 and {MAX_DAYS}"
        )));
    }
    Ok(policy)
}

fn parse_ws_base(text: &str, key: &str) -> Result<http::Uri> {
    let uri: http::Uri = text
        .parse()
        .map_err(|_| Error::config(format!("{key}.upstream.ws_base: {text:?} is not a URL")))?;
    if uri.scheme_str() != Some("wss")
        || uri.authority().is_none()
        || !uri.path().trim_end_matches('/').is_empty()
    {
        return Err(Error::config(format!(
            "{key}.upstream.ws_base: {text:?} must be wss://HOST[:PORT] with no path"
        )));
    }
    Ok(uri)
}
