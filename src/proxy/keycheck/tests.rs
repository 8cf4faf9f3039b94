//! The findings table: what is served, what is refused, when the next check runs.

use super::*;

#[test]
fn retries_double_from_15_s_to_15_min_and_never_exceed_the_interval() {
    let day = Duration::from_secs(86_400);
    let secs = |n| retry_after(n, day).as_secs();
    assert_eq!([secs(1), secs(2), secs(3), secs(4)], [15, 30, 60, 120]);
    assert_eq!(secs(7), 900);
    assert_eq!(secs(40), 900);
    assert_eq!(
        retry_after(3, Duration::from_secs(20)),
        Duration::from_secs(20)
    );
}

fn holder(mode: PermissionCheck, key: &[u8]) -> KeyHolder<'_> {
    KeyHolder {
        name: "main",
        api_key: key,
        mode,
    }
}

fn finding(verdict: Verdict, ip: Fact) -> Finding {
    Finding {
        verdict,
        ip_restricted: ip,
        checked_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        why: match verdict {
            Verdict::Unknown => "GET /x answered HTTP 401".into(),
            _ => String::new(),
        },
    }
}

const DAY: Duration = Duration::from_secs(86_400);
const CAN_WITHDRAW: Verdict = Verdict::CanMove {
    withdraw: true,
    transfer: false,
};

#[test]
fn under_refuse_only_a_checked_safe_key_is_served() {
    let checks = KeyChecks::default();
    let c = holder(PermissionCheck::Refuse, b"key-1");
    let now = Instant::now();
    // Not checked yet: refused as unknown, and due.
    assert_eq!(
        checks.admit(&c).unwrap_err().code,
        "key_permissions_unknown"
    );
    assert!(checks.due(&c, now));
    checks.record(&c, finding(Verdict::Safe, Fact::Known(true)), DAY, now);
    assert!(checks.admit(&c).is_ok());
    assert!(!checks.due(&c, now + DAY - Duration::from_secs(1)));
    assert!(checks.due(&c, now + DAY));
    // The key can withdraw: 403 key_can_withdraw, naming what to do; checked again in 15 s.
    checks.record(&c, finding(CAN_WITHDRAW, Fact::Known(true)), DAY, now);
    let r = checks.admit(&c).unwrap_err();
    assert_eq!(
        (r.code, r.kind),
        ("key_can_withdraw", crate::request::RefusalKind::Forbidden)
    );
    assert!(
        r.message.contains("withdraw funds") && r.message.contains(RECREATE),
        "{}",
        r.message
    );
    assert!(checks.due(&c, now + FIRST_RETRY));
    // Unknown: refused with the reason; the retries back off.
    checks.record(&c, finding(Verdict::Unknown, Fact::Unknown), DAY, now);
    let r = checks.admit(&c).unwrap_err();
    assert_eq!(r.code, "key_permissions_unknown");
    assert!(r.message.contains("HTTP 401"), "{}", r.message);
    assert!(!checks.due(&c, now + FIRST_RETRY));
    assert!(checks.due(&c, now + 2 * FIRST_RETRY));
    // Nothing to check at this exchange: served.
    checks.record(&c, finding(Verdict::NotAvailable, Fact::Unknown), DAY, now);
    assert!(checks.admit(&c).is_ok());
}

#[test]
fn a_new_key_is_not_served_on_its_predecessors_finding() {
    let checks = KeyChecks::default();
    let now = Instant::now();
    let old = holder(PermissionCheck::Refuse, b"old-key");
    checks.record(&old, finding(Verdict::Safe, Fact::Known(true)), DAY, now);
    let new = holder(PermissionCheck::Refuse, b"new-key");
    assert_eq!(
        checks.admit(&new).unwrap_err().code,
        "key_permissions_unknown"
    );
    assert!(checks.due(&new, now));
    assert_eq!(checks.status(&new)["verdict"], "pending");
}

#[test]
fn warn_serves_and_repeats_its_warning_hourly_and_off_never_asks() {
    let checks = KeyChecks::default();
    let now = Instant::now();
    let c = holder(PermissionCheck::Warn, b"key");
    checks.record(&c, finding(CAN_WITHDRAW, Fact::Known(false)), DAY, now);
    assert!(checks.admit(&c).is_ok());
    assert!(checks.warning_due(&c, now).is_some());
    assert!(checks
        .warning_due(&c, now + Duration::from_secs(60))
        .is_none());
    assert!(checks.warning_due(&c, now + WARN_EVERY).is_some());
    let status = checks.status(&c);
    assert_eq!(status["mode"], "warn");
    assert_eq!(status["verdict"], "can_withdraw");
    assert_eq!(status["withdraw"], true);
    assert_eq!(status["transfer"], false);
    assert_eq!(status["ip_restricted"], false);
    assert_eq!(status["checked_at"], "2027-01-15T08:00:00Z");

    let off = holder(PermissionCheck::Off, b"key");
    assert!(!checks.due(&off, now));
    assert!(checks.admit(&off).is_ok());
    assert_eq!(checks.status(&off)["verdict"], "not_checked");
}

#[test]
fn the_exchanges_with_permissions_to_check() {
    let mut ids: Vec<_> = crate::exchange::registry()
        .iter()
        .filter(|e| probe::reports_permissions(**e))
        .map(|e| e.id())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["binance", "bitmex", "bybit", "coinbase", "deribit", "gate", "kucoin", "okx"]
    );
}
