"""Binance RSA and Ed25519 API keys: an unmodified ccxt bot through keyward.

The sealed secret is the PEM private key whose public half is "registered" with the mock
exchange ({"<api key>": {"public_key_pem": ...}}); the mock verifies each signature with that
public key (Python `cryptography`), so an HMAC or a bot-signed request cannot pass. The bot
itself is configured with a different, throwaway PEM of the same type, so ccxt runs its own
RSA / Ed25519 signing path (keyward strips that signature and signs with the sealed key).
"""

import base64
import subprocess
import urllib.parse

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402

ORDER_PATH = "/api/v3/order"


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def new_key(kind):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def kstack(request, tmp_path_factory):
    kind = request.param
    real = new_key(kind)
    api_key = harness.binance_like_key()
    d = tmp_path_factory.mktemp(f"binance-{kind}")
    s = harness.Stack(d, api_key=api_key, secret=private_pem(real),
                      mock_credentials={api_key: {"public_key_pem": public_pem(real)}})
    s.kind = kind
    s.bot_pem = private_pem(new_key(kind))  # the bot's own dummy key, never registered
    yield from harness.running(s)


@pytest.fixture(scope="module")
def bot(kstack):
    ex = ccxt.binance({
        "apiKey": kstack.token,
        "secret": kstack.bot_pem,
        "enableRateLimit": False,
        "timeout": 30000,
    })
    harness.repoint_ccxt(ex, f"http://127.0.0.1:{kstack.port}/{harness.CREDENTIAL}")
    return ex


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def signatures(rec):
    return [c.split("=", 1)[1] for c in (rec["query"] + "&" + rec["body"]).split("&")
            if c.startswith("signature=")]


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["key_type"] == stack.kind, rec
    assert rec["headers"].get("x-mbx-apikey") == stack.api_key
    blob = rec["query"] + rec["body"] + repr(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"
    sigs = signatures(rec)
    assert len(sigs) == 1, f"exactly one signature expected upstream: {rec}"
    # base64 percent-encoded: no raw '+', '/' or '=' on the wire
    assert not set(sigs[0]) & set("+/="), sigs[0]
    raw = base64.b64decode(urllib.parse.unquote(sigs[0]), validate=True)
    assert len(raw) == (256 if stack.kind == "rsa" else 64)


def test_ccxt_uses_its_asymmetric_path(kstack, bot):
    # the bot really signs with its own PEM (so keyward strips an RSA/Ed25519 signature)
    req = bot.sign("account", ["private"], "GET", {})
    sig = req["url"].rsplit("signature=", 1)[1]
    assert "%" in sig or len(sig) > 64


def test_load_markets(kstack, markets):
    assert "BTC/USDT" in markets
    for path in ("/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs"):
        recs = harness.records(kstack, path)
        assert recs, f"{path} never reached the exchange"
        assert_resigned(kstack, recs[-1])


def test_fetch_balance(kstack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000
    assert_resigned(kstack, harness.records(kstack, "/api/v3/account", "GET")[-1])


def test_create_and_cancel_order(kstack, markets, bot):
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"] and order["status"] == "open"
    rec = harness.records(kstack, ORDER_PATH, "POST")[-1]
    assert_resigned(kstack, rec)
    assert rec["params"]["symbol"] == "BTCUSDT" and float(rec["params"]["quantity"]) == 0.01
    cancelled = bot.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    rec = harness.records(kstack, ORDER_PATH, "DELETE")[-1]
    assert_resigned(kstack, rec)
    assert rec["params"]["orderId"] == str(order["id"])


def _expect_403(call):
    # keyward's 403 carries Binance's own {"code": -1002}: ccxt raises a permission error.
    with pytest.raises((ccxt.PermissionDenied, ccxt.AuthenticationError)) as ei:
        call()
    msg = str(ei.value)
    assert '"hard_deny"' in msg and "-1002" in msg, msg


def test_withdraw_and_transfer_refused(kstack, markets, bot):
    with harness.mock_untouched(kstack, "a refused request reached the exchange"):
        _expect_403(lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, {"network": "ERC20"}))
        _expect_403(lambda: bot.transfer("USDT", 10, "spot", "future"))


def test_every_forwarded_request_verified(kstack, markets, bot):
    recs = kstack.mock.records()
    assert recs
    assert not [r for r in recs if not r["verified"]]


def test_no_key_material_in_logs(kstack, markets, bot):
    bot.fetch_balance()
    body = "".join(kstack.secret.strip().splitlines()[1:-1])  # the PEM's base64
    for label, text in (("keyward log", kstack.log_text()), ("audit log", kstack.audit_text()),
                        ("check output", kstack.check.stdout + kstack.check.stderr)):
        for chunk in (body[:40], body[-40:], body[len(body) // 2:len(body) // 2 + 40]):
            assert chunk not in text, f"the private key appears in the {label}"
        assert kstack.api_key not in text, f"the API key appears in the {label}"


def _seal(stack, tmp_path, secret):
    out = tmp_path / "x.kwv"
    cp = stack.run("seal", "--recipient", stack.recipient, "--name", "x", "--exchange", "binance",
                   "--out", str(out), input=f"{stack.api_key}\n{secret}\n", check=False)
    return cp, out


def test_seal_refuses_malformed_pem(kstack, tmp_path):
    lines = kstack.secret.strip().splitlines()
    # drop 4 base64 characters (3 bytes) from the middle: still base64, no longer valid DER
    mid = lines[1][:20] + lines[1][24:]
    broken = "\n".join([lines[0], mid] + lines[2:])
    cp, out = _seal(kstack, tmp_path, broken)
    assert cp.returncode != 0 and not out.exists()
    assert "not valid" in cp.stderr and "nothing was sealed" in cp.stderr, cp.stderr
    # no END line
    cp, out = _seal(kstack, tmp_path, "\n".join(lines[:-1]))
    assert cp.returncode != 0 and not out.exists()
    assert "END" in cp.stderr, cp.stderr


def test_seal_refuses_public_and_ec_keys(kstack, tmp_path):
    real_public = public_pem(new_key(kstack.kind)).strip()
    cp, out = _seal(kstack, tmp_path, real_public)
    assert cp.returncode != 0 and not out.exists()
    assert "PRIVATE key" in cp.stderr, cp.stderr
    cp, out = _seal(kstack, tmp_path, private_pem(ec.generate_private_key(ec.SECP256R1())).strip())
    assert cp.returncode != 0 and not out.exists()
    assert "RSA or Ed25519" in cp.stderr, cp.stderr


def test_seal_accepts_multiline_pem(kstack, tmp_path):
    cp, out = _seal(kstack, tmp_path, private_pem(new_key(kstack.kind)).strip())
    assert cp.returncode == 0, cp.stderr
    assert out.exists()
