"""Bybit v5 sockets through keyward: ccxt pro `watch_orders`, `watch_balance` (on /v5/private)
and `create_order_ws` / `cancel_order_ws` (on /v5/trade) with a dummy secret; keyward rewrites
the bot's `auth` with the real key and signature, and judges every trade op as its REST
endpoint. The WebSocket mock verifies the auth with the real secret."""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ALLOW = (
    '  "bybit:read",\n'
    '  { method = "POST", path = "/v5/order/create", params = { symbol = ["BTCUSDT"] },'
    ' max = { qty = "0.5" } },\n'
    '  { method = "POST", path = "/v5/order/cancel" },\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-bybit"), exchange="bybit",
                                     key_header="X-BAPI-API-KEY", client_allow=ALLOW, ws_mock=True)


def pro_bot(stack):
    ex = ccxtpro.bybit({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                        "enableRateLimit": False, "timeout": 30000})
    harness.repoint_ccxt(ex, stack.base)
    private = ex.urls["api"]["ws"]["private"]
    private["spot"]["unified"] = private["contract"] = harness.ws_url(stack, "/v5/private")
    private["trade"] = harness.ws_url(stack, "/v5/trade")
    return ex


def test_watch_orders_balance_and_ws_orders(stack):
    ws = stack.ws
    harness.trades_over_socket(stack, lambda: pro_bot(stack), "order.create", "qty",
                               watch_symbol="BTC/USDT")

    frames = ws.frames()
    auths = [f for f in frames if f["op"] == "auth"]
    assert {f["path"] for f in auths} == {"/v5/private", "/v5/trade"}
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"] and harness.DUMMY_SECRET not in f["frame"]
    assert json.loads(auths[0]["frame"])["args"][0] == stack.api_key
    assert len(ws.frames("order.create")) == 1 and len(ws.frames("order.cancel")) == 1


def test_private_topics_and_trade_ops_need_a_client_and_the_allowlist(stack):
    url = harness.ws_url(stack, "/v5/private")
    with connect(url, compression=None, open_timeout=10) as sock:
        sock.send(json.dumps({"op": "subscribe", "args": ["order"], "req_id": "s1"}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["success"] is False and "client_token_required" in answer["ret_msg"], answer
    with connect(harness.ws_url(stack, "/v5/trade"), compression=None, open_timeout=10,
                 additional_headers={"X-BAPI-API-KEY": stack.token}) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"op": "order.amend", "reqId": "r1", "header": {},
                              "args": [{"category": "spot", "symbol": "BTCUSDT", "orderId": "1", "qty": "1"}]}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["reqId"] == "r1" and answer["retCode"] != 0 and "not_allowed" in answer["retMsg"], answer
        sock.send(json.dumps({"op": "withdraw", "reqId": "r2", "args": [{}]}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n, "a refused frame reached the mock"


def test_audit_chain_verifies(stack):
    frames = [r for r in stack.audit_records() if r.get("event") == "frame"]
    assert {"auth", "subscribe", "order.create", "order.cancel", "order.amend"} <= {r["op"] for r in frames}
    created = [r for r in frames if r["op"] == "order.create"]
    assert all(r["path"] == "/v5/order/create" for r in created)
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real API key", stack.api_key), ("secret", stack.secret)])
