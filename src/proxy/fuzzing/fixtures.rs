//! The fuzz targets' fixed world: the allowlist a fuzzed client holds on each exchange and a
//! credential from public test material.

use std::sync::OnceLock;

use crate::exchange::nonce::Nonce;
use crate::exchange::{self, Credential, Exchange};
use crate::order::Meaning;
use crate::policy::{self, AllowEntry, Allowlist, RuleEntry};
use crate::secret::SecretBytes;
use crate::vault::CredentialSecrets;

/// The fixed, representative allowlist a fuzzed client holds on `exchange`: every order,
/// amend and batch endpoint of its order tables with a notional limit (1000) where the
/// exchange's orders can be bounded in the quote asset; on an exchange that sizes every order
/// in contracts ([`CONTRACT_SIZED`]), a bound ([`MAX_CONTRACTS`]) on the endpoint's size
/// fields instead; else a size limit (1) on the field named `quantity`, else unconstrained;
/// then its `read` preset.
pub fn allowlist(exchange: &'static dyn Exchange) -> &'static Allowlist {
    static LISTS: OnceLock<Vec<(&'static str, Allowlist)>> = OnceLock::new();
    let lists = LISTS.get_or_init(|| {
        exchange::registry()
            .iter()
            .map(|e| (e.id(), build_allowlist(*e)))
            .collect()
    });
    lists
        .iter()
        .find(|(id, _)| *id == exchange.id())
        .map(|(_, a)| a)
        .expect("every registered exchange has an allowlist")
}

/// Exchanges that size every order in contracts of a multiplier keyward does not know offline
/// (BitMEX `orderQty`, [`SizeUnit::Contracts`](crate::order::SizeUnit::Contracts)): such an
/// order has no notional, so a notional limit refuses every one of them and the fuzzer would
/// never reach their signers.
const CONTRACT_SIZED: &[&str] = &["bitmex"];
/// The bound on the size fields of a [`CONTRACT_SIZED`] exchange's orders, in contracts.
const MAX_CONTRACTS: &str = "1000";

fn build_allowlist(exchange: &'static dyn Exchange) -> Allowlist {
    let mut entries: Vec<AllowEntry> = Vec::new();
    for endpoint in exchange.profile().orders {
        let rule = |max: &[(&str, &str)]| RuleEntry {
            method: endpoint.method.as_str().to_owned(),
            path: endpoint.path.to_owned(),
            max: max
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..RuleEntry::default()
        };
        let fits = |entry: &AllowEntry| {
            let mut with = entries.clone();
            with.push(entry.clone());
            policy::compile(exchange, with).is_ok()
        };
        let contracts: Vec<(&str, &str)> = endpoint
            .spec
            .fields
            .iter()
            .filter(|(_, meaning)| matches!(meaning, Meaning::BaseSize))
            .map(|(field, _)| (*field, MAX_CONTRACTS))
            .collect();
        let candidates = if CONTRACT_SIZED.contains(&exchange.id()) && !contracts.is_empty() {
            vec![rule(&contracts)]
        } else {
            vec![rule(&[(policy::NOTIONAL, "1000")])]
        };
        if let Some(entry) = candidates
            .into_iter()
            .chain([rule(&[("quantity", "1")]), rule(&[])])
            .map(AllowEntry::Rule)
            .find(|e| fits(e))
        {
            entries.push(entry);
        }
    }
    let read = AllowEntry::Preset(format!("{}:read", exchange.id()));
    let mut with_read = entries.clone();
    with_read.push(read);
    policy::compile(exchange, with_read)
        .or_else(|_| policy::compile(exchange, entries))
        .expect("the fuzzed allowlist compiles")
}

/// A credential for `exchange` from public test material (an HMAC text secret; for exchanges
/// whose keys are private keys, RFC 6979 A.2.5's P-256 key). Never a real key.
pub fn credential(exchange: &'static dyn Exchange) -> &'static Credential {
    static CREDENTIALS: OnceLock<Vec<(&'static str, Credential)>> = OnceLock::new();
    let all = CREDENTIALS.get_or_init(|| {
        exchange::registry()
            .iter()
            .map(|e| (e.id(), test_credential(*e)))
            .collect()
    });
    all.iter()
        .find(|(id, _)| *id == exchange.id())
        .map(|(_, c)| c)
        .expect("every registered exchange has a test credential")
}

/// RFC 6979 A.2.5's P-256 private key (a published test vector), SEC1 PEM.
const TEST_EC_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMmvqdhFunUWa1whV2ex1pNOUMPbNuibEnuKYisSD2choAoGCCqGSM49
AwEHoUQDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8
maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==
-----END EC PRIVATE KEY-----
";

fn test_credential(exchange: &'static dyn Exchange) -> Credential {
    let secret: &[u8] = match exchange.secret_form() {
        exchange::SecretForm::PrivateKey => TEST_EC_PEM.as_bytes(),
        // base64 of "keyward fuzzing test secret, not a real key".
        exchange::SecretForm::Base64 => {
            b"a2V5d2FyZCBmdXp6aW5nIHRlc3Qgc2VjcmV0LCBub3QgYSByZWFsIGtleQ=="
        }
        _ => b"keyward-fuzzing-test-secret-not-a-real-key",
    };
    let secrets = CredentialSecrets {
        api_key: SecretBytes::copy_from(b"keyward-fuzzing-test-key"),
        secret: SecretBytes::copy_from(secret),
        passphrase: exchange
            .needs_passphrase()
            .then(|| SecretBytes::copy_from(b"fuzzing-passphrase")),
    };
    Credential::load(exchange, secrets, 5000, Nonce::in_memory())
        .unwrap_or_else(|e| panic!("{}: the test credential does not load: {e}", exchange.id()))
}
