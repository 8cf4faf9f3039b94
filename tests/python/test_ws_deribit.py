"""Deribit's socket through keyward, with raw JSON-RPC frames (ccxt pro has no private Deribit
socket): keyward replaces the bot's `public/auth` with its own client-signature login (the mock
verifies it with the real secret), replaces the access and refresh tokens of the answer, and
judges every method as `GET /api/v2/<method>`: withdrawals, transfers, key management and
`fork_token` are refused on the socket as on REST, with nothing reaching the mock."""

import json

import pytest

import harness

websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ALLOW = (
    '  "deribit:read",\n'
    '  { method = "GET", path = "/api/v2/private/buy", max = { amount = "100" } },\n'
)
REFUSED = [
    ("private/withdraw", {"currency": "BTC", "address": "x", "amount": 1}),
    ("private/submit_transfer_to_subaccount", {"currency": "BTC", "amount": 1, "destination": 2}),
    ("private/submit_transfer_to_user", {"currency": "BTC", "amount": 1, "destination": "y"}),
    ("private/create_api_key", {"max_scope": "account:read_write wallet:read_write"}),
    ("public/fork_token", {"refresh_token": "keyward-session-token", "session_name": "x"}),
    ("public/exchange_token", {"refresh_token": "keyward-session-token", "subject_id": 1}),
    ("private/buy", {"instrument_name": "BTC-PERPETUAL", "amount": 5000, "type": "limit", "price": 30000}),
    ("private/sell", {"instrument_name": "BTC-PERPETUAL", "amount": 10, "type": "limit", "price": 30000}),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-deribit"), exchange="deribit",
                                     key_header="Authorization", client_allow=ALLOW, ws_mock=True)


def call(sock, rid, method, params=None):
    sock.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}))
    while True:
        answer = json.loads(sock.recv(timeout=10))
        if answer.get("id") == rid:
            return answer


def test_login_tokens_orders_and_refusals(stack):
    url = f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws/api/v2"
    with connect(url, compression=None, open_timeout=10) as sock:
        auth = call(sock, 1, "public/auth", {"grant_type": "client_credentials",
                                            "client_id": stack.token, "client_secret": "dummy-secret"})
        assert auth["result"]["access_token"] == "keyward-session-token", auth
        assert "REAL-" not in json.dumps(auth)
        placed = call(sock, 2, "private/buy", {"instrument_name": "BTC-PERPETUAL", "amount": 10,
                                               "type": "limit", "price": 30000.5})
        assert placed["result"]["order"]["order_state"] == "open", placed
        n = len(stack.ws.frames())
        for i, (method, params) in enumerate(REFUSED, start=10):
            answer = call(sock, i, method, params)
            assert "error" in answer and "keyward" in answer["error"]["message"], (method, answer)
        assert len(stack.ws.frames()) == n, "a refused method reached the mock"
        assert call(sock, 99, "public/test")["result"] == {}

    frames = stack.ws.frames()
    assert [f["op"] for f in frames][:2] == ["public/auth", "private/buy"]
    assert all(f["verified"] for f in frames), frames
    sent = json.loads(frames[1]["frame"])
    assert sent["params"] == {"instrument_name": "BTC-PERPETUAL", "amount": 10, "type": "limit",
                              "price": 30000.5}
    for f in frames:
        assert stack.token not in f["frame"] and "dummy-secret" not in f["frame"]
    decided = {r["op"]: r for r in stack.audit_records() if r.get("event") == "frame"}
    assert decided["private/withdraw"]["decision"] == "deny"
    assert decided["private/withdraw"]["code"] == "hard_deny"
    assert decided["public/fork_token"]["code"] == "hard_deny"
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real client id", stack.api_key),
                                                   ("secret", stack.secret),
                                                   ("access token", "REAL-ACCESS-TOKEN")])
