//! A virtual YubiKey for tests: a private pcscd with vsmartcard's vpcd reader and the PIV card
//! emulator `scripts/vpiv/` inserted into it (see scripts/vpiv/vpiv.py for how they fit).
//!
//! Every [`VirtualPcsc`] is its own pcscd (own mount namespace, own socket), so tests run in
//! parallel: a process talks to it with `PCSCLITE_CSOCK_NAME` = [`VirtualPcsc::socket`]. One
//! pcscd has one reader of two slots, so up to two cards. libpcsclite reads
//! `PCSCLITE_CSOCK_NAME` once per process: tests that use the `yubikey` crate in-process use one
//! pcscd for their whole binary; tests that run the `keyward` binary give each run its own.
//!
//! Skipped (with a note) when pcscd or vpcd is missing, unless `KEYWARD_REQUIRE_VPIV=1`
//! (scripts/test.sh sets it, after installing them).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{spawn_daemon, stop_child, temp_dir, REPO};

const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// The python that runs the emulator: `KEYWARD_PYTHON`, the test venv, or python3. It needs the
/// `cryptography` package.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("KEYWARD_PYTHON") {
        return p.into();
    }
    let venv = Path::new(REPO).join("target/py-venv/bin/python3");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// Whether the virtual-card stack can run here; `false` (after a note on stderr) means the test
/// should return early. Panics instead when `KEYWARD_REQUIRE_VPIV=1`.
pub fn available() -> bool {
    let pcscd = ["/usr/sbin/pcscd", "/sbin/pcscd"]
        .iter()
        .any(|p| Path::new(p).exists());
    if pcscd && Path::new(VPCD_DRIVER).exists() {
        return true;
    }
    let why = "pcscd or vsmartcard-vpcd is missing (apt-get install pcscd vsmartcard-vpcd; \
               scripts/test.sh does)";
    if std::env::var_os("KEYWARD_REQUIRE_VPIV").is_some_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("note: {why}; skipping the virtual YubiKey test");
    false
}

fn emulator() -> PathBuf {
    Path::new(REPO).join("scripts/vpiv/vpiv.py")
}

/// Reads `child`'s stdout until a line starts with `ready`; panics with its log otherwise.
fn wait_ready(child: &mut Child, log: &Path, what: &str) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    match lines.next() {
        Some(Ok(line)) if line.starts_with("ready") => line,
        other => {
            stop_child(child);
            panic!(
                "{what} did not start ({other:?}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// A private pcscd with an empty two-slot virtual reader.
pub struct VirtualPcsc {
    pub dir: PathBuf,
    socket: PathBuf,
    ports: [u16; 2],
    supervisor: Child,
}

impl VirtualPcsc {
    /// With the reader named "Yubico Virtual YubiKey".
    pub fn start() -> VirtualPcsc {
        VirtualPcsc::start_named("Yubico Virtual YubiKey")
    }

    pub fn start_named(reader: &str) -> VirtualPcsc {
        let dir = temp_dir("keyward-vpiv-");
        let log = dir.join("supervisor.log");
        let mut cmd = Command::new(python());
        cmd.arg(emulator())
            .arg("pcscd")
            .arg(&dir)
            .args(["--reader-name", reader])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut supervisor = spawn_daemon(cmd);
        let line = wait_ready(&mut supervisor, &log, "the private pcscd");
        let socket: PathBuf = line
            .strip_prefix("ready PCSCLITE_CSOCK_NAME=")
            .expect("ready line names the socket")
            .into();
        let readers: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("readers.json")).unwrap()).unwrap();
        let port = |i: usize| readers[i]["port"].as_u64().unwrap() as u16;
        VirtualPcsc {
            dir,
            socket,
            ports: [port(0), port(1)],
            supervisor,
        }
    }

    /// pcscd's socket: the value of `PCSCLITE_CSOCK_NAME` for its clients.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The environment a client process of this pcscd needs.
    pub fn env(&self) -> (String, String) {
        (
            "PCSCLITE_CSOCK_NAME".to_owned(),
            self.socket.display().to_string(),
        )
    }

    /// Makes a factory-fresh card and inserts it into reader slot `slot` (0 or 1).
    pub fn insert(&self, slot: usize, spec: &CardSpec) -> VirtualCard {
        let state = self.dir.join(format!("card-{}.json", spec.serial));
        let mut init = Command::new(python());
        init.arg(emulator())
            .arg("init")
            .arg(&state)
            .args(["--firmware", spec.firmware, "--serial"])
            .arg(spec.serial.to_string())
            .args(["--pin", spec.pin]);
        if let Some(key) = spec.management_key {
            init.args(["--management-key", key]);
        }
        for key in spec.keys {
            init.args(["--key", key]);
        }
        if !spec.attestation {
            init.arg("--no-attestation");
        }
        let out = init.output().expect("run the emulator's init");
        assert!(
            out.status.success(),
            "vpiv.py init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.plug(slot, &state, spec.serial, spec.touch_timeout)
    }

    /// Inserts the card whose state is in `state` (e.g. a card removed earlier).
    pub fn plug(&self, slot: usize, state: &Path, serial: u32, touch_timeout: f64) -> VirtualCard {
        let touch = self.dir.join(format!("touch-{serial}"));
        let log = self.dir.join(format!("card-{serial}.log"));
        let mut cmd = Command::new(python());
        cmd.arg(emulator())
            .arg("card")
            .arg(state)
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{}", self.ports[slot]))
            .arg("--touch-file")
            .arg(&touch)
            .arg("--touch-timeout")
            .arg(touch_timeout.to_string())
            .arg("--verbose")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = spawn_daemon(cmd);
        wait_ready(&mut child, &log, "the virtual card");
        VirtualCard {
            serial,
            state: state.to_owned(),
            touch,
            log,
            child,
        }
    }
}

impl Drop for VirtualPcsc {
    fn drop(&mut self) {
        stop_child(&mut self.supervisor);
    }
}

/// How to make a card.
#[derive(Clone, Debug)]
pub struct CardSpec {
    /// "5.4.3" (3DES default management key) or "5.7.1" (AES-192, Ed25519).
    pub firmware: &'static str,
    pub serial: u32,
    pub pin: &'static str,
    /// A changed management key (hex), instead of the default.
    pub management_key: Option<&'static str>,
    /// Keys already on the card: "SLOT:ALG[:PIN:TOUCH]" as for `vpiv.py init --key`.
    pub keys: &'static [&'static str],
    /// How long the card waits for a touch.
    pub touch_timeout: f64,
    /// Whether the card can attest its generated keys (real YubiKeys can).
    pub attestation: bool,
}

impl CardSpec {
    pub fn new(firmware: &'static str, serial: u32) -> CardSpec {
        CardSpec {
            firmware,
            serial,
            pin: "123456",
            management_key: None,
            keys: &[],
            touch_timeout: 1.0,
            attestation: true,
        }
    }
}

/// A card in a virtual reader; removed when dropped.
pub struct VirtualCard {
    pub serial: u32,
    pub state: PathBuf,
    pub touch: PathBuf,
    pub log: PathBuf,
    child: Child,
}

impl VirtualCard {
    /// Touches the card (it uses the touch up for one operation).
    pub fn touch(&self) {
        std::fs::write(&self.touch, b"").unwrap();
    }

    /// The card's persisted state (PIN counter, keys ...).
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap()
    }

    /// PIN tries left, as the card counts them.
    pub fn pin_left(&self) -> u64 {
        self.state()["pin_left"].as_u64().unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the card's log has `needle` (e.g. "waiting for a touch").
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Pulls the card out of the reader.
    pub fn remove(mut self) -> PathBuf {
        stop_child(&mut self.child);
        self.state.clone()
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

// ---- a working directory for keyward commands against a virtual card ---------------------

/// A directory with a pin file, vault files and configs for one test, and its pcscd.
pub struct Setup {
    pub dir: PathBuf,
    pub pcsc: VirtualPcsc,
}

impl Setup {
    pub fn new() -> Setup {
        Setup::with(VirtualPcsc::start())
    }

    /// A pcscd with a card made like `spec`, and keyward.toml for it: the sealing key in `slot`
    /// and `vaults` credentials. `None` (the test returns) when the stack is missing.
    pub fn with_card(spec: &CardSpec, slot: &str, vaults: usize) -> Option<(Setup, VirtualCard)> {
        if !available() {
            return None;
        }
        let setup = Setup::new();
        let card = setup.pcsc.insert(0, spec);
        setup.config(&yubikey_config(spec.serial, slot), vaults);
        Some((setup, card))
    }

    pub fn with(pcsc: VirtualPcsc) -> Setup {
        let dir = pcsc.dir.join("keyward");
        std::fs::create_dir(&dir).unwrap();
        let setup = Setup { dir, pcsc };
        setup.pin("123456");
        setup
    }

    pub fn pin(&self, pin: &str) {
        let path = self.dir.join("pin.txt");
        std::fs::write(&path, format!("{pin}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Writes keyward.toml with this `[token]` body and `vaults` credentials (no exchange here:
    /// `keyward check` opens the vaults; the key-permission self-check is off).
    pub fn config(&self, token: &str, vaults: usize) {
        let mut text = format!(
            "[token]\n{token}\npin = {{ file = \"pin.txt\" }}\n[audit]\npath = \"audit.jsonl\"\nunkeyed = true\n"
        );
        for i in 0..vaults {
            text.push_str(&format!(
                "[[credential]]\nname = \"c{i}\"\nexchange = \"binance\"\nvault = \"vault/c{i}.kwv\"\n\
                 vault_sha256 = \"{}\"\npermission_check = \"off\"\n",
                super::vault_pin(&self.dir, &format!("c{i}"))
            ));
        }
        std::fs::write(self.dir.join("keyward.toml"), text).unwrap();
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(args, stdin, &[self.pcsc.env()])
    }

    pub fn run_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        envs: &[(String, String)],
    ) -> Output {
        let mut envs = envs.to_vec();
        envs.push(("NO_COLOR".to_owned(), "1".to_owned()));
        super::run_keyward(&self.dir, &envs, args, stdin)
    }

    /// `keygen` → the recipient; then `seal` one vault per credential with it.
    pub fn keygen_and_seal(&self, keygen_args: &[&str], vaults: usize) -> String {
        let mut args = vec!["keygen", "--config", "keyward.toml"];
        args.extend_from_slice(keygen_args);
        let out = super::must(self.run(&args, None), "keygen");
        let recipient = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(recipient.starts_with("kwr1-p256-"), "{recipient}");
        for i in 0..vaults {
            let name = format!("c{i}");
            let out_file = format!("vault/{name}.kwv");
            super::must(
                self.run(
                    &[
                        "seal",
                        "--recipient",
                        &recipient,
                        "--name",
                        &name,
                        "--exchange",
                        "binance",
                        "--out",
                        &out_file,
                    ],
                    Some("an-api-key\nan-api-secret\n"),
                ),
                "seal",
            );
        }
        super::repin(&self.dir, "keyward.toml");
        recipient
    }

    pub fn check(&self) -> Output {
        self.run(&["check", "--config", "keyward.toml"], None)
    }
}

/// The one-line error of a failed command, with its exit code 4 (token).
#[track_caller]
pub fn token_error(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "expected a token error: {err}");
    err
}

/// A `[token]` body for the YubiKey with `serial`, sealing key in `slot`.
pub fn yubikey_config(serial: u32, slot: &str) -> String {
    format!("kind = \"yubikey\"\nserial = {serial}\nslot = \"{slot}\"")
}
