#!/usr/bin/env python3
"""Memory under idle and slow clients: opens IDLE keep-alive connections to keyward (each sends
one request and then sits idle) and SLOW slowloris clients (request heads trickled a byte at a
time; a client that is cut off reconnects at once), holds them for HOLD seconds, and reports
keyward's resident memory from /proc/<pid>/status (VmRSS before, during and after; VmHWM =
peak) and how many idle connections were still usable at the end.

    target/py-venv/bin/python scripts/bench/idle_load.py [--idle 2000] [--slow 200] [--hold 30]

Builds the same throwaway stack as the Python tests (SoftHSM token, sealed Binance credential,
mock exchange, `keyward serve`; tests/python/harness.py). KEYWARD_BIN picks the binary (default
target/debug/keyward). RLIMIT_NOFILE of this process is raised to its hard limit.
"""
import argparse
import json
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
import harness  # noqa: E402


def status(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            out[k] = int(v.split()[0])
    return out


def mib(kib):
    return round(kib / 1024, 1)


def ping(port, path):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").encode()


def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            return None
        rest += chunk
    return int(head.split(b" ")[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--hold", type=float, default=30.0)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = Path(tempfile.mkdtemp(prefix="keyward-idle-"))
    stack = harness.Stack(work, server_extra='anonymous_rate = "100000/s"').start()
    try:
        pid, port = stack.proc.pid, stack.port
        path = f"/{stack.credential}/api/v3/ping"
        time.sleep(0.5)
        before = status(pid)

        idle = []
        statuses = {}
        for _ in range(args.idle):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(ping(port, path))
            code = read_answer(s)
            statuses[code] = statuses.get(code, 0) + 1
            idle.append(s)
        with_idle = status(pid)

        slow = []

        def slow_client():
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            return [s, ping(port, path) + b"X-Pad: " + b"a" * 10_000, 0]

        for _ in range(args.slow):
            slow.append(slow_client())
        cut_off = 0
        peak_rss = 0
        end = time.time() + args.hold
        while time.time() < end:
            for c in slow:
                s, data, at = c
                try:
                    s.send(data[at:at + 1])
                    c[2] = (at + 1) % len(data)
                    if s.recv(1) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    cut_off += 1
                    s.close()
                    c[:] = slow_client()
            peak_rss = max(peak_rss, status(pid)["VmRSS"])
            time.sleep(0.25)
        during = status(pid)

        # Are the idle connections still served?
        alive = 0
        for s in random.sample(idle, min(100, len(idle))):
            try:
                s.sendall(ping(port, path))
                if read_answer(s) is not None:
                    alive += 1
            except OSError:
                pass
        for s in idle:
            s.close()
        for c in slow:
            c[0].close()
        time.sleep(1)
        after = status(pid)
        figures = {
            "binary": str(stack.bin),
            "idle_connections": args.idle,
            "idle_first_answers": statuses,
            "slowloris_clients": args.slow,
            "slowloris_cut_off_and_reconnected": cut_off,
            "hold_s": args.hold,
            "rss_mib_before": mib(before["VmRSS"]),
            "rss_mib_with_idle": mib(with_idle["VmRSS"]),
            "rss_mib_with_idle_and_slowloris": mib(peak_rss),
            "rss_mib_after_close": mib(after["VmRSS"]),
            "peak_vmhwm_mib": mib(during["VmHWM"]),
            "threads": during["Threads"],
            "idle_still_served_of_100_sampled": alive,
        }
        print(json.dumps(figures, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
