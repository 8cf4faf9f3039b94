#!/usr/bin/env python3
"""keyward's added latency for a WebSocket order frame (not a test; prints a table).

Starts the same throwaway stack as the Python end-to-end tests (SoftHSM token, sealed Binance
credential, REST and WebSocket mocks, `keyward serve`, audit fsync off), then sends N signed
`order.place` frames one after another on one socket, each waiting for its answer:
  direct  — to the WebSocket mock over wss://, signed by this script with the real secret
  keyward — to keyward over ws:// with the client token and a dummy signature; keyward decides,
            audits, signs and relays the frame to the same mock
and prints the round-trip percentiles of each and the difference.

    target/py-venv/bin/python scripts/bench/ws_latency.py [N]   (KEYWARD_BIN for a release build)
"""

import hashlib
import hmac
import json
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))

import harness  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

ALLOW = ('  { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT"] },'
         ' max = { quantity = "0.5" } },\n')


def order(i, api_key, secret=None):
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01", "price": "30000", "timestamp": int(time.time() * 1000),
              "apiKey": api_key}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new((secret or "dummy").encode(), payload.encode(),
                                   hashlib.sha256).hexdigest()
    return json.dumps({"id": str(i), "method": "order.place", "params": params})


def measure(url, frames, **kwargs):
    times = []
    with connect(url, compression=None, **kwargs) as ws:
        for frame in frames[:20]:  # warm-up
            ws.send(frame)
            ws.recv(timeout=10)
        for frame in frames[20:]:
            t = time.perf_counter()
            ws.send(frame)
            answer = json.loads(ws.recv(timeout=10))
            times.append((time.perf_counter() - t) * 1000)
            assert answer.get("status") == 200, answer
    return times


def pct(times, p):
    return sorted(times)[min(len(times) - 1, int(len(times) * p))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as d:
        stack = harness.Stack(Path(d), client_allow=ALLOW, ws_mock=True, rate="100000/s",
                              server_extra='ws_frame_rate = "100000/s"')
        try:
            stack.start()
            ctx = ssl.create_default_context(cafile=str(stack.dir / "ca" / "ca.pem"))
            direct = measure(f"{stack.ws.base}/ws-api/v3",
                             [order(i, stack.api_key, stack.secret) for i in range(n + 20)], ssl=ctx)
            proxied = measure(f"ws://127.0.0.1:{stack.port}/{stack.credential}/ws-api/v3",
                              [order(i, stack.token) for i in range(n + 20)])
        finally:
            stack.stop()
    print(f"order.place round trips, {n} sequential frames on one socket (ms)")
    print(f"{'path':8} {'p50':>7} {'p90':>7} {'p99':>7} {'mean':>7}")
    for name, t in (("direct", direct), ("keyward", proxied)):
        print(f"{name:8} {pct(t, .5):7.3f} {pct(t, .9):7.3f} {pct(t, .99):7.3f} {statistics.mean(t):7.3f}")
    print(f"added    {pct(proxied, .5) - pct(direct, .5):7.3f} {pct(proxied, .9) - pct(direct, .9):7.3f}"
          f" {pct(proxied, .99) - pct(direct, .99):7.3f} {statistics.mean(proxied) - statistics.mean(direct):7.3f}")


if __name__ == "__main__":
    main()
