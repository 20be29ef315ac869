#!/usr/bin/env bash
# t_config_bounds.sh - every numeric broker setting takes Kafka's whole range.
# The numeric keys (int, double, aligned and power-of-two sizes) and their bounds
# are read from core/config_keys.c, so a key added there is tested here too.
# Cases, each a fresh broker started with the values as --override:
#   - every typed key (one the broker uses: TI, aligned, pow2) alone at each of
#     its boundary values: min, max, and 0, 1, -1 where inside the range;
#   - every numeric key at once at its maximum, at its minimum, and at 1 (or the
#     nearest legal value), so the raw keys (kept for topic defaults) are covered
#     and the combinations too (Long.MAX_VALUE means "never", as in Kafka).
# Each case: the broker must start, a kcat produce of 3 records with acks=all must
# be acknowledged and read back exactly, and SIGTERM must stop it with status 0.
# A few values make every produce impossible by definition (a 0-byte message
# limit, a 1-byte request limit, 0 or 1 connections allowed (kcat needs 2), auto-created topics of
# 2^31-1 partitions or 32767 replicas on one node); there the broker must refuse
# cleanly: stay up, and stop with status 0. (A timestamp tolerance of 0 or 1 ms
# refuses the client's records too, and a 1 ms idle limit or 1-byte retention
# take the client's connection or records away: the combinations leave those out.) Cases run 4 at a time; the whole
# test is bounded (RB_IT_CONFIG_BOUNDS_TIMEOUT, default 170 s).
. "$(dirname "$0")/lib.sh"

PAR=${RB_IT_CONFIG_BOUNDS_PAR:-4}
BUDGET=${RB_IT_CONFIG_BOUNDS_TIMEOUT:-170}
CASES=$T_TMP/cases
mkdir -p "$T_TMP/res"

# One case per line: "name<TAB>k=v k=v ...".
"$PY" - "$ROOT/core/config_keys.c" >"$CASES" <<'PY' || fail "cannot read the keys"
import re, sys
src = open(sys.argv[1]).read()
consts = {"I32MAX": 2**31 - 1, "I64MAX": 2**63 - 1, "INT16_MAX": 2**15 - 1,
          "INT64_MIN": -2**63, "INT32_MAX": 2**31 - 1, "LMAX": 2**63 - 1}
def ev(x):
    x = x.strip().replace("LL", "")
    for k, v in consts.items():
        x = re.sub(r"\b%s\b" % k, str(v), x)
    return eval(x, {"__builtins__": {}})
keys = []  # (key, min, max, typed, double)
for m in re.finditer(r'\b(TI|RI|RD)\("([a-z0-9.]+)",\s*([^,]+),\s*([^,]+),', src):
    keys.append((m.group(2), ev(m.group(3)), ev(m.group(4)), m.group(1) == "TI", m.group(1) == "RD"))
for m in re.finditer(r'\{"([a-z0-9.]+)",\s*RB_CT_(ALIGNED|POW2),\s*([^,]+),\s*([^,]+),', src):
    keys.append((m.group(1), ev(m.group(3)), ev(m.group(4)), True, False))
if len(keys) < 50:
    sys.exit("only %d numeric keys found: has config_keys.c changed shape?" % len(keys))
def fmt(v, dbl):
    return repr(float(v)) if dbl else str(int(v))
def values(mn, mx):
    vs = [mn, mx] + [v for v in (0, 1, -1) if mn <= v <= mx]
    return sorted(set(vs))
for k, mn, mx, typed, dbl in keys:
    if typed:
        for v in values(mn, mx):
            print("%s=%s\t%s=%s" % (k, fmt(v, dbl), k, fmt(v, dbl)))
# Values under which no produce can succeed (the same list as refusing() below):
# they are tested alone, and left at their defaults in the combinations.
REFUSING = {"message.max.bytes": lambda v: v <= 1, "socket.request.max.bytes": lambda v: v <= 1,
            # kcat opens two connections (bootstrap, then the broker's own address)
            "max.connections": lambda v: v <= 1, "max.connections.per.ip": lambda v: v <= 1,
            "num.partitions": lambda v: v == 2**31 - 1,
            "default.replication.factor": lambda v: v > 1,
            # a record's timestamp must be within this many ms of the broker's clock:
            # the client's stamp is a few ms old on arrival
            "log.message.timestamp.difference.max.ms": lambda v: v < 60000,
            "log.message.timestamp.before.max.ms": lambda v: v < 60000,
            "log.message.timestamp.after.max.ms": lambda v: v < 60000}
# Values under which the broker rightly takes away what the case reads back, at a
# moment the case cannot control: left at their defaults in the combinations (a
# CI run lost "all-one" to a 1 ms idle limit closing kcat's connections, and
# 1-byte/1-ms retention with 1-ms rolls can delete r0 before it is read).
RACING = {"connections.max.idle.ms": lambda v: 0 <= v < 60000,
          "log.retention.bytes": lambda v: 0 <= v < 2**20,
          "log.retention.ms": lambda v: 0 <= v < 60000,
          "log.retention.minutes": lambda v: 0 <= v < 1}
def combo(name, pick):
    kv = []
    for k, mn, mx, t, d in keys:
        v = pick(mn, mx)
        if k in RACING and RACING[k](v):
            continue
        if k not in REFUSING or not REFUSING[k](v):
            kv.append("%s=%s" % (k, fmt(v, d)))
    print("%s\t%s" % (name, " ".join(kv)))
combo("all-max", lambda mn, mx: mx)
combo("all-min", lambda mn, mx: mn)
combo("all-one", lambda mn, mx: min(max(1, mn), mx))
PY
n_cases=$(wc -l <"$CASES")
info "$n_cases cases from core/config_keys.c"

# Values under which no produce can succeed; the broker must still refuse cleanly.
refusing() {
    case " $1 " in
    *" message.max.bytes=0 "* | *" message.max.bytes=1 "* | *" socket.request.max.bytes=1 "* | \
        *" max.connections=0 "* | *" max.connections.per.ip=0 "* | *" max.connections=1 "* | \
        *" max.connections.per.ip=1 "* | \
        *" num.partitions=2147483647 "* | *" default.replication.factor=32767 "*) return 0 ;;
    esac
    return 1
}

# run_case IDX NAME OVERRIDES: writes res/IDX = "ok|FAIL name: why".
run_case() {
    local idx=$1 name=$2 kv=$3 port dir log pid out rc args=() x deadline
    port=$(rb_free_port) || { echo "FAIL $name: no free port" >"$T_TMP/res/$idx"; return; }
    dir=$T_TMP/d.$idx
    log=$T_TMP/broker.case$idx.log
    mkdir -p "$dir"
    for x in $kv; do args+=(--override "$x"); done
    "$RB_BIN" "$RB_CONFIG" --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$dir/data" --override num.shards=1 \
        --override auto.create.topics.enable=true "${args[@]}" 2>"$log" >&2 &
    pid=$!
    echo "$pid" >"$T_TMP/res/$idx.pid"
    verdict() {
        echo "$1" >"$T_TMP/res/$idx"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        [[ $1 == ok* ]] && rm -rf "$dir" "$log"
    }
    deadline=$((SECONDS + 20))
    while ! rb_port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            verdict "FAIL $name: broker exited at startup: $(grep -m1 -iE 'error|invalid' "$log")"
            return
        fi
        [ $SECONDS -lt $deadline ] || { verdict "FAIL $name: not listening after 20 s"; return; }
        sleep 0.1
    done
    out=$(printf 'r0\nr1\nr2\n' | ct 20 "$KCAT" -P -b "127.0.0.1:$port" -t cb -p 0 \
        -X acks=all -X message.timeout.ms=10000 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        out=$(ct 20 "$KCAT" -C -b "127.0.0.1:$port" -t cb -p 0 -o 0 -c 3 -e -q 2>&1 | tr '\n' ' ')
        [ "$out" = "r0 r1 r2 " ] || rc=1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        verdict "FAIL $name: broker died under load: $(tail -2 "$log" | tr '\n' ' ')"
        return
    fi
    if [ $rc -ne 0 ] && ! refusing "$kv"; then
        verdict "FAIL $name: produce/consume failed: $(echo "$out" | tail -2 | tr '\n' ' ')"
        return
    fi
    kill -TERM "$pid"
    deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { verdict "FAIL $name: no stop within 20 s of SIGTERM"; return; }
        sleep 0.1
    done
    wait "$pid"
    rc=$?
    [ $rc -eq 0 ] || { verdict "FAIL $name: exit status $rc after SIGTERM"; return; }
    verdict "ok $name"
}

# Kill the brokers of cases still running when the test ends early.
_cb_cleanup() {
    local f
    for f in "$T_TMP"/res/*.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    return 0
}
trap '_cb_rc=$?; _cb_cleanup; (exit $_cb_rc); _rb_cleanup' EXIT

t_end=$((SECONDS + BUDGET))
idx=0
while IFS=$'\t' read -r name kv; do
    idx=$((idx + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$PAR" ]; do
        [ $SECONDS -lt $t_end ] || fail "time budget of ${BUDGET}s used up after $idx of $n_cases cases"
        sleep 0.05
    done
    run_case "$idx" "$name" "$kv" &
done <"$CASES"
wait

ok=0 bad=0
for i in $(seq 1 "$idx"); do
    r=$(cat "$T_TMP/res/$i" 2>/dev/null || echo "FAIL case $i: no result")
    case "$r" in
    ok*) ok=$((ok + 1)) ;;
    *)
        bad=$((bad + 1))
        echo "$r" >&2
        ;;
    esac
done
info "config bounds: $ok cases ok, $bad failed (of $n_cases)"
[ "$bad" -eq 0 ] || fail "$bad of $n_cases boundary cases failed"
exit 0
