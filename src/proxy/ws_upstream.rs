//! The exchange side of a WebSocket session: a wss:// connection over the credential's TLS
//! configuration (the same roots or test CA as its REST upstream), and the per-client caps on
//! sockets and frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use super::forward::client_tls;
use crate::config::{Config, ServerConfig};
use crate::error::{Error, Result};
use crate::exchange::environment::{self, Environment};
use crate::exchange::ws::WsRoute;
use crate::exchange::Exchange;
use crate::policy::rate::{Limiter, Rate};
use crate::request::{Refusal, RefusalKind};

pub type ExchangeSocket = WebSocketStream<TlsStream<TcpStream>>;

/// How one credential's sockets reach the exchange.
pub struct WsUpstream {
    tls: TlsConnector,
    /// Test override of scheme, host and port (`upstream.ws_base`).
    base: Option<http::uri::Authority>,
    connect_timeout: Duration,
    exchange: &'static dyn Exchange,
    /// A demo credential's sockets open the exchange's demo hosts.
    environment: Environment,
}

impl WsUpstream {
    /// One per credential of `config`.
    pub fn for_config(config: &Config) -> Result<HashMap<String, Arc<WsUpstream>>> {
        let mut out = HashMap::new();
        for c in &config.credentials {
            let upstream = c.upstream.as_ref();
            let mut tls = client_tls(upstream.and_then(|u| u.ca.as_deref()))?;
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            let base = upstream
                .and_then(|u| u.ws_base.as_ref())
                .and_then(|b| b.authority().cloned());
            out.insert(
                c.name.clone(),
                Arc::new(WsUpstream {
                    tls: TlsConnector::from(Arc::new(tls)),
                    base,
                    connect_timeout: config.server.connect_timeout,
                    exchange: c.exchange,
                    environment: c.environment,
                }),
            );
        }
        Ok(out)
    }

    /// Opens the exchange's socket for `route` at `path` (no extension offered).
    pub async fn connect(
        &self,
        route: WsRoute,
        path: &str,
        config: WebSocketConfig,
    ) -> std::result::Result<ExchangeSocket, Refusal> {
        // Mapped (or refused) for a demo credential even under the test override.
        let route_authority = environment::ws_authority(
            self.exchange.id(),
            self.exchange.profile().demo,
            self.environment,
            route.authority,
            path.split('?').next().unwrap_or(""),
        )?;
        let authority = match &self.base {
            Some(a) => a.as_str().to_owned(),
            None => route_authority.to_owned(),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(443)),
            None => (authority.clone(), 443),
        };
        let unreachable = |why: &str| {
            tracing::warn!(upstream = %authority, error = why, "WebSocket upstream failed");
            Refusal::new(
                RefusalKind::Upstream,
                "upstream_unreachable",
                "could not open the exchange's WebSocket (network, TLS or handshake failure)",
            )
        };
        let connect = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| unreachable(&e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            let name =
                ServerName::try_from(host.clone()).map_err(|e| unreachable(&e.to_string()))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| unreachable(&e.to_string()))?;
            let mut request = format!("wss://{authority}{path}")
                .into_client_request()
                .map_err(|e| unreachable(&e.to_string()))?;
            request.headers_mut().insert(
                "user-agent",
                HeaderValue::from_static(concat!("keyward/", env!("CARGO_PKG_VERSION"))),
            );
            let (socket, _) =
                tokio_tungstenite::client_async_with_config(request, tls, Some(config))
                    .await
                    .map_err(|e| unreachable(&e.to_string()))?;
            Ok(socket)
        };
        tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| unreachable("timed out"))?
    }
}

/// The per-client caps: sockets open at once and frames per second over all of them.
pub struct Quotas {
    sockets: usize,
    rate: Rate,
    clients: Mutex<HashMap<String, Arc<Quota>>>,
}

/// One client's share.
pub struct Quota {
    open: AtomicUsize,
    pub frames: Limiter,
}

/// Held while a socket is open; dropping it frees the client's slot.
pub struct Slot(Arc<Quota>);

impl Slot {
    pub fn quota(&self) -> &Quota {
        &self.0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Quotas {
    pub fn new(server: &ServerConfig) -> Self {
        Quotas {
            sockets: server.ws_sockets_per_client,
            rate: server.ws_frame_rate,
            clients: Mutex::default(),
        }
    }

    /// The sockets open, all clients together (for the metrics).
    pub fn open_sockets(&self) -> usize {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .values()
            .map(|q| q.open.load(Ordering::Acquire))
            .sum()
    }

    /// A socket slot for `client`, or a refusal once it holds its cap.
    pub fn open(&self, client: &str) -> std::result::Result<Slot, Refusal> {
        let quota = self
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(client.to_owned())
            .or_insert_with(|| {
                Arc::new(Quota {
                    open: AtomicUsize::new(0),
                    frames: Limiter::new(self.rate),
                })
            })
            .clone();
        if quota.open.fetch_add(1, Ordering::AcqRel) >= self.sockets {
            quota.open.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::new(
                RefusalKind::RateLimited,
                "too_many_sockets",
                format!(
                    "client {client} already holds {} WebSocket sessions ([server] ws_sockets_per_client)",
                    self.sockets
                ),
            ));
        }
        Ok(Slot(quota))
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            sockets: 4,
            rate: Rate {
                count: 50,
                per: Duration::from_secs(1),
            },
            clients: Mutex::default(),
        }
    }
}

/// Makes the upstream map's error type the crate's.
pub fn missing(credential: &str) -> Error {
    Error::config(format!(
        "credential {credential:?} has no WebSocket upstream; restart keyward to add a credential"
    ))
}
