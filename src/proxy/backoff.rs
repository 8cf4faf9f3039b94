//! The exchange's own "too many requests" (429) and "banned" (418, Binance's IP ban), with
//! `Retry-After`: keyward passes the answer back, then holds every further request of that
//! client to that credential until the time has passed, answering 429 `exchange_backoff` itself,
//! so that a bot that ignores the exchange cannot get the key (or keyward's address) banned for
//! longer. Where the exchange's limits follow the source address (`limits_by_ip`, Binance),
//! the hold covers every client of every credential of that exchange: they all leave from
//! keyward's address, and one bot's excess would get the others banned with it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use http::{header, HeaderMap, StatusCode};

use crate::request::{Refusal, RefusalKind};

/// Without a readable `Retry-After`: how long to hold after a 429, and after a 418.
const DEFAULT_429: Duration = Duration::from_secs(10);
const DEFAULT_418: Duration = Duration::from_secs(120);
/// Longest hold keyward believes (Binance's longest IP ban is three days).
const MOST: Duration = Duration::from_secs(3 * 24 * 3600);

/// Held (client, credential) pairs and until when: client → credential → hold, so that the
/// per-request [`Backoffs::check`] looks up borrowed names and allocates nothing; and held
/// exchanges (those whose limits follow the IP address).
#[derive(Default)]
pub struct Backoffs {
    pairs: Mutex<HashMap<String, HashMap<String, Hold>>>,
    exchanges: Mutex<HashMap<&'static str, Hold>>,
}

/// What one 429/418 holds.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// That client on that credential.
    Pair {
        client: &'a str,
        credential: &'a str,
    },
    /// Every request to the exchange (its limits follow keyward's IP address).
    Exchange(&'static str),
}

#[derive(Clone, Copy, Debug)]
struct Hold {
    until: Instant,
    /// The same moment on the wall clock, for messages.
    wall: SystemTime,
    status: u16,
}

impl Backoffs {
    /// Looks at the exchange's answer to a request: a 429 or 418 holds `scope` for its
    /// `Retry-After` (seconds or an HTTP date), or a default when it has none.
    pub fn observe(&self, scope: Scope<'_>, status: StatusCode, headers: &HeaderMap) {
        let default = match status.as_u16() {
            429 => DEFAULT_429,
            418 => DEFAULT_418,
            _ => return,
        };
        let wait = retry_after(headers, SystemTime::now())
            .unwrap_or(default)
            .min(MOST);
        let hold = Hold {
            until: Instant::now() + wait,
            wall: SystemTime::now() + wait,
            status: status.as_u16(),
        };
        let now = Instant::now();
        let (client, credential) = match scope {
            Scope::Exchange(exchange) => {
                tracing::warn!(
                    exchange,
                    status = hold.status,
                    retry_after_s = wait.as_secs(),
                    "the exchange refused for rate and its limits follow keyward's address; keyward holds every request to it until then"
                );
                let mut held = self
                    .exchanges
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                held.retain(|_, h| h.until > now);
                return longer(held.entry(exchange).or_insert(hold), hold);
            }
            Scope::Pair { client, credential } => (client, credential),
        };
        tracing::warn!(
            client,
            credential,
            status = hold.status,
            retry_after_s = wait.as_secs(),
            "the exchange refused for rate; keyward holds this client's requests until then"
        );
        let mut held = self.pairs.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|_, by_credential| {
            by_credential.retain(|_, h| h.until > now);
            !by_credential.is_empty()
        });
        let slot = held
            .entry(client.to_owned())
            .or_default()
            .entry(credential.to_owned())
            .or_insert(hold);
        longer(slot, hold);
    }

    /// Refuses a request of `client` on `credential` while the exchange's hold lasts.
    pub fn check(&self, client: &str, credential: &str, exchange: &str) -> Result<(), Refusal> {
        let whole = self
            .exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(exchange)
            .copied();
        if let Some(hold) = whole.filter(|h| h.until > Instant::now()) {
            let (seconds, at) = hold.left();
            return Err(Refusal::new(
                RefusalKind::RateLimited,
                "exchange_backoff",
                format!(
                    "{exchange} answered {} with Retry-After, and its limits follow keyward's IP address; keyward holds every request to {exchange} until {at} ({seconds} s) so that the address is not banned",
                    hold.status,
                ),
            )
            .retry_after(seconds));
        }
        let mut held = self.pairs.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(hold) = held.get(client).and_then(|c| c.get(credential)).copied() else {
            return Ok(());
        };
        let left = hold.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // Past: forget it, so the table holds only holds in force.
            if let Some(by_credential) = held.get_mut(client) {
                by_credential.remove(credential);
                if by_credential.is_empty() {
                    held.remove(client);
                }
            }
            return Ok(());
        }
        drop(held);
        let (seconds, at) = hold.left();
        Err(Refusal::new(
            RefusalKind::RateLimited,
            "exchange_backoff",
            format!(
                "{exchange} answered {} with Retry-After; keyward holds client {client}'s requests to credential {credential} until {at} ({seconds} s) so that the key is not banned",
                hold.status,
            ),
        )
        .retry_after(seconds))
    }
}

impl Hold {
    /// Whole seconds left (rounded up) and the end on the wall clock, for the refusal.
    fn left(&self) -> (u64, humantime::Rfc3339Timestamp) {
        let left = self.until.saturating_duration_since(Instant::now());
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        (seconds, humantime::format_rfc3339_seconds(self.wall))
    }
}

/// A later, longer hold wins; a shorter one does not cut an earlier one short.
fn longer(slot: &mut Hold, hold: Hold) {
    if slot.until < hold.until {
        *slot = hold;
    }
}

/// `Retry-After` (RFC 9110 §10.2.3) as delay-seconds or as an HTTP date, read against `now`; a
/// date already past is no wait. Anything else is unreadable (the default applies).
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair<'a>(client: &'a str, credential: &'a str) -> Scope<'a> {
        Scope::Pair { client, credential }
    }

    fn answer(seconds: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(s) = seconds {
            h.insert(header::RETRY_AFTER, s.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_429_holds_that_client_on_that_credential() {
        let b = Backoffs::default();
        b.observe(pair("bot", "main"), StatusCode::OK, &answer(Some("30")));
        assert!(b.check("bot", "main", "binance").is_ok());
        b.observe(
            pair("bot", "main"),
            StatusCode::TOO_MANY_REQUESTS,
            &answer(Some("30")),
        );
        let r = b.check("bot", "main", "binance").unwrap_err();
        assert_eq!((r.code, r.retry_after), ("exchange_backoff", Some(30)));
        assert!(r.message.contains("binance answered 429"), "{}", r.message);
        assert!(b.check("other", "main", "binance").is_ok());
        assert!(b.check("bot", "alt", "binance").is_ok());
        // A shorter hold does not shorten it; an unreadable Retry-After takes the default.
        b.observe(
            pair("bot", "main"),
            StatusCode::TOO_MANY_REQUESTS,
            &answer(Some("1")),
        );
        assert_eq!(
            b.check("bot", "main", "x").unwrap_err().retry_after,
            Some(30)
        );
        b.observe(
            pair("bot", "alt"),
            StatusCode::IM_A_TEAPOT,
            &answer(Some("soon")),
        );
        assert_eq!(
            b.check("bot", "alt", "x").unwrap_err().retry_after,
            Some(120)
        );
        b.observe(
            pair("bot", "zero"),
            StatusCode::TOO_MANY_REQUESTS,
            &answer(Some("0")),
        );
        assert!(b.check("bot", "zero", "x").is_ok());
    }

    #[test]
    fn an_exchange_whose_limits_follow_the_ip_is_held_for_every_client_and_credential() {
        let b = Backoffs::default();
        b.observe(
            Scope::Exchange("binance"),
            StatusCode::IM_A_TEAPOT,
            &answer(Some("60")),
        );
        for (client, credential) in [("bot", "main"), ("other", "alt")] {
            let r = b.check(client, credential, "binance").unwrap_err();
            assert_eq!((r.code, r.retry_after), ("exchange_backoff", Some(60)));
            assert!(
                r.message.contains("follow keyward's IP address"),
                "{}",
                r.message
            );
        }
        assert!(
            b.check("bot", "main", "bybit").is_ok(),
            "other exchanges are not held"
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = httpdate::parse_http_date("Thu, 03 Dec 2026 18:00:00 GMT").unwrap();
        let read = |v: &str| retry_after(&answer(Some(v)), now);
        assert_eq!(read("30"), Some(Duration::from_secs(30)));
        // IMF-fixdate, and the obsolete RFC 850 and asctime forms RFC 9110 says to accept.
        assert_eq!(
            read("Thu, 03 Dec 2026 18:01:30 GMT"),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            read("Thursday, 03-Dec-26 18:00:45 GMT"),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            read("Thu Dec  3 18:02:00 2026"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(read("Thu, 03 Dec 2026 17:59:00 GMT"), Some(Duration::ZERO));
        for unreadable in ["soon", "-5", "1.5", "Thu, 03 Dec 2026 18:01:30 CET"] {
            assert_eq!(read(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn an_http_date_holds_the_client_until_then() {
        let b = Backoffs::default();
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(600));
        b.observe(
            pair("bot", "main"),
            StatusCode::TOO_MANY_REQUESTS,
            &answer(Some(&later)),
        );
        let held = b
            .check("bot", "main", "x")
            .unwrap_err()
            .retry_after
            .unwrap();
        assert!((598..=601).contains(&held), "{held}");
    }
}
