#!/usr/bin/env bash
# The README's test command: installs what a fresh Debian 12 machine lacks, then runs
# `cargo test` (every target, doc tests too) and the Python end-to-end tests (ccxt,
# python-binance) against the real binary, a throwaway SoftHSM token and a local TLS mock
# exchange. Exits non-zero if anything fails.
#
# Nothing is exported globally: every test creates its own SoftHSM token directory and
# passes SOFTHSM2_CONF only to the processes it starts, so tests can run in parallel. The
# YubiKey tests do the same with a private pcscd each (in its own mount namespace, so the
# machine's pcscd, if any, is untouched) and a virtual PIV card (scripts/vpiv/).
#
# Environment knobs: KEYWARD_PYTHON (use this python instead of finding/creating one),
# KEYWARD_SKIP_CARGO=1, KEYWARD_SKIP_PYTHON=1, PYTEST_ARGS (extra pytest arguments).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

kw_log "checking system dependencies"
kw_ensure_system_deps python
command -v cargo >/dev/null 2>&1 || kw_die "cargo not found: install Rust >= 1.89 (https://rustup.rs)"

# SoftHSM smoke test: a throwaway token in a temp dir, with its own config.
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
kw_softhsm_conf "$smoke/tokens" "$smoke/softhsm2.conf"
SOFTHSM2_CONF="$smoke/softhsm2.conf" softhsm2-util --init-token --free --label keyward-smoke \
  --pin 123456 --so-pin 12345678 >/dev/null || kw_die "SoftHSM cannot create a token (softhsm2-util --init-token failed)"
kw_log "SoftHSM works ($(kw_softhsm_module))"

PY=$(kw_python "$repo")
kw_log "python: $PY"
# The Rust tests run the virtual PIV card with this python, and must not skip it.
export KEYWARD_PYTHON="$PY" KEYWARD_REQUIRE_VPIV=1
SDK_PY=$(kw_sdk_python "$repo")
kw_log "official SDKs: $SDK_PY"
export KEYWARD_SDK_PYTHON="$SDK_PY" KEYWARD_REQUIRE_SDKS=1
BAO=$(kw_bao "$repo")
kw_log "OpenBao: $BAO"
# tests/vault_transit.rs runs a real OpenBao server with it, and must not skip.
export KEYWARD_TEST_BAO="$BAO" KEYWARD_REQUIRE_BAO=1

# Every cargo step builds with the same features, so nothing is compiled twice. `aws-kms` adds
# the AWS SDK (about 90 crates, a few CPU-minutes cold) and its tests against a loopback KMS stub.
FEATURES=(--features aws-kms)

status=0
if [ "${KEYWARD_SKIP_CARGO:-0}" != 1 ]; then
  kw_log "cargo test --all-targets ${FEATURES[*]}"
  cargo test --all-targets "${FEATURES[@]}" || status=1
  kw_log "cargo test --doc ${FEATURES[*]}"
  cargo test --doc "${FEATURES[@]}" || status=1
fi

if [ "${KEYWARD_SKIP_PYTHON:-0}" != 1 ]; then
  kw_log "cargo build (binary for the Python end-to-end tests)"
  if cargo build --bin keyward "${FEATURES[@]}"; then
    kw_log "python -m pytest -q tests/python"
    # shellcheck disable=SC2086
    "$PY" -m pytest -q -p no:cacheprovider tests/python ${PYTEST_ARGS:-} || status=1
  else
    status=1
  fi
fi

if [ "$status" -ne 0 ]; then
  kw_log "FAILED"
else
  kw_log "all tests passed"
fi
exit "$status"
