//! The harness for keyward's integration tests: a real SoftHSM token, the real `keyward` binary
//! and the TLS mock exchange (`scripts/mock_exchange.py`), all in one temporary directory.
//!
//! [`Env::start`] does what an operator does: make a token, `keyward keygen`, `keyward seal` two
//! credentials, mint client tokens, write the config, start the mock exchange and `keyward serve`.
//! A test file usually shares one `Env` between its tests through a `LazyLock` (token set-up costs
//! about a second), so everything here is thread-safe and tests must tell their own requests apart
//! in the mock's record with a unique [`tag`].
//!
//! Processes are stopped when the `Env` is dropped. A `static` is never dropped, so every child is
//! also registered for an `atexit` clean-up, and is started with `PR_SET_PDEATHSIG` from a thread
//! that lives as long as the test process, so even a killed test binary leaves nothing behind.
//! `KEYWARD_TEST_KEEP=1` keeps the temporary directories (their paths are printed).
#![allow(dead_code)]

pub mod audit_fixture;
pub mod bao;
pub mod in_service;
pub mod smallfs;
pub mod token_checks;
pub mod venue;
pub mod vpiv;

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const KEYWARD: &str = env!("CARGO_BIN_EXE_keyward");
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The credential most tests use, and its bot.
pub const MAIN: &str = "binance-main";
/// A second credential (another API key), with its own bot.
pub const ALT: &str = "binance-alt";

const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

// ---- process hygiene --------------------------------------------------------------------------

/// pids to stop and directories to remove when the test process exits.
static AT_EXIT: Mutex<(Vec<i32>, Vec<PathBuf>)> = Mutex::new((Vec::new(), Vec::new()));

fn keep_dirs() -> bool {
    std::env::var_os("KEYWARD_TEST_KEEP").is_some_and(|v| v == "1")
}

extern "C" fn cleanup_at_exit() {
    let Ok(mut g) = AT_EXIT.try_lock() else {
        return;
    };
    let pids = std::mem::take(&mut g.0);
    for pid in &pids {
        // SAFETY: plain syscalls on pids this process started and has not reaped.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    for pid in &pids {
        reap(*pid, Duration::from_secs(3));
    }
    if !keep_dirs() {
        for d in std::mem::take(&mut g.1) {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn reap(pid: i32, grace: Duration) {
    let deadline = Instant::now() + grace;
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r != 0 {
            return; // reaped, or not our child any more
        }
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A new temporary directory, removed at exit unless `KEYWARD_TEST_KEEP=1` (then printed).
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
        .keep();
    if keep_dirs() {
        eprintln!("test directory (kept): {}", dir.display());
    } else {
        AT_EXIT.lock().unwrap().1.push(dir.clone());
    }
    dir
}

fn register_at_exit() {
    static ONCE: Once = Once::new();
    // SAFETY: registers a plain extern "C" function.
    ONCE.call_once(|| unsafe {
        libc::atexit(cleanup_at_exit);
    });
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Starts a long-running child from a thread that lives as long as the process, with
/// `PR_SET_PDEATHSIG` (which fires when the *thread* that forked exits), and registers it for the
/// `atexit` clean-up.
fn spawn_daemon(mut cmd: Command) -> Child {
    static SPAWNER: LazyLock<Mutex<mpsc::Sender<SpawnJob>>> = LazyLock::new(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("keyward-test-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    register_at_exit();
    // SAFETY: prctl and getppid are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("parent already gone"));
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    SPAWNER
        .lock()
        .unwrap()
        .send((cmd, tx))
        .expect("spawner alive");
    let child = rx.recv().expect("spawner answered").expect("spawn a child");
    AT_EXIT.lock().unwrap().0.push(child.id() as i32);
    child
}

fn stop_child(child: &mut Child) {
    let pid = child.id() as i32;
    if child.try_wait().ok().flatten().is_none() {
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    AT_EXIT.lock().unwrap().0.retain(|p| *p != pid);
}

// ---- small helpers ----------------------------------------------------------------------------

/// A tag unique in this test process, usable as a Binance `newClientOrderId` or parameter value.
pub fn tag(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn sha256_hex(s: &str) -> String {
    sha256_hex_bytes(s.as_bytes())
}

pub fn sha256_hex_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn random_alnum(n: usize) -> String {
    let mut raw = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .expect("read /dev/urandom");
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    raw.iter()
        .map(|b| ABC[*b as usize % ABC.len()] as char)
        .collect()
}

pub fn softhsm_module() -> Option<&'static str> {
    SOFTHSM_MODULES
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `out`, which must be a success (else panics with its output).
pub fn must(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// ---- HTTP over a raw TcpStream -----------------------------------------------------------------

/// A response read off the wire.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): status {}\n{}\n{}",
                self.status,
                self.head,
                self.text()
            )
        })
    }

    /// keyward's status for a refusal: the wire status, or, where the exchange's own refusals
    /// are HTTP 200 (Bybit) and keyward answers alike, its `X-Keyward-Status`.
    pub fn refusal_status(&self) -> u16 {
        match self.header("x-keyward-status") {
            Some(own) if self.status == 200 => own.parse().unwrap_or(0),
            _ => self.status,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// Asserts keyward's JSON error: this status and `{"error":{"code":CODE,"message":"..."}}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.refusal_status(),
            status,
            "expected {status} {code}, got:\n{}\n{}",
            self.head,
            self.text()
        );
        self.assert_error_shape(code);
    }

    /// Asserts the body is keyward's error shape with this code; besides `error`, the top level
    /// may only hold Binance's native `code` (a negative number) and `msg` ("keyward: " + the
    /// same message), which keyward adds once the request is routed to a Binance credential.
    #[track_caller]
    pub fn assert_error_shape(&self, code: &str) {
        let v = self.json();
        let obj = v.as_object().expect("error body is an object");
        for (k, val) in obj {
            match k.as_str() {
                "error" => {}
                "code" => assert!(val.as_i64().is_some_and(|c| c < 0), "native code: {v}"),
                "msg" => assert_eq!(
                    val.as_str(),
                    v["error"]["message"]
                        .as_str()
                        .map(|m| format!("keyward: {m}"))
                        .as_deref(),
                    "native msg: {v}"
                ),
                other => panic!("unexpected top-level member {other:?}: {v}"),
            }
        }
        assert_eq!(obj.contains_key("code"), obj.contains_key("msg"), "{v}");
        let e = v["error"].as_object().expect("`error` is an object");
        assert_eq!(e.len(), 2, "error has exactly code and message: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        let msg = v["error"]["message"].as_str().expect("message is a string");
        assert!(!msg.is_empty(), "{v}");
        assert!(
            self.header("content-type")
                .is_some_and(|ct| ct.starts_with("application/json")),
            "error content type: {}",
            self.head
        );
    }
}

/// Sends `request` as is on a new connection and reads one response (status, head, body).
pub fn raw(port: u16, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to keyward");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer and close before it has read everything (e.g. an oversized body):
    // a failed write is fine as long as a response arrives.
    let write_err = s.write_all(request).and_then(|_| s.flush()).err();
    let head_request = request.starts_with(b"HEAD ");
    match read_response(&mut s, head_request) {
        Ok(r) => r,
        Err(e) => panic!(
            "no HTTP response ({e}; write error: {write_err:?}) to:\n{}",
            String::from_utf8_lossy(&request[..request.len().min(600)])
        ),
    }
}

pub fn read_response(s: &mut TcpStream, head_request: bool) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed after {} bytes: {:?}",
                    buf.len(),
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let resp_header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    let body = if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if resp_header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&rest, b"\r\n") {
                    break i;
                }
                read_more(s, &mut rest)?;
            };
            let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size {size_text:?}")))?;
            rest.drain(..line_end + 2);
            if size == 0 {
                break;
            }
            while rest.len() < size + 2 {
                read_more(s, &mut rest)?;
            }
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
        body
    } else if let Some(len) = resp_header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while rest.len() < len {
            read_more(s, &mut rest)?;
        }
        rest.truncate(len);
        rest
    } else {
        // read to EOF (a reset after the body is fine)
        loop {
            let n: usize = s.read(&mut chunk).unwrap_or_default();
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest
    };
    Ok(Resp { status, head, body })
}

fn read_more(s: &mut TcpStream, into: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = s.read(&mut chunk)?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed mid-body",
        ));
    }
    into.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Builds a well-formed HTTP/1.1 request (with `Host`, `Connection: close` and, for a body,
/// `Content-Type: application/x-www-form-urlencoded` unless given and `Content-Length`).
pub fn build(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        r.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            r.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        r.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    r.push_str("Connection: close\r\n\r\n");
    if let Some(b) = body {
        r.push_str(b);
    }
    r.into_bytes()
}

// ---- a keyward server process -----------------------------------------------------------------

/// A running `keyward serve`.
pub struct Keyward {
    pub port: u16,
    pub log: PathBuf,
    child: Mutex<Child>,
}

/// SoftHSM's file object store is not safe for several processes logging in to one token at
/// the same moment (`C_GetSlotList` then fails with CKR_GENERAL_ERROR): every keyward process
/// of this test binary (which has one token) takes this lock while it uses the token — a CLI
/// command for its whole run, `serve` until it listens (it unseals at start-up, then never
/// touches the token again).
static TOKEN_LOCK: Mutex<()> = Mutex::new(());

fn token_lock() -> std::sync::MutexGuard<'static, ()> {
    TOKEN_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loopback port nothing listens on (yet): bound once and released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Keyward {
    pub fn start(dir: &Path, config: &Path, envs: &[(String, String)], log_name: &str) -> Keyward {
        let _token = token_lock();
        let log = dir.join(log_name);
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(KEYWARD);
        cmd.args(["serve", "--config"])
            .arg(config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = spawn_daemon(cmd);
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let text = strip_ansi(&std::fs::read_to_string(&log).unwrap_or_default());
            if let Some(i) = text.find("listening on ") {
                let addr: String = text[i + 13..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                if let Some(p) = addr.rsplit(':').next().and_then(|p| p.parse().ok()) {
                    break p;
                }
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("keyward serve exited ({st}) before listening:\n{text}");
            }
            if Instant::now() > deadline {
                stop_child(&mut child);
                panic!("keyward serve did not listen within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Keyward {
            port,
            log,
            child: Mutex::new(child),
        }
    }

    /// The process id of this `keyward serve`.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap().id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (20 s at most) until `needle` occurs `n` times in keyward's log; the log.
    #[track_caller]
    pub fn wait_log(&self, needle: &str, n: usize) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.log_text();
            if text.matches(needle).count() >= n {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} (x{n}) in:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.lock().unwrap().try_wait().unwrap().is_none()
    }

    pub fn stop(&self) {
        stop_child(&mut self.child.lock().unwrap());
    }
}

impl Keyward {
    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Sends `signal` (`libc::SIGHUP` ...) to the process.
    pub fn signal(&self, signal: i32) {
        let child = self.child.lock().unwrap();
        // SAFETY: our own child, not yet reaped (Drop reaps it).
        unsafe { libc::kill(child.id() as i32, signal) };
    }

    /// Waits up to `timeout` for the process to exit; its status, if it did.
    pub fn wait_exit(&self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.lock().unwrap().try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Keyward {
    fn drop(&mut self) {
        stop_child(self.child.get_mut().unwrap());
    }
}

// ---- the environment ---------------------------------------------------------------------------

/// Options for [`Env::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// `KEYWARD_LOG` for `keyward serve` and the other commands (default `info`).
    pub log_level: String,
    /// Seal to a virtual YubiKey made like this (slot 9d, `[token] kind = "yubikey"`) instead of
    /// a SoftHSM token.
    pub yubikey: Option<vpiv::CardSpec>,
    /// Other exchanges the one keyward fronts besides Binance (e.g. [`venue::ALL_BUT_BINANCE`]):
    /// one credential, one bot and one mock each (see [`venue`], [`Env::venue`]).
    pub exchanges: &'static [&'static str],
    /// How the mocks answer keyward's key-permission check for some credentials (credential
    /// name, `scripts/mocks/permissions.py` mode: `withdraw`, `unreadable`, ...), from the start;
    /// every other key answers "safe". [`Env::set_key_permissions`] changes it later.
    pub key_permissions: &'static [(&'static str, &'static str)],
    /// Seal to a key service's key instead: an OpenBao server's Transit key (`[token] kind =
    /// "vault"`) or an AWS KMS key (`kind = "aws-kms"`), the section as given; keygen with
    /// `--algorithm rsa3072`.
    pub key_service: Option<String>,
    /// More environment for every keyward command (e.g. AWS credentials).
    pub envs: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            log_level: "info".to_owned(),
            key_service: None,
            envs: Vec::new(),
            yubikey: None,
            exchanges: &[],
            key_permissions: &[],
        }
    }
}

/// Settings of a config written by [`Env::write_config`].
#[derive(Clone, Debug)]
pub struct ConfigSpec {
    pub anonymous_market_data: bool,
    pub audit: &'static str,
    /// More `[server]` lines. The default lifts `auth_failure_rate` far above what any test
    /// file's deliberate wrong tokens spend (tests/limits.rs sets its own).
    pub server: String,
}

impl Default for ConfigSpec {
    fn default() -> Self {
        ConfigSpec {
            anonymous_market_data: true,
            audit: "audit.jsonl",
            server: "auth_failure_rate = \"100000/m\"".to_owned(),
        }
    }
}

/// Everything one test file needs: token, vaults, config, mock exchange and `keyward serve`.
pub struct Env {
    pub dir: PathBuf,
    /// The config's `[token]` section.
    pub token_section: String,
    pub softhsm_conf: PathBuf,
    pub config: PathBuf,
    pub audit: PathBuf,
    pub recipient: String,
    /// The "real" Binance API key and secret of credential `binance-main` …
    pub api_key: String,
    pub secret: String,
    /// … and of `binance-alt`.
    pub api_key_alt: String,
    pub secret_alt: String,
    /// Client tokens: `grid-bot` (binance-main, orders with limits), `alt-bot` (binance-alt,
    /// read only), `slow-bot` (binance-main, read only, `rate = "3/m"`).
    pub token: String,
    pub token_alt: String,
    pub token_slow: String,
    /// The token's user PIN (in `pin.txt`).
    pub pin: String,
    pub mock_port: u16,
    pub mock_record: PathBuf,
    pub mock_credentials: PathBuf,
    pub kw: Keyward,
    pub envs: Vec<(String, String)>,
    mock: Mutex<(Child, BufReader<ChildStdout>)>,
    /// The other exchanges fronted ([`Options::exchanges`]), in that order.
    pub venues: Vec<venue::Venue>,
    /// With [`Options::yubikey`]: the card (dropped before its pcscd).
    pub yubikey: Option<(vpiv::VirtualCard, vpiv::VirtualPcsc)>,
}

/// The file every mock of an Env reads its key-permission answers from (`--permissions`).
pub fn permissions_file(dir: &Path) -> PathBuf {
    dir.join("mock-permissions.json")
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Env {
        let started = Instant::now();
        register_at_exit();
        let dir = temp_dir("keyward-it-");

        // SoftHSM: a token of our own, SOFTHSM2_CONF passed to children only.
        let tokens = dir.join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let softhsm_conf = dir.join("softhsm2.conf");
        let template =
            std::fs::read_to_string(Path::new(REPO).join("hsm-config/softhsm2.conf")).unwrap();
        std::fs::write(
            &softhsm_conf,
            template.replace("@TOKENDIR@", tokens.to_str().unwrap()),
        )
        .unwrap();
        let mut envs = vec![
            (
                "SOFTHSM2_CONF".to_owned(),
                softhsm_conf.display().to_string(),
            ),
            ("NO_COLOR".to_owned(), "1".to_owned()),
            ("KEYWARD_LOG".to_owned(), opts.log_level.clone()),
        ];
        envs.extend(opts.envs.iter().cloned());
        let (pin, token_section, yubikey) = match &opts.yubikey {
            None if opts.key_service.is_some() => (
                String::new(),
                opts.key_service.clone().unwrap_or_default(),
                None,
            ),
            None => {
                let module = softhsm_module().expect(
                    "libsofthsm2.so not found: apt-get install -y softhsm2 (scripts/test.sh does)",
                );
                let pin = random_alnum(12);
                let so_pin = random_alnum(12);
                must(
                    Command::new("softhsm2-util")
                        .args(["--init-token", "--free", "--label", "keyward"])
                        .args(["--pin", &pin, "--so-pin", &so_pin])
                        .env("SOFTHSM2_CONF", &softhsm_conf)
                        .output()
                        .expect("softhsm2-util runs (apt-get install -y softhsm2)"),
                    "softhsm2-util --init-token",
                );
                let section = format!(
                    "module = \"{module}\"\nuri = \"pkcs11:token=keyward;object=keyward-seal\"\n"
                );
                (pin, section, None)
            }
            Some(spec) => {
                let pcsc = vpiv::VirtualPcsc::start();
                let card = pcsc.insert(0, spec);
                envs.push(pcsc.env());
                let section = format!(
                    "kind = \"yubikey\"\nserial = {}\nslot = \"9d\"\n",
                    spec.serial
                );
                (spec.pin.to_owned(), section, Some((card, pcsc)))
            }
        };
        write_private(&dir.join("pin.txt"), &format!("{pin}\n"));

        // TLS for the mock exchange.
        must(
            Command::new("bash")
                .arg(Path::new(REPO).join("scripts/make_test_ca.sh"))
                .arg(dir.join("ca"))
                .output()
                .expect("bash runs"),
            "scripts/make_test_ca.sh",
        );

        // Credentials: what the exchange knows, and what gets sealed.
        let api_key = random_alnum(64);
        let secret = random_alnum(64);
        let api_key_alt = random_alnum(64);
        let secret_alt = random_alnum(64);
        let mock_credentials = dir.join("mock-credentials.json");
        let creds = serde_json::json!({ &api_key: &secret, &api_key_alt: &secret_alt });
        write_private(&mock_credentials, &creds.to_string());
        let mock_record = dir.join("mock-requests.jsonl");
        // Every mock starts at once (each takes a moment to import its Python modules).
        let mut binance_mock = venue::MockProcess::spawn(
            &dir,
            "binance",
            &mock_credentials,
            &mock_record,
            dir.join("mock.stderr.log"),
        );
        let starting: Vec<venue::VenueStart> = opts
            .exchanges
            .iter()
            .map(|x| venue::VenueStart::spawn(&dir, x))
            .collect();
        let mock_port = binance_mock.port();
        let (mock, mock_out) = binance_mock.into_parts();

        let mut env = EnvBuilder {
            dir: dir.clone(),
            envs,
        };
        let (token, token_hash) = env.client_token("grid-bot");
        let (token_alt, token_alt_hash) = env.client_token("alt-bot");
        let (token_slow, token_slow_hash) = env.client_token("slow-bot");
        let config = dir.join("keyward.toml");
        let hashes = [token_hash, token_alt_hash, token_slow_hash];
        let venue_keys: Vec<(String, String, &'static str)> = starting
            .iter()
            .map(|v| (v.credential(), v.sealed_input().to_owned(), v.exchange))
            .collect();
        let venues: Vec<venue::Venue> = starting
            .into_iter()
            .map(|v| {
                let (token, _) = env.client_token(&format!("{}-bot", v.exchange));
                v.ready(token)
            })
            .collect();
        std::fs::write(
            &config,
            config_text(
                &dir,
                &token_section,
                mock_port,
                &hashes,
                &ConfigSpec::default(),
            ) + &venues_config_text(&dir, &venues),
        )
        .unwrap();

        // keygen on the token (stdout: exactly the recipient), then seal without the token.
        let mut keygen = vec![
            "keygen",
            "--config",
            "keyward.toml",
            "--out",
            "recipient.txt",
        ];
        if opts.key_service.is_some() {
            keygen.extend(["--algorithm", "rsa3072"]);
        }
        let out = must(env.run(&keygen, None), "keyward keygen");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "keygen prints only the recipient: {stdout:?}"
        );
        let recipient = lines[0].trim().to_owned();
        assert_eq!(
            std::fs::read_to_string(dir.join("recipient.txt"))
                .unwrap()
                .trim(),
            recipient
        );
        if opts.yubikey.is_none() && opts.key_service.is_none() {
            let out = must(
                env.run(
                    &[
                        "keygen",
                        "--config",
                        "keyward.toml",
                        "--audit-key",
                        "--out",
                        "audit-key.pem",
                    ],
                    None,
                ),
                "keyward keygen --audit-key",
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).starts_with("-----BEGIN PUBLIC KEY-----"),
                "keygen --audit-key prints the PEM"
            );
        }
        let binance_keys = [(MAIN, &api_key, &secret), (ALT, &api_key_alt, &secret_alt)]
            .map(|(name, key, sec)| (name.to_owned(), format!("{key}\n{sec}\n"), "binance"));
        for (name, input, exchange) in binance_keys.into_iter().chain(venue_keys) {
            let out_file = format!("vault/{name}.kwv");
            let out = must(
                env.run(
                    &[
                        "seal",
                        "--recipient",
                        "recipient.txt",
                        "--name",
                        &name,
                        "--exchange",
                        exchange,
                        "--out",
                        &out_file,
                    ],
                    Some(&input),
                ),
                "keyward seal",
            );
            // seal prints the one line that makes the vault current.
            let want = format!(
                "vault_sha256 = \"{}\"\n",
                sha256_hex_bytes(&std::fs::read(dir.join(&out_file)).unwrap())
            );
            assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
        }
        // Pin the vaults just sealed.
        std::fs::write(
            &config,
            config_text(
                &dir,
                &token_section,
                mock_port,
                &hashes,
                &ConfigSpec::default(),
            ) + &venues_config_text(&dir, &venues),
        )
        .unwrap();

        let keys: HashMap<String, String> = [(MAIN, &api_key), (ALT, &api_key_alt)]
            .into_iter()
            .map(|(n, k)| (n.to_owned(), k.clone()))
            .chain(
                venues
                    .iter()
                    .map(|v| (v.credential.clone(), v.api_key.clone())),
            )
            .collect();
        write_key_permissions(&dir, &keys, opts.key_permissions);
        let kw = Keyward::start(&dir, &config, &env.envs, "keyward.stderr.log");
        eprintln!(
            "keyward test env ready in {:.1} s (keyward on {}, mock on {})",
            started.elapsed().as_secs_f64(),
            kw.port,
            mock_port
        );
        let audit = dir.join("audit.jsonl");
        Env {
            dir,
            token_section,
            softhsm_conf,
            config,
            audit,
            recipient,
            api_key,
            secret,
            api_key_alt,
            secret_alt,
            token,
            token_alt,
            token_slow,
            pin,
            mock_port,
            mock_record,
            mock_credentials,
            kw,
            envs: env.envs,
            mock: Mutex::new((mock, mock_out)),
            venues,
            yubikey,
        }
    }

    pub fn port(&self) -> u16 {
        self.kw.port
    }

    /// Makes the mocks answer keyward's key-permission check for these credentials as told
    /// (mode names of `scripts/mocks/permissions.py`); every other key answers "safe".
    pub fn set_key_permissions(&self, modes: &[(&str, &str)]) {
        let keys: HashMap<String, String> = [(MAIN, &self.api_key), (ALT, &self.api_key_alt)]
            .into_iter()
            .map(|(n, k)| (n.to_owned(), k.clone()))
            .chain(
                self.venues
                    .iter()
                    .map(|v| (v.credential.clone(), v.api_key.clone())),
            )
            .collect();
        write_key_permissions(&self.dir, &keys, modes);
    }

    /// Runs a `keyward` command in the env's directory (with its SOFTHSM2_CONF).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        EnvBuilder {
            dir: self.dir.clone(),
            envs: self.envs.clone(),
        }
        .run(args, stdin)
    }

    /// Writes another config (same token, vaults, mock and client tokens) into the env's
    /// directory and returns its path.
    pub fn write_config(&self, file: &str, spec: &ConfigSpec) -> PathBuf {
        let hashes = [
            sha256_hex(&self.token),
            sha256_hex(&self.token_alt),
            sha256_hex(&self.token_slow),
        ];
        let path = self.dir.join(file);
        std::fs::write(
            &path,
            config_text(
                &self.dir,
                &self.token_section,
                self.mock_port,
                &hashes,
                spec,
            ) + &venues_config_text(&self.dir, &self.venues),
        )
        .unwrap();
        path
    }

    /// Starts another `keyward serve` with the config `file` written by [`Env::write_config`].
    pub fn serve(&self, config: &Path, log_name: &str) -> Keyward {
        Keyward::start(&self.dir, config, &self.envs, log_name)
    }

    /// A well-formed request to the main keyward; `token` goes in `X-MBX-APIKEY`.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Resp {
        let headers: Vec<(&str, &str)> = token.map(|t| ("X-MBX-APIKEY", t)).into_iter().collect();
        raw(
            self.port(),
            &build(self.port(), method, target, &headers, body),
        )
    }

    /// What the Binance mock received.
    pub fn mock_log(&self) -> venue::MockLog {
        venue::MockLog {
            path: self.mock_record.clone(),
        }
    }

    /// All requests the Binance mock exchange received, parsed.
    pub fn mock_records(&self) -> Vec<Value> {
        self.mock_log().records()
    }

    /// Records in whose raw line `needle` occurs (anywhere: path, query, body or headers).
    pub fn mock_records_with(&self, needle: &str) -> Vec<Value> {
        self.mock_log().records_with(needle)
    }

    /// The fronted exchange `exchange` (one of [`Options::exchanges`]).
    #[track_caller]
    pub fn venue(&self, exchange: &str) -> &venue::Venue {
        self.venues
            .iter()
            .find(|v| v.exchange == exchange)
            .unwrap_or_else(|| panic!("this Env does not front {exchange}"))
    }

    /// What every mock exchange of this Env received (Binance's first), by exchange id.
    pub fn all_mock_logs(&self) -> Vec<(&'static str, venue::MockLog)> {
        std::iter::once(("binance", self.mock_log()))
            .chain(self.venues.iter().map(|v| (v.exchange, v.log.clone())))
            .collect()
    }

    /// Asserts that the mock exchange received nothing carrying `tag`.
    #[track_caller]
    pub fn assert_not_forwarded(&self, tag: &str) {
        let got = self.mock_records_with(tag);
        assert!(
            got.is_empty(),
            "the mock exchange received a request that keyward should have refused: {got:#?}"
        );
    }

    /// The one record carrying `tag`.
    #[track_caller]
    pub fn the_record(&self, tag: &str) -> Value {
        let mut got = self.mock_records_with(tag);
        assert_eq!(
            got.len(),
            1,
            "expected one mock record with {tag}: {got:#?}"
        );
        got.pop().unwrap()
    }

    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit).unwrap_or_default()
    }

    pub fn audit_records(&self) -> Vec<Value> {
        self.audit_text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    pub fn stop(&self) {
        self.kw.stop();
        let mut m = self.mock.lock().unwrap();
        stop_child(&mut m.0);
        for v in &self.venues {
            v.stop();
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop();
        let mut g = AT_EXIT.lock().unwrap();
        g.1.retain(|d| d != &self.dir);
        drop(g);
        if !keep_dirs() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What [`Env::start_with`] needs before the `Env` exists.
struct EnvBuilder {
    dir: PathBuf,
    envs: Vec<(String, String)>,
}

/// Runs a `keyward` command in `dir` with `envs`, `stdin` as its input; its output.
pub fn run_keyward(
    dir: &Path,
    envs: &[(String, String)],
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(KEYWARD);
    cmd.args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run keyward");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("keyward output")
}

impl EnvBuilder {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let _token = token_lock();
        run_keyward(&self.dir, &self.envs, args, stdin)
    }

    /// `keyward client-token --name NAME` → (token, its sha256 as printed, checked).
    fn client_token(&mut self, name: &str) -> (String, String) {
        let out = must(
            self.run(&["client-token", "--name", name], None),
            "keyward client-token",
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let mut lines = stdout.lines();
        let token = lines.next().unwrap().trim().to_owned();
        let hash_line = lines.next().expect("second line: token_sha256 = \"...\"");
        let hash = hash_line
            .strip_prefix("token_sha256 = \"")
            .and_then(|h| h.strip_suffix('"'))
            .unwrap_or_else(|| panic!("config line: {hash_line:?}"))
            .to_owned();
        assert_eq!(hash, sha256_hex(&token), "token_sha256 is sha256(token)");
        (token, hash)
    }
}

/// The `vault_sha256` of `dir/vault/<name>.kwv` (zeros before it is sealed: keygen reads only
/// `[token]`).
/// Writes [`permissions_file`]: the API key of each named credential to its mode.
fn write_key_permissions(dir: &Path, keys: &HashMap<String, String>, modes: &[(&str, &str)]) {
    let table: serde_json::Map<String, Value> = modes
        .iter()
        .map(|(credential, mode)| {
            let key = keys
                .get(*credential)
                .unwrap_or_else(|| panic!("no credential {credential} in this Env"));
            (key.clone(), Value::from(*mode))
        })
        .collect();
    let path = permissions_file(dir);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, Value::Object(table).to_string()).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

pub fn vault_pin(dir: &Path, name: &str) -> String {
    match std::fs::read(dir.join(format!("vault/{name}.kwv"))) {
        Ok(bytes) => sha256_hex_bytes(&bytes),
        Err(_) => "0".repeat(64),
    }
}

/// Rewrites the config `file` in `dir` so that every `vault_sha256` line after a `vault = "..."`
/// line pins that vault's current bytes: the step an operator takes after `keyward seal`.
pub fn repin(dir: &Path, file: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut vault: Option<String> = None;
    for line in text.lines() {
        if let Some(v) = line
            .strip_prefix("vault = \"")
            .and_then(|v| v.strip_suffix('"'))
        {
            vault = Some(v.to_owned());
        } else if line.starts_with("vault_sha256 = ") {
            if let Some(v) = vault.take() {
                let pin = std::fs::read(dir.join(&v))
                    .map(|b| sha256_hex_bytes(&b))
                    .unwrap_or_else(|_| "0".repeat(64));
                out.push_str(&format!("vault_sha256 = \"{pin}\"\n"));
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
}

fn venues_config_text(dir: &Path, venues: &[venue::Venue]) -> String {
    venues
        .iter()
        .map(|v| v.config_text(dir, &sha256_hex(&v.token)))
        .collect()
}

/// Whether the `[token]` section names a key service (Vault Transit, AWS KMS).
fn is_key_service(token: &str) -> bool {
    token.contains("kind = \"vault\"") || token.contains("kind = \"aws-kms\"")
}

/// `[audit]`'s checkpoint keys: a SoftHSM token gets the checkpoint key `keygen --audit-key`
/// made (shipping off: the tests have no syslog); the virtual YubiKey and key-service envs keep an
/// unkeyed log (`unkeyed = true`).
fn checkpoint_lines(token: &str) -> &'static str {
    if token.contains("kind = \"yubikey\"") || is_key_service(token) {
        "unkeyed = true\n"
    } else {
        "checkpoint_key = \"keyward-audit\"\ncheckpoint_public_key = \"audit-key.pem\"\ncheckpoint_socket = \"\"\n"
    }
}

/// The clients set `on_hard_deny = "log"`: the test files send hard-denied requests on purpose
/// and go on with the same client (tests/anomaly.rs tests the default, which disables it).
fn config_text(
    dir: &Path,
    token: &str,
    mock_port: u16,
    hashes: &[String; 3],
    spec: &ConfigSpec,
) -> String {
    let (pin_main, pin_alt) = (vault_pin(dir, MAIN), vault_pin(dir, ALT));
    let upstream = format!(r#"{{ base = "https://127.0.0.1:{mock_port}", ca = "ca/ca.pem" }}"#);
    format!(
        r#"# written by tests/common/mod.rs
[server]
listen = "127.0.0.1:0"
anonymous_market_data = {anon}
anonymous_rate = "500/s"
{server}

[token]
{token}{pin}

[audit]
path = "{audit}"
{checkpoints}
[[credential]]
name = "{MAIN}"
exchange = "binance"
vault = "vault/{MAIN}.kwv"
vault_sha256 = "{pin_main}"
recv_window_ms = 5000
upstream = {upstream}

[[credential]]
name = "{ALT}"
exchange = "binance"
vault = "vault/{ALT}.kwv"
vault_sha256 = "{pin_alt}"
upstream = {upstream}

[[client]]
name = "grid-bot"
token_sha256 = "{h0}"
credential = "{MAIN}"
rate = "1000/s"
on_hard_deny = "log"
allow = [
  "binance:read",
  {{ method = "POST", path = "/api/v3/order", params = {{ symbol = ["BTCUSDT", "ETHUSDT"] }}, max = {{ quantity = "0.5", notional = "20000" }} }},
  {{ method = "DELETE", path = "/api/v3/order" }},
]

[[client]]
name = "alt-bot"
token_sha256 = "{h1}"
credential = "{ALT}"
rate = "1000/s"
on_hard_deny = "log"
allow = ["binance:read"]

[[client]]
name = "slow-bot"
token_sha256 = "{h2}"
credential = "{MAIN}"
rate = "3/m"
on_hard_deny = "log"
allow = ["binance:read"]
"#,
        anon = spec.anonymous_market_data,
        audit = spec.audit,
        server = spec.server,
        checkpoints = checkpoint_lines(token),
        // A key service has its own credential (in the section), no PIN.
        pin = if is_key_service(token) {
            ""
        } else {
            "pin = { file = \"pin.txt\" }"
        },
        h0 = hashes[0],
        h1 = hashes[1],
        h2 = hashes[2],
    )
}

/// Every file under `dir` (recursively) with its bytes.
pub fn all_files(dir: &Path) -> HashMap<PathBuf, Vec<u8>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

pub fn contains_bytes(hay: &[u8], needle: &str) -> bool {
    find(hay, needle.as_bytes()).is_some()
}

impl Env {
    /// Seals `key`/`secret` for Binance credential `name` as if sealed `age` ago, over the
    /// env's vault file (pin it again with [`repin`]).
    pub fn seal_aged(&self, name: &str, (key, secret): (&str, &str), age: Duration) {
        use keyward::secret::SecretBytes;
        use keyward::vault::{self, CredentialSecrets, Recipient};
        let recipient: Recipient = self.recipient.parse().unwrap();
        let secrets = CredentialSecrets {
            api_key: SecretBytes::copy_from(key.as_bytes()),
            secret: SecretBytes::copy_from(secret.as_bytes()),
            passphrase: None,
        };
        let bytes = vault::seal_dated(
            &recipient,
            (name, "binance"),
            &secrets,
            std::time::SystemTime::now() - age,
            None,
        )
        .unwrap();
        vault::write_vault_file(&self.dir.join(format!("vault/{name}.kwv")), &bytes).unwrap();
    }
}
