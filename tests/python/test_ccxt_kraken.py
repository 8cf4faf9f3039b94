"""An unmodified ccxt kraken bot, with a dummy key and secret, through keyward to a mock Kraken.

The bot's API key is its keyward client token; its secret is a dummy (valid base64, as ccxt
needs). keyward strips the bot's `nonce`/`otp`, issues its own persistent nonce and re-signs
with the sealed credential; the mock verifies like Kraken (signature over the exact body, nonce
strictly increasing per key) and records everything it receives.
"""

import base64
import hashlib
import hmac
import re
import secrets
import subprocess

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

DUMMY_SECRET = base64.b64encode(b"dummy-secret-that-keyward-ignores").decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyward-kraken")
    yield from harness.running_stack(d, exchange="kraken", api_key=harness.binance_like_key(56),
                                     secret=base64.b64encode(secrets.token_bytes(64)).decode(),
                                     key_header="API-Key")


def make_bot(stack, api_key=None):
    return harness.ccxt_bot(ccxt.kraken, stack, api_key, DUMMY_SECRET)


@pytest.fixture(scope="module")
def bot(stack):
    return make_bot(stack)


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def body_nonce(rec):
    m = re.match(r"nonce=(\d+)(&|$)", rec["body"]) or re.match(r'\{"nonce":(\d+)', rec["body"])
    assert m, f"no leading nonce in the forwarded body: {rec['body']!r}"
    return int(m.group(1))


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("api-key") == stack.api_key, "upstream must carry the real API key"
    blob = rec["body"] + rec["query"] + repr(h)
    assert stack.token not in blob, "the client token leaked upstream"
    assert DUMMY_SECRET not in blob
    # the bot's own signature (dummy secret over its own body) never reaches the exchange
    dummy = base64.b64encode(hmac.new(base64.b64decode(DUMMY_SECRET),
                                      rec["path"].encode() + hashlib.sha256(
                                          str(body_nonce(rec)).encode() + rec["body"].encode()).digest(),
                                      hashlib.sha512).digest()).decode()
    assert h.get("api-sign") != dummy
    assert "otp" not in rec["params"]


def test_load_markets_public_unsigned(stack, markets):
    assert "BTC/USD" in markets and "ETH/USD" in markets
    assert markets["BTC/USD"]["id"] == "XXBTZUSD"
    for path in ("/0/public/AssetPairs", "/0/public/Assets"):
        recs = harness.records(stack, path)
        assert recs and recs[-1]["verified"] is True
        assert "api-key" not in recs[-1]["headers"] and "api-sign" not in recs[-1]["headers"]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USD"]["total"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/0/private/BalanceEx")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
    assert order["id"]
    rec = harness.records(stack, "/0/private/AddOrder")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert p["pair"] == "XXBTZUSD" and p["type"] == "buy" and p["ordertype"] == "limit"
    assert float(p["volume"]) == 0.01 and float(p["price"]) == 30000
    bot.cancel_order(order["id"], "BTC/USD")
    rec = harness.records(stack, "/0/private/CancelOrder")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["txid"] == order["id"] and rec["status"] == 200


def test_bot_otp_and_nonce_are_replaced(stack, markets, bot):
    # the mock refuses any `otp` (its keys have none) and any nonce not above the last one
    bot.fetch_open_orders(params={"otp": "123456"})
    rec = harness.records(stack, "/0/private/OpenOrders")[-1]
    assert_resigned(stack, rec)
    assert rec["body"].startswith("nonce=")
    assert "otp" not in rec["body"]


def test_json_body_batch_cancel(stack, markets, bot):
    bot.cancel_orders(["O1-X", "O2-Y"], "BTC/USD")
    rec = harness.records(stack, "/0/private/CancelOrderBatch")[-1]
    assert rec["headers"]["content-type"].startswith("application/json")
    assert rec["body"].startswith('{"nonce":')
    assert_resigned(stack, rec)


def test_nonces_strictly_increase(stack, markets, bot):
    nonces = [body_nonce(r) for r in harness.records(stack) if r["path"].startswith("/0/private/")]
    assert len(nonces) >= 4
    assert all(a < b for a, b in zip(nonces, nonces[1:])), nonces


def _expect_denied(call):
    # keyward answers in Kraken's error shape so ccxt raises PermissionDenied; the HTTP status
    # is 403 and keyward's own code rides along
    harness.expect_refusal(call, ccxt.PermissionDenied, "EGeneral:Permission denied", "hard_deny")


def test_withdraw_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_denied(lambda: bot.withdraw("BTC", 0.1, "bc1qexampleexampleexampleexample0000", {"key": "my-wallet"}))
        assert bot.last_http_response and stack.audit_text().count("withdraw") >= 1
    harness.assert_no_path_reached(stack, "withdraw")


def test_transfer_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        _expect_denied(lambda: bot.transfer("BTC", 0.1, "spot", "swap"))
    harness.assert_no_path_reached(stack, "transfer")


def test_refusals_are_403(stack, markets):
    with harness.mock_untouched(stack):
        for path in ("/0/private/Withdraw", "/0/private/WalletTransfer", "/0/private/GetApiKeyInfo",
                     "/0/private/CreateSubaccount"):
            status, body = stack.request("POST", path, body="nonce=1&asset=XBT&amount=1")
            assert status == 403, (path, status, body)
            assert '"EGeneral:Permission denied"' in body and '"hard_deny"' in body
        # private endpoints are POST-only with parameters in the body
        status, body = stack.request("GET", "/0/private/Balance")
        assert status == 405, body


def test_unknown_client_token_refused(stack, markets):
    other = make_bot(stack, api_key="not-a-client-token")
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.AuthenticationError):
            other.private_post_balance()


def test_every_forwarded_request_verified(stack, markets, bot):
    harness.assert_all_verified(stack)


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    harness.assert_absent(harness.outputs(stack, check=False),
                          (("API secret", stack.secret), ("API key", stack.api_key), ("client token", stack.token)))
    assert stack.secret not in stack.check.stdout + stack.check.stderr


def test_nonce_survives_restart(stack, markets, bot):
    """Last: restarts keyward. The nonce high-water mark is persisted next to the vault file
    before any nonce inside it is used, and the restarted keyward continues above it."""
    bot.fetch_balance()
    last = body_nonce(harness.records(stack, "/0/private/BalanceEx")[-1])
    state = stack.dir / "vault" / f"{stack.credential}.kwv.nonce"
    if not state.exists():
        found = list((stack.dir / "vault").glob("*nonce*"))
        assert found, "no nonce state file next to the vault"
        state = found[0]
    reserved = int(state.read_text().strip())
    assert reserved >= last
    harness.stop(stack.proc)
    stack._log.close()
    stack._log = open(stack.log_file, "ab")
    before = len(stack.log_text())
    stack.proc = subprocess.Popen([str(stack.bin), "serve", "--config", str(stack.config)],
                                  stdout=stack._log, stderr=subprocess.STDOUT, env=stack.env,
                                  cwd=stack.dir)

    def listening():
        text = harness.ANSI_RE.sub("", stack.log_text()[before:])
        m = harness.LISTEN_RE.search(text)
        return int(m.group(2)) if m else None

    stack.port = harness.wait_for(listening, 60, "keyward to listen again", stack.proc, stack.log_file)
    again = make_bot(stack)
    again.markets = bot.markets
    again.markets_by_id = bot.markets_by_id
    again.currencies = bot.currencies
    again.currencies_by_id = bot.currencies_by_id
    again.fetch_balance()
    rec = harness.records(stack, "/0/private/BalanceEx")[-1]
    assert_resigned(stack, rec)
    assert body_nonce(rec) > reserved >= last
