//! Properties every exchange in the [`registry`] must have, checked once for all of them.

use super::*;
use crate::request::RefusalKind;
use crate::secret::SecretBytes;
use base64::Engine;
use nonce::Nonce;
use serde_json::{json, Value};

fn ids(exchanges: impl Iterator<Item = &'static dyn Exchange>) -> Vec<&'static str> {
    exchanges.map(|e| e.id()).collect()
}

#[test]
fn ids_are_unique_and_looked_up() {
    for ex in registry() {
        assert!(std::ptr::eq(lookup(ex.id()).unwrap(), *ex), "{}", ex.id());
        assert_eq!(registry().iter().filter(|e| e.id() == ex.id()).count(), 1);
    }
    assert!(lookup("Binance").is_none());
    assert!(lookup("").is_none());
}

/// The accessors are the profile's fields: no exchange answers differently from its profile.
#[test]
fn accessors_read_the_profile() {
    for ex in registry() {
        let p = ex.profile();
        assert_eq!(ex.id(), p.id);
        assert_eq!(ex.methods(), p.conventions.methods);
        assert_eq!(ex.key_headers(), p.key_headers);
        assert_eq!(ex.secret_form(), p.conventions.secret_form);
        assert_eq!(ex.key_use(), p.conventions.key_use);
        assert_eq!(ex.needs_passphrase(), p.conventions.needs_passphrase);
        assert_eq!(ex.persistent_nonce(), p.conventions.persistent_nonce);
        assert_eq!(ex.notional(), p.notional);
        assert_eq!(ex.permission_endpoint(), p.permission_endpoint);
        let names: Vec<&str> = ex.preset_names().iter().collect();
        assert_eq!(names, p.presets.iter().map(|p| p.name).collect::<Vec<_>>());
        for preset in p.presets {
            assert_eq!(ex.preset(preset.name), Some(preset.entries), "{}", ex.id());
        }
    }
}

#[test]
fn profile_facts() {
    let with = |f: fn(&Profile) -> bool| ids(registry().iter().copied().filter(|e| f(e.profile())));
    assert_eq!(
        with(|p| p.conventions.needs_passphrase),
        ["okx", "bitget", "kucoin"]
    );
    assert_eq!(with(|p| p.conventions.persistent_nonce), ["kraken"]);
    assert_eq!(
        with(|p| p.conventions.key_use == KeyUse::SecretInHeader),
        ["alpaca"]
    );
    assert_eq!(with(|p| p.key_headers.is_empty()), ["deribit"]);
    assert_eq!(
        with(|p| p.conventions.secret_form != SecretForm::Text),
        ["binance", "coinbase", "kraken"]
    );
}

#[test]
fn method_sets() {
    for ex in registry() {
        let methods = ex.methods();
        for m in [Method::Get, Method::Post, Method::Delete] {
            assert!(methods.contains(&m), "{}: {m}", ex.id());
        }
        for name in ex.preset_names() {
            for (m, p) in ex.preset(name).unwrap() {
                assert!(methods.contains(m), "{}:{name}: {m} {p}", ex.id());
            }
        }
        assert!(methods.contains(&ex.permission_endpoint().0));
        // Every method the exchange takes is one keyward knows, and parses back.
        for m in methods {
            assert_eq!(Method::parse(m.as_str()), Some(*m));
        }
    }
    let patch = ids(registry()
        .iter()
        .copied()
        .filter(|e| e.methods().contains(&Method::Patch)));
    assert_eq!(patch, ["alpaca", "gate"]);
    let e = check_method(&binance::Binance, Method::Patch).unwrap_err();
    assert_eq!(
        e.kind,
        RefusalKind::MethodNotAllowed {
            allowed: Method::COMMON
        }
    );
    assert_eq!(e.code, "method_not_allowed");
    assert!(
        e.message.contains("binance") && e.message.contains("GET, POST, PUT, DELETE"),
        "{}",
        e.message
    );
    assert!(check_method(&gate::Gate, Method::Patch).is_ok());
    assert!(check_method(&alpaca::Alpaca, Method::Patch).is_ok());
}

/// Every preset endpoint is a path of the exchange's API that needs the key (never public
/// data), and none is hard-denied: a preset can always be allowed.
#[test]
fn presets_are_routed_authenticated_and_never_hard_denied() {
    let mut key_only = Vec::new();
    for ex in registry() {
        for preset in ex.profile().presets {
            let name = format!("{}:{}", ex.id(), preset.name);
            assert!(!preset.entries.is_empty(), "{name}");
            for (m, p) in preset.entries {
                assert!(hard_deny(*ex, *m, p).is_none(), "{name}: {m} {p}");
                let route = ex
                    .route(p)
                    .unwrap_or_else(|| panic!("{name}: {p} has no route"));
                match route.access {
                    Access::Signed => {}
                    Access::KeyOnly => key_only.push(ex.id()),
                    Access::Public => panic!("{name}: {p} is public market data"),
                }
            }
        }
    }
    // Only Binance has endpoints that take the key without a signature (listen keys,
    // historical trades); every other exchange's preset endpoints are signed.
    key_only.dedup();
    assert_eq!(key_only, ["binance"]);
}

/// Presets are named `read` and `trade`; an exchange that splits trading in two has
/// `spot-trade` and `futures-trade`, and its `trade` is exactly both, in that order.
#[test]
fn preset_names_and_combined_trade() {
    let mut split = Vec::new();
    for ex in registry() {
        let names: Vec<&str> = ex.preset_names().iter().collect();
        match names.as_slice() {
            ["read", "trade"] => {}
            ["read", "spot-trade", "futures-trade", "trade"] => {
                let both: Vec<PresetEntry> = [ex.preset("spot-trade"), ex.preset("futures-trade")]
                    .into_iter()
                    .flat_map(Option::unwrap)
                    .copied()
                    .collect();
                assert_eq!(ex.preset("trade").unwrap(), both, "{}", ex.id());
                split.push(ex.id());
            }
            other => panic!("{}: presets {other:?}", ex.id()),
        }
    }
    assert_eq!(split, ["binance", "bitget", "kucoin", "gate"]);
}

/// The permission endpoint is routed and signed for keyward's self-check. Where its answer is
/// harmless bots may read it (it is in `read`); where it carries key material or key
/// management it is hard-denied to bots.
#[test]
fn permission_endpoints() {
    let mut readable = Vec::new();
    let mut reserved = Vec::new();
    for ex in registry() {
        let (m, p) = ex.permission_endpoint();
        assert_eq!(
            ex.route(p).map(|r| r.access),
            Some(Access::Signed),
            "{}",
            ex.id()
        );
        if ex.preset("read").unwrap().contains(&(m, p)) {
            readable.push(ex.id());
        }
        if hard_deny(*ex, m, p).is_some() {
            reserved.push(ex.id());
        }
    }
    assert_eq!(
        readable,
        ["binance", "bybit", "okx", "bitget", "coinbase", "alpaca"]
    );
    assert_eq!(reserved, ["deribit", "kucoin", "kraken", "gate", "bitmex"]);
}

/// Each exchange's own error members for a refusal (ccxt classifies by them), keyward's own
/// `{"code","message"}` beside them.
#[test]
fn native_error_shapes() {
    // (exchange, where the exchange's code or message is, for 403, for 401, for a 502 if any)
    let native: [(&str, &str, Value, Value, Option<Value>); 8] = [
        ("binance", "/code", json!(-1002), json!(-2015), None),
        ("bybit", "/retCode", json!(10005), json!(10003), None),
        ("okx", "/code", json!("50110"), json!("50111"), None),
        ("bitget", "/code", json!("40014"), json!("40006"), None),
        ("kucoin", "/code", json!("400007"), json!("400003"), None),
        (
            "gate",
            "/label",
            json!("FORBIDDEN"),
            json!("INVALID_KEY"),
            Some(json!("SERVER_ERROR")),
        ),
        (
            "kraken",
            "/error/0",
            json!("EGeneral:Permission denied"),
            json!("EAPI:Invalid key"),
            Some(json!("EService:Unavailable")),
        ),
        (
            "bitmex",
            "/error/message",
            json!("Access Denied"),
            json!("Invalid API Key."),
            Some(json!("Service unavailable")),
        ),
    ];
    let body = |ex: &dyn Exchange, r: &Refusal| -> Value {
        serde_json::from_str(&r.to_json_with(ex.native_error(r))).unwrap()
    };
    let forbidden = Refusal::forbidden("hard_deny", "withdrawals are never allowed");
    let unknown = Refusal::unauthenticated("who");
    let upstream = Refusal::new(RefusalKind::Upstream, "upstream", "x");
    for ex in registry() {
        let Some((_, at, denied, unauthenticated, unavailable)) =
            native.iter().find(|row| row.0 == ex.id())
        else {
            for r in [&forbidden, &unknown, &upstream] {
                assert!(ex.native_error(r).is_empty(), "{}", ex.id());
            }
            continue;
        };
        let v = body(*ex, &forbidden);
        assert_eq!(v.pointer(at), Some(denied), "{}: {v}", ex.id());
        // keyward's own member is `error`, or `keyward` where the exchange's shape needs `error`.
        let own = if at.starts_with("/error/") {
            "keyward"
        } else {
            "error"
        };
        assert_eq!(v[own]["code"], "hard_deny", "{}: {v}", ex.id());
        let v = body(*ex, &unknown);
        assert_eq!(v.pointer(at), Some(unauthenticated), "{}: {v}", ex.id());
        match unavailable {
            None => assert!(ex.native_error(&upstream).is_empty(), "{}", ex.id()),
            Some(want) => assert_eq!(body(*ex, &upstream).pointer(at), Some(want), "{}", ex.id()),
        }
    }
    assert_eq!(
        ids(registry()
            .iter()
            .copied()
            .filter(|e| e.native_error(&forbidden).is_empty())),
        ["coinbase", "deribit", "alpaca"]
    );
}

/// A public request to an exchange, and what keyward sends upstream for it.
struct PublicCase {
    exchange: &'static str,
    path: &'static str,
    query: Option<&'static str>,
    host: &'static str,
    target: &'static str,
    /// Every header sent: none of the credential, only what every request of that exchange
    /// carries (KuCoin names its host).
    headers: &'static [&'static str],
}

const PUBLIC_CASES: &[PublicCase] = &[
    PublicCase {
        exchange: "binance",
        path: "/api/v3/depth",
        query: Some("symbol=BTCUSDT"),
        host: "api.binance.com",
        target: "/api/v3/depth?symbol=BTCUSDT",
        headers: &[],
    },
    PublicCase {
        exchange: "bybit",
        path: "/v5/market/instruments-info",
        query: Some("category=spot"),
        host: "api.bybit.com",
        target: "/v5/market/instruments-info?category=spot",
        headers: &[],
    },
    PublicCase {
        exchange: "okx",
        path: "/api/v5/public/instruments",
        query: Some("instType=SPOT"),
        host: "www.okx.com",
        target: "/api/v5/public/instruments?instType=SPOT",
        headers: &[],
    },
    PublicCase {
        exchange: "bitget",
        path: "/api/v2/mix/market/contracts",
        query: Some("productType=USDT-FUTURES"),
        host: "api.bitget.com",
        target: "/api/v2/mix/market/contracts?productType=USDT-FUTURES",
        headers: &[],
    },
    PublicCase {
        exchange: "coinbase",
        path: "/api/v3/brokerage/market/products",
        query: Some("product_type=SPOT"),
        host: "api.coinbase.com",
        target: "/api/v3/brokerage/market/products?product_type=SPOT",
        headers: &[],
    },
    PublicCase {
        exchange: "deribit",
        path: "/api/v2/public/get_instruments",
        query: Some("currency=BTC"),
        host: "www.deribit.com",
        target: "/api/v2/public/get_instruments?currency=BTC",
        headers: &[],
    },
    PublicCase {
        exchange: "alpaca",
        path: "/data/v1beta3/crypto/us/latest/orderbooks",
        query: Some("symbols=BTC%2FUSD"),
        host: "data.alpaca.markets",
        target: "/v1beta3/crypto/us/latest/orderbooks?symbols=BTC%2FUSD",
        headers: &[],
    },
    PublicCase {
        exchange: "kucoin",
        path: "/api/v2/symbols",
        query: None,
        host: "api.kucoin.com",
        target: "/api/v2/symbols",
        headers: &["host"],
    },
    PublicCase {
        exchange: "kucoin",
        path: "/futures/api/v1/contracts/XBTUSDTM",
        query: None,
        host: "api-futures.kucoin.com",
        target: "/api/v1/contracts/XBTUSDTM",
        headers: &["host"],
    },
    PublicCase {
        exchange: "kraken",
        path: "/0/public/Depth",
        query: Some("pair=XBTUSD"),
        host: "api.kraken.com",
        target: "/0/public/Depth?pair=XBTUSD",
        headers: &[],
    },
    PublicCase {
        exchange: "gate",
        path: "/api/v4/spot/order_book",
        query: Some("currency_pair=BTC_USDT"),
        host: "api.gateio.ws",
        target: "/api/v4/spot/order_book?currency_pair=BTC_USDT",
        headers: &[],
    },
    PublicCase {
        exchange: "bitmex",
        path: "/api/v1/instrument/active",
        query: None,
        host: "www.bitmex.com",
        target: "/api/v1/instrument/active",
        headers: &[],
    },
];

/// A public request goes out with none of the credential: no key, no signature, no auth
/// header.
#[test]
fn public_requests_carry_no_credential() {
    for ex in registry() {
        assert!(
            PUBLIC_CASES.iter().any(|c| c.exchange == ex.id()),
            "{} has no case",
            ex.id()
        );
    }
    let credential = testing::credential("real-api-key", "real-secret", Some("real-passphrase"));
    for case in PUBLIC_CASES {
        let (id, path) = (case.exchange, case.path);
        let ex = lookup(id).unwrap();
        let route = ex.route(path).unwrap();
        assert_eq!(
            (route.host, route.access),
            (case.host, Access::Public),
            "{id} {path}"
        );
        let req = testing::canon(ex, Method::Get, path, case.query, "");
        let out = ex
            .sign(
                &req,
                Signing::new(Access::Public, &credential, SystemTime::now()),
            )
            .unwrap();
        assert_eq!(out.host, case.host, "{id} {path}");
        assert_eq!(out.path_and_query, case.target, "{id} {path}");
        assert!(out.body.is_empty(), "{id} {path}");
        let names: Vec<&str> = out.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, case.headers, "{id} {path}");
    }
}

#[test]
fn no_signer_leaks_the_credential_through_debug() {
    use crate::vault::CredentialSecrets;
    const KEY: &str = "APIKEY0leakcheck0key";
    const SECRET: &str = "SECRET0leakcheck0sec";
    const PASS: &str = "PASS0leakcheck0phrase";
    let ed25519_seed_b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let leaks = [
        KEY.to_owned(),
        SECRET.to_owned(),
        PASS.to_owned(),
        ed25519_seed_b64.clone(),
    ];
    for ex in registry() {
        let secret = match ex.secret_form() {
            SecretForm::Text | SecretForm::TextOrPem => SECRET.to_owned(),
            // base64 of the marker text, so the decoded key is the marker
            SecretForm::Base64 => base64::engine::general_purpose::STANDARD.encode(SECRET),
            SecretForm::PrivateKey => ed25519_seed_b64.clone(),
        };
        let secrets = CredentialSecrets {
            api_key: SecretBytes::copy_from(KEY.as_bytes()),
            secret: SecretBytes::copy_from(secret.as_bytes()),
            passphrase: ex
                .needs_passphrase()
                .then(|| SecretBytes::copy_from(PASS.as_bytes())),
        };
        let cred = Credential::load(*ex, secrets, 5000, Nonce::in_memory()).unwrap();
        assert!(!format!("{cred:?}").contains(KEY));
        let (method, path) = ex.permission_endpoint();
        let req =
            crate::request::canonicalise(method, path, None, None, b"", &ex.canon_rules()).unwrap();
        let out = ex
            .sign(&req, Signing::new(Access::Signed, &cred, SystemTime::now()))
            .unwrap_or_else(|e| panic!("{}: {e}", ex.id()));
        let shown = format!("{out:?}");
        for leak in &leaks {
            assert!(
                !shown.contains(leak.as_str()),
                "{}: Debug of Outbound shows {leak}",
                ex.id()
            );
        }
        // Every header that carries credential material is marked sensitive.
        for (name, value) in &out.headers {
            let v = String::from_utf8_lossy(value.as_bytes());
            if leaks.iter().any(|l| v.contains(l.as_str())) {
                assert!(value.is_sensitive(), "{}: {name} is not sensitive", ex.id());
            }
        }
    }
}

/// Every shipped profile loads from its data files (through `registry`, as `lookup` does at
/// start-up), and its tables keep what the code relied on when they were Rust: each order and
/// leverage endpoint takes a method the exchange uses and says where it was written from, and
/// each order endpoint is one a preset allows; every deny rule, preset and public path is well formed.
#[test]
fn shipped_profiles_load() {
    for ex in registry() {
        let p = ex.profile();
        let id = p.id;
        assert!(std::ptr::eq(p, ex.profile()), "{id}: read once");
        for e in p.orders.iter().chain(p.leverage) {
            let at = format!("{id}: {} {}", e.method, e.path);
            assert!(p.conventions.methods.contains(&e.method), "{at}");
            assert!(!e.spec.source.trim().is_empty(), "{at}: no source");
            let allowed = p
                .presets
                .iter()
                .flat_map(|preset| preset.entries)
                .any(|(m, path)| *m == e.method && path == &e.path);
            // A leverage endpoint may be one only a rule names (BitMEX's crossLeverage).
            let leverage = p.leverage.iter().any(|l| std::ptr::eq(l, e));
            assert!(allowed || leverage, "{at}: in no preset");
            for (name, _) in e.spec.fields {
                let twice = e.spec.fields.iter().filter(|(n, _)| n == name).count();
                assert_eq!(twice, 1, "{at}: '{name}' listed {twice} times");
            }
        }
        for rule in p.deny {
            assert!(
                rule.path.starts_with('/') && !rule.reason.is_empty(),
                "{id}: {rule:?}"
            );
        }
        for path in p.public.paths.iter().chain(p.public.prefixes) {
            assert!(path.starts_with('/'), "{id}: public {path}");
        }
    }
}
