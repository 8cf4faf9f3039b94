//! The token, vault, configuration and audit checks of `keyward doctor`.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use super::{Finding, KeyChecker, Report};
use crate::config::Config;
use crate::startup::{audit_checkpoints, unseal_credential, Unsealed};
use crate::token::{self, PinSource, SealingPublicKey, Token, TokenConfig};
use crate::vault::{self, Recipient};

/// The module, the token, the PIN, the login and the sealing key, in that order; the logged-in
/// token when every one of them is right.
pub(super) fn token(config: &TokenConfig, report: &mut Report) -> Option<Arc<dyn Token>> {
    let mut usable = true;
    match token::load_module(config) {
        Ok(Some(found)) => report.push(Finding::ok("pkcs11 module", found)),
        Ok(None) => report.push(Finding::note(
            "pkcs11 module",
            match config.backend {
                token::Backend::Transit(_) => {
                    "a Vault / OpenBao Transit key is used over its HTTP API (no PKCS#11 module)"
                }
                token::Backend::AwsKms(_) => {
                    "an AWS KMS key is used through the AWS SDK (no PKCS#11 module)"
                }
                _ => "a YubiKey's PIV applet is used over PC/SC (no PKCS#11 module)",
            },
        )),
        Err(e) => {
            usable = false;
            report.push(Finding::fix(
                "pkcs11 module",
                e.to_string(),
                "install the HSM's PKCS#11 module (SoftHSM: `apt-get install softhsm2`) and set \
                 [token] module to its path",
            ));
        }
    }
    if usable {
        match token::find(config) {
            Ok(Some(found)) => report.push(Finding::ok("token", found)),
            Ok(None) => {}
            Err(e) => {
                usable = false;
                report.push(Finding::fix(
                    "token",
                    e.to_string(),
                    "plug in / initialize the token, or correct token= / serial= in [token] uri",
                ));
            }
        }
    } else {
        report.push(Finding::skipped("token", "the module does not load"));
    }
    // A key service (Transit) has no PIN, but a token of its own.
    if let Some(source) = &config.pin {
        usable &= pin(source, report);
    }
    if let token::Backend::Transit(transit) = &config.backend {
        match transit.token.read() {
            Ok(_) => report.push(Finding::ok(
                "vault token",
                format!(
                    "{} is readable (by keyward's user only, if a file)",
                    transit.token
                ),
            )),
            Err(e) => {
                usable = false;
                report.push(Finding::fix(
                    "vault token",
                    e.to_string(),
                    "put a Vault token with the policy in the README (\"Vault / OpenBao \
                     Transit\") in the token source, mode 0600",
                ));
            }
        }
    }
    if let token::Backend::AwsKms(kms) = &config.backend {
        for (check, outcome) in token::aws_kms_doctor_checks(kms) {
            match outcome {
                Ok(detail) => report.push(Finding::ok(check, detail)),
                Err(e) => {
                    usable = false;
                    report.push(Finding::fix(
                        check,
                        e.to_string(),
                        "do what the KMS error names; keyward's AWS identity needs the README's \
                         IAM policy (\"AWS KMS\"), credentials from the SDK's default chain \
                         (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, an \
                         instance or task role)",
                    ));
                }
            }
        }
    }
    if !usable {
        report.push(Finding::skipped(
            "sealing key",
            "the token cannot be opened (above)",
        ));
        return None;
    }
    let token: Arc<dyn Token> = match token::open(config) {
        Ok(t) => Arc::from(t),
        Err(e) => {
            report.push(Finding::fix(
                "login",
                e.to_string(),
                "put the token's user PIN in the PIN source (mode 0600), or unblock the PIN with \
                 the security officer PIN",
            ));
            return None;
        }
    };
    match token.public_key() {
        Ok(key) => {
            let kind = match key {
                SealingPublicKey::P256(_) => "P-256",
                SealingPublicKey::Rsa3072(_) => "RSA-3072",
            };
            let recipient = match key {
                SealingPublicKey::P256(k) => format!("; recipient {}", Recipient::p256(k)),
                SealingPublicKey::Rsa3072(_) => String::new(),
            };
            report.push(Finding::ok(
                "sealing key",
                format!(
                    "{} ({kind}, fingerprint {}{recipient})",
                    token.describe(),
                    vault::fingerprint(&key)
                ),
            ));
            Some(token)
        }
        Err(e) => {
            report.push(Finding::fix(
                "sealing key",
                e.to_string(),
                "generate it with `keyward keygen --config CONFIG` (then seal the credentials to \
                 the recipient it prints), or point [token] uri at the key's object=",
            ));
            None
        }
    }
}

/// The PIN source: a file must be readable, owned by keyward's user or root, with no group or
/// other bits (or only an ACL for keyward's user, as systemd's credentials have); an
/// environment variable is a note (meant for tests and containers). Read as `serve` reads it.
fn pin(source: &PinSource, report: &mut Report) -> bool {
    match source.read() {
        Ok(_) => {
            match source {
                PinSource::File(_) => report.push(Finding::ok(
                    "pin",
                    format!("{source}: readable by keyward's user only"),
                )),
                PinSource::Env(_) => report.push(Finding::note(
                    "pin",
                    format!(
                        "{source} is set (meant for tests and containers; in production use a \
                         PIN file or systemd's LoadCredential=)"
                    ),
                )),
            }
            true
        }
        Err(e) => {
            let message = e.to_string();
            let fix = match source {
                PinSource::File(path) if message.contains("chmod 600") => {
                    format!("chmod 600 {}", path.display())
                }
                PinSource::File(path) if message.contains("chown") => format!(
                    "chown {} {} (or point [token] pin at a file keyward's user owns)",
                    effective_uid(),
                    path.display()
                ),
                PinSource::File(path) => format!(
                    "write the token's user PIN to {} as keyward's user, mode 0600 \
                     (`install -m 600 /dev/null {0}`, then edit it)",
                    path.display()
                ),
                PinSource::Env(name) => format!("set {name} to the token's user PIN"),
            };
            report.push(Finding::fix("pin", message, fix));
            false
        }
    }
}

/// Each credential's vault file: its permissions, pin, names and dates, and, with the token,
/// that it is sealed to the token's key, its envelope opens and its key loads (as `serve` and
/// `check` unseal it). The unsealed credentials, for the key-permission self-check; their
/// secrets are wiped when doctor ends.
pub(super) fn vaults(
    config: &Config,
    token: Option<&Arc<dyn Token>>,
    report: &mut Report,
) -> HashMap<String, Unsealed> {
    let mut unsealed = HashMap::new();
    for c in &config.credentials {
        let check = format!("vault {}", c.name);
        let Some(token) = token else {
            vault_file_only(&check, &c.vault, report);
            continue;
        };
        match unseal_credential(c, token, None) {
            Ok(u) => {
                report.push(Finding::ok(
                    check,
                    format!(
                        "{} opens (version {} of {}, sealed to {}; {})",
                        c.vault.display(),
                        u.header.version,
                        u.header.versions,
                        u.header.recipient_fingerprint,
                        u.mode
                    ),
                ));
                rotation(c, &u, report);
                unsealed.insert(c.name.clone(), u);
            }
            Err(e) => {
                let message = e.to_string();
                let fix = if message.contains("sealed to key") {
                    "reseal the credential to the token's recipient (`keyward recipient --config \
                     CONFIG` prints it; `keyward seal --recipient ... --out FILE`), then pin the \
                     new file with the line `keyward digest FILE` prints"
                } else if message.contains("chmod") || message.contains("chown") {
                    "run the command the message names"
                } else if message.contains("vault_sha256") {
                    "if you sealed this file yourself, put the line `keyward digest FILE` prints \
                     in the credential's entry; otherwise restore the pinned file"
                } else {
                    "restore the credential's vault file, or seal it again with `keyward seal`"
                };
                report.push(Finding::fix(check, message, fix));
            }
        }
    }
    unsealed
}

/// The credential's signing key version against `rotate_after_days` / `warn_days`: expired is
/// a finding (serve refuses to sign with it), due within `warn_days` a note.
fn rotation(c: &crate::config::CredentialConfig, u: &Unsealed, report: &mut Report) {
    let now = std::time::SystemTime::now();
    let check = format!("rotation {}", c.name);
    let line = u.version.describe(now);
    let rotate = format!(
        "seal the next key with `keyward rotate --config CONFIG --credential {}`, paste the \
         vault_sha256 line it prints, reload, then delete the old key at the exchange",
        c.name
    );
    report.push(match u.version.standing(now) {
        crate::rotation::Standing::Expired => Finding::fix(check, line, rotate),
        crate::rotation::Standing::Due => Finding::note(check, format!("{line}: due; {rotate}")),
        crate::rotation::Standing::Current => Finding::ok(check, line),
    });
}

/// The key-permission self-check, on the credentials that unsealed.
pub(super) fn permissions(
    config: &Config,
    unsealed: &HashMap<String, Unsealed>,
    check_keys: KeyChecker,
    report: &mut Report,
) {
    if unsealed.len() != config.credentials.len() {
        report.push(Finding::skipped(
            "key permissions",
            "not every credential unsealed (above)",
        ));
        return;
    }
    let credentials = unsealed
        .iter()
        .map(|(name, u)| (name.clone(), &u.credential))
        .collect();
    match check_keys(config, &credentials) {
        Ok(findings) => report.findings.extend(findings),
        Err(e) => report.push(Finding::fix(
            "key permissions",
            e.to_string(),
            "fix what stops the check (the network, the exchange's answer), then run doctor again",
        )),
    }
}

/// Without a usable token: the vault file's permissions only.
fn vault_file_only(check: &str, path: &Path, report: &mut Report) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() && meta.mode() & 0o022 == 0 => {
            report.push(Finding::skipped(
                check,
                format!(
                    "{} exists and is not writable by others; its envelope is not checked (the \
                     token cannot be opened)",
                    path.display()
                ),
            ))
        }
        Ok(meta) if meta.file_type().is_file() => report.push(Finding::fix(
            check,
            format!(
                "vault file {} is writable by group or others (mode {:03o})",
                path.display(),
                meta.mode() & 0o777
            ),
            format!("chmod go-w {}", path.display()),
        )),
        Ok(_) => report.push(Finding::fix(
            check,
            format!("{} is not a regular file", path.display()),
            "point the credential's vault at the file `keyward seal` wrote",
        )),
        Err(e) => report.push(Finding::fix(
            check,
            format!("cannot read vault file {}: {e}", path.display()),
            "restore the file, or seal the credential again with `keyward seal`",
        )),
    }
}

/// The configuration loaded: what it holds, and its test-only settings as notes.
pub(super) fn config(path: &Path, config: &Config, report: &mut Report) {
    if config.credentials.is_empty() {
        report.push(Finding::fix(
            "config",
            format!(
                "{} has no [[credential]]: `serve` refuses to start",
                path.display()
            ),
            "seal an API key with `keyward seal --recipient ... --out FILE` and add its \
             [[credential]] entry (with the vault_sha256 line seal prints)",
        ));
        return;
    }
    report.push(Finding::ok(
        "config",
        format!(
            "{} is valid ({} credentials, {} clients)",
            path.display(),
            config.credentials.len(),
            config.clients.len()
        ),
    ));
    for c in &config.credentials {
        if let Some(upstream) = &c.upstream {
            report.push(Finding::note(
                "config",
                format!(
                    "credential {} sends to {} instead of the exchange (`upstream`: a test \
                     setting; remove it in production)",
                    c.name, upstream.base
                ),
            ));
        }
    }
}

/// The audit file can be appended to: it exists and opens for appending, or its folder exists
/// and keyward's user may create it there. Nothing is written.
pub(super) fn audit(config: &Config, report: &mut Report) {
    let path = &config.audit.path;
    let shown = path.display();
    if path.exists() {
        match std::fs::OpenOptions::new().append(true).open(path) {
            Ok(_) => report.push(Finding::ok(
                "audit",
                format!("{shown} is writable"),
            )),
            Err(e) => report.push(Finding::fix(
                "audit",
                format!("audit log {shown} cannot be opened for appending: {e}"),
                format!(
                    "make it writable by keyward's user: `chown {} {shown}` (and `chmod 600 {shown}`)",
                    effective_uid()
                ),
            )),
        }
        return;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let shown_dir = dir.display();
    match std::fs::metadata(dir) {
        Err(_) => report.push(Finding::fix(
            "audit",
            format!("the audit log's folder {shown_dir} does not exist, so {shown} cannot be created"),
            format!(
                "mkdir -p {shown_dir} && chown {} {shown_dir} && chmod 700 {shown_dir} (systemd: \
                 list it in ReadWritePaths=)",
                effective_uid()
            ),
        )),
        Ok(meta) if !meta.is_dir() => report.push(Finding::fix(
            "audit",
            format!("{shown_dir} (the audit log's folder) is not a directory"),
            "set [audit] path to a file in a directory keyward's user may write",
        )),
        Ok(_) if !writable(dir) => report.push(Finding::fix(
            "audit",
            format!("keyward's user (uid {}) may not create {shown} in {shown_dir}", effective_uid()),
            format!(
                "chown {} {shown_dir} && chmod 700 {shown_dir} (systemd: list it in ReadWritePaths=)",
                effective_uid()
            ),
        )),
        Ok(_) => report.push(Finding::ok(
            "audit",
            format!("{shown} does not exist yet; keyward's user may create it in {shown_dir}"),
        )),
    }
}

/// The audit checkpoint key `[audit] checkpoint_*` names: on the token, and signing for the
/// configured public key (a test signature), as `serve` checks at start-up.
pub(super) fn checkpoint_key(config: &Config, token: Option<&Arc<dyn Token>>, report: &mut Report) {
    let Some(checkpoint) = &config.audit.checkpoint else {
        report.push(Finding::note(
            "audit checkpoints",
            "off (unkeyed = true): the chain is not signed, so a rewritten log cannot be told from the real one \
             (`keyward keygen --audit-key`, then [audit] checkpoint_key / checkpoint_public_key)",
        ));
        return;
    };
    let Some(token) = token else {
        report.push(Finding::skipped(
            "audit checkpoints",
            "the token cannot be opened (above)",
        ));
        return;
    };
    match audit_checkpoints(token, checkpoint) {
        Ok(c) => report.push(Finding::ok(
            "audit checkpoints",
            format!(
                "signed on the token by the key {} (fingerprint {})",
                checkpoint.key,
                c.key.fingerprint()
            ),
        )),
        Err(e) => report.push(Finding::fix(
            "audit checkpoints",
            e.to_string(),
            "make the key with `keyward keygen --audit-key --out PEM` and point [audit] \
             checkpoint_public_key at that PEM (or remove the checkpoint keys)",
        )),
    }
}

/// Whether this process may create files in `dir` (`access(2)`, W_OK and X_OK).
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
