# perf/lib/partitions.sh - shared by perf/startup.sh and perf/first-stop.sh (sourced):
#   port                       a free loopback port
#   now_ns                     the clock in ns
#   create_partitions PORT N SECS   N partitions on the broker at PORT, as topics
#                              s0, s1, ... of up to 1,000 partitions each (ringctl $CTL,
#                              each call bounded by SECS); exits 1 when one fails
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }
create_partitions() {
    local port=$1 total=$2 secs=$3 i n
    for ((i = 0; i < (total + 999) / 1000; i++)); do
        n=$((total - i * 1000 < 1000 ? total - i * 1000 : 1000))
        timeout "$secs" "$CTL" topics --bootstrap-server "127.0.0.1:$port" --create --topic "s$i" \
            --partitions "$n" >/dev/null || {
            echo "cannot create topic s$i" >&2
            exit 1
        }
    done
}
