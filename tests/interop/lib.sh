# tests/interop/lib.sh - helpers for the client interop tests (t_*.sh here).
#
# Owns: the caches of third-party clients outside git (Kafka 4.4 jars via
# tools/fetch-kafka.sh, kafkajs from npm, a franz-go program built with the Go
# module proxy), all under ${RINGBROKER_CACHE:-~/.cache/ringbroker}; background
# client processes of one test script.
# Starting/stopping the broker, temp dir, fail/ct/info: tests/integration/lib.sh,
# sourced first (same conventions: loopback, random port, bounded, cleaned up).
# Invariants: every background client started with iop_bg is killed when the
# script exits, whatever the outcome; every client call is bounded in time.
# Fault model: a client may be missing, hang, crash or misbehave; a missing
# client that cannot be fetched is a failing test (with the reason), never a skip.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

IOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IOP_CACHE=${RINGBROKER_CACHE:-$HOME/.cache/ringbroker}
IOP_BG=()

_iop_cleanup() {
    local rc=$? p
    for p in "${IOP_BG[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    (exit "$rc")
    _rb_cleanup
}
trap _iop_cleanup EXIT

# iop_bg OUTFILE ERRFILE cmd... : start a client in the background (killed at
# exit); its pid is in IOP_LAST.
iop_bg() {
    local out=$1 err=$2
    shift 2
    "$@" >"$out" 2>"$err" &
    IOP_LAST=$!
    IOP_BG+=("$IOP_LAST")
}

# wait_for SECS description test-command... : poll every 0.2 s.
wait_for() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timeout (${secs}s) waiting for $what"
        sleep 0.2
    done
}

# broker_unsupported: the broker's "unsupported API key/version" lines (the
# API a client wanted and did not get), for failure messages.
broker_unsupported() {
    grep -h 'unsupported' "$T_TMP"/broker.*.log 2>/dev/null | sed 's/^.*closing/closing/' | sort | uniq -c
}

# ---- Apache Kafka 4.4 Java tools ----
# kafka_setup: KLIB = jar dir; JCP = classpath (plus slf4j-simple when the
# machine has it, so the client's own WARN/ERROR lines are visible).
kafka_setup() {
    command -v java >/dev/null || fail "java missing (Java 17 is part of the machine image)"
    KLIB=$(ct 900 "$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch.err") ||
        fail "cannot fetch Kafka: $(tail -5 "$T_TMP/fetch.err")"
    [ -d "$KLIB" ] || fail "fetch-kafka.sh printed no lib dir: $KLIB"
    JCP="$KLIB/*"
    [ -f /usr/share/java/slf4j-simple.jar ] && JCP="$JCP:/usr/share/java/slf4j-simple.jar"
    info "Kafka tools: $(basename "$(dirname "$KLIB")")"
}
# jrun SECS CLASS args... : one Java tool, bounded.
jrun() {
    local secs=$1
    shift
    ct "$secs" java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -Dorg.slf4j.simpleLogger.logFile=System.err -cp "$JCP" "$@"
}
K_TOPICS=org.apache.kafka.tools.TopicCommand
K_CONFIGS=org.apache.kafka.tools.ConfigCommand
K_CPROD=org.apache.kafka.tools.ConsoleProducer
K_CCONS=org.apache.kafka.tools.consumer.ConsoleConsumer
K_GROUPS=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
K_PPERF=org.apache.kafka.tools.ProducerPerformance
K_VPROD=org.apache.kafka.tools.VerifiableProducer
K_VCONS=org.apache.kafka.tools.VerifiableConsumer
K_DUMP=org.apache.kafka.tools.DumpLogSegments

# ---- kafkajs (npm) ----
KAFKAJS_VERSION=2.2.4
# kafkajs_setup: NODE_PATH points at a cache with kafkajs installed.
kafkajs_setup() {
    command -v node >/dev/null || fail "node missing"
    local d=$IOP_CACHE/node
    if [ ! -f "$d/node_modules/kafkajs/package.json" ] ||
        ! grep -q "\"version\": \"$KAFKAJS_VERSION\"" "$d/node_modules/kafkajs/package.json"; then
        command -v npm >/dev/null || fail "npm missing"
        mkdir -p "$d"
        ct 300 npm install --no-audit --no-fund --prefix "$d" "kafkajs@$KAFKAJS_VERSION" \
            >"$T_TMP/npm.log" 2>&1 || fail "npm install kafkajs: $(tail -5 "$T_TMP/npm.log")"
    fi
    export NODE_PATH=$d/node_modules
    info "kafkajs $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$d/node_modules/kafkajs/package.json")"
}

# ---- franz-go (Go module proxy) ----
# franz_build NAME: builds tests/interop/NAME.go (package main) with the newest
# franz-go in a cache dir outside git; prints the binary's path.
franz_build() {
    local name=$1 d bin
    # The machine image keeps Go in /usr/local/go; CI may not have it on PATH.
    command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"; }
    command -v go >/dev/null || fail "go missing"
    d=$IOP_CACHE/go/$name
    bin=$d/$name
    mkdir -p "$d"
    if [ ! -x "$bin" ] || [ "$IOP_DIR/$name.go" -nt "$bin" ]; then
        cp "$IOP_DIR/$name.go" "$d/main.go"
        [ -f "$d/go.mod" ] || printf 'module rbinterop/%s\n\ngo 1.22\n' "$name" >"$d/go.mod"
        (cd "$d" && ct 300 go get github.com/twmb/franz-go/pkg/kgo github.com/twmb/franz-go/pkg/kadm &&
            ct 300 go build -o "$bin" .) >"$T_TMP/go.log" 2>&1 ||
            fail "cannot build $name with franz-go: $(tail -5 "$T_TMP/go.log")"
    fi
    echo "$bin"
}
