# shellcheck shell=bash
# perf/lib/catchup.sh - sourced by perf/run: driver=produce-catchup, a
# producer's latency while consumers catch up (issue 14 item 1: "the reads must
# not disturb the produce path's latency").
#
# For one broker, already started by run_one:
#   1. fill: topic perf gets `bytes` of record_size records (partitions, keys
#      round-robin, max rate, acks=all) - fill.log;
#   2. a fixed-rate producer (`rate` rec/s, acks, linger_ms) on topic perf-lat,
#      partitions as perf, runs with phase marks (rb-perf-produce -M):
#      phase 0 "before" = warm-up end .. +duration/3,
#      phase 1 "during" = while the consumers read perf from the beginning
#        (`consumers` rb-perf-consume -m catchup at once, each the whole topic:
#        as independent consumer groups would; catchup-N.log),
#      phase 2 "after"  = duration/3 after the last consumer finished;
#      then SIGTERM: the producer stops sending, waits for its acks and writes
#      its SUMMARY with the ack latency percentiles per phase (produce.log).
# The sampler's phase names are fill, produce (before), catchup, after; the
# report takes broker CPU per phase from them (report_catchup.py). disk.txt: the
# data file system's device counters (/proc/diskstats: sectors read and written,
# the whole machine's I/O on it) at the phase boundaries 0 (warm-up end) .. 3.
# Uses perf/run's say, conf_get, run_logged, DRV and BROKER_BOOTSTRAP.

# shellcheck disable=SC2034 # read by perf/run's cleanup
CATCHUP_PIDS= # the background producer while it runs (perf/run's cleanup kills it)

catchup_sleep() { # seconds (may be fractional or negative = none)
    local s
    s=$(awk -v s="$1" 'BEGIN {printf "%.1f", (s > 0 ? s : 0)}')
    sleep "$s"
}

catchup_disk_snap() { # dir label: "label t_ns sectors_read sectors_written" >> dir/disk.txt
    local dev
    dev=$(df -P "$BROKER_DATA" 2>/dev/null | awk 'NR == 2 {n = split($1, a, "/"); print a[n]}')
    awk -v dev="$dev" -v l="$2" -v t="$(date +%s%N)" \
        '$3 == dev {print l, t, $6, $10}' /proc/diskstats >>"$1/disk.txt"
}

run_produce_catchup() { # conf dir duration bytes -> 0 or a failing exit code
    local conf=$1 d=$2 dur=$3 bytes=$4 parts rs rate w third nc cdur rc=0 r
    parts=$(conf_get "$conf" partitions 4)
    rs=$(conf_get "$conf" record_size 1024)
    rate=$(conf_get "$conf" rate 51200)
    w=$(conf_get "$conf" warmup 3)
    nc=$(conf_get "$conf" consumers 1)
    third=$(awk -v d="$dur" 'BEGIN {printf "%.1f", d / 3}')
    [ "$bytes" -gt 0 ] || bytes=$((1 << 30))
    # Bounds as for perf/run's fixed-size runs: at least 20 MiB/s to write,
    # 30 MiB/s to read.
    cdur=$((bytes / 31457280 + 90))

    echo fill >"$d/phase"
    say "  filling topic perf: $((bytes >> 20)) MiB of $rs B records, $parts partitions, max rate, acks=all"
    run_logged "$d/fill.log" fill $((bytes / 20971520 + 150)) "$DRV/rb-perf-produce" \
        -b "$BROKER_BOOTSTRAP" -t perf -P "$parts" -k rr -s "$rs" -r 0 -a all \
        -n $((bytes / rs)) -w 0 -d $((bytes / 20971520 + 120)) || rc=$?

    local pcmd=("$DRV/rb-perf-produce" -b "$BROKER_BOOTSTRAP" -t perf-lat -P "$parts" -k rr
        -s "$rs" -r "$rate" -a "$(conf_get "$conf" acks all)"
        -z "$(conf_get "$conf" compression none)" -w "$w" -M
        -d $((w + ${dur%.*} + cdur + 60)))
    local lg
    lg=$(conf_get "$conf" linger_ms "")
    [ -n "$lg" ] && pcmd+=(-l "$lg")
    echo "${pcmd[*]}" >"$d/command"
    echo produce >"$d/phase"
    say "  producer at $rate rec/s on perf-lat: ${w}s warm-up, ${third}s before, the catch-up read, ${third}s after"
    "${pcmd[@]}" >"$d/produce.log" 2>"$d/produce.log.err" &
    local ppid=$! i=0
    CATCHUP_PIDS=$ppid
    # Sending starts once its topic has leaders: the first per-second line is 1 s in.
    until grep -q '^produce sec=1 ' "$d/produce.log" 2>/dev/null; do
        kill -0 "$ppid" 2>/dev/null || break
        i=$((i + 1))
        [ $i -gt 1500 ] && break
        sleep 0.1
    done
    catchup_sleep "$(awk -v w="$w" 'BEGIN {print w - 1}')"
    catchup_disk_snap "$d" 0
    catchup_sleep "$third"

    echo catchup >"$d/phase"
    kill -USR1 "$ppid" 2>/dev/null
    catchup_disk_snap "$d" 1
    say "  $nc consumer(s) read topic perf from the beginning"
    local cp=() k
    for k in $(seq 1 "$nc"); do
        run_logged "$d/catchup-$k.log" "catchup-$k" $((cdur + 30)) "$DRV/rb-perf-consume" \
            -b "$BROKER_BOOTSTRAP" -t perf -m catchup -d "$cdur" &
        cp+=($!)
    done
    for k in "${cp[@]}"; do
        wait "$k" || rc=$?
    done

    echo after >"$d/phase"
    kill -USR1 "$ppid" 2>/dev/null
    catchup_disk_snap "$d" 2
    catchup_sleep "$third"
    catchup_disk_snap "$d" 3
    kill -TERM "$ppid" 2>/dev/null
    wait "$ppid"
    r=$?
    CATCHUP_PIDS=
    [ $r -eq 0 ] || rc=$r
    grep -v '^SUMMARY' "$d/produce.log" | sed "s/^/    [producer] /"
    return $rc
}
