#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for a bounded time and reports executions and findings.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh policy
#
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz, which this
# script installs from crates.io (cargo install cargo-fuzz --locked) if it is missing. The
# committed seeds (fuzz/corpus/<target>/) are read, never written: what the fuzzer finds new
# goes to fuzz/target/corpus/<target>/ (kept between runs, not committed). A crash is written
# to fuzz/artifacts/<target>/ and makes the script exit non-zero. Runs at nice 10.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-60}"
case "$seconds" in '' | *[!0-9]*) echo "FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(canonicaliser policy)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi

nice -n 10 cargo +nightly fuzz build -O

status=0
summary=()
for t in "${targets[@]}"; do
    work="target/corpus/$t"
    mkdir -p "$work" "artifacts/$t"
    log="target/fuzz-$t.log"
    before=$(find "artifacts/$t" -type f | wc -l)
    echo "== $t: ${seconds}s" >&2
    set +e
    nice -n 10 cargo +nightly fuzz run -O "$t" "$work" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    units=$(find "$work" -type f | wc -l)
    after=$(find "artifacts/$t" -type f | wc -l)
    findings=$((after - before))
    line="$t: ${execs:-?} executions (${per_sec:-?}/s) in ${seconds}s, coverage ${cov:-?}, corpus $units, findings $findings"
    summary+=("$line")
    echo "$line" >&2
    if [ "$rc" -ne 0 ] || [ "$findings" -gt 0 ]; then
        status=1
        echo "$t FAILED (exit $rc); see fuzz/$log and fuzz/artifacts/$t/" >&2
        grep -m1 -A12 "panicked at\|ERROR: libFuzzer" "$log" >&2 || true
    fi
done
printf '%s\n' "${summary[@]}"
exit "$status"
