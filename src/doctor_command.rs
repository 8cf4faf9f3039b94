//! `keyward doctor` (the checks are [`keyward::doctor`]; this prints them), and what is
//! generated from the command line's own definition: shell completions and the man page.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use keyward::config::{Config, PermissionCheck};
use keyward::doctor::{self, Finding, Probes};
use keyward::error::{Error, Result};
use keyward::exchange::permission::{Fact, Verdict};
use keyward::exchange::Credential;
use keyward::proxy;

use crate::cli::Cli;

/// Prints every finding in the order checked and a summary; exit 0 only when nothing is to fix.
pub fn doctor(config_path: &Path) -> ExitCode {
    let probes = Probes {
        read_clock: proxy::clock::read_exchange_clock,
        check_keys,
    };
    let report = doctor::diagnose(config_path, probes);
    for finding in &report.findings {
        println!("{finding}");
    }
    let to_fix = report.to_fix().count();
    if to_fix == 0 {
        println!("keyward doctor: nothing to fix");
        ExitCode::SUCCESS
    } else {
        println!(
            "keyward doctor: {to_fix} thing{} to fix (the FIX lines above)",
            if to_fix == 1 { "" } else { "s" }
        );
        ExitCode::from(1)
    }
}

/// The key-permission self-check as `serve` runs it at start-up (one request per credential
/// to its exchange's permission endpoint): a key that `serve` would refuse, or that it serves
/// only under `permission_check = "warn"`, is a finding; one not checked (`"off"`, or an
/// exchange that does not report permissions) a note.
fn check_keys(config: &Config, credentials: &HashMap<String, &Credential>) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for (name, found) in proxy::check_keys_once(config, credentials)? {
        let check = format!("key permissions {name}");
        let Some(f) = found else {
            out.push(Finding::note(
                check,
                "not checked (permission_check = \"off\")",
            ));
            continue;
        };
        let ip = match f.ip_restricted {
            Fact::Known(false) => {
                "; no IP restriction at the exchange (restrict the key to this host's address)"
            }
            _ => "",
        };
        let detail = format!("{} ({}){ip}", f.describe(), f.verdict_name());
        let mode = config.credential(&name).map(|c| c.permission_check);
        out.push(match f.verdict {
            Verdict::Safe => Finding::ok(check, detail),
            Verdict::NotAvailable => Finding::note(check, detail),
            Verdict::CanMove { .. } => Finding::fix(check, detail, proxy::RECREATE),
            Verdict::Unknown => Finding::fix(
                check,
                detail,
                "fix what stops the check (the key, the network), or recreate the key with trade \
                 and read permissions only",
            ),
        });
        if !f.serves() && mode == Some(PermissionCheck::Warn) {
            out.push(Finding::note(
                format!("key permissions {name}"),
                "served anyway today: permission_check = \"warn\"",
            ));
        }
    }
    Ok(out)
}

/// The completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "keyward", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// The man page (roff) on stdout; or every page (the command's and each subcommand's) written
/// into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<ExitCode> {
    let cmd = Cli::command();
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::io(format_args!("cannot create directory {}", dir.display()), e)
            })?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| {
                Error::io(
                    format_args!("writing the man pages into {}", dir.display()),
                    e,
                )
            })?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::io("rendering the man page", e))?;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| Error::io("writing the man page", e))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
