#!/usr/bin/env bash
# t_produce_consume.sh - produce and consume across 3 brokers on RF=1 topics whose
# partitions are led by every broker, with librdkafka and the Java client.
#   librdkafka (tests/clients/rb_roundtrip, acks=all): N records to a 6-partition
#   topic bootstrapped from broker 1 only; a group-less consumer bootstrapped from
#   broker 2 only reads every partition: every acknowledged record at its
#   (partition, offset), no duplicates, contiguous offsets, order; records landed
#   on partitions of all three leaders.
#   kcat: keyed lines produced through broker 3, read back through broker 1.
#   Java (Kafka 4.4 console producer via broker 2, console consumer via broker 3,
#   both idempotent/acks=all defaults): every line read back exactly once.
#   Producer ids are cluster-wide: InitProducerId twice on each broker gives six
#   distinct ids (two idempotent producers that got one id from different
#   brokers would fence each other's sequences on a shared partition).
# CL_ETCD=1 runs the same on etcd (t_etcd_produce_consume.sh).
. "$(dirname "$0")/lib.sh"

N=${CL_PC_N:-6000}
NJ=${CL_PC_NJ:-3000}
RT=$ROOT/build/clients/rb_roundtrip
[ -x "$RT" ] || fail "$RT missing (make helpers)"
cl_up
k44_setup

pids=""
for i in 1 2 3 1 2 3; do
    out=$(ct 20 $CLC init-pid "$(cl_addr "$i")") || fail "InitProducerId on broker $i: $out"
    [[ "$out" == error=0* ]] || fail "InitProducerId on broker $i: $out"
    pids="$pids $(sed -n 's/.*pid=\([0-9-]*\).*/\1/p' <<<"$out")"
done
[ "$(tr ' ' '\n' <<<"$pids" | grep -c .)" = 6 ] && [ "$(tr ' ' '\n' <<<"$pids" | grep . | sort -u | wc -l)" = 6 ] ||
    fail "InitProducerId on brokers 1 2 3 1 2 3 gave producer ids$pids: not unique across the cluster"
info "producer ids from the 3 brokers:$pids (all distinct)"

cl_create_topic pc 6
leaders=$(cl_json "$(cl_meta 1)" 'sorted({p["leader"] for p in d["topics"]["pc"]["partitions"].values()})')
[ "$leaders" = "1 2 3" ] || fail "partitions of pc are led by '$leaders', want all of 1 2 3"

out=$(ct 120 "$RT" produce -b "$(cl_addr 1)" -t pc -n "$N" -a "$T_TMP/acks" 2>"$T_TMP/p.err") ||
    fail "rb_roundtrip produce: $out $(tail -5 "$T_TMP/p.err")"
out=$(ct 120 "$RT" consume -b "$(cl_addr 2)" -t pc -n "$N" -p 6 -a "$T_TMP/acks" 2>"$T_TMP/c.err") ||
    fail "rb_roundtrip consume: $out $(tail -12 "$T_TMP/c.err")"
info "librdkafka: $(grep '^consumed' <<<"$out")"
parts=$(awk '{print $1}' "$T_TMP/acks" | sort -u | tr '\n' ' ')
[ "$parts" = "0 1 2 3 4 5 " ] || fail "acknowledged records only on partitions $parts"

# kcat through two different brokers
"$PY" -c "
for i in range(500): print('kc%d:val%d' % (i, i))" >"$T_TMP/kc.in"
ct 60 kcat -P -b "$(cl_addr 3)" -t pc -K : -X acks=all <"$T_TMP/kc.in" 2>"$T_TMP/kp.err" ||
    fail "kcat -P: $(tail -5 "$T_TMP/kp.err")"
ct 60 kcat -C -b "$(cl_addr 1)" -t pc -o beginning -e -q -f '%k:%s\n' 2>"$T_TMP/kc.err" |
    grep '^kc' | sort >"$T_TMP/kc.out" || fail "kcat -C: $(tail -5 "$T_TMP/kc.err")"
sort "$T_TMP/kc.in" | cmp -s - "$T_TMP/kc.out" ||
    fail "kcat read back $(wc -l <"$T_TMP/kc.out") of 500 lines (or different ones)"
info "kcat: 500 keyed lines via broker 3, all read back once via broker 1"

# Java client
cl_create_topic pcj 6
"$PY" -c "
for i in range($NJ): print('j%d:w%d' % (i, i))" >"$T_TMP/j.in"
jrun 120 $K_CPROD --bootstrap-server "$(cl_addr 2)" --topic pcj --reader-property parse.key=true \
    --reader-property key.separator=: <"$T_TMP/j.in" >"$T_TMP/jp.out" 2>&1 ||
    fail "console producer rc=$?: $(tail -10 "$T_TMP/jp.out")"
grep -q 'ERROR\|Exception' "$T_TMP/jp.out" && fail "console producer errors: $(tail -10 "$T_TMP/jp.out")"
jrun 120 $K_CCONS --bootstrap-server "$(cl_addr 3)" --topic pcj --from-beginning \
    --max-messages "$NJ" --timeout-ms 30000 --formatter-property print.key=true \
    --formatter-property key.separator=: >"$T_TMP/jc.out" 2>"$T_TMP/jc.err" ||
    fail "console consumer rc=$?: $(tail -10 "$T_TMP/jc.err")"
sort "$T_TMP/j.in" >"$T_TMP/j.want"
sort "$T_TMP/jc.out" >"$T_TMP/j.got"
cmp -s "$T_TMP/j.want" "$T_TMP/j.got" ||
    fail "Java consumer read $(wc -l <"$T_TMP/jc.out") lines, $(sort -u "$T_TMP/jc.out" | wc -l) distinct; want the $NJ produced (diff: $(diff "$T_TMP/j.want" "$T_TMP/j.got" | head -5 | tr '\n' ' '))"
info "Java console producer/consumer: $NJ lines via brokers 2 and 3, each read back once"
