"""An unmodified ccxt binance bot, with a dummy secret and default options, through keyward.

The bot's API key is its keyward client token; its secret is a dummy that keyward ignores.
keyward re-signs with the sealed credential; the mock exchange verifies like Binance and
records everything it receives.
"""

import hashlib
import hmac
import subprocess

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

ORDER_PATH = "/api/v3/order"


@pytest.fixture(scope="module")
def bot(stack):
    ex = ccxt.binance({
        "apiKey": stack.token,
        "secret": harness.DUMMY_SECRET,
        "enableRateLimit": False,
        "timeout": 30000,
    })
    harness.repoint_ccxt(ex, f"http://127.0.0.1:{stack.port}/{harness.CREDENTIAL}")
    return ex


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def dummy_signature(rec):
    """What the bot's own (dummy) signature over the forwarded payload would have been."""
    q, _ = _strip(rec["query"])
    b, _ = _strip(rec["body"])
    return hmac.new(harness.DUMMY_SECRET.encode(), (q + b).encode(), hashlib.sha256).hexdigest()


def _strip(raw):
    kept, sigs = [], []
    for comp in (raw or "").split("&"):
        if not comp:
            continue
        if comp.split("=", 1)[0] == "signature":
            sigs.append(comp.split("=", 1)[1] if "=" in comp else "")
        else:
            kept.append(comp)
    return "&".join(kept), sigs


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["headers"].get("x-mbx-apikey") == stack.api_key, "upstream must carry the real API key"
    blob = rec["query"] + rec["body"] + repr(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"
    assert harness.DUMMY_SECRET not in blob
    _, sigs = _strip(rec["query"] + "&" + rec["body"])
    assert len(sigs) == 1, f"exactly one signature expected upstream: {rec}"
    assert sigs[0] != dummy_signature(rec), "upstream signature is the bot's dummy-secret signature"


def test_load_markets(stack, markets, bot):
    assert "BTC/USDT" in markets and "ETH/USDT" in markets
    assert markets["BTC/USDT"]["spot"] is True
    assert markets["BTC/USDT"]["precision"]["price"] == 0.01
    # USD-M and COIN-M markets came through the public (unsigned) path
    assert "BTC/USDT:USDT" in markets and "BTC/USD:BTC" in markets
    # the signed read-only calls inside load_markets were re-signed and verified upstream
    for path in ("/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs", "/sapi/v1/margin/isolated/allPairs"):
        recs = harness.records(stack, path)
        assert recs, f"{path} never reached the exchange"
        assert_resigned(stack, recs[-1])
    assert "USDT" in bot.currencies
    # public market data went out unsigned
    info = harness.records(stack, "/api/v3/exchangeInfo")
    assert info and info[-1]["verified"] is True
    assert "signature=" not in info[-1]["query"]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000
    assert bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/api/v3/account", "GET")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    before = len(harness.records(stack, ORDER_PATH))
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"]
    assert order["symbol"] == "BTC/USDT" and order["side"] == "buy" and order["amount"] == 0.01
    assert order["price"] == 30000 and order["status"] == "open"

    posted = harness.records(stack, ORDER_PATH, "POST")
    assert len(harness.records(stack, ORDER_PATH)) == before + 1
    rec = posted[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert p["symbol"] == "BTCUSDT" and p["side"] == "BUY" and p["type"] == "LIMIT"
    assert float(p["quantity"]) == 0.01 and float(p["price"]) == 30000
    assert int(p.get("recvWindow", "5000")) <= 5000  # keyward caps recvWindow at the credential's

    cancelled = bot.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    rec = harness.records(stack, ORDER_PATH, "DELETE")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["orderId"] == str(order["id"]) and rec["params"]["symbol"] == "BTCUSDT"
    assert rec["status"] == 200


def test_fetch_open_orders(stack, markets, bot):
    bot.fetch_open_orders("BTC/USDT")
    assert_resigned(stack, harness.records(stack, "/api/v3/openOrders", "GET")[-1])


def _expect_403(call):
    # keyward's denial is HTTP 403 with {"error": {...}} plus Binance's own {"code","msg"}
    # (-1002), so ccxt raises a permission error a bot does not retry, never a NetworkError.
    with pytest.raises((ccxt.PermissionDenied, ccxt.AuthenticationError)) as ei:
        call()
    assert not isinstance(ei.value, ccxt.NetworkError), repr(ei.value)
    msg = str(ei.value)
    assert '"error"' in msg and "-1002" in msg, msg
    return ei.value


def test_withdraw_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_403(lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, {"network": "ERC20"}))
        harness.assert_no_path_reached(stack, "withdraw", "a withdrawal reached the exchange")


def test_transfer_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_403(lambda: bot.transfer("USDT", 10, "spot", "future"))
        harness.assert_no_path_reached(stack, "transfer", "a transfer reached the exchange")


def test_over_limit_order_refused(stack, markets, bot):
    n = len(harness.records(stack, ORDER_PATH))
    _expect_403(lambda: bot.create_order("BTC/USDT", "limit", "buy", 0.6, 30000))  # quantity > 0.5
    _expect_403(lambda: bot.create_order("BTC/USDT", "limit", "buy", 0.5, 50000))  # notional 25000 > 20000
    assert len(harness.records(stack, ORDER_PATH)) == n


def test_unknown_client_token_refused(stack, markets):
    other = ccxt.binance({"apiKey": "not-a-client-token", "secret": harness.DUMMY_SECRET, "enableRateLimit": False})
    harness.repoint_ccxt(other, f"http://127.0.0.1:{stack.port}/{harness.CREDENTIAL}")
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.AuthenticationError) as ei:
            other.fetch_balance()
        assert "unknown_client" in str(ei.value) and "-2015" in str(ei.value)


def test_every_forwarded_request_verified(stack, markets, bot):
    recs = stack.mock.records()
    assert recs
    bad = [r for r in recs if not r["verified"]]
    assert not bad, f"the mock exchange rejected forwarded requests: {bad}"


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    log = stack.log_text()
    audit = stack.audit_text()
    assert audit.strip(), "the audit log is empty"
    for label, text in (("keyward log", log), ("audit log", audit)):
        assert stack.secret not in text, f"the API secret appears in the {label}"
        assert stack.api_key not in text, f"the API key appears in the {label}"
        assert stack.token not in text, f"the client token appears in the {label}"
        assert stack.pin not in text, f"the token PIN appears in the {label}"
    for cp in (stack.check,):
        assert stack.secret not in cp.stdout + cp.stderr
        assert stack.api_key not in cp.stdout + cp.stderr


def test_audit_chain_verifies_and_detects_tampering(stack, markets, bot, tmp_path):
    bot.fetch_balance()
    cp = stack.run("audit", "verify", str(stack.audit_file), check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lines = stack.audit_text().splitlines()
    assert len(lines) >= 3
    # change one character inside a middle record; the chain must break there
    i = len(lines) // 2
    tampered = lines[:]
    tampered[i] = tampered[i].replace("grid-bot", "grid-bOt", 1) if "grid-bot" in tampered[i] \
        else tampered[i].replace('"', "'", 1)
    bad = tmp_path / "audit-tampered.jsonl"
    bad.write_text("\n".join(tampered) + "\n")
    cp = stack.run("audit", "verify", str(bad), check=False)
    assert cp.returncode != 0, "audit verify accepted a tampered log"
    # dropping a record breaks it too
    dropped = tmp_path / "audit-dropped.jsonl"
    dropped.write_text("\n".join(lines[:i] + lines[i + 1:]) + "\n")
    cp = stack.run("audit", "verify", str(dropped), check=False)
    assert cp.returncode != 0, "audit verify accepted a log with a record removed"


def test_audit_records_decisions(stack, markets, bot):
    text = stack.audit_text()
    assert "withdraw" in text, "the refused withdrawal is not in the audit log"
    assert "grid-bot" in text
