//! The one check of a request once its credential is known: method, exchange route, canonical
//! form, the exchange's own checks, and the decision. REST requests, WebSocket ops (judged as
//! the REST request they equal) and `policy explain` all go through [`check`], so they cannot
//! disagree.

use std::time::SystemTime;

use super::{decide, Allowlist, Decision, Denial};
use crate::exchange::{self, Credential, Exchange, Outbound, Route, Signing};
use crate::request::{CanonicalRequest, Refusal, RefusalKind, RequestParts};

/// Whose allowlist judges a request.
#[derive(Clone, Copy)]
pub enum Caller<'a> {
    /// A client that presented its token.
    Client(&'a Allowlist),
    /// No token: public market data only, and only with `[server] anonymous_market_data`.
    Anonymous { enabled: bool },
}

/// What the exchange profile and the policy make of a request: its route, its canonical form
/// (after the exchange's own checks) and the decision.
pub struct Checked {
    pub route: Route,
    pub canonical: CanonicalRequest,
    pub decision: Decision,
}

/// Stages 4 and 5 once the credential is known: method, exchange route, canonical form,
/// exchange checks, decision. The one implementation behind both the proxy and
/// `policy explain`, so the two cannot disagree.
pub fn check(
    exchange: &dyn Exchange,
    parts: &RequestParts<'_>,
    caller: Caller<'_>,
) -> Result<Checked, Refusal> {
    exchange::check_method(exchange, parts.method)?;
    let route = exchange.route(parts.path).ok_or_else(|| {
        Refusal::not_found(format!(
            "{} is not a {} API path",
            parts.path,
            exchange.id()
        ))
    })?;
    let canonical = parts.canonicalise(&exchange.canon_rules())?;
    exchange.check_request(&canonical)?;
    let (allowlist, anonymous_ok) = match caller {
        Caller::Client(allowlist) => (Some(allowlist), false),
        Caller::Anonymous { enabled } => (None, enabled),
    };
    let decision = decide(exchange, allowlist, anonymous_ok, route.access, &canonical);
    Ok(Checked {
        route,
        canonical,
        decision,
    })
}

impl Checked {
    /// The permit to sign this request, if the policy allowed it; else the bot's refusal.
    pub fn permit(self) -> Result<Permit, Refusal> {
        match self.decision {
            Decision::Allow { rule } => Ok(Permit {
                route: self.route,
                canonical: self.canonical,
                rule,
            }),
            Decision::Deny(_) => Err(self.decision.refusal()),
        }
    }
}

/// A request the policy allowed, and the only thing keyward signs: [`Checked::permit`] is the
/// one way to get one, so a denied request cannot reach a signer. The proxy and the fuzz
/// targets (`keyward::proxy::fuzzing`) both go check → permit → sign through these functions.
pub struct Permit {
    route: Route,
    canonical: CanonicalRequest,
    rule: String,
}

/// The rule keyward's own key-permission self-check request is signed under, and the client
/// name its audit records carry.
pub const PERMISSION_CHECK: &str = "keyward:permission-check";

impl Permit {
    /// keyward's own request to the exchange's permission endpoint
    /// ([`Exchange::permission_endpoint`]): that endpoint with no parameters, signed. It is no
    /// bot's request, so no allowlist judges it (several exchanges' endpoints are hard-denied to
    /// bots because their answers list keys); it is the only request this constructor can make,
    /// and its audit records name [`PERMISSION_CHECK`] as the client and the rule.
    pub fn permission_check(exchange: &dyn Exchange) -> Result<Permit, Refusal> {
        let (method, path) = exchange.permission_endpoint();
        let route = exchange.route(path).ok_or_else(|| {
            Refusal::not_found(format!(
                "{path} (the permission endpoint) is not a {} API path",
                exchange.id()
            ))
        })?;
        let canonical = RequestParts {
            method,
            path,
            query: None,
            content_type: None,
            body: b"",
        }
        .canonicalise(&exchange.canon_rules())?;
        exchange.check_request(&canonical)?;
        Ok(Permit {
            route,
            canonical,
            rule: PERMISSION_CHECK.to_owned(),
        })
    }

    /// Where the request goes and how much of the credential it needs.
    pub fn route(&self) -> Route {
        self.route
    }

    /// The canonical request that was allowed, exactly what is signed.
    pub fn canonical(&self) -> &CanonicalRequest {
        &self.canonical
    }

    /// The rule that allowed it.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// Signs exactly the allowed canonical request with `credential` at `now`.
    pub fn sign(
        &self,
        exchange: &dyn Exchange,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<Outbound, Refusal> {
        exchange.sign(
            &self.canonical,
            Signing::new(self.route.access, credential, now),
        )
    }

    /// The allowed request's parts, for the forwarding stage once it is signed.
    pub fn into_parts(self) -> (Route, CanonicalRequest, String) {
        (self.route, self.canonical, self.rule)
    }
}

/// The code of a request the exchange's hard deny refused (403).
pub const HARD_DENY_CODE: &str = "hard_deny";

impl Decision {
    /// The refusal a denied request gets (its code names the layer that denied it); an allowed
    /// request has none, so this is only called on denials.
    pub fn refusal(&self) -> Refusal {
        let message = self.to_string();
        match self {
            Decision::Allow { .. } => Refusal::new(
                RefusalKind::Internal,
                "internal",
                "an allowed request has no refusal",
            ),
            Decision::Deny(Denial::HardDeny(_)) => Refusal::forbidden(HARD_DENY_CODE, message),
            Decision::Deny(Denial::NoRule) => Refusal::forbidden("not_allowed", message),
            Decision::Deny(Denial::Constraint(_)) => Refusal::forbidden("constraint", message),
            Decision::Deny(Denial::NeedsClient) => Refusal::new(
                RefusalKind::Unauthenticated,
                "client_token_required",
                message,
            ),
        }
    }
}
