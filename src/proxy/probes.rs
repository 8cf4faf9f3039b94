//! The admin listener's probes: `GET /metrics` (Prometheus text), `GET /healthz` (the process
//! answers) and `GET /readyz`. They write no audit record: a scraper calls them every few seconds.
//!
//! Readiness: start-up has finished (the key-permission self-check has run and the bots'
//! listeners are bound), the token answers, the audit file is writable, and at least one credential
//! serves ([`serving`](super::serving): not disabled, key version not expired, key-permission
//! self-check passed). Every credential serving: 200 `"ready"`; some but not all: 200
//! `"degraded"` with the others named in `degraded` (their requests get the refusal shown; the
//! `keyward_credential_serving` gauge is 0 for them); none, or a failed token or audit check:
//! 503 `not_ready`, keyward's error shape, its message naming each failed check (and each
//! credential with its refusal code).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::serving::Standing;
use super::state::State;
use crate::metrics::{self, CredentialSample, Current};

/// How long the readiness probe waits for the token before calling it unreachable.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    Metrics,
    Health,
    Ready,
}

impl Probe {
    pub(super) fn of(path: &str) -> Option<Probe> {
        match path {
            "/metrics" => Some(Probe::Metrics),
            "/healthz" => Some(Probe::Health),
            "/readyz" => Some(Probe::Ready),
            _ => None,
        }
    }
}

pub(super) async fn answer(state: &Arc<State>, probe: Probe) -> Response<Full<Bytes>> {
    match probe {
        Probe::Metrics => text(StatusCode::OK, scrape(state)),
        Probe::Health => json(StatusCode::OK, json!({"status": "up"})),
        Probe::Ready => ready(state).await,
    }
}

fn json(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    r
}

/// The exposition, with the gauges read from the state now.
fn scrape(state: &State) -> String {
    let snapshot = state.snapshot();
    let resources = state.resources();
    let (open_connections, in_flight) = resources.caps().in_use();
    let now = SystemTime::now();
    let standing = Standing::of(resources, &snapshot, now);
    let credentials = standing
        .each
        .iter()
        .map(|(c, serves)| {
            let (end, _) = c.version.ends();
            let expires_in_seconds = match end.duration_since(now) {
                Ok(left) => left.as_secs_f64(),
                Err(past) => -past.duration().as_secs_f64(),
            };
            CredentialSample {
                credential: &c.name,
                exchange: c.exchange.id(),
                age: now.duration_since(c.version.created).unwrap_or_default(),
                expires_in_seconds,
                serving: serves.is_ok(),
            }
        })
        .collect();
    resources.metrics().encode(Current {
        open_connections,
        in_flight,
        websocket_sessions: resources.ws_quotas().open_sockets(),
        credentials,
    })
}

/// One readiness check's result: `"ok"` or what is wrong.
fn check(result: Result<String, String>, failures: &mut Vec<String>, name: &str) -> Value {
    match result {
        Ok(detail) => json!({"ok": true, "detail": detail}),
        Err(why) => {
            failures.push(format!("{name}: {why}"));
            json!({"ok": false, "detail": why})
        }
    }
}

async fn ready(state: &Arc<State>) -> Response<Full<Bytes>> {
    let mut failures = Vec::new();
    let started = state.resources().started().check();
    let listener = check(started, &mut failures, "start-up");
    let token = check(token_reachable(state).await, &mut failures, "token");
    let audit = {
        let st = state.clone();
        let result =
            tokio::task::spawn_blocking(move || st.resources().audit_log().check_writable())
                .await
                .unwrap_or_else(|_| Err("the audit check failed".to_owned()));
        check(
            result.map(|()| "writable".to_owned()),
            &mut failures,
            "audit",
        )
    };
    let snapshot = state.snapshot();
    let standing = Standing::of(state.resources(), &snapshot, SystemTime::now());
    let degraded = standing.not_serving();
    let credentials = check(serving(&standing), &mut failures, "credentials");
    let mut body = json!({
        "checks": {"listener": listener, "token": token, "credentials": credentials, "audit": audit},
        "credentials": standing.to_json(),
    });
    if failures.is_empty() {
        body["status"] = json!(if degraded.is_empty() {
            "ready"
        } else {
            "degraded"
        });
        body["degraded"] = json!(degraded);
        return json(StatusCode::OK, body);
    }
    tracing::warn!(reasons = %failures.join("; "), "readiness probe: not ready");
    // keyward's error shape; the message names every failing check (and, for the credentials,
    // each credential and its refusal code).
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": {"code": "not_ready", "message": failures.join("; ")}}),
    )
}

/// The token answers: its sealing public key is read through the session keyward holds.
async fn token_reachable(state: &Arc<State>) -> Result<String, String> {
    let Some(token) = state.resources().token().cloned() else {
        return Err("no token is open".to_owned());
    };
    let asked = tokio::task::spawn_blocking(move || {
        token
            .public_key()
            .map(|_| token.describe())
            .map_err(|e| e.to_string())
    });
    match tokio::time::timeout(TOKEN_TIMEOUT, asked).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err("the token check failed".to_owned()),
        Err(_) => Err(format!(
            "the token did not answer within {} s",
            TOKEN_TIMEOUT.as_secs()
        )),
    }
}

/// At least one credential serves.
fn serving(standing: &Standing<'_>) -> Result<String, String> {
    let total = standing.each.len();
    match standing.serving() {
        _ if total == 0 => Err("no credential is unsealed".to_owned()),
        0 => Err(format!(
            "no credential can serve: {}",
            standing.not_serving().join(", ")
        )),
        n => Ok(format!("{n} of {total} serving")),
    }
}
