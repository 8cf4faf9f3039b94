"""OKX v5 sockets through keyward: ccxt pro `watch_orders`, `watch_balance`, `create_order_ws`
and `cancel_order_ws` with a dummy secret and passphrase; keyward rewrites the bot's `login` with
the real key, passphrase and signature and judges every trade op as its REST endpoint (ccxt's
`batch-orders` item by item). The WebSocket mock verifies the login with the real secret."""

import json

import pytest

import harness

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

PASSPHRASE = "Real-Pass-9f3e"
ALLOW = (
    '  "okx:read",\n'
    '  { method = "POST", path = "/api/v5/trade/batch-orders", params = { instId = ["BTC-USDT"] },'
    ' max = { sz = "0.5" } },\n'
    '  { method = "POST", path = "/api/v5/trade/cancel-order" },\n'
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-okx"), exchange="okx",
                                     passphrase=PASSPHRASE, key_header="OK-ACCESS-KEY",
                                     client_allow=ALLOW, ws_mock=True)


def ws_base(stack):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws/v5"


def pro_bot(stack):
    ex = ccxtpro.okx({"apiKey": stack.token, "secret": harness.DUMMY_SECRET,
                      "password": "dummy-passphrase", "enableRateLimit": False, "timeout": 30000})
    harness.repoint_ccxt(ex, stack.base)
    ex.urls["api"]["ws"] = ws_base(stack)
    return ex


def test_watch_orders_balance_and_ws_orders(stack):
    ws = stack.ws
    harness.trades_over_socket(stack, lambda: pro_bot(stack), "batch-orders", "sz")

    frames = ws.frames()
    logins = [json.loads(f["frame"]) for f in frames if f["op"] == "login"]
    assert logins and all(l["args"][0]["apiKey"] == stack.api_key for l in logins)
    assert all(f["verified"] for f in frames), [f for f in frames if not f["verified"]]
    for f in frames:
        assert stack.token not in f["frame"] and harness.DUMMY_SECRET not in f["frame"]
        assert "dummy-passphrase" not in f["frame"]


def test_bare_ping_passes_and_refusals_keep_or_close_the_socket(stack):
    with connect(f"{ws_base(stack)}/private", compression=None, open_timeout=10,
                 additional_headers={"OK-ACCESS-KEY": stack.token}) as sock:
        sock.send("ping")
        assert sock.recv(timeout=10) == "pong"
        n = len(stack.ws.frames())
        sock.send(json.dumps({"id": "a1", "op": "amend-order", "args": [{"instId": "BTC-USDT", "ordId": "1", "newSz": "1"}]}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["id"] == "a1" and answer["code"] != "0" and "not_allowed" in answer["msg"], answer
        sock.send(json.dumps({"op": "subscribe", "args": [{"channel": "deposit-info"}]}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n


def test_audit_chain_verifies(stack):
    frames = [r for r in stack.audit_records() if r.get("event") == "frame"]
    assert {"login", "subscribe", "batch-orders", "cancel-order", "amend-order"} <= {r["op"] for r in frames}
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real API key", stack.api_key), ("secret", stack.secret),
                                                   ("passphrase", PASSPHRASE)])


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-okx-guesses"), exchange="okx",
                                     passphrase=PASSPHRASE, key_header="OK-ACCESS-KEY",
                                     client_allow=ALLOW, ws_mock=True,
                                     server_extra='auth_failure_rate = "3/m"')


def login_frame(token):
    return json.dumps({"op": "login", "args": [{"apiKey": token, "passphrase": "dummy",
                                                "timestamp": "1700000000", "sign": "c2ln"}]})


def test_login_frame_tokens_count_against_auth_failure_rate(guarded):
    """Wrong client tokens in login frames spend the source's `[server] auth_failure_rate` like
    wrong header tokens: past the budget even the right token is refused (429
    auth_rate_limited over REST too), so a socket is no faster way to guess tokens."""
    s = guarded
    answers = []
    with connect(f"{ws_base(s)}/private", compression=None, open_timeout=10) as sock:
        for i in range(3):
            sock.send(login_frame(f"kw_wrong_token_{i}"))
            answers.append(sock.recv(timeout=10))
        assert all("unknown client token" in a for a in answers), answers
        sock.send(login_frame(s.token))
        answer = sock.recv(timeout=10)
    assert "auth_rate_limited" in answer, answer
    assert not [f for f in s.ws.frames() if f["op"] == "login"], "no login reached the exchange"
    status, body = s.request("GET", "/api/v5/account/balance")
    assert status == 429 and json.loads(body)["error"]["code"] == "auth_rate_limited", body
