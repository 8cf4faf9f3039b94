//! Test support for the exchanges' order tables: a bot's request read through an exchange's
//! table and judged by a rule's limits, as the policy will do it.

use std::str::FromStr;
use std::sync::LazyLock;

use rust_decimal::Decimal;

use super::{limits, read, Order, OrderEndpoint};
use crate::exchange::profile::Profile;
use crate::request::{canonicalise, CanonRules, Method};

/// A rule's allowed values, `(field, [value, ...])`, as tests write them.
pub type Allowed<'a> = &'a [(&'a str, &'a [&'a str])];

/// A rule's maxima, `(field, decimal)`, as tests write them.
pub type Maxima<'a> = &'a [(&'a str, &'a str)];

/// The orders a request was read into, or the refusal's message.
pub type Judged = Result<Vec<Order>, String>;

/// The endpoint of `endpoints` for a method and a concrete path.
pub fn endpoint(
    endpoints: &'static [OrderEndpoint],
    method: Method,
    path: &str,
) -> &'static OrderEndpoint {
    endpoints
        .iter()
        .find(|e| e.method == method && crate::exchange::path_matches(e.path, path))
        .unwrap_or_else(|| panic!("no order endpoint for {method} {path}"))
}

/// A bot's request, canonicalised with `rules`, read through the endpoint's table and judged by
/// a rule with these allowed values (`params`) and maxima (`max`). The orders read, or the
/// refusal's message.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    endpoints: &'static [OrderEndpoint],
    rules: &CanonRules,
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &str,
    params: Allowed,
    max: Maxima,
) -> Judged {
    let req = canonicalise(method, path, query, content_type, body.as_bytes(), rules)
        .map_err(|r| r.message)?;
    let ep = endpoint(endpoints, method, path);
    let params: Vec<(String, Vec<String>)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect();
    let max: Vec<(String, Decimal)> = max
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Decimal::from_str(v).unwrap()))
        .collect();
    let vocabulary = |name: &str| limits::meaning(endpoints, ep.spec, name);
    let orders = read(ep, &req)?;
    for order in &orders {
        limits::check(&vocabulary, order, &params, &max, "allow[0]")?;
    }
    Ok(orders)
}

/// Asserts that `result` is a refusal whose message holds every one of `says`.
#[track_caller]
pub fn refused(result: Result<Vec<Order>, String>, says: &[&str]) -> String {
    match result {
        Ok(orders) => panic!("expected a refusal saying {says:?}, got {orders:#?}"),
        Err(e) => {
            for s in says {
                assert!(e.contains(s), "refusal {e:?} does not say {s:?}");
            }
            e
        }
    }
}

/// A body a bot sends, the maxima it is judged under, and what its refusal says (a case of
/// [`Bot::refused`]).
pub type Refusal = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// An exchange's profile as a `const` [`Bot`] can name it: the exchange's `PROFILE` static.
pub trait ProfileStatic: Sync {
    fn get(&'static self) -> &'static Profile;
}

impl ProfileStatic for LazyLock<Profile> {
    fn get(&'static self) -> &'static Profile {
        self
    }
}

impl ProfileStatic for Profile {
    fn get(&'static self) -> &'static Profile {
        self
    }
}

/// A bot sending to an exchange's order tables: the exchange's profile (its tables and
/// canonicalisation rules) and the method and content type its requests usually have (the
/// content type only on a request with a body).
pub struct Bot {
    profile: &'static dyn ProfileStatic,
    pub method: Method,
    pub content_type: Option<&'static str>,
}

impl Bot {
    /// A bot that POSTs JSON to the exchange of `profile`.
    pub const fn json(profile: &'static dyn ProfileStatic) -> Bot {
        Bot::new(profile, Method::Post, Some("application/json"))
    }

    /// A bot that sends with `method` and `content_type` to the exchange of `profile`.
    pub const fn new(
        profile: &'static dyn ProfileStatic,
        method: Method,
        content_type: Option<&'static str>,
    ) -> Bot {
        Bot {
            profile,
            method,
            content_type,
        }
    }

    /// `method path?query` with `body`, judged under `params` and `max` (see [`judge`]).
    pub fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &str,
        params: Allowed,
        max: Maxima,
    ) -> Judged {
        let profile = self.profile.get();
        judge(
            profile.orders,
            &profile.conventions.canon,
            method,
            path,
            query,
            // No body, no content type (a DELETE, a GET).
            self.content_type.filter(|_| !body.is_empty()),
            body,
            params,
            max,
        )
    }

    /// `body` sent to `path` with the bot's method, judged under `params` and `max`.
    pub fn judge_with(&self, path: &str, body: &str, params: Allowed, max: Maxima) -> Judged {
        self.send(self.method, path, None, body, params, max)
    }

    /// `body` sent to `path` with the bot's method, judged under `max`.
    pub fn judge(&self, path: &str, body: &str, max: Maxima) -> Judged {
        self.judge_with(path, body, &[], max)
    }

    /// Asserts that `body` sent to `path` is refused under `max` with a message holding `says`;
    /// the message.
    #[track_caller]
    pub fn refused(&self, path: &str, body: &str, max: Maxima, says: &str) -> String {
        let e = self.judge(path, body, max).expect_err(body);
        assert!(e.contains(says), "{body}: {e}");
        e
    }
}
