//! The TOML configuration and its validation.
//!
//! Parsing is strict (`deny_unknown_fields` everywhere) and every semantic error names the key
//! and says how to fix it. Relative paths are resolved against the configuration file's folder.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::exchange::{self, Exchange};
use crate::policy::rate::Rate;
use crate::policy::{self, AllowEntry, AllowError, Allowlist, Location, RuleEntry};
use crate::token::{Backend, PinSource, Pkcs11Uri, TokenConfig};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5000;
const MAX_RECV_WINDOW_MS: u64 = 60_000;

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub token: TokenConfig,
    pub audit: AuditConfig,
    pub credentials: Vec<CredentialConfig>,
    pub clients: Vec<ClientConfig>,
}

#[derive(Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsConfig>,
    pub anonymous_market_data: bool,
    pub anonymous_rate: Rate,
    /// Extra names a bot may use in `Host` (besides the listen address and, on loopback, `localhost`).
    pub host_names: Vec<String>,
    /// Peers allowed to send `X-Forwarded-For`/`Forwarded` (used only for the audit's source).
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub header_read_timeout: Duration,
}

#[derive(Debug)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug)]
pub struct AuditConfig {
    pub path: PathBuf,
    pub fsync: bool,
}

pub struct CredentialConfig {
    pub name: String,
    pub exchange: &'static dyn Exchange,
    pub vault: PathBuf,
    pub recv_window_ms: u64,
    pub upstream: Option<UpstreamConfig>,
}

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("name", &self.name)
            .field("exchange", &self.exchange.id())
            .field("vault", &self.vault)
            .field("recv_window_ms", &self.recv_window_ms)
            .field("upstream", &self.upstream)
            .finish()
    }
}

/// Test override: send every request for this credential to `base` instead of the exchange's hosts.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub base: http::Uri,
    pub ca: Option<PathBuf>,
}

#[derive(Debug)]
pub struct ClientConfig {
    pub name: String,
    pub token_sha256: [u8; 32],
    pub credential: String,
    pub allow: Allowlist,
    pub source_ips: Vec<IpNet>,
    pub rate: Option<Rate>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read config {}", path.display()), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| e.context(path.display()))
    }

    /// Parses and validates `text`; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text)?;
        raw.validate(base)
    }

    pub fn credential(&self, name: &str) -> Option<&CredentialConfig> {
        self.credentials.iter().find(|c| c.name == name)
    }

    pub fn client(&self, name: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.name == name)
    }
}

// ---- raw TOML model --------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    token: RawToken,
    audit: RawAudit,
    #[serde(default, rename = "credential")]
    credentials: Vec<RawCredential>,
    #[serde(default, rename = "client")]
    clients: Vec<RawClient>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    tls: Option<RawTls>,
    #[serde(default)]
    allow_plaintext_remote: bool,
    anonymous_market_data: Option<bool>,
    anonymous_rate: Option<String>,
    #[serde(default)]
    host_names: Vec<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    max_body_bytes: Option<usize>,
    connect_timeout_ms: Option<u64>,
    upstream_timeout_ms: Option<u64>,
    header_read_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    module: PathBuf,
    uri: String,
    pin: RawPin,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    file: Option<PathBuf>,
    env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    path: PathBuf,
    #[serde(default)]
    fsync: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    name: String,
    exchange: String,
    vault: PathBuf,
    recv_window_ms: Option<u64>,
    upstream: Option<RawUpstream>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    base: String,
    ca: Option<PathBuf>,
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

// ---- validation ------------------------------------------------------------------------------

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl RawConfig {
    fn validate(self, base: &Path) -> Result<Config> {
        let server = self.server.validate(base)?;

        let pin = match (self.token.pin.file, self.token.pin.env) {
            (Some(f), None) => PinSource::File(resolve(base, &f)),
            (None, Some(e)) if !e.is_empty() => PinSource::Env(e),
            _ => {
                return Err(Error::config(
                    "token.pin: give exactly one of pin = { file = \"/path/to/pin\" } or pin = { env = \"VAR\" }",
                ))
            }
        };
        let uri: Pkcs11Uri = self
            .token
            .uri
            .parse()
            .map_err(|e: Error| Error::config(format!("token.uri: {}", e.message())))?;
        let token = TokenConfig {
            backend: Backend::Pkcs11 {
                module: resolve(base, &self.token.module),
                uri,
            },
            pin,
        };
        let audit = AuditConfig {
            path: resolve(base, &self.audit.path),
            fsync: self.audit.fsync,
        };

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
                    Some(UpstreamConfig {
                        base: uri,
                        ca: u.ca.map(|p| resolve(base, &p)),
                    })
                }
            };
            credentials.push(CredentialConfig {
                name: c.name,
                exchange,
                vault: resolve(base, &c.vault),
                recv_window_ms,
                upstream,
            });
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
            clients.push(ClientConfig {
                name: c.name,
                token_sha256,
                credential: c.credential,
                allow,
                source_ips,
                rate,
            });
        }

        Ok(Config {
            server,
            token,
            audit,
            credentials,
            clients,
        })
    }
}

impl RawServer {
    fn validate(self, base: &Path) -> Result<ServerConfig> {
        let listen_text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            Error::config(format!(
                "server.listen: {listen_text:?} is not an IP:PORT address such as \"127.0.0.1:8787\""
            ))
        })?;
        let tls = self.tls.map(|t| TlsConfig {
            cert: resolve(base, &t.cert),
            key: resolve(base, &t.key),
        });
        if !listen.ip().is_loopback() && tls.is_none() && !self.allow_plaintext_remote {
            return Err(Error::config(format!(
                "server.listen: {listen} is reachable from other machines but no [server] tls is set; client tokens would cross the network in clear. Add tls = {{ cert = ..., key = ... }} or, on a trusted network, allow_plaintext_remote = true"
            )));
        }
        let anonymous_rate = self
            .anonymous_rate
            .as_deref()
            .unwrap_or("20/s")
            .parse()
            .map_err(|e| Error::config(format!("server.anonymous_rate: {e}")))?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|s| {
                parse_net(s).ok_or_else(|| {
                    Error::config(format!(
                        "server.trusted_proxies: {s:?} is not an IP address or CIDR"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for h in &self.host_names {
            if h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
            {
                return Err(Error::config(format!(
                    "server.host_names: {h:?} is not a host name (optionally with :PORT)"
                )));
            }
        }
        let ms = |v: Option<u64>, default: u64, key: &str| -> Result<Duration> {
            match v.unwrap_or(default) {
                0 => Err(Error::config(format!("server.{key}: must be at least 1"))),
                n => Ok(Duration::from_millis(n)),
            }
        };
        Ok(ServerConfig {
            listen,
            tls,
            anonymous_market_data: self.anonymous_market_data.unwrap_or(true),
            anonymous_rate,
            host_names: self
                .host_names
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            trusted_proxies,
            max_body_bytes: self.max_body_bytes.unwrap_or(64 * 1024),
            connect_timeout: ms(self.connect_timeout_ms, 5_000, "connect_timeout_ms")?,
            upstream_timeout: ms(self.upstream_timeout_ms, 15_000, "upstream_timeout_ms")?,
            header_read_timeout: ms(
                self.header_read_timeout_ms,
                10_000,
                "header_read_timeout_ms",
            )?,
        })
    }
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
        Ok(AllowEntry::Rule(RuleEntry {
            method: r.method,
            path: r.path,
            params: r.params,
            max,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn base(extra: &str) -> String {
        format!(
            r#"
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = {{ file = "pin.txt" }}
[audit]
path = "audit.jsonl"
[[credential]]
name = "binance-main"
exchange = "binance"
vault = "vault/binance-main.kwv"
{extra}"#
        )
    }

    fn client(allow: &str) -> String {
        base(&format!(
            r#"
[[client]]
name = "grid-bot"
token_sha256 = "{HASH}"
credential = "binance-main"
rate = "20/s"
source_ips = ["127.0.0.1", "10.0.0.0/8"]
allow = {allow}
"#
        ))
    }

    fn err(text: &str) -> String {
        Config::parse(text, Path::new("/etc/keyward"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn full_example_parses() {
        let c = Config::parse(
            &client(
                r#"["binance:read", { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT"] }, max = { quantity = "0.5", notional = "20000" } }]"#,
            ),
            Path::new("/etc/keyward"),
        )
        .unwrap();
        assert_eq!(c.server.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.token.pin, PinSource::File("/etc/keyward/pin.txt".into()));
        assert_eq!(
            c.credentials[0].vault,
            PathBuf::from("/etc/keyward/vault/binance-main.kwv")
        );
        let cl = &c.clients[0];
        assert_eq!(hex::encode(cl.token_sha256), HASH);
        let last = cl.allow.rules.last().unwrap();
        assert_eq!(last.id, "allow[1]");
        assert_eq!(last.max.len(), 2);
        assert!(cl.allow.rules.iter().any(|r| r.id == "binance:read"));
        assert_eq!(cl.source_ips.len(), 2);
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases = [
            (client(r#"["binance:write"]"#), "client[0].allow[0]"),
            (client(r#"["bybit:read"]"#), "not a preset"),
            (client(r#"[{ method = "POST", path = "/sapi/v1/capital/withdraw/apply" }]"#), "hard-denied"),
            (client(r#"[{ method = "PATCH", path = "/api/v3/order" }]"#), "allow[0] (grid-bot).method: \"PATCH\" is not a method of the binance API; use one of GET, POST, PUT, DELETE"),
            (client(r#"[{ method = "TRACE", path = "/api/v3/order" }]"#), ".method"),
            (client(r#"[{ method = "patch", path = "/api/v3/order" }]"#), ".method"),
            (client(r#"[{ method = "GET", path = "/api/../sapi" }]"#), ".path"),
            (client(r#"[{ method = "GET", path = "/foo/bar" }]"#), "not a binance API path"),
            (client(r#"[{ method = "POST", path = "/api/v3/order", max = { quantity = 0.5 } }]"#), "quoted decimal"),
            (client(r#"[{ method = "POST", path = "/api/v3/order", max = { quantity = "1e3" } }]"#), "max.quantity"),
            (client(r#"[{ method = "POST", path = "/api/v3/order", bogus = 1 }]"#), "bogus"),
            (base("[server]\nlisten = \"0.0.0.0:8787\""), "tls"),
            (base("recv_window_ms = 0"), "recv_window_ms"),
            (base("upstream = { base = \"http://127.0.0.1:1\" }"), "https"),
            (base("[[client]]\nname=\"a\"\ntoken_sha256=\"abc\"\ncredential=\"binance-main\"\nallow=[]"), "token_sha256"),
            (base(&format!("[[client]]\nname=\"a\"\ntoken_sha256=\"{HASH}\"\ncredential=\"nope\"\nallow=[]")), "no [[credential]]"),
            (base("typo = 1"), "typo"),
            (base("").replace("pkcs11:token=keyward;", "pkcs11:tokn=keyward;"), "token.uri"),
            (client(r#"["binance:spot-trade", { method = "POST", path = "/api/v3/order", max = { quantity = "1" } }]"#), "limits would never apply"),
        ];
        for (text, want) in cases {
            let e = err(&text);
            assert!(e.contains(want), "expected {want:?} in: {e}");
        }
        let plain = base("[server]\nlisten = \"0.0.0.0:8787\"\nallow_plaintext_remote = true");
        assert!(Config::parse(&plain, Path::new("/")).is_ok());
    }

    #[test]
    fn patch_rules_only_where_the_exchange_uses_patch() {
        let text = |exchange: &str, path: &str| {
            format!(
                r#"
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = {{ file = "pin.txt" }}
[audit]
path = "audit.jsonl"
[[credential]]
name = "main"
exchange = "{exchange}"
vault = "vault/main.kwv"
[[client]]
name = "bot"
token_sha256 = "{HASH}"
credential = "main"
allow = ["{exchange}:trade", {{ method = "PATCH", path = "{path}" }}]
"#
            )
        };
        for (exchange, path) in [
            ("gate", "/api/v4/spot/orders/123"),
            ("alpaca", "/trading/v2/orders/abc"),
        ] {
            let c = Config::parse(&text(exchange, path), Path::new("/etc/keyward")).unwrap();
            let rules = &c.clients[0].allow.rules;
            assert!(rules
                .iter()
                .any(|r| r.method == Method::Patch && r.id == "allow[1]"));
            assert!(
                rules
                    .iter()
                    .any(|r| r.method == Method::Patch && r.id == format!("{exchange}:trade")),
                "{exchange}:trade has a PATCH endpoint"
            );
        }
        let e = err(&text("alpaca", "/trading/v2/account/configurations"));
        assert!(e.contains("hard-denied"), "{e}");
        let e = err(&text("bybit", "/v5/order/amend"));
        assert!(e.contains("not a method of the bybit API"), "{e}");
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let text = include_str!("../hsm-config/keyward.example.toml");
        let c = Config::parse(text, Path::new("/etc/keyward")).unwrap();
        assert_eq!(c.clients[0].credential, "binance-main");
        // The commented OKX example, uncommented, is valid too.
        let (_, tail) = text.split_once("# [[credential]]").unwrap();
        let okx: String = format!("# [[credential]]{tail}")
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .map(|l| {
                l.replace(
                    "token_sha256 = \"...\"",
                    &format!("token_sha256 = \"{}\"", "1".repeat(64)),
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&format!("{text}\n{okx}"), Path::new("/etc/keyward")).unwrap();
        assert_eq!(c.client("okx-bot").unwrap().credential, "okx-main");
    }

    #[test]
    fn pin_needs_exactly_one_source() {
        let t = base("").replace(
            "pin = { file = \"pin.txt\" }",
            "pin = { file = \"a\", env = \"B\" }",
        );
        assert!(err(&t).contains("token.pin"));
    }
}
