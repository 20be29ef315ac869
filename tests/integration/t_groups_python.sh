#!/usr/bin/env bash
# t_groups_python.sh - consumer groups with kafka-python 2.0.2 and
# confluent-kafka 1.7.0 (tests/clients/py_groups.py: two members, exactly once,
# commits, a fresh member re-reads nothing), then bad group input on the wire
# (Kafka error codes, broker alive). 2 shards so groups are forwarded.
. "$(dirname "$0")/lib.sh"

rb_start --override num.partitions=4 --override num.shards=2 \
    --override group.initial.rebalance.delay.ms=500
bs=$(rb_bootstrap)
py=$ROOT/tests/clients/py_groups.py
TOPIC=pyg
"$PY" -c "
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers='$bs')
a.create_topics([NewTopic('$TOPIC', 4, 1)])
" || fail "create topic"
for c in raw kafka-python confluent; do
    out=$(ct 200 "$PY" "$py" "$c" "$bs" "$TOPIC" 1000 2>"$T_TMP/$c.err")
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "$c: rc=$rc $(tail -20 "$T_TMP/$c.err")"
done
rb_check_alive "after the group clients"
rb_stop
echo "PASS: t_groups_python"
