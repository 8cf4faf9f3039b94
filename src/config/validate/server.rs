//! `[server]` as written and its validation into [`ServerConfig`]: the listener, the transport
//! bounds and timeouts, the caps and the upstream client settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{parse_net, parse_or};
use crate::config::{
    resolve, Limits, ServerConfig, TlsConfig, DEFAULT_LISTEN, DEFAULT_PERMISSION_CHECK_HOURS,
};
use crate::error::{Error, Result};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<String>,
    tls: Option<RawTls>,
    #[serde(default)]
    pub(super) allow_plaintext_remote: bool,
    anonymous_market_data: Option<bool>,
    anonymous_rate: Option<String>,
    #[serde(default)]
    host_names: Vec<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    max_body_bytes: Option<usize>,
    max_header_bytes: Option<usize>,
    max_header_total_bytes: Option<usize>,
    connect_timeout_ms: Option<u64>,
    upstream_timeout_ms: Option<u64>,
    max_answer_bytes: Option<usize>,
    upstream_retry_get: Option<bool>,
    header_read_timeout_ms: Option<u64>,
    max_headers: Option<usize>,
    max_params: Option<usize>,
    idle_timeout_ms: Option<u64>,
    write_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    max_in_flight: Option<usize>,
    auth_failure_rate: Option<String>,
    ws_sockets_per_client: Option<usize>,
    ws_frame_rate: Option<String>,
    #[serde(default)]
    require_locked_memory: bool,
    permission_check_hours: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

/// A bots' listen address (`[server] listen`, `[[credential]] listen`): `IP:PORT`, and not
/// reachable from other machines in clear unless `allow_plaintext_remote` says so.
pub(super) fn bot_listen(
    key: &str,
    text: &str,
    tls: bool,
    allow_plaintext_remote: bool,
) -> Result<SocketAddr> {
    let listen: SocketAddr = text.parse().map_err(|_| {
        Error::config(format!(
            "{key}: {text:?} is not an IP:PORT address such as \"127.0.0.1:8787\""
        ))
    })?;
    if !listen.ip().is_loopback() && !tls && !allow_plaintext_remote {
        return Err(Error::config(format!(
            "{key}: {listen} is reachable from other machines but no [server] tls is set; client tokens would cross the network in clear. Add tls = {{ cert = ..., key = ... }} or, on a trusted network, allow_plaintext_remote = true"
        )));
    }
    Ok(listen)
}

impl RawServer {
    pub(super) fn validate(self, base: &Path) -> Result<ServerConfig> {
        let tls = self.tls.map(|t| TlsConfig {
            cert: resolve(base, &t.cert),
            key: resolve(base, &t.key),
        });
        let listen = bot_listen(
            "server.listen",
            self.listen.as_deref().unwrap_or(DEFAULT_LISTEN),
            tls.is_some(),
            self.allow_plaintext_remote,
        )?;
        let anonymous_rate = parse_or(self.anonymous_rate, "20/s", "server.anonymous_rate")?;
        let ws_frame_rate = parse_or(self.ws_frame_rate, "50/s", "server.ws_frame_rate")?;
        let d = Limits::default();
        let auth_failure_rate = match self.auth_failure_rate {
            None => d.auth_failure_rate,
            text => parse_or(text, "", "server.auth_failure_rate")?,
        };
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
        let max_header_bytes = self.max_header_bytes.unwrap_or(8 * 1024);
        let max_header_total_bytes = self.max_header_total_bytes.unwrap_or(32 * 1024);
        if max_header_bytes < 1024 {
            return Err(Error::config(
                "server.max_header_bytes: must be at least 1024 (bots' own headers need room)",
            ));
        }
        if max_header_total_bytes < max_header_bytes {
            return Err(Error::config(
                "server.max_header_total_bytes: must be at least server.max_header_bytes",
            ));
        }
        let at_least =
            |v: Option<usize>, default: usize, min: usize, key: &str| match v.unwrap_or(default) {
                n if n < min => Err(Error::config(format!(
                    "server.{key}: must be at least {min}"
                ))),
                n => Ok(n),
            };
        let millis = |d: Duration| d.as_millis() as u64;
        let limits = Limits {
            max_headers: at_least(self.max_headers, d.max_headers, 16, "max_headers")?,
            max_params: match at_least(self.max_params, d.max_params, 1, "max_params")? {
                n if n > crate::request::MAX_PARAMS => {
                    return Err(Error::config(format!(
                        "server.max_params: at most {} (the canonicaliser's own bound); lower it",
                        crate::request::MAX_PARAMS
                    )))
                }
                n => n,
            },
            idle_timeout: ms(
                self.idle_timeout_ms,
                millis(d.idle_timeout),
                "idle_timeout_ms",
            )?,
            write_timeout: ms(
                self.write_timeout_ms,
                millis(d.write_timeout),
                "write_timeout_ms",
            )?,
            body_read_timeout: ms(
                self.body_read_timeout_ms,
                millis(d.body_read_timeout),
                "body_read_timeout_ms",
            )?,
            max_connections: at_least(
                self.max_connections,
                d.max_connections,
                1,
                "max_connections",
            )?,
            max_in_flight: at_least(self.max_in_flight, d.max_in_flight, 1, "max_in_flight")?,
            auth_failure_rate,
        };
        Ok(ServerConfig {
            limits,
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
            max_header_bytes,
            max_header_total_bytes,
            connect_timeout: ms(self.connect_timeout_ms, 5_000, "connect_timeout_ms")?,
            upstream_timeout: ms(self.upstream_timeout_ms, 15_000, "upstream_timeout_ms")?,
            max_answer_bytes: match self.max_answer_bytes.unwrap_or(16 << 20) {
                n if n < 64 * 1024 => {
                    return Err(Error::config(
                        "server.max_answer_bytes: must be at least 65536 (an exchange's answers need room)",
                    ))
                }
                n => n,
            },
            upstream_retry_get: self.upstream_retry_get.unwrap_or(true),
            header_read_timeout: ms(
                self.header_read_timeout_ms,
                10_000,
                "header_read_timeout_ms",
            )?,
            ws_sockets_per_client: match self.ws_sockets_per_client.unwrap_or(4) {
                0 => {
                    return Err(Error::config(
                        "server.ws_sockets_per_client: must be at least 1",
                    ))
                }
                n => n,
            },
            ws_frame_rate,
            require_locked_memory: self.require_locked_memory,
            permission_check_every: match self
                .permission_check_hours
                .unwrap_or(DEFAULT_PERMISSION_CHECK_HOURS)
            {
                h @ 1..=720 => Duration::from_secs(h * 3600),
                h => {
                    return Err(Error::config(format!(
                        "server.permission_check_hours: {h} must be 1..720 (hours between key-permission checks)"
                    )))
                }
            },
        })
    }
}
