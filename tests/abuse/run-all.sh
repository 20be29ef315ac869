#!/usr/bin/env bash
# tests/abuse/run-all.sh - run every tests/abuse/t_*.sh (or the ones named on the
# command line) with tests/integration/run-all.sh's runner (each bounded in time,
# figures printed from the tests' "info:" lines), then the closing line
#   abuse: N passed, M failed
# Exit status non-zero when any test failed or timed out.
#   RB_IT_TEST_TIMEOUT  per-test bound in seconds (default 300 here)
set -u
dir=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ]; then
    tests=()
    for t in "$@"; do
        case "$t" in */*) tests+=("$t") ;; *) tests+=("$dir/${t%.sh}.sh") ;; esac
    done
else
    tests=("$dir"/t_*.sh)
fi
out=$(mktemp "${TMPDIR:-/tmp}/rb-abuse.XXXXXX")
trap 'rm -f "$out"' EXIT
RB_IT_TEST_TIMEOUT=${RB_IT_TEST_TIMEOUT:-300} RB_IT_TOTAL_TIMEOUT=${RB_IT_TOTAL_TIMEOUT:-1800} \
    "$dir/../integration/run-all.sh" "${tests[@]}" | tee "$out" | grep -v '^integration: '
rc=${PIPESTATUS[0]}
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^FAIL ' "$out")
echo "abuse: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
