//! Each exchange's public server-time endpoint and how to read its answer: what `keyward doctor`
//! compares this host's clock with (a signed request carries keyward's clock, and exchanges
//! refuse one outside their receive window). Written from each exchange's own documentation.
//! Where an exchange has no public time endpoint, the HTTP `Date` header of a public answer is
//! read instead (one-second resolution).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// One reading of an exchange's clock against this host's.
#[derive(Debug, Clone, Copy)]
pub struct ClockReading {
    /// The exchange's time minus this host's at the middle of the round trip, in milliseconds
    /// (positive: this host is behind).
    pub skew_ms: i64,
    pub round_trip: Duration,
    /// How precisely the exchange's answer tells the time.
    pub resolution: Duration,
}

/// What the number at the pointer counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Millis,
    Nanos,
}

/// Where an exchange tells its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSource {
    /// A JSON number (or a string of digits) at this JSON pointer of the answer.
    Json { pointer: &'static str, unit: Unit },
    /// The answer's `Date` header (whatever its status).
    DateHeader,
}

/// A public endpoint (GET, unsigned) and where its answer tells the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeEndpoint {
    /// The path as a bot would send it to keyward (after the `/<credential>` prefix): what
    /// [`super::Exchange::route`] gives the host of.
    pub path: &'static str,
    /// The path and query sent to the exchange's host.
    pub upstream: &'static str,
    pub source: TimeSource,
}

const fn json(path: &'static str, pointer: &'static str, unit: Unit) -> TimeEndpoint {
    TimeEndpoint {
        path,
        upstream: path,
        source: TimeSource::Json { pointer, unit },
    }
}

/// The time endpoint of exchange `id`, or `None` for an exchange keyward does not know.
pub fn time_endpoint(id: &str) -> Option<TimeEndpoint> {
    use Unit::*;
    Some(match id {
        "binance" => json("/api/v3/time", "/serverTime", Millis),
        "okx" => json("/api/v5/public/time", "/data/0/ts", Millis),
        "bybit" => json("/v5/market/time", "/result/timeNano", Nanos),
        "coinbase" => json("/api/v3/brokerage/time", "/epochMillis", Millis),
        "kraken" => json("/0/public/Time", "/result/unixtime", Seconds),
        "kucoin" => json("/api/v1/timestamp", "/data", Millis),
        "gate" => json("/api/v4/spot/time", "/server_time", Millis),
        "bitget" => json("/api/v2/public/time", "/data/serverTime", Millis),
        "deribit" => json("/api/v2/public/get_time", "/result", Millis),
        // No public time endpoint: the Date of a public answer.
        "bitmex" => TimeEndpoint {
            path: "/api/v1/instrument/active",
            upstream: "/api/v1/instrument/active",
            source: TimeSource::DateHeader,
        },
        // Alpaca's clock (/v2/clock) needs the key; its public crypto data answers with a Date.
        "alpaca" => TimeEndpoint {
            path: "/data/v1beta3/crypto/us/latest/trades",
            upstream: "/v1beta3/crypto/us/latest/trades?symbols=BTC%2FUSD",
            source: TimeSource::DateHeader,
        },
        _ => return None,
    })
}

impl TimeEndpoint {
    /// The server's time from its answer (`body`, and its `Date` header if any), or `None` when
    /// the answer does not carry it where the exchange documents it.
    pub fn read(&self, body: &[u8], date_header: Option<&str>) -> Option<SystemTime> {
        match self.source {
            TimeSource::DateHeader => httpdate::parse_http_date(date_header?).ok(),
            TimeSource::Json { pointer, unit } => {
                let v: Value = serde_json::from_slice(body).ok()?;
                let n: u128 = match v.pointer(pointer)? {
                    Value::Number(n) => n.as_u64()?.into(),
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        s.parse().ok()?
                    }
                    _ => return None,
                };
                let since = match unit {
                    Unit::Seconds => Duration::from_secs(u64::try_from(n).ok()?),
                    Unit::Millis => Duration::from_millis(u64::try_from(n).ok()?),
                    Unit::Nanos => Duration::from_nanos(u64::try_from(n).ok()?),
                };
                UNIX_EPOCH.checked_add(since)
            }
        }
    }

    /// How precisely the answer tells the time.
    pub fn resolution(&self) -> Duration {
        match self.source {
            TimeSource::DateHeader => Duration::from_secs(1),
            TimeSource::Json {
                unit: Unit::Seconds,
                ..
            } => Duration::from_secs(1),
            TimeSource::Json { .. } => Duration::from_millis(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: SystemTime) -> u128 {
        t.duration_since(UNIX_EPOCH).unwrap().as_millis()
    }

    #[test]
    fn every_registered_exchange_has_a_time_endpoint_it_routes() {
        for x in crate::exchange::registry() {
            let at = time_endpoint(x.id()).unwrap_or_else(|| panic!("{} has none", x.id()));
            assert!(
                x.route(at.path).is_some(),
                "{}: {} is not routed",
                x.id(),
                at.path
            );
            assert!(at.upstream.starts_with('/'), "{}", x.id());
        }
        assert_eq!(time_endpoint("nope"), None);
    }

    #[test]
    fn answers_are_read_in_their_documented_units() {
        let cases: &[(&str, &str)] = &[
            ("binance", r#"{"serverTime":1700000000123}"#),
            ("okx", r#"{"code":"0","data":[{"ts":"1700000000123"}]}"#),
            (
                "bybit",
                r#"{"retCode":0,"result":{"timeSecond":"1700000000","timeNano":"1700000000123456789"}}"#,
            ),
            ("coinbase", r#"{"iso":"x","epochMillis":"1700000000123"}"#),
            ("kucoin", r#"{"code":"200000","data":1700000000123}"#),
            ("gate", r#"{"server_time":1700000000123}"#),
            ("bitget", r#"{"data":{"serverTime":"1700000000123"}}"#),
            ("deribit", r#"{"jsonrpc":"2.0","result":1700000000123}"#),
        ];
        for (id, body) in cases {
            let t = time_endpoint(id).unwrap().read(body.as_bytes(), None);
            assert_eq!(t.map(ms), Some(1700000000123), "{id}");
        }
        let kraken = time_endpoint("kraken").unwrap();
        let t = kraken.read(br#"{"error":[],"result":{"unixtime":1700000000}}"#, None);
        assert_eq!(t.map(ms), Some(1700000000000));
        assert_eq!(kraken.resolution(), Duration::from_secs(1));
    }

    #[test]
    fn a_date_header_is_read_and_anything_else_is_none() {
        let alpaca = time_endpoint("alpaca").unwrap();
        let t = alpaca.read(b"", Some("Tue, 14 Nov 2023 22:13:20 GMT"));
        assert_eq!(t.map(ms), Some(1700000000000));
        assert_eq!(alpaca.read(b"{}", None), None);
        let binance = time_endpoint("binance").unwrap();
        for body in [
            &b"{}"[..],
            b"not json",
            br#"{"serverTime":"12a"}"#,
            br#"{"serverTime":-5}"#,
            br#"{"serverTime":1.5}"#,
        ] {
            assert_eq!(
                binance.read(body, Some("Tue, 14 Nov 2023 22:13:20 GMT")),
                None
            );
        }
    }
}
