"""Binance streams through keyward: USD-M futures user data (a listen key in the socket URL) and
market streams. The REST listen key answer carries only a placeholder of the bot's own (a real
listen key reads the account's orders and balances around keyward); keyward puts the real key
in the upstream URL, which the WebSocket mock checks, and never shows it to the bot."""

import asyncio
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-binance-streams"), ws_mock=True)


def ws_url(stack, path):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}{path}"


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def listen_key(stack):
    status, text = stack.request("POST", "/fapi/v1/listenKey")
    assert status == 200, text
    return json.loads(text)["listenKey"], text


def test_ccxt_pro_usdm_user_data_and_public_trades(stack):
    async def scenario():
        ex = ccxtpro.binanceusdm({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                                  "enableRateLimit": False, "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["ws"]["linear"] = ws_url(stack, "/fstream/ws")
        try:
            await ex.load_markets()
            orders = await asyncio.wait_for(ex.watch_orders(), 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            trades = await asyncio.wait_for(ex.watch_trades("BTC/USDT:USDT"), 20)
            return orders, balance, trades
        finally:
            await ex.close()

    orders, balance, trades = run(scenario())
    assert orders and orders[0]["clientOrderId"] == "pushed-by-mock", orders
    assert balance["USDT"]["total"] == 1234.5, balance
    assert trades and trades[0]["price"] == 30000.1, trades
    keyed = stack.ws.frames("listenKey")
    assert keyed and all(f["verified"] for f in keyed), keyed
    assert any(r["path"].startswith("/private/ws?listenKey=REALLK") for r in stack.ws.records()
               if r["op"] == "connect")
    subs = stack.ws.frames("SUBSCRIBE")
    assert any("btcusdt@trade" in f["frame"] for f in subs), subs


def test_listen_key_is_a_placeholder_everywhere_the_bot_looks(stack):
    placeholder, text = listen_key(stack)
    assert placeholder.startswith("keyward-") and "REALLK" not in text
    # the keepalive answer names the same placeholder
    status, text = stack.request("PUT", "/fapi/v1/listenKey")
    assert status == 200 and json.loads(text)["listenKey"] == placeholder, text
    with connect(ws_url(stack, f"/fstream/ws/{placeholder}"), compression=None, open_timeout=10) as ws:
        seen = [ws.recv(timeout=10) for _ in range(3)]
    echo = [json.loads(f) for f in seen if "mockListenKeyEcho" in f]
    assert echo and echo[0]["listenKey"] == placeholder, seen
    assert not any("REALLK" in f for f in seen), seen
    assert any(r["path"].startswith("/ws/REALLK") for r in stack.ws.records() if r["op"] == "connect")
    harness.assert_absent(harness.outputs(stack), [("real listen key", "REALLK"),
                                                   ("secret", stack.secret)])


def test_guessed_listen_keys_and_private_streams_are_refused(stack):
    def connects():
        return [r for r in stack.ws.records() if r["op"] == "connect"]
    n = len(connects())
    for path in ("/fstream/ws/keyward-00000000000000000000000000000000",
                 "/fstream/private/ws?listenKey=REALLKguess",
                 "/fstream/private/ws",
                 "/ws?streams=btcusdt@trade"):
        with pytest.raises(websockets.InvalidStatus) as ei:
            connect(ws_url(stack, path), compression=None, open_timeout=10)
        assert ei.value.response.status_code in (400, 401), (path, ei.value.response.status_code)
    assert len(connects()) == n, "a refused upgrade reached the mock"
    with connect(ws_url(stack, "/ws/multipleTrades"), compression=None, open_timeout=10) as ws:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}))
        assert json.loads(ws.recv(timeout=10)) == {"result": None, "id": 1}
        # a stream name without '@' (a listen key) closes the socket
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["REALLKabc"], "id": 2}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            while True:
                ws.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
    assert not any("REALLKabc" in f["frame"] for f in stack.ws.frames())
    stack.run("audit", "verify", str(stack.audit_file))
