"""BitMEX `/realtime` through keyward, with ccxt 4.5.0's pro bitmex in a subprocess (4.5.90 has
no bitmex class) and in raw frames: the
bot's `authKeyExpires` carries its client token and a dummy signature; keyward rewrites it with
the real key, its own expiry (Unix seconds) and the HMAC over `GET/realtime` + expires, which
the WebSocket mock verifies with the real secret. Private tables are judged as their REST reads
(`bitmex:read`), public ones as public reads; other tables and ops close the socket with 1008."""

import json
import os
import subprocess
import sys

import pytest

import harness

websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from harness.running_stack(tmp_path_factory.mktemp("ws-bitmex"), exchange="bitmex",
                                     api_key=harness.binance_like_key(24),
                                     secret=harness.binance_like_key(48), key_header="api-key",
                                     client_allow='  "bitmex:read",\n', ws_mock=True)


PRO_DRIVER = r'''
import asyncio, json, sys
import ccxt.pro as ccxtpro
cfg = json.loads(sys.argv[1])

async def main():
    ex = ccxtpro.bitmex({"apiKey": cfg["key"], "secret": cfg["secret"], "enableRateLimit": False,
                         "timeout": 30000})
    for k in list(ex.urls["api"]):
        if k != "ws":
            ex.urls["api"][k] = cfg["base"]
    ex.urls["api"]["ws"] = cfg["ws"]
    try:
        await ex.load_markets()
        orders = await asyncio.wait_for(ex.watch_orders(), 20)
        balance = await asyncio.wait_for(ex.watch_balance(), 20)
        return {"orders": [{"id": o["id"], "clientOrderId": o["clientOrderId"]} for o in orders],
                "BTC": balance["BTC"]}
    finally:
        await ex.close()

print(json.dumps(asyncio.run(main()), default=str))
'''


def test_ccxt_pro_watch_orders_and_balance(stack):
    import test_ccxt_bitmex as b  # installs ccxt 4.5.0 into target/ on first use
    env = dict(os.environ, PYTHONPATH=str(b.ccxt_450_dir()) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    n = len(stack.ws.frames("authKeyExpires"))
    cfg = json.dumps({"base": stack.base, "ws": ws_url(stack), "key": stack.token,
                      "secret": "dummy-bitmex-secret-that-keyward-ignores"})
    cp = subprocess.run([sys.executable, "-c", PRO_DRIVER, cfg], capture_output=True, text=True,
                        env=env, timeout=120)
    assert cp.returncode == 0, cp.stderr[-4000:]
    out = json.loads(cp.stdout.strip().splitlines()[-1])
    assert out["orders"] and out["orders"][0]["clientOrderId"] == "pushed-by-mock", out
    assert out["BTC"]["total"] == 1.25, out
    auth = stack.ws.frames("authKeyExpires")[n:]  # ccxt authenticates for each watch
    assert auth and all(f["verified"] for f in auth), auth
    assert all(json.loads(f["frame"])["args"][0] == stack.api_key for f in auth)


def ws_url(stack):
    return f"ws://127.0.0.1:{stack.port}/{stack.credential}/realtime"


def recv_until(sock, pred, n=30):
    seen = []
    for _ in range(n):
        text = sock.recv(timeout=10)
        msg = text if text == "pong" else json.loads(text)
        seen.append(msg)
        if pred(msg):
            return msg
    raise AssertionError(f"not seen in {seen}")


def test_login_private_tables_and_ping(stack):
    n = len(stack.ws.frames("authKeyExpires"))
    with connect(ws_url(stack), compression=None, open_timeout=10) as sock:
        sock.send(json.dumps({"op": "authKeyExpires", "args": [stack.token, 1700000000000, "dummy"]}))
        answer = recv_until(sock, lambda m: isinstance(m, dict) and "request" in m)
        assert answer["success"] is True, answer
        sock.send(json.dumps({"op": "subscribe", "args": ["order", "margin"]}))
        order = recv_until(sock, lambda m: isinstance(m, dict) and m.get("table") == "order")
        assert order["data"][0]["clOrdID"] == "pushed-by-mock"
        margin = recv_until(sock, lambda m: isinstance(m, dict) and m.get("table") == "margin")
        assert margin["data"][0]["walletBalance"] == 125000000
        sock.send("ping")
        assert recv_until(sock, lambda m: m == "pong") == "pong"
    auth = stack.ws.frames("authKeyExpires")[n:]
    assert len(auth) == 1 and auth[0]["verified"], auth
    key, expires, signature = json.loads(auth[0]["frame"])["args"]
    assert key == stack.api_key and isinstance(expires, int) and expires < 10**11 and signature != "dummy"
    subs = stack.ws.frames("subscribe")
    assert subs and all(f["verified"] for f in subs), subs
    for f in stack.ws.frames():
        assert stack.token not in f["frame"]


def test_private_tables_need_a_client_and_unknown_tables_close(stack):
    with connect(ws_url(stack), compression=None, open_timeout=10) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"op": "subscribe", "args": ["position"]}))
        answer = json.loads(sock.recv(timeout=10))
        assert answer["status"] == 403 and "client_token_required" in answer["error"], answer
        assert len(stack.ws.frames()) == n, "a private subscription without a client reached the mock"
        # public market data needs no client (anonymous_market_data = true)
        sock.send(json.dumps({"op": "subscribe", "args": ["trade:XBTUSD"]}))
        trade = recv_until(sock, lambda m: isinstance(m, dict) and m.get("table") == "trade")
        assert trade["data"][0]["symbol"] == "XBTUSD"
        n = len(stack.ws.frames())
        sock.send(json.dumps({"op": "subscribe", "args": ["transact"]}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            while True:
                sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n, "a refused table reached the mock"
    with connect(ws_url(stack), compression=None, open_timeout=10,
                 additional_headers={"api-key": stack.token}) as sock:
        n = len(stack.ws.frames())
        sock.send(json.dumps({"op": "cancelAllAfter", "args": 60000}))
        with pytest.raises(websockets.ConnectionClosed) as ei:
            while True:
                sock.recv(timeout=10)
        assert ei.value.rcvd.code == 1008
        assert len(stack.ws.frames()) == n


def test_audit_chain_verifies(stack):
    frames = [r for r in stack.audit_records() if r.get("event") == "frame"]
    decided = {(r["op"], r.get("path"), r["decision"]) for r in frames}
    assert ("subscribe", "/api/v1/order | /api/v1/user/margin", "allow") in decided, decided
    assert ("subscribe", "/api/v1/position", "deny") in decided, decided
    stack.run("audit", "verify", str(stack.audit_file))
    harness.assert_absent(harness.outputs(stack), [("real API key", stack.api_key), ("secret", stack.secret)])
