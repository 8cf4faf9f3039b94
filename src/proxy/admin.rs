//! The admin listener: the operator's own HTTP/1.1 listener, separate from the bots', with its
//! own bearer token (stored as SHA-256, compared in constant time). JSON answers; errors are
//! `{"error":{"code","message"}}`. Routes: `GET /status`, `POST /clients/<name>/disable|enable`,
//! `POST /credentials/<name>/disable|enable`, `POST /reload`, and the probes `GET /metrics`,
//! `/healthz`, `/readyz` (see `probes.rs`; without the token when `[admin] open_probes`).

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

use super::kill::{KillSwitch, Target};
use super::probes::{self, Probe};
use super::state::State;
use crate::audit::{AdminRecord, Event};
use crate::config::AdminConfig;

/// What the admin listener needs besides the state.
pub struct Admin {
    pub token_sha256: [u8; 32],
    pub config_path: PathBuf,
    /// The probes answer without the token.
    pub open_probes: bool,
}

impl Admin {
    pub fn new(config: &AdminConfig, config_path: PathBuf) -> Admin {
        Admin {
            token_sha256: config.token_sha256,
            config_path,
            open_probes: config.open_probes,
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

fn json_response(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
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

/// A probe that `[admin] open_probes` lets answer without the token.
fn open_probe(admin: &Admin, route: &Route<'_>) -> bool {
    admin.open_probes && matches!(route, Route::Probe(_))
}

/// What an admin request asks for, read from its method and path before anything else.
enum Route<'p> {
    Status,
    Probe(Probe),
    Reload,
    Switch {
        target: Target,
        name: &'p str,
        enable: bool,
    },
    WrongMethod,
    NotFound,
}

impl<'p> Route<'p> {
    fn of(method: &Method, path: &'p str) -> Route<'p> {
        if let (Some(probe), &Method::GET) = (Probe::of(path), method) {
            return Route::Probe(probe);
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (segments.as_slice(), method) {
            (["status"], &Method::GET) => Route::Status,
            (["reload"], &Method::POST) => Route::Reload,
            (
                [kind @ ("clients" | "credentials"), name, action @ ("disable" | "enable")],
                &Method::POST,
            ) => Route::Switch {
                target: if *kind == "clients" {
                    Target::Client
                } else {
                    Target::Credential
                },
                name,
                enable: *action == "enable",
            },
            (["status" | "metrics" | "healthz" | "readyz"], _)
            | (["reload"], _)
            | ([_, _, "disable" | "enable"], _) => Route::WrongMethod,
            _ => Route::NotFound,
        }
    }

    /// The audit record's `action`, `target` and `name`.
    fn names(&self) -> (&'static str, &'static str, &'p str) {
        match self {
            Route::Status => ("status", "", ""),
            Route::Probe(_) => ("probe", "", ""),
            Route::Reload => ("reload", "", ""),
            Route::Switch {
                target,
                name,
                enable,
            } => (
                if *enable { "enable" } else { "disable" },
                target.name(),
                name,
            ),
            Route::WrongMethod | Route::NotFound => ("unknown", "", ""),
        }
    }
}

/// An admin answer and what its audit record says it did.
struct Answer {
    status: StatusCode,
    body: Value,
    /// `disabled`, `enabled`, `unchanged`, `reloaded`, `ok`, or the error code.
    result: String,
    /// The error's message (empty on success).
    reason: String,
}

impl Answer {
    fn ok(body: Value, result: &str) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            result: result.to_owned(),
            reason: String::new(),
        }
    }

    fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
        let message = message.into();
        Answer {
            status,
            body: json!({"error": {"code": code, "message": message}}),
            result: code.to_owned(),
            reason: message,
        }
    }
}

async fn handle(
    state: &Arc<State>,
    admin: &Admin,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let route = Route::of(&method, &path);
    let answer = if !peer.ip().is_loopback() && !state.snapshot().trusts(peer.ip()) {
        Answer::error(
            StatusCode::FORBIDDEN,
            "admin_peer_not_trusted",
            format!(
                "{} is neither loopback nor in [server] trusted_proxies",
                peer.ip()
            ),
        )
    } else if !(open_probe(admin, &route) || authorized(admin, &req)) {
        Answer::error(
            StatusCode::UNAUTHORIZED,
            "admin_unauthenticated",
            "send Authorization: Bearer <admin token> (the token whose sha256 is [admin] token_sha256)",
        )
    } else {
        match &route {
            Route::Status => Answer::ok(status(state), "ok"),
            Route::Probe(probe) => {
                let response = probes::answer(state, *probe).await;
                tracing::debug!(admin_peer = %peer, %path, status = response.status().as_u16(), "probe");
                return response;
            }
            Route::Reload => reload(state, admin).await,
            Route::Switch { target, name, enable } => switch(state, *target, name, *enable),
            Route::WrongMethod => Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not used on {path}: /status and the probes take GET, the others POST"),
            ),
            Route::NotFound => Answer::error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no admin route {path}; routes: GET /status, GET /metrics, GET /healthz, GET /readyz, POST /reload, POST /clients/<name>/disable|enable, POST /credentials/<name>/disable|enable"),
            ),
        }
    };
    tracing::info!(admin_peer = %peer, %method, %path, status = answer.status.as_u16(), "admin request");
    let answer = audited(state, &route, peer, answer);
    json_response(answer.status, answer.body)
}

/// Writes the admin request's audit record (every request but a successful `GET /status`).
/// When it cannot be written the answer says so (503): what was done stays done, and no bot
/// request gets through unaudited meanwhile (each one needs its own record).
fn audited(state: &State, route: &Route<'_>, peer: SocketAddr, answer: Answer) -> Answer {
    if matches!(route, Route::Status) && answer.status == StatusCode::OK {
        return answer;
    }
    let (action, target, name) = route.names();
    let source = peer.to_string();
    let name: String = name.chars().take(128).collect();
    let record = Event::Admin(AdminRecord {
        action,
        target,
        name: &name,
        source: &source,
        status: answer.status.as_u16(),
        result: &answer.result,
        reason: &answer.reason,
    });
    match state.resources().audit(&record) {
        Ok(_) => answer,
        Err(e) => {
            tracing::error!(error = %e, "cannot write the admin audit record");
            Answer::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!(
                    "the audit log cannot be written, so this admin request ({}) is unrecorded: it \
                     answered {} {}; keyward refuses every bot request until the audit disk is fixed",
                    action,
                    answer.status.as_u16(),
                    answer.result
                ),
            )
        }
    }
}

/// One credential's `/status` entry (other fields are added here, one line each).
fn credential_entry(state: &State, c: &super::state::CredentialState) -> Value {
    let kill = state.resources().kill_switch();
    let now = std::time::SystemTime::now();
    json!({
        "name": c.name,
        "exchange": c.exchange.id(),
        "state": if kill.is_disabled(Target::Credential, &c.name) { "disabled" } else { "enabled" },
        "key_version": c.version.number,
        "key_versions": c.version.versions,
        "key_created": crate::rotation::rfc3339(c.version.created),
        "key_age_days": c.version.age_days(now),
        "key_expires": crate::rotation::rfc3339(c.version.ends().0),
        "key_expiry": c.version.standing(now).as_str(),
        "permission_check": state.resources().key_checks().status(&c.key_holder()),
    })
}

/// `disabled_by`, `disabled_at` and `disabled_reason` of a `/status` entry (null when enabled).
fn with_disabled(mut entry: Value, kill: &KillSwitch, target: Target, name: &str) -> Value {
    let d = kill.disabled(target, name);
    entry["disabled_by"] = json!(d.as_ref().map(|d| d.by.name()));
    entry["disabled_at"] = json!(d.as_ref().map(|d| d.at.clone()));
    entry["disabled_reason"] = json!(d.as_ref().map(|d| d.reason.clone()));
    entry
}

fn client_entry(kill: &KillSwitch, client: &super::auth::Client) -> Value {
    let name = client.name();
    let a = kill.activity(name);
    let t = client.triggers();
    let entry = json!({
        "name": name,
        "state": if kill.is_disabled(Target::Client, name) { "disabled" } else { "enabled" },
        "last_source": a.last_source.map(|s| s.to_string()),
        "requests": a.requests,
        "denied": a.denied,
        "triggers": {
            "on_hard_deny": t.on_hard_deny.name(),
            "on_new_source": t.on_new_source.name(),
            "deny_burst": t.deny_burst.map(|b| json!({
                "count": b.count, "window_s": b.window.as_secs(), "action": b.reaction.name(),
            })),
        },
    });
    with_disabled(entry, kill, Target::Client, name)
}

fn status(state: &State) -> Value {
    let snapshot = state.snapshot();
    let kill = state.resources().kill_switch();
    let mut credentials: Vec<_> = snapshot
        .credentials
        .values()
        .map(|c| {
            with_disabled(
                credential_entry(state, c),
                kill,
                Target::Credential,
                &c.name,
            )
        })
        .collect();
    credentials.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let clients: Vec<_> = snapshot
        .clients
        .iter()
        .map(|c| client_entry(kill, c))
        .collect();
    json!({"credentials": credentials, "clients": clients})
}

fn switch(state: &State, target: Target, name: &str, enable: bool) -> Answer {
    let snapshot = state.snapshot();
    let kill = state.resources().kill_switch();
    let known = match target {
        Target::Client => snapshot.clients.by_name(name).is_some(),
        Target::Credential => snapshot.credentials.contains_key(name),
    };
    // A name the state file still disables but the config no longer has may be enabled (it
    // would be disabled again if the name came back).
    let kept = enable && kill.is_disabled(target, name);
    let what = target.name();
    if !known && !kept {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} named {name:?} in the config in force"),
        );
    }
    let done = if enable {
        kill.enable(target, name)
    } else {
        kill.disable(target, name, "disabled through the admin API")
    };
    let changed = match done {
        Ok(changed) => changed,
        Err(e) => {
            tracing::error!(error = %e, what, name, enable, "admin: the state file cannot be written");
            let now = if kill.is_disabled(target, name) {
                "disabled"
            } else {
                "enabled"
            };
            return Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "state_unwritable",
                format!("{what} {name} is {now} now, but the state file cannot be written ({e}), so a restart would not keep that"),
            );
        }
    };
    let now = if enable { "enabled" } else { "disabled" };
    tracing::warn!(what, name, now, changed, "admin: kill switch");
    Answer::ok(
        json!({"target": what, "name": name, "state": now, "changed": changed}),
        if changed { now } else { "unchanged" },
    )
}

async fn reload(state: &Arc<State>, admin: &Admin) -> Answer {
    let (path, st) = (admin.config_path.clone(), state.clone());
    match tokio::task::spawn_blocking(move || super::reload(&path, &st)).await {
        Ok(Ok(done)) => Answer::ok(
            json!({"reloaded": true, "clients": done.clients}),
            "reloaded",
        ),
        Ok(Err(e)) => Answer::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_refused",
            format!("{e} (the config in force is unchanged)"),
        ),
        Err(_) => Answer::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the reload task failed",
        ),
    }
}
