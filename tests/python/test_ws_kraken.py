"""Kraken's WebSocket v2 through keyward. Private (`/v2`): the REST `GetWebSocketsToken` answer carries
only a placeholder of the bot's own (a real token would trade on Kraken's socket around
keyward); ccxt pro `watch_orders` and `watch_balance` send it in their subscriptions and keyward
swaps the real token in, which the WebSocket mock checks. Order entry (`add_order`, `amend_order`,
`cancel_order`) is judged as REST `AddOrder`/`AmendOrder`/`CancelOrder` with the v2 fields renamed
to the REST fields of the same meaning, so the REST rule's `pair` list and `volume` bound decide
it: ccxt pro `create_order_ws`, `edit_order_ws` and `cancel_order_ws` reach the mock with the real
token; an over-limit and another pair's order are answered with Kraken's error shape. Public (`/public/v2`, upstream
`ws.kraken.com/v2`): market data channels as public reads, private channels refused."""

import asyncio
import base64
import json
import secrets

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402


ALLOW = (
    '  "kraken:read",\n'
    '  { method = "POST", path = "/0/private/AddOrder", params = { pair = ["BTC/USD"] },'
    ' max = { volume = "0.5" } },\n'
    '  { method = "POST", path = "/0/private/AddOrderBatch", params = { pair = ["BTC/USD"] },'
    ' max = { volume = "0.5" } },\n'
    '  { method = "POST", path = "/0/private/AmendOrder", max = { order_qty = "0.5" } },\n'
    '  { method = "POST", path = "/0/private/CancelOrder" },\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-kraken"), exchange="kraken",
                                     api_key=harness.binance_like_key(56),
                                     secret=base64.b64encode(secrets.token_bytes(64)).decode(),
                                     key_header="API-Key", ws_mock=True, client_allow=ALLOW)


def ws_url(stack):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}/v2"


def test_rest_token_is_a_placeholder_and_ccxt_pro_streams_work(stack):
    dummy = base64.b64encode(b"dummy-secret-not-used-0123456789").decode()

    async def scenario():
        ex = ccxtpro.kraken({"apiKey": stack.token, "secret": dummy, "enableRateLimit": False,
                             "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["ws"]["privateV2"] = ws_url(stack)
        try:
            await ex.load_markets()
            orders = await asyncio.wait_for(ex.watch_orders(), 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            return orders, balance
        finally:
            await ex.close()

    orders, balance = asyncio.new_event_loop().run_until_complete(scenario())
    assert orders and orders[0]["id"] == "OMOCK-777", orders
    assert balance["USD"]["total"] == 1234.5, balance
    subs = [f for f in stack.ws.frames("subscribe")]
    assert subs and all(f["verified"] for f in subs), subs
    assert all(json.loads(f["frame"])["params"]["token"].startswith("REAL-KRAKEN-WS-") for f in subs)

    # the REST answer the bot gets holds a placeholder, never the real token
    status, text = stack.request("POST", "/0/private/GetWebSocketsToken", body="nonce=1")
    assert status == 200, text
    token = json.loads(text)["result"]["token"]
    assert token.startswith("keyward-") and "REAL-KRAKEN-WS" not in text
    harness.assert_absent(harness.outputs(stack), [("real ws token", "REAL-KRAKEN-WS-"),
                                                   ("secret", stack.secret)])


def pro_bot(stack):
    dummy = base64.b64encode(b"dummy-secret-not-used-0123456789").decode()
    ex = ccxtpro.kraken({"apiKey": stack.token, "secret": dummy, "enableRateLimit": False,
                         "timeout": 30000})
    harness.repoint_ccxt(ex, stack.base)
    ex.urls["api"]["ws"]["privateV2"] = ws_url(stack)
    return ex


def test_ccxt_pro_orders_over_the_socket_are_judged_as_rest(stack):
    async def scenario():
        ex = pro_bot(stack)
        try:
            await ex.load_markets()
            created = await asyncio.wait_for(ex.create_order_ws("BTC/USD", "limit", "buy", 0.01, 30000), 20)
            edited = await asyncio.wait_for(ex.edit_order_ws(created["id"], "BTC/USD", "limit", "buy", 0.02, 30100), 20)
            cancelled = await asyncio.wait_for(ex.cancel_order_ws(created["id"]), 20)
            return created, edited, cancelled
        finally:
            await ex.close()

    created, edited, cancelled = asyncio.new_event_loop().run_until_complete(scenario())
    assert created["id"] == "OMOCK-WS-1", created
    assert edited["id"] == "OMOCK-WS-1", edited
    assert cancelled, cancelled
    for method in ("add_order", "amend_order", "cancel_order"):
        seen = stack.ws.frames(method)
        assert seen and all(f["verified"] for f in seen), (method, seen)
        assert all(json.loads(f["frame"])["params"]["token"].startswith("REAL-KRAKEN-WS-") for f in seen)
    frames = [r for r in stack.audit_records() if r.get("event") == "frame" and r.get("decision") == "allow"]
    for path in ("/0/private/AddOrder", "/0/private/AmendOrder", "/0/private/CancelOrder"):
        assert any(r.get("path") == path for r in frames), (path, frames)


def placeholder(stack):
    status, text = stack.request("POST", "/0/private/GetWebSocketsToken", body="nonce=1")
    assert status == 200, text
    return json.loads(text)["result"]["token"]


def test_unknown_tokens_over_limit_and_other_pairs_are_refused(stack):
    token = placeholder(stack)
    order = {"order_type": "limit", "side": "buy", "order_qty": 0.1, "symbol": "BTC/USD",
             "limit_price": 30000, "token": token}
    with connect(ws_url(stack), compression=None, open_timeout=10) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"method": "subscribe", "req_id": 1,
                              "params": {"channel": "executions", "token": "REAL-KRAKEN-WS-guess"}}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["success"] is False and "keyward" in answer["error"], answer
        refused = [
            (2, dict(order, order_qty=5)),  # over the volume bound
            (3, dict(order, symbol="ETH/USD")),  # a pair the rule does not name
            (4, dict(order, cash_order_qty=0.1, order_type="market")),  # two sizes: ambiguous
            (5, dict(order, volume=0.1, order_qty=None)),  # REST's name: judged as unknown
        ]
        why = {2: "volume 5 exceeds the maximum 0.5", 3: "pair=ETH/USD is not allowed",
               5: "'v2:volume' is not a field keyward knows"}
        for req_id, params in (refused[0], refused[1], refused[3]):
            params = {k: v for k, v in params.items() if v is not None}
            sock.send(json.dumps({"method": "add_order", "req_id": req_id, "params": params}))
            answer = json.loads(sock.recv(timeout=10))
            assert answer["method"] == "add_order" and answer["req_id"] == req_id, answer
            assert answer["success"] is False and answer["error"].startswith("keyward"), answer
            assert why[req_id] in answer["error"], answer
        # A batch is judged item by item as AddOrderBatch: one item over the bound refuses it.
        item = {k: v for k, v in order.items() if k not in ("symbol", "token")}
        sock.send(json.dumps({"method": "batch_add", "req_id": 6, "params": {
            "symbol": "BTC/USD", "token": token, "orders": [item, dict(item, order_qty=5)]}}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["req_id"] == 6 and answer["success"] is False, answer
        assert "volume 5 exceeds the maximum 0.5" in answer["error"], answer
        assert len(stack.ws.frames()) == n, "a refused order reached the mock"
        # An order keyward cannot read unambiguously closes the socket.
        sock.send(json.dumps({"method": "add_order", "req_id": 4, "params": refused[2][1]}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n
    denied = [r for r in stack.audit_records() if r.get("event") == "frame" and r.get("op") == "add_order"
              and r.get("decision") != "allow"]
    assert len(denied) >= 3, denied
    harness.assert_absent(harness.outputs(stack), [("real ws token", "REAL-KRAKEN-WS-"),
                                                   ("secret", stack.secret)])
    stack.run("audit", "verify", str(stack.audit_file))


def test_public_socket_relays_market_data_and_refuses_private_channels(stack):
    url = f"ws://127.0.0.1:{stack.port}/{stack.credential}/public/v2"

    async def scenario():
        ex = ccxtpro.kraken({"enableRateLimit": False, "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["ws"]["publicV2"] = url
        try:
            await ex.load_markets()
            return await asyncio.wait_for(ex.watch_ticker("BTC/USD"), 20)
        finally:
            await ex.close()

    ticker = asyncio.new_event_loop().run_until_complete(scenario())
    assert ticker["bid"] == 30000.5 and ticker["last"] == 30001, ticker
    ticks = [f for f in stack.ws.frames("subscribe") if json.loads(f["frame"])["params"]["channel"] == "ticker"]
    assert ticks and all(f["path"] == "/v2" for f in ticks), ticks
    records = [r for r in stack.audit_records() if r.get("event") == "frame" and r.get("socket") == "/public/v2"]
    assert any(r.get("path") == "/0/public/Ticker" and r.get("decision") == "allow" for r in records), records

    with connect(url, compression=None, open_timeout=10) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"method": "subscribe", "req_id": 1,
                              "params": {"channel": "executions", "token": "keyward-guess"}}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n, "a private channel reached the public socket"
