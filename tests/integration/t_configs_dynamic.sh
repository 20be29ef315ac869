#!/usr/bin/env bash
# t_configs_dynamic.sh - config changes take effect live (no restart), and dynamic
# broker configs (AlterConfigs / IncrementalAlterConfigs on a BROKER resource).
#  1. topic configs: segment.bytes lowered on a topic with one segment -> the next
#     appends roll new segment files (counted in the data dir); retention.ms lowered
#     -> the retention timer drops the old segments and ListOffsets earliest moves.
#  2. dynamic broker defaults (ringctl configs --entity-type brokers
#     --entity-default): log.segment.bytes and log.retention.ms change a topic
#     without overrides live, while a topic with its own retention.ms keeps its data;
#     DescribeConfigs (raw wire) reports source DYNAMIC_DEFAULT_BROKER_CONFIG (3),
#     read_only false for the dynamic key and true for a static one; the cluster
#     default resource lists only the dynamic defaults.
#  3. refused: a read-only key (INVALID_REQUEST "Cannot update these configs
#     dynamically"), a bad value, another broker id. Nothing changes. A per-broker
#     value wins over the default (message.max.bytes refuses a record live;
#     log.retention.ms reaches the topic) until it is deleted.
#  4. restart: the dynamic defaults persist (metadata file) and still apply.
#  5. when the Kafka 4.4 jars are available: kafka-configs.sh describes the default
#     and per-broker resources and gets the same refusal.
. "$(dirname "$0")/lib.sh"

CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"
rb_start --override num.shards=2 --override log.retention.check.interval.ms=300
BS=$(rb_bootstrap)
ctl() { ct 30 "$CTL" "$1" --bootstrap-server "$BS" "${@:2}"; }
bcfg() { ctl configs --entity-type brokers "$@"; }
tcfg() { ctl configs --entity-type topics --entity-name "$@"; }
nseg() { ls "$RB_DIR/$1-0/" 2>/dev/null | grep -c '\.log$'; }
earliest() { # ListOffsets earliest (timestamp -2) of partition 0
    ct 20 "$KCAT" -b "$BS" -Q -t "$1:0:-2" 2>/dev/null | sed -n 's/.* offset \(-\{0,1\}[0-9]*\).*/\1/p'
}
produce() { # topic n: n records of ~1 KB, small batches (several per run)
    local i
    for i in $(seq 1 "$2"); do printf 'r%05d-%01000d\n' "$i" 0; done >"$T_TMP/in"
    ctl produce --topic "$1" -X batch.size=4000 -X linger.ms=0 <"$T_TMP/in" >/dev/null 2>"$T_TMP/p.err" ||
        fail "produce $1: $(tail -3 "$T_TMP/p.err")"
}
wait_earliest_above() { # topic floor secs
    local deadline=$((SECONDS + $3)) e
    while :; do
        e=$(earliest "$1")
        [ -n "$e" ] && [ "$e" -gt "$2" ] && { echo "$e"; return 0; }
        [ $SECONDS -lt $deadline ] || { echo "${e:-none}"; return 1; }
        sleep 0.3
    done
}

# ---- 1. topic configs, live ----
ctl topics --create --topic cd-seg --partitions 1 >/dev/null || fail "create cd-seg"
produce cd-seg 100
[ "$(nseg cd-seg)" = 1 ] || fail "cd-seg: $(nseg cd-seg) segments before the change, want 1"
tcfg cd-seg --alter --add-config segment.bytes=20000 >/dev/null || fail "alter segment.bytes"
produce cd-seg 100
n=$(nseg cd-seg)
[ "$n" -ge 4 ] || fail "cd-seg: segment.bytes=20000 live: only $n segment files after 100 KB"
info "topic segment.bytes 1 GiB -> 20000 live: $n segments"
e0=$(earliest cd-seg)
[ "$e0" = 0 ] || fail "cd-seg: earliest $e0 before retention, want 0"
sleep 1.2 # the existing segments are now older than the retention below
tcfg cd-seg --alter --add-config retention.ms=1000 >/dev/null || fail "alter retention.ms"
e=$(wait_earliest_above cd-seg 0 15) || fail "cd-seg: earliest still $e 15 s after retention.ms=1000"
n2=$(nseg cd-seg)
[ "$n2" -lt "$n" ] || fail "cd-seg: $n2 segment files after retention (had $n)"
info "topic retention.ms=1000 live: earliest 0 -> $e, segments $n -> $n2"

# ---- 2. dynamic broker defaults ----
ctl topics --create --topic cd-def --partitions 1 >/dev/null || fail "create cd-def"
ctl topics --create --topic cd-ovr --partitions 1 --config retention.ms=3600000 \
    --config segment.bytes=20000 >/dev/null || fail "create cd-ovr"
produce cd-def 60
[ "$(nseg cd-def)" = 1 ] || fail "cd-def: $(nseg cd-def) segments, want 1"
out=$(bcfg --entity-default --alter --add-config log.segment.bytes=20000 2>&1) ||
    fail "alter default log.segment.bytes: $out"
grep -qx "Completed updating default config for brokers in the cluster." <<<"$out" || fail "alter: $out"
produce cd-def 100
produce cd-ovr 100
nd=$(nseg cd-def)
[ "$nd" -ge 4 ] || fail "cd-def: dynamic log.segment.bytes=20000: only $nd segments"
info "broker default log.segment.bytes=20000 live on cd-def: $nd segments"
sleep 1.2
bcfg --entity-default --alter --add-config log.retention.ms=1000 >/dev/null ||
    fail "alter default log.retention.ms"
e=$(wait_earliest_above cd-def 0 15) || fail "cd-def: earliest still $e 15 s after log.retention.ms=1000"
info "broker default log.retention.ms=1000 live on cd-def: earliest 0 -> $e"
sleep 1
[ "$(earliest cd-ovr)" = 0 ] || fail "cd-ovr (retention.ms override) lost data: earliest $(earliest cd-ovr)"
tcfg cd-def --describe --all >"$T_TMP/td" || fail "describe cd-def"
grep -q "^  retention.ms=1000 " "$T_TMP/td" || fail "cd-def retention.ms not 1000: $(grep retention.ms "$T_TMP/td")"
tcfg cd-ovr --describe --all | grep -q "^  retention.ms=3600000 " || fail "cd-ovr retention.ms changed"

bcfg --entity-default --describe >"$T_TMP/dd" || fail "describe default"
want="  log.retention.ms=1000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1000}"
grep -qxF "$want" "$T_TMP/dd" || fail "default describe: $(cat "$T_TMP/dd")"
[ "$(grep -c '^  ' "$T_TMP/dd")" = 2 ] || fail "default describe lists more than the 2 dynamic keys: $(cat "$T_TMP/dd")"

describe_wire() { # broker-resource-name key... -> "key source read_only value" per key
    timeout 15 "$PY" - "$RB_PORT" "$@" <<'PY'
import socket, struct, sys
port, name, keys = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3:]
body = struct.pack(">i", 1) + struct.pack(">bh", 4, len(name)) + name + struct.pack(">i", -1)
body += b"\x00"  # include_synonyms false
msg = struct.pack(">hhih", 32, 1, 9, 2) + b"it" + body
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(struct.pack(">i", len(msg)) + msg)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("closed")
        b += c
    return b
r = rd(struct.unpack(">i", rd(4))[0])
p = 8
def i8():
    global p; p += 1; return struct.unpack(">b", r[p-1:p])[0]
def i16():
    global p; p += 2; return struct.unpack(">h", r[p-2:p])[0]
def i32():
    global p; p += 4; return struct.unpack(">i", r[p-4:p])[0]
def st():
    global p
    n = i16()
    if n < 0: return None
    p += n; return r[p-n:p].decode()
assert i32() == 1
err, msg_, rtype, rname = i16(), st(), i8(), st()
if err: raise SystemExit("error %d %s" % (err, msg_))
got = {}
for _ in range(i32()):
    k, v, ro, src, sens = st(), st(), i8(), i8(), i8()
    for _ in range(i32()): st(); st(); i8()
    got[k] = (src, ro, v)
for k in keys:
    src, ro, v = got.get(k, (None, None, None))
    print(k, src, ro, v)
PY
}
res=$(describe_wire 0 log.retention.ms num.partitions log.segment.bytes) || fail "DescribeConfigs wire: $res"
exp="log.retention.ms 3 0 1000
num.partitions 4 1 1
log.segment.bytes 3 0 20000"
[ "$res" = "$exp" ] || fail "DescribeConfigs broker 0 (key source read_only value): got
$res
want
$exp"
res=$(describe_wire "" log.retention.ms num.partitions) || fail "DescribeConfigs default: $res"
[ "$res" = "log.retention.ms 3 0 1000
num.partitions None None None" ] || fail "DescribeConfigs default resource: $res"
info "DescribeConfigs: log.retention.ms source 3 (DYNAMIC_DEFAULT_BROKER_CONFIG) writable, num.partitions read-only"

# ---- 3. refused changes ----
out=$(bcfg --entity-name 0 --alter --add-config num.partitions=5 2>&1) && fail "read-only key accepted: $out"
grep -qF "Invalid request: Cannot update these configs dynamically: [num.partitions]" <<<"$out" ||
    fail "read-only key error: $out"
out=$(bcfg --entity-default --alter --add-config log.retention.hours=1 2>&1) && fail "log.retention.hours accepted: $out"
grep -qF "Cannot update these configs dynamically: [log.retention.hours]" <<<"$out" || fail "hours error: $out"
out=$(bcfg --entity-name 0 --alter --add-config message.max.bytes=big 2>&1) && fail "bad value accepted: $out"
grep -qF "Invalid request: Invalid value big for configuration message.max.bytes" <<<"$out" ||
    fail "bad value error: $out"
out=$(bcfg --entity-name 7 --alter --add-config log.retention.ms=5 2>&1) && fail "broker 7 accepted: $out"
grep -qF "Unexpected broker id, expected 0, but received 7" <<<"$out" || fail "broker 7 error: $out"
bcfg --entity-name 0 --describe >"$T_TMP/b0" || fail "describe broker 0"
[ "$(grep -c '^  ' "$T_TMP/b0")" = 0 ] || fail "refused changes left per-broker configs: $(cat "$T_TMP/b0")"
info "refused: read-only num.partitions / log.retention.hours, bad value, broker 7"

# per-broker value wins over the default, and deleting it falls back
bcfg --entity-name 0 --alter --add-config message.max.bytes=5000 >/dev/null || fail "set message.max.bytes"
printf '%06000d\n' 0 >"$T_TMP/big"
ctl produce --topic cd-def <"$T_TMP/big" >/dev/null 2>"$T_TMP/big.err" && fail "6 KB record accepted with message.max.bytes=5000"
grep -qi "too large\|MSG_SIZE_TOO_LARGE" "$T_TMP/big.err" || fail "6 KB record error: $(tail -2 "$T_TMP/big.err")"
bcfg --entity-name 0 --alter --delete-config message.max.bytes >/dev/null || fail "delete message.max.bytes"
ctl produce --topic cd-def <"$T_TMP/big" >/dev/null 2>"$T_TMP/big.err" || fail "6 KB record refused after delete: $(tail -2 "$T_TMP/big.err")"
info "per-broker message.max.bytes=5000 refuses a 6 KB record live; deleted -> accepted"
bcfg --entity-name 0 --alter --add-config log.retention.ms=7200000 >/dev/null || fail "set broker 0 retention"
bcfg --entity-default --describe >"$T_TMP/dd1" || fail "describe default"
grep -qxF "$want" "$T_TMP/dd1" || fail "default hidden by the per-broker value: $(cat "$T_TMP/dd1")"
bcfg --entity-name 0 --describe >"$T_TMP/b1" || fail "describe broker 0"
grep -qxF "  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=7200000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1000}" \
    "$T_TMP/b1" || fail "broker 0 describe: $(cat "$T_TMP/b1")"
tcfg cd-def --describe --all | grep -q "^  retention.ms=7200000 " || fail "cd-def does not follow broker 0's value"
bcfg --entity-name 0 --alter --delete-config log.retention.ms >/dev/null || fail "delete broker 0 retention"
tcfg cd-def --describe --all | grep -q "^  retention.ms=1000 " || fail "cd-def not back on the default"
info "per-broker log.retention.ms over the default (both described), deleted -> default again"

# ---- 4. restart ----
rb_stop
grep -q "^broker-config default log.retention.ms 1000$" "$RB_DIR/ringbroker-metadata" ||
    fail "dynamic default not persisted: $(grep broker-config "$RB_DIR/ringbroker-metadata")"
rb_restart
bcfg --entity-default --describe >"$T_TMP/dd2" || fail "describe default after restart"
grep -qxF "$want" "$T_TMP/dd2" || fail "default after restart: $(cat "$T_TMP/dd2")"
before=$(ct 20 "$KCAT" -b "$BS" -Q -t "cd-def:0:-1" 2>/dev/null | sed -n 's/.* offset \([0-9]*\).*/\1/p')
[ -n "$before" ] || fail "cd-def end offset unknown after restart"
produce cd-def 60
sleep 1.2
e=$(wait_earliest_above cd-def "$((before - 1))" 15) ||
    fail "cd-def after restart: earliest $e, want >= $before (dynamic retention lost?)"
info "restart: dynamic defaults kept; cd-def earliest $e >= $before"

# ---- 5. Kafka's own kafka-configs.sh, when its jars are here ----
if command -v java >/dev/null && LIB=$("$ROOT/tools/fetch-kafka.sh" 2>/dev/null); then
    jcc() {
        ct 60 java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp "$LIB/*" \
            org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BS" --entity-type brokers "$@" 2>&1 |
            grep -v '^SLF4J'
        return "${PIPESTATUS[0]}"
    }
    out=$(jcc --entity-default --describe) || fail "kafka-configs default describe: $out"
    grep -qxF "$want" <<<"$out" || fail "kafka-configs default describe: $out"
    out=$(jcc --entity-name 0 --alter --add-config log.flush.interval.ms=60000) || fail "kafka-configs alter: $out"
    out=$(jcc --entity-name 0 --describe) || fail "kafka-configs broker 0 describe: $out"
    grep -qF "log.flush.interval.ms=60000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.flush.interval.ms=60000}" \
        <<<"$out" || fail "kafka-configs broker 0 describe: $out"
    out=$(jcc --entity-name 0 --alter --add-config log.dirs=/tmp/x) && fail "kafka-configs read-only accepted: $out"
    grep -qF "InvalidRequestException: Cannot update these configs dynamically: [log.dirs]" <<<"$out" ||
        fail "kafka-configs read-only error: $out"
    info "kafka-configs.sh 4.4: default and broker 0 describe, alter, read-only refusal"
else
    info "Kafka jars or java unavailable: kafka-configs.sh part not run"
fi
rb_check_alive "end"
rb_stop
exit 0
