//! Blocking JSON-over-HTTP calls to the Vault API, for [`Token`](crate::token::Token) methods,
//! which block. The client owns a small runtime of its own (one worker thread) and one hyper
//! client whose HTTP/1.1 keep-alive pool serves every call, so a per-request HMAC costs a round
//! trip on an open connection, not a TCP and TLS handshake. A call hands its request to that
//! runtime and waits for the answer, so it works whether or not the caller is inside a tokio
//! runtime. TLS is rustls with the webpki roots (or only the configured CA). The Vault token
//! goes in `X-Vault-Token`, marked sensitive; answers (which may carry unsealed data keys) are
//! wiped when dropped.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::{pem::PemObject, CertificateDer};
use zeroize::{Zeroize, Zeroizing};

use super::approle::Login;
use super::settings::{TransitConfig, VaultTokenSource};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// For the whole answer.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Transit answers are small; a key with many versions still fits.
const MAX_ANSWER: usize = 1 << 20;
/// Idle keep-alive connections are closed after this (OpenBao's own default is 5 minutes).
const POOL_IDLE: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

type Pool = HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The Vault API of one server, namespace and token.
pub(super) struct Client {
    config: TransitConfig,
    pool: Pool,
    /// The token of an AppRole login (unused with a static token).
    login: Login,
    /// Drives `pool`'s connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // A runtime dropped inside another runtime's worker would panic; this never waits.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// An answer's status and body; the body is wiped on drop.
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl Client {
    pub fn new(config: TransitConfig) -> Result<Self> {
        let tls = tls_config(&config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("keyward-vault")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the Vault client's runtime", e))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let pool = {
            let _entered = runtime.enter();
            HyperClient::builder(TokioExecutor::new())
                .pool_idle_timeout(POOL_IDLE)
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .build(connector)
        };
        Ok(Client {
            config,
            pool,
            login: Login::default(),
            runtime: Some(runtime),
        })
    }

    pub fn config(&self) -> &TransitConfig {
        &self.config
    }

    /// `method` on `/v1/<path>` with a JSON `body`, authenticated with the Vault token.
    /// Transport faults are errors; any HTTP status is a [`Reply`] for the caller to judge. A
    /// token from an AppRole login that the server refuses is replaced by a new login, once.
    pub fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Reply> {
        let reply = self.send_as(method.clone(), path, body.clone(), Some(&self.token()?))?;
        if reply.status == StatusCode::FORBIDDEN && self.login.forget() {
            return self.send_as(method, path, body, Some(&self.token()?));
        }
        Ok(reply)
    }

    fn token(&self) -> Result<SecretBytes> {
        match &self.config.token {
            VaultTokenSource::AppRole(role) => {
                let post = |path: &str, body: Vec<u8>| {
                    let mut reply = self.send_as(Method::POST, path, Some(body), None)?;
                    Ok((
                        reply.status,
                        Zeroizing::new(std::mem::take(&mut reply.body)),
                    ))
                };
                self.login.token(&post, role)
            }
            source => source.read(),
        }
    }

    /// One request, with `token` in `X-Vault-Token` (none for a login).
    pub(super) fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&SecretBytes>,
    ) -> Result<Reply> {
        let auth = token
            .map(|token| {
                let mut auth = HeaderValue::from_bytes(token.expose()).map_err(|_| {
                    Error::token(format!(
                        "the Vault token from {} is not a valid HTTP header value",
                        self.config.token
                    ))
                })?;
                auth.set_sensitive(true);
                Ok::<_, Error>(auth)
            })
            .transpose()?;
        let base = self.config.address.to_string();
        let uri: Uri = format!("{}/v1/{path}", base.trim_end_matches('/'))
            .parse()
            .map_err(|_| Error::token(format!("cannot form a Vault URL for {path}")))?;
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::USER_AGENT, USER_AGENT)
            .header("X-Vault-Request", "true");
        if let Some(auth) = auth {
            req = req.header("X-Vault-Token", auth);
        }
        if let Some(ns) = &self.config.namespace {
            req = req.header("X-Vault-Namespace", ns.as_str());
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| {
                Error::token("the Vault request could not be built (check [token] namespace)")
            })?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.pool.clone();
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the client")
            .spawn(async move {
                let _ = tx.send(send(pool, req).await);
            });
        let sent = rx
            .recv()
            .unwrap_or_else(|_| Err(Error::token("the Vault client's runtime stopped")));
        sent.map_err(|e| {
            e.context(format_args!(
                "Vault server {}",
                self.config.address.to_string().trim_end_matches('/')
            ))
        })
    }
}

async fn send(client: Pool, req: Request<Full<Bytes>>) -> Result<Reply> {
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| {
            Error::token(format!(
                "cannot reach it ({}): check [token] address (and ca), and that the server is \
                 running and unsealed",
                error_chain(&e)
            ))
        })?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| Error::token(format!("its answer broke off or is too large ({e})")))?
            .to_bytes();
        Ok(Reply {
            status,
            body: Vec::from(body),
        })
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(Error::token(format!(
                "no answer within {} s: check that the server is running and unsealed",
                TIMEOUT.as_secs()
            )))
        })
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn tls_config(config: &TransitConfig) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    match &config.ca {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                Error::config(format!("token.ca {}: {e}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"no PEM certificate in the file"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::config(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}
