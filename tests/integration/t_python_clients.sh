#!/usr/bin/env bash
# t_python_clients.sh - kafka-python 2.0.2 and confluent-kafka 1.7.0 round
# trips (tests/clients/py_roundtrip.py) against a broker with 3 partitions per
# topic: keys (some null), binary values (some null), headers; exact checks,
# no consumer groups (kafka-python group_id=None; confluent-kafka assign only).
# kafka-python detects the broker version itself (api_version not set).
. "$(dirname "$0")/lib.sh"

N=${RB_IT_PY_N:-3000}
rb_start --override num.partitions=3
bs=$(rb_bootstrap)
py=$ROOT/tests/clients/py_roundtrip.py

run() { # label client topic codec
    local out rc
    out=$(ct 120 "$PY" "$py" "$2" "$bs" "$3" "$N" "$4" 2>"$T_TMP/$1.err")
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "$1: rc=$rc $out $(tail -20 "$T_TMP/$1.err")"
    info "$(tail -1 <<<"$out")"
}
run kp-plain kafka-python py-kp none
run kp-gzip kafka-python py-kp-gz gzip
run ck-plain confluent py-ck none
run ck-snappy confluent py-ck-sn snappy
rb_check_alive "after the python clients"
rb_stop
exit 0
