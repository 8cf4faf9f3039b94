#!/usr/bin/env bash
# The benchmark: keyward's added latency and its throughput, compared on the same run with a
# direct connection to the "exchange" and with nginx as a plain reverse proxy. See
# docs/benchmark.md for what is measured and how to read the table.
#
#   1. install what is missing: softhsm2/openssl (scripts/lib.sh), nginx and wrk (apt-get),
#      oha (`cargo install oha --locked`, into target/bench/tools; a few minutes on 2 cores);
#      with BENCH_PROFILE=1 also perf (apt-get linux-perf) and inferno (cargo install)
#   2. build keyward in release mode (a few minutes on 2 cores), or use KEYWARD_BIN
#   3. start the upstream "exchange": nginx over TLS (test CA), a fixed JSON answer for any path
#   4. start keyward (throwaway SoftHSM token, sealed credential, client token) with the audit
#      log's fsync off, a second keyward with fsync on, a third whose HMAC key is on the token,
#      and nginx as a plain reverse proxy (HTTP in, pooled keep-alive TLS to the same upstream)
#   5. measure each path with a signed Binance order (POST /fapi/v1/order; policy, HMAC, audit):
#      latency percentiles at fixed rates (oha -q RATE --latency-correction), throughput at
#      saturation (wrk, 64 connections), CPU per request and resident memory of each server;
#      then a soak of keyward at 5k req/s with its resident memory sampled every second
#   6. write target/bench/results.md, results.json, results.png (and raw outputs under
#      target/bench/raw/), print the table; BENCH_PROFILE=1 adds a flame graph of keyward
#
# Everything listens on 127.0.0.1 only and is stopped on exit. About 5 minutes after the builds.
#
# Settings (environment):
#   KEYWARD_BIN=PATH              use this keyward binary instead of `cargo build --release`
#   BENCH_DURATION=10             seconds per measurement
#   BENCH_WARMUP=2                seconds of unrecorded load before each measurement
#   BENCH_RATES="200 1000"        fixed request rates (req/s) for the latency runs ("" for none)
#   BENCH_RATE_CONNECTIONS=16     connections used by the fixed-rate runs
#   BENCH_CONNECTIONS=64          connections used by the saturation runs
#   BENCH_REQUEST=order|read      the bot's request: a signed LIMIT order (POST /fapi/v1/order,
#                                 default) or a signed account read (GET /fapi/v2/account)
#   BENCH_FSYNC="off on"          keyward audit fsync settings to measure ("off" for a quicker run)
#   BENCH_TARGETS="direct nginx keyward keyward-token"   which paths to measure (keyward-token:
#                                 keyward, fsync off, with the HMAC key on the SoftHSM token)
#   BENCH_SOAK_SECONDS=60         the soak's length (0: no soak; 600 for the 10-minute soak)
#   BENCH_SOAK_RATE=5000          the soak's rate (req/s)
#   BENCH_SAT_TOOL=wrk|oha        the saturation load generator (default wrk, oha if wrk is missing)
#   BENCH_PIN=auto|0              auto: on >= 2 CPUs, the load generator runs on the last CPU and
#                                 every server on the others (taskset); 0: no pinning
#   BENCH_PROFILE=1               also profile keyward at saturation (perf record -g) into
#                                 flamegraph-<target>.svg and profile-<target>.txt
#   BENCH_PROFILE_TARGET=keyward-fsync-off   which keyward to profile; BENCH_PROFILE_HZ=999
#   BENCH_CHART=1                 draw results.png (matplotlib, in target/bench/plot-venv); 0: no
#   BENCH_OUT=DIR                 output folder (default target/bench)
#   BENCH_KEEP=1                  keep the work folder (token, configs, audit logs, nginx logs)
#   BENCH_TOKEN=1                 also run scripts/bench/token.sh (start-up unsealing with P-256 and
#                                 RSA, in-token signing against host memory; writes token.md)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
RATES=${BENCH_RATES-"200 1000"}
REQUEST=${BENCH_REQUEST:-order}
RATE_CONNS=${BENCH_RATE_CONNECTIONS:-16}
SAT_CONNS=${BENCH_CONNECTIONS:-64}
FSYNC_MODES=${BENCH_FSYNC:-"off on"}
TARGETS=${BENCH_TARGETS:-"direct nginx keyward keyward-token"}
PIN=${BENCH_PIN:-auto}
OHA_VERSION=${BENCH_OHA_VERSION:-1.16.0}
SOAK_SECONDS=${BENCH_SOAK_SECONDS:-60}
SOAK_RATE=${BENCH_SOAK_RATE:-5000}
PROFILE=${BENCH_PROFILE:-0}
PROFILE_TARGET=${BENCH_PROFILE_TARGET:-keyward-fsync-off}
PROFILE_HZ=${BENCH_PROFILE_HZ:-999}
INFERNO_VERSION=${BENCH_INFERNO_VERSION:-0.12.8}
CHART=${BENCH_CHART:-1}
MATPLOTLIB_VERSION=${BENCH_MATPLOTLIB_VERSION:-3.11.2}
out=${BENCH_OUT:-$repo/target/bench}

say() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# cleanup: stop everything this script started (by pid), remove the work folder
pids=()
work=""
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$work" ] && [ -d "$work" ]; then
    # keep the servers' logs next to the results (their last lines: the access log and
    # keyward's log have a line per request)
    mkdir -p "$out/logs"
    for p in "$work"/*.log; do
      [ -f "$p" ] && tail -n 100 "$p" > "$out/logs/$(basename "$p")"
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
      echo "kept the work folder: $work"
    else
      rm -rf "$work"
    fi
  fi
  if [ "$rc" -ne 0 ]; then echo "benchmark FAILED (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
say "1. Dependencies"
kw_ensure_system_deps
module=$(kw_softhsm_module)
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
kw_apt_install "${missing[@]}"
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || kw_die "nginx not found after installing it"

if command -v oha >/dev/null 2>&1; then
  OHA=$(command -v oha)
elif [ -x "$repo/target/bench/tools/bin/oha" ]; then
  OHA="$repo/target/bench/tools/bin/oha"
else
  command -v cargo >/dev/null 2>&1 || kw_die "cargo not found: install Rust (https://rustup.rs) to build oha"
  kw_log "cargo install oha@$OHA_VERSION --locked (into target/bench/tools; takes a few minutes on 2 cores)"
  cargo install oha --version "$OHA_VERSION" --locked --root "$repo/target/bench/tools" \
    || kw_die "cargo install oha failed"
  OHA="$repo/target/bench/tools/bin/oha"
fi
"$OHA" --version >/dev/null 2>&1 || kw_die "$OHA does not run"
INFERNO="$repo/target/bench/tools/bin"
if [ "$PROFILE" = 1 ]; then
  command -v perf >/dev/null 2>&1 || kw_apt_install linux-perf
  if [ ! -x "$INFERNO/inferno-flamegraph" ]; then
    kw_log "cargo install inferno@$INFERNO_VERSION --locked (into target/bench/tools)"
    cargo install inferno --version "$INFERNO_VERSION" --locked --root "$repo/target/bench/tools" \
      || kw_die "cargo install inferno failed"
  fi
fi
plot_has_deps() { "$1" -c 'import matplotlib' >/dev/null 2>&1; }
SAT_TOOL=${BENCH_SAT_TOOL:-wrk}
if [ "$SAT_TOOL" = wrk ] && ! command -v wrk >/dev/null 2>&1; then SAT_TOOL=oha; fi
echo "nginx: $NGINX   oha: $OHA   saturation tool: $SAT_TOOL"

# ---------------------------------------------------------------------------------------------
say "2. keyward (release build)"
if [ -n "${KEYWARD_BIN:-}" ]; then
  KW=$KEYWARD_BIN
  echo "using KEYWARD_BIN=$KW"
else
  command -v cargo >/dev/null 2>&1 || kw_die "cargo not found: install Rust >= 1.89 (https://rustup.rs)"
  kw_log "cargo build --release --bin keyward (a few minutes on 2 cores the first time)"
  cargo build --release --bin keyward
  target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
    || echo "$repo/target")
  KW="$target_dir/release/keyward"
fi
[ -x "$KW" ] || kw_die "$KW is not an executable"

# ---------------------------------------------------------------------------------------------
# CPU placement
ncpu=$(nproc)
loadgen_cpus=""
server_cpus=""
if [ "$PIN" != 0 ] && [ "$ncpu" -ge 2 ]; then
  loadgen_cpus=$((ncpu - 1))
  server_cpus="0-$((ncpu - 2))"
  n_server_cpus=$((ncpu - 1))
  n_loadgen_cpus=1
  pin_desc="load generator on CPU $loadgen_cpus, all servers on CPU(s) $server_cpus (taskset)"
else
  n_server_cpus=$ncpu
  n_loadgen_cpus=$ncpu
  pin_desc="no pinning: load generator and servers share all $ncpu CPU(s)"
fi
# Command prefixes. Servers are started as `"${on_servers[@]}" CMD &` (a simple command, so $! is
# the server's own pid: taskset execs it), never through a function (that would fork a subshell).
on_servers=()
on_loadgen=()
if [ -n "$server_cpus" ]; then
  on_servers=(taskset -c "$server_cpus")
  on_loadgen=(taskset -c "$loadgen_cpus")
fi
echo "$pin_desc"

mkdir -p "$out"
rm -rf "$out/raw" "$out/logs" "$out/results.md" "$out/results.json" "$out/results.png" "$out/runs.tsv" "$out/machine.txt"
mkdir -p "$out/raw" "$out/logs"
work=$(mktemp -d "$out/work.XXXXXX")
chmod 700 "$work"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http NAME PID URL [curl args...] — wait up to 20 s for URL to answer 200
wait_http() {
  local name=$1 pid=$2 url=$3 i code
  shift 3
  for i in $(seq 1 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true)
    if [ "$code" = 200 ]; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      kw_die "$name exited before answering (see $out/logs/)"
    fi
    sleep 0.1
  done
  kw_die "$name did not answer 200 at $url within 20 s (last status: ${code:-none})"
}

# wait_listening LOGFILE PID NAME — print the port keyward logged ("listening on ADDR")
wait_listening() {
  local file=$1 pid=$2 name=$3 i port
  for i in $(seq 1 300); do
    port=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$file" 2>/dev/null \
      | grep -oE 'listening on[^0-9]*([0-9.]+:)?[0-9]+' | head -n1 | grep -oE '[0-9]+$' || true)
    if [ -n "$port" ]; then printf '%s\n' "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; kw_die "$name exited before listening"; }
    sleep 0.1
  done
  cat "$file" >&2
  kw_die "$name did not start within 30 s"
}

# ---------------------------------------------------------------------------------------------
say "3. The upstream \"exchange\" (nginx, TLS, fixed JSON answer)"
"$repo/scripts/make_test_ca.sh" "$work/ca"
up_port=$(free_port)
mkdir -p "$work/nginx-up"
sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$up_port|g" -e "s|@WORKERS@|$n_server_cpus|g" \
  "$repo/scripts/bench/upstream.conf.in" > "$work/upstream.conf"
"${on_servers[@]}" "$NGINX" -p "$work/nginx-up" -c "$work/upstream.conf" -e "$work/nginx-upstream-error.log" \
  > "$work/nginx-upstream.log" 2>&1 &
up_pid=$!
pids+=("$up_pid")
wait_http "upstream nginx" "$up_pid" "https://127.0.0.1:$up_port/api/v3/account" --cacert "$work/ca/ca.pem"
echo "upstream: https://127.0.0.1:$up_port (pid $up_pid, $n_server_cpus worker(s))"

# ---------------------------------------------------------------------------------------------
say "4. nginx as a plain reverse proxy"
px_port=$(free_port)
mkdir -p "$work/nginx-px"
sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$px_port|g" -e "s|@UPSTREAM_PORT@|$up_port|g" \
  -e "s|@WORKERS@|$n_server_cpus|g" -e "s|@CONNS@|$SAT_CONNS|g" \
  "$repo/scripts/bench/proxy.conf.in" > "$work/proxy.conf"
"${on_servers[@]}" "$NGINX" -p "$work/nginx-px" -c "$work/proxy.conf" -e "$work/nginx-proxy-error.log" \
  > "$work/nginx-proxy.log" 2>&1 &
px_pid=$!
pids+=("$px_pid")
wait_http "nginx proxy" "$px_pid" "http://127.0.0.1:$px_port/api/v3/account"
echo "nginx proxy: http://127.0.0.1:$px_port (pid $px_pid) -> upstream, keep-alive TLS pool"

# ---------------------------------------------------------------------------------------------
say "5. keyward (throwaway SoftHSM token, sealed credential, client token)"
kw_softhsm_conf "$work/tokens" "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
pin=$(openssl rand -hex 8)
softhsm2-util --init-token --free --label keyward --pin "$pin" --so-pin "$(openssl rand -hex 8)" >/dev/null
(umask 077 && printf '%s\n' "$pin" > "$work/pin.txt")
api_key="benchKey$(openssl rand -hex 28)"
secret="benchSecret$(openssl rand -hex 26)"
"$KW" client-token --name bench-bot > "$work/client-token.out"
client_token=$(head -n1 "$work/client-token.out" | tr -d '[:space:]')
token_sha=$(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)

write_config() { # write_config FILE AUDIT FSYNC VAULT — one credential from VAULT (pinned once sealed)
  local pin_line zeros
  zeros=$(printf '0%.0s' $(seq 64))
  pin_line="vault_sha256 = \"$zeros\"" # a placeholder until the vault is sealed
  if [ -f "$work/vault/$4.kwv" ]; then pin_line=$("$KW" digest "$work/vault/$4.kwv"); fi
  cat > "$1" <<TOML
[server]
listen = "127.0.0.1:0"

[token]
module = "$module"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = { file = "pin.txt" }

[audit]
path = "$2"
fsync = $3
# unkeyed: an audit chain without token-signed checkpoints (one ECDSA signature on the token
# per checkpoint_every records or checkpoint_interval_s otherwise)
unkeyed = true

[[credential]]
name = "binance-main"
exchange = "binance"
vault = "vault/$4.kwv"
$pin_line
upstream = { base = "https://127.0.0.1:$up_port", ca = "ca/ca.pem" }
# The stub upstream cannot answer the key-permission self-check (it answers the same JSON to
# every path), and it would add requests of keyward's own to the measurement.
permission_check = "off"
# The load far exceeds Binance's own request budgets (2400 weight/min per IP on USD-M futures):
# counted, almost every request would be keyward's 429 request_weight instead of the pipeline.
exchange_budgets = "off"

[[client]]
name = "bench-bot"
token_sha256 = "$token_sha"
credential = "binance-main"
allow = [
  "binance:read",
  { method = "POST", path = "/fapi/v1/order", params = { symbol = ["BTCUSDT"], side = ["BUY", "SELL"], type = ["LIMIT"] }, max = { quantity = "0.5" } },
]
TOML
}
write_config "$work/keyward-fsync-off.toml" audit-fsync-off.jsonl false binance-main
"$KW" keygen --config "$work/keyward-fsync-off.toml" --out "$work/recipient.txt" >/dev/null
printf '%s\n%s\n' "$api_key" "$secret" | "$KW" seal --recipient "$work/recipient.txt" \
  --name binance-main --exchange binance --out "$work/vault/binance-main.kwv" >/dev/null

# The variants: audit fsync off and on (secret unsealed into host memory), and fsync off with
# the HMAC key on the token (`keyward import --in-token`: every signature is a PKCS#11 call).
kw_wanted=()
for mode in $FSYNC_MODES; do
  case $mode in
    off | on) kw_wanted+=("keyward-fsync-$mode") ;;
    *) kw_die "BENCH_FSYNC: '$mode' is neither off nor on" ;;
  esac
done
case " $TARGETS " in *" keyward-token "*) kw_wanted+=(keyward-token) ;; esac
declare -A kw_port kw_pidof kw_audit
kw_variants=()
for v in "${kw_wanted[@]}"; do
  case $v in
    keyward-fsync-off) fs=false vault=binance-main ;;
    keyward-fsync-on) fs=true vault=binance-main ;;
    keyward-token) fs=false vault=in-token ;;
  esac
  kw_audit[$v]="audit-$v.jsonl"
  if [ "$vault" = in-token ] && [ ! -f "$work/vault/in-token.kwv" ]; then
    printf '%s\n%s\n' "$api_key" "$secret" | "$KW" import --config "$work/keyward-fsync-off.toml" \
      --name binance-main --exchange binance --in-token --out "$work/vault/in-token.kwv" >/dev/null 2>&1 \
      || kw_die "keyward import --in-token failed"
  fi
  write_config "$work/$v.toml" "${kw_audit[$v]}" "$fs" "$vault"
  "$KW" check --config "$work/$v.toml" > "$work/$v-check.log" 2>&1 \
    || { cat "$work/$v-check.log" >&2; kw_die "keyward check failed for $v"; }
  "${on_servers[@]}" "$KW" serve --config "$work/$v.toml" > "$work/$v.log" 2>&1 &
  p=$!
  pids+=("$p")
  kw_pidof[$v]=$p
  kw_port[$v]=$(wait_listening "$work/$v.log" "$p" "$v")
  wait_http "$v" "$p" "http://127.0.0.1:${kw_port[$v]}/binance-main/fapi/v2/account" \
    -H "X-MBX-APIKEY: $client_token"
  grep -q '"decision":"allow"' "$work/${kw_audit[$v]}" || kw_die "$v wrote no allow record"
  kw_variants+=("$v")
  echo "$v: http://127.0.0.1:${kw_port[$v]}/binance-main (pid $p)"
done

# ---------------------------------------------------------------------------------------------
# What each target is: URL, headers, the server processes whose CPU counts as "the proxy".
# The bot's request is what a client library sends (timestamp + signature): by default a signed
# LIMIT order (POST /fapi/v1/order, form body), with BENCH_REQUEST=read a signed account read
# (GET /fapi/v2/account). keyward strips both fields and signs again; the others pass them through.
fake_sig=$(openssl rand -hex 32)
signing="timestamp=1700000000000&recvWindow=5000&signature=$fake_sig"
# The paths are Binance USD-M futures': keyward counts Binance *spot* (/api/) request weight and
# answers 429 request_weight past 6000/min, as Binance would, so a spot order could not be
# measured past ~100 req/s. The futures order goes through the same stages (strict parse,
# the order model, the allowlist, the HMAC, both audit records).
case $REQUEST in
  order)
    req_method=POST
    req_path=/fapi/v1/order
    req_query=""
    req_body="symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&$signing"
    ;;
  read)
    req_method=GET
    req_path=/fapi/v2/account
    req_query="?$signing"
    req_body=""
    ;;
  *) kw_die "BENCH_REQUEST: '$REQUEST' is neither order nor read" ;;
esac
declare -A url hdr
targets=()
for t in $TARGETS; do
  case $t in
    direct)
      targets+=(direct)
      url[direct]="https://127.0.0.1:$up_port$req_path$req_query"
      hdr[direct]="X-MBX-APIKEY: $api_key"
      ;;
    nginx)
      targets+=(nginx)
      url[nginx]="http://127.0.0.1:$px_port$req_path$req_query"
      hdr[nginx]="X-MBX-APIKEY: $api_key"
      ;;
    keyward | keyward-token)
      for v in "${kw_variants[@]}"; do
        case $t:$v in keyward:keyward-token | keyward-token:keyward-fsync-*) continue ;; esac
        targets+=("$v")
        url[$v]="http://127.0.0.1:${kw_port[$v]}/binance-main$req_path$req_query"
        hdr[$v]="X-MBX-APIKEY: $client_token"
      done
      ;;
    *) kw_die "BENCH_TARGETS: unknown target '$t' (direct, nginx, keyward, keyward-token)" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || kw_die "no targets"
# One request of each target must be answered 200 before anything is measured.
for t in "${targets[@]}"; do
  body_args=()
  [ -n "$req_body" ] && body_args=(-H "Content-Type: application/x-www-form-urlencoded" --data-binary "$req_body")
  case ${url[$t]} in https:*) body_args+=(--cacert "$work/ca/ca.pem") ;; esac
  code=$(curl -s -o "$work/first-$t.out" -w '%{http_code}' --max-time 5 -X "$req_method" \
    -H "${hdr[$t]}" "${body_args[@]}" "${url[$t]}" || true)
  [ "$code" = 200 ] || kw_die "$t answered $code to the benchmark request: $(head -c 300 "$work/first-$t.out")"
done
echo "request: $req_method $req_path$req_query${req_body:+ (body: $req_body)}"

# CPU accounting from /proc (clock ticks): a process and its children (nginx workers).
CLK_TCK=$(getconf CLK_TCK)
ticks_of() { # ticks_of PID -> utime+stime of PID and all its descendants (nginx workers)
  local total=0 c line
  local -a f
  line=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  line=${line##*) }
  read -r -a f <<< "$line"
  total=$((f[11] + f[12]))
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(ticks_of "$c")))
  done
  echo "$total"
}
machine_ticks() { # -> "busy total" over all CPUs
  local -a f
  read -r -a f < /proc/stat
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + ${f[$i]:-0})); done
  echo "$((total - f[4] - f[5])) $total"
}
children_cpu() { # FILE -> CPU seconds (user+sys) of the shell's waited-for children, from `times`
  tail -n1 "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f\n", s }'
}
proxy_pid_of() {
  case $1 in
    direct) echo "" ;;
    nginx) echo "$px_pid" ;;
    *) echo "${kw_pidof[$1]}" ;;
  esac
}

{
  printf 'phase\ttarget\ttool\trate\tconnections\tduration\traw\tloadgen_cpu_s\tproxy_cpu_s\tupstream_cpu_s\tmachine_busy_s\tmachine_total_s\tproxy_rss_kib\n'
} > "$out/runs.tsv"

# The request's method and body for each load generator (wrk through scripts/bench/wrk.lua,
# which also prints the percentiles wrk's own output lacks: p99.9).
oha_req=(-m "$req_method")
[ -n "$req_body" ] && oha_req+=(-d "$req_body" -T application/x-www-form-urlencoded)
export BENCH_METHOD=$req_method BENCH_BODY=$req_body

# run_load KIND RATE TARGET DURATION OUTFILE — one load-generator run (KIND rate|sat)
run_load() {
  local kind=$1 rate=$2 t=$3 dur=$4 outfile=$5
  local -a tls=()
  case ${url[$t]} in https:*) tls=(--cacert "$work/ca/ca.pem") ;; esac
  if [ "$kind" = rate ]; then
    "${on_loadgen[@]}" "$OHA" -z "${dur}s" -q "$rate" --latency-correction -c "$RATE_CONNS" --wait-ongoing-requests-after-deadline \
      --worker-threads "$n_loadgen_cpus" --no-tui --output-format json -o "$outfile" \
      "${oha_req[@]}" "${tls[@]}" -H "${hdr[$t]}" "${url[$t]}" > /dev/null 2>&1
  elif [ "$SAT_TOOL" = wrk ]; then
    "${on_loadgen[@]}" wrk -t "$n_loadgen_cpus" -c "$SAT_CONNS" -d "${dur}s" --latency \
      -s "$repo/scripts/bench/wrk.lua" -H "${hdr[$t]}" "${url[$t]}" > "$outfile" 2>&1
  else
    "${on_loadgen[@]}" "$OHA" -z "${dur}s" -c "$SAT_CONNS" --worker-threads "$n_loadgen_cpus" --no-tui \
      --output-format json -o "$outfile" --wait-ongoing-requests-after-deadline \
      "${oha_req[@]}" "${tls[@]}" -H "${hdr[$t]}" "${url[$t]}" > /dev/null 2>&1
  fi
}

rss_of() { # rss_of PID -> resident KiB of PID and its descendants (nginx workers)
  local total=0 c kib
  kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  total=${kib:-0}
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(rss_of "$c")))
  done
  echo "$total"
}

# BENCH_PROFILE=1: one more saturation run against BENCH_PROFILE_TARGET (keyward, fsync off)
# under `perf record -g`, folded into a flame graph (inferno) next to the results. It is not one
# of the measurements (perf's sampling costs the process a few per cent).
profile() { # profile TARGET
  local t=$1 perf_pid
  [ -n "${kw_pidof[$t]:-}" ] || kw_die "BENCH_PROFILE_TARGET: $t is not a keyward variant being measured"
  perf record -F "$PROFILE_HZ" -g -p "${kw_pidof[$t]}" -o "$out/perf-$t.data" > "$work/perf-record.log" 2>&1 &
  perf_pid=$!
  sleep 0.5
  run_load sat max "$t" "$DURATION" "$out/raw/profile_$t.txt" || kw_die "the load generator failed (profile)"
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf script -i "$out/perf-$t.data" > "$work/perf.script" 2> /dev/null \
    || { cat "$work/perf-record.log" >&2; kw_die "perf record/script failed"; }
  "$INFERNO/inferno-collapse-perf" --all "$work/perf.script" > "$out/flamegraph-$t.folded"
  "$INFERNO/inferno-flamegraph" --title "keyward ($t): $req_method $req_path at saturation" \
    --width 1400 --minwidth 0.3 < "$out/flamegraph-$t.folded" > "$out/flamegraph-$t.svg"
  python3 "$repo/scripts/bench/profile_top.py" "$out/flamegraph-$t.folded" > "$out/profile-$t.txt"
  echo "flame graph: $out/flamegraph-$t.svg; where the time goes: $out/profile-$t.txt"
  head -n 40 "$out/profile-$t.txt"
}

# measure PHASE KIND RATE TARGET [DURATION]
measure() {
  local phase=$1 kind=$2 rate=$3 t=$4 dur=${5:-$DURATION} ext raw proxy_pid
  local lg0 lg1 px0 px1 up0 up1 m0 m1
  ext=json
  [ "$kind" = sat ] && [ "$SAT_TOOL" = wrk ] && ext=txt
  raw="$out/raw/${phase}_${t}.$ext"
  proxy_pid=$(proxy_pid_of "$t")
  printf '  %-22s %-12s ' "$phase" "$t"
  if [ "$WARMUP" -gt 0 ]; then
    run_load "$kind" "$rate" "$t" "$WARMUP" "$work/warmup.out" \
      || kw_die "the load generator failed against $t (warm-up)"
  fi
  px0=0; [ -n "$proxy_pid" ] && px0=$(ticks_of "$proxy_pid")
  up0=$(ticks_of "$up_pid")
  m0=$(machine_ticks)
  times > "$work/times0.txt" # in this shell (not a subshell): the children's CPU so far
  run_load "$kind" "$rate" "$t" "$dur" "$raw" \
    || kw_die "the load generator failed against $t (see $raw)"
  times > "$work/times1.txt"
  rss=0; [ -n "$proxy_pid" ] && rss=$(rss_of "$proxy_pid")
  m1=$(machine_ticks)
  up1=$(ticks_of "$up_pid")
  px1=0; [ -n "$proxy_pid" ] && px1=$(ticks_of "$proxy_pid")
  lg0=$(children_cpu "$work/times0.txt")
  lg1=$(children_cpu "$work/times1.txt")
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || kw_die "a server (pid $p) died during the $phase run against $t"
  done
  python3 - "$phase" "$t" "$kind" "$rate" "$dur" "$raw" "$lg0" "$lg1" "$px0" "$px1" \
    "$up0" "$up1" "$m0" "$m1" "$CLK_TCK" "$SAT_TOOL" "$RATE_CONNS" "$SAT_CONNS" "$rss" >> "$out/runs.tsv" <<'PY'
import sys
(phase, t, kind, rate, dur, raw, lg0, lg1, px0, px1, up0, up1, m0, m1, hz, sat_tool,
 rate_conns, sat_conns, rss) = sys.argv[1:]
hz = float(hz)
b0, t0 = map(int, m0.split()); b1, t1 = map(int, m1.split())
tool = "oha" if kind == "rate" or sat_tool == "oha" else "wrk"
conns = rate_conns if kind == "rate" else sat_conns
print("\t".join([phase, t, tool, rate if kind == "rate" else "max", conns, dur, raw,
                 f"{float(lg1) - float(lg0):.2f}", f"{(int(px1) - int(px0)) / hz:.2f}",
                 f"{(int(up1) - int(up0)) / hz:.2f}", f"{(b1 - b0) / hz:.2f}", f"{(t1 - t0) / hz:.2f}",
                 rss]))
PY
  python3 "$repo/scripts/bench/report.py" --one-line "$raw" || true
}

# ---------------------------------------------------------------------------------------------
say "6. Machine"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus: $ncpu ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "placement: $pin_desc"
  echo "keyward: $("$KW" --version 2>/dev/null | head -n1) ($KW)"
  echo "keyward source: $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "rustc: $(rustc --version 2>/dev/null || echo unknown)"
  echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
  echo "oha: $("$OHA" --version 2>/dev/null | head -n1)"
  echo "wrk: $({ wrk -v 2>&1 || true; } | head -n1 | cut -d' ' -f1-2)"
  echo "openssl: $(openssl version)"
  echo "softhsm: $(softhsm2-util --version 2>/dev/null || echo unknown)"
  echo "audit log: $work (filesystem $(findmnt -n -o FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work"))"
  echo "keyward audit fsync measured: $FSYNC_MODES"
  echo "request: $req_method $req_path$req_query${req_body:+ (form body: $req_body)}"
  echo "audit disk before the run: $(python3 "$repo/scripts/bench/fsync_probe.py" "$work" 200)"
  echo "keyward log level: ${KEYWARD_LOG:-info} (one line per request to stderr, redirected to a file)"
  echo "upstream answer: $(curl -s --cacert "$work/ca/ca.pem" "https://127.0.0.1:$up_port/api/v3/account")"
  echo "measurement: ${DURATION} s each after ${WARMUP} s warm-up; fixed rates $RATES req/s on $RATE_CONNS connections (oha -q --latency-correction); saturation $SAT_CONNS connections ($SAT_TOOL)"
} | tee "$out/machine.txt"

say "7. Measurements (${DURATION} s each, ${WARMUP} s warm-up; phases run all targets in turn)"
for rate in $RATES; do
  for t in "${targets[@]}"; do measure "rate-$rate" rate "$rate" "$t"; done
done
for t in "${targets[@]}"; do measure "saturation" sat max "$t"; done

# The soak: keyward (fsync off) at SOAK_RATE req/s for SOAK_SECONDS, its resident memory
# sampled every second (soak-rss.tsv): does it stay small, does it grow?
if [ "$SOAK_SECONDS" -gt 0 ] && [ -n "${kw_pidof[keyward-fsync-off]:-}" ]; then
  say "7b. Soak: keyward, fsync off, $SOAK_RATE req/s for $SOAK_SECONDS s (resident memory every second)"
  soak_pid=${kw_pidof[keyward-fsync-off]}
  ( # wall clock (s) and resident KiB; report.py makes the times relative
    while kill -0 "$soak_pid" 2>/dev/null; do
      printf '%s\t%s\n' "$EPOCHREALTIME" "$(rss_of "$soak_pid")"
      sleep 1
    done
  ) > "$out/raw/soak-rss.tsv" &
  sampler=$!
  pids+=("$sampler")
  measure "soak-$SOAK_RATE" rate "$SOAK_RATE" keyward-fsync-off "$SOAK_SECONDS"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
fi

if [ "$PROFILE" = 1 ]; then
  say "7c. Profile: $PROFILE_TARGET at saturation under perf record -g (${DURATION} s)"
  profile "$PROFILE_TARGET"
fi

# ---------------------------------------------------------------------------------------------
say "8. Checks after the run"
echo "audit disk after the run: $(python3 "$repo/scripts/bench/fsync_probe.py" "$work" 200)" \
  | tee -a "$out/machine.txt"
for v in "${kw_variants[@]}"; do
  "$KW" audit verify "$work/${kw_audit[$v]}" > "$out/logs/$v-audit-verify.txt" 2>&1 \
    || { cat "$out/logs/$v-audit-verify.txt" >&2; kw_die "audit verify failed for $v"; }
  echo "$v: $(cut -c1-60 "$out/logs/$v-audit-verify.txt")"
  if grep -qF -e "$secret" -e "$api_key" "$work/${kw_audit[$v]}" "$work/$v.log"; then
    kw_die "the API key or secret appears in $v's log or audit file"
  fi
done

python3 "$repo/scripts/bench/report.py" --runs "$out/runs.tsv" --machine "$out/machine.txt" \
  --soak "$out/raw/soak-rss.tsv" --out "$out/results.md" --json "$out/results.json"
if [ "$CHART" = 1 ]; then
  plot_py=$(kw_venv "$repo/target/bench/plot-venv" plot_has_deps "chart virtualenv" "matplotlib==$MATPLOTLIB_VERSION")
  "$plot_py" "$repo/scripts/bench/chart.py" "$out/results.json" "$out/results.png"
  echo "chart: $out/results.png"
fi
if [ "${BENCH_TOKEN:-0}" = 1 ]; then
  say "9. The token (scripts/bench/token.sh)"
  KEYWARD_BIN=$KW BENCH_OUT=$out bash "$repo/scripts/bench/token.sh"
fi
echo
cat "$out/results.md"
echo
echo "results: $out/results.md   raw outputs: $out/raw/   server logs: $out/logs/"
