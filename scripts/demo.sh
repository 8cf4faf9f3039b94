#!/usr/bin/env bash
# The README's demo: keyward end to end on one machine, with a throwaway SoftHSM token and a
# local TLS mock of Binance that verifies signatures like the real one.
#
#   1. install SoftHSM (and openssl, curl, python3) if missing      5. mint a client token, write the config
#   2. build keyward (cargo build)                                   6. start the mock exchange and keyward
#   3. create a token in a temp dir; keygen on the token            7. curl: an order (accepted, verified)
#   4. seal a demo API key + secret (via stdin)                     8. curl: a withdrawal (refused, 403)
#                                                                    9. show the audit log; audit verify
# Everything it starts is stopped on exit. KEYWARD_DEMO_KEEP=1 keeps the temp directory;
# KEYWARD_BIN=PATH uses that binary instead of building one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

step=0
say() { step=$((step + 1)); printf '\n\033[1;36m[%d] %s\033[0m\n' "$step" "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }

work=""
mock_pid=""
kw_pid=""
syslog_pid=""
cleanup() {
  local rc=$?
  [ -n "$kw_pid" ] && kill "$kw_pid" 2>/dev/null && wait "$kw_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
  [ -n "$syslog_pid" ] && kill "$syslog_pid" 2>/dev/null && wait "$syslog_pid" 2>/dev/null || true
  if [ -n "$work" ] && [ -d "$work" ]; then
    if [ "${KEYWARD_DEMO_KEEP:-0}" = 1 ]; then
      echo "kept the demo directory: $work"
    else
      rm -rf "$work"
    fi
  fi
  if [ "$rc" -ne 0 ]; then echo "demo FAILED (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for_log FILE PID WHAT — wait until FILE contains "listening on", print the port
wait_for_port() {
  local file=$1 pid=$2 what=$3 i port
  for i in $(seq 1 600); do
    port=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$file" 2>/dev/null \
      | grep -oE 'listening on[^0-9]*([0-9.]+:)?[0-9]+' | head -n1 | grep -oE '[0-9]+$' || true)
    if [ -n "$port" ]; then printf '%s\n' "$port"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited before listening:" >&2; cat "$file" >&2; return 1
    fi
    sleep 0.1
  done
  echo "$what did not start within 60 s:" >&2; cat "$file" >&2; return 1
}

say "Checking dependencies (SoftHSM, openssl, curl, python3; installed with apt-get if missing)"
kw_ensure_system_deps
module=$(kw_softhsm_module)
echo "SoftHSM module: $module"

if [ -n "${KEYWARD_BIN:-}" ]; then
  say "Using the keyward binary $KEYWARD_BIN (KEYWARD_BIN)"
  KW=$KEYWARD_BIN
else
  say "Building keyward (cargo build)"
  command -v cargo >/dev/null 2>&1 || kw_die "cargo not found: install Rust >= 1.89 (https://rustup.rs)"
  cargo build --bin keyward
  target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$repo/target")
  KW="$target_dir/debug/keyward"
fi
[ -x "$KW" ] || kw_die "$KW was not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-demo.XXXXXX")
echo "demo directory: $work"

say "Creating a throwaway SoftHSM token in $work/tokens"
kw_softhsm_conf "$work/tokens" "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"   # only this script and the processes it starts
pin=$(openssl rand -hex 8)
so_pin=$(openssl rand -hex 8)
show "softhsm2-util --init-token --free --label keyward --pin ****** --so-pin ******"
softhsm2-util --init-token --free --label keyward --pin "$pin" --so-pin "$so_pin"
(umask 077 && printf '%s\n' "$pin" > "$work/pin.txt")
chmod 600 "$work/pin.txt"
ls -l "$work/pin.txt"

say "Making a test TLS CA for the mock exchange"
"$repo/scripts/make_test_ca.sh" "$work/ca"
ls "$work/ca"

# A made-up Binance API key and secret (the mock exchange knows them; nothing real).
api_key="demoKey$(openssl rand -hex 28)"
secret="demoSecret$(openssl rand -hex 27)"
printf '{"%s": "%s"}\n' "$api_key" "$secret" > "$work/mock-credentials.json"
chmod 600 "$work/mock-credentials.json"

say "Starting the mock Binance exchange (TLS, verifies HMAC signatures like Binance)"
show "python3 scripts/mock_exchange.py --cert ca/server.pem --key ca/server.key --port 0 ..."
python3 "$repo/scripts/mock_exchange.py" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
  --port 0 --credentials "$work/mock-credentials.json" --record "$work/mock-requests.jsonl" \
  > "$work/mock.out" 2> "$work/mock.err" &
mock_pid=$!
mock_port=$(wait_for_port "$work/mock.out" "$mock_pid" "the mock exchange")
echo "mock exchange on https://127.0.0.1:$mock_port"

say "Minting a client token for the bot 'grid-bot'"
show "keyward client-token --name grid-bot"
"$KW" client-token --name grid-bot > "$work/client-token.out"
client_token=$(head -n1 "$work/client-token.out" | tr -d '[:space:]')
token_sha=$(grep -oE 'token_sha256 *= *"[0-9a-f]{64}"' "$work/client-token.out" | grep -oE '[0-9a-f]{64}' || true)
[ -n "$token_sha" ] || token_sha=$(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
echo "client token: ${client_token:0:6}…  (config line: token_sha256 = \"$token_sha\")"

say "Writing the keyward config ($work/keyward.toml)"
cat > "$work/keyward.toml" <<TOML
[server]
listen = "127.0.0.1:0"
anonymous_market_data = true

[token]
module = "$module"
uri = "pkcs11:token=keyward;object=keyward-seal"
pin = { file = "pin.txt" }

[audit]
path = "audit.jsonl"
checkpoint_key = "keyward-audit"            # ECDSA P-256 on the token signs the chain head
checkpoint_public_key = "audit-key.pem"
checkpoint_every = 5                        # small for the demo (default 1000 records / 60 s)
checkpoint_socket = "$work/syslog.sock"     # default /dev/log; the demo catches the lines itself

[[credential]]
name = "binance-main"
exchange = "binance"
vault = "vault/binance-main.kwv"
recv_window_ms = 5000
upstream = { base = "https://127.0.0.1:$mock_port", ca = "ca/ca.pem" }   # the mock, not Binance

[[client]]
name = "grid-bot"
token_sha256 = "$token_sha"
credential = "binance-main"
rate = "50/s"
allow = [
  "binance:read",
  { method = "POST", path = "/api/v3/order", params = { symbol = ["BTCUSDT", "ETHUSDT"] }, max = { quantity = "0.5", notional = "20000" } },
  { method = "DELETE", path = "/api/v3/order" },
]
TOML
cat "$work/keyward.toml"

say "Generating the sealing key pair ON the token"
show "keyward keygen --config keyward.toml --out recipient.txt"
"$KW" keygen --config "$work/keyward.toml" --out "$work/recipient.txt"

say "Generating the audit checkpoint key pair ON the token (its public half verifies the log)"
show "keyward keygen --config keyward.toml --audit-key --out audit-key.pem"
"$KW" keygen --config "$work/keyward.toml" --audit-key --out "$work/audit-key.pem" > /dev/null
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n"); out.flush()
' "$work/syslog.sock" "$work/shipped-checkpoints.log" &
syslog_pid=$!

say "Sealing the demo API key and secret (read from stdin, never argv; no token needed)"
show "printf '%s\\n%s\\n' \"\$API_KEY\" \"\$SECRET\" | keyward seal --recipient recipient.txt --name binance-main --exchange binance --out vault/binance-main.kwv"
pin_line=$(printf '%s\n%s\n' "$api_key" "$secret" | "$KW" seal --recipient "$work/recipient.txt" --name binance-main \
  --exchange binance --out "$work/vault/binance-main.kwv")
ls -l "$work/vault"

say "Pinning the new vault: seal printed its digest line; keyward serves only that file"
echo "$pin_line"
sed -i "/^vault = \"vault\/binance-main.kwv\"\$/a $pin_line" "$work/keyward.toml"
grep -n vault "$work/keyward.toml"

say "Checking the config (logs in, unseals every credential, prints the policy)"
show "keyward check --config keyward.toml"
"$KW" check --config "$work/keyward.toml"

say "Starting keyward"
show "keyward serve --config keyward.toml"
"$KW" serve --config "$work/keyward.toml" > "$work/keyward.log" 2>&1 &
kw_pid=$!
kw_port=$(wait_for_port "$work/keyward.log" "$kw_pid" "keyward")
base="http://127.0.0.1:$kw_port/binance-main"
echo "keyward on $base"

say "A bot places an order with curl (client token as API key, no secret, no signature)"
show "curl -X POST $base/api/v3/order -H 'X-MBX-APIKEY: <client token>' -d 'symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000'"
order_status=$(curl -sS -o "$work/order.json" -w '%{http_code}' -X POST "$base/api/v3/order" \
  -H "X-MBX-APIKEY: $client_token" \
  --data 'symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000')
echo "HTTP $order_status"; cat "$work/order.json"; echo
echo "What the mock exchange received and verified:"
python3 - "$work/mock-requests.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
orders = [r for r in recs if r["path"] == "/api/v3/order" and r["method"] == "POST"]
if not orders:
    print("  (nothing!)"); sys.exit(1)
r = orders[-1]
print(f"  {r['method']} {r['path']}" + (f"?{r['query']}" if r['query'] else ""))
if r['body']:
    print(f"  body: {r['body']}")
print(f"  X-MBX-APIKEY = {r['headers'].get('x-mbx-apikey', '')[:10]}…  (the sealed key, not the client token)")
print(f"  signature verified: {r['verified']}   (answered {r['status']})")
sys.exit(0 if r["verified"] else 1)
PY
[ "$order_status" = 200 ] || kw_die "the order was not accepted"

say "The same bot tries to withdraw (hard deny: never forwarded)"
show "curl -X POST $base/sapi/v1/capital/withdraw/apply -H 'X-MBX-APIKEY: <client token>' -d 'coin=USDT&address=0x…&amount=1000'"
wd_status=$(curl -sS -o "$work/withdraw.json" -w '%{http_code}' -X POST "$base/sapi/v1/capital/withdraw/apply" \
  -H "X-MBX-APIKEY: $client_token" \
  --data 'coin=USDT&network=ETH&address=0x1234567890abcdef1234567890abcdef12345678&amount=1000')
echo "HTTP $wd_status"; cat "$work/withdraw.json"; echo
if grep -q withdraw "$work/mock-requests.jsonl"; then
  kw_die "the withdrawal reached the exchange!"
fi
echo "The mock exchange recorded no withdrawal request."
[ "$wd_status" = 403 ] || kw_die "the withdrawal was not refused with 403"

say "Stopping keyward cleanly (SIGTERM): it signs a last checkpoint of the log on the token and ships it"
show "kill -TERM <keyward>"
kill -TERM "$kw_pid"
wait "$kw_pid" 2>/dev/null || true
kw_pid=""
for _ in $(seq 1 20); do
  [ -s "$work/shipped-checkpoints.log" ] && break
  sleep 0.1
done

say "The audit log (hash-chained JSON lines with signed checkpoints; no secrets, no signatures)"
show "cat audit.jsonl"
cat "$work/audit.jsonl"
show "keyward audit verify audit.jsonl --public-key audit-key.pem --checkpoints shipped-checkpoints.log"
"$KW" audit verify "$work/audit.jsonl" --public-key "$work/audit-key.pem" --checkpoints "$work/shipped-checkpoints.log"

if grep -qF -e "$secret" -e "$api_key" "$work/audit.jsonl" "$work/keyward.log"; then
  kw_die "the API key or secret appears in keyward's log or audit file"
fi
echo "The API key and secret appear in neither keyward's log nor the audit file."

say "Done: stopping keyward and the mock exchange"
