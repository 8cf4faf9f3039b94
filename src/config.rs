//! The TOML configuration: the validated model the rest of keyward reads.
//!
//! `validate.rs` holds the TOML as written (strict: `deny_unknown_fields` everywhere) and checks it
//! into these types; every semantic error names the key and says how to fix it. Relative paths
//! are resolved against the configuration file's folder. The allowlists are compiled by
//! [`policy::compile`](crate::policy::compile); this module only names the key of what it refuses.

mod token;
mod validate;

pub use validate::{parse_token_hash, valid_name};

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::exchange::environment::Environment;
use crate::exchange::Exchange;
use crate::policy::rate::Rate;
use crate::policy::Allowlist;
use crate::rotation::RotationPolicy;
use crate::token::TokenConfig;
use crate::vault::VaultDigest;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5000;

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub token: TokenConfig,
    pub audit: AuditConfig,
    pub credentials: Vec<CredentialConfig>,
    pub clients: Vec<ClientConfig>,
    /// `[admin]`: the operator's listener (kill switch, status, reload); off when absent.
    pub admin: Option<AdminConfig>,
}

/// `[admin]`: where the admin API listens and the SHA-256 of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Loopback, or any address when `[server] trusted_proxies` is set (then only loopback
    /// peers and peers inside `trusted_proxies` are answered).
    pub listen: SocketAddr,
    pub token_sha256: [u8; 32],
    /// `GET /metrics`, `/healthz` and `/readyz` answer without the admin token (default false).
    pub open_probes: bool,
}

pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9901";

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
    /// Bound on one header (name and value).
    pub max_header_bytes: usize,
    /// Bound on all headers together.
    pub max_header_total_bytes: usize,
    pub connect_timeout: Duration,
    /// For the exchange's whole answer (head and body) to one attempt.
    pub upstream_timeout: Duration,
    /// Bound on the exchange's answer, which keyward reads whole before answering the bot.
    pub max_answer_bytes: usize,
    /// Send a GET once more after a transport fault or a 502/503/504 (never anything else).
    pub upstream_retry_get: bool,
    pub header_read_timeout: Duration,
    /// WebSocket sessions one client may hold open at once.
    pub ws_sockets_per_client: usize,
    /// Frames per second one client may send over all its WebSocket sessions.
    pub ws_frame_rate: Rate,
    pub limits: Limits,
    /// Refuse to start when secret memory cannot be locked (else a warning).
    pub require_locked_memory: bool,
    /// `permission_check_hours`: how often the key-permission self-check asks each exchange
    /// what its key may do (after a refused or failed check: sooner, see `proxy::keycheck`).
    pub permission_check_every: Duration,
}

/// Bounds on what connections and requests may hold (`[server]` keys of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Headers in one request (`max_headers`).
    pub max_headers: usize,
    /// Query and form parameters in one request (`max_params`).
    pub max_params: usize,
    /// How long a keep-alive connection may wait for its next request (`idle_timeout_ms`).
    pub idle_timeout: Duration,
    /// How long a bot may leave its answer unread while keyward writes it (`write_timeout_ms`).
    pub write_timeout: Duration,
    /// How long the body of a request may take to arrive (`body_read_timeout_ms`).
    pub body_read_timeout: Duration,
    /// Open client connections (`max_connections`).
    pub max_connections: usize,
    /// HTTP requests being served at once (`max_in_flight`).
    pub max_in_flight: usize,
    /// Wrong client tokens one source address may send (`auth_failure_rate`).
    pub auth_failure_rate: Rate,
}

impl Default for Limits {
    /// The defaults: room for 2,000 idle bot connections and more, and bounds well above what
    /// an exchange API request needs.
    fn default() -> Self {
        Limits {
            max_headers: 64,
            max_params: crate::request::MAX_PARAMS,
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_in_flight: 512,
            auth_failure_rate: Rate {
                count: 20,
                per: Duration::from_secs(60),
            },
        }
    }
}

#[derive(Debug)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug)]
pub struct AuditConfig {
    pub path: PathBuf,
    /// Every record is on disk before the request goes on (group commit).
    pub fsync: bool,
    /// Without `fsync`: records are made durable at least this often (`None`: left to the OS).
    pub fsync_interval: Option<Duration>,
    /// Signed checkpoints of the chain head; `None` only with `unkeyed = true` (start-up warns).
    pub checkpoint: Option<CheckpointConfig>,
    /// `ship_records` / `ship_records_socket`: where each record's line is also sent.
    pub ship_records: Ship,
}

/// `[audit] checkpoint_*`: the token key that signs the chain head, and how often.
#[derive(Debug)]
pub struct CheckpointConfig {
    /// The key pair's label on a PKCS#11 token, or its PIV slot (hex) on a YubiKey.
    pub key: crate::token::KeyRef,
    /// Its public half (PEM), checked against the token's key at start and used by `audit verify`.
    pub public_key: PathBuf,
    pub every: u64,
    pub interval: Duration,
    pub ship: Ship,
}

/// Where checkpoints (or records) are shipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ship {
    /// `/dev/log` when it exists at start-up, else nowhere (with a warning).
    Default,
    Off,
    Socket(PathBuf),
}

pub const DEFAULT_FSYNC_INTERVAL_MS: u64 = 1000;
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;
pub const DEFAULT_CHECKPOINT_INTERVAL_S: u64 = 60;

pub struct CredentialConfig {
    pub name: String,
    pub exchange: &'static dyn Exchange,
    pub vault: PathBuf,
    /// The SHA-256 the vault file must have: only that file is current.
    pub vault_sha256: VaultDigest,
    pub recv_window_ms: u64,
    /// Which of the exchange's environments the key belongs to (`live` unless `demo`).
    pub environment: Environment,
    /// `rotate_after_days` and `warn_days`.
    pub rotation: RotationPolicy,
    /// Its own listener (`[[credential]] listen`), on which paths have no `/<name>` prefix.
    pub listen: Option<SocketAddr>,
    /// Its own host name (`[[credential]] host_name`, lowercase): a request whose `Host` is it
    /// goes to this credential, with no `/<name>` prefix.
    pub host_name: Option<String>,
    pub upstream: Option<UpstreamConfig>,
    /// What the key-permission self-check's verdict does to this credential.
    pub permission_check: PermissionCheck,
    /// Whether keyward counts the exchange's request budgets for it, and at which tier.
    pub budgets: ExchangeBudgets,
}

/// A credential's `exchange_budgets` and `rate_tier`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeBudgets {
    /// Counted (the default), against the limits of the tier at this index of the exchange's
    /// `weight_tiers` (`rate_tier`; 0, the lowest, unless given).
    Counted { tier: usize },
    /// Not counted (`exchange_budgets = "off"`): the exchange raised this account's limits
    /// beyond what keyward knows.
    Off,
}

/// A credential's `permission_check`: what keyward does when the exchange says the key can
/// withdraw or transfer, or when its answer cannot be had or read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PermissionCheck {
    /// Refuse the credential's requests (403 `key_can_withdraw` / `key_permissions_unknown`).
    #[default]
    Refuse,
    /// Serve, and log a warning every hour.
    Warn,
    /// Do not ask the exchange.
    Off,
}

impl PermissionCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionCheck::Refuse => "refuse",
            PermissionCheck::Warn => "warn",
            PermissionCheck::Off => "off",
        }
    }
}

pub const DEFAULT_PERMISSION_CHECK_HOURS: u64 = 24;

impl fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("name", &self.name)
            .field("exchange", &self.exchange.id())
            .field("vault", &self.vault)
            .field("vault_sha256", &self.vault_sha256)
            .field("recv_window_ms", &self.recv_window_ms)
            .field("environment", &self.environment)
            .field("rotation", &self.rotation)
            .field("listen", &self.listen)
            .field("host_name", &self.host_name)
            .field("upstream", &self.upstream)
            .field("permission_check", &self.permission_check)
            .field("budgets", &self.budgets)
            .finish()
    }
}

/// Test override: send every request for this credential to `base` instead of the exchange's hosts.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub base: http::Uri,
    pub ca: Option<PathBuf>,
    /// Test override of every WebSocket upstream's scheme, host and port (`wss://HOST:PORT`).
    pub ws_base: Option<http::Uri>,
}

#[derive(Debug)]
pub struct ClientConfig {
    pub name: String,
    pub token_sha256: [u8; 32],
    pub credential: String,
    pub allow: Allowlist,
    pub source_ips: Vec<IpNet>,
    pub rate: Option<Rate>,
    /// `on_hard_deny`, `on_new_source`, `deny_burst`.
    pub triggers: crate::anomaly::Triggers,
}

/// `p`, relative to the configuration file's folder `base` unless it is absolute.
fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read config {}", path.display()), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|e| e.context(path.display()))
    }

    /// Reads and validates only the `[token]` section of the file at `path`: what `keygen` and
    /// `import` need, before the rest (credentials that need their vaults) is written.
    pub fn load_token(path: &Path) -> Result<TokenConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read config {}", path.display()), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        validate::token_section(&text, base).map_err(|e| e.context(path.display()))
    }

    /// Parses and validates `text`; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let raw: validate::RawConfig = toml::from_str(text)?;
        raw.validate(base)
    }

    pub fn credential(&self, name: &str) -> Option<&CredentialConfig> {
        self.credentials.iter().find(|c| c.name == name)
    }

    pub fn client(&self, name: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// The `Host` names the bots' listeners answer to: `[server] host_names` and the
    /// credentials' own `host_name`s.
    pub fn host_names(&self) -> Vec<String> {
        let own = self.credentials.iter().filter_map(|c| c.host_name.clone());
        self.server.host_names.iter().cloned().chain(own).collect()
    }

    /// `[[credential]] host_name` → credential name.
    pub fn credential_hosts(&self) -> std::collections::HashMap<String, String> {
        let own = |c: &CredentialConfig| Some((c.host_name.clone()?, c.name.clone()));
        self.credentials.iter().filter_map(own).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;
    use crate::token::PinSource;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// A config with one credential `name` for `exchange`, then `extra`.
    fn with_credential(name: &str, exchange: &str, extra: &str) -> String {
        format!(
            r#"
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = {{ file = "pin.txt" }}
[audit]
path = "audit.jsonl"
unkeyed = true
[[credential]]
name = "{name}"
exchange = "{exchange}"
vault = "vault/{name}.kwv"
vault_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
{extra}"#
        )
    }

    fn base(extra: &str) -> String {
        with_credential("binance-main", "binance", extra)
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
        assert_eq!(
            c.token.pin,
            Some(PinSource::File("/etc/keyward/pin.txt".into()))
        );
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
        // A leverage limit as an integer or as a quoted decimal.
        for limit in ["5", "\"5\""] {
            let c = Config::parse(
                &client(&format!(
                    r#"[{{ method = "POST", path = "/fapi/v1/leverage", max_leverage = {limit} }}]"#
                )),
                Path::new("/etc/keyward"),
            )
            .unwrap();
            assert_eq!(
                c.clients[0].allow.rules[0].max_leverage,
                Some(rust_decimal::Decimal::new(5, 0))
            );
        }
    }

    #[test]
    fn header_bounds_default_and_are_checked() {
        let c = Config::parse(&base(""), Path::new("/etc/keyward")).unwrap();
        assert_eq!(
            (c.server.max_header_bytes, c.server.max_header_total_bytes),
            (8192, 32768)
        );
        let c = Config::parse(
            &base("[server]\nmax_header_bytes = 4096\nmax_header_total_bytes = 4096"),
            Path::new("/etc/keyward"),
        )
        .unwrap();
        assert_eq!(
            (c.server.max_header_bytes, c.server.max_header_total_bytes),
            (4096, 4096)
        );
        assert!(err(&base("[server]\nmax_header_bytes = 10")).contains("max_header_bytes"));
        // The canonicaliser refuses more than MAX_PARAMS whatever the setting: no promise above.
        let e = err(&base("[server]\nmax_params = 101"));
        assert!(e.contains("max_params") && e.contains("at most 100"), "{e}");
        assert!(err(&base(
            "[server]\nmax_header_bytes = 8192\nmax_header_total_bytes = 4096"
        ))
        .contains("max_header_total_bytes"));
    }

    #[test]
    fn the_permission_check_defaults_to_refuse_daily_and_is_checked() {
        let c = Config::parse(&base(""), Path::new("/etc/keyward")).unwrap();
        assert_eq!(c.credentials[0].permission_check, PermissionCheck::Refuse);
        assert_eq!(c.server.permission_check_every, Duration::from_secs(86_400));
        for (text, want) in [
            ("warn", PermissionCheck::Warn),
            ("off", PermissionCheck::Off),
        ] {
            let c = Config::parse(
                &base(&format!(
                    "permission_check = \"{text}\"\n[server]\npermission_check_hours = 6"
                )),
                Path::new("/etc/keyward"),
            )
            .unwrap();
            assert_eq!(c.credentials[0].permission_check, want);
            assert_eq!(
                c.server.permission_check_every,
                Duration::from_secs(6 * 3600)
            );
        }
        let e = err(&base("permission_check = \"no\""));
        assert!(
            e.contains("credential[0].permission_check") && e.contains("\"warn\""),
            "{e}"
        );
        for hours in [0, 721] {
            let e = err(&base(&format!(
                "[server]\npermission_check_hours = {hours}"
            )));
            assert!(e.contains("server.permission_check_hours"), "{e}");
        }
    }

    #[test]
    fn an_unkeyed_audit_chain_must_be_asked_for() {
        let keyed = |lines: &str| base("").replace("unkeyed = true\n", lines);
        let e = err(&keyed(""));
        assert!(
            e.contains("--audit-key") && e.contains("unkeyed = true") && e.contains("rewrite"),
            "{e}"
        );
        let pair =
            "checkpoint_key = \"keyward-audit\"\ncheckpoint_public_key = \"audit-key.pem\"\n";
        let c = Config::parse(&keyed(pair), Path::new("/etc/keyward")).unwrap();
        let checkpoint = c.audit.checkpoint.expect("keyed");
        assert_eq!(
            checkpoint.public_key,
            PathBuf::from("/etc/keyward/audit-key.pem")
        );
        let e = err(&keyed(&format!("{pair}unkeyed = true\n")));
        assert!(e.contains("contradicts"), "{e}");
        let e = err(&keyed(
            "checkpoint_key = \"keyward-audit\"\nunkeyed = true\n",
        ));
        assert!(e.contains("contradicts"), "{e}");
        assert!(Config::parse(&base(""), Path::new("/etc/keyward"))
            .unwrap()
            .audit
            .checkpoint
            .is_none());
    }

    #[test]
    fn ship_records_is_off_by_default_and_its_socket_needs_it() {
        let audit = |lines: &str| base("").replace("[audit]\n", &format!("[audit]\n{lines}\n"));
        let parse = |text: &str| Config::parse(text, Path::new("/etc/keyward"));
        assert_eq!(parse(&base("")).unwrap().audit.ship_records, Ship::Off);
        let on = parse(&audit("ship_records = true")).unwrap();
        assert_eq!(on.audit.ship_records, Ship::Default);
        let to = parse(&audit(
            "ship_records = true\nship_records_socket = \"run/log\"",
        ))
        .unwrap();
        assert_eq!(
            to.audit.ship_records,
            Ship::Socket(PathBuf::from("/etc/keyward/run/log"))
        );
        let e = err(&audit("ship_records_socket = \"/dev/log\""));
        assert!(
            e.contains("audit.ship_records_socket") && e.contains("ship_records = true"),
            "{e}"
        );
        let e = err(&audit("ship_records = true\nship_records_socket = \"\""));
        assert!(e.contains("audit.ship_records_socket: empty"), "{e}");
    }

    #[test]
    fn a_credential_picks_its_rate_tier_or_turns_the_budgets_off() {
        let budgets = |exchange: &str, extra: &str| {
            Config::parse(&with_credential("c", exchange, extra), Path::new("/"))
                .unwrap()
                .credentials[0]
                .budgets
        };
        assert_eq!(budgets("kraken", ""), ExchangeBudgets::Counted { tier: 0 });
        assert_eq!(
            budgets("kraken", "rate_tier = \"pro\""),
            ExchangeBudgets::Counted { tier: 2 }
        );
        assert_eq!(
            budgets("kucoin", "rate_tier = \"vip5\""),
            ExchangeBudgets::Counted { tier: 5 }
        );
        assert_eq!(
            budgets("alpaca", "rate_tier = \"algo_trader_plus\""),
            ExchangeBudgets::Counted { tier: 1 }
        );
        assert_eq!(
            budgets("bybit", "exchange_budgets = \"off\""),
            ExchangeBudgets::Off
        );
        for (exchange, extra, says) in [
            ("kraken", "rate_tier = \"gold\"", "credential[0].rate_tier: \"gold\" is not one of kraken's tiers: starter, intermediate, pro (the first is the default)"),
            ("bybit", "rate_tier = \"vip1\"", "credential[0].rate_tier: bybit has no rate tiers keyward knows"),
            ("kraken", "rate_tier = \"pro\"\nexchange_budgets = \"off\"", "rate_tier: has no effect with exchange_budgets = \"off\""),
            ("kraken", "exchange_budgets = \"no\"", "credential[0].exchange_budgets: \"no\" must be \"count\""),
        ] {
            let e = err(&with_credential("c", exchange, extra));
            assert!(e.contains(says), "{extra}: {e}");
        }
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
            (client(r#"[{ method = "POST", path = "/fapi/v1/leverage", max_leverage = 5.5 }]"#), "allow[0] (grid-bot).max_leverage: write the leverage limit as an integer or a quoted decimal"),
            (client(r#"[{ method = "POST", path = "/api/v3/order", max_leverage = 5 }]"#), "max_leverage: POST /api/v3/order sets no leverage"),
            (client(r#"[{ method = "POST", path = "/api/v3/order", bogus = 1 }]"#), "bogus"),
            (base("[server]\nlisten = \"0.0.0.0:8787\""), "tls"),
            (base("recv_window_ms = 0"), "recv_window_ms"),
            (base("rotate_after_days = 0"), "credential[0].rotate_after_days: must be between 1 and 3650"),
            (base("rotate_after_days = 3651"), "rotate_after_days"),
            (base("warn_days = 4000"), "credential[0].warn_days"),
            (base("warn_days = -1"), "warn_days"),
            (base("").replace(&format!("vault_sha256 = \"{}\"\n", "0".repeat(64)), ""), "vault_sha256: missing for credential \"binance-main\""),
            (base("").replace(&"0".repeat(64), "abc"), "vault_sha256: \"abc\" is not 64 hex digits"),
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
        let rotation = |extra: &str| {
            Config::parse(&base(extra), Path::new("/"))
                .unwrap()
                .credentials[0]
                .rotation
        };
        assert_eq!(rotation(""), crate::rotation::RotationPolicy::default());
        assert_eq!(
            rotation("rotate_after_days = 30\nwarn_days = 0"),
            crate::rotation::RotationPolicy {
                rotate_after_days: 30,
                warn_days: 0
            }
        );
        let plain = base("[server]\nlisten = \"0.0.0.0:8787\"\nallow_plaintext_remote = true");
        assert!(Config::parse(&plain, Path::new("/")).is_ok());
    }

    /// keygen and import read only [token]: a credential whose vault does not exist yet, or an
    /// unfinished client, does not stop them; a bad [token] still does.
    #[test]
    fn the_token_section_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyward.toml");
        let token = "[token]\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\nuri = \"pkcs11:token=keyward;object=keyward-seal\"\npin = { file = \"pin.txt\" }\n";
        std::fs::write(
            &path,
            format!("{token}[[credential]]\nname = \"half written\"\n[[client]]\n"),
        )
        .unwrap();
        assert!(Config::load(&path).is_err());
        let config = Config::load_token(&path).unwrap();
        assert_eq!(
            config.pin,
            Some(PinSource::File(dir.path().join("pin.txt")))
        );
        for (text, want) in [
            (
                "[server]\nlisten = \"x\"\n".to_string(),
                "no [token] section",
            ),
            (
                token.replace("pin = { file = \"pin.txt\" }", "pin = {}"),
                "token.pin",
            ),
            (format!("{token}colour = 1\n"), "unknown field `colour`"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Config::load_token(&path).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert!(e.contains("keyward.toml"), "{e}");
        }
    }

    /// Every example in hsm-config/tokens/ is a valid [token] section.
    #[test]
    fn the_token_examples_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("hsm-config/tokens");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load_token(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 5, "{seen} examples");
    }

    #[test]
    fn patch_rules_only_where_the_exchange_uses_patch() {
        let text = |exchange: &str, path: &str| {
            let client = format!(
                r#"[[client]]
name = "bot"
token_sha256 = "{HASH}"
credential = "main"
allow = ["{exchange}:trade", {{ method = "PATCH", path = "{path}" }}]
"#
            );
            with_credential("main", exchange, &client)
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
        // Its commented anomaly triggers, uncommented, are valid and set what they say.
        let triggers = ["# on_hard_deny", "# on_new_source", "# deny_burst"]
            .iter()
            .fold(text.to_owned(), |t, k| t.replace(k, &k[2..]));
        let c = Config::parse(&triggers, Path::new("/etc/keyward")).unwrap();
        assert_eq!(
            c.clients[0].triggers,
            crate::anomaly::Triggers {
                deny_burst: Some(crate::anomaly::DenyBurst {
                    count: 20,
                    window: Duration::from_secs(60),
                    reaction: crate::anomaly::Reaction::Disable,
                }),
                ..Default::default()
            }
        );
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
                .replace(
                    "vault_sha256 = \"...\"",
                    &format!("vault_sha256 = \"{}\"", "2".repeat(64)),
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
