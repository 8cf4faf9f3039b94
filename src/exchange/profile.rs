//! What keyward knows about an exchange as data: one [`Profile`] per exchange, written in its
//! `<id>/profile.toml` and `<id>/orders.toml` and read once into a `static` (`shipped!`,
//! [`load`](Profile::load)).
//!
//! Everything here is a fact about the exchange's API written down once (its id, methods, key
//! headers, body rules, secret form, public paths, deny list, presets, error codes, order and
//! leverage tables); the behaviour that really differs between exchanges (routing, signing,
//! extra checks) is the [`Exchange`](super::Exchange) trait's.

mod load;
mod weights;

use serde::Deserialize;

use super::deny::DenyRule;
use super::native::CodedError;
use super::path_index::PathIndex;
use super::{PublicPaths, Route};
use crate::order::table::Rules;
use crate::order::OrderEndpoint;
use crate::request::{CanonRules, Method};

/// One endpoint of a preset: a method and a path pattern (`{x}` matches one path segment).
pub type PresetEntry = (Method, &'static str);

/// `GET path`, as a preset entry (and as presets, deny tests and permission endpoints write it).
pub const fn get(path: &'static str) -> PresetEntry {
    (Method::Get, path)
}

/// `POST path`.
pub const fn post(path: &'static str) -> PresetEntry {
    (Method::Post, path)
}

/// `PUT path`.
pub const fn put(path: &'static str) -> PresetEntry {
    (Method::Put, path)
}

/// `PATCH path`.
pub const fn patch(path: &'static str) -> PresetEntry {
    (Method::Patch, path)
}

/// `DELETE path`.
pub const fn delete(path: &'static str) -> PresetEntry {
    (Method::Delete, path)
}

/// Everything about one exchange's API that is data rather than behaviour.
///
/// What every exchange must state is a field of its own; what most exchanges share is in
/// [`Conventions`], which a profile takes as [`Conventions::COMMON`] or updates from it.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// The id used in configuration (`exchange = "binance"`) and preset names (`binance:read`).
    pub id: &'static str,
    /// Headers in which a bot sends its API key; keyward reads its client token from them.
    pub key_headers: &'static [&'static str],
    /// The parameters a `notional` limit is computed from.
    pub notional: Notional,
    /// Endpoint-specific hard denials (withdrawals, transfers, key management ...); the keyword
    /// guard of [`super::hard_deny`] runs in addition, for every exchange.
    pub deny: &'static [DenyRule],
    /// The named presets (`read`, `trade`, ...), in the order help texts list them.
    pub presets: &'static [Preset],
    /// The read-only endpoint that reports the key's own permissions (used by the self-check).
    pub permission_endpoint: PresetEntry,
    /// Every order-creating, amending and batch endpoint the presets allow, with the field
    /// table that reads its orders as the exchange executes them (`src/exchange/<id>/orders.toml`).
    pub orders: &'static [OrderEndpoint],
    /// Every leverage-setting endpoint the presets allow (or a rule may name), with the table
    /// of its fields (the `leverage` list of `src/exchange/<id>/orders.toml`), for
    /// `max_leverage` rules.
    pub leverage: &'static [OrderEndpoint],
    /// Endpoints whose answers carry the real API key (Bybit `query-api` echoes it): keyward
    /// replaces every occurrence of the key in their body before the bot sees it.
    pub answers_with_key: &'static [PresetEntry],
    /// Order-creating endpoints the presets allow but whose orders keyward cannot read yet (no
    /// field table): a rule may allow them only without constraints, since a limit on them
    /// could not be judged.
    pub orders_unread: &'static [PresetEntry],
    /// Its public market data, forwarded unsigned, by the paths bots send to keyward.
    pub public: PublicPaths,
    /// How its API and credentials work, where most exchanges agree.
    pub conventions: Conventions,
    /// The request budgets and weights it publishes, where it does (`[[weights]]`).
    pub weights: Option<&'static super::weight::Weights>,
    /// Its demo (paper, testnet) environment, where keyward knows one (`[demo]`).
    pub demo: Option<&'static super::environment::Demo>,
    /// `orders`, `leverage` and `answers_with_key` indexed by path, built with them at load
    /// (a private field: no other module can pair tables with another profile's index).
    index: &'static Indexes,
}

/// The path indexes of a profile's endpoint tables, for lookups per request.
#[derive(Debug)]
struct Indexes {
    orders: PathIndex,
    leverage: PathIndex,
    answers_with_key: PathIndex,
}

impl Indexes {
    /// The indexes of these tables, for the whole process.
    fn leak(
        orders: &[OrderEndpoint],
        leverage: &[OrderEndpoint],
        answers_with_key: &[PresetEntry],
    ) -> &'static Indexes {
        Box::leak(Box::new(Indexes {
            orders: PathIndex::new(orders.iter().map(|e| e.path)),
            leverage: PathIndex::new(leverage.iter().map(|e| e.path)),
            answers_with_key: PathIndex::new(answers_with_key.iter().map(|e| e.1)),
        }))
    }
}

/// The entry of `table` for `method path`: the first, in table order, whose method is
/// `method` and whose pattern `path` matches.
fn lookup<T>(
    table: &'static [T],
    index: &PathIndex,
    method: Method,
    path: &str,
    entry: impl Fn(&T) -> PresetEntry,
) -> Option<&'static T> {
    index
        .first(path, |i| {
            let (m, pattern) = entry(&table[*i]);
            m == method && super::path_matches(pattern, path)
        })
        .map(|i| &table[i])
}

/// How an exchange's API and credentials work, in the respects where most exchanges agree
/// ([`Conventions::COMMON`]).
#[derive(Clone, Copy, Debug)]
pub struct Conventions {
    /// The HTTP methods the API uses; a request with another method is refused with 405 once
    /// the credential names the exchange, and a config rule naming another method is an error.
    /// Most exchanges use [`Method::COMMON`]; those that amend orders with PATCH add it.
    pub methods: &'static [Method],
    /// Which bodies are accepted and which bot parameters are signing fields.
    pub canon: CanonRules,
    /// How the secret is written (checked by `seal`, parsed when unsealing).
    pub secret_form: SecretForm,
    /// How the exchange uses the secret: to sign, or sent as it is.
    pub key_use: KeyUse,
    /// Whether credentials carry a passphrase (third line for `seal`).
    pub needs_passphrase: bool,
    /// Whether nonces must stay increasing across restarts (persisted next to the vault file).
    pub persistent_nonce: bool,
    /// Whether its rate limits and bans follow the source IP address (Binance: request weight
    /// per IP, 418 bans the IP): a 429 or 418 then holds every client of every credential of the
    /// exchange, since they all leave from keyward's address.
    pub limits_by_ip: bool,
    /// The exchange's `{code, message}` error body, when it has one. Exchanges whose native
    /// error has another shape override [`Exchange::native_error`](super::Exchange::native_error).
    pub error: Option<CodedError>,
}

impl Conventions {
    /// [`Method::COMMON`] and PATCH, for APIs that amend orders with it (Gate, Alpaca).
    pub const METHODS_WITH_PATCH: &'static [Method] = &[
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// GET, POST, PUT and DELETE; query strings for reads and JSON bodies for writes; a text
    /// HMAC secret that only signs, no passphrase; nonces kept in memory; keyward's own error
    /// body.
    pub const COMMON: Conventions = Conventions {
        methods: Method::COMMON,
        canon: CanonRules::JSON,
        secret_form: SecretForm::Text,
        key_use: KeyUse::Signs,
        needs_passphrase: false,
        persistent_nonce: false,
        limits_by_ip: false,
        error: None,
    };
}

impl Profile {
    /// The profile written in `profile` (an exchange's `profile.toml`) with the order tables
    /// of `orders` (its `orders.toml`), whose rules are `rules` (see [`crate::order::table`]).
    pub fn load(profile: &str, orders: &str, rules: &Rules) -> Result<Profile, String> {
        load::load(profile, orders, rules)
    }

    /// [`Profile::load`] for a profile keyward ships: every shipped profile is read by the
    /// tests (`exchange::tests::shipped_profiles_load`) and at start-up (configuration looks
    /// each credential's exchange up in the registry, which reads them all), so a broken one
    /// never reaches a request.
    pub fn shipped(id: &str, profile: &str, orders: &str, rules: &Rules) -> Profile {
        let loaded = Profile::load(profile, orders, rules)
            .unwrap_or_else(|e| panic!("the shipped profile of {id} does not load: {e}"));
        assert_eq!(
            loaded.id, id,
            "the shipped profile of {id} names another exchange"
        );
        loaded
    }

    /// Where `path` goes on `host`: public market data unsigned, everything else signed.
    pub fn route(&self, host: &'static str, path: &str) -> Route {
        Route {
            host,
            access: self.public.access(path),
        }
    }

    /// Whether the answer to `method path` must have the API key redacted.
    pub fn answers_with_key(&self, method: Method, path: &str) -> bool {
        let index = &self.index.answers_with_key;
        lookup(self.answers_with_key, index, method, path, |e| *e).is_some()
    }

    /// The order endpoint a request's method and path name, if it is one.
    pub fn order_endpoint(&self, method: Method, path: &str) -> Option<&'static OrderEndpoint> {
        lookup(self.orders, &self.index.orders, method, path, endpoint)
    }

    /// The leverage-setting endpoint a request's method and path name, if it is one.
    pub fn leverage_endpoint(&self, method: Method, path: &str) -> Option<&'static OrderEndpoint> {
        lookup(self.leverage, &self.index.leverage, method, path, endpoint)
    }

    /// The endpoints of a preset, by its name after `<id>:` (e.g. `read`).
    pub fn preset(&self, name: &str) -> Option<&'static [PresetEntry]> {
        self.presets
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.entries)
    }

    /// The names of the presets, for help texts.
    pub fn preset_names(&self) -> PresetNames {
        PresetNames(self.presets)
    }
}

fn endpoint(e: &OrderEndpoint) -> PresetEntry {
    (e.method, e.path)
}

/// A named set of endpoints an allow rule can name as `<exchange>:<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub entries: &'static [PresetEntry],
}

/// The names of an exchange's presets, in profile order.
#[derive(Clone, Copy, Debug)]
pub struct PresetNames(&'static [Preset]);

impl PresetNames {
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        self.into_iter()
    }
}

impl IntoIterator for PresetNames {
    type Item = &'static str;
    type IntoIter = std::iter::Map<std::slice::Iter<'static, Preset>, fn(&Preset) -> &'static str>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|p| p.name)
    }
}

/// How an exchange's API secret is written; `seal` validates it and unsealing parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretForm {
    /// A shared HMAC secret used as its text.
    Text,
    /// A shared HMAC secret in standard base64, decoded before use (Kraken).
    Base64,
    /// An HMAC secret, or a PEM private key (RSA or Ed25519) for asymmetric API keys (Binance).
    TextOrPem,
    /// A private key: PEM (PKCS#8, SEC1, PKCS#1) or base64 Ed25519 bytes (Coinbase CDP keys).
    PrivateKey,
}

/// What the exchange does with the secret, which decides where the key may live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUse {
    /// The secret keys a signature (an HMAC or an asymmetric signature) and never leaves
    /// keyward: it may be a handle on a token.
    Signs,
    /// The secret itself travels in a request header (Alpaca): only a key held in host memory
    /// can serve, so an in-token key is refused for such an exchange by design.
    SecretInHeader,
}

/// The parameters a `notional` limit multiplies (`price * quantity`), or takes directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notional {
    pub price: &'static str,
    pub quantity: &'static str,
    /// A parameter that is itself the order's quote amount, if the exchange has one.
    pub quote_quantity: Option<&'static str>,
}

/// The profile an exchange is: the one accessor every exchange has in the same words, so it is
/// written once, by `shipped!`.
pub trait Profiled {
    /// Everything keyward knows about the exchange as data.
    fn profile(&self) -> &'static Profile;
}

/// Declares a shipped exchange: its type, its `PROFILE` static (read on first use from the
/// exchange's `<id>/profile.toml` and `<id>/orders.toml`, beside its `<id>.rs`, with the rules
/// of its `orders` module) and [`Profiled`] for it:
/// `shipped!(/** BitMEX. */ Bitmex, "bitmex");`. The exchange's file then implements
/// [`Exchange`](super::Exchange), its behaviour.
macro_rules! shipped {
    ($(#[$doc:meta])* $exchange:ident, $id:literal) => {
        $(#[$doc])*
        pub struct $exchange;

        /// What keyward knows about the exchange as data (read by `Profile::load`).
        pub static PROFILE: std::sync::LazyLock<$crate::exchange::Profile> =
            std::sync::LazyLock::new(|| {
                $crate::exchange::Profile::shipped(
                    $id,
                    include_str!(concat!($id, "/profile.toml")),
                    include_str!(concat!($id, "/orders.toml")),
                    &orders::RULES,
                )
            });

        impl $crate::exchange::Profiled for $exchange {
            fn profile(&self) -> &'static $crate::exchange::Profile {
                &PROFILE
            }
        }
    };
}
pub(crate) use shipped;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_found_by_name_in_order() {
        const READ: Preset = Preset {
            name: "read",
            entries: &[get("/a")],
        };
        const TRADE: Preset = Preset {
            name: "trade",
            entries: &[post("/b")],
        };
        let profile = Profile {
            presets: &[READ, TRADE],
            ..*crate::exchange::bybit::PROFILE
        };
        assert_eq!(profile.preset("read"), Some(READ.entries));
        assert_eq!(profile.preset("trade"), Some(TRADE.entries));
        assert_eq!(profile.preset("Read"), None);
        assert_eq!(profile.preset(""), None);
        assert_eq!(
            profile.preset_names().iter().collect::<Vec<_>>(),
            ["read", "trade"]
        );
    }
}
