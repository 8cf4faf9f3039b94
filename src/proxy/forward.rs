//! The client side: one pooled, keep-alive HTTPS client per credential, TLS by rustls with the
//! webpki roots (or a test CA), connect and response timeouts, and no automatic retry — an order
//! is never sent twice by keyward.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::{pem::PemObject, CertificateDer};

use crate::error::{Error, Result};
use crate::exchange::Outbound;
use crate::request::{Refusal, RefusalKind};

const USER_AGENT: &str = concat!("keyward/", env!("CARGO_PKG_VERSION"));

pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Test override: every host is replaced by this scheme and authority.
    base: Option<Uri>,
    timeout: Duration,
}

impl Upstream {
    pub fn new(
        ca: Option<&Path>,
        base: Option<Uri>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self> {
        let tls = client_tls(ca)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
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
            timeout,
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

    /// Sends the request once and returns the response head with its body still streaming.
    pub async fn send(&self, out: Outbound) -> std::result::Result<Response<Incoming>, Refusal> {
        let uri = self.target(&out)?;
        let mut req = Request::builder()
            .method(out.method.to_http())
            .uri(uri)
            .header(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))
            .header(header::ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in out.headers {
            req = req.header(name, value);
        }
        let req = req
            .body(Full::new(out.body))
            .map_err(|_| Refusal::bad_request("the upstream request could not be built"))?;
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Err(_) => Err(Refusal::new(RefusalKind::UpstreamTimeout,
                "upstream_timeout",
                format!(
                    "the exchange did not answer within {} ms; the request may or may not have been executed — check before retrying",
                    self.timeout.as_millis()
                ),
            )),
            Ok(Err(e)) => {
                let connect = e.is_connect();
                tracing::warn!(error = %error_chain(&e), "upstream request failed");
                Err(Refusal::new(RefusalKind::Upstream,
                    "upstream_unreachable",
                    if connect {
                        "could not connect to the exchange (network or TLS failure); nothing was sent".to_owned()
                    } else {
                        "the connection to the exchange failed mid-request; the request may or may not have been executed — check before retrying".to_owned()
                    },
                ))
            }
            Ok(Ok(resp)) => Ok(resp),
        }
    }
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

/// An error and its sources on one line, for logs (never includes request data).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
