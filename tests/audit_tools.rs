//! `keyward audit tail | search | stats | report` on logs written by keyward itself: one from
//! `keyward serve` in front of the mock exchange (real requests), and fixtures written by the
//! real audit writer (`keyward::audit::AuditLog`) with known counts and latencies. The report
//! is rendered in headless Chromium (tests/audit_tools.rs `the_html_report_draws_in_chromium`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::audit_fixture::{fixture_in, request};
use common::{tag, Env, MAIN};
use keyward::audit::{AuditLog, Verdict};
use serde_json::Value;

fn keyward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .output()
        .expect("run keyward")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "keyward failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn stats_count_every_decision_and_the_latency_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture_in(&dir, Duration::ZERO);
    let log = log.to_str().unwrap();
    let s: Value = serde_json::from_str(&ok(keyward(&["audit", "stats", "--json", log]))).unwrap();
    let d = &s["decisions"];
    assert_eq!(
        [
            &d["total"],
            &d["allow"],
            &d["deny"],
            &d["refuse"],
            &d["error"]
        ],
        [122, 104, 10, 3, 5],
        "{s:#}"
    );
    assert_eq!((&s["requests"], &s["frames"]), (&118.into(), &4.into()));
    assert_eq!(s["by_client"]["grid-bot"]["total"], 110);
    assert_eq!(s["by_client"]["grid-bot"]["deny"], 10);
    assert_eq!(s["by_client"]["arb-bot"]["error"], 5);
    assert_eq!(s["by_client"]["unknown"]["refuse"], 3);
    assert_eq!(s["by_credential"]["binance-alt"]["total"], 9);
    assert_eq!(s["by_credential"]["-"]["total"], 3);
    assert_eq!(s["by_endpoint"]["POST /api/v3/order"]["allow"], 100);
    assert_eq!(s["by_endpoint"]["POST /api/v3/orderList/oco"]["allow"], 4);
    assert_eq!(s["by_status"]["200"], 100);
    assert_eq!(s["by_status"]["504"], 5);
    let l = &s["latency_ms"];
    assert_eq!(l["count"], 105, "{l}");
    let got: Vec<f64> = ["p50", "p90", "p95", "p99", "max"]
        .iter()
        .map(|p| l[p].as_f64().unwrap())
        .collect();
    assert_eq!(got, [53.0, 95.0, 100.0, 5000.0, 5000.0], "{l}");

    // The same numbers as text, and filtered to one client.
    let t = ok(keyward(&["audit", "stats", log]));
    assert!(
        t.contains(
            "122 decided (118 requests, 4 WebSocket frames): allow 104, deny 10, refuse 3, error 5"
        ),
        "{t}"
    );
    assert!(
        t.contains("p50 53.000  p90 95.000  p95 100.000  p99 5000.000  max 5000.000"),
        "{t}"
    );
    assert!(
        !t.contains('\u{1b}'),
        "an escape sequence from the log reached the terminal: {t:?}"
    );
    let t = ok(keyward(&["audit", "stats", log, "--client", "arb-bot"]));
    assert!(
        t.contains(
            "9 decided (5 requests, 4 WebSocket frames): allow 4, deny 0, refuse 0, error 5"
        ),
        "{t}"
    );
    assert!(t.contains("p50 5000.000"), "{t}");
}

#[test]
fn search_filters_by_client_credential_endpoint_decision_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_in(&dir, Duration::from_millis(2));
    let log = path.to_str().unwrap();
    let search = |args: &[&str]| {
        let mut all = vec!["audit", "search", log, "--json"];
        all.extend_from_slice(args);
        json_lines(&text(&keyward(&all)))
    };
    let denied = search(&["--client", "grid-bot", "--decision", "deny"]);
    assert_eq!(denied.len(), 10);
    // --json is the stored line byte for byte, with "outcome" appended.
    let raw = text(&keyward(&[
        "audit",
        "search",
        log,
        "--json",
        "--decision",
        "deny",
    ]));
    let stored = std::fs::read_to_string(&path).unwrap();
    for line in raw.lines() {
        let head = line.strip_suffix(",\"outcome\":null}").expect(line);
        assert!(
            stored.lines().any(|s| s.strip_suffix('}') == Some(head)),
            "{line}"
        );
    }
    for r in &denied {
        assert_eq!(r["path"], "/sapi/v1/capital/withdraw/apply");
        assert_eq!(r["code"], "hard_deny");
        assert_eq!(r["outcome"], Value::Null);
    }
    let errors = search(&["--decision", "error"]);
    assert_eq!(errors.len(), 5);
    assert!(errors.iter().all(|r| r["client"] == "arb-bot"
        && r["outcome"]["error"] == "upstream_timeout"
        && r["outcome"]["status"] == 504));
    // "allow" is what was allowed and completed: not the 5 errors.
    assert_eq!(
        search(&["--credential", "binance-alt", "--decision", "allow"]).len(),
        4
    );
    let frames = search(&[
        "--credential",
        "binance-alt",
        "--endpoint",
        "POST /api/v3/orderList/oco",
    ]);
    assert_eq!(frames.len(), 4);
    assert!(frames
        .iter()
        .all(|r| r["event"] == "frame" && r["op"] == "orderList.place.oco"));
    assert_eq!(search(&["--endpoint", "/api/v3/orderList/*"]).len(), 4);
    assert_eq!(search(&["--endpoint", "GET /api/v3/order"]).len(), 0);
    let allowed = search(&["--client", "grid-bot", "--decision", "allow"]);
    assert_eq!(allowed.len(), 100);
    assert_eq!(allowed[41]["outcome"]["latency_ms"], 42.0);

    // Time: the 50th order's own time splits grid-bot's orders 49 / 51.
    let t50 = allowed[49]["time"].as_str().unwrap().to_owned();
    let orders = |bound: &str| {
        search(&[
            "--client",
            "grid-bot",
            "--endpoint",
            "/api/v3/order",
            bound,
            &t50,
        ])
        .len()
    };
    assert_eq!((orders("--until"), orders("--since")), (49, 51));
    assert_eq!(
        search(&["--client", "grid-bot", "--since", "1h"]).len(),
        110
    );

    // Nothing matches: exit 1 and no output, like grep.
    let none = keyward(&[
        "audit", "search", log, "--client", "grid-bot", "--until", "1h",
    ]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(text(&none), "");
    let bad = keyward(&["audit", "search", log, "--since", "yesterday"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"),
        "{bad:?}"
    );

    // The table: one readable line per request with its outcome, control characters escaped.
    let t = ok(keyward(&["audit", "search", log, "--client", "unknown"]));
    assert_eq!(t.lines().count(), 3, "{t}");
    assert!(t.contains(r"/x\u{1b}[2J\u{1b}[31mred"), "{t}");
    assert!(!t.contains('\u{1b}'), "{t:?}");
    let t = ok(keyward(&["audit", "search", log, "--decision", "error"]));
    assert!(t.lines().all(|l| l.contains("request #") && l.contains("arb-bot -> binance-alt v1  GET /api/v3/account  allow allow[0]  -> 504 5000.000 ms error upstream_timeout")), "{t}");
}

#[test]
fn tail_prints_the_last_records_and_follows_the_log_through_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_in(&dir, Duration::ZERO);
    let log = path.to_str().unwrap();
    let t = ok(keyward(&["audit", "tail", log, "-n", "3"]));
    let last: Vec<&str> = t.lines().collect();
    assert_eq!(last.len(), 3, "{t}");
    // The fixture ends with order 100's company: an arb-bot request, its outcome, a frame.
    assert!(
        last[0].contains(
            "request #118  arb-bot -> binance-alt v1  GET /api/v3/account  allow allow[0]"
        ),
        "{t}"
    );
    assert!(
        last[1].contains("outcome #118  status 504  5000.000 ms  error upstream_timeout"),
        "{t}"
    );
    assert!(last[2].contains("frame 7.4  arb-bot -> binance-alt v1  /ws-api/v3 orderList.place.oco  POST /api/v3/orderList/oco  allow allow[1]"), "{t}");
    let stored: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let j = ok(keyward(&["audit", "tail", log, "-n", "2", "--json"]));
    assert_eq!(
        j.lines().collect::<Vec<_>>(),
        stored[stored.len() - 2..]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );

    // -f: records appended later are printed as they come; a rotated log is followed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["audit", "tail", "-f", "-n", "0", log])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let expect = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("tail -f did not print {needle:?} within 10 s"),
            }
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    let first = tag("follow");
    {
        let w = AuditLog::open(&path).unwrap();
        request(
            &w,
            9001,
            "late-bot",
            MAIN,
            Some(2),
            "GET",
            &format!("/api/v3/{first}"),
            Verdict::Allow { rule: "allow[3]" },
        );
        w.close();
    }
    let line = expect(&first);
    assert!(
        line.contains("request #9001  late-bot -> binance-main v2  GET /api/v3/"),
        "{line}"
    );
    // Rotate: move the log aside and start a new one at the same path.
    std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
    let second = tag("rotated");
    {
        let w = AuditLog::open(&path).unwrap();
        request(
            &w,
            1,
            "late-bot",
            MAIN,
            Some(2),
            "GET",
            &format!("/api/v3/{second}"),
            Verdict::Allow { rule: "allow[3]" },
        );
        w.close();
    }
    expect(&second);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was rotated or truncated"),
        "{out:?}"
    );
}

#[test]
fn search_and_stats_read_the_log_keyward_serve_wrote_through_config() {
    let env = Env::start();
    let body = |id: &str| {
        format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId={id}")
    };
    for _ in 0..3 {
        let r = env.request(
            "POST",
            &format!("/{MAIN}/api/v3/order"),
            Some(&env.token),
            Some(&body(&tag("at"))),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for _ in 0..2 {
        let r = env.request(
            "POST",
            &format!("/{MAIN}/sapi/v1/capital/withdraw/apply"),
            Some(&env.token),
            Some("coin=BTC&address=x&amount=1"),
        );
        assert_eq!(r.status, 403, "{}", r.text());
    }
    let r = env.request(
        "GET",
        &format!("/{MAIN}/api/v3/openOrders"),
        Some("not-a-token"),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.text());

    let config = env.config.to_str().unwrap();
    let search = |args: &[&str]| {
        let mut all = vec!["audit", "search", "--config", config, "--json"];
        all.extend_from_slice(args);
        json_lines(&text(&env.run(&all, None)))
    };
    let denied = search(&["--client", "grid-bot", "--decision", "deny"]);
    assert_eq!(denied.len(), 2, "{denied:#?}");
    assert!(denied
        .iter()
        .all(|r| r["path"] == "/sapi/v1/capital/withdraw/apply" && r["credential"] == MAIN));
    let allowed = search(&[
        "--client",
        "grid-bot",
        "--decision",
        "allow",
        "--endpoint",
        "POST /api/v3/order",
        "--since",
        "10m",
    ]);
    assert_eq!(allowed.len(), 3, "{allowed:#?}");
    for r in &allowed {
        assert_eq!(r["outcome"]["status"], 200);
        assert!(r["outcome"]["latency_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(r["key_version"], 1);
    }
    assert_eq!(search(&["--decision", "refuse"]).len(), 1);

    // (The log also holds keyward's own start-up key-permission check requests.)
    let out = env.run(
        &[
            "audit", "stats", "--config", config, "--json", "--client", "grid-bot",
        ],
        None,
    );
    let s: Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(s["by_client"]["grid-bot"]["allow"], 3);
    assert_eq!(s["by_client"]["grid-bot"]["deny"], 2);
    assert_eq!(s["latency_ms"]["count"], 3, "{s:#}");
    assert_eq!(s["decisions"]["total"], 5, "{s:#}");
    // The report with --config dates each credential's key from its pinned vault file.
    let page = env.dir.join("report.html");
    let out = env.run(
        &[
            "audit",
            "report",
            "--config",
            config,
            "--html",
            page.to_str().unwrap(),
        ],
        None,
    );
    ok(out);
    let html = std::fs::read_to_string(&page).unwrap();
    let open = "id=\"report-data\">";
    let data = &html[html.find(open).unwrap() + open.len()..];
    let data: Value = serde_json::from_str(&data[..data.find("</script>").unwrap()]).unwrap();
    for name in [MAIN, "binance-alt"] {
        let vault: Value = serde_json::from_slice(
            &std::fs::read(env.dir.join(format!("vault/{name}.kwv"))).unwrap(),
        )
        .unwrap();
        let newest = vault["versions"]
            .as_array()
            .and_then(|v| v.last())
            .unwrap_or(&vault);
        let c = data["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the report: {data:#}"));
        assert_eq!(c["created"], newest["created"], "{c:#}");
        assert_eq!(c["current_version"], 1, "{c:#}");
        assert!(c["days_to_expiry"].as_f64().unwrap() > 0.0, "{c:#}");
        let why = c["expires_why"].as_str().unwrap();
        assert!(
            why == "sealed expiry" || why.starts_with("rotate_after_days = "),
            "{c:#}"
        );
    }
    assert!(
        !html.contains(&env.token) && !html.contains(&env.api_key) && !html.contains(&env.secret)
    );
    // Nothing secret is printed: not the client token, not the API key.
    let all = text(&env.run(&["audit", "search", "--config", config], None));
    assert!(!all.contains(&env.token) && !all.contains(&env.api_key) && !all.contains(&env.secret));
}
