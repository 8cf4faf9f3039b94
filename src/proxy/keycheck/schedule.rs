//! When the checks run: all at start-up before the bots' listener serves ([`check_keys`]),
//! then whenever one is due ([`keep_checking_keys`]: every `permission_check_hours`, sooner
//! after a check that did not find the key safe, at once for a key not checked yet), and once
//! for `keyward check` ([`check_keys_once`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::probe::Probe;
use super::{Finding, KeyHolder, RECREATE};
use crate::audit::Event;
use crate::config::{Config, PermissionCheck};
use crate::error::{Error, Result};
use crate::exchange::permission::{Fact, Verdict};
use crate::exchange::Credential;
use crate::proxy::forward::Upstream;
use crate::proxy::state::{CredentialState, Resources, Snapshot, State};

impl CredentialState {
    /// This credential as the key-permission self-check's findings know it.
    pub fn key_holder(&self) -> KeyHolder<'_> {
        KeyHolder {
            name: &self.name,
            api_key: self.credential.api_key.expose(),
            mode: self.permission_check,
        }
    }
}

/// How often the schedule looks for a due check (a new key is checked within this).
const TICK: Duration = Duration::from_secs(5);

/// Runs every check that is due now, concurrently, records the findings and logs them; then
/// repeats the hourly warning of credentials under `"warn"`.
pub async fn check_keys(state: &State) {
    check_due(state.resources(), &state.snapshot()).await;
}

/// A reload, before it puts `next` in force: checks the keys of `next` that have not been
/// checked (a rotated key), so that the new key is judged before its first request and the
/// rotation costs no refused request. Runs on the reload's blocking thread; without a runtime
/// (none here) the schedule checks them within seconds instead.
pub fn check_new_keys(resources: &Resources, next: &Snapshot) {
    let now = Instant::now();
    let checks = resources.key_checks();
    if !next
        .credentials
        .values()
        .any(|c| checks.due(&c.key_holder(), now))
    {
        return;
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.block_on(check_due(resources, next));
    }
}

async fn check_due(resources: &Resources, snapshot: &Snapshot) {
    let checks = resources.key_checks();
    let now = Instant::now();
    let due: Vec<&Arc<CredentialState>> = snapshot
        .credentials
        .values()
        .filter(|c| checks.due(&c.key_holder(), now))
        .collect();
    let audit = |e: &Event<'_>| resources.audit(e);
    let runs = due.iter().map(|c| {
        let audit = &audit;
        async move {
            let probe = Probe {
                name: &c.name,
                exchange: c.exchange,
                credential: &c.credential,
                upstream: &c.upstream,
                key_version: Some(c.version.number),
                environment: c.environment,
            };
            probe.run(resources.next_request(), audit).await
        }
    });
    let findings = join_all(runs).await;
    for (c, finding) in due.into_iter().zip(findings) {
        log(&c.name, c.exchange.id(), c.permission_check, &finding);
        checks.record(
            &c.key_holder(),
            finding,
            snapshot.permission_check_every,
            Instant::now(),
        );
    }
    for c in snapshot.credentials.values() {
        if let Some(f) = checks.warning_due(&c.key_holder(), Instant::now()) {
            tracing::warn!(
                credential = %c.name,
                exchange = c.exchange.id(),
                verdict = f.verdict_name(),
                "served only because permission_check = \"warn\": {}; {RECREATE} (repeated every hour)",
                f.describe()
            );
        }
    }
}

/// Checks whatever is due, every few seconds, for the process's life.
pub async fn keep_checking_keys(state: Arc<State>) {
    loop {
        tokio::time::sleep(TICK).await;
        check_keys(&state).await;
    }
}

/// The log line(s) of one finding (under `"warn"` the warning itself comes from the hourly
/// repetition, right after).
fn log(name: &str, exchange: &str, mode: PermissionCheck, f: &Finding) {
    let verdict = f.verdict_name();
    match (f.serves(), mode) {
        (true, _) => tracing::info!(
            credential = name,
            exchange,
            verdict,
            "key-permission self-check: {}",
            f.describe()
        ),
        (false, PermissionCheck::Refuse) => tracing::error!(
            credential = name,
            exchange,
            verdict,
            "key-permission self-check: credential refused (403 {}): {}; {}",
            if matches!(f.verdict, Verdict::CanMove { .. }) {
                "key_can_withdraw"
            } else {
                "key_permissions_unknown"
            },
            f.describe(),
            if matches!(f.verdict, Verdict::CanMove { .. }) {
                RECREATE
            } else {
                "checked again soon"
            }
        ),
        (false, _) => {}
    }
    if f.ip_restricted == Fact::Known(false) {
        tracing::warn!(
            credential = name,
            exchange,
            "key-permission self-check: the key has no IP restriction at the exchange; restrict it to this host's address there"
        );
    }
}

/// `keyward check`: every credential not under `"off"` checked once (in config order; `None`
/// for one under `"off"`). Nothing is written to the audit log, which a running `keyward
/// serve` owns; the calls go to stderr's log only.
pub fn check_keys_once(
    config: &Config,
    credentials: &HashMap<String, &Credential>,
) -> Result<Vec<(String, Option<Finding>)>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?;
    let mut probes = Vec::new();
    for c in &config.credentials {
        let upstream = Upstream::for_credential(c, &config.server)?;
        let credential = credentials
            .get(&c.name)
            .ok_or_else(|| Error::vault(format!("credential {:?} was not unsealed", c.name)))?;
        probes.push((c, upstream, *credential));
    }
    let no_audit = |_: &Event<'_>| Ok(0);
    let findings = runtime.block_on(join_all(probes.iter().map(|(c, upstream, credential)| {
        let no_audit = &no_audit;
        async move {
            if c.permission_check == PermissionCheck::Off {
                return None;
            }
            let probe = Probe {
                name: &c.name,
                exchange: c.exchange,
                credential,
                upstream,
                key_version: None,
                environment: c.environment,
            };
            Some(probe.run(0, no_audit).await)
        }
    })));
    Ok(probes
        .iter()
        .map(|(c, _, _)| c.name.clone())
        .zip(findings)
        .collect())
}
