"""An unmodified python-binance bot through keyward (dummy secret, client token as API key).

python-binance signs differently from ccxt (parameters sorted, signature last, POST bodies as
form data): a second independent client for keyward's canonicaliser and signer."""

import pytest

import harness

binance_client = pytest.importorskip("binance.client")
binance_exceptions = pytest.importorskip("binance.exceptions")


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
    assert isinstance(key, str) and len(key) == 60
    rec = last(stack, "/api/v3/userDataStream", "POST")
    assert rec["verified"] is True and rec["headers"]["x-mbx-apikey"] == stack.api_key
    assert "signature" not in rec["query"] + rec["body"]


def test_withdraw_and_transfer_refused(stack, client):
    n = len(stack.mock.records())
    with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
        client.withdraw(coin="USDT", address="0x" + "34" * 20, amount="50", network="ETH")
    assert ei.value.status_code == 403
    with pytest.raises(binance_exceptions.BinanceAPIException) as ei:
        client.universal_transfer(type="MAIN_UMFUTURE", asset="USDT", amount="10")
    assert ei.value.status_code == 403
    assert len(stack.mock.records()) == n, "a refused request reached the exchange"
