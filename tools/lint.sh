#!/usr/bin/env bash
# tools/lint.sh - style checks: clang-format on every hand-written C file (generated
# files carry a "generated" banner and are checked by `make gen-check` instead),
# the include rules of DESIGN.md (tools/check-layers.sh), no thread-local state in
# the broker, and cppcheck when it is installed. Prints what is wrong and exits non-zero.
set -u
cd "$(dirname "$0")/.."
bad=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find core net storage coord tools tests perf -name '*.[ch]')
for f in $files; do
    [ -f "$f" ] || continue
    head -3 "$f" | grep -qi 'generated' && continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "lint: not clang-formatted: $f (run: clang-format -i $f)"
        bad=$((bad + 1))
    fi
done
tools/check-layers.sh || bad=$((bad + 1))
# Shard state hangs off struct rb_shard, never in thread-local variables: the
# simulator (tests/sim/) steps every shard from one thread. core/shard.c's rb_self()
# is the one exception (each step sets it).
for f in $(grep -rlE '__thread|_Thread_local|thread_local' core storage part coord net cmd 2>/dev/null); do
    [ "$f" = core/shard.c ] && continue
    echo "lint: thread-local state in $f (shards share one thread in the simulator)"
    bad=$((bad + 1))
done
if command -v cppcheck >/dev/null 2>&1; then
    cppcheck --quiet --error-exitcode=1 --std=c11 -I. --suppress=missingIncludeSystem \
        core storage part coord net cmd tools || bad=$((bad + 1))
fi
echo "lint: $bad problems"
[ $bad -eq 0 ]
