"""Metrics and readiness through faults and WebSocket sessions, on the admin listener with
`[admin] open_probes = true` (the probes answer without the admin token):

* a Binance WebSocket API session through keyward is `keyward_websocket_sessions` 1 while it is
  open and 0 once it closed, its upgrade one allowed request (status 101), its frames counted
  by decision;
* the SoftHSM token folder moved away (what a failing module looks like to keyward): a signed
  request with the key kept on the token fails closed, `keyward_token_errors_total{operation=
  "hmac"}` counts it, `/readyz` answers 503 naming the token; with the folder back `/readyz`
  answers 200 again and signing works, in the same process.
"""

import hashlib
import json
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest

import harness

websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

SIGNED = "/api/v3/account?timestamp=1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN_PORT = free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    admin = (f'[admin]\nlisten = "127.0.0.1:{ADMIN_PORT}"\n'
             f'token_sha256 = "{hashlib.sha256(b"unused-admin-token").hexdigest()}"\n'
             'open_probes = true\n')
    yield from harness.running_stack(
        tmp_path_factory.mktemp("observability"), ws_mock=True, in_token=True,
        client_allow='  "binance:read",\n', config_extra=admin)


def probe(path):
    """GET `path` on the admin listener without a token: (status, body text)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(name, **labels):
    """The sum of the scraped samples named `name` whose labels include `labels`."""
    status, text = probe("/metrics")
    assert status == 200, text
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        sample, _, rest = series.partition("{")
        if sample != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += float(value)
            found = True
    assert found or not labels, f"no {name} {labels} in:\n{text}"
    return total


def eventually(read, want, seconds=5):
    """Polls `read()` until it returns `want` (or the time is up); returns the last value."""
    deadline = time.monotonic() + seconds
    while True:
        got = read()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_a_websocket_session_is_counted_while_it_is_open(stack):
    assert metric("keyward_websocket_sessions") == 0
    url = f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws-api/v3"
    with connect(url, additional_headers={"X-MBX-APIKEY": stack.token}, compression=None,
                 open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"id": "o1", "method": "time"}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["id"] == "o1" and answer["status"] == 200, answer
        assert metric("keyward_websocket_sessions") == 1
        # A frame the policy denies (not in binance:read): answered for its id, nothing sent.
        ws.send(json.dumps({"id": "o2", "method": "openOrders.cancelAll",
                            "params": {"symbol": "BTCUSDT", "apiKey": stack.token}}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["id"] == "o2" and "not_allowed" in answer["error"]["msg"], answer
        frames = {d: metric("keyward_websocket_frames_total", client=harness.CLIENT, decision=d)
                  for d in ("allow", "deny")}
        assert frames == {"allow": 1, "deny": 1}, frames
    assert eventually(lambda: metric("keyward_websocket_sessions"), 0) == 0
    # The upgrade itself is one request: allowed (as its audit record says, rule "upgrade"), 101,
    # the exchange's time being the upstream socket's opening.
    upgrades = metric("keyward_requests_total", client=harness.CLIENT, rule="upgrade",
                      decision="allow", status="101")
    assert upgrades == 1
    assert metric("keyward_upstream_duration_seconds_count", credential=stack.credential) == 1


def test_token_errors_are_counted_and_readyz_follows_the_token(stack):
    s = stack
    status, body = probe("/readyz")
    assert status == 200, body
    assert json.loads(body)["checks"]["token"]["ok"] is True
    status, body = s.request("GET", SIGNED)
    assert status == 200, body
    hmacs = metric("keyward_token_operations_total", operation="hmac")
    assert hmacs >= 1, "the in-token key signed on the token"
    errors = metric("keyward_token_errors_total", operation="hmac")

    tokens, away = s.dir / "tokens", s.dir / "tokens-away"
    shutil.move(tokens, away)
    try:
        status, body = s.request("GET", SIGNED)
        assert status == 503 and json.loads(body)["error"]["code"] == "key_unavailable", body
        assert metric("keyward_token_errors_total", operation="hmac") > errors
        status, body = probe("/readyz")
        assert status == 503, body
        error = json.loads(body)["error"]
        assert error["code"] == "not_ready" and error["message"].startswith("token: "), error
        assert "audit" not in error["message"], error
    finally:
        shutil.move(away, tokens)

    # The folder is back: the session pool re-initializes the module (at most once a second).
    status = eventually(lambda: probe("/readyz")[0], 200)
    assert status == 200, probe("/readyz")
    status, body = s.request("GET", SIGNED)
    assert status == 200, body
    assert s.proc.poll() is None, "keyward keeps serving"
