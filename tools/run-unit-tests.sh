#!/usr/bin/env bash
# tools/run-unit-tests.sh - run every Criterion test binary given, sum their
# results and print one closing line: "unit: N passed, N failed".
# Exits non-zero when any test failed or any binary crashed.
set -u
passed=0 failed=0 bad=0
for t in "$@"; do
    out=$("$t" --jobs 1 2>&1)
    rc=$?
    syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -1)
    p=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(printf '%s' "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    p=${p:-0} f=${f:-0} c=${c:-0}
    if [ $rc -ne 0 ] || [ -z "$syn" ] || [ "$f" != 0 ] || [ "$c" != 0 ]; then
        printf '%s\n' "$out" | tail -40
        echo "FAIL $(basename "$t") (rc=$rc)"
        bad=$((bad + 1))
        [ "$f" = 0 ] && [ "$c" = 0 ] && f=1
    else
        echo "ok   $(basename "$t"): $p passed"
    fi
    passed=$((passed + p))
    failed=$((failed + f + c))
done
echo "unit: $passed passed, $failed failed"
[ $bad -eq 0 ] && [ $failed -eq 0 ]
