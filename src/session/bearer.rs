//! Bearer tokens an exchange issues over REST for its sockets (Kraken's `GetWebSocketsToken`):
//! a real one would let a bot use the exchange around keyward, so the bot gets a placeholder of
//! its own, and keyward swaps it for the real token in the frames it sends for that bot.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::secret::SecretBytes;

/// How long a placeholder stays usable (Kraken's tokens must be used within 15 minutes and then
/// live as long as the socket).
const LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Placeholders kept at most; the oldest go first.
const MAX: usize = 10_000;

/// Placeholders issued, each bound to one client and credential.
#[derive(Default)]
pub struct Bearers(Mutex<HashMap<String, Issued>>);

struct Issued {
    client: String,
    credential: String,
    real: SecretBytes,
    at: Instant,
}

impl Bearers {
    /// A placeholder for `real`, issued to `client` of `credential`: the one it already has for
    /// that token (renewed; Binance answers a listen key's keepalive with the same key), or a
    /// fresh one.
    pub fn issue(&self, client: &str, credential: &str, real: SecretBytes) -> String {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, i| i.at.elapsed() < LIFETIME);
        if let Some((placeholder, issued)) = map.iter_mut().find(|(_, i)| {
            i.client == client && i.credential == credential && i.real.expose() == real.expose()
        }) {
            issued.at = Instant::now();
            return placeholder.clone();
        }
        let mut bytes = [0u8; 16];
        // getrandom fails only without an OS entropy source, where nothing else works either.
        getrandom::getrandom(&mut bytes).expect("the OS random source is available");
        let placeholder = format!("keyward-{}", hex::encode(bytes));
        if map.len() >= MAX {
            if let Some(oldest) = map.iter().min_by_key(|(_, i)| i.at).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(
            placeholder.clone(),
            Issued {
                client: client.to_owned(),
                credential: credential.to_owned(),
                real,
                at: Instant::now(),
            },
        );
        placeholder
    }

    /// The client a placeholder was issued to and the real token, if it was issued for
    /// `credential` and has not expired.
    pub fn resolve(&self, credential: &str, placeholder: &str) -> Option<(String, SecretBytes)> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(placeholder)
            .filter(|i| i.credential == credential && i.at.elapsed() < LIFETIME)
            .map(|i| (i.client.clone(), SecretBytes::copy_from(i.real.expose())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_resolves_only_for_its_credential() {
        let bearers = Bearers::default();
        let p = bearers.issue("bot", "kraken-main", SecretBytes::copy_from(b"real"));
        assert!(p.starts_with("keyward-") && !p.contains("real"));
        let (client, real) = bearers.resolve("kraken-main", &p).unwrap();
        assert_eq!((client.as_str(), real.expose()), ("bot", &b"real"[..]));
        assert!(bearers.resolve("other", &p).is_none());
        assert!(bearers.resolve("kraken-main", "keyward-guess").is_none());
        // the same token for the same bot keeps its placeholder; another token or bot does not
        assert_eq!(
            p,
            bearers.issue("bot", "kraken-main", SecretBytes::copy_from(b"real"))
        );
        assert_ne!(
            p,
            bearers.issue("bot", "kraken-main", SecretBytes::copy_from(b"other"))
        );
        assert_ne!(
            p,
            bearers.issue("bot2", "kraken-main", SecretBytes::copy_from(b"real"))
        );
    }
}
