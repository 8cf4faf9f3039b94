//! The listener: accepts connections (TLS when configured), serves HTTP/1.1 on each through the
//! pipeline, and shuts down gracefully. Also the `Host` names this listener answers to.

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::host::ListenName;
use super::state::{InFlight, State};
use super::{pipeline, ws};

/// Serves a connection until it ends or `stop` says to finish: then hyper finishes the request
/// in progress and closes (an idle keep-alive connection closes at once).
macro_rules! graceful {
    ($conn:ident, $stop:ident) => {{
        tokio::pin!($conn);
        tokio::select! {
            result = $conn.as_mut() => result,
            _ = async { let _ = $stop.wait_for(|stop| *stop).await; } => {
                $conn.as_mut().graceful_shutdown();
                $conn.await
            }
        }
    }};
}

/// How long in-flight requests may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then stops accepting, lets requests in flight
/// finish (idle keep-alive connections are closed at once) and returns when every connection
/// is done or after [`SHUTDOWN_GRACE`]. `tls` wraps each connection when configured.
pub async fn run(
    state: Arc<State>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // Without its own address the listener answers to no Host at all (fail closed).
    let local = Arc::new(
        listener
            .local_addr()
            .ok()
            .map(|addr| ListenName::new(addr, tls.is_some())),
    );
    tokio::pin!(shutdown);
    // Connections in progress, and the signal that asks each to finish (hyper-util's
    // GracefulShutdown cannot watch connections that may upgrade to WebSockets).
    let connections = Arc::new(InFlight::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let local = local.clone();
        let tls = tls.clone();
        let header_read_timeout = state.snapshot().header_read_timeout;
        let counted = connections.enter();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _counted = counted;
            let service = service_fn(move |req| {
                let state = state.clone();
                let local = local.clone();
                async move {
                    let listen = Option::as_ref(&local);
                    let response = if ws::is_upgrade(&req) {
                        ws::upgrade(&state, listen, peer, req).await
                    } else {
                        pipeline::handle(&state, listen, peer, req).await
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true);
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => {
                        let conn = builder
                            .serve_connection(TokioIo::new(s), service)
                            .with_upgrades();
                        graceful!(conn, stop)
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    graceful!(conn, stop)
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("no longer accepting connections; finishing requests in flight");
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    let cut_off = || {
        tracing::warn!(
            "requests still in flight after {} s are cut off",
            SHUTDOWN_GRACE.as_secs()
        )
    };
    let _ = stop_tx.send(true);
    tokio::select! {
        _ = connections.idle() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep_until(deadline) => return cut_off(),
    }
    // Requests whose bots hung up are still being forwarded: their outcome records come first.
    tokio::select! {
        _ = state.resources().forwards_done() => {}
        _ = tokio::time::sleep_until(deadline) => cut_off(),
    }
}
