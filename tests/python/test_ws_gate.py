"""Gate v4 spot socket through keyward: ccxt pro `watch_orders`, `watch_balance`,
`create_order_ws` and `cancel_order_ws` with a dummy secret. Gate signs every private frame:
keyward rebuilds each with the real key and its own HMAC-SHA512 over the exact JSON it sends
(the mock verifies every one with the real secret) and judges each order op as its REST
request."""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ALLOW = (
    '  "gate:read",\n'
    '  { method = "POST", path = "/api/v4/spot/orders", params = { currency_pair = ["BTC_USDT"] },'
    ' max = { amount = "0.5" } },\n'
    '  { method = "DELETE", path = "/api/v4/spot/orders/{order_id}" },\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-gate"), exchange="gate",
                                     api_key=harness.binance_like_key(32),
                                     secret=harness.binance_like_key(64), key_header="KEY",
                                     client_allow=ALLOW, ws_mock=True)


def ws_url(stack):
    return harness.ws_url(stack, "/ws/v4")


def test_watch_orders_balance_and_ws_orders(stack):
    ws = stack.ws

    def pro_bot():
        ex = ccxtpro.gate({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                           "enableRateLimit": False, "timeout": 30000})
        harness.repoint_ccxt(ex, stack.base)
        ex.urls["api"]["spot"] = ws_url(stack)
        return ex

    harness.trades_over_socket(stack, pro_bot, "spot.order_place", "amount", watch_symbol="BTC/USDT")
    frames = ws.frames()
    assert {"spot.login", "spot.orders", "spot.balances", "spot.order_place", "spot.order_cancel"} <= {
        f["op"] for f in frames}
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"] and harness.DUMMY_SECRET not in f["frame"]


def test_unknown_api_requests_close_and_denied_ones_answer(stack):
    with connect(ws_url(stack), compression=None, open_timeout=10, additional_headers={"KEY": stack.token}) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"id": 5, "time": 1, "channel": "spot.order_amend", "event": "api",
                              "payload": {"req_id": "r5", "api_key": stack.token, "req_param": {
                                  "order_id": "1", "currency_pair": "BTC_USDT", "amount": "1"}}}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["data"]["errs"]["label"] == "FORBIDDEN" and "not_allowed" in answer["data"]["errs"]["message"]
        sock.send(json.dumps({"id": 4, "time": 1, "channel": "spot.login", "event": "api",
                              "payload": {"req_id": "r4", "api_key": stack.token, "req_param": {}}}))
        login = sock.recv(timeout=10)
        assert '"status": "200"' in login and stack.api_key not in login, login
        n = len(stack.ws.frames())
        sock.send(json.dumps({"id": 6, "time": 1, "channel": "spot.withdraw", "event": "api", "payload": {}}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real API key", stack.api_key), ("secret", stack.secret)])
