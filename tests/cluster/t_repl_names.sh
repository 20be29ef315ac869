#!/usr/bin/env bash
# t_repl_names.sh - replication between brokers that advertise host names, not
# numeric addresses (issue 11; coord/resolve.c): the coordination thread resolves
# them, the shards' replica fetchers connect to what it resolved.
#   1. 3 brokers (2 shards each): brokers 1 and 2
#      advertise "localhost", broker 3 a second name of 127.0.0.1 from this
#      machine (its hostname when that resolves to 127.0.0.1, else another name of
#      127.0.0.1 in /etc/hosts). Metadata answers keep the advertised names.
#   2. "names" (3 partitions, RF 3, min.insync.replicas=2) gets a full ISR on every
#      broker; each broker's log says which address it resolved the name to.
#   3. rb_idem (librdkafka, idempotent, acks=all) produces N records; the same
#      batches on all three replicas; everything read back once, in order
#      (rb_roundtrip) from the named broker.
#   4. The named broker is killed with SIGKILL and started again: it catches up
#      from the others and rejoins every ISR; after more records, and after all
#      three are stopped, the three logs are identical.
. "$(dirname "$0")/lib.sh"

N1=${CL_NAMES_N1:-2000}
N2=${CL_NAMES_N2:-1000}
IDEM=$ROOT/build/clients/rb_idem
RT=$ROOT/build/clients/rb_roundtrip
RINGCTL=$ROOT/build/bin/ringctl
T=names
[ -x "$IDEM" ] && [ -x "$RT" ] && [ -x "$RINGCTL" ] || fail "$IDEM, $RT or $RINGCTL missing (make all helpers)"

# a name other than localhost whose (first IPv4) address is 127.0.0.1
v4_of() { getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 {print $1}'; }
NAME=
for cand in "$(hostname)" $(awk '$1 == "127.0.0.1" {for (i = 2; i <= NF; i++) print $i}' /etc/hosts); do
    [ -n "$cand" ] && [ "$cand" != localhost ] && [ "$(v4_of "$cand")" = 127.0.0.1 ] && NAME=$cand && break
done
[ -n "$NAME" ] || fail "no name other than localhost resolves to 127.0.0.1 here (hostname $(hostname); /etc/hosts: $(grep -v '^#' /etc/hosts | tr '\n' ';'))"
info "broker 3 advertises $NAME ($(v4_of "$NAME")); brokers 1 and 2 advertise localhost"

cl_up --override num.shards=2 \
    --advertise 1=localhost --advertise 2=localhost --advertise 3="$NAME"

# 1. Metadata answers keep the advertised names
m=$(cl_meta 1) || fail "Metadata from broker 1"
for i in 1 2 3; do
    want=localhost
    [ $i = 3 ] && want=$NAME
    [ "$(cl_json "$m" "d['brokers']['$i'].rsplit(':', 1)[0]")" = "$want" ] ||
        fail "broker $i is not advertised as $want: $m"
done
info "Metadata: $(cl_json "$m" "' '.join('%s=%s' % (k, v) for k, v in sorted(d['brokers'].items()))")"

# 2. RF 3, a full ISR on every broker
out=$(ct 30 $CLC create-topic "$(cl_addr 1)" $T 3 3) || fail "create-topic: $out"
[[ "$out" == error=0* ]] || fail "CreateTopics $T RF=3: $out"
full_isr() {
    local i m
    for i in 1 2 3; do
        m=$(cl_meta "$i" 2>/dev/null) || return 1
        [ "$(cl_json "$m" "sum(1 for p in d['topics'].get('$T',{}).get('partitions',{}).values() if p['leader'] >= 0 and sorted(p['isr']) == [1, 2, 3])")" = 3 ] || return 1
    done
}
wait_for 60 "replicas and ISR [1, 2, 3] for every partition of $T" full_isr
for i in 1 2 3; do
    grep -q "broker host $NAME:$(cl_port 3) resolves to 127.0.0.1:$(cl_port 3)" "$CL_DIR/broker-$i/broker.log" ||
        fail "broker $i's log does not say $NAME resolved to 127.0.0.1"
    ! grep -q "is not resolved" "$CL_DIR/broker-$i/broker.log" ||
        fail "broker $i: a shard had no address: $(grep 'is not resolved' "$CL_DIR/broker-$i/broker.log" | head -2)"
done
info "$T: 3 partitions, ISR [1, 2, 3]; every broker resolved $NAME to 127.0.0.1 on its coordination thread"

# 3. acks=all, the same batches everywhere, read back
out=$(ct 120 "$IDEM" -b "$CL_BS" -t $T -n "$N1" -a "$T_TMP/acks1" 2>"$T_TMP/p1.err") ||
    fail "rb_idem: $out $(tail -5 "$T_TMP/p1.err")"
[ "$(wc -l <"$T_TMP/acks1")" = "$N1" ] || fail "$(wc -l <"$T_TMP/acks1") of $N1 acknowledged"
batches() { # i p
    local files
    files=$(ls "$CL_DIR/broker-$1/data/$T-$2"/*.log 2>/dev/null | sort | tr '\n' ',' | sed 's/,$//')
    [ -n "$files" ] || return 0
    "$RINGCTL" dump-log --files "$files" 2>/dev/null | grep -o 'baseOffset: [0-9]* lastOffset: [0-9]* .*crc: [0-9-]*' |
        sed 's/ CreateTime: [0-9-]*//; s/ isTransactional.*size: [0-9]*//'
}
recs() { batches "$1" "$2" | awk '{n = $4 + 1} END {print n + 0}'; }
same_on_all() { # acks files...
    local p want
    for p in 0 1 2; do
        batches 1 $p >"$T_TMP/b1.$p"
        batches 2 $p | cmp -s - "$T_TMP/b1.$p" || return 1
        batches 3 $p | cmp -s - "$T_TMP/b1.$p" || return 1
        want=$(cat "$@" | awk -v p=$p '$1 == p' | wc -l)
        [ "$(recs 1 $p)" -ge "$want" ] || return 1
    done
}
wait_for 30 "the same batches of every partition on brokers 1, 2 and 3" same_on_all "$T_TMP/acks1"
out=$(ct 120 "$RT" consume -b "$(cl_addr 3)" -t $T -n "$N1" -p 3 -a "$T_TMP/acks1" 2>"$T_TMP/c1.err") ||
    fail "rb_roundtrip consume: $out $(tail -12 "$T_TMP/c1.err")"
info "$N1 acknowledged, identical on all 3 replicas; read back: $(grep '^consumed' <<<"$out")"

# 4. the named broker dies and returns: the others fetch from it again, it from them
cl_kill9 3
cl_start 3
wait_for 90 "broker 3 back in the ISR of every partition of $T" full_isr
out=$(ct 120 "$IDEM" -b "$CL_BS" -t $T -n "$N2" -s "$N1" -a "$T_TMP/acks2" 2>"$T_TMP/p2.err") ||
    fail "rb_idem (after the restart): $out $(tail -5 "$T_TMP/p2.err")"
wait_for 30 "the same batches on brokers 1, 2 and 3 after the restart" same_on_all "$T_TMP/acks1" "$T_TMP/acks2"
out=$(ct 120 "$RT" consume -b "$(cl_addr 1)" -t $T -n $((N1 + N2)) -p 3 -a "$T_TMP/acks1" \
    -a "$T_TMP/acks2" 2>"$T_TMP/c2.err") || fail "rb_roundtrip consume (all): $out $(tail -12 "$T_TMP/c2.err")"
info "after broker 3's restart: read back $(grep '^consumed' <<<"$out")"
for i in 1 2 3; do cl_term "$i"; done
for p in 0 1 2; do
    batches 1 $p >"$T_TMP/s1.$p"
    [ -s "$T_TMP/s1.$p" ] || fail "partition $p: no batches on broker 1"
    for i in 2 3; do
        batches $i $p | cmp -s - "$T_TMP/s1.$p" ||
            fail "partition $p: brokers 1 and $i hold different batches after stop"
    done
done
info "names: brokers advertising localhost and $NAME replicate (RF 3, acks=all): $((N1 + N2)) records, 0 lost, 0 duplicates, all 3 logs identical after stop"
