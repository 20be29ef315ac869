#!/bin/bash
# container/zookeeper/zk-entrypoint.sh - write /conf/zoo.cfg, /data/myid and a
# log4j configuration from ZOO_* variables (see the Dockerfile), then exec
# ZooKeeper's QuorumPeerMain in the foreground (no zkServer.sh).
set -euo pipefail
conf=${ZOO_CONF_DIR:-/conf}
data=${ZOO_DATA_DIR:-/data}
mkdir -p "$conf" "$data"
{
    echo "tickTime=${ZOO_TICK_TIME:-2000}"
    echo "initLimit=${ZOO_INIT_LIMIT:-10}"
    echo "syncLimit=${ZOO_SYNC_LIMIT:-5}"
    echo "dataDir=$data"
    echo "clientPort=${ZOO_CLIENT_PORT:-2181}"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr,ruok,mntr}"
    echo "autopurge.snapRetainCount=3"
    echo "autopurge.purgeInterval=24"
    echo "quorumListenOnAllIPs=true"
    for s in ${ZOO_SERVERS:-}; do
        echo "$s"
    done
} >"$conf/zoo.cfg"
if [ -n "${ZOO_SERVERS:-}" ]; then
    [ -n "${ZOO_MY_ID:-}" ] || {
        echo "zk-entrypoint: ZOO_SERVERS is set but ZOO_MY_ID is not" >&2
        exit 64
    }
    echo "$ZOO_MY_ID" >"$data/myid"
fi
cat >"$conf/log4j.properties" <<L4J
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t] %c{1}: %m%n
L4J
echo "zk-entrypoint: $conf/zoo.cfg:"
sed 's/^/  /' "$conf/zoo.cfg"
cp="$conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
for j in /usr/share/java/slf4j-api.jar /usr/share/java/netty-all.jar \
    /usr/share/java/jline.jar /usr/share/java/commons-cli.jar; do
    [ -f "$j" ] && cp="$cp:$j"
done
# shellcheck disable=SC2086 # ZOO_HEAP may hold several JVM options
exec java ${ZOO_HEAP:--Xmx256m} -XX:+UseSerialGC -cp "$cp" \
    -Dlog4j.configuration="file:$conf/log4j.properties" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf/zoo.cfg"
