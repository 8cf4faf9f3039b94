"""An unmodified ccxt bitget bot with dummy credentials, through keyward, to the Bitget v2 mock.

The bot's API key is its keyward client token; its secret and passphrase are dummies. keyward
drops the bot's ACCESS-* headers and ccxt's X-CHANNEL-API-CODE broker header, re-signs with the
sealed key, secret and passphrase, and the mock (scripts/mocks/bitget.py) verifies the signature
over the exact bytes it received.
"""

import base64
import hashlib
import hmac
import json
import urllib.parse

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

EXCHANGE = "bitget"
PASSPHRASE = "RealBitgetPass42"
DUMMY_PASSPHRASE = "dummy-passphrase"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("keyward-bitget"), exchange=EXCHANGE,
                                     passphrase=PASSPHRASE, key_header="ACCESS-KEY")


@pytest.fixture(scope="module")
def bot(stack):
    # spot, mix, margin, common, uta, ... : one host
    return harness.record_status(harness.ccxt_bot(ccxt.bitget, stack, password=DUMMY_PASSPHRASE))


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def assert_resigned(stack, rec):
    """Verified upstream with the real key and passphrase; nothing of the bot's own auth."""
    assert rec["verified"] is True, rec
    h = rec["headers"]
    assert h.get("access-key") == stack.api_key, "upstream must carry the real API key"
    assert h.get("access-passphrase") == PASSPHRASE
    assert "x-channel-api-code" not in h, "ccxt's broker header reached the exchange"
    blob = rec["query"] + rec["body"] + json.dumps(h)
    for leaked in (stack.token, harness.DUMMY_SECRET, DUMMY_PASSPHRASE):
        assert leaked not in blob, f"{leaked!r} reached the exchange"
    q = urllib.parse.unquote(rec["query"])
    prehash = h["access-timestamp"] + rec["method"] + rec["path"] + ("?" + q if q else "") + rec["body"]
    dummy = base64.b64encode(hmac.new(harness.DUMMY_SECRET.encode(), prehash.encode(),
                                      hashlib.sha256).digest()).decode()
    assert h["access-sign"] != dummy


def test_load_markets(stack, markets, bot):
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"} <= set(markets)
    assert markets["BTC/USDT"]["spot"] is True and markets["BTC/USDT"]["precision"]["price"] == 0.01
    assert markets["BTC/USDT:USDT"]["linear"] is True and markets["BTC/USD:BTC"]["inverse"] is True
    assert "BTC" in bot.currencies
    # ccxt's unified-account probe was allowed by bitget:read, re-signed and verified
    assert_resigned(stack, harness.records(stack, "/api/v3/account/settings")[-1])
    pub = harness.records(stack, "/api/v2/mix/market/contracts") + harness.records(stack, "/api/v2/spot/public/symbols")
    assert pub and all(r["verified"] for r in pub)
    assert not [r for r in pub if any(k.startswith("access-") for k in r["headers"])]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USDT"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_resigned(stack, harness.records(stack, "/api/v2/spot/account/assets")[-1])


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USDT", "limit", "buy", 0.01, 30000)
    assert order["id"]
    rec = harness.records(stack, "/api/v2/spot/trade/place-order", "POST")[-1]
    assert_resigned(stack, rec)
    p = rec["params"]
    assert (p["symbol"], p["side"], p["orderType"]) == ("BTCUSDT", "buy", "limit")
    assert float(p["size"]) == 0.01 and float(p["price"]) == 30000

    assert [o["id"] for o in bot.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert_resigned(stack, harness.records(stack, "/api/v2/spot/trade/unfilled-orders", "GET")[-1])

    bot.cancel_order(order["id"], "BTC/USDT")
    rec = harness.records(stack, "/api/v2/spot/trade/cancel-order", "POST")[-1]
    assert_resigned(stack, rec)
    assert rec["params"]["orderId"] == order["id"] and rec["status"] == 200
    assert bot.fetch_open_orders("BTC/USDT") == []


def test_query_with_reserved_characters(stack, markets):
    # the URL carries %2C, the signature covers the decoded ',' (as Bitget verifies)
    status, text = stack.request("GET", "/api/v2/spot/trade/unfilled-orders?symbol=BTCUSDT&tpslType=normal%2Ctpsl")
    assert status == 200, text
    rec = harness.records(stack, "/api/v2/spot/trade/unfilled-orders", "GET")[-1]
    assert rec["verified"] is True and rec["query"] == "symbol=BTCUSDT&tpslType=normal%2Ctpsl"


def test_json_numbers_kept_exactly(stack, markets):
    body = '{"symbol":"BTCUSDT","side":"sell","orderType":"limit","force":"gtc","size":0.0100,"price":31000.0}'
    status, text = stack.request("POST", "/api/v2/spot/trade/place-order", body=body,
                                 headers={"Content-Type": "application/json"})
    assert status == 200, text
    rec = harness.records(stack, "/api/v2/spot/trade/place-order", "POST")[-1]
    assert rec["verified"] is True and rec["body"] == body


def test_withdraw_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.withdraw("USDT", 100, "0x" + "12" * 20, params={"network": "ERC20"}))
    harness.assert_no_path_reached(stack, "withdraw")


def test_transfer_refused(stack, markets, bot):
    harness.expect_403(bot, lambda: bot.transfer("USDT", 10, "spot", "swap"))
    harness.assert_no_path_reached(stack, "transfer")


def test_key_and_subaccount_management_refused(stack, markets):
    harness.assert_posts_refused(stack, (
        "/api/v2/user/create-virtual-subaccount-apikey", "/api/v2/user/modify-virtual-subaccount",
        "/api/v2/broker/manage/create-subaccount-apikey",
        "/api/v2/spot/wallet/modify-deposit-account", "/api/v3/user/create-sub-api",
        "/api/v3/p2p/order-release"
    ))


def test_unknown_client_token_refused(stack, markets):
    other = harness.record_status(ccxt.bitget({"apiKey": "not-a-client-token", "secret": harness.DUMMY_SECRET,
                                       "password": DUMMY_PASSPHRASE, "enableRateLimit": False}))
    harness.repoint_ccxt(other, stack.base)
    other.options["uta"] = False
    other.load_markets()  # public market data needs no token
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
