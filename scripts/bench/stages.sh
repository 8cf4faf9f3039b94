#!/usr/bin/env bash
# The stage benchmarks (docs/benchmark.md, "Stage benchmarks"): runs the criterion benchmarks
# benches/stages.rs (canonicalise, decide, sign, audit append, the pipeline without the network,
# per exchange) and benches/token.rs (HMAC with the key on a throwaway SoftHSM token against
# the key in memory, concurrently, and each exchange signed in the token), then writes their
# medians as Markdown tables to target/bench/stages.md (or $BENCH_OUT/stages.md) and prints it,
# with benches/allocations.rs's heap allocations per request of each stage.
# A measurement, not a test: nothing asserts on the numbers.
#
# Settings: BENCH_WARMUP (seconds per benchmark, 0.5), BENCH_MEASURE (seconds, 1.5),
# BENCH_ONLY (a criterion filter, e.g. `pipeline` or `hmac_tokio`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

WARMUP=${BENCH_WARMUP:-0.5}
MEASURE=${BENCH_MEASURE:-1.5}
out=${BENCH_OUT:-$repo/target/bench}
mkdir -p "$out"
kw_ensure_system_deps
PY=$(kw_python "$repo")

target=${CARGO_TARGET_DIR:-$repo/target}
rm -rf "$target/criterion"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
kw_log "cargo bench --bench stages --bench token (warm-up ${WARMUP} s, measurement ${MEASURE} s each)"
# shellcheck disable=SC2086
cargo bench --bench stages --bench token -- --warm-up-time "$WARMUP" \
  --measurement-time "$MEASURE" --noplot ${BENCH_ONLY:-}

report="$out/stages.md"
"$PY" - "$target/criterion" "$load_before" "$(git describe --always --dirty 2>/dev/null || echo unknown)" > "$report" <<'PY'
import glob, json, os, sys
from datetime import datetime, timezone
root, load, version = sys.argv[1], sys.argv[2], sys.argv[3]
ns = {}
for bench in glob.glob(f"{root}/**/new/benchmark.json", recursive=True):
    full = json.load(open(bench))["full_id"]
    est = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))
    ns[full] = est["median"]["point_estimate"]

def fmt(v):
    if v is None:
        return "–"
    return f"{v:,.0f} ns" if v < 10_000 else f"{v / 1000:,.1f} µs"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"### Stage benchmarks ({os.cpu_count()} CPUs: {cpu})\n")
print(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}, keyward {version}, load average before: {load}. "
      "Criterion medians, time per request.\n")
order = ["binance", "okx", "bybit", "coinbase", "kraken", "kucoin", "gate", "bitget", "bitmex",
         "deribit", "alpaca"]
exchanges = sorted({k.split("/")[1] for k in ns if k.startswith("canonicalise/")},
                   key=lambda e: order.index(e) if e in order else len(order))
stages = [("canonicalise", "canonicalise"), ("decide", "decide"), ("sign", "sign (memory)"),
          ("sign_in_token", "sign (SoftHSM)"), ("audit", "audit append"), ("pipeline", "pipeline")]
print("| exchange | " + " | ".join(label for _, label in stages) + " |")
print("| --- |" + " ---: |" * len(stages))
for e in exchanges:
    print(f"| {e} | " + " | ".join(fmt(ns.get(f"{s}/{e}")) for s, _ in stages) + " |")
print()
if "hmac/on_token" in ns:
    print("### HMAC-SHA256 of an order's payload: in memory and on the token\n")
    print(f"One at a time: in memory {fmt(ns['hmac/in_memory'])}, on SoftHSM {fmt(ns['hmac/on_token'])}.\n")
    threads = sorted({int(k.rsplit("/", 1)[1]) for k in ns if k.startswith("hmac_threads/")})
    print("Rate with n at once (HMACs per second, from wall time per HMAC):\n")
    print("| key, how | " + " | ".join(f"n = {n}" for n in threads) + " |")
    print("| --- |" + " ---: |" * len(threads))
    def rate(key):
        v = ns.get(key)
        return "–" if v is None else f"{1e9 / v:,.0f}"
    for place in ["in_memory", "on_token"]:
        print(f"| {place.replace('_', ' ')}, plain threads | " + " | ".join(rate(f"hmac_threads/{place}/{n}") for n in threads) + " |")
        for how in ["inline", "block_in_place", "spawn_blocking"]:
            print(f"| {place.replace('_', ' ')}, tokio tasks, {how} | " + " | ".join(rate(f"hmac_tokio/{place}/{how}/{n}") for n in threads) + " |")
    print()
PY
# Allocations per request of each stage (a counting global allocator; no timing).
cargo bench --bench allocations 2>/dev/null | sed -n '/^###/,$p' >> "$report"
cat "$report"
echo
echo "written: $report"
