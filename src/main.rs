//! The `keyward` command line.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// mimalloc instead of glibc's malloc: a request's short-lived buffers and futures cost about
/// a tenth of keyward's CPU under glibc (see docs/benchmark.md). The secrets keyward holds are
/// in the locked arena of `secret::arena`, not on this heap; the copies other crates make
/// (README, Security: not protected) are on it as they were on glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_command;
mod audit_command;
mod audit_tools_command;
mod check_command;
mod cli;
mod doctor_command;
mod permission_command;
mod rotate_command;

use base64::Engine;
use clap::Parser;
use sha2::{Digest, Sha256};

use keyward::audit::{self, AuditLog};
use keyward::config::Config;
use keyward::error::{Error, ErrorKind, Result};
use keyward::proxy::{self, State};
use keyward::startup::{audit_checkpoints, open_token, ship_target, unseal_with};
use keyward::token::{KeyOptions, PivSlot, SealingAlgorithm, SignatureAlgorithm};
use keyward::{exchange, provision, secret, vault};

use cli::{ApiKeyKind, Cli, Command, LogFormat, PolicyCommand, SealingKind};

fn main() -> ExitCode {
    let hardening = secret::harden_process();
    secret::redact_panics();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    hardening.log();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyward: {e}");
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => 2,
        ErrorKind::Config => 3,
        ErrorKind::Token => 4,
        ErrorKind::Vault => 5,
        ErrorKind::Audit => 6,
        ErrorKind::Io => 7,
    }
}

fn init_logging(format: LogFormat) {
    // The `yubikey` crate logs raw APDUs at trace level (the PIN, ECDH results): never shown,
    // whatever KEYWARD_LOG asks; keyward's own errors say what its messages would.
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("yubikey=off".parse().expect("a valid directive"));
    // Colours only for a person at a terminal: a log file or journald gets plain text (and
    // each line costs less to format). `NO_COLOR` turns them off there too.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve { config } => serve(&config),
        Command::Keygen {
            config,
            audit_key: true,
            out,
            slot,
            yubikey,
            ..
        } => keygen_audit_key(&config, slot, out.as_deref(), &yubikey.options()),
        Command::Keygen {
            slot: Some(_),
            api_key: None,
            ..
        } => Err(Error::usage(
            "--slot is for --api-key or --audit-key (the sealing key's slot is [token] slot)",
        )),
        Command::Keygen {
            config,
            algorithm,
            api_key: None,
            out,
            yubikey,
            ..
        } => keygen(&config, algorithm, out.as_deref(), &yubikey.options()),
        Command::Keygen {
            config,
            api_key: Some(kind),
            name: Some(name),
            out,
            slot,
            yubikey,
            ..
        } => keygen_api_key(
            &config,
            kind,
            (&name, slot),
            out.as_deref(),
            &yubikey.options(),
        ),
        Command::Keygen { .. } => Err(Error::usage("--api-key needs --name")),
        Command::Recipient { config } => {
            let recipient = provision::existing_recipient(&Config::load_token(&config)?)?;
            println!("{recipient}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seal {
            recipient,
            name,
            exchange,
            out,
            expires_days,
        } => seal(&recipient, &name, &exchange, &out, expires_days),
        Command::Import {
            config,
            name,
            exchange,
            in_token: _,
            slot,
            out,
            expires_days,
        } => import(&config, (&name, slot), &exchange, &out, expires_days),
        Command::Rotate {
            config,
            credential,
            recipient,
            expires_days,
        } => rotate_command::rotate(&config, &credential, recipient.as_deref(), expires_days),
        Command::Digest { vault } => digest(&vault),
        Command::ClientToken { name } => client_token(&name),
        Command::Check { config } => check_command::check(&config),
        Command::Doctor { config } => Ok(doctor_command::doctor(&config)),
        Command::Completions { shell } => Ok(doctor_command::completions(shell)),
        Command::Man { out_dir } => doctor_command::man(out_dir.as_deref()),
        Command::Policy {
            command:
                PolicyCommand::Explain {
                    config,
                    client,
                    method,
                    target,
                    body,
                },
        } => explain(&config, &client, &method, &target, body.as_deref()),
        Command::Audit { command } => audit_tools_command::run(command),
        Command::Admin { to, command } => admin_command::admin(&to, &command),
    }
}

fn keygen(
    config: &Path,
    kind: SealingKind,
    out: Option<&Path>,
    options: &KeyOptions,
) -> Result<ExitCode> {
    let token = Config::load_token(config)?;
    let algorithm = match kind {
        SealingKind::P256 => SealingAlgorithm::P256,
        SealingKind::Rsa3072 => SealingAlgorithm::Rsa3072,
    };
    let recipient = provision::generate_sealing_key(&token, algorithm, options)?;
    write_out(out, &format!("{recipient}\n"))?;
    println!("{recipient}");
    let oaep = match &recipient {
        vault::Recipient::Rsa {
            oaep,
            service: Some(key),
            ..
        } => format!(", RSA-OAEP with {oaep}, {key}"),
        vault::Recipient::Rsa { oaep, .. } => format!(", RSA-OAEP with {oaep}"),
        vault::Recipient::P256(_) => String::new(),
    };
    eprintln!(
        "keyward: {algorithm} sealing key generated on the token (fingerprint {}{oaep}); seal credentials with `keyward seal --recipient <the line above> ...`",
        recipient.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}

fn keygen_audit_key(
    config: &Path,
    slot: Option<PivSlot>,
    out: Option<&Path>,
    options: &KeyOptions,
) -> Result<ExitCode> {
    let token = Config::load_token(config)?;
    let generated = provision::generate_audit_key(&token, slot, options)?;
    write_out(out, &generated.public_pem)?;
    print!("{}", generated.public_pem);
    let key = audit::CheckpointKey::from_spki_der(
        &spki::Document::from_pem(&generated.public_pem)
            .map_err(|e| Error::token(format!("the token's public key is not PEM ({e})")))?
            .1
            .into_vec(),
    )?;
    let slot = slot
        .map(|s| format!("\"{s}\""))
        .unwrap_or_else(|| format!("\"{}\"", provision::AUDIT_KEY_LABEL));
    eprintln!(
        "keyward: audit checkpoint key pair {} generated on the token ({}, fingerprint {}); put `checkpoint_key = {slot}` and `checkpoint_public_key = \"<the PEM file>\"` in [audit]; `keyward audit verify --public-key <the PEM file>` checks the log with it",
        generated.key,
        generated.algorithm,
        key.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}

fn keygen_api_key(
    config: &Path,
    kind: ApiKeyKind,
    (name, slot): (&str, Option<PivSlot>),
    out: Option<&Path>,
    options: &KeyOptions,
) -> Result<ExitCode> {
    let token = Config::load_token(config)?;
    let algorithm = match kind {
        ApiKeyKind::Ed25519 => SignatureAlgorithm::Ed25519,
        ApiKeyKind::P256 => SignatureAlgorithm::EcdsaP256,
    };
    let generated = provision::generate_api_key(&token, (name, slot), algorithm, options)?;
    write_out(out, &generated.public_pem)?;
    print!("{}", generated.public_pem);
    let register = match kind {
        ApiKeyKind::Ed25519 => "register this public key at the exchange (Binance: API Management, Create API, Self-generated, paste the PEM)",
        ApiKeyKind::P256 => "register this public key where the exchange accepts an ES256 public key (Coinbase's portal issues its own key pairs and takes none: see README, In-token keys)",
    };
    let slot = slot.map(|s| format!(" --slot {s}")).unwrap_or_default();
    eprintln!(
        "keyward: {algorithm} API key pair {} generated on the token (the private key cannot leave it); {register}; then store the exchange's API key with `keyward import --config ... --name {name}{slot} --exchange EXCHANGE --in-token --out vault/{name}.kwv` (the API key alone on stdin)",
        generated.key
    );
    Ok(ExitCode::SUCCESS)
}

fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e)),
        None => Ok(()),
    }
}

fn seal(
    recipient: &str,
    name: &str,
    exchange_id: &str,
    out: &Path,
    expires_days: Option<u64>,
) -> Result<ExitCode> {
    let recipient = vault::read_recipient(recipient)?;
    let secrets = checked_secrets(known_exchange(exchange_id)?)?;
    let expires = expires_in(expires_days);
    let bytes = vault::seal(&recipient, name, exchange_id, &secrets, expires)?;
    vault::write_vault_file(out, &bytes)?;
    eprintln!(
        "keyward: sealed credential {name:?} ({exchange_id}) to key {} in {}",
        recipient.fingerprint(),
        out.display()
    );
    print_pin(name, vault::VaultDigest::of(&bytes));
    Ok(ExitCode::SUCCESS)
}

/// The credential fields from stdin, the secret checked to be one `exchange` signs with.
fn checked_secrets(exchange: &dyn exchange::Exchange) -> Result<vault::CredentialSecrets> {
    let id = exchange.id();
    let secrets = stdin_entry().secrets(exchange.needs_passphrase())?;
    let key = exchange::parse_secret(exchange.secret_form(), &secrets.secret).map_err(|e| {
        Error::usage(format!(
            "the {id} secret is not valid: {e}; nothing was sealed"
        ))
    })?;
    if let Some(key) = key.filter(|k| !exchange::accepts_key(exchange.secret_form(), k.kind())) {
        return Err(Error::usage(format!(
            "{id} does not sign with {} keys; nothing was sealed",
            key.algorithm()
        )));
    }
    Ok(secrets)
}

/// The one step that makes a freshly written vault current: its digest line in the config.
fn print_pin(name: &str, digest: vault::VaultDigest) {
    println!("{}", digest.config_line());
    eprintln!(
        "keyward: add the line above to the [[credential]] entry named {name:?} (replacing its \
         old vault_sha256): keyward serves only the vault file with this digest"
    );
}

fn digest(path: &Path) -> Result<ExitCode> {
    println!("{}", vault::VaultDigest::of_file(path)?.config_line());
    Ok(ExitCode::SUCCESS)
}

fn import(
    config: &Path,
    (name, slot): (&str, Option<PivSlot>),
    exchange_id: &str,
    out: &Path,
    expires_days: Option<u64>,
) -> Result<ExitCode> {
    let token = Config::load_token(config)?;
    let exchange = known_exchange(exchange_id)?;
    let imported = provision::import_in_token(
        &token,
        (name, slot),
        exchange,
        stdin_entry(),
        expires_in(expires_days),
        out,
    )?;
    eprintln!(
        "keyward: credential {name:?} ({exchange_id}) signs with the {} on the token; its API key is sealed to key {} in {} (the secret is not in it)",
        imported.key.describe(),
        imported.recipient_fingerprint,
        out.display()
    );
    print_pin(name, imported.digest);
    Ok(ExitCode::SUCCESS)
}

fn known_exchange(id: &str) -> Result<&'static dyn exchange::Exchange> {
    exchange::lookup(id).ok_or_else(|| {
        let known: Vec<_> = exchange::registry().iter().map(|e| e.id()).collect();
        Error::usage(format!(
            "unknown exchange {id:?}; known: {}",
            known.join(", ")
        ))
    })
}

/// Credential fields from standard input, or from no-echo prompts when it is a terminal.
fn stdin_entry() -> vault::Entry<std::io::StdinLock<'static>> {
    if std::io::stdin().is_terminal() {
        vault::Entry::Prompt
    } else {
        vault::Entry::Lines(std::io::stdin().lock())
    }
}

fn expires_in(days: Option<u64>) -> Option<SystemTime> {
    days.map(|d| SystemTime::now() + Duration::from_secs(d * 86_400))
}

fn client_token(name: &str) -> Result<ExitCode> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw)?;
    let token = format!(
        "kwt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{token}")
        .and_then(|_| writeln!(stdout, "token_sha256 = \"{hash}\""))
        .map_err(|e| Error::io("stdout", e))?;
    eprintln!(
        "keyward: give the first line to bot {name:?} as its API key (shown once, not stored); put the second in its [[client]] entry"
    );
    Ok(ExitCode::SUCCESS)
}

fn explain(
    config: &Path,
    client: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> Result<ExitCode> {
    let config = Config::load(config)?;
    match proxy::explain(&config, client, method, target, body) {
        Ok((canonical, decision)) => {
            println!(
                "{} {} {}",
                canonical.method,
                canonical.path,
                canonical.params_string()
            );
            println!("{decision}");
            Ok(if decision.is_allowed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(reject) => {
            println!(
                "refused before policy: {} ({})",
                reject.message, reject.code
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn serve(config_path: &Path) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let mut audit = AuditLog::open(&config.audit.path)?;
    audit.set_sync(config.audit.fsync);
    if let Some(interval) = config.audit.fsync_interval {
        audit.set_fsync_interval(interval);
    }
    let records = "audit records are not shipped (set [audit] ship_records_socket)";
    if let Some(to) = ship_target(&config.audit.ship_records, records) {
        audit.ship_records(&to)?;
        tracing::info!(socket = %to.display(), "each audit record is also shipped to syslog");
    }
    // Every token operation from here on (unsealing, in-token signing, checkpoints) is metered.
    let metrics = Arc::new(keyward::metrics::Metrics::new());
    let token = keyward::metrics::MeteredToken::wrap(open_token(&config)?, metrics.clone());
    match &config.audit.checkpoint {
        Some(checkpoint) => audit.enable_checkpoints(audit_checkpoints(&token, checkpoint)?)?,
        None => tracing::warn!("[audit] unkeyed = true: the audit chain is unkeyed, so anyone who can write the file can rewrite it undetected (see README, Audit log)"),
    }
    let unsealed = unseal_with(&config, &token)?;
    let tls = match &config.server.tls {
        Some(t) => Some(keyward::proxy::tls::acceptor(&t.cert, &t.key)?),
        None => None,
    };
    // The token stays logged in: a reload opens the vaults that changed (after `rotate`).
    let state = Arc::new(State::new(&config, unsealed, token, audit, metrics)?);
    proxy::raise_open_files(config.server.limits.max_connections);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?;
    runtime.block_on(async move {
        reload_on_hangup(config_path.to_owned(), state.clone())?;
        tokio::spawn(proxy::watch_key_versions(state.clone()));
        if let Some(a) = &config.admin {
            let listener = tokio::net::TcpListener::bind(a.listen)
                .await
                .map_err(|e| Error::io(format!("cannot listen on {} (admin)", a.listen), e))?;
            tracing::info!("admin API ready at {}", a.listen);
            let admin = Arc::new(proxy::Admin::new(a, config_path.to_owned()));
            tokio::spawn(proxy::run_admin(state.clone(), admin, listener));
        }
        // The key-permission self-check runs before a bot is served (see README).
        proxy::check_keys(&state).await;
        tokio::spawn(proxy::keep_checking_keys(state.clone()));
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .map_err(|e| Error::io(format!("cannot listen on {}", config.server.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("listener address", e))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!("listening on {addr} ({scheme})");
        let mut listeners = vec![proxy::Listening {
            listener,
            credential: None,
        }];
        for c in &config.credentials {
            let Some(at) = c.listen else { continue };
            let listener = tokio::net::TcpListener::bind(at).await.map_err(|e| {
                Error::io(format!("cannot listen on {at} (credential {:?})", c.name), e)
            })?;
            let addr = listener
                .local_addr()
                .map_err(|e| Error::io("listener address", e))?;
            tracing::info!(
                "credential {} served at {scheme}://{addr} with the exchange's own paths (no /{} prefix)",
                c.name,
                c.name
            );
            listeners.push(proxy::Listening {
                listener,
                credential: Some(c.name.clone()),
            });
        }
        proxy::run_all(state.clone(), listeners, tls, shutdown_signal()).await;
        tracing::info!("shutting down");
        tokio::task::block_in_place(|| state.resources().close_audit());
        Ok(ExitCode::SUCCESS)
    })
}

/// Reloads the config on every SIGHUP (installed before listening, so a SIGHUP never kills
/// a serving keyward).
fn reload_on_hangup(path: std::path::PathBuf, state: Arc<State>) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())
        .map_err(|e| Error::io("cannot install the SIGHUP (reload) handler", e))?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let (path, state) = (path.clone(), state.clone());
            // Reading and compiling the config blocks (briefly); the outcome is logged.
            let _ = tokio::task::spawn_blocking(move || proxy::reload(&path, &state)).await;
        }
    });
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
