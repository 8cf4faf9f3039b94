"""An unmodified ccxt okx bot with dummy credentials, through keyward, to the OKX v5 mock.

The bot's API key is its keyward client token; its secret and passphrase are dummies. keyward
drops the bot's OK-ACCESS-* headers, re-signs with the sealed key, secret and passphrase, and
the mock (scripts/mocks/okx.py) verifies the signature over the exact bytes it received.
"""

import base64
import hashlib
import hmac
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

EXCHANGE = "okx"
PASSPHRASE = "Real-Pass-9f3e"
DUMMY_PASSPHRASE = "dummy-passphrase"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("keyward-okx"), exchange=EXCHANGE,
                                     passphrase=PASSPHRASE, key_header="OK-ACCESS-KEY")


@pytest.fixture(scope="module")
def bot(stack):
    ex = harness.ccxt_bot(ccxt.okx, stack, password=DUMMY_PASSPHRASE)  # urls['api']['rest']
    return harness.record_status(ex)


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def assert_resigned(stack, rec):
    """Verified upstream with the real key and passphrase; nothing of the bot's own auth."""
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("ok-access-key") == stack.api_key, "upstream must carry the real API key"
    assert h.get("ok-access-passphrase") == PASSPHRASE
    blob = rec["query"] + rec["body"] + json.dumps(h)
    for leaked in (stack.token, harness.DUMMY_SECRET, DUMMY_PASSPHRASE):
        assert leaked not in blob, f"{leaked!r} reached the exchange"
    target = rec["path"] + ("?" + rec["query"] if rec["query"] else "")
    prehash = h["ok-access-timestamp"] + rec["method"] + target + rec["body"]
    dummy = base64.b64encode(hmac.new(harness.DUMMY_SECRET.encode(), prehash.encode(),
                                      hashlib.sha256).digest()).decode()
    assert h["ok-access-sign"] != dummy


def test_load_markets(stack, markets, bot):
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"} <= set(markets)
    assert markets["BTC/USDT"]["spot"] is True and markets["BTC/USDT"]["precision"]["price"] == 0.1
    assert markets["BTC/USDT:USDT"]["linear"] is True and markets["BTC/USD:BTC"]["inverse"] is True
    assert_resigned(stack, harness.records(stack, "/api/v5/asset/currencies")[-1])
    assert "BTC" in bot.currencies
    info = harness.records(stack, "/api/v5/public/instruments")
    assert info and all(r["verified"] for r in info)
    assert not [r for r in info if any(k.startswith("ok-access") for k in r["headers"])]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/api/v5/account/balance")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"]
    rec = harness.records(stack, "/api/v5/trade/batch-orders", "POST")[-1]  # ccxt's default createOrder
    assert_resigned(stack, rec)
    (p,) = rec["params"]
    assert (p["instId"], p["side"], p["ordType"], p["tdMode"]) == ("BTC-USDT", "buy", "limit", "cash")
    assert float(p["sz"]) == 0.01 and float(p["px"]) == 30000
    # ccxt's broker client-order id is order data and reaches the exchange as the bot wrote it
    assert p["clOrdId"] == order["clientOrderId"]

    assert [o["id"] for o in bot.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert_resigned(stack, harness.records(stack, "/api/v5/trade/orders-pending", "GET")[-1])

    bot.cancel_order(order["id"], "BTC/USDT")
    rec = harness.records(stack, "/api/v5/trade/cancel-order", "POST")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["ordId"] == order["id"] and rec["status"] == 200
    assert bot.fetch_open_orders("BTC/USDT") == []


def test_single_order_endpoint(stack, markets, bot):
    body = ('{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"limit",'
            '"sz":0.0100,"px":31000.0}')
    status, text = stack.request("POST", "/api/v5/trade/order", body=body,
                                 headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(text)["data"][0]["sCode"] == "0", text
    rec = harness.records(stack, "/api/v5/trade/order", "POST")[-1]
    assert rec["verified"] is True and rec["body"] == body  # numbers kept exactly


def test_withdraw_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, params={"network": "ERC20"}))
    harness.assert_no_path_reached(stack, "withdraw")


def test_transfer_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.transfer("USDT", 10, "funding", "trading"))
    harness.assert_no_path_reached(stack, "transfer")


def test_key_and_subaccount_management_refused(stack, markets):
    harness.assert_posts_refused(stack, (
        "/api/v5/users/subaccount/create-subaccount", "/api/v5/users/subaccount/modify-apikey",
        "/api/v5/asset/subaccount/transfer", "/api/v5/broker/nd/create-subaccount"
    ))


def test_duplicate_json_key_refused(stack, markets):
    with harness.mock_untouched(stack):
        body = '[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","side":"sell","ordType":"market","sz":"1"}]'
        status, text = stack.request("POST", "/api/v5/trade/batch-orders", body=body,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, text


def test_unknown_client_token_refused(stack, markets):
    other = harness.record_status(ccxt.okx({"apiKey": "not-a-client-token", "secret": harness.DUMMY_SECRET,
                                    "password": DUMMY_PASSPHRASE, "enableRateLimit": False}))
    harness.repoint_ccxt(other, stack.base)
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.AuthenticationError):
            other.fetch_balance()
        assert other.last_status == 401


def test_every_forwarded_request_verified(stack, markets, bot):
    harness.assert_all_verified(stack)


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    assert stack.audit_text().strip()
    harness.assert_absent(harness.outputs(stack), (("secret", stack.secret), ("API key", stack.api_key),
                                                   ("passphrase", PASSPHRASE), ("client token", stack.token),
                                                   ("PIN", stack.pin)))
    audit = stack.audit_text()
    assert "withdraw" in audit and "hard_deny" in audit
