//! The parts of a bot's request that every check reads.

use super::{canonicalise, CanonRules, CanonicalRequest, Method, Refusal};

/// A bot's request as the checks see it, however it arrived (the REST listener or
/// `policy explain`): the method, the exchange API path (after `/<credential>`), the raw query,
/// the declared content type and the body. No `Debug`: the body is the bot's, unredacted.
pub struct RequestParts<'a> {
    pub method: Method,
    /// The exchange API path, e.g. `/api/v3/order`.
    pub path: &'a str,
    /// The query string without `?`, as sent.
    pub query: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

impl RequestParts<'_> {
    /// The one canonical form of these parts under an exchange's rules.
    pub fn canonicalise(&self, rules: &CanonRules) -> Result<CanonicalRequest, Refusal> {
        canonicalise(
            self.method,
            self.path,
            self.query,
            self.content_type,
            self.body,
            rules,
        )
    }
}
