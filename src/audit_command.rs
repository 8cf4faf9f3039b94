//! `keyward audit verify`: load the checkpoint key and the shipped checkpoints, verify the log,
//! and say what the verification vouches for and what it cannot.

use std::path::Path;
use std::process::ExitCode;

use keyward::audit;
use keyward::config::Config;
use keyward::error::{Error, Result};

pub(crate) fn audit_verify(
    path: &Path,
    public_key: Option<&Path>,
    config: Option<&Path>,
    checkpoints: Option<&Path>,
) -> Result<ExitCode> {
    let key_file = match (public_key, config) {
        (Some(file), _) => Some(file.to_path_buf()),
        (None, Some(config)) => Some(
            Config::load(config)?
                .audit
                .checkpoint
                .ok_or_else(|| {
                    Error::usage(format!(
                        "{} has no [audit] checkpoint_public_key; give --public-key FILE",
                        config.display()
                    ))
                })?
                .public_key,
        ),
        (None, None) => None,
    };
    let key = key_file
        .as_deref()
        .map(audit::CheckpointKey::from_pem_file)
        .transpose()?;
    let shipped = match checkpoints {
        Some(file) => audit::parse_shipped(&std::fs::read_to_string(file).map_err(|e| {
            Error::io(
                format!("cannot read shipped checkpoints {}", file.display()),
                e,
            )
        })?)?,
        None => Vec::new(),
    };
    let report = audit::verify_with(
        path,
        audit::VerifyOptions {
            key: key.as_ref(),
            shipped: &shipped,
        },
    )?;
    for line in audit_summary(&report, key.as_ref(), shipped.len()) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What `audit verify` says about a log that verified.
fn audit_summary(
    report: &audit::VerifyReport,
    key: Option<&audit::CheckpointKey>,
    shipped: usize,
) -> Vec<String> {
    let mut out = vec![match (report.first_seq, report.last_seq) {
        (Some(first), Some(last)) => format!(
            "ok: {} records (seq {first}..{last}), chain intact, last hash {}",
            report.records, report.last_hash
        ),
        _ => "ok: empty log".to_owned(),
    }];
    match (key, report.last_seq, report.vouched_through) {
        (None, Some(_), _) => out.push(
            "unvouched: no checkpoint key given (--public-key FILE or --config FILE), so only \
             the chain was checked; anyone who can write the file could have rewritten it"
                .to_owned(),
        ),
        (Some(key), Some(last), Some(through)) => {
            let by = match report.vouched_by {
                Some(audit::Vouch::Record(0)) | None => "the genesis record".to_owned(),
                Some(audit::Vouch::Record(seq)) => {
                    format!("the checkpoint at {through} (record {seq})")
                }
                Some(audit::Vouch::Shipped) => format!("the shipped checkpoint at {through}"),
            };
            out.push(format!(
                "vouched: records {}..{through} by {by}, signed by key {}",
                report.first_seq.unwrap_or(0),
                key.fingerprint()
            ));
            // The checkpoint record itself is signed: it is not an unvouched tail.
            let signed_last =
                matches!(report.vouched_by, Some(audit::Vouch::Record(seq)) if seq == last);
            if last > through && !signed_last {
                out.push(format!(
                    "unvouched: records {}..{last} come after the last checkpoint",
                    through + 1
                ));
            }
        }
        _ => {}
    }
    if key.is_some() && shipped == 0 && report.last_seq.is_some() {
        out.push(
            "tail: no shipped checkpoints compared (--checkpoints FILE with the syslog lines), \
             so records deleted from the end would go unnoticed"
                .to_owned(),
        );
    } else if shipped > 0 {
        out.push(format!("tail: {shipped} shipped checkpoints match the log"));
    }
    if let Some(bytes) = report.torn_tail {
        out.push(format!(
            "torn tail: {bytes} bytes after the last whole record do not end a line (a write cut \
             short by a crash); ignored"
        ));
    }
    out
}
