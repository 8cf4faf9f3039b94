//! Asking an exchange its time (for `keyward doctor`): one unsigned GET of the exchange's public
//! time endpoint ([`crate::exchange::clock`]) through the credential's upstream, as a bot's
//! public request would go, and this host's clock at the middle of the round trip.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::header;

use super::forward::Upstream;
use crate::config::{CredentialConfig, ServerConfig};
use crate::error::{Error, Result};
use crate::exchange::clock::{time_endpoint, ClockReading};
use crate::exchange::Outbound;
use crate::request::Method;

/// Reads the exchange's clock once. Blocks on its own small runtime (call it outside one).
pub fn read_exchange_clock(
    credential: &CredentialConfig,
    server: &ServerConfig,
) -> Result<ClockReading> {
    let exchange = credential.exchange;
    let at = time_endpoint(exchange.id()).ok_or_else(|| {
        Error::config(format!(
            "keyward knows no time endpoint of {}",
            exchange.id()
        ))
    })?;
    let host = exchange
        .route(at.path)
        .ok_or_else(|| Error::config(format!("{} does not route {}", exchange.id(), at.path)))?
        .host;
    let client = Upstream::for_credential(credential, server)?;
    let out = Outbound {
        method: Method::Get,
        host,
        path_and_query: at.upstream.to_owned(),
        // The exchange's own name, also when a test re-points the connection (as the KuCoin
        // signer does: its mock tells its hosts apart by it).
        headers: vec![(header::HOST, http::HeaderValue::from_static(host))],
        body: Bytes::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?;
    let (sent, started) = (SystemTime::now(), Instant::now());
    let answer = runtime
        .block_on(client.send(out))
        .map_err(|refusal| Error::config(refusal.message))?;
    let round_trip = started.elapsed();
    let middle = sent + round_trip / 2;
    let date = answer
        .headers()
        .get(header::DATE)
        .and_then(|v| v.to_str().ok());
    let server_time = at.read(answer.body(), date).ok_or_else(|| {
        Error::config(format!(
            "the answer (HTTP {}) does not tell the time where {} documents it",
            answer.status().as_u16(),
            exchange.id()
        ))
    })?;
    // A time in whole seconds (or a Date header) is the start of its second: its middle is
    // the best guess.
    let server_time = server_time + at.resolution() / 2;
    let skew_ms = match server_time.duration_since(middle) {
        Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
        Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX),
    };
    Ok(ClockReading {
        skew_ms,
        round_trip,
        resolution: at.resolution(),
    })
}
