use std::time::Duration;

use super::*;
use crate::anomaly::DenyBurst;

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn switch(dir: &tempfile::TempDir) -> (KillSwitch, PathBuf) {
    let audit = Arc::new(AuditLog::open(&dir.path().join("audit.jsonl")).unwrap());
    let file = dir.path().join("keyward.state");
    (KillSwitch::open(file.clone(), audit, false).unwrap(), file)
}

fn audit_lines(dir: &tempfile::TempDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_disabled_client_or_credential_is_refused_until_enabled() {
    let kill = KillSwitch::default();
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_ok());
    assert!(kill.disable(Target::Client, "bot", "test").unwrap());
    assert!(!kill.disable(Target::Client, "bot", "test").unwrap());
    let refusal = kill.admit("bot", "main", peer("127.0.0.1")).unwrap_err();
    assert_eq!(refusal.code, "client_disabled");
    assert!(
        refusal
            .message
            .contains("`keyward admin enable client bot`"),
        "{}",
        refusal.message
    );
    assert!(kill.admit("other", "main", peer("127.0.0.1")).is_ok());
    assert!(kill.enable(Target::Client, "bot").unwrap());
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_ok());
    kill.disable(Target::Credential, "main", "test").unwrap();
    assert_eq!(
        kill.admit("bot", "main", peer("127.0.0.1"))
            .unwrap_err()
            .code,
        "credential_disabled"
    );
    assert!(kill.admit("bot", "spare", peer("127.0.0.2")).is_ok());
    assert!(!kill.enable(Target::Client, "bot").unwrap());
    // Every admission is counted, refused ones too.
    let a = kill.activity("bot");
    assert_eq!((a.requests, a.last_source), (5, Some(peer("127.0.0.2"))));
}

#[test]
fn a_disable_survives_reopening_the_state_file_until_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let (kill, _) = switch(&dir);
    kill.disable(Target::Client, "bot", "operator test")
        .unwrap();
    drop(kill);
    let (kill, _) = switch(&dir);
    let d = kill.disabled(Target::Client, "bot").unwrap();
    assert_eq!(
        (d.by, d.reason.as_str()),
        (Cause::Operator, "operator test")
    );
    assert!(kill.enable(Target::Client, "bot").unwrap());
    drop(kill);
    let (kill, _) = switch(&dir);
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_ok());
}

#[test]
fn a_hard_deny_disables_by_default_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (kill, _) = switch(&dir);
    let t = Triggers::default();
    let p = peer("127.0.0.1");
    kill.denied("bot", p, &t, None, "POST /api/v3/order");
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_ok());
    kill.denied(
        "bot",
        p,
        &t,
        Some("withdrawals"),
        "POST /sapi/v1/capital/withdraw/apply",
    );
    let d = kill.disabled(Target::Client, "bot").unwrap();
    assert_eq!(d.by, Cause::OnHardDeny);
    assert!(d.reason.contains("withdraw/apply"), "{}", d.reason);
    assert_eq!(kill.activity("bot").denied, 2);
    let records = audit_lines(&dir);
    let anomaly: Vec<_> = records.iter().filter(|r| r["event"] == "anomaly").collect();
    assert_eq!(anomaly.len(), 1, "{records:?}");
    assert_eq!(anomaly[0]["trigger"], "on_hard_deny");
    assert_eq!(anomaly[0]["action"], "disable");
    assert_eq!(anomaly[0]["source"], "127.0.0.1:40000");
    // Under "log" the client stays enabled; the firing is still audited.
    let log = Triggers {
        on_hard_deny: Reaction::Log,
        ..t
    };
    kill.denied("other", p, &log, Some("withdrawals"), "POST /w");
    assert!(kill.admit("other", "main", peer("127.0.0.1")).is_ok());
    assert_eq!(
        audit_lines(&dir)
            .iter()
            .filter(|r| r["event"] == "anomaly")
            .count(),
        2
    );
}

#[test]
fn a_deny_burst_fires_at_its_count() {
    let kill = KillSwitch::default();
    let t = Triggers {
        on_hard_deny: Reaction::Log,
        on_new_source: Reaction::Log,
        deny_burst: Some(DenyBurst {
            count: 3,
            window: Duration::from_secs(60),
            reaction: Reaction::Disable,
        }),
    };
    let p = peer("127.0.0.1");
    kill.denied("bot", p, &t, None, "GET /x");
    kill.denied("bot", p, &t, None, "GET /x");
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_ok());
    kill.denied("bot", p, &t, None, "GET /x");
    let d = kill.disabled(Target::Client, "bot").unwrap();
    assert_eq!(d.by, Cause::DenyBurst);
    assert!(
        d.reason.starts_with("3 denied requests within 60 s"),
        "{}",
        d.reason
    );
}

#[test]
fn the_first_source_is_learned_and_a_new_one_fires() {
    let dir = tempfile::tempdir().unwrap();
    let (kill, file) = switch(&dir);
    let (a, b, c) = (peer("127.0.0.1"), peer("127.0.0.2"), peer("127.0.0.3"));
    // "log": learned (and reported) once; written at the next write or flush, not at once.
    assert!(kill.arrived("logger", a, Reaction::Log).is_ok());
    assert!(kill.arrived("logger", b, Reaction::Log).is_ok());
    assert!(kill.arrived("logger", b, Reaction::Log).is_ok());
    assert!(!file.exists());
    kill.flush();
    assert_eq!(Kept::load(&file).unwrap().sources["logger"].len(), 2);
    assert_eq!(
        audit_lines(&dir)
            .iter()
            .filter(|r| r["event"] == "anomaly")
            .count(),
        1
    );
    // "disable": the new address is refused and the client disabled.
    assert!(kill.arrived("bot", a, Reaction::Disable).is_ok());
    assert!(kill.arrived("bot", a, Reaction::Disable).is_ok());
    let refusal = kill.arrived("bot", b, Reaction::Disable).unwrap_err();
    assert_eq!(refusal.code, "client_disabled");
    assert!(refusal.message.contains("127.0.0.2"), "{}", refusal.message);
    // The learned set survives a restart; enabling accepts the address that fired.
    drop(kill);
    let kept = Kept::load(&file).unwrap();
    assert_eq!(kept.sources["bot"].len(), 1);
    assert_eq!(kept.sources["logger"].len(), 2);
    let (kill, _) = switch(&dir);
    assert!(kill.admit("bot", "main", peer("127.0.0.1")).is_err());
    assert!(kill.enable(Target::Client, "bot").unwrap());
    assert!(kill.arrived("bot", b, Reaction::Disable).is_ok());
    assert!(kill.arrived("bot", c, Reaction::Disable).is_err());
}

#[test]
fn a_full_learned_set_stops_reporting_a_log_client_but_a_disable_client_still_fires() {
    let kill = KillSwitch::default();
    for i in 0..crate::anomaly::kept::MAX_SOURCES as u32 {
        let p = SocketAddr::new(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), 1);
        assert!(kill.arrived("logger", p, Reaction::Log).is_ok());
        assert!(kill.arrived("guard", p, Reaction::Log).is_ok());
    }
    let new = peer("192.0.2.1");
    assert!(kill.arrived("logger", new, Reaction::Log).is_ok());
    assert!(!kill.is_disabled(Target::Client, "logger"));
    assert!(kill.arrived("guard", new, Reaction::Disable).is_err());
    assert_eq!(
        kill.disabled(Target::Client, "guard").unwrap().source,
        Some(new.ip())
    );
}
