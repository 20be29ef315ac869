#!/usr/bin/env bash
# tools/fetch-kafka.sh - fetch Apache Kafka (broker + tools jars with all their
# runtime dependencies) from Maven Central into a cache outside git, for interop
# tests and perf/ side-by-side runs.
#
# Usage:
#   tools/fetch-kafka.sh [VERSION]     default VERSION: 4.4.0
#   LIB=$(tools/fetch-kafka.sh)        the only thing printed on stdout is the lib dir
#
# Result: ${RINGBROKER_CACHE:-$HOME/.cache/ringbroker}/kafka-<V>/lib/*.jar and a
# marker file kafka-<V>/.complete (written last; its content is the jar count).
# Idempotent: when the marker is present and the jars it counts are there,
# nothing is downloaded. If a 3.x/4.x VERSION is not served by Maven Central, the
# newest 4.x that is served is used instead and a note goes to stderr; the printed
# lib dir names the version actually fetched.
#
# Kafka 2.x (e.g. `tools/fetch-kafka.sh 2.8.2`, the last release whose
# TopicCommand/ConfigCommand take --zookeeper; tests/cluster/ uses it): fetches
# kafka_2.13:VERSION plus org.slf4j:slf4j-log4j12:1.7.30 (2.x has no kafka-tools
# artifact, and its log4j binding is not a runtime dependency). Never falls back.
#   java -cp "$LIB/*" kafka.admin.TopicCommand --zookeeper h:p/kafka ...
#   java -cp "$LIB/*" kafka.admin.ConfigCommand --zookeeper h:p/kafka ...
#
# How to run things with it (the jars hold no .sh scripts):
#   java -cp "$LIB/*" kafka.Kafka server.properties                   broker
#   java -cp "$LIB/*" org.apache.kafka.tools.ProducerPerformance ...  tools
#   java -cp "$LIB/*" org.apache.kafka.tools.ConsumerPerformance ...
#   java -cp "$LIB/*" org.apache.kafka.tools.TopicCommand ...         kafka-topics
#   java -cp "$LIB/*" kafka.tools.StorageTool format ...              KRaft format
#   java -cp "$LIB/*" kafka.tools.DumpLogSegments ...
# perf/kafka.sh shows a complete single-node KRaft start.
# Progress and errors go to stderr; exit status 0 on success.
# Needs: mvn (Debian `maven`) and a JDK (>= 17).
set -euo pipefail

WANT="${1:-4.4.0}"
CACHE="${RINGBROKER_CACHE:-$HOME/.cache/ringbroker}"
# group:artifact[:version]; without a version, the Kafka version being fetched.
artifacts_for() { # version
    case "$1" in
    2.*) echo "org.apache.kafka:kafka_2.13 org.slf4j:slf4j-log4j12:1.7.30" ;;
    *) echo "org.apache.kafka:kafka_2.13 org.apache.kafka:kafka-tools" ;;
    esac
}

log() { echo "fetch-kafka: $*" >&2; }

is_complete() { # dir -> 0 when marker present and jar count matches
    local d="$1" n
    [ -f "$d/.complete" ] || return 1
    n=$(find "$d/lib" -maxdepth 1 -name '*.jar' 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] && [ "$n" = "$(cat "$d/.complete")" ]
}

# A cached copy of the wanted version (or of the fallback recorded earlier) wins.
for d in "$CACHE/kafka-$WANT" $(cat "$CACHE/kafka-$WANT.fallback" 2>/dev/null); do
    if is_complete "$d"; then
        [ "$d" = "$CACHE/kafka-$WANT" ] || log "NOTE: Kafka $WANT is not served; using $d"
        echo "$d/lib"
        exit 0
    fi
done

command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
command -v java >/dev/null || { log "java not found (apt-get install default-jdk-headless)"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fetch-kafka.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

write_pom() { # version
    {
        echo '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        echo '  <modelVersion>4.0.0</modelVersion>'
        echo '  <groupId>local.ringbroker</groupId><artifactId>fetch-kafka</artifactId>'
        echo '  <version>1</version><packaging>pom</packaging>'
        echo '  <dependencies>'
        local a g rest art v
        for a in $(artifacts_for "$1"); do
            g=${a%%:*} rest=${a#*:}
            art=${rest%%:*} v=$1
            [ "$rest" = "$art" ] || v=${rest#*:}
            echo "    <dependency><groupId>$g</groupId><artifactId>$art</artifactId>"
            echo "      <version>$v</version></dependency>"
        done
        echo '  </dependencies>'
        echo '</project>'
    } >"$TMP/pom.xml"
}

fetch_version() { # version -> 0 on success, jars in $TMP/lib
    rm -rf "$TMP/lib"
    write_pom "$1"
    log "resolving Kafka $1 from Maven Central (first time: a few minutes)"
    mvn -B -q -f "$TMP/pom.xml" \
        org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$TMP/lib" >"$TMP/mvn.log" 2>&1
}

# Newest 4.x release listed in Maven Central's metadata for kafka_2.13, via mvn.
newest_4x() {
    mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get \
        -Dartifact=org.apache.kafka:kafka_2.13:LATEST:pom -Dtransitive=false \
        >/dev/null 2>&1 || true
    local meta
    meta=$(find "$HOME/.m2/repository/org/apache/kafka/kafka_2.13" -maxdepth 1 \
        -name 'maven-metadata-*.xml' 2>/dev/null | head -1)
    [ -n "$meta" ] || return 1
    grep -o '<version>4\.[0-9]*\.[0-9]*</version>' "$meta" | sed 's/<[^>]*>//g' |
        sort -V | tail -1
}

VER="$WANT"
if ! fetch_version "$VER"; then
    log "Kafka $VER could not be resolved:"
    tail -5 "$TMP/mvn.log" >&2
    case "$WANT" in 2.*)
        log "no fall-back for Kafka 2.x (its --zookeeper tools are the point)"
        exit 1
        ;;
    esac
    VER=$(newest_4x) || VER=
    if [ -z "$VER" ] || [ "$VER" = "$WANT" ]; then
        log "no usable Kafka 4.x release found on Maven Central"
        exit 1
    fi
    log "NOTE: falling back to Kafka $VER (newest 4.x served)"
    if ! fetch_version "$VER"; then
        tail -20 "$TMP/mvn.log" >&2
        exit 1
    fi
fi

DEST="$CACHE/kafka-$VER"
n=$(find "$TMP/lib" -maxdepth 1 -name '*.jar' | wc -l)
[ "$n" -gt 0 ] || { log "no jars copied"; exit 1; }
mkdir -p "$CACHE"
rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp"
mv "$TMP/lib" "$DEST.tmp/lib"
echo "$n" >"$DEST.tmp/.complete"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
[ "$VER" = "$WANT" ] || echo "$DEST" >"$CACHE/kafka-$WANT.fallback"
log "Kafka $VER: $n jars in $DEST/lib"
echo "$DEST/lib"
