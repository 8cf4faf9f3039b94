//! Per-client request rates: a token bucket refilled continuously, with a burst of one period.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate such as `20/s`, `600/m` or `10000/h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("{s:?} is not a rate; write it as COUNT/UNIT, e.g. \"20/s\", \"600/m\" or \"10000/h\"")
        };
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: the count must be at least 1"));
        }
        // The unit, with an optional multiple: "s", "2s", "10s", "m", "5m", "h".
        let unit = unit.trim();
        let digits = unit.len() - unit.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (times, unit) = unit.split_at(digits);
        let times: u64 = match times {
            "" => 1,
            t => t.parse().ok().filter(|&t| t >= 1).ok_or_else(bad)?,
        };
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        let per = Duration::from_secs(times.checked_mul(seconds).ok_or_else(bad)?);
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.per.as_secs();
        let (times, unit) = match secs {
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        match times {
            1 => write!(f, "{}/{unit}", self.count),
            n => write!(f, "{}/{n}{unit}", self.count),
        }
    }
}

/// A token bucket: `count` requests of burst, refilled at `count` per `per`.
#[derive(Debug)]
pub struct Limiter {
    capacity: f64,
    per_sec: f64,
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        let capacity = f64::from(rate.count);
        Limiter::bucket(capacity, capacity / rate.per.as_secs_f64())
    }

    /// A bucket of `capacity`, full at first, refilled at `per_sec` (Kraken's API counter:
    /// 15, decaying 0.33 a second).
    pub fn bucket(capacity: f64, per_sec: f64) -> Self {
        Limiter {
            capacity,
            per_sec,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Puts back `weight` taken by [`Limiter::take`] for a request that was then not sent
    /// (another budget refused it).
    pub fn give_back(&self, weight: f64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = (state.0 + weight).min(self.capacity);
    }

    /// Takes one request's worth of budget; `false` means over the limit.
    pub fn try_acquire(&self) -> bool {
        self.try_acquire_at(Instant::now())
    }

    fn try_acquire_at(&self, now: Instant) -> bool {
        self.take_at(now, 1.0).is_ok()
    }

    /// Takes `weight` of budget, or says how long until that much is back (then nothing is
    /// taken). A weight above the whole capacity can never be taken.
    pub fn take(&self, weight: f64) -> Result<(), Duration> {
        self.take_at(Instant::now(), weight)
    }

    fn take_at(&self, now: Instant, weight: f64) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = self.refilled(*state, now);
        if tokens >= weight {
            *state = (tokens - weight, now);
            Ok(())
        } else {
            *state = (tokens, now);
            let missing = (weight.min(self.capacity) - tokens).max(0.0);
            Err(Duration::from_secs_f64(missing / self.per_sec))
        }
    }

    /// Whether one unit is available now, without taking it; else how long until it is.
    pub fn peek(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = self.refilled(*state, now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_sec))
        }
    }

    /// Whether the bucket is full again (nothing of it is in use).
    fn is_full(&self, now: Instant) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refilled(*state, now) >= self.capacity
    }

    fn refilled(&self, (tokens, last): (f64, Instant), now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        (tokens + elapsed * self.per_sec).min(self.capacity)
    }
}

/// One [`Limiter`] per key (a source address), created on first use. The table is bounded:
/// when it is full, keys whose buckets have refilled are forgotten; a new key that still finds
/// no room is not limited (and a warning is logged), so an attacker with many addresses cannot
/// grow keyward's memory without bound.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    rate: Rate,
    most: usize,
    table: Mutex<HashMap<K, Limiter>>,
}

impl<K: Eq + Hash + Clone + fmt::Debug> KeyedLimiter<K> {
    pub fn new(rate: Rate, most: usize) -> Self {
        KeyedLimiter {
            rate,
            most,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has budget left; else how long until it has.
    pub fn peek(&self, key: &K) -> Result<(), Duration> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.get(key).map_or(Ok(()), Limiter::peek)
    }

    /// Spends one unit of `key`'s budget; else how long until one is back.
    pub fn spend(&self, key: &K) -> Result<(), Duration> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !table.contains_key(key) && table.len() >= self.most {
            let now = Instant::now();
            table.retain(|_, l| !l.is_full(now));
            if table.len() >= self.most {
                tracing::warn!(key = ?key, "rate table full; this key is not limited");
                return Ok(());
            }
        }
        table
            .entry(key.clone())
            .or_insert_with(|| Limiter::new(self.rate))
            .take(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            "20/s".parse::<Rate>().unwrap(),
            Rate {
                count: 20,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!("600/m".parse::<Rate>().unwrap().to_string(), "600/m");
        // Windows of several units, as exchanges publish them (OKX "60 per 2 s").
        let two = "60/2s".parse::<Rate>().unwrap();
        assert_eq!((two.count, two.per), (60, Duration::from_secs(2)));
        for (text, shown) in [
            ("60/2s", "60/2s"),
            ("4000/30s", "4000/30s"),
            ("5/60s", "5/m"),
            ("1/120m", "1/2h"),
        ] {
            assert_eq!(text.parse::<Rate>().unwrap().to_string(), shown);
        }
        for bad in [
            "", "20", "0/s", "20/d", "x/s", "-1/s", "5/0s", "5/2", "5/s2", "5/-2s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_bursts_then_refills() {
        let l = Limiter::new("3/s".parse().unwrap());
        let t0 = Instant::now();
        assert!(l.try_acquire_at(t0));
        assert!(l.try_acquire_at(t0));
        assert!(l.try_acquire_at(t0));
        assert!(!l.try_acquire_at(t0));
        // one token back after a third of a second
        assert!(l.try_acquire_at(t0 + Duration::from_millis(340)));
        assert!(!l.try_acquire_at(t0 + Duration::from_millis(340)));
    }

    #[test]
    fn weights_take_more_and_say_how_long_to_wait() {
        let l = Limiter::new("60/m".parse().unwrap());
        let t0 = Instant::now();
        assert!(l.take_at(t0, 50.0).is_ok());
        let wait = l.take_at(t0, 20.0).unwrap_err();
        assert!((9..=11).contains(&wait.as_secs()), "{wait:?}");
        assert!(l.take_at(t0 + Duration::from_secs(10), 20.0).is_ok());
    }

    #[test]
    fn keyed_limits_each_key_alone_and_stays_bounded() {
        let k = KeyedLimiter::new("2/m".parse().unwrap(), 2);
        assert!(k.spend(&1).is_ok() && k.spend(&1).is_ok());
        assert!(k.peek(&1).is_err() && k.spend(&1).is_err());
        assert!(k.peek(&2).is_ok() && k.spend(&2).is_ok());
        // The table is full (1 and 2 in use): a third key is not tracked.
        assert!(k.spend(&3).is_ok() && k.spend(&3).is_ok() && k.spend(&3).is_ok());
        assert_eq!(k.table.lock().unwrap().len(), 2);
    }
}
