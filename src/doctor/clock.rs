//! `keyward doctor`'s clock check: this host's clock against each exchange's, asked through
//! each credential's upstream (so a test's mock answers). A signed request carries this host's
//! time; exchanges refuse one more than about a second ahead of theirs, or older than the
//! receive window.

use std::collections::HashSet;

use super::{ClockReader, Finding, Report};
use crate::config::{Config, CredentialConfig};
use crate::exchange::clock::time_endpoint;

/// The most this host's clock may be off, beyond the reading's own uncertainty: Binance
/// refuses a timestamp 1000 ms ahead of its clock.
pub const MAX_SKEW_MS: u64 = 1000;

pub(super) fn check(config: &Config, read_clock: ClockReader, report: &mut Report) {
    let mut asked = HashSet::new();
    for c in &config.credentials {
        let check = format!("clock {}", c.exchange.id());
        let Some(url) = time_url(c) else {
            report.push(Finding::note(
                check,
                format!("keyward knows no time endpoint of {}", c.exchange.id()),
            ));
            continue;
        };
        if !asked.insert(url.clone()) {
            continue;
        }
        match read_clock(c, &config.server) {
            Ok(reading) => {
                let slack = MAX_SKEW_MS as u128
                    + reading.resolution.as_millis() / 2
                    + reading.round_trip.as_millis() / 2;
                let off = reading.skew_ms.unsigned_abs() as u128;
                let how = if reading.skew_ms > 0 {
                    "behind"
                } else {
                    "ahead of"
                };
                let detail = format!(
                    "this host's clock is {off} ms {how} {url} (round trip {} ms, credential {})",
                    reading.round_trip.as_millis(),
                    c.name
                );
                if off <= slack {
                    report.push(Finding::ok(check, detail));
                } else {
                    report.push(Finding::fix(
                        check,
                        format!("{detail}: more than {slack} ms, so the exchange refuses signed requests"),
                        "synchronise this host's clock with NTP (`timedatectl set-ntp true`, or \
                         chrony: `chronyc makestep`)",
                    ));
                }
            }
            Err(e) => report.push(Finding::fix(
                check,
                format!("cannot read the time at {url} (credential {}): {e}", c.name),
                "check that this host reaches the exchange (DNS, firewall, an HTTPS proxy) or \
                 the credential's upstream",
            )),
        }
    }
}

/// Where the time request for `credential` goes, for messages: `https://host/path`.
fn time_url(credential: &CredentialConfig) -> Option<String> {
    let at = time_endpoint(credential.exchange.id())?;
    let host = credential.exchange.route(at.path)?.host;
    Some(
        match credential
            .upstream
            .as_ref()
            .and_then(|u| u.base.authority())
        {
            Some(authority) => format!("https://{authority}{}", at.upstream),
            None => format!("https://{host}{}", at.upstream),
        },
    )
}
