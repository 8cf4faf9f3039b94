//! The admin listener's probes: `GET /metrics` (Prometheus text), `GET /healthz` (the process
//! answers) and `GET /readyz` (token reachable, credentials unsealed, audit writable; 503 with
//! the reasons otherwise). They write no audit record: a scraper calls them every few seconds.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

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
    let credentials = snapshot
        .credentials
        .values()
        .map(|c| {
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
    let token = check(token_reachable(state).await, &mut failures, "token");
    let credentials = check(unsealed(state), &mut failures, "credentials");
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
    let checks = json!({"token": token, "credentials": credentials, "audit": audit});
    if failures.is_empty() {
        return json(StatusCode::OK, json!({"status": "ready", "checks": checks}));
    }
    tracing::warn!(reasons = %failures.join("; "), "readiness probe: not ready");
    // keyward's error shape; the message names every failing check.
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

/// Every configured credential is unsealed in the snapshot in force.
fn unsealed(state: &State) -> Result<String, String> {
    let snapshot = state.snapshot();
    match snapshot.credentials.len() {
        0 => Err("no credential is unsealed".to_owned()),
        n => Ok(format!("{n} unsealed")),
    }
}
