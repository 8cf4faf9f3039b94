//! Per-client request rates: a token bucket refilled continuously, with a burst of one period.

use std::fmt;
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
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "m",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
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
        Limiter {
            capacity,
            per_sec: capacity / rate.per.as_secs_f64(),
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Takes one request's worth of budget; `false` means over the limit.
    pub fn try_acquire(&self) -> bool {
        self.try_acquire_at(Instant::now())
    }

    fn try_acquire_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = *state;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.per_sec).min(self.capacity);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
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
        for bad in ["", "20", "0/s", "20/d", "x/s", "-1/s"] {
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
}
