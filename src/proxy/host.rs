//! The `Host` names a listener answers to: its listen address, the `localhost` forms on
//! loopback, and the configured host names (with or without the port). A foreign `Host` is
//! refused, which also defeats DNS rebinding from a browser.

use std::net::{IpAddr, SocketAddr};

/// How a `Host` header may name the listening socket itself: fixed for the listener's life.
pub struct ListenName {
    /// The listen address as a host name (`[…]` for IPv6).
    ip: String,
    loopback: bool,
    /// `:<port>`.
    port: String,
    /// Whether the port is the scheme's default, so that a name without a port matches too.
    default_port: bool,
    tls: bool,
    /// The one credential a `[[credential]] listen` listener serves: its paths are the
    /// exchange's own, with no `/<credential>` prefix.
    credential: Option<String>,
}

impl ListenName {
    pub fn new(addr: SocketAddr, tls: bool) -> ListenName {
        ListenName {
            credential: None,
            ip: match addr.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            },
            loopback: addr.ip().is_loopback(),
            port: format!(":{}", addr.port()),
            default_port: addr.port() == if tls { 443 } else { 80 },
            tls,
        }
    }

    /// This listener serves only `credential`, at the exchange's own paths.
    pub fn bound_to(mut self, credential: Option<String>) -> Self {
        self.credential = credential;
        self
    }

    /// The WebSocket scheme a bot reaches this listener with.
    pub fn ws_scheme(&self) -> &'static str {
        if self.tls {
            "wss"
        } else {
            "ws"
        }
    }

    /// Whether `host` is `base` with this listener's port, or without it on a default port.
    fn names(&self, base: &str, host: &str) -> bool {
        host.strip_prefix(base)
            .is_some_and(|port| port == self.port || (self.default_port && port.is_empty()))
    }
}

/// The `Host` values a bot may send: the listen address, the `localhost` forms when listening on
/// loopback, and the configured host names (those without a port take the listener's).
pub struct AllowedHosts<'a> {
    listen: Option<&'a ListenName>,
    configured: &'a [String],
}

impl<'a> AllowedHosts<'a> {
    pub fn new(listen: Option<&'a ListenName>, configured: &'a [String]) -> Self {
        AllowedHosts { listen, configured }
    }

    /// The WebSocket scheme of this listener (`ws` when it has no address, which no Host names).
    pub fn ws_scheme(&self) -> &'static str {
        self.listen.map_or("ws", ListenName::ws_scheme)
    }

    /// The credential this listener is dedicated to (`[[credential]] listen`), if it is.
    pub fn bound(&self) -> Option<&'a str> {
        self.listen.and_then(|l| l.credential.as_deref())
    }

    /// Whether `host` (lowercased by the caller) names this keyward.
    pub fn allows(&self, host: &str) -> bool {
        let Some(listen) = self.listen else {
            return false;
        };
        let loopback: &[&str] = if listen.loopback {
            &["localhost", "127.0.0.1", "[::1]"]
        } else {
            &[]
        };
        std::iter::once(listen.ip.as_str())
            .chain(loopback.iter().copied())
            .any(|base| listen.names(base, host))
            || self.configured.iter().any(|name| {
                if name.contains(':') {
                    name == host
                } else {
                    listen.names(name, host)
                }
            })
    }

    /// The name to tell a bot whose `Host` was refused.
    pub fn suggestion(&self) -> Option<String> {
        self.listen.map(|l| format!("{}{}", l.ip, l.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list of names the listener answered to before `AllowedHosts` matched without
    /// building it: `allows` must accept exactly these.
    fn listed(addr: SocketAddr, extra: &[String], tls: bool) -> Vec<String> {
        let port = addr.port();
        let default_port = if tls { 443 } else { 80 };
        let mut hosts = vec![match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        }];
        if addr.ip().is_loopback() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(str::to_owned));
        }
        hosts.extend(extra.iter().filter(|h| !h.contains(':')).cloned());
        let mut names = Vec::new();
        for h in hosts {
            names.push(format!("{h}:{port}"));
            if port == default_port {
                names.push(h);
            }
        }
        names.extend(extra.iter().filter(|h| h.contains(':')).cloned());
        names
    }

    #[test]
    fn allowed_hosts_are_the_listen_address_loopback_names_and_configured_names() {
        let extra: Vec<String> = ["keyward.test", "proxy.test:9000"]
            .map(str::to_owned)
            .into();
        let candidates = [
            "127.0.0.1",
            "127.0.0.1:80",
            "127.0.0.1:443",
            "127.0.0.1:8080",
            "localhost",
            "localhost:80",
            "localhost:8080",
            "localhost:443",
            "[::1]",
            "[::1]:8080",
            "[::1]:80",
            "10.0.0.5",
            "10.0.0.5:80",
            "10.0.0.5:8080",
            "keyward.test",
            "keyward.test:80",
            "keyward.test:443",
            "keyward.test:8080",
            "keyward.test:9000",
            "proxy.test",
            "proxy.test:9000",
            "proxy.test:80",
            "0.0.0.0:8080",
            "evil.test",
            "",
            ":8080",
            "127.0.0.1:",
            "127.0.0.1:080",
            "localhost.evil.test:8080",
            "keyward.test:8080:8080",
        ];
        for addr in [
            "127.0.0.1:80",
            "127.0.0.1:443",
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.0.0.5:80",
            "0.0.0.0:8080",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            for tls in [false, true] {
                for configured in [&extra[..], &[]] {
                    let listen = ListenName::new(addr, tls);
                    let hosts = AllowedHosts::new(Some(&listen), configured);
                    let names = listed(addr, configured, tls);
                    for host in candidates {
                        assert_eq!(
                            hosts.allows(host),
                            names.iter().any(|n| n == host),
                            "{host} on {addr} (tls {tls}, configured {configured:?})"
                        );
                    }
                    assert_eq!(hosts.suggestion().as_ref(), names.first());
                }
            }
        }
    }

    #[test]
    fn without_its_address_the_listener_answers_to_no_host() {
        let configured = ["keyward.test".to_owned(), "proxy.test:9000".to_owned()];
        let hosts = AllowedHosts::new(None, &configured);
        assert!(!hosts.allows("keyward.test"));
        assert!(!hosts.allows("proxy.test:9000"));
        assert_eq!(hosts.suggestion(), None);
    }
}
