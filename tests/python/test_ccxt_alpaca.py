"""An unmodified ccxt alpaca bot, with the client token as its key id and a dummy secret key,
through keyward to a mock Alpaca. keyward drops the bot's APCA-API-SECRET-KEY and injects the
sealed key id and secret; the trading and data hosts get keyward prefixes /trading and /data.
"""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")

KEY_ID = "AKZ4PQ7N3XK2M5VB8RTY"
SECRET_KEY = "wq8Lr2Vt9Yp4Hk7Nc3Xb6Zm1Fd5Gs0Jq2Ae8Tu4Ri"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("alpaca"), exchange="alpaca", api_key=KEY_ID, secret=SECRET_KEY,
                                     key_header="APCA-API-KEY-ID")


def alpaca_bot(stack, key):
    ex = ccxt.alpaca({"apiKey": key, "secret": harness.DUMMY_SECRET, "enableRateLimit": False, "timeout": 30000})
    # keyward's per-host prefixes: the trading and data APIs both use /v2 paths
    ex.urls["api"] = {"trader": stack.base + "/trading", "market": stack.base + "/data",
                      "broker": stack.base + "/broker"}
    return ex


@pytest.fixture(scope="module")
def bot(stack):
    return alpaca_bot(stack, stack.token)


@pytest.fixture(scope="module")
def markets(bot):
    return bot.load_markets()


def assert_rekeyed(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["headers"]["apca-api-key-id"] == KEY_ID
    assert rec["headers"]["apca-api-secret-key"] == SECRET_KEY
    blob = rec["query"] + rec["body"] + json.dumps(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"
    assert harness.DUMMY_SECRET not in blob, "the bot's dummy secret key leaked upstream"


def test_load_markets(stack, markets):
    assert "BTC/USD" in markets and markets["BTC/USD"]["spot"] is True
    rec = harness.records(stack, "/v2/assets")[-1]
    assert_rekeyed(stack, rec)
    assert "asset_class=crypto" in rec["query"]


def test_fetch_balance(stack, markets, bot):
    bal = bot.fetch_balance()
    assert bal["USD"]["free"] == 25000 and bal["BTC"]["total"] == 1.25
    assert_rekeyed(stack, harness.records(stack, "/v2/account")[-1])
    assert_rekeyed(stack, harness.records(stack, "/v2/positions")[-1])


def test_public_crypto_data_unsigned(stack, markets, bot):
    bot.fetch_order_book("BTC/USD")
    rec = harness.records(stack)[-1]
    assert rec["path"].startswith("/v1beta3/crypto/") and rec["verified"]
    assert "apca-api-key-id" not in rec["headers"] and "apca-api-secret-key" not in rec["headers"]


def test_create_and_cancel_order(stack, markets, bot):
    order = bot.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
    assert order["id"] and order["status"] == "open"
    rec = harness.records(stack, "/v2/orders", "POST")[-1]
    assert_rekeyed(stack, rec)
    body = json.loads(rec["body"])
    assert body["symbol"] == "BTC/USD" and body["side"] == "buy" and body["type"] == "limit"
    assert float(body["qty"]) == 0.01 and float(body["limit_price"]) == 30000
    cancelled = bot.cancel_order(order["id"], "BTC/USD")
    assert cancelled["status"] == "canceled"
    rec = harness.records(stack, f"/v2/orders/{order['id']}", "DELETE")[-1]
    assert_rekeyed(stack, rec)
    assert rec["status"] == 200


def test_edit_order_is_a_keyed_patch(stack, markets, bot):
    """ccxt's edit_order replaces an order with PATCH /v2/orders/{id} (JSON body)."""
    order = bot.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
    edited = bot.edit_order(order["id"], "BTC/USD", "limit", "buy", 0.02, 31000)
    assert edited["id"] and edited["id"] != order["id"]
    assert edited["amount"] == 0.02 and edited["price"] == 31000
    rec = harness.records(stack, f"/v2/orders/{order['id']}", "PATCH")[-1]
    assert_rekeyed(stack, rec)
    assert rec["status"] == 200
    body = json.loads(rec["body"])
    assert float(body["qty"]) == 0.02 and float(body["limit_price"]) == 31000
    assert rec["query"] == ""
    cancelled = bot.cancel_order(edited["id"], "BTC/USD")
    assert cancelled["status"] == "canceled"


def test_order_by_client_order_id_path_with_colon(stack, markets, bot):
    order = bot.create_order("BTC/USD", "limit", "buy", 0.01, 30000, {"clientOrderId": "kw-colon-1"})
    status, text = stack.request("GET", "/trading/v2/orders:by_client_order_id?client_order_id=kw-colon-1")
    assert status == 200, text
    assert json.loads(text)["id"] == order["id"]
    rec = harness.records(stack, "/v2/orders:by_client_order_id", "GET")[-1]
    assert_rekeyed(stack, rec)
    assert rec["query"] == "client_order_id=kw-colon-1"


def test_colon_and_patch_refusals_never_forwarded(stack, markets):
    with harness.mock_untouched(stack):
        cases = (
            # account settings: Alpaca changes them with PATCH; hard-denied
            ("PATCH", "/trading/v2/account/configurations", '{"no_shorting":true}', 403, "hard_deny"),
            # ':' is matched literally: an order id holding one is no order id, and an encoded
            # ':' is refused like any '%'
            ("DELETE", "/trading/v2/orders/abc:cancel", None, 403, "not_allowed"),
            ("PATCH", "/trading/v2/orders/abc:x", '{"qty":"1"}', 403, "not_allowed"),
            ("GET", "/trading/v2/orders%3Aby_client_order_id?client_order_id=x", None, 400, "bad_path"),
            ("GET", "/trading/v2/orders:BY_CLIENT_ORDER_ID?client_order_id=x", None, 403, "not_allowed"),
            ("GET", "/trading:v2/orders", None, 404, "not_found"),
        )
        for method, path, body, want, code in cases:
            hdrs = {"Content-Type": "application/json"} if body else {}
            status, text = stack.request(method, path, body=body, headers=hdrs)
            assert status == want and code in text, (method, path, status, text)


def test_withdraw_refused(stack, markets, bot):
    with harness.mock_untouched(stack):
        harness.expect_403_or_hard_deny(lambda: bot.withdraw("BTC", 0.1, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"))


def test_transfer_refused(stack, markets, bot):
    # ccxt's alpaca class has no transfer(): the Trading API's only way to move funds out is a
    # wallet transfer; try it (and an address whitelist change) raw, as a bot could.
    assert not bot.has["transfer"]
    with harness.mock_untouched(stack):
        for method, path, body in (("POST", "/trading/v2/wallets/transfers", {"asset": "USDC", "amount": "10", "address": "0x" + "12" * 20}),
                                   ("POST", "/trading/v2/wallets/whitelists", {"address": "0x" + "12" * 20, "asset": "USDC"}),
                                   ("POST", "/trading/v2/tokenization/requests", {"type": "redeem"})):
            status, text = stack.request(method, path, body=json.dumps(body), headers={"Content-Type": "application/json"})
            assert status == 403 and "hard_deny" in text, (path, status, text)


def test_unprefixed_and_broker_paths_refused(stack, markets):
    with harness.mock_untouched(stack):
        for path in ("/v2/account", "/broker/v1/accounts", "/trading"):
            status, _ = stack.request("GET", path)
            assert status == 404, path


def test_unknown_client_token_refused(stack, markets):
    other = alpaca_bot(stack, "kwt_nope")
    with harness.mock_untouched(stack):
        with pytest.raises(ccxt.BaseError) as ei:
            other.fetch_balance()
        assert "401" in str(ei.value) or "unknown_client" in str(ei.value), str(ei.value)


def test_every_forwarded_request_verified(stack, markets, bot):
    recs = stack.mock.records()
    assert recs and not [r for r in recs if not r["verified"]]


def test_no_secret_in_logs_or_audit(stack, markets, bot):
    bot.fetch_balance()
    for label, text in (("keyward log", stack.log_text()), ("audit log", stack.audit_text())):
        assert SECRET_KEY not in text, f"the secret key appears in the {label}"
        assert KEY_ID not in text, f"the key id appears in the {label}"
        assert stack.token not in text, f"the client token appears in the {label}"
    assert SECRET_KEY not in stack.check.stdout + stack.check.stderr
