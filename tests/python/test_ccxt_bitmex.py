"""An unmodified ccxt bitmex bot, with a dummy key and secret, through keyward to a mock BitMEX.

ccxt's current release (4.5.90, the one the other tests use) has no bitmex class, so this test
runs ccxt 4.5.0 in a subprocess: it is installed (without dependencies, which 4.5.90 already
brought) into `target/ccxt-4.5.0` on first use, or taken from `KEYWARD_CCXT_BITMEX_DIR`.
The bot's API key is its keyward client token; its secret is a dummy. keyward drops the bot's
api-key/api-expires/api-signature and re-signs; the mock verifies like BitMEX (signature over
the exact path, query and body bytes; expiry) and records everything it receives.
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness

DUMMY_SECRET = "dummy-bitmex-secret-that-keyward-ignores"
CCXT_VERSION = "4.5.0"

DRIVER = r'''
import json, sys
import ccxt
assert ccxt.__version__ == sys.argv[2], ccxt.__version__
cfg = json.loads(sys.argv[1])
out = {}

def bot(key):
    ex = ccxt.bitmex({"apiKey": key, "secret": cfg["secret"], "enableRateLimit": False,
                      "timeout": 30000})
    for k in list(ex.urls["api"]):
        ex.urls["api"][k] = cfg["base"]
    return ex

def run(name, fn):
    try:
        out[name] = {"ok": True, "result": fn()}
    except Exception as e:
        out[name] = {"ok": False, "classes": [c.__name__ for c in type(e).__mro__],
                     "msg": str(e)}

ex = bot(cfg["key"])
run("load_markets", lambda: sorted(ex.load_markets()))
run("fetch_balance", lambda: {c: ex.fetch_balance()[c]["total"] for c in ("BTC", "USDT")})
def order():
    o = ex.create_order("BTC/USD:BTC", "limit", "buy", 100, 30000.5)
    c = ex.cancel_order(o["id"], "BTC/USD:BTC")
    return {"id": o["id"], "status": o["status"], "cancel_status": c["status"]}
run("order", order)
run("withdraw", lambda: ex.withdraw("BTC", 0.01, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"))
run("transfer", lambda: ex.privatePostUserWalletTransfer(
    {"currency": "XBt", "amount": 1000, "targetUserId": 12345}))
run("api_key", lambda: ex.privateGetApiKey())
run("unknown_token", lambda: bot("not-a-client-token").fetch_balance())
print(json.dumps(out, default=str))
'''


def ccxt_450_dir():
    d = Path(os.environ.get("KEYWARD_CCXT_BITMEX_DIR") or harness.REPO / "target" / f"ccxt-{CCXT_VERSION}")
    marker = d / "ccxt" / "__init__.py"
    if not marker.exists() or f"__version__ = '{CCXT_VERSION}'" not in marker.read_text():
        d.mkdir(parents=True, exist_ok=True)
        cp = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                             "--no-deps", "--upgrade", "--target", str(d), f"ccxt=={CCXT_VERSION}"],
                            capture_output=True, text=True, timeout=600)
        if cp.returncode != 0:
            pytest.fail(f"could not install ccxt=={CCXT_VERSION} (the last ccxt with a bitmex class) "
                        f"into {d}: {cp.stderr[-2000:]}")
    return d


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyward-bitmex")
    yield from harness.running_stack(d, exchange="bitmex", api_key=harness.binance_like_key(24),
                                     secret=harness.binance_like_key(48), key_header="api-key")


@pytest.fixture(scope="module")
def run(stack, tmp_path_factory):
    lib = ccxt_450_dir()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(lib) + os.pathsep + env.get("PYTHONPATH", "")
    cfg = json.dumps({"base": stack.base, "key": stack.token, "secret": DUMMY_SECRET})
    cp = subprocess.run([sys.executable, "-c", DRIVER, cfg, CCXT_VERSION], capture_output=True,
                        text=True, env=env, timeout=300)
    assert cp.returncode == 0, cp.stderr[-4000:]
    return json.loads(cp.stdout.strip().splitlines()[-1])


def dummy_signature(rec):
    target = rec["path"] + ("?" + rec["query"] if rec["query"] else "")
    msg = rec["method"] + target + rec["headers"].get("api-expires", "") + rec["body"]
    return hmac.new(DUMMY_SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("api-key") == stack.api_key, "upstream must carry the real API key"
    blob = rec["body"] + rec["query"] + repr(h)
    assert stack.token not in blob, "the client token leaked upstream"
    assert DUMMY_SECRET not in blob
    assert h.get("api-signature") != dummy_signature(rec)


def test_load_markets(stack, run):
    assert run["load_markets"]["ok"], run["load_markets"]
    assert "BTC/USD:BTC" in run["load_markets"]["result"]
    for path in ("/api/v1/instrument/active", "/api/v1/wallet/assets"):
        recs = harness.records(stack, path)
        assert recs and recs[-1]["verified"]
        # ccxt signs public calls when it has a key; keyward forwards them unsigned
        assert "api-signature" not in recs[-1]["headers"] and "api-key" not in recs[-1]["headers"]


def test_fetch_balance(stack, run):
    assert run["fetch_balance"]["ok"], run["fetch_balance"]
    assert run["fetch_balance"]["result"] == {"BTC": 1.25, "USDT": 25000}
    assert_resigned(stack, harness.records(stack, "/api/v1/user/margin")[-1])


def test_create_and_cancel_order(stack, run):
    assert run["order"]["ok"], run["order"]
    res = run["order"]["result"]
    assert res["status"] == "open" and res["cancel_status"] == "canceled"
    rec = harness.records(stack, "/api/v1/order", "POST")[-1]
    assert_resigned(stack, rec)
    # the JSON body went through with its numbers exactly as ccxt wrote them
    assert '"orderQty":100' in rec["body"] and '"price":30000.5' in rec["body"], rec["body"]
    assert rec["params"]["symbol"] == "XBTUSD" and rec["params"]["side"] == "Buy"
    rec = harness.records(stack, "/api/v1/order", "DELETE")[-1]
    assert_resigned(stack, rec)
    assert json.loads(rec["body"]) == {"orderID": res["id"]} and rec["status"] == 200


def _denied(result):
    assert not result["ok"], result
    assert "PermissionDenied" in result["classes"], result
    assert "Access Denied" in result["msg"] and "hard_deny" in result["msg"], result["msg"]


def test_withdraw_transfer_and_key_endpoint_refused(stack, run):
    _denied(run["withdraw"])
    _denied(run["transfer"])
    _denied(run["api_key"])  # the permission endpoint is for keyward's self-check, not bots
    for word in ("withdraw", "transfer"):
        assert not [r for r in stack.mock.records() if word in r["path"].lower()], word
    # Only keyward's own key-permission checks reached it: `keyward check` and serve's start-up.
    own = [r for r in stack.mock.records() if "apikey" in r["path"].lower()]
    assert len(own) == 2 and all(r["permissions_mode"] == "safe" for r in own), own
    clients = [r["client"] for r in stack.audit_records() if r.get("path") == "/api/v1/apiKey"]
    assert clients[0] == "keyward:permission-check" and set(clients[1:]) == {harness.CLIENT}, \
        f"keyward's own check is audited as keyward's, then the bot's refused attempt: {clients}"


def test_refusals_are_403(stack, run):
    with harness.mock_untouched(stack):
        for method, path in (("POST", "/api/v1/user/requestWithdrawal"), ("POST", "/api/v1/user/walletTransfer"),
                             ("POST", "/api/v1/user/addSubaccount"), ("GET", "/api/v1/apiKey"),
                             ("POST", "/api/v1/address"), ("POST", "/api/v1/user/preferences")):
            body = None if method == "GET" else '{"a":1}'
            status, text = stack.request(method, path, body=body, headers={"Content-Type": "application/json"})
            assert status == 403, (path, status, text)
            assert '"Access Denied"' in text


def test_unknown_client_token_refused(stack, run):
    r = run["unknown_token"]
    assert not r["ok"] and "AuthenticationError" in r["classes"], r


def test_every_forwarded_request_verified(stack, run):
    harness.assert_all_verified(stack)


def test_no_secret_in_logs_or_audit(stack, run):
    harness.assert_absent(harness.outputs(stack, check=False),
                          (("API secret", stack.secret), ("API key", stack.api_key), ("client token", stack.token)))
    assert stack.secret not in stack.check.stdout + stack.check.stderr
