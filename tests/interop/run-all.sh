#!/usr/bin/env bash
# tests/interop/run-all.sh - client interop suite: run every tests/interop/t_*.sh (or the ones
# named on the command line), each bounded in time, the whole run bounded too.
# Prints one line per test (ok/FAIL, duration), the test's "info:" lines on
# success and the tail of its output on failure, then the closing line
#   interop: N passed, N failed
# Exit status non-zero when any test failed or timed out.
#   RB_IOP_TEST_TIMEOUT  per-test bound in seconds (default 300: a first run
#                        fetches Kafka jars, kafkajs and franz-go into ~/.cache/ringbroker)
#   RB_IOP_TOTAL_TIMEOUT whole-suite bound in seconds (default 1800)
#   RINGBROKER_BIN      broker binary (default build/bin/ringbroker)
set -u
dir=$(cd "$(dirname "$0")" && pwd)
per=${RB_IOP_TEST_TIMEOUT:-300}
total=${RB_IOP_TOTAL_TIMEOUT:-1800}
if [ $# -gt 0 ]; then
    tests=()
    for t in "$@"; do
        case "$t" in */*) tests+=("$t") ;; *) tests+=("$dir/${t%.sh}.sh") ;; esac
    done
else
    tests=("$dir"/t_*.sh)
fi
passed=0 failed=0
recap=()
start=$(date +%s.%N)
end=$(( ${start%.*} + total ))
outdir=$(mktemp -d "${TMPDIR:-/tmp}/rb-iop-out.XXXXXX")
trap 'rm -rf "$outdir"' EXIT
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    now=$(date +%s)
    left=$(( end - now ))
    if [ $left -le 5 ]; then
        echo "FAIL $name (not run: suite time budget of ${total}s used up)"
        failed=$((failed + 1))
        continue
    fi
    bound=$per
    [ $left -lt $bound ] && bound=$left
    t0=$(date +%s.%N)
    timeout -k 10 "$bound" bash "$t" >"$outdir/$name.out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    dur=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc -eq 0 ]; then
        echo "ok   $name (${dur}s)"
        grep '^info:' "$outdir/$name.out" | grep -v 'broker pid\|stopped cleanly\|killed with' | sed 's/^/     /'
        passed=$((passed + 1))
    else
        why="rc=$rc"
        [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="timed out after ${bound}s"
        echo "FAIL $name ($why, ${dur}s)"
        # the reason first: the tail below (broker logs) can be longer than 60 lines
        reason=$(grep -m 3 '^FAIL:' "$outdir/$name.out" | cut -c1-400)
        [ -n "$reason" ] && printf '%s\n' "$reason" | sed 's/^/     > /'
        tail -n 60 "$outdir/$name.out" | sed 's/^/     | /'
        recap+=("$name ($why): ${reason:-no FAIL: line; see its tail above}")
        failed=$((failed + 1))
    fi
done
for r in "${recap[@]}"; do echo "failed: $r"; done
echo "interop: $passed passed, $failed failed"
[ $failed -eq 0 ]
