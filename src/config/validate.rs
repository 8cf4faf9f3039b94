//! The configuration as written (the TOML model, strict: `deny_unknown_fields` everywhere) and
//! the checks that turn it into a [`Config`], each error naming the key it is about and how to fix
//! it. Relative paths are resolved against the configuration file's folder.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::token::RawToken;
use super::{
    resolve, AuditConfig, CheckpointConfig, ClientConfig, Config, CredentialConfig, Ship,
    DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_S, DEFAULT_FSYNC_INTERVAL_MS,
};
use crate::error::{Error, Result};
use crate::exchange::Exchange;
use crate::policy::rate::Rate;
use crate::policy::{self, AllowEntry, AllowError, Allowlist, Location, RuleEntry};
use crate::token::TokenConfig;
use admin::RawAdmin;
use anomaly::RawTriggers;
use credential::RawCredential;
use server::RawServer;

mod admin;
mod anomaly;
mod credential;
mod server;

// ---- the TOML as written ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    server: RawServer,
    token: RawToken,
    audit: RawAudit,
    #[serde(default, rename = "credential")]
    credentials: Vec<RawCredential>,
    #[serde(default, rename = "client")]
    clients: Vec<RawClient>,
    admin: Option<RawAdmin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    path: PathBuf,
    #[serde(default)]
    fsync: bool,
    fsync_interval_ms: Option<u64>,
    checkpoint_key: Option<String>,
    checkpoint_public_key: Option<PathBuf>,
    checkpoint_every: Option<u64>,
    checkpoint_interval_s: Option<u64>,
    checkpoint_socket: Option<PathBuf>,
    #[serde(default)]
    unkeyed: bool,
    #[serde(default)]
    ship_records: bool,
    ship_records_socket: Option<PathBuf>,
}

impl RawAudit {
    fn validate(self, base: &Path) -> Result<AuditConfig> {
        let fsync_interval =
            match (self.fsync, self.fsync_interval_ms) {
                (true, Some(_)) => return Err(Error::config(
                    "audit.fsync_interval_ms: with fsync = true every record is already synced \
                     before the request goes on; remove one of the two",
                )),
                (true, None) => None,
                (false, Some(0)) => None,
                (false, Some(ms)) if ms > 3_600_000 => {
                    return Err(Error::config(format!(
                    "audit.fsync_interval_ms: {ms} is more than an hour; use 1..3600000 (or 0 to \
                     leave syncing to the OS)"
                )))
                }
                (false, ms) => Some(Duration::from_millis(
                    ms.unwrap_or(DEFAULT_FSYNC_INTERVAL_MS),
                )),
            };
        let checkpoint =
            match (self.checkpoint_key, self.checkpoint_public_key) {
                (None, None) if !self.unkeyed => return Err(Error::config(
                    "audit: no checkpoint key, so the audit chain would be unkeyed and anyone who \
                     can write the file could rewrite it undetected. Make the key pair on the \
                     token with `keyward keygen --config keyward.toml --audit-key --out \
                     audit-key.pem` and set [audit] checkpoint_key and checkpoint_public_key as \
                     it prints; or, to accept an unkeyed log (e.g. on a key service, which \
                     cannot sign checkpoints), set [audit] unkeyed = true",
                )),
                (Some(_), _) | (_, Some(_)) if self.unkeyed => {
                    return Err(Error::config(
                        "audit.unkeyed = true contradicts audit.checkpoint_key / \
                     checkpoint_public_key: remove unkeyed to sign checkpoints, or the \
                     checkpoint keys to keep an unkeyed log",
                    ))
                }
                (None, None) => {
                    if self.checkpoint_every.is_some()
                        || self.checkpoint_interval_s.is_some()
                        || self.checkpoint_socket.is_some()
                    {
                        return Err(Error::config(
                            "audit.checkpoint_*: checkpoints need audit.checkpoint_key and \
                         audit.checkpoint_public_key (make them with `keyward keygen --audit-key \
                         --out audit-key.pem`)",
                        ));
                    }
                    None
                }
                (Some(_), None) | (None, Some(_)) => return Err(Error::config(
                    "audit.checkpoint_key and audit.checkpoint_public_key go together: the key \
                     on the token and its public half (`keyward keygen --audit-key --out \
                     audit-key.pem` prints both)",
                )),
                (Some(key), Some(public_key)) => {
                    if key.is_empty() || key.len() > 64 || key.chars().any(|c| c.is_control()) {
                        return Err(Error::config(format!(
                            "audit.checkpoint_key: {key:?} must be a token label (e.g. \
                         \"keyward-audit\") or a YubiKey PIV slot (e.g. \"84\")"
                        )));
                    }
                    let every = self.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY);
                    if !(1..=1_000_000).contains(&every) {
                        return Err(Error::config(format!(
                            "audit.checkpoint_every: {every} must be 1..1000000 records"
                        )));
                    }
                    let secs = self
                        .checkpoint_interval_s
                        .unwrap_or(DEFAULT_CHECKPOINT_INTERVAL_S);
                    if !(1..=86_400).contains(&secs) {
                        return Err(Error::config(format!(
                            "audit.checkpoint_interval_s: {secs} must be 1..86400 seconds"
                        )));
                    }
                    let ship = match self.checkpoint_socket {
                        None => Ship::Default,
                        Some(p) if p.as_os_str().is_empty() => Ship::Off,
                        Some(p) => Ship::Socket(resolve(base, &p)),
                    };
                    Some(CheckpointConfig {
                        key: crate::token::KeyRef::new(key),
                        public_key: resolve(base, &public_key),
                        every,
                        interval: Duration::from_secs(secs),
                        ship,
                    })
                }
            };
        let ship_records =
            match (self.ship_records, self.ship_records_socket) {
                (false, None) => Ship::Off,
                (false, Some(_)) => return Err(Error::config(
                    "audit.ship_records_socket: records are shipped only with audit.ship_records \
                     = true; add it or remove the socket",
                )),
                (true, None) => Ship::Default,
                (true, Some(p)) if p.as_os_str().is_empty() => {
                    return Err(Error::config(
                        "audit.ship_records_socket: empty; give the syslog socket's path (default \
                     /dev/log) or set ship_records = false",
                    ))
                }
                (true, Some(p)) => Ship::Socket(resolve(base, &p)),
            };
        Ok(AuditConfig {
            path: resolve(base, &self.path),
            fsync: self.fsync,
            fsync_interval,
            checkpoint,
            ship_records,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: String,
    token_sha256: String,
    credential: String,
    allow: Vec<RawAllow>,
    #[serde(default)]
    source_ips: Vec<String>,
    rate: Option<String>,
    on_hard_deny: Option<String>,
    on_new_source: Option<String>,
    deny_burst: Option<toml::Value>,
}

/// An `allow` item: a preset name or a rule table.
enum RawAllow {
    Preset(String),
    Rule(RawRule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    method: String,
    path: String,
    #[serde(default)]
    params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    max: BTreeMap<String, toml::Value>,
    max_leverage: Option<toml::Value>,
}

impl<'de> Deserialize<'de> for RawAllow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAllow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a preset name such as \"binance:read\" or a rule { method = \"POST\", path = \"/api/v3/order\" }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawAllow, E> {
                Ok(RawAllow::Preset(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<RawAllow, A::Error> {
                RawRule::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawAllow::Rule)
            }
        }
        d.deserialize_any(V)
    }
}

// ---- checks ----------------------------------------------------------------------------------

/// A credential or client name: 1-64 letters, digits, `-` or `_`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl RawConfig {
    pub(super) fn validate(self, base: &Path) -> Result<Config> {
        let plaintext_ok = self.server.allow_plaintext_remote;
        let server = self.server.validate(base)?;

        let token = self.token.validate(base)?;
        let audit = self.audit.validate(base)?;

        let mut credentials = Vec::new();
        for (i, c) in self.credentials.into_iter().enumerate() {
            let key = format!("credential[{i}]");
            if !valid_name(&c.name) {
                return Err(Error::config(format!(
                    "{key}.name: {:?} must be 1-64 letters, digits, '-' or '_' (it is the first path segment bots use)",
                    c.name
                )));
            }
            if credentials
                .iter()
                .any(|x: &CredentialConfig| x.name == c.name)
            {
                return Err(Error::config(format!(
                    "{key}.name: {:?} is used twice",
                    c.name
                )));
            }
            let c = c.validate(&key, base, server.tls.is_some(), plaintext_ok)?;
            if let Some(h) = c.host_name.as_ref().filter(|h| {
                credentials.iter().any(|x| x.host_name.as_ref() == Some(*h))
                    || server
                        .host_names
                        .iter()
                        .any(|n| n.split(':').next() == Some(h))
            }) {
                return Err(Error::config(format!(
                    "{key}.host_name: {h:?} is already another credential's, or a [server] \
                     host_names entry (which serves every credential with the prefix)"
                )));
            }
            credentials.push(c);
        }

        let mut clients: Vec<ClientConfig> = Vec::new();
        let mut hashes = HashSet::new();
        for (i, c) in self.clients.into_iter().enumerate() {
            let key = format!("client[{i}]");
            if !valid_name(&c.name) || c.name == "anonymous" {
                return Err(Error::config(format!(
                    "{key}.name: {:?} must be 1-64 letters, digits, '-' or '_' and not \"anonymous\"",
                    c.name
                )));
            }
            if clients.iter().any(|x| x.name == c.name) {
                return Err(Error::config(format!(
                    "{key}.name: {:?} is used twice",
                    c.name
                )));
            }
            let token_sha256 = parse_token_hash(&c.token_sha256).ok_or_else(|| {
                Error::config(format!(
                    "{key}.token_sha256 ({}): must be 64 lowercase hex digits, the SHA-256 of the token; `keyward client-token --name {}` prints one",
                    c.name, c.name
                ))
            })?;
            if !hashes.insert(token_sha256) {
                return Err(Error::config(format!(
                    "{key}.token_sha256 ({}): the same token is already given to another client; mint one token per bot",
                    c.name
                )));
            }
            let cred = credentials
                .iter()
                .find(|x| x.name == c.credential)
                .ok_or_else(|| {
                    Error::config(format!(
                        "{key}.credential ({}): no [[credential]] is named {:?}",
                        c.name, c.credential
                    ))
                })?;
            let allow = validate_allow(&key, &c.name, cred.exchange, c.allow)?;
            let source_ips = c
                .source_ips
                .iter()
                .map(|s| parse_net(s).ok_or_else(|| {
                    Error::config(format!(
                        "{key}.source_ips ({}): {s:?} is not an IP address or CIDR such as \"10.0.0.0/8\"",
                        c.name
                    ))
                }))
                .collect::<Result<Vec<_>>>()?;
            let rate = c
                .rate
                .as_deref()
                .map(Rate::from_str)
                .transpose()
                .map_err(|e| Error::config(format!("{key}.rate ({}): {e}", c.name)))?;
            let triggers = RawTriggers {
                on_hard_deny: c.on_hard_deny,
                on_new_source: c.on_new_source,
                deny_burst: c.deny_burst,
            }
            .validate(&key, &c.name)?;
            clients.push(ClientConfig {
                triggers,
                name: c.name,
                token_sha256,
                credential: c.credential,
                allow,
                source_ips,
                rate,
            });
        }

        let admin = match self.admin {
            Some(a) => Some(a.validate(&server.trusted_proxies)?),
            None => None,
        };
        Ok(Config {
            server,
            token,
            audit,
            credentials,
            clients,
            admin,
        })
    }
}

/// Only the `[token]` section of a configuration text, validated; nothing else in it is read.
pub(super) fn token_section(text: &str, base: &Path) -> Result<TokenConfig> {
    #[derive(Deserialize)]
    struct OnlyToken {
        token: Option<RawToken>,
    }
    let only: OnlyToken = toml::from_str(text)?;
    only.token
        .ok_or_else(|| {
            Error::config(
                "no [token] section: add one naming the token (a PKCS#11 module and URI, or kind = \"yubikey\" and its slot) and the PIN",
            )
        })?
        .validate(base)
}

/// `upstream.ws_base`: `wss://HOST[:PORT]` with no path (the WebSocket path is kept).
/// The setting `key`'s `value` (or `default` when it is not set), parsed.
fn parse_or<T>(value: Option<String>, default: &str, key: &str) -> Result<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    value
        .as_deref()
        .unwrap_or(default)
        .parse()
        .map_err(|e| Error::config(format!("{key}: {e}")))
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// 64 lowercase hex digits → 32 bytes.
pub fn parse_token_hash(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Hands a client's `allow` entries to the policy compiler and names the config key of whatever
/// it refuses.
fn validate_allow(
    key: &str,
    client: &str,
    exchange: &dyn Exchange,
    items: Vec<RawAllow>,
) -> Result<Allowlist> {
    let named = |e: AllowError| {
        let at = match e.at {
            Location::List => format!("{key}.allow ({client})"),
            Location::Entry(j) => format!("{key}.allow[{j}] ({client})"),
            Location::Field { entry, field } => format!("{key}.allow[{entry}] ({client}).{field}"),
        };
        Error::config(format!("{at}: {}", e.message))
    };
    let entries = items
        .into_iter()
        .enumerate()
        .map(|(j, item)| item.into_entry(j))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(named)?;
    policy::compile(exchange, entries).map_err(named)
}

impl RawAllow {
    fn into_entry(self, j: usize) -> std::result::Result<AllowEntry, AllowError> {
        let r = match self {
            RawAllow::Preset(name) => return Ok(AllowEntry::Preset(name)),
            RawAllow::Rule(r) => r,
        };
        let mut max = BTreeMap::new();
        for (name, value) in r.max {
            let toml::Value::String(text) = value else {
                return Err(AllowError::new(
                    Location::Field {
                        entry: j,
                        field: format!("max.{name}"),
                    },
                    format!(
                        "write the limit as a quoted decimal such as \"0.5\" (got {value}); limits are compared as exact decimals, never floats"
                    ),
                ));
            };
            max.insert(name, text);
        }
        // A leverage is also written as a TOML integer (`max_leverage = 5`): exact, like text.
        let max_leverage = match r.max_leverage {
            None => None,
            Some(toml::Value::String(text)) => Some(text),
            Some(toml::Value::Integer(n)) => Some(n.to_string()),
            Some(value) => {
                return Err(AllowError::new(
                    Location::Field {
                        entry: j,
                        field: "max_leverage".to_owned(),
                    },
                    format!(
                        "write the leverage limit as an integer or a quoted decimal such as \"5\" (got {value}); limits are compared as exact decimals, never floats"
                    ),
                ))
            }
        };
        Ok(AllowEntry::Rule(RuleEntry {
            method: r.method,
            path: r.path,
            params: r.params,
            max,
            max_leverage,
        }))
    }
}
