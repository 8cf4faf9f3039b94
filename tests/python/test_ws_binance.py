"""Binance WebSocket API sessions through keyward: an unmodified ccxt pro bot (dummy secret, its
client token as API key) whose `ws-api` URL points at keyward, and raw frames.

keyward answers the bot's logon, signs every request with the sealed secret and judges each op
as the REST request it equals; the WebSocket mock (scripts/ws_mock.py) verifies every signature
with the real secret and records every frame.
"""

import asyncio
import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ALLOW = (
    '  "binance:read",\n'
    '  { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT"], type = ["LIMIT"] },'
    ' max = { quantity = "0.5" } },\n'
    '  { method = "DELETE", path = "/api/v3/order" },\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-binance"), client_allow=ALLOW,
                                     ws_mock=True)


def ws_url(stack, path="/ws-api/v3"):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}{path}"


def pro_bot(stack):
    ex = ccxtpro.binance({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                          "enableRateLimit": False, "timeout": 30000})
    harness.repoint_ccxt(ex, stack.base)
    # repoint_ccxt rewrote the ws URLs' scheme too; set the WebSocket API URLs explicitly.
    ex.urls["api"]["ws"]["ws-api"]["spot"] = ws_url(stack)
    ex.urls["api"]["ws"]["ws-api"]["linear"] = ws_url(stack, "/ws-fapi/v1")
    return ex


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def mock_frames(stack, op=None):
    return stack.ws.frames(op)


def test_watch_orders_and_balance_and_ws_orders(stack):
    async def scenario():
        ex = pro_bot(stack)
        try:
            await ex.load_markets()
            orders = await asyncio.wait_for(ex.watch_orders("BTC/USDT"), 20)
            balance = await asyncio.wait_for(ex.watch_balance(), 20)
            placed = await ex.create_order_ws("BTC/USDT", "limit", "buy", 0.01, 30000)
            cancelled = await ex.cancel_order_ws(placed["id"], "BTC/USDT")
            refused = await harness.refused_ws_orders(
                ex, stack.ws, "order.place",
                harness.OVER_LIMIT_AND_NOT_ALLOWED + (("BTC/USDT", "market", "buy", 0.01, None),))  # type
            return orders, balance, placed, cancelled, refused
        finally:
            await ex.close()

    orders, balance, placed, cancelled, refused = run(scenario())
    assert orders and orders[0]["clientOrderId"] == "pushed-by-mock", orders
    assert balance["USDT"]["free"] == 1234.5, balance
    assert placed["id"] and placed["status"] == "open"
    assert cancelled["status"] == "canceled"
    assert "constraint" in refused[0] and "quantity" in refused[0], refused[0]
    assert "constraint" in refused[1] or "not_allowed" in refused[1], refused[1]
    assert "constraint" in refused[2] or "not_allowed" in refused[2], refused[2]

    frames = mock_frames(stack)
    assert [f for f in frames if f["op"] == "userDataStream.subscribe.signature"]
    assert len(mock_frames(stack, "order.place")) == 1
    assert len(mock_frames(stack, "order.cancel")) == 1
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"], "the client token reached the exchange"
        assert harness.DUMMY_SECRET not in f["frame"]
    signed = [json.loads(f["frame"]) for f in frames if f["op"] == "order.place"]
    assert signed[0]["params"]["apiKey"] == stack.api_key
    # no extension was offered to the exchange
    assert all(not r["why"] for r in stack.ws.records() if r["op"] == "connect")


def raw(stack, path="/ws-api/v3", headers=None):
    return connect(ws_url(stack, path), additional_headers=headers or {}, compression=None,
                   open_timeout=10, close_timeout=5)


def expect_close(ws, code=1008):
    with pytest.raises(websockets.ConnectionClosed) as ei:
        while True:
            ws.recv(timeout=10)
    assert ei.value.rcvd is not None and ei.value.rcvd.code == code, ei.value
    return ei.value.rcvd.reason


def test_unparseable_binary_and_unknown_frames_close_with_1008(stack):
    for bad in ('{"id":1,"method":"time","method":"order.place"}',   # duplicate key
                '{"id":1,"method":"time"',                          # truncated
                '{"id":1,"method":"sapi.withdraw","params":{}}',    # unknown op
                b"\x00\x01binary"):
        n = len(mock_frames(stack))
        with raw(stack) as ws:
            ws.send(bad)
            reason = expect_close(ws)
            assert reason.startswith("keyward"), reason
        assert len(mock_frames(stack)) == n, f"{bad!r} reached the mock"


def test_a_denied_op_is_answered_for_its_id_and_the_socket_stays_open(stack):
    with raw(stack, headers={"X-MBX-APIKEY": stack.token}) as ws:
        ws.send(json.dumps({"id": "a1", "method": "openOrders.cancelAll",
                            "params": {"symbol": "BTCUSDT", "apiKey": stack.token}}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["id"] == "a1" and answer["status"] == 403, answer
        assert "not_allowed" in answer["error"]["msg"]
        # still open: a public request goes through and the exchange answers it
        ws.send(json.dumps({"id": "a2", "method": "time"}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["id"] == "a2" and "serverTime" in answer["result"], answer


def test_a_socket_without_a_token_gets_public_methods_only(stack):
    with raw(stack) as ws:
        ws.send(json.dumps({"id": 1, "method": "userDataStream.subscribe"}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["status"] == 401 and "client_token_required" in answer["error"]["msg"], answer
        ws.send(json.dumps({"id": 2, "method": "time"}))
        assert "serverTime" in json.loads(ws.recv(timeout=10))["result"]


def test_an_unknown_token_and_a_second_token_are_refused(stack):
    with raw(stack) as ws:
        ws.send(json.dumps({"id": 1, "method": "session.logon",
                            "params": {"apiKey": "not-a-client", "signature": "x", "timestamp": 1}}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["status"] == 401, answer
    with raw(stack, headers={"X-MBX-APIKEY": stack.token}) as ws:
        ws.send(json.dumps({"id": 1, "method": "session.logon",
                            "params": {"apiKey": stack.token, "signature": "x", "timestamp": 1}}))
        assert json.loads(ws.recv(timeout=10))["status"] == 200


def test_every_decided_frame_is_audited_and_the_chain_verifies(stack):
    frames = [r for r in stack.audit_records() if r.get("event") == "frame"]
    ops = {r["op"] for r in frames}
    assert {"upgrade", "order.place", "order.cancel", "userDataStream.subscribe.signature",
            "unparseable", "binary", "unknown"} <= ops, ops
    placed = [r for r in frames if r["op"] == "order.place"]
    assert {r["decision"] for r in placed} == {"allow", "deny"}
    assert all(r["path"] == "/api/v3/order" and r["method"] == "POST" for r in placed)
    assert all(r["client"] == harness.CLIENT for r in placed)
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack),
                          [("real API key", stack.api_key), ("secret", stack.secret)])


def test_pings_are_answered_on_each_side_and_closes_are_mirrored(stack):
    with raw(stack) as ws:
        # the bot's protocol ping is answered (by keyward)
        assert ws.ping(b"bot").wait(timeout=10)
        # the exchange's ping was answered too: the mock records the pong
        harness.wait_for(lambda: [r for r in stack.ws.records() if r["op"] == "pong"], 10, "a pong to the mock")
        assert all(r["verified"] for r in stack.ws.records() if r["op"] == "pong")
        # the exchange closes with 4001: the bot sees 4001
        ws.send(json.dumps({"id": "c", "method": "time", "params": {"close": 4001}}))
        assert expect_close(ws, 4001) == "closed by the mock"
    # the bot closes with 4002: the exchange sees 4002
    # (the first socket's own close record may land late, so wait for this socket's code itself
    # rather than for "one more close record")
    with raw(stack) as ws:
        ws.send(json.dumps({"id": "t", "method": "time"}))
        ws.recv(timeout=10)
        ws.close(4002, "bot done")
    closes = lambda: [r["why"] for r in stack.ws.records() if r["op"] == "closed"]
    harness.wait_for(lambda: "4002" in closes(), 10, "the mock's close with the bot's code 4002")
