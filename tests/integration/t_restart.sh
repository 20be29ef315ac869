#!/usr/bin/env bash
# t_restart.sh - acknowledged data survives a clean stop and a kill -9.
# 1. produce N records (acks=all), SIGTERM (must exit 0), restart on the same
#    dir/port, read everything back exactly (rb_roundtrip consume: content,
#    order, no gaps/duplicates, every acked (partition, offset) present).
# 2. produce N more, kill -9 right after the last delivery report, restart,
#    read all 2N back exactly.
# 3. produce at a bounded rate and kill -9 in the middle; after the producer has
#    given up (its unacked records fail), restart and check that every record
#    ever acknowledged is there (0 lost), no duplicates, order kept.
. "$(dirname "$0")/lib.sh"

N=${RB_IT_RESTART_N:-5000}
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=3
bs=$(rb_bootstrap)
T=rs

produce() { # ackfile first n [extra args]
    local a=$1 first=$2 n=$3 out rc
    shift 3
    out=$(ct 90 "$rt" produce -b "$bs" -t $T -n "$n" -s "$first" -a "$T_TMP/$a" "$@" 2>"$T_TMP/$a.err")
    rc=$?
    echo "$out"
    return $rc
}
consume() { # label consume-args...
    local label=$1 out rc
    shift
    out=$(ct 90 "$rt" consume -b "$bs" -t $T -p 3 "$@" 2>"$T_TMP/c.$label.err")
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "$label: rc=$rc $out $(tail -12 "$T_TMP/c.$label.err")"
    info "$label: $(grep '^consumed' <<<"$out")"
}

# 1. clean stop
produce a1 0 "$N" || fail "phase 1 produce failed: $(tail -5 "$T_TMP/a1.err")"
rb_stop
rb_restart
consume "after clean restart" -n "$N" -a "$T_TMP/a1"

# 2. kill -9 after every delivery report came back
produce a2 "$N" "$N" || fail "phase 2 produce failed: $(tail -5 "$T_TMP/a2.err")"
rb_kill9
rb_restart
consume "after kill -9 (all acked)" -n $((2 * N)) -a "$T_TMP/a1" -a "$T_TMP/a2"

# 3. kill -9 while producing
"$rt" produce -b "$bs" -t $T -n $((4 * N)) -s $((2 * N)) -a "$T_TMP/a3" -r $((2 * N)) -F -T 4000 \
    >"$T_TMP/p3.out" 2>"$T_TMP/p3.err" &
ppid=$!
sleep 1.2
rb_kill9
deadline=$((SECONDS + 40))
while kill -0 $ppid 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -KILL $ppid; fail "phase 3 producer did not finish"; }
    sleep 0.2
done
wait $ppid
prc=$?
cat "$T_TMP/p3.out"
acked3=$(wc -l <"$T_TMP/a3")
[ $prc -eq 0 ] && [ "$acked3" -gt 0 ] || fail "phase 3: producer rc=$prc, $acked3 acked before the kill: $(tail -3 "$T_TMP/p3.err")"
info "phase 3: $acked3 of $((4 * N)) records acked before kill -9"
rb_restart
consume "after kill -9 mid-produce" -a "$T_TMP/a1" -a "$T_TMP/a2" -a "$T_TMP/a3"
rb_stop
exit 0
