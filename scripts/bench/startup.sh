#!/usr/bin/env bash
# Start-up time with many credentials on a throwaway SoftHSM token (docs/benchmark.md,
# "Start-up"). A measurement, not a test: nothing asserts on the numbers.
#
# For each variant — BENCH_CREDENTIALS (10) Binance credentials sealed to the token's P-256 key,
# and as many whose HMAC key is on the token (`keyward import --in-token`) — it measures, the
# median, min and max of BENCH_STARTS (7) runs:
#
#   * `keyward check`: process start, configuration, token login, every vault opened, summary;
#   * `keyward serve` until `GET /readyz` answers 200: the same, plus the audit log, the async
#     runtime, the key-permission self-check of every credential against the mock exchange
#     (scripts/mock_exchange.py, which verifies each signature) and the listener.
#
# Then it prints where the serve time goes, from keyward's own log lines (elapsed since the
# process started, read from its timestamps).
#
# Writes target/bench/startup.md (or $BENCH_OUT/startup.md) and prints it. Settings: KEYWARD_BIN
# (a prebuilt binary; otherwise `cargo build --release --bin keyward`), BENCH_CREDENTIALS,
# BENCH_STARTS, BENCH_KEEP=1 (keep the work folder).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

COUNT=${BENCH_CREDENTIALS:-10}
STARTS=${BENCH_STARTS:-7}
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
  [ "$rc" -ne 0 ] && echo "start-up benchmark FAILED (exit $rc)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kw_ensure_system_deps
module=$(kw_softhsm_module)
if [ -n "${KEYWARD_BIN:-}" ]; then
  KW=$(cd "$(dirname "$KEYWARD_BIN")" && pwd)/$(basename "$KEYWARD_BIN")
else
  kw_log "cargo build --release --bin keyward"
  cargo build --release --bin keyward
  KW=$repo/target/release/keyward
fi
PY=$(kw_python "$repo")

work=$(mktemp -d "$out/startup-work.XXXXXX")
chmod 700 "$work"
kw_softhsm_conf "$work/tokens" "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
export NO_COLOR=1
pin=$(openssl rand -hex 8)
softhsm2-util --init-token --free --label keyward --pin "$pin" --so-pin "$(openssl rand -hex 8)" >/dev/null
(umask 077 && printf '%s\n' "$pin" > "$work/pin.txt")
mkdir -p "$work/vault"

client_token=$("$KW" client-token --name bench-bot 2>/dev/null | head -n1 | tr -d '[:space:]')
token_sha=$(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
"$repo/scripts/make_test_ca.sh" "$work/ca" >/dev/null

# One API key and secret per credential; the mock knows them all.
declare -a keys secrets
for i in $(seq 1 "$COUNT"); do
  keys[i]="benchKey${i}x$(openssl rand -hex 26)"
  secrets[i]="benchSecret${i}x$(openssl rand -hex 24)"
done
"$PY" - "$work/mock-credentials.json" "${keys[@]:1}" -- "${secrets[@]:1}" <<'PY'
import json, sys
args = sys.argv[2:]
cut = args.index("--")
json.dump(dict(zip(args[:cut], args[cut + 1:])), open(sys.argv[1], "w"))
PY
"$PY" "$repo/scripts/mock_exchange.py" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
  --port 0 --credentials "$work/mock-credentials.json" --record "$work/mock.jsonl" \
  > "$work/mock.out" 2> "$work/mock.log" &
pids+=("$!")
for _ in $(seq 1 100); do grep -q 'listening on' "$work/mock.out" 2>/dev/null && break; sleep 0.1; done
mock_port=$(grep -oE '[0-9]+' "$work/mock.out" | head -n1)
[ -n "$mock_port" ] || kw_die "the mock exchange did not start: $(cat "$work/mock.log")"

header() { # header VARIANT -> the config's head; the listen port is filled in per run
  cat <<TOML
[server]
listen = "127.0.0.1:@PORT@"

[token]
module = "$module"
uri = "pkcs11:token=keyward;object=seal-p256"
pin = { file = "pin.txt" }

[audit]
path = "audit-$1.jsonl"
# unkeyed: the checkpoints' token signatures are not what this measures
unkeyed = true

[admin]
listen = "127.0.0.1:@ADMIN@"
token_sha256 = "$token_sha"
open_probes = true

[[client]]
name = "bench-bot"
token_sha256 = "$token_sha"
credential = "binance-1"
allow = ["binance:read"]
TOML
}
header sealed | sed 's/@PORT@/0/; s/@ADMIN@/0/' > "$work/keygen.toml"
"$KW" keygen --config "$work/keygen.toml" --out "$work/p256.txt" >/dev/null 2>&1
for variant in sealed in-token; do
  header "$variant" > "$work/keyward-$variant.toml.in"
done
(cd "$work" && sed 's/@PORT@/0/; s/@ADMIN@/0/' keyward-in-token.toml.in > import.toml)
for i in $(seq 1 "$COUNT"); do
  printf '%s\n%s\n' "${keys[i]}" "${secrets[i]}" | "$KW" seal --recipient "$work/p256.txt" \
    --name "binance-$i" --exchange binance --out "$work/vault/sealed-$i.kwv" >/dev/null 2>&1
  (cd "$work" && printf '%s\n%s\n' "${keys[i]}" "${secrets[i]}" | "$KW" import --config import.toml \
    --name "binance-$i" --exchange binance --in-token --out "vault/in-token-$i.kwv" >/dev/null 2>&1)
  for variant in sealed in-token; do
    cat >> "$work/keyward-$variant.toml.in" <<TOML

[[credential]]
name = "binance-$i"
exchange = "binance"
vault = "vault/$variant-$i.kwv"
$("$KW" digest "$work/vault/$variant-$i.kwv")
upstream = { base = "https://127.0.0.1:$mock_port", ca = "ca/ca.pem" }
TOML
  done
done

report="$out/startup.md"
kw_log "start-up: $STARTS runs per variant, $COUNT credentials"
"$PY" - "$KW" "$work" "$STARTS" "$COUNT" "$client_token" > "$report" <<'PY'
import json, os, re, signal, socket, statistics, subprocess, sys, time, http.client
from datetime import datetime
kw, work, starts, count, client = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def config(variant, port, admin=0):
    text = open(f"{work}/keyward-{variant}.toml.in").read()
    text = text.replace("@PORT@", str(port)).replace("@ADMIN@", str(admin))
    path = f"{work}/keyward-{variant}.toml"
    open(path, "w").write(text)
    return path

def check(variant):
    path = config(variant, 0)
    t = time.perf_counter()
    cp = subprocess.run([kw, "check", "--config", path], capture_output=True, text=True, cwd=work)
    took = time.perf_counter() - t
    if cp.returncode != 0:
        sys.exit(f"keyward check failed ({variant}): {cp.stderr}")
    return took

def ok(port, path, headers={}):
    """Whether GET path on port answers 200."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path, headers=dict(headers, Host=f"127.0.0.1:{port}"))
        r = c.getresponse(); r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False

SIGNED = "/binance-1/api/v3/account?timestamp=1700000000000&signature=" + "0" * 64

def serve(variant):
    """Seconds until the admin listener's /readyz answers 200, and until a signed request
    through the proxy does (the mock verified its signature)."""
    port, admin = free_port(), free_port()
    path = config(variant, port, admin)
    logfile = f"{work}/serve-{variant}.log"
    log = open(logfile, "w")
    env = dict(os.environ, RUST_LOG="info")
    t = time.perf_counter()
    p = subprocess.Popen([kw, "serve", "--config", path], cwd=work, stdout=log, stderr=log, env=env)
    def until(port, path, headers={}):
        while not ok(port, path, headers):
            if p.poll() is not None:
                sys.exit(f"keyward serve exited ({variant}): {open(logfile).read()[-2000:]}")
            if time.perf_counter() - t > 30:
                sys.exit(f"keyward serve: no 200 for {path} in 30 s ({variant}): {open(logfile).read()[-2000:]}")
            time.sleep(0.002)
        return time.perf_counter() - t
    try:
        return until(admin, "/readyz"), until(port, SIGNED, {"X-MBX-APIKEY": client})
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        log.close()

def row(label, times):
    ms = [t * 1000 for t in times]
    return f"| {label} | {statistics.median(ms):.0f} ms | {min(ms):.0f} ms | {max(ms):.0f} ms |"

variants = [("sealed", f"{count} sealed to P-256 (ECDH in the token)"),
            ("in-token", f"{count} with the HMAC key on the token")]
print(f"### Start-up with {count} Binance credentials on SoftHSM (median of {starts} runs)\n")
print(f"{datetime.utcnow():%Y-%m-%dT%H:%M:%SZ}, load average before: {open('/proc/loadavg').read().split()[:3]}\n")
print("| what | median | min | max |")
print("| --- | ---: | ---: | ---: |")
for variant, label in variants:
    print(row(f"`keyward check`, {label}", [check(variant) for _ in range(starts)]))
for variant, label in variants:
    runs = [serve(variant) for _ in range(starts)]
    print(row(f"`keyward serve` until `/readyz` is 200, {label}", [r[0] for r in runs]))
    print(row(f"`keyward serve` until a signed request is answered 200, {label}", [r[1] for r in runs]))
print()

# Where serve's time goes: keyward's log lines, timed from the first one.
print("Where `keyward serve`'s start-up goes (one more run of each, from keyward's log timestamps):\n")
for variant, label in variants:
    total = serve(variant)[1]
    logfile = f"{work}/serve-{variant}.log"
    first, lines = None, []
    for line in open(logfile):
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\s+(\w+)\s+(.*)", line)
        if not m:
            continue
        at = datetime.fromisoformat(m.group(1)[:26])
        first = first or at
        lines.append(((at - first).total_seconds() * 1000, m.group(3)[:110]))
    print(f"* {label} (first signed request answered after {total * 1000:.0f} ms; times from the first log line):")
    versions = [ms for ms, text in lines if "key version" in text]
    for ms, text in [l for l in lines if "key version" not in l[1]][:10]:
        print(f"  * +{ms:.0f} ms: {text}")
    if versions:
        print(f"  * +{versions[0]:.0f}–{versions[-1]:.0f} ms: {len(versions)} lines `key version …` (one per credential)")
print()
PY
cat "$report"
echo
echo "written: $report"
