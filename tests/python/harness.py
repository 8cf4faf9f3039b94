"""Helpers shared by keyward's Python end-to-end tests.

Everything a test module starts lives in its own temporary directory with its own ports
(all chosen by the OS), its own SoftHSM token directory and its own SOFTHSM2_CONF passed
only to the processes it starts, so test modules can run in parallel.
"""

import asyncio
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import ssl
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
SOFTHSM_MODULE_CANDIDATES = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
]
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LISTEN_RE = re.compile(r"listening on\D*?(\d{1,3}(?:\.\d{1,3}){3}):(\d+)")

CREDENTIAL = "binance-main"
CLIENT = "grid-bot"
DUMMY_SECRET = "dummy-secret-not-used"


def softhsm_module():
    override = os.environ.get("KEYWARD_TEST_PKCS11_MODULE")
    if override:
        return override
    for c in SOFTHSM_MODULE_CANDIDATES:
        if os.path.exists(c):
            return c
    raise RuntimeError("libsofthsm2.so not found: install softhsm2 (apt-get install -y softhsm2)")


def binance_like_key(n=64):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def wait_for(predicate, timeout, what, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log is not None and Path(log).exists():
                tail = Path(log).read_text(errors="replace")[-4000:]
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{tail}")
        time.sleep(0.05)
    tail = ""
    if log is not None and Path(log).exists():
        tail = Path(log).read_text(errors="replace")[-4000:]
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# ---------------------------------------------------------------------------------------
# keyward binary
# ---------------------------------------------------------------------------------------


def keyward_binary():
    """Path to target/debug/keyward, building it with `cargo build` when missing.

    KEYWARD_BIN overrides the path (e.g. a release build)."""
    override = os.environ.get("KEYWARD_BIN")
    if override:
        return Path(override)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    binary = target / "debug" / "keyward"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--bin", "keyward"], cwd=REPO, check=True)
    if not binary.exists():
        raise RuntimeError(f"cargo build did not produce {binary}")
    return binary


# ---------------------------------------------------------------------------------------
# TLS test CA
# ---------------------------------------------------------------------------------------


def make_ca(outdir):
    outdir = Path(outdir)
    subprocess.run(["bash", str(SCRIPTS / "make_test_ca.sh"), str(outdir)], check=True)
    return outdir


def ssl_context(ca_pem):
    return ssl.create_default_context(cafile=str(ca_pem))


# ---------------------------------------------------------------------------------------
# Mock exchange
# ---------------------------------------------------------------------------------------


class Mock:
    script = "mock_exchange.py"

    def __init__(self, workdir, credentials, ca_dir, exchange="binance"):
        self.exchange = exchange
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.creds_file = self.dir / "mock-credentials.json"
        self.creds_file.write_text(json.dumps(credentials))
        os.chmod(self.creds_file, 0o600)
        self.record_file = self.dir / "mock-requests.jsonl"
        self.record_file.touch()
        self.log_file = self.dir / "mock.stderr.log"
        # How the key-permission endpoint answers (scripts/mocks/permissions.py); absent: "safe".
        self.permissions_file = self.dir / "mock-permissions.json"
        self.ca_dir = Path(ca_dir)
        self.proc = None
        self.port = None

    def start(self):
        self._log = open(self.log_file, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPTS / self.script),
             "--cert", str(self.ca_dir / "server.pem"), "--key", str(self.ca_dir / "server.key"),
             "--port", "0", "--credentials", str(self.creds_file), "--record", str(self.record_file),
             "--exchange", self.exchange, *self.permissions_args()],
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (\d+)", line or "")
        if not m:
            stop(self.proc)
            raise RuntimeError(f"{self.script} did not start: {line!r}\n{self.log_file.read_text()}")
        self.port = int(m.group(1))
        return self

    def permissions_args(self):
        return ["--permissions", str(self.permissions_file)]

    @property
    def base(self):
        return f"https://127.0.0.1:{self.port}"

    def records(self):
        """The complete record lines (a line still being appended is left out)."""
        text = self.record_file.read_text()
        text = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def stop(self):
        stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()


class WsMock(Mock):
    """scripts/ws_mock.py: a TLS WebSocket mock of an exchange's private sockets that verifies
    every login and signature and records every frame it receives."""

    script = "ws_mock.py"

    def permissions_args(self):
        return []  # sockets carry no key-permission endpoint

    @property
    def base(self):
        return f"wss://127.0.0.1:{self.port}"

    def frames(self, op=None):
        """The frames received (optionally only those of one op), without connect/closed."""
        return [r for r in self.records()
                if r["op"] not in ("connect", "closed", "pong") and (op is None or r["op"] == op)]


async def refused_ws_orders(ex, ws_mock, op, orders):
    """Each `create_order_ws(*args)` of `orders` raises a ccxt error and adds no `op` frame to the
    WebSocket mock; returns the error messages."""
    import ccxt
    import pytest
    messages = []
    for args in orders:
        n = len(ws_mock.frames(op))
        with pytest.raises(ccxt.BaseError) as ei:
            await ex.create_order_ws(*args)
        messages.append(str(ei.value))
        assert len(ws_mock.frames(op)) == n, f"a refused order {args} reached the mock"
    return messages


OVER_LIMIT_AND_NOT_ALLOWED = (("BTC/USDT", "limit", "buy", 5, 30000),    # over the 0.5 limit
                              ("ETH/USDT", "limit", "buy", 0.01, 2000))  # symbol not allowed


def ws_url(stack, path):
    """keyward's WebSocket URL for the exchange socket `path` of the stack's credential."""
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}{path}"


def trades_over_socket(stack, make_bot, order_op, size_field, watch_symbol=None):
    """ccxt pro's private socket calls through keyward to the WebSocket mock: the order and
    balance updates the mock pushes arrive, a limit order is placed and cancelled over the
    socket, and an over-limit and a not-allowed order (`order_op` frames) are refused, the
    first naming `size_field`, with nothing reaching the mock. `make_bot()` is called inside
    the event loop."""
    async def scenario():
        ex = make_bot()
        try:
            await ex.load_markets()
            watched = ex.watch_orders(watch_symbol) if watch_symbol else ex.watch_orders()
            orders = await asyncio.wait_for(watched, 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            placed = await ex.create_order_ws("BTC/USDT", "limit", "buy", 0.01, 30000)
            cancelled = await ex.cancel_order_ws(placed["id"], "BTC/USDT")
            refused = await refused_ws_orders(ex, stack.ws, order_op, OVER_LIMIT_AND_NOT_ALLOWED)
            return orders, balance, placed, cancelled, refused
        finally:
            await ex.close()

    orders, balance, placed, cancelled, refused = asyncio.new_event_loop().run_until_complete(scenario())
    assert orders and orders[0]["clientOrderId"] == "pushed-by-mock", orders
    assert balance["USDT"]["free"] == 1234.5, balance
    assert placed["id"] and cancelled["id"] == placed["id"]
    assert "constraint" in refused[0] and size_field in refused[0], refused[0]
    assert "constraint" in refused[1], refused[1]


# ---------------------------------------------------------------------------------------
# keyward stack: token, vault, config, mock, server
# ---------------------------------------------------------------------------------------


class VirtualYubiKey:
    """A private pcscd with one virtual PIV card in it (scripts/vpiv/): PIN 123456, default
    management key. `env` is what keyward needs to reach it (PCSCLITE_CSOCK_NAME)."""

    PIN = "123456"

    def __init__(self, workdir, firmware="5.7.1", serial=31415926):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.firmware, self.serial = firmware, serial
        self.pcscd = self.card = None
        self.env = {}

    def _ready(self, proc, what, timeout=30):
        # bounded: an emulator that never says "ready" fails the test instead of hanging the run
        if not select.select([proc.stdout], [], [], timeout)[0]:
            stop(proc)
            raise RuntimeError(f"{what} did not say ready within {timeout} s")
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("ready"):
            stop(proc)
            raise RuntimeError(f"{what} did not start: {line!r}")
        return line

    def start(self):
        vpiv = [sys.executable, str(SCRIPTS / "vpiv" / "vpiv.py")]
        self.pcscd = subprocess.Popen([*vpiv, "pcscd", str(self.dir)], stdout=subprocess.PIPE,
                                      stderr=open(self.dir / "supervisor.log", "wb"))
        line = self._ready(self.pcscd, "the private pcscd")
        self.env["PCSCLITE_CSOCK_NAME"] = line.split("=", 1)[1]
        port = json.loads((self.dir / "readers.json").read_text())[0]["port"]
        state = self.dir / "card.json"
        subprocess.run([*vpiv, "init", str(state), "--firmware", self.firmware, "--serial",
                        str(self.serial)], check=True)
        self.card = subprocess.Popen([*vpiv, "card", str(state), "--vpcd", f"127.0.0.1:{port}",
                                      "--verbose"], stdout=subprocess.PIPE,
                                     stderr=open(self.dir / "card.log", "wb"))
        self._ready(self.card, "the virtual card")
        return self

    def pull(self, timeout=10):
        """Pulls the card: stops its emulator and waits until pcscd has seen it leave (pcscd polls
        the reader every 400 ms; a card plugged back before that poll is never seen leaving)."""
        log = self.dir / "pcscd.log"
        before = log.read_text(errors="replace").count("Card Removed From")
        stop(self.card)
        deadline = time.monotonic() + timeout
        while log.read_text(errors="replace").count("Card Removed From") == before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pcscd did not see the card leave within {timeout} s; see {log}")
            time.sleep(0.05)

    def plug(self, log_name="card-2.log"):
        """Plugs the card back in: its emulator again, on its saved state."""
        vpiv = [sys.executable, str(SCRIPTS / "vpiv" / "vpiv.py")]
        port = json.loads((self.dir / "readers.json").read_text())[0]["port"]
        self.card = subprocess.Popen([*vpiv, "card", str(self.dir / "card.json"), "--vpcd",
                                      f"127.0.0.1:{port}", "--verbose"], stdout=subprocess.PIPE,
                                     stderr=open(self.dir / log_name, "wb"))
        self._ready(self.card, "the virtual card")

    def log_text(self):
        return (self.dir / "card.log").read_text(errors="replace")

    def stop(self):
        for proc in (self.card, self.pcscd):
            if proc is not None:
                stop(proc)


class Stack:
    """A throwaway SoftHSM token (or virtual YubiKey) + sealed credential + mock exchange +
    `keyward serve`."""

    def __init__(self, workdir, *, client_allow=None, anonymous_market_data=True, rate="50/s",
                 exchange="binance", credential=None, api_key=None, secret=None, passphrase=None,
                 mock_credentials=None, key_header="X-MBX-APIKEY", server_extra="", ws_mock=False,
                 client_extra='on_hard_deny = "log"', config_extra="",
                 keygen_args=(), in_token=False, api_key_pair=None, yubikey=None,
                 credential_extra=""):
        """`exchange` is keyward's exchange id (and the mock module's name); `secret` may be a
        multi-line PEM; `mock_credentials` is what the mock is told (default: {api_key: secret}
        or {api_key: {"secret", "passphrase"}}); `key_header` is where request() puts the token.

        `in_token`: `keyward import --in-token` instead of `keyward seal` (the secret is stored on
        the token). `api_key_pair` ("ed25519" or "p256"): `keyward keygen --api-key` makes the
        exchange key pair on the token first, and `mock_credentials` is then a function of its
        PEM public key (`self.public_pem`); import reads the API key alone.

        `yubikey` (a firmware version such as "5.7.1"): the token is a virtual YubiKey, the
        sealing key in slot 9d and an API key pair in slot 82 (`--slot 82`)."""
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.exchange = exchange
        self.credential = credential or (CREDENTIAL if exchange == "binance" else f"{exchange}-main")
        self.api_key = api_key or binance_like_key()
        self.secret = secret or binance_like_key()
        self.passphrase = passphrase
        if mock_credentials is None and api_key_pair is None:
            mock_credentials = ({self.api_key: self.secret} if passphrase is None else
                                {self.api_key: {"secret": self.secret, "passphrase": passphrase}})
        self.mock_credentials = mock_credentials
        self.key_header = key_header
        self.server_extra = server_extra  # extra [server] lines, e.g. a tls = {...} table
        # extra [[client]] lines; the tests send hard-denied requests on purpose and go on with
        # the same client, so the default on_hard_deny = "disable" is lifted unless a test asks
        self.client_extra = client_extra
        self.config_extra = config_extra  # more top-level tables at the end, e.g. [admin]
        self.credential_extra = credential_extra  # extra [[credential]] lines
        self.keygen_args = tuple(keygen_args)  # e.g. ("--algorithm", "rsa3072")
        self.in_token = in_token or api_key_pair is not None
        self.api_key_pair = api_key_pair
        self.public_pem = None
        self.ws_mock = ws_mock  # also start scripts/ws_mock.py and point ws_base at it
        self.ws = None
        self.pin = secrets.token_hex(8)
        self.so_pin = secrets.token_hex(8)
        self.client_allow = client_allow
        self.anonymous_market_data = anonymous_market_data
        self.rate = rate
        self.bin = None
        self.mock = None
        self.proc = None
        self.port = None
        self.token = None
        self.token_sha256 = None
        self.config = self.dir / "keyward.toml"
        self.audit_file = self.dir / "audit.jsonl"
        self.log_file = self.dir / "keyward.stderr.log"
        self.softhsm_conf = self.dir / "softhsm2.conf"
        self.env = dict(os.environ)
        self.env["SOFTHSM2_CONF"] = str(self.softhsm_conf)
        self.env["NO_COLOR"] = "1"
        self.env.setdefault("RUST_BACKTRACE", "1")
        self.env.pop("KEYWARD_PIN", None)
        self.yubikey = VirtualYubiKey(self.dir / "vpiv", yubikey) if yubikey else None
        self.slot_args = ("--slot", "82") if yubikey else ()

    # -- helpers --
    def run(self, *args, input=None, check=True):
        cp = subprocess.run([str(self.bin), *args], input=input, capture_output=True, text=True,
                            env=self.env, cwd=self.dir, timeout=120)
        if check and cp.returncode != 0:
            raise RuntimeError(f"keyward {' '.join(args)} failed ({cp.returncode}):\n"
                               f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
        return cp

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}/{self.credential}"

    def own_base(self, credential=None):
        """The base URL of a credential's own listener (`[[credential]] listen`), read from
        keyward's log line `credential NAME served at URL ...`."""
        name = re.escape(credential or self.credential)
        m = re.search(rf"credential {name} served at (https?://[0-9.]+:\d+)",
                      self.log_file.read_text(errors="replace"))
        assert m, f"keyward logged no listener of its own for {credential or self.credential}"
        return m.group(1)

    def make_token(self):
        if self.yubikey is not None:
            self.yubikey.start()
            self.env.update(self.yubikey.env)
            self.pin = VirtualYubiKey.PIN
            write_private(self.dir / "pin.txt", self.pin + "\n")
            return
        tokens = self.dir / "tokens"
        tokens.mkdir(exist_ok=True)
        template = (REPO / "hsm-config" / "softhsm2.conf").read_text()
        self.softhsm_conf.write_text(template.replace("@TOKENDIR@", str(tokens)))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "keyward",
                        "--pin", self.pin, "--so-pin", self.so_pin],
                       env=self.env, check=True, capture_output=True, text=True)
        write_private(self.dir / "pin.txt", self.pin + "\n")

    def mint_client_token(self):
        cp = self.run("client-token", "--name", CLIENT)
        lines = [l for l in cp.stdout.splitlines() if l.strip()]
        token = lines[0].strip()
        m = re.search(r'token_sha256\s*=\s*"([0-9a-f]{64})"', cp.stdout)
        assert m, f"client-token printed no token_sha256 line: {cp.stdout!r}"
        assert m.group(1) == hashlib.sha256(token.encode()).hexdigest(), \
            "token_sha256 printed by client-token is not sha256(token)"
        self.token, self.token_sha256 = token, m.group(1)

    def default_allow(self):
        if self.exchange != "binance":
            return f'  "{self.exchange}:read",\n  "{self.exchange}:trade",\n'
        return (
            # "binance:spot-trade" is left out on purpose: a preset that allows any order would
            # make the constrained order rule below (and the over-limit test) meaningless.
            '  "binance:read",\n'
            '  { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT", "ETHUSDT"] },'
            ' max = { quantity = "0.5", notional = "20000" } },\n'
            '  { method = "DELETE", path = "/api/v3/order" },\n'
        )

    def token_section(self):
        if self.yubikey is not None:
            return f"""[token]
kind = "yubikey"
serial = {self.yubikey.serial}
slot = "9d"
pin = {{ file = "pin.txt" }}
"""
        return f"""[token]
module = "{softhsm_module()}"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = {{ file = "pin.txt" }}
"""

    def write_config(self):
        allow = self.client_allow if self.client_allow is not None else self.default_allow()
        self.config.write_text(f"""# written by tests/python/harness.py
[server]
listen = "127.0.0.1:0"
anonymous_market_data = {str(self.anonymous_market_data).lower()}
{self.server_extra}

{self.token_section()}
[audit]
path = "audit.jsonl"
{self.audit_checkpoint_lines()}
[[credential]]
name = "{self.credential}"
exchange = "{self.exchange}"
vault = "vault/{self.credential}.kwv"
vault_sha256 = "{self.vault_pin()}"
recv_window_ms = 5000
upstream = {{ base = "{self.mock.base}", ca = "ca/ca.pem"{self.ws_base_entry()} }}
# These suites send faster than the exchanges' own request budgets allow (Bybit: 10 orders a
# second per endpoint); tests/weights.rs tests the budgets.
exchange_budgets = "off"
{self.credential_extra}

[[client]]
name = "{CLIENT}"
token_sha256 = "{self.token_sha256}"
credential = "{self.credential}"
rate = "{self.rate}"
{self.client_extra}
allow = [
{allow}]
{self.config_extra}
""")

    def vault_pin(self):
        """The SHA-256 of the credential's vault file: the config pins the file keyward serves."""
        vault = self.dir / "vault" / f"{self.credential}.kwv"
        return hashlib.sha256(vault.read_bytes()).hexdigest() if vault.exists() else "0" * 64

    def audit_checkpoint_lines(self):
        """A SoftHSM token signs audit checkpoints with the key `keygen --audit-key` made
        (shipping off: no syslog here); the virtual YubiKey keeps an unkeyed log."""
        if self.yubikey is not None:
            return "unkeyed = true\n"
        return ('checkpoint_key = "keyward-audit"\n'
                'checkpoint_public_key = "audit-key.pem"\n'
                'checkpoint_socket = ""\n')

    def ws_base_entry(self):
        return f', ws_base = "{self.ws.base}"' if self.ws else ""

    def start(self):
        self.bin = keyward_binary()
        make_ca(self.dir / "ca")
        self.make_token()
        self.mint_client_token()
        # keygen and import need only [token]: the rest of the config comes once the mock runs.
        self.config.write_text(self.token_section())
        keygen = self.run("keygen", "--config", str(self.config), *self.keygen_args,
                          "--out", str(self.dir / "recipient.txt"))
        out_lines = [l for l in keygen.stdout.splitlines() if l.strip()]
        assert len(out_lines) == 1, f"keygen must print exactly one line (the recipient): {keygen.stdout!r}"
        self.recipient = out_lines[0].strip()
        if self.yubikey is None:
            cp = self.run("keygen", "--config", str(self.config), "--audit-key",
                          "--out", str(self.dir / "audit-key.pem"))
            assert cp.stdout.startswith("-----BEGIN PUBLIC KEY-----\n"), cp.stdout
        if self.api_key_pair is not None:
            cp = self.run("keygen", "--config", str(self.config), "--api-key", self.api_key_pair,
                          "--name", self.credential, *self.slot_args)
            self.public_pem = cp.stdout
            assert self.public_pem.startswith("-----BEGIN PUBLIC KEY-----\n"), cp.stdout
            self.mock_credentials = self.mock_credentials(self.public_pem)
            sealed = f"{self.api_key}\n"
        else:
            sealed = f"{self.api_key}\n{self.secret.rstrip(chr(10))}\n"
            if self.passphrase is not None:
                sealed += f"{self.passphrase}\n"
        vault = str(self.dir / "vault" / f"{self.credential}.kwv")
        if self.in_token:
            self.imported = self.run("import", "--config", str(self.config), "--name",
                                     self.credential, *self.slot_args, "--exchange",
                                     self.exchange, "--in-token", "--out", vault, input=sealed)
            pinned = self.imported
        else:
            pinned = self.run("seal", "--recipient", self.recipient, "--name", self.credential,
                              "--exchange", self.exchange, "--out", vault, input=sealed)
        # seal and import print the one line that makes the new vault current.
        assert pinned.stdout == f'vault_sha256 = "{self.vault_pin()}"\n', pinned.stdout
        self.mock = Mock(self.dir / "mock", self.mock_credentials, self.dir / "ca",
                         exchange=self.exchange).start()
        if self.ws_mock:
            self.ws = WsMock(self.dir / "ws-mock", self.mock_credentials, self.dir / "ca",
                             exchange=self.exchange).start()
        self.write_config()
        self.check = self.run("check", "--config", str(self.config))
        self._log = open(self.log_file, "wb")
        self.proc = subprocess.Popen([str(self.bin), "serve", "--config", str(self.config)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir)

        def listening():
            text = ANSI_RE.sub("", self.log_file.read_text(errors="replace"))
            m = LISTEN_RE.search(text)
            return int(m.group(2)) if m else None

        self.port = wait_for(listening, 60, "keyward serve to log 'listening on'", self.proc, self.log_file)
        return self

    def stop(self):
        stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
        if self.mock:
            self.mock.stop()
        if self.ws:
            self.ws.stop()
        if self.yubikey is not None:
            self.yubikey.stop()

    def log_text(self):
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def audit_text(self):
        return self.audit_file.read_text(errors="replace") if self.audit_file.exists() else ""

    def audit_records(self):
        return [json.loads(l) for l in self.audit_text().splitlines() if l.strip()]

    # A tiny HTTP client for raw requests to keyward (no library signing).
    def request(self, method, path_and_query, body=None, headers=None, token=True):
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if token:
            hdrs[self.key_header] = self.token
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path_and_query, method=method,
                                     data=body.encode() if isinstance(body, str) else body, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                # keyward's status for a refusal answered 200 as the exchange answers its own
                # refusals (Bybit): X-Keyward-Status holds it.
                own = r.headers.get("X-Keyward-Status")
                return (int(own) if own else r.status), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def repoint_ccxt(exchange, base):
    """Point every URL in a ccxt exchange's urls['api'] at `base` (scheme+host replaced),
    including URLs in nested dicts (gate: urls['api']['private']['spot'])."""
    def repoint(d):
        for k, v in list(d.items()):
            if isinstance(v, str):
                d[k] = re.sub(r"^https?://[^/]+", base, v)
            elif isinstance(v, dict):
                repoint(v)
    repoint(exchange.urls["api"])
    return exchange


# ---------------------------------------------------------------------------------------
# Fixture factories and assertion helpers shared by the test modules
# ---------------------------------------------------------------------------------------


def running(s):
    """Start the Stack `s` for a module-scoped fixture (`yield from harness.running(s)`):
    stopped when start() fails and again when the module is done."""
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


def running_stack(workdir, **kwargs):
    """`yield from harness.running_stack(workdir, **Stack arguments)`: see running()."""
    yield from running(Stack(workdir, **kwargs))


def ccxt_bot(cls, stack, api_key=None, secret=DUMMY_SECRET, **options):
    """An unmodified ccxt exchange of class `cls` whose API key is the client token (or
    `api_key`), with a dummy secret, every API URL pointed at keyward."""
    ex = cls({"apiKey": api_key or stack.token, "secret": secret, "enableRateLimit": False,
              "timeout": 30000, **options})
    return repoint_ccxt(ex, stack.base)


def record_status(ex):
    """Remember the HTTP status in `ex.last_status` (ccxt's bitget, bybit and okx error
    handlers do not put it in the message)."""
    inner = ex.handle_errors

    def handle_errors(code, reason, *rest):
        # keyward's own status where it answers 200 as the exchange does (Bybit)
        headers = {k.lower(): v for k, v in (rest[2] or {}).items()} if len(rest) > 2 else {}
        own = headers.get("x-keyward-status")
        ex.last_status = int(own) if own and code == 200 else code
        return inner(code, reason, *rest)

    ex.handle_errors = handle_errors
    return ex


def records(stack, path=None, method=None, host=None):
    """What the mock recorded, optionally only for one path / method / host."""
    return [r for r in stack.mock.records()
            if (path is None or r["path"] == path) and (method is None or r["method"] == method)
            and (host is None or r.get("host") == host)]


def expect_refusal(call, raises, *markers):
    """`call()` raises `raises` (a ccxt error class or tuple) whose message holds every marker."""
    import pytest
    with pytest.raises(raises) as ei:
        call()
    msg = str(ei.value)
    assert all(m in msg for m in markers), msg
    return ei.value


def expect_403(bot, call):
    """keyward's refusal carries the exchange's own error code, so ccxt raises PermissionDenied
    (not a retryable network error); the status (remembered by record_status) is 403."""
    import ccxt
    import pytest
    with pytest.raises(ccxt.PermissionDenied) as ei:
        call()
    assert bot.last_status == 403 and "hard_deny" in str(ei.value), (bot.last_status, str(ei.value))


def expect_403_or_hard_deny(call):
    """`call()` raises a ccxt error whose message says 403 or hard_deny."""
    import ccxt
    import pytest
    with pytest.raises(ccxt.BaseError) as ei:
        call()
    msg = str(ei.value)
    assert "403" in msg or "hard_deny" in msg, msg
    return ei.value


class mock_untouched:
    """`with mock_untouched(stack):` the block adds no record to the mock."""

    def __init__(self, stack, msg=None):
        self.stack, self.msg = stack, msg

    def __enter__(self):
        self.n = len(self.stack.mock.records())
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            assert len(self.stack.mock.records()) == self.n, self.msg


def assert_no_path_reached(stack, word, msg=None):
    """No request whose path contains `word` (case-insensitively) reached the mock."""
    assert not [r for r in stack.mock.records() if word in r["path"].lower()], msg


def assert_posts_refused(stack, paths, body="{}", markers=("hard_deny",), headers=None):
    """Each POST is refused with 403 (body holding every marker) and nothing reaches the mock."""
    if headers is None:
        headers = {"Content-Type": "application/json"}
    with mock_untouched(stack):
        for path in paths:
            status, text = stack.request("POST", path, body=body, headers=headers)
            assert status == 403 and all(m in text for m in markers), (path, status, text)


def assert_all_verified(stack):
    """The mock recorded requests and verified every one of them."""
    recs = stack.mock.records()
    assert recs
    assert not [r for r in recs if not r["verified"]], [r for r in recs if not r["verified"]]


def outputs(stack, check=True):
    """(label, text) of keyward's log, its audit log and (with `check`) `keyward check`'s output."""
    out = [("keyward log", stack.log_text()), ("audit log", stack.audit_text())]
    if check:
        out.append(("check output", stack.check.stdout + stack.check.stderr))
    return out


def assert_absent(texts, values):
    """No (what, value) of `values` appears in any (label, text) of `texts`."""
    for label, text in texts:
        for what, value in values:
            assert value not in text, f"the {what} appears in the {label}"
