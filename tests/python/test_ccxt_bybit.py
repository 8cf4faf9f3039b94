"""An unmodified ccxt bybit bot with dummy credentials, through keyward, to the Bybit v5 mock.

The bot's API key is its keyward client token and its secret a dummy; keyward drops the bot's
X-BAPI-* headers (and ccxt's Referer broker id), re-signs with the sealed credential, and the
mock (scripts/mocks/bybit.py) verifies the signature over the exact bytes it received.
"""

import hashlib
import hmac
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

EXCHANGE = "bybit"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("keyward-bybit"), exchange=EXCHANGE,
                                     key_header="X-BAPI-API-KEY")


@pytest.fixture(scope="module")
def bot(stack):
    return harness.record_status(harness.ccxt_bot(ccxt.bybit, stack))


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def assert_resigned(stack, rec):
    """Verified upstream with the real key, and nothing of the bot's own auth got through."""
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("x-bapi-api-key") == stack.api_key, "upstream must carry the real API key"
    assert "referer" not in h, "ccxt's Referer broker header reached the exchange"
    blob = rec["query"] + rec["body"] + json.dumps(h)
    assert stack.token not in blob, "the client token leaked upstream"
    assert harness.DUMMY_SECRET not in blob
    # the signature the bot computed with its dummy secret is not what was sent
    payload = h["x-bapi-timestamp"] + stack.token + h["x-bapi-recv-window"] + (
        rec["query"] if rec["method"] == "GET" else rec["body"])
    dummy = hmac.new(harness.DUMMY_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert h["x-bapi-sign"] != dummy
    assert int(h["x-bapi-recv-window"]) <= 5000


def test_load_markets(stack, markets, bot):
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"} <= set(markets)
    assert markets["BTC/USDT"]["spot"] is True and markets["BTC/USDT"]["precision"]["price"] == 0.01
    assert markets["BTC/USDT:USDT"]["linear"] is True and markets["BTC/USD:BTC"]["inverse"] is True
    # the signed call inside load_markets (currencies) was re-signed and verified
    assert_resigned(stack, harness.records(stack, "/v5/asset/coin/query-info")[-1])
    assert "BTC" in bot.currencies
    # market data went out unsigned
    info = harness.records(stack, "/v5/market/instruments-info")
    assert info and all(r["verified"] and "x-bapi-sign" not in r["headers"] for r in info)
    assert all("x-bapi-api-key" not in r["headers"] for r in info)


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/v5/account/wallet-balance")[-1])
    assert_resigned(stack, harness.records(stack, "/v5/user/query-api")[-1])


def test_key_echoed_by_query_api_never_reaches_the_bot(stack, markets):
    # Bybit's query-api answer carries the real API key; keyward redacts it.
    status, body = stack.request("GET", "/v5/user/query-api")
    assert status == 200, body
    assert stack.api_key not in body
    assert json.loads(body)["result"]["apiKey"] == "REDACTED-BY-KEYWARD"
    # The mock did answer with the real key (so the redaction is what kept it out).
    rec = harness.records(stack, "/v5/user/query-api")[-1]
    assert rec["headers"]["x-bapi-api-key"] == stack.api_key


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"]
    rec = harness.records(stack, "/v5/order/create", "POST")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert (p["category"], p["symbol"], p["side"], p["orderType"]) == ("spot", "BTCUSDT", "Buy", "Limit")
    assert float(p["qty"]) == 0.01 and float(p["price"]) == 30000
    assert rec["status"] == 200

    assert [o["id"] for o in bot.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert_resigned(stack, harness.records(stack, "/v5/order/realtime", "GET")[-1])

    cancelled = bot.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["id"] == order["id"]
    rec = harness.records(stack, "/v5/order/cancel", "POST")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["orderId"] == order["id"] and rec["status"] == 200
    assert bot.fetch_open_orders("BTC/USDT") == []


def test_withdraw_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, params={"network": "ETH"}))
    harness.assert_no_path_reached(stack, "withdraw")


def test_transfer_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.transfer("USDT", 10, "spot", "swap"))
    harness.assert_no_path_reached(stack, "transfer")


def test_key_management_refused(stack, markets):
    harness.assert_posts_refused(stack, (
        "/v5/user/create-sub-api", "/v5/user/update-api", "/v5/user/delete-api",
        "/v5/broker/award/distribute-award"
    ))


def test_json_numbers_kept_exactly(stack, markets):
    body = ('{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",'
            '"qty":0.010,"price":30000.0,"timeInForce":"GTC"}')
    status, text = stack.request("POST", "/v5/order/create", body=body,
                                 headers={"Content-Type": "application/json"})
    assert status == 200, text
    rec = harness.records(stack, "/v5/order/create", "POST")[-1]
    assert rec["verified"] is True and rec["body"] == body


def test_duplicate_json_key_refused(stack, markets):
    with harness.mock_untouched(stack):
        body = '{"category":"spot","symbol":"BTCUSDT","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1"}'
        status, text = stack.request("POST", "/v5/order/create", body=body,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, text


def test_unknown_client_token_refused(stack, markets):
    other = ccxt.bybit({"apiKey": "not-a-client-token", "secret": harness.DUMMY_SECRET,
                        "enableRateLimit": False})
    harness.repoint_ccxt(other, stack.base)
    harness.record_status(other)
    other.options["enableUnifiedAccount"] = True
    other.options["enableUnifiedMargin"] = False
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.AuthenticationError) as ei:
            other.fetch_balance()
        assert other.last_status == 401, str(ei.value)


def test_every_forwarded_request_verified(stack, markets, bot):
    harness.assert_all_verified(stack)


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    assert stack.audit_text().strip()
    harness.assert_absent(harness.outputs(stack), (("secret", stack.secret), ("API key", stack.api_key),
                                                   ("client token", stack.token), ("PIN", stack.pin)))
    audit = stack.audit_text()
    assert "withdraw" in audit and "hard_deny" in audit
