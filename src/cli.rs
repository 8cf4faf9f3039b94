//! The command line's shape (clap): commands, their flags and what they parse into. `main.rs`
//! dispatches them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use keyward::token::{KeyOptions, PinPolicy, PivSlot, TouchPolicy};

#[derive(Parser)]
#[command(
    name = "keyward",
    version,
    about = "Exchange API keys sealed to an HSM, behind an allowlisting signing proxy"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the proxy.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Generate the sealing key pair on the token and print its recipient string; or, with
    /// --api-key, an exchange API key pair for one credential, and print its public key.
    Keygen {
        #[arg(long)]
        config: PathBuf,
        /// The sealing key's algorithm: p256 (ECDH), or rsa3072 (RSA-OAEP, for HSMs without ECDH).
        #[arg(long, value_enum, default_value_t = SealingKind::P256, conflicts_with_all = ["api_key", "audit_key"])]
        algorithm: SealingKind,
        /// Generate the audit checkpoint key pair instead (ECDSA P-256, label keyward-audit; on a
        /// YubiKey in --slot) and print its public key for [audit] checkpoint_public_key.
        #[arg(long, conflicts_with = "api_key")]
        audit_key: bool,
        /// Generate an exchange API key pair instead (Binance: ed25519; Coinbase: p256).
        #[arg(long, value_enum, requires = "name")]
        api_key: Option<ApiKeyKind>,
        /// The credential the API key pair is for (its token label is keyward-api-NAME).
        #[arg(long, requires = "api_key")]
        name: Option<String>,
        /// Also write the recipient string (or the PEM public key) to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// YubiKey: the PIV slot for the API key pair or the audit key (an empty one, e.g. a
        /// retired slot 82..95).
        #[arg(long)]
        slot: Option<PivSlot>,
        #[command(flatten)]
        yubikey: YubiKeyFlags,
    },
    /// Print the recipient string of the sealing key already on the token.
    Recipient {
        #[arg(long)]
        config: PathBuf,
    },
    /// Seal an API key and secret (read from stdin, one per line) into a vault file. Needs no token.
    Seal {
        /// The recipient string printed by `keygen`, or a file holding it.
        #[arg(long)]
        recipient: String,
        /// Credential name (the first path segment bots use).
        #[arg(long)]
        name: String,
        /// Exchange id, e.g. binance.
        #[arg(long)]
        exchange: String,
        /// Vault file to write (its folder is created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Record an expiry this many days from now (a reminder to rotate; `check` warns).
        #[arg(long)]
        expires_days: Option<u64>,
    },
    /// Store a credential whose signing key stays on the token (read from stdin as for seal:
    /// the API key and HMAC secret, or the API key alone when `keygen --api-key` made its key
    /// pair); write a vault holding the API key and the key's reference, never the secret.
    Import {
        #[arg(long)]
        config: PathBuf,
        /// Credential name (the first path segment bots use).
        #[arg(long)]
        name: String,
        /// Exchange id, e.g. binance.
        #[arg(long)]
        exchange: String,
        /// Keep the signing key on the token (the only kind of import).
        #[arg(long, required = true)]
        in_token: bool,
        /// YubiKey: the PIV slot holding the credential's API key pair (`keygen --api-key --slot`).
        #[arg(long)]
        slot: Option<PivSlot>,
        /// Vault file to write (its folder is created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Record an expiry this many days from now (a reminder to rotate; `check` warns).
        #[arg(long)]
        expires_days: Option<u64>,
    },
    /// Seal a new key version of a configured credential (API key, secret and passphrase on
    /// stdin, as for seal) and append it to its vault file, earlier versions kept; print the new
    /// version, its vault_sha256 line and the steps at the exchange. Needs no token.
    Rotate {
        #[arg(long)]
        config: PathBuf,
        /// The [[credential]] to rotate.
        #[arg(long)]
        credential: String,
        /// Seal to this recipient (kwr1-... or a file holding it) instead of the one the vault
        /// records; needed once for a vault written by `keyward seal` (format version 1).
        #[arg(long)]
        recipient: Option<String>,
        /// Record an expiry this many days from now (besides rotate_after_days).
        #[arg(long)]
        expires_days: Option<u64>,
    },
    /// Print the `vault_sha256 = "..."` line that pins a vault file (put it in the credential's
    /// [[credential]] entry: only the pinned file is served).
    Digest {
        /// The vault file.
        vault: PathBuf,
    },
    /// Mint a new client token for a bot; print it once, with its config line.
    ClientToken {
        #[arg(long)]
        name: String,
    },
    /// Validate the config, log in, unseal every credential and summarise the policy.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Check everything `serve` needs, in order (module, token, PIN, sealing key, vaults,
    /// config, audit file, clock skew against each exchange), printing each finding with its
    /// fix; exit 0 only when nothing is to fix.
    Doctor {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print a shell completion script (bash: `keyward completions bash >
    /// /usr/share/bash-completion/completions/keyward`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `keyward man > keyward.1`; or, with --out-dir, write it and
    /// one page per subcommand (keyward-serve.1, ...) into that folder.
    Man {
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Call the admin API of a running keyward: status, the kill switch, reload. The admin
    /// token comes from --token-file or KEYWARD_ADMIN_TOKEN, never from the command line.
    Admin {
        #[command(flatten)]
        to: AdminFlags,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Where `keyward admin` sends its request, and the token it carries.
#[derive(clap::Args)]
pub struct AdminFlags {
    /// The admin API's address, e.g. http://127.0.0.1:9901 (a loopback address).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Or the config whose [admin] listen is the address.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// A file (mode 0600) holding the admin token; without it, KEYWARD_ADMIN_TOKEN.
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Print GET /status (clients and credentials, their state and activity).
    Status,
    /// Disable a client or a credential: its next request gets 403.
    Disable {
        #[arg(value_enum)]
        target: AdminTarget,
        name: String,
    },
    /// Enable a client or a credential again.
    Enable {
        #[arg(value_enum)]
        target: AdminTarget,
        name: String,
    },
    /// Re-read the config like SIGHUP; exits non-zero when keyward refuses it.
    Reload,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AdminTarget {
    Client,
    Credential,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SealingKind {
    P256,
    Rsa3072,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ApiKeyKind {
    Ed25519,
    P256,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Show what keyward would decide for a request (exit 0 allowed, 1 denied).
    Explain {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        client: String,
        /// GET, POST, PUT, PATCH or DELETE (PATCH only for exchanges that use it: gate, alpaca).
        method: String,
        /// The request target as the bot sends it: /<credential>/<path>?<query>.
        target: String,
        /// The request body, if any: a form (`a=1&b=2`) or JSON (`{...}`, `[...]`).
        #[arg(long)]
        body: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain and, with the checkpoint public key, the genesis record and every
    /// signed checkpoint; print what is vouched for; exit non-zero naming the first bad record.
    Verify {
        path: PathBuf,
        /// The audit checkpoint public key (PEM), as `keyward keygen --audit-key` wrote it.
        #[arg(long, conflicts_with = "config")]
        public_key: Option<PathBuf>,
        /// Take the public key from this config's [audit] checkpoint_public_key.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Checkpoints shipped off the host (syslog / `journalctl -t keyward` output): each must
        /// match the log, which detects a deleted tail.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print the last records as readable lines (or as stored, --json); -f keeps printing
    /// records as they are appended.
    Tail {
        #[command(flatten)]
        source: AuditSource,
        /// Keep reading as the log grows (like tail -f); a rotated or truncated log is
        /// reopened from its start.
        #[arg(short, long)]
        follow: bool,
        /// How many of the last records to print first.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        #[arg(long)]
        json: bool,
    },
    /// Print the requests (and WebSocket frames) that match, each with its outcome.
    Search {
        #[command(flatten)]
        source: AuditSource,
        #[command(flatten)]
        filter: AuditFilterFlags,
        /// One JSON object per line: the stored record with its "outcome" (or null) added.
        #[arg(long)]
        json: bool,
    },
    /// Counts by decision, client, credential and endpoint, and latency percentiles.
    Stats {
        #[command(flatten)]
        source: AuditSource,
        #[command(flatten)]
        filter: AuditFilterFlags,
        #[arg(long)]
        json: bool,
    },
    /// Write one self-contained HTML page with charts (no network needed to view it).
    Report {
        #[command(flatten)]
        source: AuditSource,
        #[command(flatten)]
        filter: AuditFilterFlags,
        /// The page to write.
        #[arg(long, value_name = "OUT.html")]
        html: PathBuf,
    },
}

/// The audit file a read-side tool reads: FILE, or the `[audit] path` of `--config`.
#[derive(clap::Args)]
pub struct AuditSource {
    /// The audit log (JSON lines), e.g. a rotated one; without it, --config's [audit] path.
    #[arg(required_unless_present = "config")]
    pub file: Option<PathBuf>,
    /// The config: its [audit] path is the log when no FILE is given, and `report` reads
    /// its credentials' key dates from their vault files.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Which requests `audit search`, `stats` and `report` look at (all must match).
#[derive(clap::Args)]
pub struct AuditFilterFlags {
    /// The client's name as in the config (`unknown` / `anonymous` before authentication).
    #[arg(long)]
    pub client: Option<String>,
    /// The credential (the first path segment bots use).
    #[arg(long)]
    pub credential: Option<String>,
    /// A path (/api/v3/order), "METHOD /path", or a prefix ending in * (/sapi/*).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// allow; deny (by the policy); refuse (before the policy: transport, auth, route, form);
    /// error (allowed, but the exchange could not be reached or did not answer).
    #[arg(long, value_enum)]
    pub decision: Option<AuditDecision>,
    /// Records at or after this time: RFC 3339 (2026-12-04T10:00:00Z) or a duration back
    /// from now (15m, 2h, 7days).
    #[arg(long)]
    pub since: Option<String>,
    /// Records before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AuditDecision {
    Allow,
    Deny,
    Refuse,
    Error,
}

/// How a YubiKey (`[token] kind = "yubikey"`) makes the keys keygen asks for.
#[derive(clap::Args)]
pub struct YubiKeyFlags {
    /// YubiKey: when the card asks for the PIN, once per session or before every use
    /// [default: once].
    #[arg(long, value_name = "once|always")]
    pin_policy: Option<PinPolicy>,
    /// YubiKey: when the card asks for a touch: never, always, or cached (15 s)
    /// [default: never].
    #[arg(long, value_name = "never|always|cached")]
    touch: Option<TouchPolicy>,
    /// YubiKey: a file (mode 0600) holding the PIV management key in hex, if it is not the
    /// default one.
    #[arg(long)]
    management_key_file: Option<PathBuf>,
}

impl YubiKeyFlags {
    pub fn options(self) -> KeyOptions {
        KeyOptions {
            pin_policy: self.pin_policy,
            touch: self.touch,
            management_key_file: self.management_key_file,
        }
    }
}
