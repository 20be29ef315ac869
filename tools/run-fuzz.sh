#!/usr/bin/env bash
# tools/run-fuzz.sh SECONDS FUZZ_BINARY... - run each libFuzzer binary for
# SECONDS on its corpus build/fuzz/corpus/<name> (seeded from
# tests/fuzz/seeds/<name>/ when present), keep crash artifacts under
# build/fuzz/artifacts/<name>/, print "fuzz: N passed, N failed" and exit
# non-zero when any target crashed.
set -u
secs=${1:?usage: run-fuzz.sh SECONDS BINARY...}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    corpus="$root/build/fuzz/corpus/$name"
    art="$root/build/fuzz/artifacts/$name"
    mkdir -p "$corpus" "$art"
    if [ -d "$root/tests/fuzz/seeds/$name" ]; then
        cp -n "$root/tests/fuzz/seeds/$name"/* "$corpus"/ 2>/dev/null || true
    fi
    log="$root/build/fuzz/$name.log"
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$art/" "$corpus" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok   $name: $(grep -E '^#[0-9]+' "$log" | tail -1 | cut -c1-100)"
        passed=$((passed + 1))
    else
        tail -40 "$log"
        echo "FAIL $name (rc=$rc, log $log, artifacts in $art)"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
