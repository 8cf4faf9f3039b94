#!/usr/bin/env python3
"""fsync_probe.py DIR [N] — how long an append + fdatasync of one audit-sized line takes in DIR
(the disk keyward's audit log is on), so the fsync-on results can be read against the disk."""
import os
import statistics
import sys
import time

d = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
path = os.path.join(d, "fsync-probe.tmp")
line = b"x" * 400 + b"\n"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
try:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        os.write(fd, line)
        os.fdatasync(fd)
        times.append((time.perf_counter() - t0) * 1000.0)
finally:
    os.close(fd)
    os.unlink(path)
times.sort()
print(
    f"append+fdatasync of a 400-byte line: median {statistics.median(times):.2f} ms, "
    f"p90 {times[int(0.9 * (n - 1))]:.2f} ms, max {times[-1]:.2f} ms ({n} samples)"
)
