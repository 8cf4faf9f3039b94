//! How an exchange round trip can fail, told apart: each [`Fault`] is one bot-facing error code
//! (`upstream_refused`, `upstream_tls`, `upstream_timeout` ...) with a status (502 or 504) and
//! a message that says whether the request can have reached the exchange. The same code is the
//! `error` of the request's outcome audit record.

use std::time::Duration;

use crate::request::{Refusal, RefusalKind};

/// One failed attempt to get the exchange's whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The exchange's host refused the TCP connection: nothing was sent.
    Refused,
    /// The TLS handshake failed (unknown CA, expired or mismatched certificate ...): nothing
    /// was sent. Carries rustls's reason.
    Tls(String),
    /// No TCP connection within `connect_timeout_ms`: nothing was sent.
    ConnectTimeout(Duration),
    /// Any other failure to connect (DNS, network unreachable): nothing was sent.
    Unreachable,
    /// The connection closed or reset after the request was sent, before the answer's head.
    Reset,
    /// No answer head within `upstream_timeout_ms`.
    Timeout(Duration),
    /// The head came, but the body did not end within `upstream_timeout_ms`.
    Stalled(Duration),
    /// The connection closed or reset in the middle of the answer's body.
    Truncated,
    /// The answer is larger than `max_answer_bytes`.
    TooLarge(usize),
}

/// Said of every fault after the request may have been sent.
const MAYBE_EXECUTED: &str =
    "the request may or may not have been executed — check (e.g. query the order) before retrying";

impl Fault {
    /// Whether nothing can have reached the exchange.
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            Fault::Refused | Fault::Tls(_) | Fault::ConnectTimeout(_) | Fault::Unreachable
        )
    }

    /// Whether an idempotent request is worth sending once more after this fault: a transport
    /// failure, not a timeout (its budget is spent), a TLS failure or an oversized answer
    /// (both would fail again).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Fault::Refused | Fault::Unreachable | Fault::Reset | Fault::Truncated
        )
    }

    /// The bot-facing error code, also the outcome audit record's `error`.
    pub fn code(&self) -> &'static str {
        match self {
            Fault::Refused => "upstream_refused",
            Fault::Tls(_) => "upstream_tls",
            Fault::ConnectTimeout(_) => "upstream_connect_timeout",
            Fault::Unreachable => "upstream_unreachable",
            Fault::Reset => "upstream_reset",
            Fault::Timeout(_) => "upstream_timeout",
            Fault::Stalled(_) => "upstream_stalled",
            Fault::Truncated => "upstream_truncated",
            Fault::TooLarge(_) => "upstream_too_large",
        }
    }

    pub fn refusal(&self) -> Refusal {
        let kind = match self {
            Fault::ConnectTimeout(_) | Fault::Timeout(_) | Fault::Stalled(_) => {
                RefusalKind::UpstreamTimeout
            }
            _ => RefusalKind::Upstream,
        };
        let what = match self {
            Fault::Refused => "the exchange refused the connection".to_owned(),
            Fault::Tls(reason) => format!(
                "the TLS handshake with the exchange failed ({reason}); check the upstream's \
                 certificate and the CA keyward trusts"
            ),
            Fault::ConnectTimeout(t) => format!(
                "could not connect to the exchange within {} ms",
                t.as_millis()
            ),
            Fault::Unreachable => {
                "could not reach the exchange (DNS or network failure)".to_owned()
            }
            Fault::Reset => "the exchange closed the connection before answering".to_owned(),
            Fault::Timeout(t) => format!("the exchange did not answer within {} ms", t.as_millis()),
            Fault::Stalled(t) => format!(
                "the exchange began answering but did not finish within {} ms",
                t.as_millis()
            ),
            Fault::Truncated => {
                "the exchange's answer was cut off (connection closed mid-answer)".to_owned()
            }
            Fault::TooLarge(max) => format!(
                "the exchange's answer is larger than {max} bytes (server.max_answer_bytes) and \
                 was not passed on"
            ),
        };
        let sent = if self.nothing_sent() {
            "nothing was sent"
        } else {
            MAYBE_EXECUTED
        };
        let message = format!("{what}; {sent}");
        Refusal::new(kind, self.code(), message)
    }

    /// The fault of a failed `Client::request` (no head received).
    pub fn of_request(e: &hyper_util::client::legacy::Error, connect_timeout: Duration) -> Fault {
        if let Some(reason) = find::<rustls::Error>(e) {
            return Fault::Tls(reason.to_string());
        }
        let io = find::<std::io::Error>(e);
        if e.is_connect() {
            return match io.map(std::io::Error::kind) {
                Some(std::io::ErrorKind::ConnectionRefused) => Fault::Refused,
                Some(std::io::ErrorKind::TimedOut) => Fault::ConnectTimeout(connect_timeout),
                _ => Fault::Unreachable,
            };
        }
        Fault::Reset
    }
}

/// The first error of type `T` in `e`'s source chain, looking inside `io::Error`s.
fn find<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut cur: Option<&'e (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        // An `io::Error` wrapping another error hides it from `source()`.
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// An error and its sources on one line, for logs (never includes request data).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_504_the_rest_502_and_codes_differ() {
        let second = Duration::from_secs(1);
        let faults = [
            Fault::Refused,
            Fault::Tls("invalid peer certificate: Expired".into()),
            Fault::ConnectTimeout(second),
            Fault::Unreachable,
            Fault::Reset,
            Fault::Timeout(second),
            Fault::Stalled(second),
            Fault::Truncated,
            Fault::TooLarge(16),
        ];
        let mut codes: Vec<_> = faults.iter().map(Fault::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), faults.len());
        for f in &faults {
            let r = f.refusal();
            let timeout = matches!(
                f,
                Fault::ConnectTimeout(_) | Fault::Timeout(_) | Fault::Stalled(_)
            );
            assert_eq!(r.kind == RefusalKind::UpstreamTimeout, timeout, "{f:?}");
            assert_eq!(
                r.message.contains("nothing was sent"),
                f.nothing_sent(),
                "{f:?}"
            );
            assert_eq!(
                r.message.contains("may or may not"),
                !f.nothing_sent(),
                "{f:?}"
            );
        }
    }
}
