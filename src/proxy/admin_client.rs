//! The client side of the admin API, for `keyward admin`: one HTTP/1.1 request over plain TCP to
//! the admin listener (on this host), carrying the admin token; the answer's status and JSON.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::kill::Target;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Connecting (the listener is local: this is generous).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole exchange; a reload reads and compiles the config, which can take a moment.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// An admin answer is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// What the admin API answered.
#[derive(Debug)]
pub struct AdminAnswer {
    pub status: u16,
    pub body: Value,
}

impl AdminAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error's code and message, for an answer that is not a success.
    pub fn error(&self) -> (String, String) {
        let field = |k: &str| {
            self.body["error"][k]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        (field("code"), field("message"))
    }
}

/// What `keyward admin` asks.
#[derive(Clone, Copy, Debug)]
pub enum AdminRequest<'a> {
    Status,
    Reload,
    Switch {
        target: Target,
        name: &'a str,
        enable: bool,
    },
}

impl AdminRequest<'_> {
    fn method_and_path(&self) -> Result<(Method, String)> {
        Ok(match self {
            AdminRequest::Status => (Method::GET, "/status".to_owned()),
            AdminRequest::Reload => (Method::POST, "/reload".to_owned()),
            AdminRequest::Switch {
                target,
                name,
                enable,
            } => {
                // Names are letters, digits, `-` and `_` (the config refuses others), which
                // also keeps the name one path segment.
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(Error::usage(format!(
                        "{name:?} is not a {} name (letters, digits, - and _)",
                        target.name()
                    )));
                }
                let kind = match target {
                    Target::Client => "clients",
                    Target::Credential => "credentials",
                };
                let action = if *enable { "enable" } else { "disable" };
                (Method::POST, format!("/{kind}/{name}/{action}"))
            }
        })
    }
}

/// Sends `request` with `Authorization: Bearer <token>` to the admin API at `addr`.
pub fn admin_call(
    addr: SocketAddr,
    request: AdminRequest<'_>,
    token: &SecretBytes,
) -> Result<AdminAnswer> {
    let (method, path) = request.method_and_path()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?;
    runtime.block_on(async {
        tokio::time::timeout(ANSWER_TIMEOUT, exchange(addr, method, &path, token))
            .await
            .map_err(|_| {
                Error::io(
                    format!(
                        "the admin API at {addr} did not answer within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    ),
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                )
            })?
    })
}

async fn exchange(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: &SecretBytes,
) -> Result<AdminAnswer> {
    let unreachable = |e: std::io::Error| {
        Error::io(
            format!("cannot reach the admin API at {addr} (is `keyward serve` running with this [admin] listen?)"),
            e,
        )
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| unreachable(std::io::ErrorKind::TimedOut.into()))?
        .map_err(unreachable)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::io(format!("admin API at {addr}"), std::io::Error::other(e)))?;
    tokio::spawn(connection);

    let mut bearer = b"Bearer ".to_vec();
    bearer.extend_from_slice(token.expose());
    let mut auth = HeaderValue::from_bytes(&bearer).map_err(|_| {
        Error::usage("the admin token holds characters a header cannot carry (use the token `keyward client-token` printed)")
    })?;
    zeroize::Zeroize::zeroize(&mut bearer);
    auth.set_sensitive(true);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string())
        .header(AUTHORIZATION, auth)
        .body(Empty::<Bytes>::new())
        .map_err(|e| Error::usage(format!("admin request {path}: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Error::io(format!("admin API at {addr}"), std::io::Error::other(e)))?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| {
            Error::io(
                format!("reading the admin API's answer from {addr}"),
                std::io::Error::other(e),
            )
        })?
        .to_bytes();
    let body = serde_json::from_slice(&bytes).map_err(|e| {
        Error::io(
            format!("the admin API at {addr} answered {status} with a body that is not JSON"),
            std::io::Error::other(e),
        )
    })?;
    Ok(AdminAnswer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_is_one_route_and_a_name_stays_one_path_segment() {
        let path = |r: AdminRequest<'_>| r.method_and_path().map(|(m, p)| format!("{m} {p}"));
        assert_eq!(path(AdminRequest::Status).unwrap(), "GET /status");
        assert_eq!(path(AdminRequest::Reload).unwrap(), "POST /reload");
        let switch = |target, name, enable| AdminRequest::Switch {
            target,
            name,
            enable,
        };
        assert_eq!(
            path(switch(Target::Client, "grid-bot", false)).unwrap(),
            "POST /clients/grid-bot/disable"
        );
        assert_eq!(
            path(switch(Target::Credential, "binance_main", true)).unwrap(),
            "POST /credentials/binance_main/enable"
        );
        for bad in ["", "../reload", "a/b", "a b", "bot?x=1", "bot%2f"] {
            let e = path(switch(Target::Client, bad, true)).unwrap_err();
            assert!(e.to_string().contains("is not a client name"), "{bad}: {e}");
        }
    }
}
