"""An unmodified python-binance bot through keyward (dummy secret, client token as API key).

python-binance signs differently from ccxt (parameters sorted, signature last, POST and DELETE
parameters as form data): a second independent client for keyward's canonicaliser and signer.
Spot and USD-M futures (/fapi)."""

import pytest

import harness

binance_client = pytest.importorskip("binance.client")
binance_exceptions = pytest.importorskip("binance.exceptions")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The default stack, with USD-M/COIN-M futures trading allowed (binance:futures-trade)."""
    s = harness.Stack(tmp_path_factory.mktemp("keyward-python-binance"))
    s.client_allow = s.default_allow() + '  "binance:futures-trade",\n'
    yield from harness.running(s)


@pytest.fixture(scope="module")
def client(stack):
    c = binance_client.Client(stack.token, harness.DUMMY_SECRET, ping=False)
    base = f"http://127.0.0.1:{stack.port}/{harness.CREDENTIAL}"
    c.API_URL = base + "/api"
    c.MARGIN_API_URL = base + "/sapi"
    c.FUTURES_URL = base + "/fapi"
    c.FUTURES_COIN_URL = base + "/dapi"
    return c


def last(stack, path, method):
    recs = [r for r in stack.mock.records() if r["path"] == path and r["method"] == method]
    assert recs, f"{method} {path} never reached the exchange"
    return recs[-1]


def test_public_and_signed_reads(stack, client):
    assert client.get_server_time()["serverTime"] > 0
    info = client.get_exchange_info()
    assert {s["symbol"] for s in info["symbols"]} >= {"BTCUSDT", "ETHUSDT"}
    acct = client.get_account()
    assert any(b["asset"] == "USDT" for b in acct["balances"])
    rec = last(stack, "/api/v3/account", "GET")
    assert rec["verified"] is True and rec["headers"]["x-mbx-apikey"] == stack.api_key


def test_order_round_trip(stack, client):
    order = client.create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                quantity="0.02", price="29000")
    rec = last(stack, "/api/v3/order", "POST")
    assert rec["verified"] is True and rec["headers"]["x-mbx-apikey"] == stack.api_key
    assert rec["params"]["quantity"] == "0.02" and rec["params"]["price"] == "29000"
    assert stack.token not in rec["query"] + rec["body"] + repr(rec["headers"])
    opened = client.get_open_orders(symbol="BTCUSDT")
    assert order["orderId"] in [o["orderId"] for o in opened]
    client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert last(stack, "/api/v3/order", "DELETE")["verified"] is True


def test_listen_key_is_key_only(stack, client):
    key = client.stream_get_listen_key()
    # the bot gets a placeholder of its own; the real key reads the account around keyward
    assert isinstance(key, str) and key.startswith("keyward-") and "REALLK" not in key
    rec = last(stack, "/api/v3/userDataStream", "POST")
    assert rec["verified"] is True and rec["headers"]["x-mbx-apikey"] == stack.api_key
    assert "signature" not in rec["query"] + rec["body"]


def test_withdraw_and_transfer_refused(stack, client):
    with harness.mock_untouched(stack, "a refused request reached the exchange"):
        with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
            client.withdraw(coin="USDT", address="0x" + "34" * 20, amount="50", network="ETH")
        assert ei.value.status_code == 403
        with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
            client.universal_transfer(type="MAIN_UMFUTURE", asset="USDT", amount="10")
        assert ei.value.status_code == 403


def assert_resigned(stack, rec):
    assert rec["verified"] is True, rec
    assert rec["headers"]["x-mbx-apikey"] == stack.api_key
    blob = rec["query"] + rec["body"] + repr(rec["headers"])
    assert stack.token not in blob, "the client token leaked upstream"
    assert (rec["query"] + "&" + rec["body"]).count("signature=") == 1


def test_futures_account_balance(stack, client):
    balances = client.futures_account_balance()
    usdt = [b for b in balances if b["asset"] == "USDT"]
    assert usdt and usdt[0]["availableBalance"] == "10000.00000000"
    assert_resigned(stack, last(stack, "/fapi/v3/balance", "GET"))


def test_futures_order_round_trip(stack, client):
    order = client.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT",
                                        timeInForce="GTC", quantity="0.005", price="29000.5")
    assert order["status"] == "NEW" and order["positionSide"] == "BOTH"
    rec = last(stack, "/fapi/v1/order", "POST")
    assert_resigned(stack, rec)
    p = rec["params"]
    assert (p["symbol"], p["side"], p["type"], p["quantity"], p["price"]) == \
        ("BTCUSDT", "BUY", "LIMIT", "0.005", "29000.5")
    # python-binance's own client order id (its broker prefix) goes through unchanged
    assert p["newClientOrderId"] == order["clientOrderId"]
    assert rec["body"] and "signature=" in rec["body"], "python-binance sends futures orders as form bodies"

    opened = client.futures_get_open_orders(symbol="BTCUSDT")
    assert order["orderId"] in [o["orderId"] for o in opened]
    assert_resigned(stack, last(stack, "/fapi/v1/openOrders", "GET"))

    cancelled = client.futures_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert cancelled["status"] == "CANCELED" and cancelled["orderId"] == order["orderId"]
    rec = last(stack, "/fapi/v1/order", "DELETE")
    assert_resigned(stack, rec)
    assert rec["params"]["orderId"] == str(order["orderId"])
    assert rec["status"] == 200


def test_futures_conditional_order_round_trip(stack, client):
    """python-binance routes STOP/TAKE_PROFIT orders to /fapi/v1/algoOrder (in the preset)."""
    algo = client.futures_create_order(symbol="BTCUSDT", side="SELL", type="STOP_MARKET",
                                       quantity="0.005", stopPrice="25000")
    rec = last(stack, "/fapi/v1/algoOrder", "POST")
    assert_resigned(stack, rec)
    assert rec["params"]["triggerPrice"] == "25000" and rec["params"]["algoType"] == "CONDITIONAL"
    out = client.futures_cancel_order(symbol="BTCUSDT", algoId=algo["algoId"])
    assert out["algoId"] == algo["algoId"]
    assert_resigned(stack, last(stack, "/fapi/v1/algoOrder", "DELETE"))


def test_futures_order_on_unknown_order_is_the_exchanges_error(stack, client):
    with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
        client.futures_cancel_order(symbol="BTCUSDT", orderId=1)
    assert ei.value.code == -2011  # Binance's answer, forwarded: the request itself was valid
    assert last(stack, "/fapi/v1/order", "DELETE")["verified"] is True


def test_futures_not_allowed_without_preset(tmp_path_factory):
    """The default allowlist (no futures preset) refuses a futures order before the exchange."""
    s = harness.Stack(tmp_path_factory.mktemp("keyward-no-futures"))
    try:
        s.start()
        c = binance_client.Client(s.token, harness.DUMMY_SECRET, ping=False)
        c.FUTURES_URL = f"http://127.0.0.1:{s.port}/{harness.CREDENTIAL}/fapi"
        with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
            c.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                   quantity="0.005", price="29000")
        assert ei.value.status_code == 403
        assert not [r for r in s.mock.records() if r["path"].startswith("/fapi/v1/order")]
    finally:
        s.stop()


def test_every_forwarded_request_verified(stack, client):
    recs = stack.mock.records()
    assert recs
    assert not [r for r in recs if not r["verified"]], "the mock exchange rejected a forwarded request"
