//! Exchanges an [`super::Env`] fronts besides Binance: for each one listed in
//! [`super::Options::exchanges`], one credential `<exchange>-main` sealed on the Env's token, one
//! bot `<exchange>-bot` (allow list `<exchange>:read` + `<exchange>:trade`) and that exchange's own
//! mock (`scripts/mock_exchange.py --exchange <exchange>`), all behind the Env's one `keyward
//! serve`. The keys and secrets have each exchange's own shape (the same as
//! `tests/python/harness.py`'s stacks use), so the mocks verify keyward's signatures for real.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::{must, random_alnum, spawn_daemon, stop_child, write_private, REPO};

/// Every exchange profile keyward has besides Binance (which every Env fronts anyway).
pub const ALL_BUT_BINANCE: &[&str] = &[
    "bybit", "okx", "bitget", "kucoin", "kraken", "gate", "bitmex", "coinbase", "deribit", "alpaca",
];

/// What a mock exchange received: its JSON-lines record file.
#[derive(Clone, Debug)]
pub struct MockLog {
    pub path: PathBuf,
}

impl MockLog {
    /// The complete record lines (a line still being appended is left out).
    pub fn lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let complete = match text.rfind('\n') {
            Some(i) => &text[..i],
            None => "",
        };
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn records(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).expect("mock record is JSON"))
            .collect()
    }

    /// Records in whose raw line `needle` occurs (anywhere: path, query, body or headers).
    pub fn records_with(&self, needle: &str) -> Vec<Value> {
        self.lines()
            .iter()
            .filter(|l| l.contains(needle))
            .map(|l| serde_json::from_str(l).expect("mock record is JSON"))
            .collect()
    }
}

/// A mock exchange process, started but maybe not yet listening.
pub(super) struct MockProcess {
    child: Child,
    out: BufReader<ChildStdout>,
    stderr_log: PathBuf,
}

impl MockProcess {
    /// Starts `scripts/mock_exchange.py --exchange EXCHANGE` with TLS from `dir/ca`, recording to
    /// `record`; does not wait for it (see [`MockProcess::port`]).
    pub(super) fn spawn(
        dir: &Path,
        exchange: &str,
        credentials: &Path,
        record: &Path,
        stderr_log: PathBuf,
    ) -> Self {
        std::fs::write(record, "").unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(Path::new(REPO).join("scripts/mock_exchange.py"))
            .args(["--exchange", exchange, "--cert"])
            .arg(dir.join("ca/server.pem"))
            .arg("--key")
            .arg(dir.join("ca/server.key"))
            .args(["--port", "0", "--credentials"])
            .arg(credentials)
            .arg("--record")
            .arg(record)
            .arg("--permissions")
            .arg(super::permissions_file(dir))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap());
        let mut child = spawn_daemon(cmd);
        let out = BufReader::new(child.stdout.take().unwrap());
        MockProcess {
            child,
            out,
            stderr_log,
        }
    }

    /// Waits until the mock listens; its port (panics with its stderr if it did not start).
    pub(super) fn port(&mut self) -> u16 {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        match line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
        {
            Some(p) => p,
            None => {
                stop_child(&mut self.child);
                panic!(
                    "mock exchange did not start: {line:?}\n{}",
                    std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
                );
            }
        }
    }

    pub(super) fn into_parts(self) -> (Child, BufReader<ChildStdout>) {
        (self.child, self.out)
    }
}

/// An exchange API key as that exchange issues it: what `keyward seal` reads on stdin and what
/// the exchange's mock is told.
struct ExchangeKey {
    /// `keyward seal`'s stdin: the key, the secret (a PEM may span lines), the passphrase.
    sealed: String,
    /// The mock's `--credentials` object.
    mock: Value,
}

fn exchange_key(exchange: &str, dir: &Path) -> ExchangeKey {
    let hmac = |key: String, secret: String| ExchangeKey {
        sealed: format!("{key}\n{secret}\n"),
        mock: json!({ key: secret }),
    };
    let with_passphrase = |key: String, secret: String, passphrase: &str| ExchangeKey {
        sealed: format!("{key}\n{secret}\n{passphrase}\n"),
        mock: json!({ key: { "secret": secret, "passphrase": passphrase } }),
    };
    match exchange {
        "bybit" => hmac(random_alnum(18), random_alnum(36)),
        "okx" => with_passphrase(random_alnum(36), random_alnum(32), "Real-Pass-9f3e"),
        "bitget" => with_passphrase(random_alnum(34), random_alnum(64), "RealBitgetPass42"),
        "kucoin" => with_passphrase(
            "65f1a2b3c4d5e6f708091a2b".to_owned(),
            "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3".to_owned(),
            "real-Passphrase-7",
        ),
        "kraken" => {
            let raw: Vec<u8> = random_alnum(64).into_bytes();
            hmac(random_alnum(56), base64_encode(&raw))
        }
        "gate" => hmac(random_alnum(32), random_alnum(64)),
        "bitmex" => hmac(random_alnum(24), random_alnum(48)),
        "deribit" => hmac(
            "Xq3mB7pA".to_owned(),
            "k2mVtY9c4RrZ0WqLsE8uJ1fH5dNpG6bXo7iA3yTzQ0w".to_owned(),
        ),
        "alpaca" => hmac(
            "AKZ4PQ7N3XK2M5VB8RTY".to_owned(),
            "wq8Lr2Vt9Yp4Hk7Nc3Xb6Zm1Fd5Gs0Jq2Ae8Tu4Ri".to_owned(),
        ),
        "coinbase" => {
            // A CDP key: its name, and an ES256 key (SEC1 PEM) whose public half the mock knows.
            let pem = dir.join("coinbase-key.pem");
            must(
                Command::new("openssl")
                    .args([
                        "ecparam",
                        "-name",
                        "prime256v1",
                        "-genkey",
                        "-noout",
                        "-out",
                    ])
                    .arg(&pem)
                    .output()
                    .expect("openssl runs"),
                "openssl ecparam",
            );
            let public = must(
                Command::new("openssl")
                    .args(["ec", "-pubout", "-in"])
                    .arg(&pem)
                    .output()
                    .expect("openssl runs"),
                "openssl ec -pubout",
            );
            let secret = std::fs::read_to_string(&pem).unwrap();
            std::fs::remove_file(&pem).unwrap();
            let key = "organizations/0f1e2d3c-aaaa-4bbb-8ccc-000000000001/apiKeys/1a2b3c4d-dddd-4eee-8fff-000000000002";
            ExchangeKey {
                sealed: format!("{key}\n{}\n", secret.trim_end()),
                mock: json!({ key: { "public_key": String::from_utf8(public.stdout).unwrap() } }),
            }
        }
        other => panic!("no test credential shape for exchange {other:?}"),
    }
}

fn base64_encode(raw: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One fronted exchange while the Env is being built.
pub(super) struct VenueStart {
    pub exchange: &'static str,
    key: ExchangeKey,
    log: MockLog,
    mock: MockProcess,
}

impl VenueStart {
    /// Makes the exchange's key and starts its mock (not waiting for it to listen).
    pub(super) fn spawn(dir: &Path, exchange: &'static str) -> Self {
        let key = exchange_key(exchange, dir);
        let credentials = dir.join(format!("mock-credentials-{exchange}.json"));
        write_private(&credentials, &key.mock.to_string());
        let log = MockLog {
            path: dir.join(format!("mock-requests-{exchange}.jsonl")),
        };
        let stderr_log = dir.join(format!("mock-{exchange}.stderr.log"));
        let mock = MockProcess::spawn(dir, exchange, &credentials, &log.path, stderr_log);
        VenueStart {
            exchange,
            key,
            log,
            mock,
        }
    }

    pub(super) fn credential(&self) -> String {
        format!("{}-main", self.exchange)
    }

    /// What `keyward seal` reads for this credential.
    pub(super) fn sealed_input(&self) -> &str {
        &self.key.sealed
    }

    /// Waits for the mock; the running venue, with the bot's client token.
    pub(super) fn ready(mut self, token: String) -> Venue {
        let mock_port = self.mock.port();
        Venue {
            exchange: self.exchange,
            credential: self.credential(),
            client: format!("{}-bot", self.exchange),
            token,
            api_key: self
                .key
                .mock
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone(),
            mock_port,
            log: self.log,
            sealed: self.key.sealed,
            mock: Mutex::new(self.mock.into_parts()),
        }
    }
}

/// An exchange the Env's keyward fronts: its credential, its bot and its mock.
pub struct Venue {
    pub exchange: &'static str,
    /// The credential's name, `<exchange>-main`: bots use `/<credential>/...`.
    pub credential: String,
    /// The bot's client name, `<exchange>-bot`, and its client token.
    pub client: String,
    pub token: String,
    /// The exchange API key sealed in the credential (what the mock knows it by).
    pub api_key: String,
    pub mock_port: u16,
    pub log: MockLog,
    /// What `keyward seal` read for its credential (key, secret, passphrase), e.g. to rotate.
    pub sealed: String,
    mock: Mutex<(Child, BufReader<ChildStdout>)>,
}

impl Venue {
    /// The config's `[[credential]]` and `[[client]]` tables for this venue.
    pub(super) fn config_text(&self, dir: &Path, token_sha256: &str) -> String {
        let (x, cred) = (self.exchange, &self.credential);
        format!(
            r#"
[[credential]]
name = "{cred}"
exchange = "{x}"
vault = "vault/{cred}.kwv"
vault_sha256 = "{pin}"
recv_window_ms = 5000
upstream = {{ base = "https://127.0.0.1:{port}", ca = "ca/ca.pem" }}

[[client]]
name = "{client}"
token_sha256 = "{token_sha256}"
credential = "{cred}"
rate = "1000/s"
on_hard_deny = "log"
allow = ["{x}:read", "{x}:trade"]
"#,
            port = self.mock_port,
            client = self.client,
            pin = super::vault_pin(dir, cred),
        )
    }

    /// The header a bot of this exchange carries its client token in (as its client library
    /// would send its API key), with the token.
    pub fn auth_header(&self) -> (&'static str, String) {
        match self.exchange {
            "coinbase" | "deribit" => ("Authorization", format!("Bearer {}", self.token)),
            "bybit" => ("X-BAPI-API-KEY", self.token.clone()),
            "okx" => ("OK-ACCESS-KEY", self.token.clone()),
            "bitget" => ("ACCESS-KEY", self.token.clone()),
            "kucoin" => ("KC-API-KEY", self.token.clone()),
            "kraken" => ("API-Key", self.token.clone()),
            "gate" => ("KEY", self.token.clone()),
            "bitmex" => ("api-key", self.token.clone()),
            "alpaca" => ("APCA-API-KEY-ID", self.token.clone()),
            other => panic!("no key header for {other}"),
        }
    }

    pub(super) fn stop(&self) {
        stop_child(&mut self.mock.lock().unwrap().0);
    }
}
