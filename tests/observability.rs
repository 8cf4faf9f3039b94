//! Metrics and health probes against the real binary, SoftHSM and the mock exchange: the
//! admin listener's `GET /metrics` exports every family from start-up, its counters move per
//! decision (allow, deny, error) and its histograms observe, also for an order whose bot hung
//! up before the exchange answered; `/healthz` and `/readyz` need the admin token unless `[admin] open_probes = true`; `/readyz` answers 503 while the audit file
//! cannot be written and 200 again once it can; the Grafana dashboard in
//! `hsm-config/grafana/keyward.json` queries only metrics keyward exports.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use common::free_port;
use common::smallfs::{fill, SmallFs};
use common::{build, raw, sha256_hex, tag, ConfigSpec, Env, Keyward, Resp, ALT, MAIN, REPO};

static ENV: LazyLock<Env> = LazyLock::new(Env::start);

const ADMIN_TOKEN: &str = "admin-token-of-the-observability-tests";

/// One test's keyward: its config (with an `[admin]` section) and admin port.
struct Case {
    config: PathBuf,
    admin_port: u16,
}

impl Case {
    /// `admin` is added to the `[admin]` section; `dead_alt` points credential binance-alt at a
    /// port nothing listens on (its requests fail upstream: decision `error`) and turns its
    /// key-permission self-check off.
    fn new(name: &str, audit: &'static str, admin: &str, dead_alt: bool) -> Case {
        let spec = ConfigSpec {
            audit,
            ..Default::default()
        };
        let config = ENV.write_config(&format!("{name}.toml"), &spec);
        let mut text = std::fs::read_to_string(&config).unwrap();
        if dead_alt {
            let alt = format!("name = \"{ALT}\"");
            let at = text.find(&alt).expect("the alt credential");
            let live = format!("127.0.0.1:{}", ENV.mock_port);
            let rest = text[at..].replacen(&live, &format!("127.0.0.1:{}", free_port()), 1);
            // Nobody to ask about the key's permissions either: served without the check.
            let rest = rest.replacen(&alt, &format!("{alt}\npermission_check = \"off\""), 1);
            text = format!("{}{rest}", &text[..at]);
        }
        let admin_port = free_port();
        text += &format!(
            "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_sha256 = \"{}\"\n{admin}\n",
            sha256_hex(ADMIN_TOKEN)
        );
        std::fs::write(&config, text).unwrap();
        Case { config, admin_port }
    }

    fn serve(&self, log: &str) -> Keyward {
        ENV.serve(&self.config, log)
    }

    fn get(&self, target: &str, with_token: bool) -> Resp {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let headers: Vec<(&str, &str)> = if with_token {
            vec![("Authorization", &auth)]
        } else {
            Vec::new()
        };
        let port = self.admin_port;
        raw(port, &build(port, "GET", target, &headers, None))
    }

    fn scrape(&self) -> Scrape {
        let r = self.get("/metrics", true);
        assert_eq!(r.status, 200, "{}", r.text());
        let ct = r.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        Scrape(r.text())
    }
}

/// One `/metrics` answer.
struct Scrape(String);

impl Scrape {
    /// The sum of the samples named `name` whose labels include all of `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// The label texts and values of the samples named `name`.
    fn series(&self, name: &str) -> Vec<(String, f64)> {
        self.samples()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l, v))
            .collect()
    }

    /// Every sample line: name, label text, value.
    fn samples(&self) -> impl Iterator<Item = (String, String, f64)> + '_ {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let v = value.parse().unwrap_or_else(|_| panic!("bad value: {l}"));
                (name.to_owned(), labels.to_owned(), v)
            })
    }

    /// The names a query may use: each family's samples (`_total` of a counter; `_bucket`,
    /// `_sum`, `_count` of a histogram; a gauge's own name), from the `# TYPE` lines.
    fn queryable(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for line in self.0.lines() {
            let Some(rest) = line.strip_prefix("# TYPE ") else {
                continue;
            };
            let (name, kind) = rest.split_once(' ').unwrap();
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            for s in suffixes {
                out.insert(format!("{name}{s}"));
            }
        }
        out
    }
}

fn order(port: u16, token: &str, t: &str) -> Resp {
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={t}"
    );
    raw(
        port,
        &build(
            port,
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            &[
                ("X-MBX-APIKEY", token),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&body),
        ),
    )
}

fn get(port: u16, token: &str, target: &str) -> Resp {
    raw(
        port,
        &build(port, "GET", target, &[("X-MBX-APIKEY", token)], None),
    )
}

const FAMILIES: [&str; 16] = [
    "keyward_requests counter",
    "keyward_refusals counter",
    "keyward_websocket_frames counter",
    "keyward_request_duration_seconds histogram",
    "keyward_upstream_duration_seconds histogram",
    "keyward_token_operations counter",
    "keyward_token_errors counter",
    "keyward_token_operation_duration_seconds histogram",
    "keyward_audit_write_duration_seconds histogram",
    "keyward_audit_write_failures counter",
    "keyward_credential_key_age_seconds gauge",
    "keyward_credential_key_expires_in_seconds gauge",
    "keyward_credential_serving gauge",
    "keyward_open_connections gauge",
    "keyward_requests_in_flight gauge",
    "keyward_websocket_sessions gauge",
];

#[test]
fn counters_move_per_decision_and_the_histograms_observe() {
    let case = Case::new("obs-counts", "audit-obs-counts.jsonl", "", true);
    let kw = case.serve("keyward-obs-counts.log");

    // From start-up: every family, the histograms at zero, the unseals counted on the token.
    let before = case.scrape();
    for family in FAMILIES {
        assert!(
            before.0.contains(&format!("# TYPE {family}\n")),
            "{family} missing:\n{}",
            before.0
        );
    }
    assert_eq!(
        before.value("keyward_request_duration_seconds_count", &[]),
        0.0
    );
    let main = [("credential", MAIN), ("exchange", "binance")];
    assert_eq!(
        before.value("keyward_upstream_duration_seconds_count", &main),
        0.0
    );
    assert!(
        before.value(
            "keyward_token_operations_total",
            &[("operation", "ecdh_p256")]
        ) >= 2.0,
        "both vaults were unsealed by ECDH on the token:\n{}",
        before.0
    );
    // The labelled counters have their configured series at zero, so that rate() and alerts
    // over them work from the start: grid-bot's four rules that can allow (binance:read,
    // allow[1], allow[2], public market data), alt-bot's and slow-bot's two, each allowed (200)
    // and failed (502), and one denied (403) each; every client's watched refusal codes; the same rules' and a
    // denied WebSocket frame series (Binance has WebSocket sessions). Nothing else.
    let requests = before.series("keyward_requests_total");
    assert_eq!(requests.len(), 9 + 5 + 5, "{requests:#?}");
    assert!(requests.iter().all(|(_, v)| *v == 0.0), "{requests:#?}");
    for (client, credential) in [("grid-bot", MAIN), ("alt-bot", ALT), ("slow-bot", MAIN)] {
        let mine = |rule: &str, decision: &str, status: &str| {
            let labels = format!(
                "client=\"{client}\",credential=\"{credential}\",exchange=\"binance\",rule=\"{rule}\",decision=\"{decision}\",status=\"{status}\""
            );
            requests.iter().any(|(l, _)| *l == labels)
        };
        assert!(mine("", "deny", "403"), "{client}: {requests:#?}");
        assert!(
            mine("binance:read", "error", "502"),
            "{client}: {requests:#?}"
        );
        assert!(
            mine("binance:read", "allow", "200"),
            "{client}: {requests:#?}"
        );
        assert!(
            mine("binance:public-market-data", "allow", "200"),
            "{client}"
        );
        for code in [
            "hard_deny",
            "audit_unavailable",
            "key_can_withdraw",
            "upstream_refused",
        ] {
            let labels = [("client", client), ("code", code)];
            let series = format!("client=\"{client}\",code=\"{code}\"");
            assert!(
                before
                    .series("keyward_refusals_total")
                    .contains(&(series, 0.0)),
                "{labels:?}: {}",
                before.0
            );
        }
    }
    assert!(requests
        .iter()
        .any(|(l, _)| l.contains("client=\"grid-bot\"") && l.contains("rule=\"allow[1]\"")));
    let refusals = before.series("keyward_refusals_total");
    assert_eq!(refusals.len(), 3 * 13, "{refusals:#?}");
    let frames = before.series("keyward_websocket_frames_total");
    assert_eq!(frames.len(), 5 + 3 + 3, "{frames:#?}");
    assert!(frames.iter().any(|(l, v)| *v == 0.0
        && l == "client=\"alt-bot\",credential=\"binance-alt\",rule=\"\",decision=\"deny\""));
    for c in [MAIN, ALT] {
        let age = before.value("keyward_credential_key_age_seconds", &[("credential", c)]);
        let left = before.value(
            "keyward_credential_key_expires_in_seconds",
            &[("credential", c)],
        );
        assert!((0.0..86400.0).contains(&age), "{c}: age {age}");
        assert!(left > 86400.0, "{c}: expires in {left} s");
    }

    // Allowed: an order (rule allow[1]) and a read (preset binance:read).
    let r = order(kw.port, &ENV.token, &tag("obsallow"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(kw.port, &ENV.token, &format!("/{MAIN}/api/v3/openOrders"));
    assert_eq!(r.status, 200, "{}", r.text());
    // Denied: a withdrawal (hard deny), twice; and no client token on a signed endpoint.
    for _ in 0..2 {
        let target = format!("/{MAIN}/sapi/v1/capital/withdraw/apply?coin=BTC&amount=1");
        get(kw.port, &ENV.token, &target).assert_error(403, "hard_deny");
    }
    let anonymous = raw(
        kw.port,
        &build(
            kw.port,
            "GET",
            &format!("/{MAIN}/api/v3/openOrders"),
            &[],
            None,
        ),
    );
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    // Error: binance-alt's exchange cannot be reached.
    let r = get(
        kw.port,
        &ENV.token_alt,
        &format!("/{ALT}/api/v3/openOrders"),
    );
    assert_eq!(r.status, 502, "{}", r.text());

    let after = case.scrape();
    let count = |client: &str, credential: &str, rule: &str, decision: &str, status: &str| {
        let labels = [
            ("client", client),
            ("credential", credential),
            ("exchange", "binance"),
            ("rule", rule),
            ("decision", decision),
            ("status", status),
        ];
        after.value("keyward_requests_total", &labels)
    };
    assert_eq!(
        count("grid-bot", MAIN, "allow[1]", "allow", "200"),
        1.0,
        "{}",
        after.0
    );
    assert_eq!(
        count("grid-bot", MAIN, "binance:read", "allow", "200"),
        1.0,
        "{}",
        after.0
    );
    assert_eq!(
        count("grid-bot", MAIN, "", "deny", "403"),
        2.0,
        "{}",
        after.0
    );
    assert_eq!(
        count("anonymous", MAIN, "", "deny", "401"),
        1.0,
        "{}",
        after.0
    );
    assert_eq!(
        count("alt-bot", ALT, "binance:read", "error", "502"),
        1.0,
        "{}",
        after.0
    );
    assert_eq!(
        after.value(
            "keyward_refusals_total",
            &[("client", "grid-bot"), ("code", "hard_deny")]
        ),
        2.0
    );
    // No path a bot sent is a label value (only the refusal code key_can_withdraw says it).
    assert!(
        !after.0.contains("capital") && !after.0.contains("withdraw/"),
        "{}",
        after.0
    );

    // keyward's own time for all six; the exchange's for the three forwarded.
    assert_eq!(
        after.value("keyward_request_duration_seconds_count", &[]),
        6.0
    );
    let own_sum = after.value("keyward_request_duration_seconds_sum", &[]);
    assert!(own_sum > 0.0 && own_sum < 6.0, "{own_sum}");
    assert_eq!(
        after.value("keyward_upstream_duration_seconds_count", &main),
        2.0
    );
    let upstream_sum = after.value("keyward_upstream_duration_seconds_sum", &main);
    assert!(upstream_sum > 0.0, "{}", after.0);
    let alt = [("credential", ALT), ("exchange", "binance")];
    assert_eq!(
        after.value("keyward_upstream_duration_seconds_count", &alt),
        1.0
    );
    let le_inf = [("le", "+Inf")];
    assert_eq!(
        after.value("keyward_request_duration_seconds_bucket", &le_inf),
        6.0
    );
    // Each request's decision record, the three outcome records: at least nine appends.
    let appends = after.value("keyward_audit_write_duration_seconds_count", &[])
        - before.value("keyward_audit_write_duration_seconds_count", &[]);
    assert!(appends >= 9.0, "{appends} audit appends");
    assert_eq!(after.value("keyward_audit_write_failures_total", &[]), 0.0);
    // A connection held open is counted while it is open.
    let held = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
    let mut seen = 0.0;
    for _ in 0..100 {
        seen = case.scrape().value("keyward_open_connections", &[]);
        if seen >= 1.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(seen >= 1.0, "a held connection is not counted");
    drop(held);
    // The bots' connections, each closed after its answer, are given back (the scrape's own
    // connection is the admin listener's, never counted).
    let mut open = after.value("keyward_open_connections", &[]);
    for _ in 0..100 {
        if open == 0.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        open = case.scrape().value("keyward_open_connections", &[]);
    }
    assert_eq!(open, 0.0, "bot connections still counted as open");
    eprintln!(
        "6 requests: own time {own_sum:.6} s in all, upstream {upstream_sum:.6} s for 2; {appends} audit appends"
    );
}

#[test]
fn an_order_whose_bot_hung_up_is_counted_once_the_exchange_answers() {
    use std::io::Write;
    let case = Case::new("obs-gone", "audit-obs-gone.jsonl", "", false);
    let kw = case.serve("keyward-obs-gone.log");
    // The mock answers orders whose client id starts with "slow" after 1.5 s.
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={}",
        tag("slowobs")
    );
    let request = format!(
        "POST /{MAIN}/api/v3/order HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-MBX-APIKEY: {tok}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}\r\n\r\n{body}",
        p = kw.port,
        tok = ENV.token,
        n = body.len()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", kw.port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    drop(s);
    let allowed = [
        ("client", "grid-bot"),
        ("rule", "allow[1]"),
        ("decision", "allow"),
        ("status", "200"),
    ];
    let mut counted = 0.0;
    for _ in 0..150 {
        counted = case.scrape().value("keyward_requests_total", &allowed);
        if counted > 0.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(counted, 1.0, "the executed order is not counted");
    let m = case.scrape();
    let main = [("credential", MAIN), ("exchange", "binance")];
    assert_eq!(
        m.value("keyward_upstream_duration_seconds_count", &main),
        1.0
    );
    let waited = m.value("keyward_upstream_duration_seconds_sum", &main);
    assert!(waited >= 1.0, "the exchange took 1.5 s: {waited}");
    assert_eq!(m.value("keyward_request_duration_seconds_count", &[]), 1.0);
}

#[test]
fn probes_need_the_admin_token_unless_open_probes_is_set() {
    let closed = Case::new("obs-closed", "audit-obs-closed.jsonl", "", false);
    let kw = closed.serve("keyward-obs-closed.log");
    for target in ["/metrics", "/healthz", "/readyz"] {
        closed
            .get(target, false)
            .assert_error(401, "admin_unauthenticated");
        let r = closed.get(target, true);
        assert_eq!(r.status, 200, "{target}: {}", r.text());
    }
    let ready = closed.get("/readyz", true).json();
    assert_eq!(ready["status"], "ready", "{ready}");
    for check in ["token", "credentials", "audit"] {
        assert_eq!(ready["checks"][check]["ok"], true, "{ready}");
    }
    assert_eq!(ready["checks"]["credentials"]["detail"], "2 of 2 serving");
    assert_eq!(ready["degraded"], serde_json::json!([]), "{ready}");
    assert_eq!(closed.get("/healthz", true).json()["status"], "up");
    // A probe is not an admin action: nothing in the audit log but the refused attempts.
    let audit = std::fs::read_to_string(ENV.dir.join("audit-obs-closed.jsonl")).unwrap();
    let admin: Vec<&str> = audit.lines().filter(|l| l.contains("\"admin\"")).collect();
    assert_eq!(admin.len(), 3, "{audit}");
    assert!(
        admin.iter().all(|l| l.contains("admin_unauthenticated")),
        "{audit}"
    );
    drop(kw);

    let open = Case::new(
        "obs-open",
        "audit-obs-open.jsonl",
        "open_probes = true",
        false,
    );
    let _kw = open.serve("keyward-obs-open.log");
    for target in ["/metrics", "/healthz", "/readyz"] {
        let r = open.get(target, false);
        assert_eq!(r.status, 200, "{target}: {}", r.text());
    }
    assert!(open
        .get("/metrics", false)
        .text()
        .contains("# TYPE keyward_requests counter"));
    // Only the probes are open.
    open.get("/status", false)
        .assert_error(401, "admin_unauthenticated");
}

#[test]
fn readyz_is_503_while_the_audit_cannot_be_written_and_200_once_it_can() {
    let Some(fs) = SmallFs::mount(&ENV.dir.join("obs-auditfs"), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let case = Case::new("obs-ready", "obs-auditfs/audit.jsonl", "", false);
    let kw = case.serve("keyward-obs-ready.log");
    let r = case.get("/readyz", true);
    assert_eq!(r.status, 200, "{}", r.text());

    fill(&fs.0);
    let r = case.get("/readyz", true);
    r.assert_error(503, "not_ready");
    let body = r.json();
    // Only the audit check fails: the message names it alone.
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("token:") && !message.contains("credentials:"),
        "{message}"
    );
    assert!(
        message.starts_with("audit: ") && message.contains("No space left"),
        "{message}"
    );
    // Requests are refused meanwhile (a record may still fit in the log's last page first).
    let mut refused = 0;
    for _ in 0..40 {
        if order(kw.port, &ENV.token, &tag("obsfull")).status == 503 {
            refused += 1;
            if refused == 2 {
                break;
            }
        }
    }
    assert_eq!(refused, 2, "the full disk never refused a request");
    let m = case.scrape();
    assert!(
        m.value("keyward_audit_write_failures_total", &[]) >= 2.0,
        "{}",
        m.0
    );
    let failed = [
        ("client", "grid-bot"),
        ("decision", "error"),
        ("status", "503"),
    ];
    assert!(m.value("keyward_requests_total", &failed) >= 2.0, "{}", m.0);
    let code = [("client", "grid-bot"), ("code", "audit_unavailable")];
    assert!(m.value("keyward_refusals_total", &code) >= 2.0, "{}", m.0);

    std::fs::remove_file(fs.0.join("filler")).unwrap();
    std::fs::remove_file(fs.0.join("filler2")).unwrap();
    let r = case.get("/readyz", true);
    assert_eq!(r.status, 200, "once space is freed: {}", r.text());
    let r = order(kw.port, &ENV.token, &tag("obsfreed"));
    assert_eq!(r.status, 200, "{}", r.text());
    // The probes left no file behind.
    let probes: Vec<String> = std::fs::read_dir(&fs.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("probe"))
        .collect();
    assert!(probes.is_empty(), "{probes:?}");
    drop(kw);
}

/// The `keyward_…` names a PromQL expression uses.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("keyward_") {
        let before = rest[..i].chars().last();
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    out
}

/// Every `expr` of every panel target (panels nested in rows too).
fn exprs(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
    for panel in panels.as_array().into_iter().flatten() {
        let title = panel["title"].as_str().unwrap_or("").to_owned();
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(e) = target["expr"].as_str() {
                out.push((title.clone(), e.to_owned()));
            }
        }
        exprs(&panel["panels"], out);
    }
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_keyward_exports() {
    let path = Path::new(REPO).join("hsm-config/grafana/keyward.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut queries = Vec::new();
    exprs(&dashboard["panels"], &mut queries);
    assert!(queries.len() >= 8, "{} queries", queries.len());

    let case = Case::new("obs-grafana", "audit-obs-grafana.jsonl", "", false);
    let _kw = case.serve("keyward-obs-grafana.log");
    let scrape = case.scrape();
    // Prometheus naming: the keyward_ prefix, durations in seconds, counters' samples _total.
    for line in scrape.0.lines().filter(|l| l.starts_with("# TYPE ")) {
        let (name, kind) = line["# TYPE ".len()..].split_once(' ').unwrap();
        assert!(name.starts_with("keyward_"), "{line}");
        assert!(kind != "histogram" || name.ends_with("_seconds"), "{line}");
        assert!(
            !name.ends_with("_total"),
            "the _total is the sample's: {line}"
        );
    }
    for (name, _, _) in scrape.samples() {
        assert!(name.starts_with("keyward_"), "{name}");
    }
    let exported = scrape.queryable();
    let mut used = BTreeSet::new();
    for (title, expr) in &queries {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "panel {title:?} queries no keyward metric: {expr}"
        );
        for name in names {
            assert!(
                exported.contains(&name),
                "panel {title:?} queries {name}, which keyward does not export; it exports {exported:#?}"
            );
            used.insert(name);
        }
    }
    for needed in [
        "keyward_requests_total",
        "keyward_request_duration_seconds_bucket",
        "keyward_upstream_duration_seconds_bucket",
        "keyward_credential_key_expires_in_seconds",
        "keyward_audit_write_failures_total",
        "keyward_token_errors_total",
    ] {
        assert!(
            used.contains(needed),
            "the dashboard does not chart {needed}"
        );
    }
    eprintln!(
        "{} queries over {} metrics, all exported",
        queries.len(),
        used.len()
    );
}
