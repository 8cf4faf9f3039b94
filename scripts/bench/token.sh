#!/usr/bin/env bash
# What the token costs keyward, on a throwaway SoftHSM token (docs/benchmark.md, "The token"):
#
#   1. start-up: wall time of `keyward check` (process start, config, token login, unsealing)
#      with one credential sealed to P-256, one sealed to RSA-3072, one whose HMAC key is on
#      the token — the median of BENCH_TOKEN_STARTS runs each;
#   2. examples/token_bench.rs: one vault opened (P-256, RSA), and signatures through the
#      SigningKey seam with the key on the token against the key in host memory (latency
#      percentiles on one thread, throughput on 1-8 threads);
#   3. the whole request path: `keyward serve` with the secret in memory and with the HMAC key
#      on the token, side by side, in front of the same mock Binance (scripts/mock_exchange.py,
#      which verifies every signature); a keep-alive client sends signed GETs one after another
#      (BENCH_TOKEN_REQUESTS per round, rounds alternating between the two), and the difference
#      of the percentiles is what in-token signing adds to a request.
#
# Writes target/bench/token.md (or $BENCH_OUT/token.md) and prints it. Run alone, or from
# scripts/bench.sh (BENCH_TOKEN=1). Settings: KEYWARD_BIN, KEYWARD_TOKEN_BENCH_BIN (prebuilt
# binaries; otherwise `cargo build --release`), BENCH_TOKEN_SECONDS (per micro-benchmark, 3),
# BENCH_TOKEN_STARTS (5), BENCH_TOKEN_REQUESTS (500), BENCH_TOKEN_ROUNDS (4), BENCH_KEEP=1 (keep
# the work folder: token, configs, logs, audit files).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

SECONDS_PER_RUN=${BENCH_TOKEN_SECONDS:-3}
STARTS=${BENCH_TOKEN_STARTS:-5}
REQUESTS=${BENCH_TOKEN_REQUESTS:-500}
ROUNDS=${BENCH_TOKEN_ROUNDS:-4}
out=${BENCH_OUT:-$repo/target/bench}
mkdir -p "$out"

pids=()
work=""
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$work" ] && [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "kept the work folder: $work"
  elif [ -n "$work" ]; then
    rm -rf "$work"
  fi
  [ "$rc" -ne 0 ] && echo "token benchmark FAILED (exit $rc)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kw_ensure_system_deps
module=$(kw_softhsm_module)
if [ -n "${KEYWARD_BIN:-}" ] && [ -n "${KEYWARD_TOKEN_BENCH_BIN:-}" ]; then
  KW=$KEYWARD_BIN
  BENCH=$KEYWARD_TOKEN_BENCH_BIN
else
  kw_log "cargo build --release --bin keyward --example token_bench"
  cargo build --release --bin keyward --example token_bench
  KW=${KEYWARD_BIN:-$repo/target/release/keyward}
  BENCH=${KEYWARD_TOKEN_BENCH_BIN:-$repo/target/release/examples/token_bench}
fi
PY=$(kw_python "$repo")

work=$(mktemp -d "$out/token-work.XXXXXX")
chmod 700 "$work"
kw_softhsm_conf "$work/tokens" "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
export NO_COLOR=1
pin=$(openssl rand -hex 8)
for label in keyward bench; do
  softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$(openssl rand -hex 8)" >/dev/null
done
(umask 077 && printf '%s\n' "$pin" > "$work/pin.txt")

report="$out/token.md"
{
  echo "## The token (SoftHSM $(softhsm2-util --version), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), keyward $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} > "$report"

# ---- 1. start-up -------------------------------------------------------------------------------
api_key="benchKey$(openssl rand -hex 28)"
secret="benchSecret$(openssl rand -hex 26)"
client_token=$("$KW" client-token --name bench-bot 2>/dev/null | head -n1 | tr -d '[:space:]')
token_sha=$(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)

upstream_ca="$work/ca/ca.pem"
"$repo/scripts/make_test_ca.sh" "$work/ca" >/dev/null
printf '{"%s": "%s"}' "$api_key" "$secret" > "$work/mock-credentials.json"
"$PY" "$repo/scripts/mock_exchange.py" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
  --port 0 --credentials "$work/mock-credentials.json" --record "$work/mock.jsonl" \
  > "$work/mock.out" 2> "$work/mock.log" &
pids+=("$!")
for _ in $(seq 1 100); do grep -q 'listening on' "$work/mock.out" 2>/dev/null && break; sleep 0.1; done
mock_port=$(grep -oE '[0-9]+' "$work/mock.out" | head -n1)
[ -n "$mock_port" ] || kw_die "the mock exchange did not start: $(cat "$work/mock.log")"

config() { # config NAME OBJECT -> keyward-NAME.toml with one credential vault/NAME.kwv
  cat > "$work/keyward-$1.toml" <<TOML
[server]
listen = "127.0.0.1:0"

[token]
module = "$module"
uri = "pkcs11:token=keyward;object=$2"
pin = { file = "pin.txt" }

[audit]
path = "audit-$1.jsonl"
# unkeyed: the checkpoints' token signatures are not what this measures
unkeyed = true

[[credential]]
name = "binance-main"
exchange = "binance"
vault = "vault/$1.kwv"
upstream = { base = "https://127.0.0.1:$mock_port", ca = "ca/ca.pem" }

[[client]]
name = "bench-bot"
token_sha256 = "$token_sha"
credential = "binance-main"
allow = ["binance:read"]
TOML
}
config sealed-p256 seal-p256
config sealed-rsa seal-rsa
config in-token seal-p256
"$KW" keygen --config "$work/keyward-sealed-p256.toml" --out "$work/p256.txt" >/dev/null 2>&1
"$KW" keygen --config "$work/keyward-sealed-rsa.toml" --algorithm rsa3072 --out "$work/rsa.txt" >/dev/null 2>&1
for v in p256 rsa; do
  printf '%s\n%s\n' "$api_key" "$secret" | "$KW" seal --recipient "$work/$v.txt" --name binance-main \
    --exchange binance --out "$work/vault/sealed-$v.kwv" 2>/dev/null >/dev/null
done
printf '%s\n%s\n' "$api_key" "$secret" | "$KW" import --config "$work/keyward-in-token.toml" \
  --name binance-main --exchange binance --in-token --out "$work/vault/in-token.kwv" 2>/dev/null >/dev/null
for v in sealed-p256 sealed-rsa in-token; do # pin each vault just written
  sed -i "/^vault = \"vault\/$v.kwv\"\$/a $("$KW" digest "$work/vault/$v.kwv")" "$work/keyward-$v.toml"
done

"$PY" - "$KW" "$work" "$STARTS" >> "$report" <<'PY'
import statistics, subprocess, sys, time
kw, work, starts = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [("sealed, P-256 (ECDH in the token)", "sealed-p256"),
        ("sealed, RSA-3072 (OAEP in the token)", "sealed-rsa"),
        ("in-token HMAC key (P-256 vault for the API key, one HMAC to check the key)", "in-token")]
print(f"### Start-up: `keyward check` with one credential (median of {starts} runs)\n")
print("Process start, configuration, token login, unsealing (and for the in-token key, the start-up")
print("HMAC that proves the key is there), summary.\n")
print("| credential | wall time | min | max |")
print("| --- | ---: | ---: | ---: |")
for label, name in rows:
    times = []
    for _ in range(starts):
        t = time.perf_counter()
        cp = subprocess.run([kw, "check", "--config", f"{work}/keyward-{name}.toml"],
                            capture_output=True, text=True, cwd=work)
        times.append(time.perf_counter() - t)
        if cp.returncode != 0:
            sys.exit(f"keyward check failed for {name}: {cp.stderr}")
    print(f"| {label} | {statistics.median(times) * 1000:.1f} ms | {min(times) * 1000:.1f} ms | {max(times) * 1000:.1f} ms |")
print()
PY

# ---- 2. micro-benchmarks -------------------------------------------------------------------
kw_log "token_bench (${SECONDS_PER_RUN} s per run)"
"$BENCH" "$module" bench "$work/pin.txt" "$SECONDS_PER_RUN" >> "$report"
echo >> "$report"

# ---- 3. the whole request path -------------------------------------------------------------
declare -A port
for v in sealed-p256 in-token; do
  "$KW" serve --config "$work/keyward-$v.toml" > "$work/serve-$v.log" 2>&1 &
  p=$!
  pids+=("$p")
  for _ in $(seq 1 300); do
    port[$v]=$(grep -oE 'listening on[^0-9]*([0-9.]+:)?[0-9]+' "$work/serve-$v.log" 2>/dev/null \
      | head -n1 | grep -oE '[0-9]+$' || true)
    [ -n "${port[$v]}" ] && break
    kill -0 "$p" 2>/dev/null || kw_die "keyward serve ($v) exited: $(cat "$work/serve-$v.log")"
    sleep 0.1
  done
  [ -n "${port[$v]}" ] || kw_die "keyward serve ($v) did not start"
done
kw_log "request path: $ROUNDS rounds of $REQUESTS sequential requests per variant"
"$PY" - "$client_token" "${port[sealed-p256]}" "${port[in-token]}" "$REQUESTS" "$ROUNDS" "$work/mock.jsonl" >> "$report" <<'PY'
import http.client, json, statistics, sys, time
token, sealed_port, token_port, n, rounds, record = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
path = "/binance-main/api/v3/account?recvWindow=5000&timestamp=1700000000000&signature=" + "0" * 64
def run(port, count):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for _ in range(count):
        t = time.perf_counter()
        c.request("GET", path, headers={"X-MBX-APIKEY": token})
        r = c.getresponse(); r.read()
        out.append(time.perf_counter() - t)
        if r.status != 200:
            sys.exit(f"status {r.status} from port {port}")
    c.close()
    return out
run(sealed_port, 50); run(token_port, 50)  # warm-up: connections, handle cache
res = {"secret in host memory": [], "HMAC key on the token": []}
for _ in range(rounds):
    res["secret in host memory"] += run(sealed_port, n)
    res["HMAC key on the token"] += run(token_port, n)
recs = [json.loads(l) for l in open(record) if l.strip()]
bad = [r for r in recs if not r.get("verified")]
if bad:
    sys.exit(f"{len(bad)} requests were not verified by the mock")
q = lambda xs, p: sorted(xs)[int(round((len(xs) - 1) * p))] * 1e6
print(f"### The whole request path (keep-alive client, {rounds} x {n} sequential signed GETs per variant, alternating)\n")
print("Client → keyward (route, auth, canonicalise, policy, audit, **sign**, forward over TLS) → mock")
print(f"Binance (Python; verifies every signature: {len(recs)} verified). The mock dominates the total;")
print("the difference between the rows is what signing on the token adds to a request.\n")
print("| signing key | requests | p50 | p90 | p99 |")
print("| --- | ---: | ---: | ---: | ---: |")
for k, xs in res.items():
    print(f"| {k} | {len(xs)} | {q(xs, .5):.0f} µs | {q(xs, .9):.0f} µs | {q(xs, .99):.0f} µs |")
a, b = res["secret in host memory"], res["HMAC key on the token"]
print(f"| **added by the token** | | **{q(b, .5) - q(a, .5):.0f} µs** | {q(b, .9) - q(a, .9):.0f} µs | {q(b, .99) - q(a, .99):.0f} µs |")
print()
PY
for v in sealed-p256 in-token; do
  if grep -qF -e "$secret" "$work/serve-$v.log" "$work/audit-$v.jsonl"; then
    kw_die "the secret appears in keyward's log or audit file ($v)"
  fi
done
cat "$report"
echo
echo "written: $report"
