//! Live or demo: which of an exchange's environments a credential's key belongs to, where a
//! demo credential's requests go, and the demo markers bots send.
//!
//! A bot left on its SDK's default demo setting (python-okx defaults to demo trading and marks
//! each request `x-simulated-trading: 1`) must never have that request signed with a live key:
//! keyward reads the exchange's marker header, and refuses a request whose marker disagrees
//! with the credential's `environment`. A demo credential's requests go to the exchange's demo
//! hosts (or carry its demo header) whatever the bot sent: its key is a demo key.
//!
//! What each exchange's demo is, is data (`[demo]` in its `profile.toml`): host rules (a live
//! host, optionally a path prefix, and the demo host it maps to), the header keyward adds, and
//! the marker it reads. A host (or WebSocket path) no rule maps has no demo equivalent keyward
//! knows, and a demo credential's request for it is refused: never sent to the live host.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::{Access, Outbound};
use crate::order::table::{leak, leak_str};
use crate::request::{Refusal, RefusalKind};

/// The environment a credential's key belongs to (`[[credential]] environment`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The exchange's real markets (the default).
    #[default]
    Live,
    /// The exchange's demo, paper or testnet environment.
    Demo,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Demo => "demo",
        }
    }
}

/// An exchange's demo environment, as its profile describes it.
#[derive(Debug)]
pub struct Demo {
    /// Where each live host's requests go for a demo credential, first match wins.
    pub hosts: &'static [HostRule],
    /// A header keyward adds to a demo credential's requests (OKX `x-simulated-trading: 1`).
    pub header: Option<DemoHeader>,
    /// The header in which bots mark a request as demo or live.
    pub marker: Option<Marker>,
    /// What the README and errors call the demo environment ("demo trading", "paper trading").
    pub name: &'static str,
}

/// A live host (REST host, or WebSocket `host:port`), optionally only under a path prefix, and
/// the demo host it maps to.
#[derive(Debug)]
pub struct HostRule {
    pub from: &'static str,
    pub path_prefix: Option<&'static str>,
    pub to: &'static str,
}

/// A header keyward sends with a demo credential's requests.
#[derive(Debug)]
pub struct DemoHeader {
    pub name: &'static str,
    pub value: &'static str,
    /// Only on signed (and key-only) requests: Bitget refuses it on public market data.
    pub signed_only: bool,
}

/// The header a bot's SDK marks demo requests with, and its two values.
#[derive(Debug)]
pub struct Marker {
    pub header: &'static str,
    pub demo: &'static str,
    pub live: &'static str,
}

impl Demo {
    /// The demo host for `host` at `path`, if a rule maps it.
    pub fn host(&self, host: &str, path: &str) -> Option<&'static str> {
        self.hosts
            .iter()
            .find(|r| r.from == host && r.path_prefix.is_none_or(|p| path.starts_with(p)))
            .map(|r| r.to)
    }
}

/// Refuses a request whose demo marker disagrees with the credential's environment (403
/// `environment_mismatch`), or whose marker is not one of the exchange's two values (400
/// `bad_environment_marker`). No marker, or an exchange without one, passes.
pub fn check_marker(
    exchange: &str,
    demo: Option<&Demo>,
    credential: &str,
    environment: Environment,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let Some(marker) = demo.and_then(|d| d.marker.as_ref()) else {
        return Ok(());
    };
    let mut values = headers.get_all(marker.header).iter();
    let Some(value) = values.next() else {
        return Ok(());
    };
    let bad = || {
        Refusal::new(
            RefusalKind::BadRequest,
            "bad_environment_marker",
            format!(
                "the {} header must be sent once, as {:?} (demo) or {:?} (live): keyward cannot \
                 tell which environment this request is meant for",
                marker.header, marker.demo, marker.live
            ),
        )
    };
    if values.next().is_some() {
        return Err(bad());
    }
    let marked = match value.as_bytes().trim_ascii() {
        v if v == marker.demo.as_bytes() => Environment::Demo,
        v if v == marker.live.as_bytes() => Environment::Live,
        _ => return Err(bad()),
    };
    if marked == environment {
        return Ok(());
    }
    let value = if marked == Environment::Demo {
        marker.demo
    } else {
        marker.live
    };
    Err(Refusal::new(
        RefusalKind::Forbidden,
        "environment_mismatch",
        format!(
            "this request is marked {} ({}: {value}), but credential {credential:?} is a {} {exchange} \
             key (environment = \"{}\"): keyward never signs a {} request with a {} key. Point \
             the bot at a credential whose environment is \"{}\", or change the bot's {exchange} \
             setting so that it does not mark the request",
            marked.as_str(),
            marker.header,
            environment.as_str(),
            environment.as_str(),
            marked.as_str(),
            environment.as_str(),
            marked.as_str(),
        ),
    ))
}

/// Sends a demo credential's request to the exchange's demo: its host mapped (by the path the
/// exchange sees) and its demo header added. A live credential's request is left as it is.
/// No exchange with a `[demo]` signs the host, so mapping it after signing changes nothing
/// signed (Coinbase's JWT names the host; it has no `[demo]`).
pub fn apply(
    exchange: &str,
    demo: Option<&Demo>,
    environment: Environment,
    access: Access,
    out: &mut Outbound,
) -> Result<(), Refusal> {
    if environment == Environment::Live {
        return Ok(());
    }
    let demo = demo.ok_or_else(|| no_demo(exchange))?;
    let path = out.path_and_query.split('?').next().unwrap_or("");
    out.host = demo
        .host(out.host, path)
        .ok_or_else(|| unmapped(exchange, demo, out.host, path))?;
    if let Some(h) = &demo.header {
        if !(h.signed_only && access == Access::Public) {
            out.headers.push((
                HeaderName::from_static(h.name),
                HeaderValue::from_static(h.value),
            ));
        }
    }
    Ok(())
}

/// The WebSocket `host:port` a demo credential's socket at `path` opens instead of `authority`.
pub fn ws_authority(
    exchange: &str,
    demo: Option<&Demo>,
    environment: Environment,
    authority: &'static str,
    path: &str,
) -> Result<&'static str, Refusal> {
    if environment == Environment::Live {
        return Ok(authority);
    }
    let demo = demo.ok_or_else(|| no_demo(exchange))?;
    demo.host(authority, path)
        .ok_or_else(|| unmapped(exchange, demo, authority, path))
}

fn no_demo(exchange: &str) -> Refusal {
    // Configuration validation refuses `environment = "demo"` for such an exchange; this is
    // the fail-closed answer should one get here anyway.
    Refusal::new(
        RefusalKind::Forbidden,
        "no_demo_environment",
        format!("keyward knows no demo environment for {exchange}"),
    )
}

fn unmapped(exchange: &str, demo: &Demo, host: &str, path: &str) -> Refusal {
    Refusal::new(
        RefusalKind::Forbidden,
        "not_in_demo",
        format!(
            "{exchange} {} has no equivalent of {host}{path} that keyward knows, and a demo \
             credential's request is never sent to the live exchange",
            demo.name
        ),
    )
}

/// `[demo]` of a profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoDef {
    name: String,
    #[serde(default)]
    host: Vec<HostRuleDef>,
    header: Option<DemoHeaderDef>,
    marker: Option<MarkerDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostRuleDef {
    from: String,
    path_prefix: Option<String>,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoHeaderDef {
    name: String,
    value: String,
    #[serde(default)]
    signed_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerDef {
    header: String,
    demo: String,
    live: String,
}

impl DemoDef {
    pub(super) fn load(self) -> Result<&'static Demo, String> {
        if self.host.is_empty() {
            return Err("demo: give at least one [[demo.host]] rule".into());
        }
        let header = match self.header {
            None => None,
            Some(h) => {
                let name = h.name.to_ascii_lowercase();
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("demo.header.name: {:?} is not a header name", h.name))?;
                HeaderValue::from_str(&h.value).map_err(|_| {
                    format!("demo.header.value: {:?} is not a header value", h.value)
                })?;
                Some(DemoHeader {
                    name: leak_str(name),
                    value: leak_str(h.value),
                    signed_only: h.signed_only,
                })
            }
        };
        let marker = match self.marker {
            None => None,
            Some(m) if m.demo == m.live => {
                return Err("demo.marker: demo and live must differ".into())
            }
            Some(m) => {
                let header = m.header.to_ascii_lowercase();
                HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    format!("demo.marker.header: {:?} is not a header name", m.header)
                })?;
                Some(Marker {
                    header: leak_str(header),
                    demo: leak_str(m.demo),
                    live: leak_str(m.live),
                })
            }
        };
        let hosts = self
            .host
            .into_iter()
            .map(|r| HostRule {
                from: leak_str(r.from),
                path_prefix: r.path_prefix.map(leak_str),
                to: leak_str(r.to),
            })
            .collect();
        Ok(Box::leak(Box::new(Demo {
            hosts: leak(hosts),
            header,
            marker,
            name: leak_str(self.name),
        })))
    }
}

#[cfg(test)]
mod tests;
