"""KuCoin's private push through keyward: the REST `bullet-private` answer carries a placeholder
token of the bot's own and keyward's own endpoint (`/<credential>/kucoin-push/<push host>`, at
the Host the bot used); ccxt pro `watch_orders` and `watch_balance` connect there and keyward
swaps the real token into the upstream URL, which the WebSocket mock checks. The real token
never reaches the bot."""

import asyncio
import json
from urllib.parse import parse_qs

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

SPOT_KEYS = ("public", "private", "earn", "uta", "utaV2", "utaPrivate", "webExchange", "broker")
FUTURES_KEYS = ("futuresPublic", "futuresPrivate")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-kucoin"), exchange="kucoin",
                                     api_key="65f1a2b3c4d5e6f708091a2b",
                                     secret="f03a5284-5c39-4aaa-9b20-dea10bdcf8e3",
                                     passphrase="real-Passphrase-7", key_header="KC-API-KEY",
                                     client_allow='  "kucoin:read",\n', ws_mock=True)


def pro_bot(stack, cls):
    ex = cls({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                         "password": "dummy-passphrase", "enableRateLimit": False, "timeout": 30000})
    base = f"http://127.0.0.1:{stack.port}/{stack.credential}"
    for k in SPOT_KEYS:
        ex.urls["api"][k] = base
    for k in FUTURES_KEYS:
        ex.urls["api"][k] = base + "/futures"
    return ex


def streams(stack, cls):
    """ccxt pro `watch_orders` and `watch_balance` of a `cls` bot through keyward."""
    async def scenario():
        ex = pro_bot(stack, cls)
        try:
            await ex.load_markets()
            orders = await asyncio.wait_for(ex.watch_orders(), 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            return orders, balance
        finally:
            await ex.close()

    return asyncio.new_event_loop().run_until_complete(scenario())


def bullet(stack, path="/api/v1/bullet-private"):
    status, text = stack.request("POST", path, body="", headers={"Content-Type": "application/json"})
    assert status == 200, text
    return text


def test_bullet_private_is_rewritten_and_ccxt_pro_streams_work(stack):
    orders, balance = streams(stack, ccxtpro.kucoin)
    assert orders and orders[0]["id"] == "mock-777", orders
    assert balance["USDT"]["total"] == 1234.5, balance
    tokens = stack.ws.frames("token")
    assert tokens and all(f["verified"] for f in tokens), tokens
    assert all(parse_qs(f["frame"])["token"][0].startswith("REAL-KUCOIN-WS-spot-") for f in tokens), tokens
    subs = stack.ws.frames("subscribe")
    assert {json.loads(f["frame"])["topic"] for f in subs} >= {"/spotMarket/tradeOrders", "/account/balance"}

    for path, host in (("/api/v1/bullet-private", "ws-api-spot.kucoin.com"),
                       ("/futures/api/v1/bullet-private", "ws-api-futures.kucoin.com")):
        text = bullet(stack, path)
        data = json.loads(text)["data"]
        assert data["token"].startswith("keyward-") and "REAL-KUCOIN-WS" not in text, text
        assert data["instanceServers"][0]["endpoint"] == \
            f"ws://127.0.0.1:{stack.port}/{stack.credential}/kucoin-push/{host}", text
    harness.assert_absent(harness.outputs(stack), [("real ws token", "REAL-KUCOIN-WS-"),
                                                   ("secret", stack.secret)])


def test_ccxt_pro_kucoinfutures_streams_through_the_futures_push_host(stack):
    n = len(stack.ws.frames("token"))

    orders, balance = streams(stack, ccxtpro.kucoinfutures)
    assert orders and orders[0]["id"] == "mock-888" and orders[0]["symbol"] == "BTC/USDT:USDT", orders
    assert balance["USDT"]["free"] == 4321.5, balance
    tokens = stack.ws.frames("token")[n:]
    assert tokens and all(f["verified"] for f in tokens), tokens
    assert all(parse_qs(f["frame"])["token"][0].startswith("REAL-KUCOIN-WS-futures-") for f in tokens)
    topics = {json.loads(f["frame"])["topic"] for f in stack.ws.frames("subscribe")}
    assert {"/contractMarket/tradeOrders", "/contractAccount/wallet"} <= topics, topics
    decided = [r for r in stack.audit_records() if r.get("event") == "frame" and r.get("op") == "subscribe"]
    assert {"/futures/api/v1/orders", "/futures/api/v1/account-overview"} <= {r.get("path") for r in decided}


def test_unknown_tokens_and_topics_are_refused(stack):
    base = f"ws://127.0.0.1:{stack.port}/{stack.credential}/kucoin-push/ws-api-spot.kucoin.com"
    n = len(stack.ws.records())
    for query in ("token=REAL-KUCOIN-WS-guess", "token=keyward-00", "connectId=x"):
        with pytest.raises(websockets.InvalidStatus):
            connect(base + "?" + query, compression=None, open_timeout=10)
    with pytest.raises(websockets.InvalidStatus):
        connect(f"ws://127.0.0.1:{stack.port}/{stack.credential}/kucoin-push/evil.example.com?token=x",
                compression=None, open_timeout=10)
    assert len(stack.ws.records()) == n, "a refused upgrade reached the mock"

    token = json.loads(bullet(stack))["data"]["token"]
    with connect(f"{base}?token={token}&connectId=raw", compression=None, open_timeout=10) as sock:
        assert json.loads(sock.recv(timeout=10))["type"] == "welcome"
        sock.send(json.dumps({"id": "1", "type": "ping"}))
        assert json.loads(sock.recv(timeout=10))["type"] == "pong"
        n = len(stack.ws.frames())
        sock.send(json.dumps({"id": "2", "type": "subscribe", "topic": "/contractAccount/wallet",
                              "response": True}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            while True:
                sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n, "a futures topic on the spot socket reached the mock"
    stack.run("audit", "verify", str(stack.audit_file))
