#!/usr/bin/env bash
# t_idle_partitions.sh - idle partitions cost neither disk nor descriptors, and a
# broker with many of them restarts under a small descriptor limit.
# Under `ulimit -n 1024`: create 1,000 partitions; the log dir stays under 50 MiB
# (no preallocation until a partition is written) and the broker holds fewer than
# 100 descriptors. Write 3 partitions (acks=all), stop, restart under the same
# limit: still fewer than 100 descriptors (cold partitions open lazily), the
# records read back exactly, a cold partition takes its first write after the
# restart, and a kill -9 after it loses nothing acknowledged.
. "$(dirname "$0")/lib.sh"

N=${RB_IT_IDLE_PARTITIONS:-1000}
ulimit -n 1024 || fail "cannot lower the descriptor limit"
rb_start --override num.shards=2
bs=$(rb_bootstrap)
ct 60 "$ROOT/build/bin/ringctl" topics --bootstrap-server "$bs" --create --topic idle \
    --partitions "$N" >/dev/null || fail "cannot create $N partitions"

fds() { ls "/proc/$RB_PID/fd" | wc -l; }
disk_mb() { du -sm "$RB_DIR" | cut -f1; }

produce() { # partition text...
    local p=$1
    shift
    printf '%s\n' "$@" | ct 30 "$KCAT" -P -b "$bs" -t idle -p "$p" -X acks=all || fail "produce to $p failed"
}
consume() { # partition count -> the values, space separated
    ct 30 "$KCAT" -C -b "$bs" -t idle -p "$1" -o 0 -c "$2" -e -q | tr '\n' ' '
}
expect() { # partition count want (a consumer that lost its connection tries again)
    local got try
    for try in 1 2 3; do
        got=$(consume "$1" "$2")
        [ "$got" = "$3" ] && return 0
        [ -n "$got" ] && break # bytes came back, and they are wrong
        rb_check_alive "reading partition $1"
        info "partition $1: attempt $try read nothing; again"
        sleep 1
    done
    fail "partition $1: read '$got', want '$3'"
}

d=$(disk_mb)
f=$(fds)
info "$N idle partitions: ${d} MiB on disk, $f descriptors"
[ "$d" -lt 50 ] || fail "$N idle partitions take $d MiB (want < 50)"
[ "$f" -lt 100 ] || fail "$N idle partitions hold $f descriptors (want < 100)"

produce 0 a0 a1
produce 1 b0
produce $((N - 1)) z0 z1 z2
expect 0 2 "a0 a1 "
rb_stop
# A clean stop and start of idle partitions rewrites none of their files (issue 13:
# each start and stop rewrote and fsynced every leader-epoch-checkpoint, 8 s for
# 10,000 partitions): the same inodes after a start, a few full checkpoint
# reports (every 300 ms) and another clean stop.
epoch_inodes() { find "$RB_DIR" -name leader-epoch-checkpoint -printf '%i %h\n' | sort -k2; }
epoch_inodes >"$T_TMP/ino.before"
[ "$(wc -l <"$T_TMP/ino.before")" -ge "$N" ] ||
    fail "only $(wc -l <"$T_TMP/ino.before") leader-epoch-checkpoint files for $N partitions"
rb_restart --override log.flush.offset.checkpoint.interval.ms=300
sleep 2
rb_stop
epoch_inodes >"$T_TMP/ino.after"
changed=$(diff "$T_TMP/ino.before" "$T_TMP/ino.after" | grep -c '^>')
[ "$changed" = 0 ] || fail "$changed leader-epoch-checkpoint files rewritten by an idle start and stop"
info "idle start, checkpoint reports and stop: 0 of $(wc -l <"$T_TMP/ino.after") epoch files rewritten"
rb_restart
f=$(fds)
info "after restart: $f descriptors, $(disk_mb) MiB"
[ "$f" -lt 100 ] || fail "restart holds $f descriptors (want < 100)"
expect 0 2 "a0 a1 "
expect 1 1 "b0 "
expect $((N - 1)) 3 "z0 z1 z2 "
# a partition never written before: its first append opens it now
produce 7 c0 c1
produce 0 a2
rb_kill9
rb_restart
expect 7 2 "c0 c1 "
expect 0 3 "a0 a1 a2 "
f=$(fds)
[ "$f" -lt 100 ] || fail "restart after kill -9 holds $f descriptors (want < 100)"
info "after kill -9 and restart: $f descriptors, every acknowledged record read back"
rb_stop
exit 0
