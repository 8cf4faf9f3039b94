"""The exchanges' official Python SDKs, unmodified, through keyward to the mocks.

Each SDK is configured only through its own documented options (base path, domain, base URL;
the CA bundle for HTTPS) with the client token as API key and a dummy secret. For each: a private
read, a limit order placed and cancelled, and a withdrawal or transfer refused with keyward's
reason in the SDK's own error text; the mock verifies every signature over the exact bytes, and
nothing refused reaches it. The SDKs run in their own virtualenv (tests/python/sdk/README.md).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

import harness

SDK_DIR = Path(__file__).parent / "sdk"


def sdk_python():
    path = os.environ.get("KEYWARD_SDK_PYTHON") or str(harness.REPO / "target" / "sdk-venv" / "bin" / "python3")
    if not Path(path).exists():
        if os.environ.get("KEYWARD_REQUIRE_SDKS") == "1":
            pytest.fail(f"the SDK virtualenv {path} is missing (scripts/test.sh creates it)")
        pytest.skip(f"no SDK virtualenv at {path}: scripts/test.sh creates it")
    return path


def run_sdk(script, stack, env, wrap=()):
    """Runs tests/python/sdk/SCRIPT; returns its steps by name."""
    cp = subprocess.run([*wrap, sdk_python(), str(SDK_DIR / script)], capture_output=True,
                        text=True, timeout=120, env={**os.environ, "KW_TOKEN": stack.token, **env})
    steps = {}
    for line in cp.stdout.splitlines():
        if line.startswith("{"):
            s = json.loads(line)
            steps[s["step"]] = s
    assert steps, f"{script} printed no step (exit {cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
    steps["stderr"] = cp.stderr[-3000:]  # the SDK's tracebacks, for a failing assertion
    return steps


def assert_trades_and_refuses(stack, steps, refused, reason, signed):
    for name in ("read", "place", "cancel"):
        assert steps.get(name, {}).get("ok"), (name, steps[name], steps["stderr"])
    error = steps[refused].get("error")
    assert error and reason in error, (refused, steps[refused])
    recs = [r for r in stack.mock.records() if signed(r)]
    assert recs and all(r["verified"] is True for r in recs), recs
    harness.assert_no_path_reached(stack, refused)


# -- Binance: binance-sdk-spot, binance-sdk-wallet ----------------------------------------------

@pytest.fixture(scope="module")
def binance(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("sdk-binance"))


def test_binance_connectors(binance):
    steps = run_sdk("binance_sdk.py", binance, {"KW_BASE": binance.base})
    assert_trades_and_refuses(binance, steps, "withdraw", "withdrawals are never allowed",
                              lambda r: "signature=" in r["query"] + r["body"])
    assert steps["cancel"]["result"] == "CANCELED", steps["cancel"]


# -- OKX: python-okx -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def okx(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("sdk-okx"), exchange="okx",
                                     passphrase="Real-Pass-9f3e", key_header="OK-ACCESS-KEY")


def test_python_okx(okx):
    steps = run_sdk("okx_sdk.py", okx, {"KW_BASE": okx.base, "KW_FLAG": "0"})
    assert_trades_and_refuses(okx, steps, "withdraw", "withdrawals",
                              lambda r: r["headers"].get("ok-access-sign"))


def test_python_okx_left_on_its_demo_default_is_never_signed_live(okx):
    before = len(okx.mock.records())
    steps = run_sdk("okx_sdk.py", okx, {"KW_BASE": okx.base, "KW_FLAG": "1"})
    for name in ("read", "place", "withdraw"):
        error = steps[name].get("error", "")
        assert "never signs a demo request with a live key" in error, (name, steps[name])
    assert len(okx.mock.records()) == before, "nothing reached the exchange"


# -- Coinbase: coinbase-advanced-py (https only) --------------------------------------------------

@pytest.fixture(scope="module")
def coinbase(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    k = ec.generate_private_key(ec.SECP256R1())
    secret = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
    public = k.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    name = "organizations/0f1e2d3c-aaaa-4bbb-8ccc-000000000001/apiKeys/1a2b3c4d-dddd-4eee-8fff-000000000009"
    yield from harness.running_stack(
        tmp_path_factory.mktemp("sdk-coinbase"), exchange="coinbase", api_key=name, secret=secret,
        mock_credentials={name: {"public_key": public}}, key_header="CB-ACCESS-KEY",
        server_extra='tls = { cert = "ca/server.pem", key = "ca/server.key" }')


def test_coinbase_advanced_py_over_tls(coinbase):
    steps = run_sdk("coinbase_sdk.py", coinbase, {
        "KW_BASE": f"127.0.0.1:{coinbase.port}/{coinbase.credential}",
        "REQUESTS_CA_BUNDLE": str(coinbase.dir / "ca" / "ca.pem")})
    assert_trades_and_refuses(coinbase, steps, "transfer", "moving funds between portfolios",
                              lambda r: r["headers"].get("authorization"))


# -- Bybit: pybit (host only, https only) ---------------------------------------------------------

@pytest.fixture(scope="module")
def bybit(tmp_path_factory):
    yield from harness.running_stack(
        tmp_path_factory.mktemp("sdk-bybit"), exchange="bybit", key_header="X-BAPI-API-KEY",
        server_extra='tls = { cert = "ca/server.pem", key = "ca/server.key" }\n'
                     'host_names = ["api.keyward.localhost"]',
        credential_extra='listen = "127.0.0.1:0"')


def resolving_and_trusting(name, workdir, ca):
    """A command prefix that runs its command as on a machine where `name` resolves to 127.0.0.1
    and the CA `ca` is trusted by Python's requests: a private mount namespace with its own
    /etc/hosts and certifi bundle (the machine's files are untouched). pybit sends with
    Session.send, which ignores REQUESTS_CA_BUNDLE, so it trusts only the bundle itself."""
    workdir = Path(workdir)
    hosts = workdir / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {name}\n")
    certifi = subprocess.run([sdk_python(), "-c", "import certifi; print(certifi.where())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    bundle = workdir / "cacert.pem"
    bundle.write_text(Path(certifi).read_text() + "\n" + Path(ca).read_text())
    ns = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        ns = ["--user", "--map-root-user", *ns]
    script = 'mount --bind "$0" /etc/hosts && mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return ["unshare", *ns, "sh", "-c", script, str(hosts), str(bundle), certifi]


def test_pybit_reaches_keyward_by_host_name_and_sees_its_reasons(bybit):
    port = bybit.own_base().rsplit(":", 1)[1]
    steps = run_sdk("pybit_sdk.py", bybit, {"KW_TLD": f"localhost:{port}"},
                    wrap=resolving_and_trusting("api.keyward.localhost", bybit.dir,
                                                bybit.dir / "ca" / "ca.pem"))
    # keyward answers its refusal 200 with retCode, as Bybit does, so pybit raises its
    # InvalidRequestError with keyward's reason instead of its canned "IP rate limit" text.
    assert_trades_and_refuses(bybit, steps, "withdraw", "withdrawals",
                              lambda r: r["headers"].get("x-bapi-sign"))
    assert "IP rate limit" not in steps["withdraw"]["error"], steps["withdraw"]


# -- Gate: gate-api -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("sdk-gate"), exchange="gate",
                                     api_key=harness.binance_like_key(32),
                                     secret=harness.binance_like_key(64), key_header="KEY")


def test_gate_api(gate):
    steps = run_sdk("gate_sdk.py", gate, {"KW_BASE": gate.base})
    assert_trades_and_refuses(gate, steps, "withdraw", "withdrawals",
                              lambda r: r["headers"].get("sign"))


# -- Alpaca: alpaca-py ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def alpaca(tmp_path_factory):
    key = "AKZ4PQ7N3XK2M5VB8RTY"
    yield from harness.running_stack(tmp_path_factory.mktemp("sdk-alpaca"), exchange="alpaca",
                                     api_key=key, secret="wq8Lr2Vt9Yp4Hk7Nc3Xb6Zm1Fd5Gs0Jq2Ae8Tu4Ri",
                                     key_header="APCA-API-KEY-ID")


def test_alpaca_py(alpaca):
    steps = run_sdk("alpaca_sdk.py", alpaca, {"KW_BASE": alpaca.base})
    # Alpaca has no signature: "verified" means the mock found the real key and secret.
    assert_trades_and_refuses(alpaca, steps, "settings", "account settings are never changed",
                              lambda r: r["headers"].get("apca-api-secret-key"))


# -- KuCoin: kucoin-universal-sdk -----------------------------------------------------------------

@pytest.fixture(scope="module")
def kucoin(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("sdk-kucoin"), exchange="kucoin",
                                     api_key="65f1a2b3c4d5e6f708091a2c",
                                     secret="f03a5284-5c39-4aaa-9b20-dea10bdcf8e4",
                                     passphrase="real-Passphrase-8", key_header="KC-API-KEY")


def test_kucoin_universal_sdk(kucoin):
    steps = run_sdk("kucoin_sdk.py", kucoin, {"KW_BASE": kucoin.base})
    assert_trades_and_refuses(kucoin, steps, "withdraw", "withdrawals",
                              lambda r: r["headers"].get("kc-api-sign"))
