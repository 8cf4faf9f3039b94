"""Coinbase Advanced Trade socket through keyward: ccxt pro `watch_orders` (the `user` channel)
with a throwaway key whose key name is the client token; keyward drops the bot's JWT and signs
its own (ES256, no `uri` claim) with the real key, which the WebSocket mock verifies."""

import asyncio
import json

import pytest

import harness
from test_ccxt_coinbase import KEY_NAME, ec_key_pem

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    secret, public = ec_key_pem()
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-coinbase"), exchange="coinbase",
                                     api_key=KEY_NAME, secret=secret,
                                     mock_credentials={KEY_NAME: {"public_key": public}},
                                     key_header="CB-ACCESS-KEY", ws_mock=True)


def ws_url(stack):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws"


def test_watch_orders_with_keywards_jwt(stack):
    dummy, _ = ec_key_pem()

    async def scenario():
        ex = ccxtpro.coinbase({"apiKey": stack.token, "secret": dummy, "enableRateLimit": False,
                               "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["ws"] = ws_url(stack)
        try:
            await ex.load_markets()
            return await asyncio.wait_for(ex.watch_orders("BTC/USD"), 20)
        finally:
            await ex.close()

    orders = asyncio.new_event_loop().run_until_complete(scenario())
    assert orders and orders[0]["id"] == "cb-777", orders
    frames = stack.ws.frames()
    assert [f for f in frames if f["op"] == "subscribe user"]
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"]


def test_unknown_channels_and_no_token_are_refused(stack):
    with connect(ws_url(stack), compression=None, open_timeout=10) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "user"}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["type"] == "error" and "client_token_required" in answer["message"], answer
        sock.send(json.dumps({"type": "subscribe", "channel": "transfers"}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n
    stack.run("audit", "verify", str(stack.audit_file))
