//! `[admin]`: the operator's listener, loopback unless `[server] trusted_proxies` is set.

use std::net::SocketAddr;

use ipnet::IpNet;
use serde::Deserialize;

use super::parse_token_hash;
use crate::config::{AdminConfig, DEFAULT_ADMIN_LISTEN};
use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    listen: Option<String>,
    token_sha256: Option<String>,
    open_probes: Option<bool>,
}

impl RawAdmin {
    pub(super) fn validate(self, trusted_proxies: &[IpNet]) -> Result<AdminConfig> {
        let text = self.listen.as_deref().unwrap_or(DEFAULT_ADMIN_LISTEN);
        let listen: SocketAddr = text.parse().map_err(|_| {
            Error::config(format!(
                "admin.listen: {text:?} is not an address:port (e.g. \"{DEFAULT_ADMIN_LISTEN}\")"
            ))
        })?;
        if !listen.ip().is_loopback() && trusted_proxies.is_empty() {
            return Err(Error::config(format!(
                "admin.listen: {listen} is not a loopback address; the admin API listens on \
                 loopback (e.g. \"{DEFAULT_ADMIN_LISTEN}\") unless [server] trusted_proxies names \
                 the proxies allowed to reach it"
            )));
        }
        let hash = self.token_sha256.ok_or_else(|| {
            Error::config(
                "admin.token_sha256 is missing: make an admin token with `keyward client-token` \
                 and put the sha256 it prints here",
            )
        })?;
        let token_sha256 = parse_token_hash(&hash).ok_or_else(|| {
            Error::config(
                "admin.token_sha256 must be 64 lowercase hex digits (the sha256 printed by \
                 `keyward client-token`)",
            )
        })?;
        Ok(AdminConfig {
            listen,
            token_sha256,
            open_probes: self.open_probes.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(listen: Option<&str>, hash: Option<&str>) -> RawAdmin {
        RawAdmin {
            listen: listen.map(str::to_owned),
            token_sha256: hash.map(str::to_owned),
            open_probes: None,
        }
    }

    #[test]
    fn admin_listens_on_loopback_unless_trusted_proxies_are_set() {
        let hash = "ab".repeat(32);
        let a = raw(None, Some(&hash)).validate(&[]).unwrap();
        assert_eq!(a.listen.to_string(), DEFAULT_ADMIN_LISTEN);
        assert!(!a.open_probes, "probes need the admin token unless opened");
        let e = raw(Some("0.0.0.0:9901"), Some(&hash))
            .validate(&[])
            .unwrap_err();
        assert!(e.to_string().contains("admin.listen"), "{e}");
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert!(raw(Some("10.1.2.3:9901"), Some(&hash))
            .validate(&proxies)
            .is_ok());
        let e = raw(None, None).validate(&[]).unwrap_err();
        assert!(e.to_string().contains("admin.token_sha256"), "{e}");
        let e = raw(None, Some("AB")).validate(&[]).unwrap_err();
        assert!(e.to_string().contains("64 lowercase hex"), "{e}");
    }
}
