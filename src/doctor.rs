//! `keyward doctor`: every reason `serve` would refuse to start or would fail later, checked in
//! the order an operator fixes them, each finding with the exact fix.
//!
//! In order: the PKCS#11 module loads, the token is present (label, serial), the PIN source is
//! readable and private, the sealing key is on the token and every vault is sealed to it, each
//! vault file's permissions and envelope, the configuration, the audit file, this host's clock
//! against each exchange's time endpoint, and the key-permission self-check (what each key may
//! do, as its exchange reports it). A check that cannot run because an earlier one failed says
//! so. Test-only settings (an `upstream` override, a PIN from the environment) are
//! notes, never findings: [`Report::healthy`] is true only when nothing is to fix.

mod checks;
mod clock;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::config::{Config, CredentialConfig, ServerConfig};
use crate::error::Result;
use crate::exchange::clock::ClockReading;
use crate::exchange::Credential;

/// Reads an exchange's clock through a credential's upstream.
pub type ClockReader = fn(&CredentialConfig, &ServerConfig) -> Result<ClockReading>;

/// Runs the key-permission self-check on the unsealed credentials: one finding each.
pub type KeyChecker = fn(&Config, &HashMap<String, &Credential>) -> Result<Vec<Finding>>;

/// What doctor asks over the network. HTTP is the proxy module's, so the caller passes
/// `keyward::proxy`'s functions (`keyward doctor` does; a test may pass others).
#[derive(Clone, Copy)]
pub struct Probes {
    pub read_clock: ClockReader,
    pub check_keys: KeyChecker,
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Checked and right.
    Ok,
    /// Worth knowing, nothing to fix (a test-only setting, a check that does not apply).
    Note,
    /// Wrong: `serve` refuses to start or will fail; the finding says how to fix it.
    Fix,
    /// Not checked because an earlier finding stops it.
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was checked: "pkcs11 module", "pin", "vault binance-main" ...
    pub check: String,
    pub severity: Severity,
    /// What was found; for [`Severity::Fix`], what is wrong.
    pub detail: String,
    /// For [`Severity::Fix`]: the command or change that mends it.
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(check, Severity::Ok, detail, None)
    }
    pub fn note(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(check, Severity::Note, detail, None)
    }
    pub fn fix(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(check, Severity::Fix, detail, Some(fix.into()))
    }
    pub fn skipped(check: impl Into<String>, why: impl Into<String>) -> Self {
        Self::new(check, Severity::Skipped, why, None)
    }
    fn new(
        check: impl Into<String>,
        severity: Severity,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Finding {
            check: check.into(),
            severity,
            detail: detail.into(),
            fix,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Ok => "ok",
            Severity::Note => "note",
            Severity::Fix => "FIX",
            Severity::Skipped => "skip",
        };
        // A detail of several lines (a TOML error) is indented under its finding.
        let detail = self.detail.trim_end().replace('\n', "\n      ");
        write!(f, "{tag:<5} {}: {detail}", self.check)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n      fix: {fix}")?;
        }
        Ok(())
    }
}

/// Everything doctor found, in the order it checked.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// Nothing to fix (notes and skipped checks aside; a check is only skipped after a finding).
    pub fn healthy(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Fix)
    }

    /// The findings to fix.
    pub fn to_fix(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Fix)
    }

    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// Runs every check on the configuration at `config_path`. Blocks (token and network).
pub fn diagnose(config_path: &Path, probes: Probes) -> Report {
    let mut report = Report::default();
    let config = Config::load(config_path);
    let token_config = match &config {
        Ok(c) => Ok(c.token.clone()),
        Err(_) => Config::load_token(config_path),
    };
    let token = match &token_config {
        Ok(t) => checks::token(t, &mut report),
        Err(e) => {
            report.push(Finding::skipped(
                "token",
                format!("the [token] section cannot be read: {e}"),
            ));
            None
        }
    };
    let unsealed = match &config {
        Ok(c) => checks::vaults(c, token.as_ref(), &mut report),
        Err(_) => {
            report.push(Finding::skipped(
                "vaults",
                "the configuration does not load (below)",
            ));
            HashMap::new()
        }
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            report.push(Finding::fix(
                "config",
                format!("{} does not load: {e}", config_path.display()),
                "correct the key the message names (keyward.example.toml documents every key), then run `keyward doctor` again",
            ));
            return report;
        }
    };
    checks::config(config_path, &config, &mut report);
    checks::audit(&config, &mut report);
    checks::checkpoint_key(&config, token.as_ref(), &mut report);
    clock::check(&config, probes.read_clock, &mut report);
    checks::permissions(&config, &unsealed, probes.check_keys, &mut report);
    report
}
