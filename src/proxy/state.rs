//! What the pipeline reads, in two parts with different lives:
//!
//! * [`Resources`] live as long as the process: the audit log, the upstream HTTP clients (with
//!   their connection pools), the request counter and the token session. A config reload keeps
//!   them.
//! * A [`Snapshot`] is what the config compiles to: the credential table, the clients with
//!   their allowlists and rate limiters, and the server's knobs. [`State::replace`] puts a new
//!   one in force at once; each request takes the snapshot in force when it starts
//!   ([`State::snapshot`]) and keeps it to its end, so no request sees half of each.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ipnet::IpNet;

use super::auth::{Clients, TokenGuesses};
use super::backoff::Backoffs;
use super::forward::Upstream;
use super::in_flight::{Forwarding, InFlight};
use super::keycheck::KeyChecks;
use super::kill::KillSwitch;
use super::known;
use super::limits::{Caps, ConnectionBounds};
use super::restart::RestartOnly;
use super::started::Started;
use super::transport::HeaderLimits;
use super::weights::Budgets;
use super::ws_upstream::{self, Quotas, WsUpstream};
use crate::anomaly::kept;
use crate::audit::AuditLog;
use crate::config::{self, Config, ExchangeBudgets, PermissionCheck};
use crate::error::{Error, Result};
use crate::exchange::environment::Environment;
use crate::exchange::{Credential, Exchange};
use crate::metrics::Metrics;
use crate::policy::rate::Limiter;
use crate::rotation::KeyVersion;
use crate::session::Bearers;
use crate::startup::Unsealed;
use crate::token::Token;
use crate::vault::VaultDigest;

mod audit;

/// Everything the listener and the pipeline share: the resources and the snapshot in force.
pub struct State {
    resources: Resources,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The settings of the config started with that only a restart changes.
    restart_only: RestartOnly,
}

impl State {
    /// Builds the state from a validated config and the credentials unsealed with `token`,
    /// which stays logged in so that a reload can open the vaults that changed.
    pub fn new(
        config: &Config,
        unsealed: HashMap<String, Unsealed>,
        token: Arc<dyn Token>,
        audit: AuditLog,
        metrics: Arc<Metrics>,
    ) -> Result<State> {
        let mut resources = Resources::new(config, audit)?;
        resources.token = Some(token);
        resources.metrics = metrics;
        let snapshot = Snapshot::compile(config, unsealed, &resources)?;
        Ok(State::from_parts(
            resources,
            snapshot,
            RestartOnly::of(config),
        ))
    }

    fn from_parts(resources: Resources, snapshot: Snapshot, restart_only: RestartOnly) -> State {
        State {
            resources,
            snapshot: RwLock::new(Arc::new(snapshot)),
            restart_only,
        }
    }

    pub(super) fn restart_only(&self) -> &RestartOnly {
        &self.restart_only
    }

    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// The snapshot in force. A request calls this once, when it starts.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // The lock guards a single pointer store, which cannot leave it half-written.
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `next` in force for every request that starts from now on; requests in flight
    /// finish with the snapshot they took. Returns the one replaced.
    pub fn replace(&self, next: Snapshot) -> Arc<Snapshot> {
        let mut current = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, Arc::new(next))
    }
}

/// What lives as long as the process, across config reloads.
pub struct Resources {
    /// Shared with the kill switch, which records fired anomaly triggers in it.
    audit: Arc<AuditLog>,
    audit_sync: bool,
    /// One pooled client per credential, by credential name.
    upstreams: HashMap<String, Arc<Upstream>>,
    next_request: AtomicU64,
    /// One WebSocket upstream per credential, and the per-client socket and frame caps.
    ws_upstreams: HashMap<String, Arc<WsUpstream>>,
    ws_quotas: Quotas,
    /// Bearer placeholders issued to bots (Kraken's WebSocket tokens).
    bearers: Bearers,
    /// Forwarding tasks still running; shutdown waits for them, so that a request the exchange
    /// may be executing always gets its outcome record, also when its bot has hung up.
    forwarding: Arc<InFlight>,
    /// `[server] max_connections` and `max_in_flight` (a reload keeps them).
    caps: Caps,
    /// `[server] auth_failure_rate`, per source address (a reload keeps it).
    token_guesses: TokenGuesses,
    /// Clients held after the exchange answered 429/418 (a reload keeps them).
    backoffs: Backoffs,
    /// The exchanges' request-weight budgets (a reload keeps them).
    budgets: Budgets,
    /// Disabled clients and credentials (a reload keeps them).
    kill: Arc<KillSwitch>,
    /// The token, logged in: a reload opens the vaults whose file or pin changed with it.
    token: Option<Arc<dyn Token>>,
    /// The key-permission self-check's findings, per credential and key (a reload keeps them).
    key_checks: KeyChecks,
    /// What `GET /metrics` exports.
    metrics: Arc<Metrics>,
    /// Start-up has finished: the bots' listeners are bound.
    started: Started,
}

impl Resources {
    /// Opens an upstream client for every credential of `config`.
    pub fn new(config: &Config, audit: AuditLog) -> Result<Resources> {
        let mut upstreams = HashMap::new();
        for c in &config.credentials {
            let upstream = Upstream::for_credential(c, &config.server)?;
            upstreams.insert(c.name.clone(), Arc::new(upstream));
        }
        let mut resources = Resources::with_upstreams(audit, upstreams);
        resources.kill = Arc::new(KillSwitch::open(
            kept::path_beside(&config.audit.path),
            resources.audit.clone(),
            resources.audit_sync,
        )?);
        resources.caps = Caps::new(&config.server.limits);
        resources.token_guesses = TokenGuesses::new(config.server.limits.auth_failure_rate);
        resources.ws_upstreams = WsUpstream::for_config(config)?;
        resources.ws_quotas = Quotas::new(&config.server);
        Ok(resources)
    }

    fn with_upstreams(audit: AuditLog, upstreams: HashMap<String, Arc<Upstream>>) -> Resources {
        Resources {
            audit_sync: audit.is_sync(),
            audit: Arc::new(audit),
            upstreams,
            next_request: AtomicU64::new(1),
            ws_upstreams: HashMap::new(),
            ws_quotas: Quotas::default(),
            bearers: Bearers::default(),
            forwarding: Arc::default(),
            caps: Caps::new(&config::Limits::default()),
            token_guesses: TokenGuesses::new(config::Limits::default().auth_failure_rate),
            backoffs: Backoffs::default(),
            budgets: Budgets::default(),
            kill: Arc::default(),
            token: None,
            key_checks: KeyChecks::default(),
            metrics: Arc::default(),
            started: Started::default(),
        }
    }

    /// Whether start-up has finished (see [`Started`]).
    pub(super) fn started(&self) -> &Started {
        &self.started
    }

    /// The key-permission self-check's findings.
    pub fn key_checks(&self) -> &KeyChecks {
        &self.key_checks
    }

    /// The token session start-up opened, if this state has one.
    pub(super) fn token(&self) -> Option<&Arc<dyn Token>> {
        self.token.as_ref()
    }

    /// The kill switch: disabled clients and credentials.
    pub fn kill_switch(&self) -> &KillSwitch {
        &self.kill
    }

    pub(super) fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    pub(super) fn backoffs(&self) -> &Backoffs {
        &self.backoffs
    }

    pub(super) fn token_guesses(&self) -> &TokenGuesses {
        &self.token_guesses
    }

    pub(super) fn caps(&self) -> &Caps {
        &self.caps
    }

    /// Counts a forwarding task until the returned guard is dropped.
    pub(super) fn forwarding(&self) -> Forwarding {
        self.forwarding.enter()
    }

    /// Waits until every forwarding task has finished (and written its outcome record).
    pub(super) async fn forwards_done(&self) {
        self.forwarding.idle().await
    }

    /// The number of the next request (from 1).
    pub(super) fn next_request(&self) -> u64 {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(super) fn bearers(&self) -> &Bearers {
        &self.bearers
    }

    pub(super) fn ws_quotas(&self) -> &Quotas {
        &self.ws_quotas
    }

    pub(super) fn ws_upstream(&self, credential: &str) -> Result<Arc<WsUpstream>> {
        self.ws_upstreams
            .get(credential)
            .cloned()
            .ok_or_else(|| ws_upstream::missing(credential))
    }

    pub(super) fn upstream(&self, credential: &str) -> Result<Arc<Upstream>> {
        self.upstreams.get(credential).cloned().ok_or_else(|| {
            Error::config(format!(
                "credential {credential:?} has no upstream client; restart keyward to add a credential"
            ))
        })
    }
}

/// One credential, unsealed, with its exchange profile and upstream client.
pub struct CredentialState {
    pub name: String,
    pub exchange: &'static dyn Exchange,
    /// Shared with the next snapshot when a reload leaves its vault as it was.
    pub credential: Arc<Credential>,
    /// The key version that signs, and until when (checked on every request and frame).
    pub version: KeyVersion,
    /// `live` or `demo`: where its requests go, and which demo markers it accepts.
    pub environment: Environment,
    pub upstream: Arc<Upstream>,
    /// What it was unsealed from: a reload opens the vault again only when this changed.
    pub(super) source: Source,
    /// What the key-permission self-check's verdict does to it.
    pub permission_check: PermissionCheck,
    /// Whether the exchange's request budgets are counted for it, and at which tier.
    pub budgets: ExchangeBudgets,
}

/// The settings a credential's unsealed key was made from.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Source {
    pub vault: PathBuf,
    pub pin: VaultDigest,
    pub recv_window_ms: u64,
}

impl Source {
    pub(super) fn of(c: &config::CredentialConfig) -> Source {
        Source {
            vault: c.vault.clone(),
            pin: c.vault_sha256,
            recv_window_ms: c.recv_window_ms,
        }
    }
}

impl CredentialState {
    /// `c`'s state from its unsealed key.
    pub(super) fn new(
        c: &config::CredentialConfig,
        unsealed: Unsealed,
        resources: &Resources,
    ) -> Result<CredentialState> {
        Ok(CredentialState {
            name: c.name.clone(),
            exchange: c.exchange,
            credential: Arc::new(unsealed.credential),
            version: unsealed.version,
            environment: c.environment,
            upstream: resources.upstream(&c.name)?,
            source: Source::of(c),
            permission_check: c.permission_check,
            budgets: c.budgets,
        })
    }
}

/// What the config compiles to; replaced whole by a reload.
pub struct Snapshot {
    /// Unsealed at start-up; a reload's snapshot shares those whose vault did not change.
    pub(super) credentials: HashMap<String, Arc<CredentialState>>,
    pub(super) clients: Clients,
    /// `[server] anonymous_market_data`, and the one rate all anonymous requests share.
    pub(super) anonymous_ok: bool,
    pub(super) anonymous_limiter: Limiter,
    pub(super) trusted_proxies: Vec<IpNet>,
    /// `[server] host_names`, as configured, and the credentials' own `host_name`s.
    pub(super) host_names: Vec<String>,
    /// `[[credential]] host_name` → credential name.
    pub(super) credential_hosts: HashMap<String, String>,
    pub(super) max_body_bytes: usize,
    pub(super) header_limits: HeaderLimits,
    pub(super) body_timeout: Duration,
    /// A connection's idle, head and write bounds.
    pub(super) connection: ConnectionBounds,
    pub(super) max_params: usize,
    /// `[server] permission_check_hours`.
    pub(super) permission_check_every: Duration,
}

impl Snapshot {
    /// Compiles a validated config and its unsealed credentials against the resources.
    pub fn compile(
        config: &Config,
        mut unsealed: HashMap<String, Unsealed>,
        resources: &Resources,
    ) -> Result<Snapshot> {
        let mut credentials = HashMap::new();
        for c in &config.credentials {
            let credential = unsealed
                .remove(&c.name)
                .ok_or_else(|| Error::vault(format!("credential {:?} was not unsealed", c.name)))?;
            let state = CredentialState::new(c, credential, resources)?;
            credentials.insert(c.name.clone(), Arc::new(state));
        }
        Ok(Snapshot::with_credentials(config, credentials, resources))
    }

    /// `config` compiled with `credentials` (a reload's, see `reload.rs`).
    pub(super) fn recompile(
        config: &Config,
        credentials: HashMap<String, Arc<CredentialState>>,
        resources: &Resources,
    ) -> Snapshot {
        Snapshot::with_credentials(config, credentials, resources)
    }

    fn with_credentials(
        config: &Config,
        credentials: HashMap<String, Arc<CredentialState>>,
        resources: &Resources,
    ) -> Snapshot {
        // The series of what this config names, exported at zero from now on.
        known::announce(config, resources.metrics());
        let server = &config.server;
        Snapshot {
            credentials,
            clients: Clients::compile(&config.clients, &resources.kill),
            anonymous_ok: server.anonymous_market_data,
            anonymous_limiter: Limiter::new(server.anonymous_rate),
            trusted_proxies: server.trusted_proxies.clone(),
            host_names: config.host_names(),
            credential_hosts: config.credential_hosts(),
            max_body_bytes: server.max_body_bytes,
            header_limits: HeaderLimits {
                per_header: server.max_header_bytes,
                total: server.max_header_total_bytes,
                count: server.limits.max_headers,
            },
            body_timeout: server.limits.body_read_timeout,
            connection: ConnectionBounds {
                idle: server.limits.idle_timeout,
                head: server.header_read_timeout,
                write: server.limits.write_timeout,
            },
            max_params: server.limits.max_params,
            permission_check_every: server.permission_check_every,
        }
    }

    /// Whether `peer` is a proxy whose forwarding headers are believed.
    pub(super) fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&peer))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::exchange::nonce::Nonce;
    use crate::key::HmacSecret;
    use crate::policy::rate::Rate;
    use crate::proxy::forward::Limits;
    use crate::secret::SecretBytes;

    /// A snapshot with one Binance credential `main` (dummy key, no client) and a body limit.
    fn snapshot(max_body_bytes: usize, upstream: &Arc<Upstream>) -> Snapshot {
        let credential = CredentialState {
            name: "main".into(),
            exchange: crate::exchange::lookup("binance").unwrap(),
            credential: Arc::new(Credential {
                api_key: SecretBytes::copy_from(b"key"),
                passphrase: None,
                key: Box::new(HmacSecret::new(SecretBytes::copy_from(b"secret"))),
                recv_window_ms: 5000,
                nonce: Nonce::in_memory(),
            }),
            version: KeyVersion {
                number: 1,
                versions: 1,
                created: std::time::SystemTime::now(),
                sealed_expiry: None,
                policy: Default::default(),
            },
            environment: Environment::Live,
            upstream: upstream.clone(),
            source: Source {
                vault: "vault/main.kwv".into(),
                pin: VaultDigest::of(b""),
                recv_window_ms: 5000,
            },
            permission_check: PermissionCheck::Off,
            budgets: ExchangeBudgets::Counted { tier: 0 },
        };
        Snapshot {
            credentials: HashMap::from([("main".to_owned(), Arc::new(credential))]),
            clients: Clients::compile(&[], &Arc::default()),
            anonymous_ok: false,
            anonymous_limiter: Limiter::new(Rate {
                count: 100,
                per: Duration::from_secs(1),
            }),
            trusted_proxies: Vec::new(),
            host_names: Vec::new(),
            credential_hosts: HashMap::new(),
            max_body_bytes,
            header_limits: HeaderLimits {
                per_header: 8192,
                total: 32768,
                count: 64,
            },
            body_timeout: Duration::from_secs(10),
            connection: ConnectionBounds {
                idle: Duration::from_secs(60),
                head: Duration::from_secs(10),
                write: Duration::from_secs(30),
            },
            max_params: 100,
            permission_check_every: Duration::from_secs(3600),
        }
    }

    fn state(dir: &tempfile::TempDir, max_body_bytes: usize) -> (State, Arc<Upstream>) {
        let audit = AuditLog::open(&dir.path().join("audit.log")).unwrap();
        let second = Duration::from_secs(1);
        let limits = Limits {
            connect_timeout: second,
            timeout: second,
            max_answer_bytes: 1 << 20,
            retry_get: false,
        };
        let upstream = Arc::new(Upstream::new(None, None, limits).unwrap());
        let upstreams = HashMap::from([("main".to_owned(), upstream.clone())]);
        let resources = Resources::with_upstreams(audit, upstreams);
        let snapshot = snapshot(max_body_bytes, &upstream);
        (
            State::from_parts(resources, snapshot, RestartOnly::default()),
            upstream,
        )
    }

    #[test]
    fn a_replaced_snapshot_is_taken_next_while_a_taken_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let (state, upstream) = state(&dir, 64);
        let in_flight = state.snapshot();
        let replaced = state.replace(snapshot(8, &upstream));
        assert!(Arc::ptr_eq(&replaced, &in_flight));
        assert_eq!(in_flight.max_body_bytes, 64);
        assert_eq!(state.snapshot().max_body_bytes, 8);
    }

    /// Sends a request head for a 20-byte form body; the body follows with [`send_body`].
    async fn send_head(port: u16) -> TcpStream {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = format!(
            "POST /main/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
    }

    /// Sends the body and returns the status line of the response.
    async fn send_body(mut stream: TcpStream) -> String {
        stream.write_all(b"symbol=BTCUSDT&qty=1").await.unwrap();
        let mut response = Vec::new();
        while !response.windows(2).any(|w| w == b"\r\n") {
            let mut chunk = [0; 256];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the status line");
            response.extend_from_slice(&chunk[..n]);
        }
        let line = response.split(|&b| b == b'\r').next().unwrap();
        String::from_utf8(line.to_vec()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_keeps_the_snapshot_it_started_with() {
        let dir = tempfile::tempdir().unwrap();
        let (state, upstream) = state(&dir, 64);
        let state = Arc::new(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(super::super::run(
            state.clone(),
            super::super::Listening {
                listener,
                credential: None,
            },
            None,
            std::future::pending(),
        ));

        // The first request has its snapshot (64-byte bodies) once it has its number.
        let in_flight = send_head(port).await;
        while state.resources.next_request.load(Ordering::Relaxed) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        state.replace(snapshot(8, &upstream));

        // Its 20-byte body is within its snapshot's limit: refused later, by policy (no token).
        assert_eq!(send_body(in_flight).await, "HTTP/1.1 401 Unauthorized");
        // The next request is judged by the new snapshot's 8-byte limit.
        let next = send_head(port).await;
        assert_eq!(send_body(next).await, "HTTP/1.1 413 Payload Too Large");
        server.abort();
    }
}
