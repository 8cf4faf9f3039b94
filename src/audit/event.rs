//! The records the proxy writes: one [`Event::Request`] per request, before anything is signed
//! or forwarded, and one [`Event::Outcome`] for each request that was forwarded.
//!
//! The field names and their order are part of keyward's interface (operators' tooling reads
//! them); the tests below pin them.

use serde::Serialize;

/// One audit entry; `event` names which, and comes first.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event<'a> {
    /// Who asked for what, and what keyward decided.
    Request(RequestRecord<'a>),
    /// What the exchange answered (or why it could not be reached).
    Outcome(OutcomeRecord<'a>),
    /// One frame a bot sent over a WebSocket session, as keyward decided it.
    Frame(FrameRecord<'a>),
    /// An anomaly trigger fired for a client (and what it did).
    Anomaly(AnomalyRecord<'a>),
    /// An operator's request to the admin API, and what it did.
    Admin(AdminRecord<'a>),
}

/// Every variant's top-level fields are fixed by its type (the tests below pin them and check
/// each passes the writer's own check), so the writer does not parse them back.
impl super::AuditEntry for Event<'_> {
    const FIELDS_FIXED: bool = true;
}

/// An anomaly trigger that fired: which, for which client and source, and what it did.
#[derive(Serialize)]
pub struct AnomalyRecord<'a> {
    /// `on_hard_deny`, `on_new_source` or `deny_burst`.
    pub trigger: &'a str,
    pub client: &'a str,
    /// The source address of the request that fired it.
    pub source: &'a str,
    /// `disable` or `log`.
    pub action: &'a str,
    pub reason: &'a str,
}

/// A request to the admin API (every one but a successful `GET /status`).
#[derive(Serialize)]
pub struct AdminRecord<'a> {
    /// `disable`, `enable`, `reload`, `status`, or `unknown` (no such route).
    pub action: &'a str,
    /// `client` or `credential` for disable and enable, else empty.
    pub target: &'a str,
    /// The client's or credential's name, else empty.
    pub name: &'a str,
    /// The admin peer's address.
    pub source: &'a str,
    /// The HTTP status answered.
    pub status: u16,
    /// What it did (`disabled`, `enabled`, `unchanged`, `reloaded`) or the error code.
    pub result: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub reason: &'a str,
}

/// A bot's WebSocket frame: the op, the REST endpoint it was judged as, and the verdict. A
/// session's first record is its upgrade (`op` = `upgrade`).
#[derive(Serialize)]
pub struct FrameRecord<'a> {
    /// The session's number (a request number: the upgrade's).
    pub session: u64,
    /// The frame's number in its session (0 for the upgrade).
    pub frame: u64,
    #[serde(flatten)]
    pub asker: Asker<'a>,
    /// The socket path, e.g. `/ws-api/v3`.
    pub socket: &'a str,
    /// The op as the exchange names it (`order.place`, `subscribe`, `login`), or what the
    /// frame was when it had none (`binary`, `unparseable`).
    pub op: &'a str,
    /// The REST request the op was judged as (empty when it has none), and the verdict.
    #[serde(flatten)]
    pub judged: Judged<'a>,
}

/// A request as keyward understood it, and its verdict.
#[derive(Serialize)]
pub struct RequestRecord<'a> {
    /// The request's number in this process.
    pub request: u64,
    #[serde(flatten)]
    pub asker: Asker<'a>,
    /// The method is empty when the transport checks refused the request; the path is the
    /// canonical path once decided, before that the exchange path or the request target.
    #[serde(flatten)]
    pub judged: Judged<'a>,
}

/// Who asked, in every record of a request or a frame.
#[derive(Serialize)]
pub struct Asker<'a> {
    /// The client's name, `anonymous` without a token, `unknown` before authentication.
    pub client: &'a str,
    /// The peer address (and the forwarded-for address from a trusted proxy).
    pub source: &'a str,
    /// The credential the path names, or empty before routing.
    pub credential: &'a str,
    /// The credential's key version that signs (or would sign) it, once routed; absent before
    /// routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_version: Option<u32>,
}

/// The REST request that was judged, and what keyward decided.
#[derive(Serialize)]
pub struct Judged<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The canonical parameters, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict<'a>,
}

/// What became of a request: written as `decision` and its companions.
#[derive(Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Verdict<'a> {
    /// The policy allowed it under `rule`.
    Allow { rule: &'a str },
    /// The policy denied it.
    Deny { code: &'a str, reason: &'a str },
    /// Refused before the policy was asked (transport, route, client auth, canonical form).
    Refuse { code: &'a str, reason: &'a str },
}

/// The exchange's answer to a forwarded request.
#[derive(Serialize)]
pub struct OutcomeRecord<'a> {
    pub request: u64,
    /// The exchange's status, or the status keyward answered with when it could not be reached.
    pub status: u16,
    pub latency_ms: f64,
    /// keyward's error code when the exchange could not be reached or did not answer in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request record; routed ones (allowed, denied) name key version 2.
    fn request(params: Option<String>, verdict: Verdict<'_>) -> String {
        let routed = !matches!(verdict, Verdict::Refuse { .. });
        serde_json::to_string(&Event::Request(RequestRecord {
            request: 7,
            asker: Asker {
                client: "bot",
                source: "127.0.0.1:5000",
                credential: "main",
                key_version: routed.then_some(2),
            },
            judged: Judged {
                method: "POST",
                path: "/api/v3/order",
                params,
                verdict,
            },
        }))
        .unwrap()
    }

    #[test]
    fn an_allowed_request_names_its_rule() {
        assert_eq!(
            request(
                Some("symbol=BTCUSDT".into()),
                Verdict::Allow { rule: "spot-trade" }
            ),
            r#"{"event":"request","request":7,"client":"bot","source":"127.0.0.1:5000","credential":"main","key_version":2,"method":"POST","path":"/api/v3/order","params":"symbol=BTCUSDT","decision":"allow","rule":"spot-trade"}"#
        );
    }

    #[test]
    fn a_denied_request_gives_code_and_reason() {
        assert_eq!(
            request(
                Some(String::new()),
                Verdict::Deny {
                    code: "not_allowed",
                    reason: "denied: no rule"
                }
            ),
            r#"{"event":"request","request":7,"client":"bot","source":"127.0.0.1:5000","credential":"main","key_version":2,"method":"POST","path":"/api/v3/order","params":"","decision":"deny","code":"not_allowed","reason":"denied: no rule"}"#
        );
    }

    #[test]
    fn a_refused_request_has_no_params() {
        assert_eq!(
            request(
                None,
                Verdict::Refuse {
                    code: "bad_host",
                    reason: "Host \"x\""
                }
            ),
            r#"{"event":"request","request":7,"client":"bot","source":"127.0.0.1:5000","credential":"main","method":"POST","path":"/api/v3/order","decision":"refuse","code":"bad_host","reason":"Host \"x\""}"#
        );
    }

    #[test]
    fn anomaly_and_admin_records_name_what_acted_on_what() {
        let anomaly = Event::Anomaly(AnomalyRecord {
            trigger: "on_hard_deny",
            client: "bot",
            source: "127.0.0.1:5000",
            action: "disable",
            reason: "hard deny",
        });
        assert_eq!(
            serde_json::to_string(&anomaly).unwrap(),
            r#"{"event":"anomaly","trigger":"on_hard_deny","client":"bot","source":"127.0.0.1:5000","action":"disable","reason":"hard deny"}"#
        );
        let admin = |reason| {
            serde_json::to_string(&Event::Admin(AdminRecord {
                action: "disable",
                target: "client",
                name: "bot",
                source: "127.0.0.1:6000",
                status: 200,
                result: "disabled",
                reason,
            }))
            .unwrap()
        };
        assert_eq!(
            admin(""),
            r#"{"event":"admin","action":"disable","target":"client","name":"bot","source":"127.0.0.1:6000","status":200,"result":"disabled"}"#
        );
        assert!(admin("why").ends_with(r#""result":"disabled","reason":"why"}"#));
    }

    #[test]
    fn an_outcome_gives_status_latency_and_error() {
        let outcome = |error| {
            serde_json::to_string(&Event::Outcome(OutcomeRecord {
                request: 7,
                status: 502,
                latency_ms: 12.5,
                error,
            }))
            .unwrap()
        };
        assert_eq!(
            outcome(Some("upstream_unreachable")),
            r#"{"event":"outcome","request":7,"status":502,"latency_ms":12.5,"error":"upstream_unreachable"}"#
        );
        assert_eq!(
            outcome(None),
            r#"{"event":"outcome","request":7,"status":502,"latency_ms":12.5}"#
        );
    }

    #[test]
    fn a_frame_names_its_session_socket_and_op_before_the_request_it_was_judged_as() {
        let record = Event::Frame(FrameRecord {
            session: 3,
            frame: 1,
            asker: Asker {
                client: "bot",
                source: "s",
                credential: "main",
                key_version: None,
            },
            socket: "/ws-api/v3",
            op: "order.place",
            judged: Judged {
                method: "POST",
                path: "/api/v3/order",
                params: Some("a=1".into()),
                verdict: Verdict::Allow { rule: "r" },
            },
        });
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"event":"frame","session":3,"frame":1,"client":"bot","source":"s","credential":"main","socket":"/ws-api/v3","op":"order.place","method":"POST","path":"/api/v3/order","params":"a=1","decision":"allow","rule":"r"}"#
        );
    }

    /// The writer trusts an Event's fields without parsing them back: every variant, with its
    /// optional fields present and absent, must pass the check it skips.
    #[test]
    fn every_event_passes_the_check_the_writer_skips() {
        let mut lines = vec![
            request(Some("a=1".into()), Verdict::Allow { rule: "r" }),
            request(
                None,
                Verdict::Deny {
                    code: "c",
                    reason: "r",
                },
            ),
            request(
                None,
                Verdict::Refuse {
                    code: "c",
                    reason: "r",
                },
            ),
        ];
        for error in [Some("upstream_timeout"), None] {
            let outcome = OutcomeRecord {
                request: 1,
                status: 200,
                latency_ms: 1.0,
                error,
            };
            lines.push(serde_json::to_string(&Event::Outcome(outcome)).unwrap());
        }
        let frame = FrameRecord {
            session: 1,
            frame: 2,
            asker: Asker {
                client: "bot",
                source: "s",
                credential: "main",
                key_version: Some(3),
            },
            socket: "/ws",
            op: "order.place",
            judged: Judged {
                method: "POST",
                path: "/p",
                params: Some("a=1".into()),
                verdict: Verdict::Deny {
                    code: "c",
                    reason: "r",
                },
            },
        };
        lines.push(serde_json::to_string(&Event::Frame(frame)).unwrap());
        let anomaly = AnomalyRecord {
            trigger: "t",
            client: "bot",
            source: "s",
            action: "log",
            reason: "r",
        };
        lines.push(serde_json::to_string(&Event::Anomaly(anomaly)).unwrap());
        let admin = AdminRecord {
            action: "reload",
            target: "",
            name: "",
            source: "s",
            status: 200,
            result: "reloaded",
            reason: "why",
        };
        lines.push(serde_json::to_string(&Event::Admin(admin)).unwrap());
        for line in lines {
            assert_eq!(
                super::super::record::check_entry(line.as_bytes()),
                Ok(()),
                "{line}"
            );
        }
    }
}
