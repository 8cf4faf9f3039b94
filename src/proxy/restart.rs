//! The settings of a config that only a restart changes (a reload refuses a file that changes one).

use crate::config::Config;

/// The settings a reload cannot change, as comparable text (their `Debug` forms, which hold
/// paths and numbers but never a secret: the PIN is named by its source, not held).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct RestartOnly(Vec<(&'static str, String)>);

impl RestartOnly {
    pub(super) fn of(config: &Config) -> RestartOnly {
        let s = &config.server;
        RestartOnly(vec![
            ("server.listen", format!("{:?}", s.listen)),
            ("server.tls", format!("{:?}", s.tls)),
            (
                "server.connect_timeout_ms",
                format!("{:?}", s.connect_timeout),
            ),
            (
                "server.upstream_timeout_ms",
                format!("{:?}", s.upstream_timeout),
            ),
            (
                "server.max_answer_bytes",
                format!("{:?}", s.max_answer_bytes),
            ),
            (
                "server.upstream_retry_get",
                format!("{:?}", s.upstream_retry_get),
            ),
            (
                "server.ws_sockets_per_client",
                format!("{:?}", s.ws_sockets_per_client),
            ),
            ("server.ws_frame_rate", format!("{:?}", s.ws_frame_rate)),
            // Kept by the resources across reloads (see `Resources`).
            (
                "server.max_connections",
                format!("{:?}", s.limits.max_connections),
            ),
            (
                "server.max_in_flight",
                format!("{:?}", s.limits.max_in_flight),
            ),
            (
                "server.auth_failure_rate",
                format!("{:?}", s.limits.auth_failure_rate),
            ),
            ("token", format!("{:?}", config.token)),
            ("audit", format!("{:?}", config.audit)),
            // The set of credentials, their exchanges and upstreams (the resources hold one
            // upstream client per credential); vaults, pins and the other settings reload.
            (
                "credential (a credential added, removed or renamed, or its exchange, environment, listen, host_name or upstream)",
                config
                    .credentials
                    .iter()
                    .map(|c| {
                        let (name, exchange) = (&c.name, c.exchange.id());
                        format!(
                            "{name} {exchange} {:?} {:?} {:?} {:?};",
                            c.environment, c.listen, c.host_name, c.upstream
                        )
                    })
                    .collect(),
            ),
            ("admin", format!("{:?}", config.admin)),
        ])
    }

    /// The keys whose values differ.
    pub(super) fn changed(&self, next: &RestartOnly) -> Vec<&'static str> {
        self.0
            .iter()
            .zip(&next.0)
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect()
    }
}
