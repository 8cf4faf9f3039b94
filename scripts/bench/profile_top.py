#!/usr/bin/env python3
"""profile_top.py FOLDED — where the time goes in a folded perf profile (inferno-collapse-perf
output: `frame;frame;... COUNT` per line), as two tables: the frames with the most samples
anywhere on the stack (inclusive) and at the top of it (self), each as a share of all samples.
Used by scripts/bench.sh (BENCH_PROFILE=1) next to the flame graph."""
import collections
import re
import sys


def simplify(frame):
    # Drop Rust hashes and generic noise so one function is one line.
    frame = re.sub(r"::h[0-9a-f]{16}$", "", frame)
    frame = re.sub(r"_\[k\]$", " [kernel]", frame)
    return frame[:140]


def main():
    inclusive = collections.Counter()
    self_time = collections.Counter()
    total = 0
    with open(sys.argv[1]) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = [simplify(f) for f in stack.split(";")]
            for f in set(frames):
                inclusive[f] += n
            self_time[frames[-1]] += n
    if not total:
        print("no samples")
        return
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    print(f"{total} samples\n")
    print("inclusive (on the stack)")
    for f, n in inclusive.most_common(top):
        print(f"{100.0 * n / total:6.2f}%  {f}")
    print("\nself (top of the stack)")
    for f, n in self_time.most_common(top):
        print(f"{100.0 * n / total:6.2f}%  {f}")


if __name__ == "__main__":
    main()
