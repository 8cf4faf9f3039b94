//! Prometheus metrics: one [`Metrics`] registry per process (`prometheus-client`), fed by the
//! proxy's one outcome per request, the audit writer's appends and the token's operations, and
//! served as text by the admin listener's `GET /metrics`.
//!
//! Every family is registered at start-up, so each one's `# HELP`/`# TYPE` lines are there from
//! the first scrape; those without labels, and the labelled ones whose label values are known
//! up front (token operations, each credential's upstream), are exported at zero too. Label
//! values are bounded: client and credential names come from the config (or `anonymous`,
//! `unknown`, empty), rules are allowlist rule ids or preset names, never a path a bot sent.

mod token;

pub use token::MeteredToken;

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::MetricEncoder;
use prometheus_client::encoding::{text, EncodeLabelSet, EncodeLabelValue, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::audit::{FrameRecord, Verdict};

/// The content type of [`Metrics::encode`]'s text (OpenMetrics 1.0, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// keyward's own time per request: well under a millisecond when healthy.
const OWN_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// The exchange's time: tens to hundreds of milliseconds.
const UPSTREAM_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Token operations (20 µs HMAC on SoftHSM .. a second on a card) and audit appends.
const FAST_BUCKETS: [f64; 14] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
    0.5, 2.0,
];

/// How a request ended, as `keyward_requests_total` counts it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Decision {
    /// Allowed and forwarded; the exchange answered.
    allow,
    /// Refused by keyward: policy, authentication, limits, transport checks.
    deny,
    /// keyward or the exchange failed: audit disk, token, upstream unreachable.
    error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    client: String,
    credential: String,
    exchange: String,
    rule: String,
    decision: Decision,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FrameLabels {
    client: String,
    credential: String,
    rule: String,
    decision: Decision,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    client: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CredentialLabels {
    credential: String,
    exchange: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// A family whose `# HELP` and `# TYPE` lines are exported also while it has no series yet
/// (`prometheus-client` leaves an empty family out).
#[derive(Debug)]
struct Described<M>(M);

impl<M: EncodeMetric> EncodeMetric for Described<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        false
    }
}
type GaugeF64 = Gauge<f64, AtomicU64>;

/// One finished request, as the proxy's outcome describes it.
pub struct RequestSample<'a> {
    pub client: &'a str,
    pub credential: &'a str,
    pub exchange: &'a str,
    /// The allowlist rule id or preset that allowed it; empty when refused.
    pub rule: &'a str,
    pub decision: Decision,
    /// The exchange's status, or keyward's own when it answered itself.
    pub status: u16,
    /// keyward's refusal code, when it refused or failed.
    pub code: Option<&'a str>,
    /// The whole request, as the bot waited for it.
    pub total: Duration,
    /// The part of `total` spent waiting for the exchange, when it was asked.
    pub upstream: Option<Duration>,
}

/// The refusal codes `keyward_refusals_total` exports at zero for every configured client:
/// the ones an alert watches (a bot trying what it may not, keyward failing closed, a
/// credential taken out of service). Other codes appear when first seen.
pub const WATCHED_REFUSALS: [&str; 13] = [
    "hard_deny",
    "not_allowed",
    "constraint",
    "rate_limited",
    "audit_unavailable",
    "upstream_refused",
    "upstream_unreachable",
    "upstream_timeout",
    "credential_expired",
    "key_can_withdraw",
    "key_permissions_unknown",
    "client_disabled",
    "credential_disabled",
];

/// A configured client, for [`Metrics::known_client`].
pub struct KnownClient<'a> {
    pub client: &'a str,
    pub credential: &'a str,
    pub exchange: &'a str,
    /// Every rule name that can allow its requests (its allowlist's, and public market data).
    pub rules: Vec<String>,
    /// Whether its exchange has WebSocket sessions keyward serves.
    pub websocket: bool,
}

/// One credential's key version, for the gauges refreshed at each scrape.
pub struct CredentialSample<'a> {
    pub credential: &'a str,
    pub exchange: &'a str,
    pub age: Duration,
    /// Seconds until the key version expires or must be rotated (negative once past).
    pub expires_in_seconds: f64,
    /// Whether its requests are served now (not disabled, not expired, its key-permission
    /// self-check passed).
    pub serving: bool,
}

/// The gauges read from the process at scrape time.
pub struct Current<'a> {
    pub open_connections: usize,
    pub in_flight: usize,
    pub websocket_sessions: usize,
    pub credentials: Vec<CredentialSample<'a>>,
}

/// The process's metrics and the registry that exports them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    frames: Family<FrameLabels, Counter>,
    own_time: Histogram,
    upstream_time: Histograms<CredentialLabels>,
    token: token::TokenMetrics,
    audit_time: Histogram,
    audit_failures: Counter,
    key_age: Family<CredentialLabels, GaugeF64>,
    key_expiry: Family<CredentialLabels, GaugeF64>,
    serving: Family<CredentialLabels, Gauge>,
    open_connections: Gauge,
    in_flight: Gauge,
    ws_sessions: Gauge,
    /// Scrapes refresh the gauges and encode under this lock, so that two at once cannot
    /// interleave a credential table's clear and refill.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("keyward");
        let m = Metrics {
            requests: Family::default(),
            refusals: Family::default(),
            frames: Family::default(),
            own_time: Histogram::new(OWN_BUCKETS),
            upstream_time: Family::new_with_constructor(|| Histogram::new(UPSTREAM_BUCKETS)),
            token: token::TokenMetrics::new(),
            audit_time: Histogram::new(FAST_BUCKETS),
            audit_failures: Counter::default(),
            key_age: Family::default(),
            key_expiry: Family::default(),
            serving: Family::default(),
            open_connections: Gauge::default(),
            in_flight: Gauge::default(),
            ws_sessions: Gauge::default(),
            scrape: Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests by client, credential, exchange, allowlist rule, decision (allow|deny|error) and status",
            Described(m.requests.clone()),
        );
        registry.register(
            "refusals",
            "Requests keyward refused or failed, by client and refusal code",
            Described(m.refusals.clone()),
        );
        registry.register(
            "websocket_frames",
            "Bot frames on WebSocket sessions, by client, credential, allowlist rule and decision (allow|deny)",
            Described(m.frames.clone()),
        );
        registry.register_with_unit(
            "request_duration",
            "keyward's own time per request (the whole request less the wait for the exchange)",
            Unit::Seconds,
            m.own_time.clone(),
        );
        registry.register_with_unit(
            "upstream_duration",
            "The exchange's time per forwarded request, by credential",
            Unit::Seconds,
            Described(m.upstream_time.clone()),
        );
        m.token.register(&mut registry);
        registry.register_with_unit(
            "audit_write_duration",
            "Time to append one audit record (with its fdatasync when [audit] fsync is on)",
            Unit::Seconds,
            m.audit_time.clone(),
        );
        registry.register(
            "audit_write_failures",
            "Audit records that could not be written (each refused its request)",
            m.audit_failures.clone(),
        );
        registry.register_with_unit(
            "credential_key_age",
            "Age of each credential's key version in force",
            Unit::Seconds,
            Described(m.key_age.clone()),
        );
        registry.register_with_unit(
            "credential_key_expires_in",
            "Time until each credential's key version expires or must be rotated (negative once past)",
            Unit::Seconds,
            Described(m.key_expiry.clone()),
        );
        registry.register(
            "credential_serving",
            "1 while each credential's requests are served, 0 while they are refused (disabled, key expired, key-permission self-check)",
            Described(m.serving.clone()),
        );
        registry.register(
            "open_connections",
            "Bot connections open",
            m.open_connections.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Bot requests being served",
            m.in_flight.clone(),
        );
        registry.register(
            "websocket_sessions",
            "WebSocket sessions open",
            m.ws_sessions.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Exports `credential`'s upstream histogram at zero (called for each configured one).
    pub fn known_credential(&self, credential: &str, exchange: &str) {
        let labels = CredentialLabels {
            credential: credential.to_owned(),
            exchange: exchange.to_owned(),
        };
        drop(self.upstream_time.get_or_create(&labels));
    }

    /// Exports a configured client's series at zero, so that `rate()` and alerts over them
    /// work before its first request: `keyward_requests_total` per rule that can allow, allowed
    /// (status 200) and failed after the policy allowed it (502), and once denied (rule "", 403);
    /// `keyward_refusals_total` for each of [`WATCHED_REFUSALS`]; and, when its exchange has
    /// WebSocket sessions, `keyward_websocket_frames_total` allowed per rule and denied. Called
    /// at start-up and on each reload; every label value comes from the config.
    pub fn known_client(&self, k: &KnownClient<'_>) {
        let request = |rule: &str, decision, status| RequestLabels {
            client: k.client.to_owned(),
            credential: k.credential.to_owned(),
            exchange: k.exchange.to_owned(),
            rule: rule.to_owned(),
            decision,
            status,
        };
        let frame = |rule: &str, decision| FrameLabels {
            client: k.client.to_owned(),
            credential: k.credential.to_owned(),
            rule: rule.to_owned(),
            decision,
        };
        let zero = |labels: RequestLabels| drop(self.requests.get_or_create(&labels));
        for rule in &k.rules {
            zero(request(rule, Decision::allow, 200));
            zero(request(rule, Decision::error, 502));
            if k.websocket {
                drop(self.frames.get_or_create(&frame(rule, Decision::allow)));
            }
        }
        zero(request("", Decision::deny, 403));
        if k.websocket {
            drop(self.frames.get_or_create(&frame("", Decision::deny)));
        }
        for code in WATCHED_REFUSALS {
            drop(self.refusals.get_or_create(&RefusalLabels {
                client: k.client.to_owned(),
                code: code.to_owned(),
            }));
        }
    }

    /// Counts and times one finished request.
    pub fn request(&self, r: &RequestSample<'_>) {
        self.requests
            .get_or_create(&RequestLabels {
                client: r.client.to_owned(),
                credential: r.credential.to_owned(),
                exchange: r.exchange.to_owned(),
                rule: r.rule.to_owned(),
                decision: r.decision,
                status: r.status,
            })
            .inc();
        if let Some(code) = r.code {
            self.refusals
                .get_or_create(&RefusalLabels {
                    client: r.client.to_owned(),
                    code: code.to_owned(),
                })
                .inc();
        }
        let upstream = r.upstream.unwrap_or_default();
        self.own_time
            .observe(r.total.saturating_sub(upstream).as_secs_f64());
        if let Some(upstream) = r.upstream {
            self.upstream_time
                .get_or_create(&CredentialLabels {
                    credential: r.credential.to_owned(),
                    exchange: r.exchange.to_owned(),
                })
                .observe(upstream.as_secs_f64());
        }
    }

    /// Counts one bot frame of a WebSocket session by its audit record (the upgrade, frame 0,
    /// is counted as a request). The op name is left out: a bot chooses it.
    pub fn frame(&self, f: &FrameRecord<'_>) {
        if f.frame == 0 {
            return;
        }
        let (rule, decision) = match f.judged.verdict {
            Verdict::Allow { rule } => (rule, Decision::allow),
            Verdict::Deny { .. } | Verdict::Refuse { .. } => ("", Decision::deny),
        };
        self.frames
            .get_or_create(&FrameLabels {
                client: f.asker.client.to_owned(),
                credential: f.asker.credential.to_owned(),
                rule: rule.to_owned(),
                decision,
            })
            .inc();
    }

    /// Times one audit append; counts it as failed when `ok` is false.
    pub fn audit_write(&self, took: Duration, ok: bool) {
        self.audit_time.observe(took.as_secs_f64());
        if !ok {
            self.audit_failures.inc();
        }
    }

    /// The token metrics a [`MeteredToken`] feeds.
    pub(crate) fn token(&self) -> &token::TokenMetrics {
        &self.token
    }

    /// The text exposition, with the gauges set from `current` first.
    pub fn encode(&self, current: Current<'_>) -> String {
        let _one = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        self.open_connections.set(to_i64(current.open_connections));
        self.in_flight.set(to_i64(current.in_flight));
        self.ws_sessions.set(to_i64(current.websocket_sessions));
        // A reload may have removed credentials: the table is rebuilt whole.
        self.key_age.clear();
        self.key_expiry.clear();
        self.serving.clear();
        for c in &current.credentials {
            let labels = CredentialLabels {
                credential: c.credential.to_owned(),
                exchange: c.exchange.to_owned(),
            };
            self.key_age.get_or_create(&labels).set(c.age.as_secs_f64());
            self.key_expiry
                .get_or_create(&labels)
                .set(c.expires_in_seconds);
            self.serving
                .get_or_create(&labels)
                .set(i64::from(c.serving));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = text::encode(&mut out, &self.registry);
        out
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Current<'static> {
        Current {
            open_connections: 0,
            in_flight: 0,
            websocket_sessions: 0,
            credentials: Vec::new(),
        }
    }

    #[test]
    fn every_family_is_exported_before_any_request() {
        let m = Metrics::new();
        m.known_credential("main", "binance");
        let text = m.encode(empty());
        for family in [
            "# TYPE keyward_requests counter",
            "# TYPE keyward_refusals counter",
            "# TYPE keyward_websocket_frames counter",
            "# TYPE keyward_request_duration_seconds histogram",
            "# TYPE keyward_upstream_duration_seconds histogram",
            "# TYPE keyward_token_operations counter",
            "# TYPE keyward_token_errors counter",
            "# TYPE keyward_token_operation_duration_seconds histogram",
            "# TYPE keyward_audit_write_duration_seconds histogram",
            "# TYPE keyward_audit_write_failures counter",
            "# TYPE keyward_credential_key_age_seconds gauge",
            "# TYPE keyward_credential_key_expires_in_seconds gauge",
            "# TYPE keyward_credential_serving gauge",
            "# TYPE keyward_open_connections gauge",
            "# TYPE keyward_requests_in_flight gauge",
            "# TYPE keyward_websocket_sessions gauge",
        ] {
            assert!(text.contains(family), "{family} missing from:\n{text}");
        }
        for zero in [
            "keyward_request_duration_seconds_count 0",
            "keyward_audit_write_failures_total 0",
            "keyward_upstream_duration_seconds_count{credential=\"main\",exchange=\"binance\"} 0",
            "keyward_token_operations_total{operation=\"hmac\"} 0",
            "keyward_open_connections 0",
        ] {
            assert!(text.contains(zero), "{zero} missing from:\n{text}");
        }
    }

    #[test]
    fn a_request_is_counted_with_its_labels_and_timed_without_the_exchange() {
        let m = Metrics::new();
        m.request(&RequestSample {
            client: "bot",
            credential: "main",
            exchange: "binance",
            rule: "binance:spot-trade",
            decision: Decision::allow,
            status: 200,
            code: None,
            total: Duration::from_millis(300),
            upstream: Some(Duration::from_millis(299)),
        });
        m.request(&RequestSample {
            client: "bot",
            credential: "main",
            exchange: "binance",
            rule: "",
            decision: Decision::deny,
            status: 403,
            code: Some("not_allowed"),
            total: Duration::from_micros(200),
            upstream: None,
        });
        let text = m.encode(empty());
        assert!(text.contains(
            "keyward_requests_total{client=\"bot\",credential=\"main\",exchange=\"binance\",rule=\"binance:spot-trade\",decision=\"allow\",status=\"200\"} 1"
        ), "{text}");
        assert!(
            text.contains("decision=\"deny\",status=\"403\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("keyward_refusals_total{client=\"bot\",code=\"not_allowed\"} 1"),
            "{text}"
        );
        // Both own times (1 ms, 0.2 ms) are at most 2.5 ms; the upstream's 299 ms is not.
        assert!(
            text.contains("keyward_request_duration_seconds_bucket{le=\"0.0025\"} 2"),
            "{text}"
        );
        assert!(text.contains("keyward_upstream_duration_seconds_bucket{le=\"0.25\",credential=\"main\",exchange=\"binance\"} 0")
            || text.contains("keyward_upstream_duration_seconds_bucket{credential=\"main\",exchange=\"binance\",le=\"0.25\"} 0"), "{text}");
        assert!(text.contains("keyward_upstream_duration_seconds_count{credential=\"main\",exchange=\"binance\"} 1"), "{text}");
    }

    /// Every watched refusal code is one keyward answers somewhere (a string literal in the
    /// sources outside this file), so none is a series nothing can ever count.
    #[test]
    fn the_watched_refusal_codes_are_codes_keyward_answers() {
        fn sources(dir: &std::path::Path, out: &mut String) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    sources(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("metrics.rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    // The non-test part only.
                    out.push_str(text.split("#[cfg(test)]").next().unwrap());
                }
            }
        }
        let mut all = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut all,
        );
        for code in WATCHED_REFUSALS {
            assert!(
                all.contains(&format!("\"{code}\"")),
                "{code} is answered nowhere"
            );
        }
    }

    #[test]
    fn credential_gauges_follow_the_table_in_force() {
        let m = Metrics::new();
        let mut current = empty();
        current.credentials.push(CredentialSample {
            credential: "old",
            exchange: "okx",
            age: Duration::from_secs(86400),
            expires_in_seconds: -5.0,
            serving: false,
        });
        let text = m.encode(current);
        assert!(
            text.contains(
                "keyward_credential_key_age_seconds{credential=\"old\",exchange=\"okx\"} 86400"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "keyward_credential_key_expires_in_seconds{credential=\"old\",exchange=\"okx\"} -5"
            ),
            "{text}"
        );
        assert!(
            text.contains("keyward_credential_serving{credential=\"old\",exchange=\"okx\"} 0"),
            "{text}"
        );
        let text = m.encode(empty());
        assert!(!text.contains("credential=\"old\""), "{text}");
    }
}
