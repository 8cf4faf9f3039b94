"""Unmodified ccxt KuCoin bots (spot `kucoin` and futures `kucoinfutures`) through keyward.

The bots' API key is the keyward client token; their secret and passphrase are dummies. ccxt
adds its broker headers (KC-API-PARTNER, -PARTNER-SIGN, -PARTNER-VERIFY) to every private
request; keyward must drop them with the bot's own KC-API-* headers. The mock exchange
(scripts/mocks/kucoin.py) verifies KuCoin's signature and encrypted passphrase over the exact
bytes it receives, and tells the spot and futures hosts apart by the Host header.
"""

import base64
import hashlib
import hmac

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

DUMMY_PASSPHRASE = "dummy-passphrase"
SPOT_KEYS = ("public", "private", "earn", "uta", "utaV2", "utaPrivate", "webExchange", "broker")
FUTURES_KEYS = ("futuresPublic", "futuresPrivate")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("kucoin"), exchange="kucoin",
                                     api_key="65f1a2b3c4d5e6f708091a2b",
                                     secret="f03a5284-5c39-4aaa-9b20-dea10bdcf8e3",
                                     passphrase="real-Passphrase-7", key_header="KC-API-KEY")


def point(ex, stack):
    """The README's ccxt configuration: spot URLs at /<credential>, futures at .../futures."""
    base = f"http://127.0.0.1:{stack.port}/{stack.credential}"
    for k in SPOT_KEYS:
        ex.urls["api"][k] = base
    for k in FUTURES_KEYS:
        ex.urls["api"][k] = base + "/futures"
    return ex


def make(cls, stack, **extra):
    return point(cls({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                      "password": DUMMY_PASSPHRASE, "enableRateLimit": False, "timeout": 30000,
                      **extra}), stack)


@pytest.fixture(scope="module")
def spot(stack):
    ex = make(ccxt.kucoin, stack)
    ex.load_markets()
    return ex


@pytest.fixture(scope="module")
def futures(stack):
    ex = make(ccxt.kucoinfutures, stack)
    ex.load_markets()
    return ex


def dummy_sign(rec):
    prehash = (rec["headers"]["kc-api-timestamp"] + rec["method"] + rec["path"]
               + ("?" + rec["query"] if rec["query"] else "") + rec["body"])
    return base64.b64encode(hmac.new(harness.DUMMY_SECRET.encode(), prehash.encode(),
                                     hashlib.sha256).digest()).decode()


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["auth"] == "signed"
    h = rec["headers"]
    assert h["kc-api-key"] == stack.api_key, "upstream must carry the real API key"
    assert rec["partner_headers"] == [], f"ccxt's partner headers reached the exchange: {rec}"
    assert h["kc-api-sign"] != dummy_sign(rec), "upstream signature is the bot's"
    assert h["kc-api-passphrase"] != DUMMY_PASSPHRASE
    blob = rec["query"] + rec["body"] + repr(h)
    for leaked in (stack.token, harness.DUMMY_SECRET, DUMMY_PASSPHRASE, stack.passphrase):
        assert leaked not in blob, f"{leaked[:6]}... reached the exchange"


def test_load_markets_spot(stack, spot):
    assert "BTC/USDT" in spot.markets and spot.markets["BTC/USDT"]["spot"]
    assert "USDT" in spot.currencies
    recs = harness.records(stack, "/api/v2/symbols", "GET")
    assert recs and recs[-1]["host"] == "spot" and recs[-1]["auth"] == "public"
    assert "kc-api-key" not in recs[-1]["headers"], "public data went out with credentials"


def test_fetch_balance_spot(stack, spot):
    bal = spot.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/api/v1/accounts", "GET", "spot")[-1])


def test_ccxt_sends_partner_headers(spot, futures):
    # the precondition of the partner-header assertions: ccxt really sends them to keyward
    assert "KC-API-PARTNER-SIGN" in spot.sign("accounts", ["private"], "GET", {})["headers"]
    assert "KC-API-PARTNER" in futures.sign("orders", ["futuresPrivate"], "GET", {})["headers"]


def test_mock_verifies_independently(stack):
    """The mock itself: a correctly signed request passes, a tampered one does not."""
    import json
    import ssl
    import time
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(stack.dir / "ca" / "ca.pem"))

    def call(sign_secret, host="api.kucoin.com", body=b"", path="/api/v1/accounts?type=trade_hf"):
        ts = str(int(time.time() * 1000))
        method = "POST" if body else "GET"
        pre = ts.encode() + method.encode() + path.encode() + body
        mac = lambda k, m: base64.b64encode(hmac.new(k.encode(), m, hashlib.sha256).digest()).decode()  # noqa: E731
        req = urllib.request.Request(stack.mock.base + path, data=body or None, method=method, headers={
            "Host": host, "KC-API-KEY": stack.api_key, "KC-API-TIMESTAMP": ts,
            "KC-API-SIGN": mac(sign_secret, pre), "KC-API-KEY-VERSION": "2",
            "KC-API-PASSPHRASE": mac(stack.secret, stack.passphrase.encode()),
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    assert call(stack.secret)[1]["code"] == "200000"
    assert call("wrong-secret")[1]["code"] == "400005"
    assert call(stack.secret, host="evil.example")[0] == 404
    # futures host: the same path is a different endpoint
    status, out = call(stack.secret, host="api-futures.kucoin.com", path="/api/v1/account-overview?currency=USDT")
    assert status == 200 and out["data"]["availableBalance"] == 10000


def test_spot_order_placed_and_cancelled(stack, spot):
    order = spot.create_order("BTC/USDT", "limit", "buy", 0.001, 30000.5)
    assert order["id"]
    rec = harness.records(stack, "/api/v1/hf/orders", "POST", "spot")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert (p["symbol"], p["side"], p["type"], p["size"], p["price"]) == \
        ("BTC-USDT", "buy", "limit", "0.001", "30000.5")
    spot.cancel_order(order["id"], "BTC/USDT")
    rec = harness.records(stack, f"/api/v1/hf/orders/{order['id']}", "DELETE", "spot")[-1]
    assert_resigned(stack, rec)
    assert rec["status"] == 200 and rec["query"] == "symbol=BTC-USDT"


def test_load_markets_futures(stack, futures):
    assert "BTC/USDT:USDT" in futures.markets
    assert futures.markets["BTC/USDT:USDT"]["contractSize"] == 0.001
    recs = harness.records(stack, "/api/v1/contracts/active", "GET")
    assert recs and recs[-1]["host"] == "futures"


def test_fetch_balance_futures(stack, futures):
    bal = futures.fetch_balance({"code": "USDT"})
    assert bal["USDT"]["free"] == 10000
    rec = harness.records(stack, "/api/v1/account-overview", "GET", "futures")[-1]
    assert_resigned(stack, rec)


def test_futures_order_placed_and_cancelled(stack, futures):
    order = futures.create_order("BTC/USDT:USDT", "limit", "buy", 2, 30000, {"leverage": 3})
    assert order["id"]
    rec = harness.records(stack, "/api/v1/orders", "POST", "futures")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert (p["symbol"], p["side"], p["size"], p["leverage"]) == ("XBTUSDTM", "buy", 2, 3)
    assert '"size":2' in rec["body"], "a JSON number stays a number"
    futures.cancel_order(order["id"], "BTC/USDT:USDT")
    rec = harness.records(stack, f"/api/v1/orders/{order['id']}", "DELETE", "futures")[-1]
    assert_resigned(stack, rec)
    assert rec["status"] == 200
    # the same path on the spot host was never touched by the futures bot
    assert not harness.records(stack, f"/api/v1/orders/{order['id']}", host="spot")


def _expect_refused(call):
    with pytest.raises(ccxt.BaseError) as ei:
        call()
    msg = str(ei.value)
    # keyward's 403 carries KuCoin's own {"code": "400007"}: ccxt raises AuthenticationError
    # (not retried) with keyward's error body.
    assert isinstance(ei.value, ccxt.AuthenticationError), repr(ei.value)
    assert '"hard_deny"' in msg and "400007" in msg, msg


def test_withdraw_refused(stack, spot):
    with harness.mock_untouched(stack, "a withdrawal reached the exchange"):
        _expect_refused(lambda: spot.withdraw("USDT", 100, "0x" + "12" * 20, params={"network": "ERC20"}))


def test_transfer_refused(stack, spot, futures):
    with harness.mock_untouched(stack, "a transfer reached the exchange"):
        _expect_refused(lambda: spot.transfer("USDT", 10, "main", "trade"))
        _expect_refused(lambda: futures.transfer("USDT", 10, "future", "spot"))
        _expect_refused(lambda: spot.transfer("USDT", 10, "spot", "future"))


def test_unknown_client_token_refused(stack):
    other = point(ccxt.kucoin({"apiKey": "not-a-token", "secret": "x", "password": "y",
                               "enableRateLimit": False}), stack)
    other.options["hf"], other.options["uta"] = True, False
    signed = lambda: [r for r in stack.mock.records() if r["auth"] != "public"]  # noqa: E731
    n = len(signed())
    with pytest.raises(ccxt.AuthenticationError):
        other.fetch_balance()  # its load_markets' public calls may pass (anonymous market data)
    assert len(signed()) == n, "a request with an unknown client token was signed"


def test_every_forwarded_request_verified(stack, spot, futures):
    recs = [r for r in stack.mock.records()
            if r["headers"].get("user-agent", "").startswith("keyward/")]
    assert recs
    assert not [r for r in recs if not r["verified"]], "the mock rejected a forwarded request"
    assert not [r for r in recs if r.get("partner_headers")]


def test_no_secret_in_logs_or_audit(stack, spot):
    spot.fetch_balance()
    harness.assert_absent(harness.outputs(stack), (("API secret", stack.secret), ("API key", stack.api_key),
                                                   ("passphrase", stack.passphrase), ("client token", stack.token)))
    assert "withdraw" in stack.audit_text(), "the refused withdrawal is not audited"
