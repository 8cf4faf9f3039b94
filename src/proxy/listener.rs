//! The listener: accepts connections (TLS when configured), serves HTTP/1.1 on each through the
//! pipeline, and shuts down gracefully. Also the `Host` names this listener answers to.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::host::ListenName;
use super::in_flight::InFlight;
use super::limits::{Activity, Admission, Expired, Watched, REFUSAL_TIME};
use super::respond::{self, ProxyBody};
use super::state::State;
use super::{pipeline, ws};

/// How long in-flight requests may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One listening socket: the main one (`credential: None`, paths `/<credential>/...`) or a
/// credential's own (`[[credential]] listen`, the exchange's paths).
pub struct Listening {
    pub listener: TcpListener,
    pub credential: Option<String>,
}

/// Serves every listener until `shutdown` resolves, each as [`run`] does, and returns when all
/// are done.
pub async fn run_all(
    state: Arc<State>,
    listeners: Vec<Listening>,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let mut stopped = stopped.clone();
            tokio::spawn(run(state.clone(), l, tls.clone(), async move {
                let _ = stopped.wait_for(|s| *s).await;
            }))
        })
        .collect();
    // Every listener was bound by the caller: from here on `/readyz` may say ready.
    state.resources().started().mark();
    shutdown.await;
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
}

/// Accepts connections until `shutdown` resolves, then stops accepting, lets requests in flight
/// finish (idle keep-alive connections are closed at once) and returns when every connection
/// is done or after [`SHUTDOWN_GRACE`]. `tls` wraps each connection when configured.
pub async fn run(
    state: Arc<State>,
    listening: Listening,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let Listening {
        listener,
        credential,
    } = listening;
    // Without its own address the listener answers to no Host at all (fail closed).
    let local = Arc::new(
        listener
            .local_addr()
            .ok()
            .map(|addr| ListenName::new(addr, tls.is_some()).bound_to(credential)),
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
        let place = match state.resources().caps().admit() {
            Admission::Serve(place) => Some(place),
            Admission::Refuse(place) => {
                tokio::spawn(refuse(state.clone(), stream, tls.clone(), place));
                continue;
            }
            Admission::Close => {
                tracing::debug!(%peer, "over [server] max_connections; closed");
                continue;
            }
        };
        let state = state.clone();
        let local = local.clone();
        let tls = tls.clone();
        let counted = connections.enter();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let _counted = counted;
            let _place = place;
            let snapshot = state.snapshot();
            let activity = snapshot.connection.activity();
            let max_headers = snapshot.header_limits.count;
            drop(snapshot);
            let on_request = activity.clone();
            let service = service_fn(move |req| {
                let state = state.clone();
                let local = local.clone();
                let activity = on_request.clone();
                // Boxed: hyper keeps room for one service future per connection for the
                // connection's whole life, so an idle connection would hold a whole pipeline
                // future's worth of memory; boxed, it holds a pointer until a request comes.
                Box::pin(async move {
                    activity.serving();
                    let listen = Option::as_ref(&local);
                    // The upgrade's future (about 10 KiB) is boxed apart: inline, every
                    // request's future would be that large, copied and allocated per request.
                    let response = if ws::is_upgrade(&req) {
                        Box::pin(ws::upgrade(&state, listen, peer, req)).await
                    } else {
                        pipeline::handle(&state, listen, peer, req).await
                    };
                    activity.served();
                    Ok::<_, std::convert::Infallible>(response)
                }) as ServiceFuture
            });
            let result = match tls {
                Some(acceptor) => {
                    let head_timeout = activity.head_timeout();
                    match tokio::time::timeout(head_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let io = Watched::new(s, activity.clone());
                            serve(io, service, &activity, max_headers, stop).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake took too long");
                            return;
                        }
                    }
                }
                None => {
                    let io = Watched::new(stream, activity.clone());
                    serve(io, service, &activity, max_headers, stop).await
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

/// Serves one connection until it ends, a bound of its [`Activity`] is past (idle: closed;
/// a head too slow: cut off), or `stop` says to finish: then hyper finishes the request in
/// progress and closes (an idle keep-alive connection closes at once).
async fn serve<I, S>(
    io: I,
    service: S,
    activity: &Activity,
    max_headers: usize,
    mut stop: watch::Receiver<bool>,
) -> hyper::Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = ProxyBody>,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    // keyward's own bounds (Activity) replace hyper's header read timeout, which would also
    // cut idle keep-alive connections. hyper's header-count cap sits above keyward's own
    // `max_headers` check, which answers with a JSON error.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    if max_headers * 2 > HYPER_DEFAULT_MAX_HEADERS {
        builder.max_headers(max_headers * 2);
    }
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => result,
        _ = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
        expired = activity.expired() => match expired {
            // Nothing in progress: a graceful shutdown closes at once.
            Expired::Idle => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
            Expired::Head => {
                tracing::debug!("request head not complete within [server] header_read_timeout_ms; connection cut off");
                Ok(())
            }
            Expired::Write => {
                tracing::info!("the bot left its answer unread longer than [server] write_timeout_ms; connection cut off");
                Ok(())
            }
        },
    }
}

/// The future of one request's service, boxed (see `run`).
type ServiceFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<http::Response<ProxyBody>, std::convert::Infallible>,
            > + Send,
    >,
>;

/// hyper's own cap on header lines when none is set.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// A connection over `[server] max_connections`: its first request gets `503
/// too_many_connections` (within [`REFUSAL_TIME`]) and the connection is closed.
async fn refuse(
    state: Arc<State>,
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    place: tokio::sync::OwnedSemaphorePermit,
) {
    let _place = place;
    let refusal = state.resources().caps().too_many_connections();
    tracing::warn!("connection over [server] max_connections refused with 503");
    let service = service_fn(move |_req| {
        let response: http::Response<ProxyBody> = respond::refusal(&refusal, Vec::new());
        std::future::ready(Ok::<_, std::convert::Infallible>(response))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIME)
        .keep_alive(false);
    let served = async {
        match tls {
            Some(acceptor) => {
                if let Ok(s) = acceptor.accept(stream).await {
                    let _ = builder.serve_connection(TokioIo::new(s), service).await;
                }
            }
            None => {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_TIME, served).await;
}
