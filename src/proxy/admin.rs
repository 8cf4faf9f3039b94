//! The admin listener: the operator's own HTTP/1.1 listener, separate from the bots', with its
//! own bearer token (stored as SHA-256, compared in constant time). JSON answers; errors are
//! `{"error":{"code","message"}}`. Routes: `GET /status`, `POST /clients/<name>/disable|enable`,
//! `POST /credentials/<name>/disable|enable`, `POST /reload`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use super::kill::Target;
use super::state::State;
use crate::config::AdminConfig;

/// What the admin listener needs besides the state.
pub struct Admin {
    pub token_sha256: [u8; 32],
    pub config_path: PathBuf,
}

impl Admin {
    pub fn new(config: &AdminConfig, config_path: PathBuf) -> Admin {
        Admin {
            token_sha256: config.token_sha256,
            config_path,
        }
    }
}

/// Serves the admin API on `listener` until the process ends.
pub async fn run_admin(state: Arc<State>, admin: Arc<Admin>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (state, admin) = (state.clone(), admin.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (state, admin) = (state.clone(), admin.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(&state, &admin, peer, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response<Full<Bytes>> {
    answer(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}

fn authorized(admin: &Admin, req: &Request<Incoming>) -> bool {
    let Some(token) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(token).into();
    bool::from(digest.ct_eq(&admin.token_sha256))
}

async fn handle(
    state: &Arc<State>,
    admin: &Admin,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if !peer.ip().is_loopback() && !state.snapshot().trusts(peer.ip()) {
        return error(
            StatusCode::FORBIDDEN,
            "admin_peer_not_trusted",
            format!(
                "{} is neither loopback nor in [server] trusted_proxies",
                peer.ip()
            ),
        );
    }
    if !authorized(admin, &req) {
        return error(
            StatusCode::UNAUTHORIZED,
            "admin_unauthenticated",
            "send Authorization: Bearer <admin token> (the token whose sha256 is [admin] token_sha256)",
        );
    }
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let response = match (segments.as_slice(), &method) {
        (["status"], &Method::GET) => answer(StatusCode::OK, status(state)),
        (["reload"], &Method::POST) => reload(state, admin).await,
        ([kind @ ("clients" | "credentials"), name, action @ ("disable" | "enable")], &Method::POST) => {
            switch(state, kind, name, action)
        }
        (["status"], _) | (["reload"], _) | ([_, _, "disable" | "enable"], _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not used on {path}: /status takes GET, the others POST"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no admin route {path}; routes: GET /status, POST /reload, POST /clients/<name>/disable|enable, POST /credentials/<name>/disable|enable"),
        ),
    };
    tracing::info!(admin_peer = %peer, %method, %path, status = response.status().as_u16(), "admin request");
    response
}

/// One credential's `/status` entry (other fields are added here, one line each).
fn credential_entry(state: &State, c: &super::state::CredentialState) -> Value {
    let kill = state.resources().kill_switch();
    json!({
        "name": c.name,
        "exchange": c.exchange.id(),
        "state": if kill.is_disabled(Target::Credential, &c.name) { "disabled" } else { "enabled" },
    })
}

fn status(state: &State) -> Value {
    let snapshot = state.snapshot();
    let kill = state.resources().kill_switch();
    let mut credentials: Vec<_> = snapshot
        .credentials
        .values()
        .map(|c| credential_entry(state, c))
        .collect();
    credentials.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let clients: Vec<_> = snapshot
        .clients
        .names()
        .map(|name| {
            let disabled = kill.is_disabled(Target::Client, name);
            json!({
                "name": name,
                "state": if disabled { "disabled" } else { "enabled" },
                "disabled_by": if disabled { Some("operator") } else { None },
            })
        })
        .collect();
    json!({"credentials": credentials, "clients": clients})
}

fn switch(state: &State, kind: &str, name: &str, action: &str) -> Response<Full<Bytes>> {
    let snapshot = state.snapshot();
    let (target, known) = if kind == "clients" {
        (Target::Client, snapshot.clients.by_name(name).is_some())
    } else {
        (Target::Credential, snapshot.credentials.contains_key(name))
    };
    if !known {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no {} named {name:?} in the config in force",
                &kind[..kind.len() - 1]
            ),
        );
    }
    let kill = state.resources().kill_switch();
    let changed = if action == "disable" {
        kill.disable(target, name)
    } else {
        kill.enable(target, name)
    };
    tracing::warn!(kind, name, action, changed, "admin: kill switch");
    answer(
        StatusCode::OK,
        json!({"name": name, "state": format!("{action}d"), "changed": changed}),
    )
}

async fn reload(state: &Arc<State>, admin: &Admin) -> Response<Full<Bytes>> {
    let (path, st) = (admin.config_path.clone(), state.clone());
    match tokio::task::spawn_blocking(move || super::reload(&path, &st)).await {
        Ok(Ok(done)) => answer(
            StatusCode::OK,
            json!({"reloaded": true, "clients": done.clients}),
        ),
        Ok(Err(e)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_refused",
            format!("{e} (the config in force is unchanged)"),
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the reload task failed",
        ),
    }
}
