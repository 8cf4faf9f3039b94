#!/usr/bin/env bash
# A virtual YubiKey to try keyward's YubiKey backend without hardware (the tests start their own).
#
#   scripts/virtual-yubikey.sh start DIR [--firmware 5.7.1] [--serial 12345678]
#       installs pcscd, vsmartcard-vpcd, libpcsclite-dev, pkg-config, ykcs11 if missing; starts a
#       private pcscd (its own mount namespace, socket DIR/run/pcscd.comm: the system's pcscd, if
#       any, is untouched) and inserts a factory-fresh virtual card (PIN 123456, PUK 12345678,
#       default management key). Prints the line to `eval` in the shell that runs keyward:
#           export PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm
#   scripts/virtual-yubikey.sh touch DIR      touch the card (for keys with a touch policy)
#   scripts/virtual-yubikey.sh stop DIR       remove the card and stop pcscd
#
# The card's state (keys, PIN counter) is DIR/card.json; it survives stop/start.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2

stop_pid() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$f"
}

case "$cmd" in
  start)
    firmware=5.7.1 serial=12345678
    while [ $# -gt 0 ]; do
      case "$1" in
        --firmware) firmware=$2; shift 2 ;;
        --serial) serial=$2; shift 2 ;;
        *) usage ;;
      esac
    done
    kw_ensure_system_deps python
    py=$(kw_python "$repo")
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/pcscd.pid" ] && kw_die "$dir already has a running virtual YubiKey (stop it first)"
    "$py" "$repo/scripts/vpiv/vpiv.py" pcscd "$dir" > "$dir/pcscd.out" 2>&1 &
    echo $! > "$dir/pcscd.pid"
    for _ in $(seq 100); do grep -q '^ready' "$dir/pcscd.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$dir/pcscd.out" || kw_die "pcscd did not start: $(cat "$dir/pcscd.out")"
    [ -f "$dir/card.json" ] || "$py" "$repo/scripts/vpiv/vpiv.py" init "$dir/card.json" \
      --firmware "$firmware" --serial "$serial"
    port=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["port"])' "$dir/readers.json")
    "$py" "$repo/scripts/vpiv/vpiv.py" card "$dir/card.json" --vpcd "127.0.0.1:$port" \
      --touch-file "$dir/touch" > "$dir/card.out" 2> "$dir/card.log" &
    echo $! > "$dir/card.pid"
    for _ in $(seq 100); do grep -q '^ready' "$dir/card.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$dir/card.out" || kw_die "the virtual card did not come up: $(cat "$dir/card.log")"
    kw_log "virtual YubiKey (firmware $(python3 -c 'import json,sys; print(".".join(map(str, json.load(open(sys.argv[1]))["firmware"])))' "$dir/card.json")) in reader 'Yubico Virtual YubiKey 00 00'"
    echo "export PCSCLITE_CSOCK_NAME=$dir/run/pcscd.comm"
    ;;
  touch)
    : > "$dir/touch"
    ;;
  stop)
    stop_pid "$dir/card.pid"
    stop_pid "$dir/pcscd.pid"
    ;;
  *) usage ;;
esac
