#!/usr/bin/env bash
# YubiKey numbers on the VIRTUAL card (scripts/vpiv/: a Python PIV emulator behind pcscd and
# vsmartcard's vpcd). They describe keyward's overhead and this test stack, not a YubiKey: a
# real card is much slower per operation; run tests/yubikey_hardware.rs on one for its numbers.
#
#   1. key agreement and signature latency at the Token level (tests/yubikey_token.rs,
#      `measure_latency_on_the_virtual_card`): ECDH P-256, ECDSA P-256, Ed25519, opening the card
#   2. start-up unseal time of the real binary: `keyward check` with N vaults (BENCH_VAULTS,
#      default 2) sealed to a virtual YubiKey, BENCH_RUNS times (default 10); keyward logs the
#      time from opening the token to the last vault opened (`elapsed_ms`)
#
# Installs what is missing (scripts/lib.sh), builds in debug mode, prints the results.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

VAULTS=${BENCH_VAULTS:-2}
RUNS=${BENCH_RUNS:-10}

kw_ensure_system_deps python
PY=$(kw_python "$repo")
export KEYWARD_PYTHON="$PY" KEYWARD_REQUIRE_VPIV=1

kw_log "Token-level latency on the virtual card"
cargo test --quiet --test yubikey_token measure_latency_on_the_virtual_card -- --ignored --nocapture \
  | grep -E ' mean '

kw_log "start-up unseal with $VAULTS vaults, $RUNS runs of keyward check"
cargo build --quiet --bin keyward
kw="$repo/target/debug/keyward"
work=$(mktemp -d)
trap 'bash "$repo/scripts/virtual-yubikey.sh" stop "$work/card" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$(bash "$repo/scripts/virtual-yubikey.sh" start "$work/card" --serial 31337)"
cd "$work"
install -m 600 /dev/null pin.txt && echo 123456 > pin.txt
{
  printf '[token]\nkind = "yubikey"\nslot = "9d"\npin = { file = "pin.txt" }\n'
  printf '[audit]\npath = "audit.jsonl"\nunkeyed = true\n'
  for i in $(seq "$VAULTS"); do
    printf '[[credential]]\nname = "c%s"\nexchange = "binance"\nvault = "vault/c%s.kwv"\n' "$i" "$i"
  done
} > keyward.toml
"$kw" keygen --config keyward.toml --out recipient.txt >/dev/null 2>&1
for i in $(seq "$VAULTS"); do
  printf 'key%s\nsecret%s\n' "$i" "$i" |
    "$kw" seal --recipient recipient.txt --name "c$i" --exchange binance --out "vault/c$i.kwv" 2>/dev/null |
    sed -i "/^vault = \"vault\/c$i.kwv\"\$/r /dev/stdin" keyward.toml
done
for _ in $(seq "$RUNS"); do
  KEYWARD_LOG=info NO_COLOR=1 "$kw" --log-format json check --config keyward.toml 2>&1 >/dev/null |
    sed -n 's/.*"elapsed_ms":\([0-9]*\).*/\1/p'
done | "$PY" -c '
import statistics, sys
ms = [int(x) for x in sys.stdin.read().split()]
print(f"unseal at start-up ({len(ms)} runs, '"$VAULTS"' vaults): mean {statistics.mean(ms):.1f} ms, "
      f"min {min(ms)} ms, max {max(ms)} ms (virtual card)")
'
