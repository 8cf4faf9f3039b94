use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::*;

/// A tiny log as the writer lays it out (hashes are not checked by the tools).
fn rows(lines: &[&str]) -> Vec<Row> {
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "{{\"seq\":{i},\"time\":\"2026-12-04T10:00:{:02}.000Z\",{l},\"prev\":\"0\",\"hash\":\"0\"}}\n",
                i
            )
        })
        .collect();
    Rows::read(text.as_bytes(), &|_| true, true).unwrap().rows
}

const ALLOW: &str = r#""event":"request","request":1,"client":"bot","source":"s","credential":"main","key_version":2,"method":"POST","path":"/api/v3/order","params":"a=1","decision":"allow","rule":"allow[0]""#;
const DENY: &str = r#""event":"request","request":2,"client":"bot","source":"s","credential":"main","key_version":2,"method":"POST","path":"/sapi/v1/capital/withdraw/apply","params":"","decision":"deny","code":"hard_deny","reason":"withdrawals""#;
const REFUSE: &str = r#""event":"request","request":3,"client":"unknown","source":"s","credential":"","method":"","path":"/x\u001b[31m","decision":"refuse","code":"bad_path","reason":"p""#;

#[test]
fn outcomes_join_their_request_and_an_error_outcome_makes_it_an_error() {
    let rows = rows(&[
        ALLOW,
        DENY,
        r#""event":"request","request":4,"client":"bot","source":"s","credential":"main","key_version":2,"method":"GET","path":"/api/v3/account","params":"","decision":"allow","rule":"allow[1]""#,
        r#""event":"outcome","request":1,"status":200,"latency_ms":12.5"#,
        r#""event":"outcome","request":4,"status":504,"latency_ms":3000.0,"error":"upstream_timeout""#,
    ]);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].decision(), Decision::Allow);
    assert_eq!(rows[0].outcome.as_ref().unwrap().latency_ms, Some(12.5));
    assert_eq!(rows[1].decision(), Decision::Deny);
    assert!(rows[1].outcome.is_none());
    assert_eq!(rows[2].decision(), Decision::Error);
    assert_eq!(rows[2].endpoint(), "GET /api/v3/account");
    let json = rows[0].to_json();
    assert!(
        json.starts_with(r#"{"seq":0,"time":"2026-12-04T10:00:00.000Z","event":"request""#),
        "{json}"
    );
    assert!(
        json.ends_with(r#","hash":"0","outcome":{"status":200,"latency_ms":12.5,"error":null}}"#),
        "{json}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["outcome"]["status"], 200);
    assert_eq!(
        rows[1].to_json().rsplit_once(',').unwrap().1,
        r#""outcome":null}"#
    );
}

#[test]
fn a_restart_reuses_request_numbers_and_the_outcome_joins_the_latest() {
    let again = ALLOW.replace("allow[0]", "allow[9]");
    let rows = rows(&[
        ALLOW,
        r#""event":"outcome","request":1,"status":200,"latency_ms":1.0"#,
        &again,
        r#""event":"outcome","request":1,"status":400,"latency_ms":2.0"#,
    ]);
    assert_eq!(rows[0].outcome.as_ref().unwrap().status, 200);
    assert_eq!(rows[1].outcome.as_ref().unwrap().status, 400);
}

#[test]
fn unreadable_lines_are_counted_and_a_torn_tail_is_ignored() {
    let mut text = String::from("not json\n");
    text.push_str(
        r#"{"seq":0,"time":"2026-12-04T10:00:00.000Z","event":"genesis","prev":"0","hash":"0"}"#,
    );
    text.push('\n');
    text.push_str(r#"{"seq":1,"time":"2026-12-04T10:00:00.0"#);
    let read = Rows::read(text.as_bytes(), &|_| true, false).unwrap();
    assert_eq!((read.rows.len(), read.unreadable), (0, 1));
    assert!(Record::parse(text.lines().nth(1).unwrap()).is_some());
}

#[test]
fn filters_combine_client_credential_endpoint_decision_and_time() {
    let rows = rows(&[ALLOW, DENY, REFUSE]);
    let count = |f: &Filter| rows.iter().filter(|r| f.matches(r)).count();
    let t =
        |s: u64| humantime::parse_rfc3339("2026-12-04T10:00:00Z").unwrap() + Duration::from_secs(s);
    assert_eq!(count(&Filter::default()), 3);
    let bot = Filter {
        client: Some("bot".into()),
        ..Filter::default()
    };
    assert_eq!(count(&bot), 2);
    let denied = Filter {
        decision: Some(Decision::Deny),
        ..bot.clone()
    };
    assert_eq!(count(&denied), 1);
    let endpoint = |e: &str| Filter {
        endpoint: Some(Endpoint::parse(e).unwrap()),
        ..Filter::default()
    };
    assert_eq!(count(&endpoint("/api/v3/order")), 1);
    assert_eq!(count(&endpoint("post /api/v3/order")), 1);
    assert_eq!(count(&endpoint("GET /api/v3/order")), 0);
    assert_eq!(count(&endpoint("/sapi/*")), 1);
    assert_eq!(count(&endpoint("/*")), 3);
    assert!(Endpoint::parse("api/v3").is_err());
    let window = Filter {
        since: Some(t(1)),
        until: Some(t(2)),
        ..Filter::default()
    };
    assert_eq!(rows.iter().filter(|r| window.matches(r)).count(), 1);
    assert_eq!(
        rows.iter().find(|r| window.matches(r)).unwrap().verdict,
        Decision::Deny
    );
    let credential = Filter {
        credential: Some("main".into()),
        decision: Some(Decision::Refuse),
        ..Filter::default()
    };
    assert_eq!(count(&credential), 0);
}

#[test]
fn times_are_rfc3339_or_a_duration_back_from_now() {
    let now = humantime::parse_rfc3339("2026-12-04T12:00:00Z").unwrap();
    assert_eq!(
        parse_time("2026-12-04T10:00:00Z", now).unwrap(),
        humantime::parse_rfc3339("2026-12-04T10:00:00Z").unwrap()
    );
    assert_eq!(
        parse_time("2h", now).unwrap(),
        now - Duration::from_secs(7200)
    );
    let e = parse_time("yesterday", now).unwrap_err();
    assert!(e.contains("RFC 3339") && e.contains("15m"), "{e}");
}

#[test]
fn percentiles_are_nearest_rank() {
    let l = Latency::of((1..=100).map(f64::from).collect()).unwrap();
    assert_eq!(
        (l.count, l.p50, l.p90, l.p95, l.p99, l.max),
        (100, 50.0, 90.0, 95.0, 99.0, 100.0)
    );
    let l = Latency::of(vec![5.0, 1.0, 3.0]).unwrap();
    assert_eq!((l.p50, l.p90, l.max), (3.0, 5.0, 5.0));
    assert!(Latency::of(Vec::new()).is_none());
}

#[test]
fn stats_count_by_decision_client_credential_and_endpoint() {
    let rows = rows(&[
        ALLOW,
        DENY,
        REFUSE,
        r#""event":"outcome","request":1,"status":200,"latency_ms":12.5"#,
    ]);
    let s = Stats::of(&rows);
    assert_eq!(
        (
            s.decisions.total,
            s.decisions.allow,
            s.decisions.deny,
            s.decisions.refuse
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(s.by_client["bot"].total, 2);
    assert_eq!(s.by_credential["-"].refuse, 1);
    assert_eq!(s.by_endpoint["POST /api/v3/order"].allow, 1);
    assert_eq!(s.by_status[&200], 1);
    assert_eq!(s.latency_ms.as_ref().unwrap().p99, 12.5);
    let text = s.render();
    assert!(
        text.contains(
            "3 decided (3 requests, 0 WebSocket frames): allow 1, deny 1, refuse 1, error 0"
        ),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "a bot's escape sequence reached the terminal: {text}"
    );
}

#[test]
fn lines_escape_control_characters_from_the_log() {
    let rows = rows(&[REFUSE]);
    let record = Record::parse(rows[0].line.as_deref().unwrap()).unwrap();
    for line in [record_line(&record), row_line(&rows[0])] {
        assert!(line.contains("/x\\u{1b}[31m"), "{line}");
        assert!(!line.contains('\u{1b}'));
    }
}

#[test]
fn the_report_keeps_a_hostile_path_inside_its_json() {
    let hostile = REFUSE.replace(
        r#"/x\u001b[31m"#,
        r#"/</script><script>alert(1)</script><!--"#,
    );
    let rows = rows(&[ALLOW, DENY, &hostile]);
    let refs: Vec<&Row> = rows.iter().collect();
    let now = SystemTime::now();
    let html = ReportData::of(&refs, "audit.log", &BTreeMap::new(), now).to_html();
    assert_eq!(html.matches("<script").count(), 2, "{html}");
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(html.contains(r#"\u003c/script\u003e\u003cscript\u003ealert(1)"#));
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn the_report_buckets_decisions_and_ages_credentials() {
    let rows = rows(&[ALLOW, DENY, REFUSE]);
    let refs: Vec<&Row> = rows.iter().collect();
    let created = humantime::parse_rfc3339("2026-11-04T10:00:00Z").unwrap();
    let now = humantime::parse_rfc3339("2026-12-04T10:00:00Z").unwrap();
    let dates = BTreeMap::from([(
        "main".to_owned(),
        KeyDates {
            version: 2,
            created,
            ends: now + Duration::from_secs(86_400 * 5),
            why: "sealed expiry".to_owned(),
        },
    )]);
    let data = ReportData::of(&refs, "audit.log", &dates, now);
    // 3 records 1 s apart: 100 ms buckets, 21 of them.
    assert_eq!(data.timeline.bucket_ms, 100);
    assert_eq!(data.timeline.buckets.len(), 21);
    assert_eq!(data.timeline.buckets[0][1], 1);
    assert_eq!(data.timeline.buckets[10][2], 1);
    assert_eq!(data.timeline.buckets[20][3], 1);
    assert_eq!(data.denied_endpoints.len(), 2);
    assert_eq!(
        data.denied_clients,
        vec![("bot".to_owned(), 1), ("unknown".to_owned(), 1)]
    );
    let main = &data.credentials[0];
    assert_eq!(
        (main.name.as_str(), main.current_version, main.requests),
        ("main", 2, 2)
    );
    assert_eq!((main.age_days, main.days_to_expiry), (30.0, Some(5.0)));
    assert_eq!(main.expires.as_deref(), Some("2026-12-09T10:00:00Z"));
    assert_eq!(main.note, None);
    // A vault older than the log's key version is pointed out.
    let mut older = dates.clone();
    older.get_mut("main").unwrap().version = 1;
    let data = ReportData::of(&refs, "audit.log", &older, now);
    let note = data.credentials[0].note.clone().unwrap();
    assert!(
        note.contains("key version 2, newer than the vault's newest (1)"),
        "{note}"
    );
    // A configured credential the log never shows is listed from its vault alone.
    let mut more = dates.clone();
    more.insert("idle".to_owned(), dates["main"].clone());
    let data = ReportData::of(&refs, "audit.log", &more, now);
    let idle = &data.credentials[0];
    assert_eq!(
        (
            idle.name.as_str(),
            idle.requests,
            idle.current_since.clone()
        ),
        ("idle", 0, None)
    );
}
