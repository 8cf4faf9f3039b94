//! The client side: one pooled, keep-alive HTTPS client per credential, TLS by rustls with the
//! webpki roots (or a test CA), and connect and answer timeouts.
//!
//! [`Upstream::send`] returns the exchange's *whole* answer (head and body, bounded by
//! `max_answer_bytes`) read within `upstream_timeout`, or the [`Fault`] that stopped it: a bot
//! never gets a head whose body then stalls or breaks off, and the outcome audit record says
//! what happened. A request that is not a GET is sent exactly once; a GET may be sent once more
//! after a transport fault or a 502/503/504 (`[server] upstream_retry_get`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::{pem::PemObject, CertificateDer};

use super::fault::{error_chain, Fault};
use crate::config::{CredentialConfig, ServerConfig};
use crate::error::{Error, Result};
use crate::exchange::Outbound;
use crate::request::{Method, Refusal};

const USER_AGENT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

/// The exchange's answer, read whole.
pub type Answer = Response<Bytes>;

/// How keyward talks to every upstream (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// For the whole answer, head and body, of one attempt.
    pub timeout: Duration,
    pub max_answer_bytes: usize,
    /// Send a GET once more after a transport fault or a 502/503/504.
    pub retry_get: bool,
}

impl Limits {
    pub fn of(server: &ServerConfig) -> Limits {
        Limits {
            connect_timeout: server.connect_timeout,
            timeout: server.upstream_timeout,
            max_answer_bytes: server.max_answer_bytes,
            retry_get: server.upstream_retry_get,
        }
    }
}

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Test override: every host is replaced by this scheme and authority.
    base: Option<Uri>,
    limits: Limits,
}

impl Upstream {
    /// The client for credential `c`: the exchange's hosts, or its test `upstream` override
    /// (trusting its `ca`), under `[server]`'s limits.
    pub fn for_credential(c: &CredentialConfig, server: &ServerConfig) -> Result<Self> {
        let upstream = c.upstream.as_ref();
        Upstream::new(
            upstream.and_then(|u| u.ca.as_deref()),
            upstream.map(|u| u.base.clone()),
            Limits::of(server),
        )
    }

    pub fn new(ca: Option<&Path>, base: Option<Uri>, limits: Limits) -> Result<Self> {
        let tls = client_tls(ca)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(limits.connect_timeout));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .retry_canceled_requests(false)
            .build(connector);
        Ok(Upstream {
            client,
            base,
            limits,
        })
    }

    /// The URL a request goes to.
    fn target(&self, out: &Outbound) -> std::result::Result<Uri, Refusal> {
        let text = match &self.base {
            Some(base) => format!(
                "{}://{}{}",
                base.scheme_str().unwrap_or("https"),
                base.authority().map(|a| a.as_str()).unwrap_or(out.host),
                out.path_and_query
            ),
            None => format!("https://{}{}", out.host, out.path_and_query),
        };
        text.parse()
            .map_err(|_| Refusal::bad_request("the request cannot be expressed as an upstream URL"))
    }

    /// Sends the request and returns the exchange's whole answer, or the fault as the bot's
    /// refusal. Only a GET is ever sent twice.
    pub async fn send(&self, out: Outbound) -> std::result::Result<Answer, Refusal> {
        let uri = self.target(&out)?;
        let first = self.attempt(request(&out, &uri)?).await;
        if !(self.limits.retry_get && out.method == Method::Get) {
            return first.map_err(|f| f.refusal());
        }
        let why = match &first {
            Err(fault) if fault.retryable() => fault.code(),
            Ok(answer) if retry_status(answer.status()) => "upstream 5xx",
            _ => return first.map_err(|f| f.refusal()),
        };
        tracing::warn!(
            reason = why,
            "a GET to the exchange failed; sending it once more"
        );
        self.attempt(request(&out, &uri)?)
            .await
            .map_err(|f| f.refusal())
    }

    /// One attempt: the head and the whole body within the timeout.
    async fn attempt(&self, req: Request<Full<Bytes>>) -> std::result::Result<Answer, Fault> {
        let limits = self.limits;
        let headed = AtomicBool::new(false);
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| {
                let fault = Fault::of_request(&e, limits.connect_timeout);
                tracing::warn!(code = fault.code(), error = %error_chain(&e), "upstream request failed");
                fault
            })?;
            headed.store(true, Ordering::Relaxed);
            let (parts, body) = resp.into_parts();
            let too_large = Fault::TooLarge(limits.max_answer_bytes);
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limits.max_answer_bytes as u64) {
                return Err(too_large);
            }
            let body = Limited::new(body, limits.max_answer_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        too_large
                    } else {
                        tracing::warn!(error = %error_chain(e.as_ref()), "upstream answer cut off");
                        Fault::Truncated
                    }
                })?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(limits.timeout, exchange).await {
            Ok(result) => result,
            Err(_) if headed.load(Ordering::Relaxed) => Err(Fault::Stalled(limits.timeout)),
            Err(_) => Err(Fault::Timeout(limits.timeout)),
        }
    }
}

/// The exchange's statuses after which a GET is worth one more try.
fn retry_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The HTTP request for `out` to `uri`: keyward's own user agent and accept, then the
/// exchange's headers.
fn request(out: &Outbound, uri: &Uri) -> std::result::Result<Request<Full<Bytes>>, Refusal> {
    let mut req = Request::builder()
        .method(out.method.to_http())
        .uri(uri.clone())
        .header(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))
        .header(header::ACCEPT, HeaderValue::from_static("application/json"));
    for (name, value) in &out.headers {
        req = req.header(name, value);
    }
    req.body(Full::new(out.body.clone()))
        .map_err(|_| Refusal::bad_request("the upstream request could not be built"))
}

/// The TLS client configuration for a credential's upstream (REST and WebSocket): rustls with
/// the webpki roots, or only the test CA `ca`.
pub fn client_tls(ca: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::config(format!("upstream.ca {}: {e}", path.display())))?
            {
                let cert = cert
                    .map_err(|e| Error::config(format!("upstream.ca {}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::config(format!("upstream.ca {}: {e}", path.display())))?;
            }
            if roots.is_empty() {
                return Err(Error::config(format!(
                    "upstream.ca {}: no PEM certificate in the file",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::config(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tls)
}
