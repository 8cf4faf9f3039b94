"""The kill switch on an open WebSocket session (Binance WebSocket API through keyward): an
operator's `keyward admin disable client` refuses the session's very next frame, for its id, with
nothing reaching the mock, while the socket stays open; `enable` lets the next frame through
again. Admission runs for every frame, so no reconnect is needed for either. Denied ops count
toward the client's `deny_burst` like denied REST requests.
"""

import hashlib
import json
import socket

import pytest

import harness

websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ADMIN_TOKEN = "admin-token-of-the-ws-kill-switch-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN_PORT = free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    admin = (f'[admin]\nlisten = "127.0.0.1:{ADMIN_PORT}"\n'
             f'token_sha256 = "{hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()}"\n')
    yield from harness.running_stack(
        tmp_path_factory.mktemp("ws-kill-switch"), ws_mock=True, client_allow='  "binance:read",\n',
        config_extra=admin,
        client_extra='on_hard_deny = "log"\ndeny_burst = { count = 2, window_s = 60 }')


def admin(stack, *args):
    """`keyward admin ARGS --url ...` with the token in the environment; its CompletedProcess."""
    stack.env["KEYWARD_ADMIN_TOKEN"] = ADMIN_TOKEN
    try:
        return stack.run("admin", *args, "--url", f"http://127.0.0.1:{ADMIN_PORT}", check=False)
    finally:
        del stack.env["KEYWARD_ADMIN_TOKEN"]


def open_orders(ws, stack, rid):
    """A signed read on the socket (GET /api/v3/openOrders, allowed by binance:read)."""
    ws.send(json.dumps({"id": rid, "method": "openOrders.status",
                        "params": {"symbol": "BTCUSDT", "apiKey": stack.token}}))
    return json.loads(ws.recv(timeout=10))


def test_a_disable_refuses_the_next_frame_of_an_open_session_and_enable_lets_it_through(stack):
    url = f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws-api/v3"
    with connect(url, additional_headers={"X-MBX-APIKEY": stack.token}, compression=None,
                 open_timeout=10, close_timeout=5) as ws:
        answer = open_orders(ws, stack, "k1")
        assert answer["id"] == "k1" and answer["status"] == 200, answer
        reached = len(stack.ws.frames("openOrders.status"))
        assert reached == 1

        done = admin(stack, "disable", "client", harness.CLIENT)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["state"] == "disabled"

        # The very next frame on the same socket: refused for its id, nothing forwarded.
        answer = open_orders(ws, stack, "k2")
        assert answer["id"] == "k2" and answer["status"] == 403, answer
        assert "client_disabled" in answer["error"]["msg"], answer
        ws.send(json.dumps({"id": "k3", "method": "time"}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["status"] == 403 and "client_disabled" in answer["error"]["msg"], answer
        assert len(stack.ws.frames("openOrders.status")) == reached

        done = admin(stack, "enable", "client", harness.CLIENT)
        assert done.returncode == 0, done.stderr
        answer = open_orders(ws, stack, "k4")
        assert answer["id"] == "k4" and answer["status"] == 200, answer
        assert len(stack.ws.frames("openOrders.status")) == reached + 1

    frames = [r for r in stack.audit_records() if r.get("event") == "frame"]
    refused = [r for r in frames if r.get("code") == "client_disabled"]
    assert len(refused) == 2, frames
    actions = [(r["action"], r["result"]) for r in stack.audit_records() if r.get("event") == "admin"]
    assert actions == [("disable", "disabled"), ("enable", "enabled")], actions
    stack.run("audit", "verify", str(stack.audit_file))


def test_denied_ops_on_a_socket_fire_deny_burst(stack):
    url = f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws-api/v3"
    with connect(url, additional_headers={"X-MBX-APIKEY": stack.token}, compression=None,
                 open_timeout=10, close_timeout=5) as ws:
        for rid in ("b1", "b2"):   # not in binance:read: denied by the policy
            ws.send(json.dumps({"id": rid, "method": "openOrders.cancelAll",
                                "params": {"symbol": "BTCUSDT", "apiKey": stack.token}}))
            answer = json.loads(ws.recv(timeout=10))
            assert answer["id"] == rid and "not_allowed" in answer["error"]["msg"], answer
        answer = open_orders(ws, stack, "b3")
        assert answer["status"] == 403 and "client_disabled" in answer["error"]["msg"], answer
        assert "deny_burst" in answer["error"]["msg"], answer
    anomalies = [r for r in stack.audit_records() if r.get("event") == "anomaly"]
    assert [(a["trigger"], a["action"]) for a in anomalies] == [("deny_burst", "disable")], anomalies
    done = admin(stack, "enable", "client", harness.CLIENT)
    assert done.returncode == 0, done.stderr
