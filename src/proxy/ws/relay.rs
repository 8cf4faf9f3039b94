//! The relay between a bot's socket and the exchange's: bot text frames go through the
//! [`Session`] (decided, audited, signed) and exchange frames come back through it (scrubbed);
//! protocol pings are answered by keyward on each side (tungstenite queues the pong and the
//! next read flushes it), and a close on either side closes the other with the same code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::proxy::auth::GuardedClients;
use crate::proxy::serving;
use crate::proxy::state::State;
use crate::proxy::ws_upstream::{ExchangeSocket, Slot};
use crate::session::{self, Action, Context, Session};

pub type BotSocket = WebSocketStream<TokioIo<Upgraded>>;

/// The accepted upgrade, owned by the relay task.
pub struct Parts {
    pub credential: String,
    pub socket: String,
    pub route: crate::exchange::ws::WsRoute,
    pub client: Option<String>,
    pub source: String,
    /// The bearer placeholder the socket URL carried and the real token.
    pub bearer: Option<(String, crate::secret::SecretBytes)>,
}

/// The bot's side of an upgraded connection.
pub async fn bot_socket(upgraded: Upgraded, config: WebSocketConfig) -> BotSocket {
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await
}

/// Relays until either side closes. The session judges with the snapshot in force at the
/// upgrade, kept for the session's life.
pub async fn run(
    state: &Arc<State>,
    id: u64,
    peer: SocketAddr,
    parts: Parts,
    bot: BotSocket,
    exchange: ExchangeSocket,
    slot: Slot,
) {
    let snapshot = state.snapshot();
    let Some(credential) = snapshot.credentials.get(&parts.credential) else {
        return;
    };
    let Some(protocol) = credential.exchange.ws() else {
        return;
    };
    let audit = |event: &crate::audit::Event<'_>| {
        let written = state.resources().audit(event);
        if let crate::audit::Event::Frame(frame) = event {
            state.resources().metrics().frame(frame);
        }
        written
    };
    let bot_client = parts
        .client
        .as_deref()
        .and_then(|name| snapshot.clients.by_name(name));
    let bots = GuardedClients {
        clients: &snapshot.clients,
        guesses: state.resources().token_guesses(),
        source: peer.ip(),
    };
    let cx = Context {
        id,
        peer,
        source: &parts.source,
        credential_name: &credential.name,
        key_version: credential.version.number,
        credential: &credential.credential,
        exchange: credential.exchange,
        protocol,
        route: parts.route,
        socket: &parts.socket,
        bots: &bots,
        bearers: state.resources().bearers(),
        url_bearer: parts
            .bearer
            .as_ref()
            .map(|(placeholder, real)| (placeholder.as_str(), real.expose())),
        anonymous_ok: snapshot.anonymous_ok,
        max_frame: snapshot.max_body_bytes,
        audit: &audit,
    };
    let mut session = Session::new(cx, bot_client.map(|c| c as &dyn session::Bot));
    let (mut bot_tx, mut bot_rx) = bot.split();
    let (mut ex_tx, mut ex_rx) = exchange.split();
    loop {
        tokio::select! {
            message = bot_rx.next() => {
                // The session's key version expired while it was open, or a later self-check
                // refuses the credential: it signs no more (its open sessions end).
                let signs = serving::signs(state.resources(), credential, SystemTime::now());
                let actions = match message {
                    Some(Ok(Message::Text(_))) if signs.is_err() => {
                        let refusal = signs.unwrap_err();
                        session.refuse("frame", refusal.code, &refusal.message)
                    }
                    Some(Ok(Message::Text(text))) if slot.quota().frames.try_acquire() => {
                        session.from_bot(text.as_str())
                    }
                    Some(Ok(Message::Text(_))) => session.refuse(
                        "frame",
                        "rate_limited",
                        "frame rate of this client exceeded ([server] ws_frame_rate)",
                    ),
                    Some(Ok(Message::Binary(_))) => session.binary_from_bot(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        let _ = ex_tx.send(Message::Close(frame)).await;
                        break;
                    }
                    Some(Err(e)) => {
                        tracing::debug!(session = id, error = %e, "the bot's socket failed");
                        let _ = ex_tx.send(Message::Close(None)).await;
                        break;
                    }
                    None => {
                        let _ = ex_tx.send(Message::Close(None)).await;
                        break;
                    }
                };
                let mut closed = false;
                for action in actions {
                    match action {
                        Action::ToExchange(text) => {
                            if ex_tx.send(Message::text(text)).await.is_err() {
                                closed = true;
                            }
                        }
                        Action::ToBot(text) => {
                            if bot_tx.send(Message::text(text)).await.is_err() {
                                closed = true;
                            }
                        }
                        Action::Close { code, reason } => {
                            let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                            let _ = bot_tx.send(Message::Close(Some(frame.clone()))).await;
                            let _ = ex_tx.send(Message::Close(Some(frame))).await;
                            closed = true;
                        }
                    }
                }
                if closed {
                    break;
                }
            }
            message = ex_rx.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(text) = session.from_exchange(text.to_string()) {
                        if bot_tx.send(Message::text(text)).await.is_err() {
                            let _ = ex_tx.send(Message::Close(None)).await;
                            break;
                        }
                    }
                }
                Some(Ok(Message::Binary(data))) => {
                    if bot_tx.send(Message::Binary(data)).await.is_err() {
                        let _ = ex_tx.send(Message::Close(None)).await;
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    let _ = bot_tx.send(Message::Close(frame)).await;
                    break;
                }
                Some(Err(_)) | None => {
                    let gone = CloseFrame { code: CloseCode::Away, reason: "the exchange's socket closed".into() };
                    let _ = bot_tx.send(Message::Close(Some(gone))).await;
                    break;
                }
            },
        }
    }
    // Let both close handshakes finish (best effort, bounded).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        let _ = bot_tx.close().await;
        let _ = ex_tx.close().await;
    })
    .await;
}
