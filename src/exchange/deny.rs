//! The hard-deny layer: each exchange's explicit list of denied endpoints (data in its
//! profile, plus [`Exchange::deny_more`] where a table cannot say it), then a keyword guard
//! that catches endpoints the exchange adds later. No configuration can lift it.

use super::{path_matches_with, Exchange};
use crate::request::Method;

/// How a [`DenyRule`]'s path is compared with the request's path. Always ASCII
/// case-insensitive: keyward does not know how the exchange matches letter case, so a case
/// variant of a denied endpoint is denied too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyMatch {
    /// The request path starts with the rule's text (`/wapi/`, `/api/v3/account/sub-`).
    Prefix,
    /// The rule's path itself or any path below it: `/api/v1/user` matches `/api/v1/user` and
    /// `/api/v1/user/x`, not `/api/v1/userEvent`.
    Tree,
    /// Only paths strictly below the rule's path (`/a/b/x`, not `/a/b` itself).
    Below,
    /// Exactly the rule's path pattern, whose `{x}` segments match any one segment (see
    /// [`super::path_matches`]).
    Path,
}

/// One entry of an exchange's explicit hard-deny list (the keyword guard in [`hard_deny`]
/// runs in addition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenyRule {
    /// The HTTP methods the rule denies; `None` = every method.
    pub methods: Option<&'static [Method]>,
    pub path: &'static str,
    pub matching: DenyMatch,
    pub reason: &'static str,
    /// Paths the rule leaves alone, compared exactly (letter case included).
    pub except: &'static [&'static str],
}

impl DenyRule {
    /// The same rule for these methods only.
    pub const fn only(self, methods: &'static [Method]) -> Self {
        DenyRule {
            methods: Some(methods),
            ..self
        }
    }

    /// The same rule, except for exactly these paths.
    pub const fn except(self, paths: &'static [&'static str]) -> Self {
        DenyRule {
            except: paths,
            ..self
        }
    }

    pub fn matches(&self, method: Method, path: &str) -> bool {
        if self.methods.is_some_and(|ms| !ms.contains(&method)) || self.except.contains(&path) {
            return false;
        }
        let boundary = || path.as_bytes().get(self.path.len()).copied();
        match self.matching {
            DenyMatch::Prefix => starts_with_ignore_case(path, self.path),
            DenyMatch::Tree => {
                starts_with_ignore_case(path, self.path) && matches!(boundary(), None | Some(b'/'))
            }
            DenyMatch::Below => {
                starts_with_ignore_case(path, self.path) && boundary() == Some(b'/')
            }
            DenyMatch::Path => path_matches_with(self.path, path, |p, g| p.eq_ignore_ascii_case(g)),
        }
    }
}

const fn rule(matching: DenyMatch, path: &'static str, reason: &'static str) -> DenyRule {
    DenyRule {
        methods: None,
        path,
        matching,
        reason,
        except: &[],
    }
}

/// Every path starting with `prefix`, any method.
pub const fn prefix(prefix: &'static str, reason: &'static str) -> DenyRule {
    rule(DenyMatch::Prefix, prefix, reason)
}

/// `path` and everything below it, any method.
pub const fn tree(path: &'static str, reason: &'static str) -> DenyRule {
    rule(DenyMatch::Tree, path, reason)
}

/// Everything strictly below `path`, any method.
pub const fn below(path: &'static str, reason: &'static str) -> DenyRule {
    rule(DenyMatch::Below, path, reason)
}

/// Exactly the path pattern `pattern`, any method.
pub const fn exact(pattern: &'static str, reason: &'static str) -> DenyRule {
    rule(DenyMatch::Path, pattern, reason)
}

/// The reason of the first rule that denies `method path`, if any.
pub fn denied_by(rules: &[DenyRule], method: Method, path: &str) -> Option<&'static str> {
    rules
        .iter()
        .find(|rule| rule.matches(method, path))
        .map(|rule| rule.reason)
}

/// ASCII case-insensitive prefix test.
pub fn starts_with_ignore_case(path: &str, prefix: &str) -> bool {
    path.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Reasons that several exchanges' lists and the keyword guard give in the same words.
pub const WITHDRAWALS: &str = "withdrawals are never allowed";
pub const TRANSFERS: &str = "transfers are never allowed";
pub const SUB_ACCOUNTS: &str = "sub-account operations are never allowed";
pub const SUB_ACCOUNT_MANAGEMENT: &str = "sub-account management is never allowed";
pub const API_KEYS: &str = "API-key management is never allowed";
pub const ACCOUNT_SETTINGS: &str = "account settings are never changed through keyward";
pub const ADDRESS_BOOK: &str = "address-book changes are never allowed";
pub const GIFT_CARDS: &str = "gift cards are never allowed";
pub const NEGOTIATED_TRADES: &str =
    "block, RFQ and OTC trades with a chosen counterparty are never allowed";
pub const BORROWING: &str = "borrowing and loans are never allowed";
pub const CONVERTS: &str =
    "converts and dust sweeps (trades at a quoted price, outside order limits) are never allowed";
/// Answers that carry a credential usable without keyward.
pub const RETURNS_CREDENTIALS: &str =
    "this endpoint returns a credential usable without keyward (the API key or a token that trades); it is reserved for keyward's own use";

/// The shared reasons by the names profiles give them (`because = "withdrawals"`).
const SHARED_REASONS: &[(&str, &str)] = &[
    ("withdrawals", WITHDRAWALS),
    ("transfers", TRANSFERS),
    ("sub_accounts", SUB_ACCOUNTS),
    ("sub_account_management", SUB_ACCOUNT_MANAGEMENT),
    ("api_keys", API_KEYS),
    ("account_settings", ACCOUNT_SETTINGS),
    ("address_book", ADDRESS_BOOK),
    ("gift_cards", GIFT_CARDS),
    ("negotiated_trades", NEGOTIATED_TRADES),
    ("borrowing", BORROWING),
    ("converts", CONVERTS),
    ("returns_credentials", RETURNS_CREDENTIALS),
];

/// A shared reason by its name in profiles.
pub fn shared_reason(name: &str) -> Option<&'static str> {
    SHARED_REASONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, reason)| *reason)
}

/// Words that mark an endpoint as moving money out or managing keys, whatever the exchange.
/// Matched case-insensitively against the path with `-` and `_` removed, so `sub-account`,
/// `subAccount` and `sub_account` are one word.
pub const GUARD_WORDS: &[(&str, &str)] = &[
    ("withdraw", WITHDRAWALS),
    ("transfer", TRANSFERS),
    ("subaccount", SUB_ACCOUNTS),
    ("apikey", API_KEYS),
    ("giftcard", GIFT_CARDS),
    ("addressbook", ADDRESS_BOOK),
    // Trades with a chosen counterparty move value to whoever the bot names.
    ("rfq", NEGOTIATED_TRADES),
    ("blocktrade", NEGOTIATED_TRADES),
    ("otc", NEGOTIATED_TRADES),
];

/// Words that mark an endpoint as acting on money when it is written to (any method but GET):
/// borrowing raises the stake a stolen key can lose; converts and dust sweeps trade at a price
/// the exchange quotes, outside any order limit. Reading their history stays possible.
pub const GUARD_WORDS_WRITES: &[(&str, &str)] = &[
    ("borrow", BORROWING),
    ("loan", BORROWING),
    ("convert", CONVERTS),
    ("dust", CONVERTS),
];

/// The exchange's explicit denials: its profile's list, then [`Exchange::deny_more`].
pub fn explicit(exchange: &dyn Exchange, method: Method, path: &str) -> Option<&'static str> {
    denied_by(exchange.profile().deny, method, path).or_else(|| exchange.deny_more(method, path))
}

/// The keyword guard: the reason of the first [`GUARD_WORDS`] word in the folded path, or, for
/// a method other than GET, of the first [`GUARD_WORDS_WRITES`] word.
pub fn guard(method: Method, path: &str) -> Option<&'static str> {
    let folded: String = path
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let writes: &[(&str, &str)] = if method == Method::Get {
        &[]
    } else {
        GUARD_WORDS_WRITES
    };
    GUARD_WORDS
        .iter()
        .chain(writes)
        .find(|(word, _)| folded.contains(word))
        .map(|(_, reason)| *reason)
}

/// The hard-deny layer: the exchange's explicit list, then the keyword guard. No configuration
/// can lift it.
pub fn hard_deny(exchange: &dyn Exchange, method: Method, path: &str) -> Option<&'static str> {
    explicit(exchange, method, path).or_else(|| guard(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::binance::Binance;

    #[test]
    fn deny_rule_matching() {
        let prefix = prefix("/api/sub-", "p");
        assert!(prefix.matches(Method::Get, "/api/sub-x"));
        assert!(prefix.matches(Method::Post, "/API/Sub-x/y"));
        assert!(!prefix.matches(Method::Get, "/api/sub"));

        let tree = tree("/api/user", "t").only(&[Method::Post, Method::Put]);
        assert!(tree.matches(Method::Post, "/api/user"));
        assert!(tree.matches(Method::Put, "/API/User/prefs"));
        assert!(!tree.matches(Method::Post, "/api/userEvent"));
        assert!(!tree.matches(Method::Get, "/api/user"));

        let below = below("/v2", "b");
        assert!(below.matches(Method::Get, "/v2/x"));
        assert!(below.matches(Method::Get, "/V2/"));
        assert!(!below.matches(Method::Get, "/v2"));
        assert!(!below.matches(Method::Get, "/v2x/y"));

        let path = exact("/p/{id}/Move", "x");
        assert!(path.matches(Method::Delete, "/p/42/move"));
        assert!(path.matches(Method::Delete, "/P/42/MOVE"));
        assert!(!path.matches(Method::Delete, "/p/42/move/x"));
        assert!(!path.matches(Method::Delete, "/p/4:2/move"));

        let rules = [tree, prefix, below];
        assert_eq!(denied_by(&rules, Method::Put, "/api/user/x"), Some("t"));
        assert_eq!(denied_by(&rules, Method::Get, "/api/user/x"), None);
        assert_eq!(denied_by(&rules, Method::Get, "/v2/a"), Some("b"));
    }

    #[test]
    fn exceptions_are_exact() {
        let rule = prefix("/v5/user/", "u").except(&["/v5/user/query-api"]);
        assert!(!rule.matches(Method::Get, "/v5/user/query-api"));
        assert!(rule.matches(Method::Get, "/v5/user/Query-Api"));
        assert!(rule.matches(Method::Get, "/V5/USER/query-api"));
        assert!(rule.matches(Method::Get, "/v5/user/query-api/x"));
        assert!(rule.matches(Method::Post, "/v5/user/create-sub-api"));
    }

    #[test]
    fn keyword_guard_folds_case_and_separators() {
        let b = &Binance;
        for path in [
            "/sapi/v1/capital/withdraw/apply",
            "/sapi/v9/future/WithDraw",
            "/sapi/v1/sub-account/list",
            "/sapi/v1/subAccount/x",
            "/sapi/v1/sub_account/x",
            "/sapi/v1/asset/transfer",
            "/sapi/v2/brand-new/universalTransfer",
            "/sapi/v1/api-key/create",
            "/sapi/v1/apiKey/create",
        ] {
            assert!(hard_deny(b, Method::Post, path).is_some(), "{path}");
        }
        assert!(hard_deny(b, Method::Post, "/api/v3/order").is_none());
        assert!(hard_deny(b, Method::Get, "/api/v3/account").is_none());
    }
}
