//! Client authentication (which bot is this?) and admission (may it use this credential, from
//! this address, at this rate?).

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::kill::KillSwitch;
use crate::anomaly::Triggers;
use crate::config::ClientConfig;
use crate::exchange::Exchange;
use crate::policy::rate::{KeyedLimiter, Limiter, Rate};
use crate::policy::{Allowlist, HARD_DENY_CODE};
use crate::request::{Refusal, RefusalKind};
use crate::session;
use std::sync::Arc;

/// One bot, as compiled from its `[[client]]` table.
pub struct Client {
    name: String,
    token_sha256: [u8; 32],
    credential: String,
    allow: Allowlist,
    source_ips: Vec<IpNet>,
    limiter: Option<Limiter>,
    triggers: Triggers,
    kill: Arc<KillSwitch>,
}

impl Client {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    pub fn triggers(&self) -> &Triggers {
        &self.triggers
    }

    /// Admission: the client's credential, its source addresses, its rate (in that order, so
    /// a refused request does not spend the client's rate).
    pub fn admit(&self, credential: &str, peer: SocketAddr) -> Result<(), Refusal> {
        self.kill.admit(&self.name, credential, peer)?;
        if self.credential != credential {
            return Err(Refusal::forbidden(
                "wrong_credential",
                format!(
                    "client {} may not use credential {:?}; its base URL is /{}",
                    self.name, credential, self.credential
                ),
            ));
        }
        if !self.source_ips.is_empty() && !self.source_ips.iter().any(|n| n.contains(&peer.ip())) {
            return Err(Refusal::forbidden(
                "source_not_allowed",
                format!("client {} may not connect from {}", self.name, peer.ip()),
            ));
        }
        self.kill
            .arrived(&self.name, peer, self.triggers.on_new_source)?;
        if let Some(l) = &self.limiter {
            if !l.try_acquire() {
                return Err(rate_limited(&format!("client {}", self.name)));
            }
        }
        Ok(())
    }

    /// keyward refused a request (or op) of this client from `peer`, `what` naming it: a
    /// refusal for what it asked (see [`counts_as_denial`]) is counted and fed to the client's
    /// anomaly triggers (`on_hard_deny` for a hard-deny refusal, `deny_burst` for every one).
    pub fn refused(&self, peer: SocketAddr, refusal: &Refusal, what: &str) {
        if counts_as_denial(refusal) {
            let hard = (refusal.code == HARD_DENY_CODE).then_some(refusal.message.as_str());
            self.kill
                .denied(&self.name, peer, &self.triggers, hard, what)
        }
    }
}

/// Whether a refusal is for what the client asked, and so counts as a denial (`/status`
/// `denied`, `deny_burst`): the policy's (hard deny, no rule, a failed constraint) and, once the
/// client is known, a malformed or refused request (400, 403, 404, 405, 415) — not a rate limit,
/// a timeout, keyward's own trouble, nor the kill switch itself.
fn counts_as_denial(r: &Refusal) -> bool {
    matches!(
        r.kind,
        RefusalKind::BadRequest
            | RefusalKind::Forbidden
            | RefusalKind::NotFound
            | RefusalKind::MethodNotAllowed { .. }
            | RefusalKind::UnsupportedMedia
    ) && !matches!(r.code, "client_disabled" | "credential_disabled")
}

/// Every configured bot.
pub struct Clients(Vec<Client>);

impl Clients {
    pub fn compile(config: &[ClientConfig], kill: &Arc<KillSwitch>) -> Clients {
        Clients(
            config
                .iter()
                .map(|c| Client {
                    name: c.name.clone(),
                    token_sha256: c.token_sha256,
                    credential: c.credential.clone(),
                    allow: c.allow.clone(),
                    source_ips: c.source_ips.clone(),
                    limiter: c.rate.map(Limiter::new),
                    triggers: c.triggers,
                    kill: kill.clone(),
                })
                .collect(),
        )
    }

    /// Every client, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.0.iter()
    }

    /// The client of this name.
    pub fn by_name(&self, name: &str) -> Option<&Client> {
        self.0.iter().find(|c| c.name == name)
    }

    /// The client whose token this is, compared with every client's digest in constant time.
    fn find(&self, token: &[u8]) -> Result<&Client, Refusal> {
        let digest: [u8; 32] = Sha256::digest(token).into();
        let mut found = None;
        for c in &self.0 {
            if bool::from(c.token_sha256.ct_eq(&digest)) {
                found = Some(c);
            }
        }
        found.ok_or_else(|| {
            Refusal::unauthenticated(
                "unknown client token; use the token printed by `keyward client-token` as the API key",
            )
        })
    }
}

impl session::Bot for Client {
    fn name(&self) -> &str {
        &self.name
    }

    fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    fn admit(&self, credential: &str, peer: SocketAddr) -> Result<(), Refusal> {
        Client::admit(self, credential, peer)
    }

    fn refused(&self, peer: SocketAddr, refusal: &Refusal, what: &str) {
        Client::refused(self, peer, refusal, what)
    }
}

/// The clients as a WebSocket session from `source` sees them: a client token in a login frame
/// is checked like one in a request header, against the source's budget of wrong tokens
/// (`[server] auth_failure_rate`), so a socket cannot be used to guess tokens faster.
pub struct GuardedClients<'a> {
    pub clients: &'a Clients,
    pub guesses: &'a TokenGuesses,
    pub source: IpAddr,
}

impl session::Bots for GuardedClients<'_> {
    fn identify(&self, token: &[u8]) -> Result<&dyn session::Bot, Refusal> {
        self.guesses
            .check(self.clients, token, self.source)
            .map(|c| c as &dyn session::Bot)
    }

    fn by_name(&self, name: &str) -> Option<&dyn session::Bot> {
        self.clients.by_name(name).map(|c| c as &dyn session::Bot)
    }
}

/// Wrong client tokens per source address (`[server] auth_failure_rate`): once a source has
/// spent its budget, every request from it that carries a token is refused with 429 before
/// the token is even compared, so guessing is slowed to the configured rate whatever the
/// guesses. Requests without a token (anonymous market data) are not affected. Kept across
/// reloads.
pub struct TokenGuesses(KeyedLimiter<IpAddr>);

/// Source addresses remembered at most (see [`KeyedLimiter`]).
const GUESSING_SOURCES: usize = 65_536;

impl TokenGuesses {
    pub fn new(rate: Rate) -> Self {
        TokenGuesses(KeyedLimiter::new(rate, GUESSING_SOURCES))
    }

    /// Finds the client by its token, read where the exchange profile says bots send it, for a
    /// request from `source` within its budget of wrong tokens. `Ok(None)` = no token at all
    /// (anonymous); a token that matches no client is refused. The token's SHA-256 is compared
    /// with every client's in constant time, and the loop does not stop at a match, so timing
    /// tells nothing about which digest matched or how much.
    pub fn authenticate<'c>(
        &self,
        clients: &'c Clients,
        exchange: &dyn Exchange,
        headers: &HeaderMap,
        source: IpAddr,
    ) -> Result<Option<&'c Client>, Refusal> {
        let Some(token) = exchange.client_token(headers)? else {
            return Ok(None);
        };
        self.check(clients, &token, source).map(Some)
    }

    /// The client whose token this is, for a request (or a WebSocket login frame) from `source`
    /// within its budget of wrong tokens; a wrong token spends from the budget.
    pub fn check<'c>(
        &self,
        clients: &'c Clients,
        token: &[u8],
        source: IpAddr,
    ) -> Result<&'c Client, Refusal> {
        if let Err(wait) = self.0.peek(&source) {
            return Err(Refusal::new(
                RefusalKind::RateLimited,
                "auth_rate_limited",
                format!(
                    "too many wrong client tokens from {source}; requests with a token are refused for {} s",
                    wait.as_secs() + 1
                ),
            )
            .retry_after(wait.as_secs() + 1));
        }
        clients.find(token).inspect_err(|_| {
            // This wrong token is answered 401 either way; the next ones may be 429.
            let _ = self.0.spend(&source);
        })
    }
}

/// A rate limit of `who` was exceeded.
pub fn rate_limited(who: &str) -> Refusal {
    Refusal::new(
        RefusalKind::RateLimited,
        "rate_limited",
        format!("rate limit of {who} exceeded; slow down"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_client_asked_counts_as_a_denial_rate_limits_and_the_kill_switch_do_not() {
        let forbidden = |code| Refusal::forbidden(code, "x");
        for r in [
            forbidden(HARD_DENY_CODE),
            forbidden("not_allowed"),
            forbidden("source_not_allowed"),
            Refusal::not_found("x"),
            Refusal::new(RefusalKind::BadRequest, "bad_params", "x"),
        ] {
            assert!(counts_as_denial(&r), "{}", r.code);
        }
        for r in [
            forbidden("client_disabled"),
            forbidden("credential_disabled"),
            rate_limited("client bot"),
            Refusal::new(RefusalKind::Timeout, "body_timeout", "x"),
            Refusal::new(RefusalKind::Unavailable, "audit_unavailable", "x"),
        ] {
            assert!(!counts_as_denial(&r), "{}", r.code);
        }
    }
}
