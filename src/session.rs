//! A bot's WebSocket session, independent of HTTP and of the exchange: every text frame the bot
//! sends is parsed strictly, read by the exchange's [`WsProtocol`] into an op, judged by
//! [`policy::check`] as the REST request it equals (the same check a REST request gets, so hard
//! deny, rules, limits and rates apply unchanged), audited, and only then signed and sent.
//!
//! The relay in `src/proxy/` owns the sockets and feeds [`Session`] one frame at a time; each
//! call returns the [`Action`]s to take. Nothing reaches the exchange that was not decided.

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::audit::{self, Asker, Event, FrameRecord, Verdict};
use crate::exchange::ws::{BotFrame, OpKind, Outgoing, Reply, WsOp, WsProtocol, WsRoute};
use crate::exchange::{Credential, Exchange};
use crate::policy::{check, Allowlist, Caller, Checked};
use crate::request::{CanonicalRequest, Json, Refusal, RequestParts};

mod bearer;
pub use bearer::Bearers;

/// The WebSocket close code for a frame keyward refuses to read (RFC 6455 "policy violation").
pub const POLICY_VIOLATION: u16 = 1008;
/// The close code when keyward itself cannot go on (the audit log cannot be written).
pub const INTERNAL_ERROR: u16 = 1011;

/// A bot as a session sees it: its name, its allowlist and its admission check.
pub trait Bot: Sync {
    fn name(&self) -> &str;
    fn allowlist(&self) -> &Allowlist;
    /// May it use `credential` from `peer` now (its credential, source addresses and rate)?
    fn admit(&self, credential: &str, peer: SocketAddr) -> Result<(), Refusal>;
    /// keyward refused one of its ops (`what`: the REST request it was judged as, or the op):
    /// fed to its anomaly triggers.
    fn refused(&self, peer: SocketAddr, refusal: &Refusal, what: &str);
}

/// The configured bots, found by client token (compared in constant time) or, for a bearer
/// placeholder keyward issued to one of them, by name.
pub trait Bots: Sync {
    fn identify(&self, token: &[u8]) -> Result<&dyn Bot, Refusal>;
    fn by_name(&self, name: &str) -> Option<&dyn Bot>;
}

/// What a session may read; fixed for its life (the snapshot in force at its upgrade).
pub struct Context<'a> {
    /// The session's number (the upgrade request's).
    pub id: u64,
    pub peer: SocketAddr,
    /// The audit's source address.
    pub source: &'a str,
    pub credential_name: &'a str,
    /// The number of the credential's key version that signs for the session.
    pub key_version: u32,
    pub credential: &'a Credential,
    pub exchange: &'static dyn Exchange,
    pub protocol: &'static dyn WsProtocol,
    pub route: WsRoute,
    /// The socket path after `/<credential>`.
    pub socket: &'a str,
    pub bots: &'a dyn Bots,
    /// Bearer placeholders issued over REST (Kraken), swapped for the real token in frames.
    pub bearers: &'a Bearers,
    /// The placeholder the socket URL carried and the real token it stands for (Binance's
    /// listen key), replaced back wherever an exchange frame names the real one.
    pub url_bearer: Option<(&'a str, &'a [u8])>,
    /// `[server] anonymous_market_data`.
    pub anonymous_ok: bool,
    /// Largest text frame accepted, in bytes.
    pub max_frame: usize,
    /// Appends one record to the audit log (the same chain as REST).
    pub audit: &'a (dyn Fn(&Event<'_>) -> crate::Result<u64> + Sync),
}

/// What the relay does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    ToExchange(String),
    ToBot(String),
    /// Close both sides with this code and reason.
    Close {
        code: u16,
        reason: String,
    },
}

/// One bot's session.
pub struct Session<'a> {
    cx: Context<'a>,
    /// The bot, once its token was seen (on the upgrade or in a frame).
    bot: Option<&'a dyn Bot>,
    frames: u64,
}

/// What an op was judged as, for its audit record.
struct Judged {
    method: &'static str,
    path: String,
    params: Option<String>,
}

impl Judged {
    /// An op judged as no REST request (a login, a refused frame).
    const NONE: Judged = Judged {
        method: "",
        path: String::new(),
        params: None,
    };
}

impl<'a> Session<'a> {
    /// A session; `bot` when the upgrade request carried a client token.
    pub fn new(cx: Context<'a>, bot: Option<&'a dyn Bot>) -> Self {
        Session { cx, bot, frames: 0 }
    }

    /// Whether the session's bot is known.
    pub fn bot_name(&self) -> &str {
        self.bot.map_or("anonymous", |b| b.name())
    }

    /// A text frame from the bot.
    pub fn from_bot(&mut self, text: &str) -> Vec<Action> {
        self.frames += 1;
        if self.cx.protocol.literal_keepalive(text) {
            return vec![Action::ToExchange(text.to_owned())];
        }
        if text.len() > self.cx.max_frame {
            return self.refuse(
                "frame",
                "too_large",
                "the frame is larger than keyward accepts",
            );
        }
        let frame = match Json::parse(text) {
            Ok(frame) => frame,
            Err(e) => {
                return self.refuse("unparseable", "bad_frame", &format!("not strict JSON: {e}"))
            }
        };
        let op = match self.cx.protocol.read(self.cx.route, &frame) {
            Ok(BotFrame::Keepalive) => return vec![Action::ToExchange(frame.to_compact())],
            Ok(BotFrame::Op(op)) => op,
            Err(refusal) => return self.refuse("unknown", "unknown_op", &refusal.message),
        };
        let (frame, bearer_bot) = match self.swap_bearer(&op, frame) {
            Ok(swapped) => swapped,
            Err(Ok(refusal)) => return self.deny(&op, None, refusal),
            Err(Err(close)) => return vec![close],
        };
        match self.identify(&op) {
            Ok(bot) => self.decide(op, &frame, bot.or(bearer_bot)),
            Err(Ok(refusal)) => self.deny(&op, None, refusal),
            Err(Err(close)) => vec![close],
        }
    }

    /// A frame carrying a bearer placeholder keyward issued: the frame with the real token, and
    /// the bot it was issued to (which must be the session's, if it has one).
    #[allow(clippy::type_complexity)]
    fn swap_bearer(
        &mut self,
        op: &WsOp,
        frame: Json,
    ) -> Result<(Json, Option<&'a dyn Bot>), Result<Refusal, Action>> {
        let Some(placeholder) = self.cx.protocol.bearer(&frame) else {
            return Ok((frame, None));
        };
        let unknown = || {
            Ok(Refusal::unauthenticated(
                "the token is not one keyward issued for this credential; get it from the REST token endpoint through keyward",
            ))
        };
        let (client, real) = self
            .cx
            .bearers
            .resolve(self.cx.credential_name, placeholder)
            .ok_or_else(unknown)?;
        let found = self.cx.bots.by_name(&client).ok_or_else(unknown)?;
        if let Some(known) = self.bot {
            if !std::ptr::addr_eq(known, found) {
                return Err(Err(self.close_action(
                    &op.name,
                    "two_tokens",
                    "a frame carries another client's token than this session's",
                )));
            }
        }
        self.bot = Some(found);
        let real = real.expose_str().ok_or_else(unknown)?;
        Ok((self.cx.protocol.with_bearer(&frame, real), Some(found)))
    }

    /// A binary frame from the bot: no exchange API keyward relays takes one.
    pub fn binary_from_bot(&mut self) -> Vec<Action> {
        self.frames += 1;
        self.refuse("binary", "binary_frame", "keyward relays text frames only")
    }

    /// A text frame from the exchange, on its way to the bot (`None`: not shown). The real
    /// API key is replaced wherever an answer echoes it (Gate's login answer does), as REST
    /// answers that carry it are.
    pub fn from_exchange(&self, text: String) -> Option<String> {
        let text = self.cx.protocol.to_bot(self.cx.route, text)?;
        let text = match self.cx.url_bearer {
            Some((placeholder, real)) => replace(text, real, placeholder),
            None => text,
        };
        Some(replace(
            text,
            self.cx.credential.api_key.expose(),
            "keyward-redacted",
        ))
    }

    /// The op's bot: the token in the frame (which must be the session's, if it has one) or the
    /// session's. `Err(Ok)` answers the op with a refusal; `Err(Err)` closes the socket.
    fn identify(&mut self, op: &WsOp) -> Result<Option<&'a dyn Bot>, Result<Refusal, Action>> {
        let Some(token) = &op.token else {
            return Ok(self.bot);
        };
        let found = self.cx.bots.identify(token.as_bytes()).map_err(Ok)?;
        match self.bot {
            Some(known) if !std::ptr::addr_eq(known, found) => Err(Err(self.close_action(
                &op.name,
                "two_tokens",
                "a frame carries another client's token than this session's",
            ))),
            _ => {
                self.bot = Some(found);
                Ok(Some(found))
            }
        }
    }

    fn decide(&mut self, op: WsOp, frame: &Json, bot: Option<&'a dyn Bot>) -> Vec<Action> {
        if let Some(b) = bot {
            if let Err(refusal) = b.admit(self.cx.credential_name, self.cx.peer) {
                return self.deny(&op, None, refusal);
            }
        }
        let now = SystemTime::now();
        let (judged, reply) = match &op.kind {
            OpKind::Login if bot.is_none() => {
                let refusal = Refusal::unauthenticated(
                    "the login carries no client token; put it where the exchange's API key goes",
                );
                return self.deny(&op, None, refusal);
            }
            OpKind::Login => (None, self.sign(&op, frame, now, |p, out| p.login(out))),
            OpKind::Local => (
                None,
                self.sign(&op, frame, now, |p, out| p.outbound(out, &[])),
            ),
            OpKind::Rest(items) | OpKind::Subscribe(items) => {
                let caller = match bot {
                    Some(b) => Caller::Client(b.allowlist()),
                    None => Caller::Anonymous {
                        enabled: self.cx.anonymous_ok,
                    },
                };
                let mut canonical = Vec::with_capacity(items.len());
                for item in items {
                    let query = item.query.encode();
                    let body = item.json.as_ref().map(Json::to_compact).unwrap_or_default();
                    let parts = RequestParts {
                        method: item.method,
                        path: &item.path,
                        query: (!query.is_empty()).then_some(query.as_str()),
                        content_type: item.json.as_ref().map(|_| "application/json"),
                        body: body.as_bytes(),
                    };
                    let judged = Judged {
                        method: item.method.as_str(),
                        path: item.path.clone(),
                        params: None,
                    };
                    match check(self.cx.exchange, &parts, caller) {
                        Ok(Checked {
                            canonical: c,
                            decision,
                            ..
                        }) if decision.is_allowed() => canonical.push(c),
                        Ok(Checked {
                            canonical: c,
                            decision,
                            ..
                        }) => {
                            let judged = Judged {
                                params: Some(c.params_string()),
                                ..judged
                            };
                            return self.deny(&op, Some(judged), decision.refusal());
                        }
                        Err(refusal) => return self.deny(&op, Some(judged), refusal),
                    }
                }
                let judged = summary(&canonical);
                let reply = match &op.kind {
                    // Channels are judged, not rewritten: the frame goes as keyward parsed it.
                    OpKind::Subscribe(_) => Ok(Reply::ToExchange(frame.to_compact())),
                    _ => self.sign(&op, frame, now, |p, out| p.outbound(out, &canonical)),
                };
                (Some(judged), reply)
            }
        };
        let rule = match &op.kind {
            OpKind::Login => "keyward:login",
            OpKind::Local => "keyward:session",
            OpKind::Rest(_) | OpKind::Subscribe(_) => "allowlist",
        };
        let judged = judged.unwrap_or(Judged::NONE);
        let reply = match reply {
            Ok(reply) => reply,
            Err(refusal) => return self.deny(&op, Some(judged), refusal),
        };
        if let Err(close) = self.audit(&op.name, &judged, Verdict::Allow { rule }) {
            return vec![close];
        }
        vec![match reply {
            Reply::ToExchange(text) => Action::ToExchange(text),
            Reply::ToBot(text) => Action::ToBot(text),
        }]
    }

    /// Runs a signing step off the async worker when the key blocks ([`run_blocking`](crate::key::run_blocking)).
    fn sign(
        &self,
        op: &WsOp,
        frame: &Json,
        now: SystemTime,
        f: impl FnOnce(&dyn WsProtocol, &Outgoing<'_>) -> Result<Reply, Refusal>,
    ) -> Result<Reply, Refusal> {
        let out = Outgoing {
            route: self.cx.route,
            op,
            frame,
            credential: self.cx.credential,
            now,
        };
        crate::key::run_blocking(&*self.cx.credential.key, || f(self.cx.protocol, &out))
    }

    /// Refuses an op: one audit record and the exchange-shaped error answer for its id; the
    /// socket stays open.
    fn deny(&mut self, op: &WsOp, judged: Option<Judged>, refusal: Refusal) -> Vec<Action> {
        let judged = judged.unwrap_or(Judged::NONE);
        if let Some(b) = self.bot {
            let what = match judged.method {
                "" => op.name.clone(),
                method => format!("{method} {} (op {})", judged.path, op.name),
            };
            b.refused(self.cx.peer, &refusal, &what);
        }
        let verdict = Verdict::Deny {
            code: refusal.code,
            reason: &refusal.message,
        };
        if let Err(close) = self.audit(&op.name, &judged, verdict) {
            return vec![close];
        }
        let reply = self.cx.protocol.error_reply(self.cx.route, op, &refusal);
        vec![Action::ToBot(reply)]
    }

    /// Refuses a frame keyward will not read (or, from the relay, one over the client's frame
    /// rate): one audit record, then 1008.
    pub fn refuse(&mut self, op: &str, code: &'static str, reason: &str) -> Vec<Action> {
        vec![self.close_action(op, code, reason)]
    }

    /// Closes the socket with 1008 after the frame's audit record.
    fn close_action(&mut self, op: &str, code: &'static str, reason: &str) -> Action {
        if let Err(close) = self.audit(op, &Judged::NONE, Verdict::Refuse { code, reason }) {
            return close;
        }
        Action::Close {
            code: POLICY_VIOLATION,
            reason: close_reason(&format!("keyward {code}: {reason}")),
        }
    }

    /// Writes the frame's record; if that fails the session ends (fail closed).
    fn audit(&self, op: &str, judged: &Judged, verdict: Verdict<'_>) -> Result<(), Action> {
        let record = Event::Frame(FrameRecord {
            session: self.cx.id,
            frame: self.frames,
            asker: Asker {
                client: self.bot_name(),
                source: self.cx.source,
                credential: self.cx.credential_name,
                key_version: Some(self.cx.key_version),
            },
            socket: self.cx.socket,
            op,
            judged: audit::Judged {
                method: judged.method,
                path: &judged.path,
                params: judged.params.clone(),
                verdict,
            },
        });
        (self.cx.audit)(&record).map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, session = self.cx.id, "audit log write failed; closing the session");
            Action::Close {
                code: INTERNAL_ERROR,
                reason: "keyward audit_unavailable: the audit log cannot be written".to_owned(),
            }
        })
    }
}

/// What an allowed op was judged as: the first request's method and every request's path and
/// parameters (a batch: one per item, in order).
fn summary(canonical: &[CanonicalRequest]) -> Judged {
    let join = |f: &dyn Fn(&CanonicalRequest) -> String| {
        canonical.iter().map(f).collect::<Vec<_>>().join(" | ")
    };
    Judged {
        method: canonical.first().map_or("", |c| c.method.as_str()),
        path: join(&|c| c.path.clone()),
        params: Some(join(&|c| c.params_string())),
    }
}

/// `text` with every copy of the credential material `secret` replaced by `with`.
fn replace(text: String, secret: &[u8], with: &str) -> String {
    match std::str::from_utf8(secret) {
        Ok(secret) if !secret.is_empty() && text.contains(secret) => text.replace(secret, with),
        _ => text,
    }
}

/// A close reason within the 123 bytes a close frame may carry, cut at a character boundary.
pub fn close_reason(text: &str) -> String {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests;
