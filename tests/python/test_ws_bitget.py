"""Bitget v2 sockets through keyward: ccxt pro `watch_orders` and `watch_balance` with a dummy
secret and passphrase (ccxt pro has no Bitget order entry over the socket); keyward rewrites the
bot's `login` with the real key, passphrase and signature and judges each private channel as
its REST read. The WebSocket mock verifies the login with the real secret."""

import asyncio
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

PASSPHRASE = "Real-Pass-7b2c"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-bitget"), exchange="bitget",
                                     passphrase=PASSPHRASE, key_header="ACCESS-KEY", ws_mock=True)


def ws_url(stack, path):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}{path}"


def test_watch_orders_and_balance(stack):
    async def scenario():
        ex = ccxtpro.bitget({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                             "password": "dummy-passphrase", "enableRateLimit": False, "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["ws"]["private"] = ws_url(stack, "/v2/ws/private")
        ex.urls["api"]["ws"]["public"] = ws_url(stack, "/v2/ws/public")
        try:
            await ex.load_markets()
            orders = await asyncio.wait_for(ex.watch_orders("BTC/USDT"), 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            return orders, balance
        finally:
            await ex.close()

    orders, balance = asyncio.new_event_loop().run_until_complete(scenario())
    assert orders and orders[0]["clientOrderId"] == "pushed-by-mock", orders
    assert balance["USDT"]["free"] == 1234.5, balance
    frames = stack.ws.frames()
    logins = [json.loads(f["frame"]) for f in frames if f["op"] == "login"]
    assert logins and logins[0]["args"][0]["apiKey"] == stack.api_key
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"] and harness.DUMMY_SECRET not in f["frame"]
        assert "dummy-passphrase" not in f["frame"]


def test_order_entry_and_unknown_channels_close_the_socket(stack):
    for frame in ({"op": "trade", "args": [{"channel": "place-order", "instId": "BTCUSDT"}]},
                  {"op": "subscribe", "args": [{"instType": "SPOT", "channel": "withdraw"}]}):
        n = len(stack.ws.frames())
        with connect(ws_url(stack, "/v2/ws/private"), compression=None, open_timeout=10,
                     additional_headers={"ACCESS-KEY": stack.token}) as sock:
            sock.send(json.dumps(frame))
            with pytest.raises(websockets.ConnectionClosed) as ei:
                sock.recv(timeout=10)
            assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n


def test_audit_chain_verifies(stack):
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real API key", stack.api_key), ("secret", stack.secret),
                                                   ("passphrase", PASSPHRASE)])
