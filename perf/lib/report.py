#!/usr/bin/env python3
"""perf/lib/report.py RESULTS_DIR - turn one perf/run results dir into
results.json, report.md and plots/*.png (per scenario: gnuplot; the summary
charts: perf/lib/plots.py, matplotlib).

Reads what perf/run left per scenario and broker (<scenario>/<broker>/):
status, produce.log / e2e.log / consume.log (per-second lines and a final
"SUMMARY {json}" from the rb-perf drivers), java-producer.log,
java-consumer.log (Kafka's own tools), samples.tsv (broker CPU/RSS),
data_mib, flush_stats.txt (ringbroker's group-commit counters at the start and
the end of the measured window, "stats shard=" log lines) and consume-N.log
(extra catch-up passes); per scenario rate.txt (a derived fixed rate and why);
at the top: env.txt, fio-*.json, iperf3.json. Standard library only;
a missing or broken file leaves that cell empty rather than failing the
report. Reading the dir is report_collect.py's part; this file makes the tables,
the markdown and the plots.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plots as plots_mod  # noqa: E402  (perf/lib/plots.py: the summary charts)
import report_catchup  # noqa: E402  (driver=produce-catchup: its table and headline)
from report_collect import (BROKER_ORDER, ceilings, collect, flush_stats,  # noqa: E402,F401
                            get, java_consumer, java_producer, read, resources, series)

# Columns that get a "ringbroker/<kafka kind>" ratio when present.
KAFKA_KINDS = [b for b in BROKER_ORDER if b.startswith("kafka")]
NO_CLUSTER_NOTE = ("`ringbroker/kafka3` compares standalone ringbroker (one copy, fdatasync "
                   "before ack) with 3 replicated Kafka nodes (acks=all, min.insync.replicas 2); "
                   "add `ringbroker3` to the run for the replicated ringbroker column.")
CLUSTER_NOTE = ("`ringbroker3` = 3 ringbroker brokers (replication factor 3, min.insync.replicas 2, "
                "every copy fdatasync'd before it counts) against `kafka3` (3 KRaft nodes, the "
                "same replication, page cache, no fsync); all of them share this machine's cores "
                "and disk, ZooKeeper's one node included (not counted in CPU/RSS).")


# ---- report ------------------------------------------------------------------

def fmt(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def us_to_ms(v):
    return None if v is None else v / 1000.0


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


COMMON_COLS = [
    ("time to serve Metadata ms", lambda r: r.get("ready_ms"), False),
    ("topic create ms", lambda r: r.get("create_ms"), False),
    ("time to stop ms (SIGTERM to exit)", lambda r: r.get("stop_ms"), False),
]
PRODUCE_COLS = [
    ("produce MB/s", lambda r: get(r, "produce", "mb_per_s"), True),
    ("produce rec/s", lambda r: get(r, "produce", "rec_per_s"), True),
    ("ack p50 ms", lambda r: us_to_ms(get(r, "produce", "ack_latency", "p50_us")), False),
    ("ack p99 ms", lambda r: us_to_ms(get(r, "produce", "ack_latency", "p99_us")), False),
    ("catch-up read MB/s", lambda r: get(r, "consume", "mb_per_s"), True),
    ("catch-up read MB/s, each pass", lambda r: " / ".join(fmt(x) for x in get(r, "consume", "mb_per_s_passes"))
     if get(r, "consume", "mb_per_s_passes") else None, True),
    ("Java ProducerPerf MB/s", lambda r: get(r, "java_producer", "mb_per_s"), True),
    ("Java ConsumerPerf MB/s", lambda r: get(r, "java_consumer", "mb_per_s"), True),
    ("broker CPU avg %", lambda r: get(r, "resources", "cpu_avg_pct"), False),
    ("broker RSS max MiB", lambda r: get(r, "resources", "rss_max_mib"), False),
    ("broker RSS high-water MiB (VmHWM)", lambda r: get(r, "resources", "rss_hwm_mib"), False),
    ("broker CPU-s per GiB produced", lambda r: get(r, "resources", "cpu_s_per_gib_produced"), False),
    ("broker CPU-s per GiB fetched (catch-up)", lambda r: get(r, "resources", "cpu_s_per_gib_fetched"), False),
    ("machine busy % (all cores)", lambda r: get(r, "resources", "machine_busy_avg_pct"), False),
] + COMMON_COLS
FLUSH_COLS = [
    ("fdatasync/s (ringbroker)", lambda r: get(r, "flush", "syncs_per_s"), False),
    ("flush cycles/s (ringbroker)", lambda r: get(r, "flush", "flush_cycles_per_s"), False),
    ("partition flushes per cycle", lambda r: get(r, "flush", "flushes_per_cycle"), False),
    ("KiB per flush cycle", lambda r: None if get(r, "flush", "bytes_per_cycle") is None
     else get(r, "flush", "bytes_per_cycle") / 1024, True),
    ("KiB per fdatasync", lambda r: None if get(r, "flush", "bytes_per_sync") is None
     else get(r, "flush", "bytes_per_sync") / 1024, True),
]
PRODUCE_COLS += FLUSH_COLS
IDLE_COLS = [
    ("idle RSS MiB", lambda r: get(r, "idle", "rss_mib"), False),
    ("RSS at start MiB", lambda r: get(r, "idle", "rss_start_mib"), False),
    ("time to serve Metadata ms", lambda r: get(r, "idle", "ready_ms") or r.get("ready_ms"), False),
    ("topic create ms", lambda r: get(r, "idle", "create_ms"), False),
    ("disk used MiB", lambda r: get(r, "idle", "disk_mib"), False),
    ("broker CPU avg % (idle)", lambda r: get(r, "resources", "cpu_avg_pct"), False),
    ("time to stop ms (SIGTERM to exit)", lambda r: r.get("stop_ms"), False),
]
STARTUP_COLS = [
    ("restart to serving Metadata ms", lambda r: get(r, "startup", "restart_ready_ms"), False),
    ("restart to a produce acknowledged ms", lambda r: get(r, "startup", "restart_serve_ms"), False),
    ("first start (empty) to Metadata ms", lambda r: r.get("ready_ms"), False),
    ("topic create ms", lambda r: get(r, "startup", "create_ms"), False),
    ("clean stop after creating ms", lambda r: get(r, "startup", "first_stop_ms"), False),
    ("clean stop after the restart ms", lambda r: r.get("stop_ms"), False),
    ("RSS after the restart MiB", lambda r: get(r, "startup", "rss_after_restart_mib"), False),
    ("RSS high-water MiB (VmHWM, restarted process)", lambda r: get(r, "resources", "rss_hwm_mib"), False),
    ("disk used MiB", lambda r: r.get("data_mib"), False),
]
E2E_COLS = [
    ("target rate rec/s", lambda r: get(r, "e2e", "rate"), True),
    ("p50 ms", lambda r: us_to_ms(get(r, "e2e", "latency", "p50_us")), False),
    ("p99 ms", lambda r: us_to_ms(get(r, "e2e", "latency", "p99_us")), False),
    ("p99.9 ms", lambda r: us_to_ms(get(r, "e2e", "latency", "p999_us")), False),
    ("p99.99 ms", lambda r: us_to_ms(get(r, "e2e", "latency", "p9999_us")), False),
    ("max ms", lambda r: us_to_ms(get(r, "e2e", "latency", "max_us")), False),
    ("received/sent", lambda r: None if not get(r, "e2e") else get(r, "e2e", "received") / max(1, get(r, "e2e", "sent")), True),
    ("broker CPU avg %", lambda r: get(r, "resources", "cpu_avg_pct"), False),
    ("broker RSS max MiB", lambda r: get(r, "resources", "rss_max_mib"), False),
    ("broker RSS high-water MiB (VmHWM)", lambda r: get(r, "resources", "rss_hwm_mib"), False),
    ("broker CPU-s per GiB (at the fixed rate)", lambda r: get(r, "resources", "cpu_s_per_gib_e2e"), False),
    ("machine busy % (all cores)", lambda r: get(r, "resources", "machine_busy_avg_pct"), False),
] + COMMON_COLS + FLUSH_COLS


def cols_for(sc):
    drv = sc["config"].get("driver")
    return {"e2e": E2E_COLS, "idle": IDLE_COLS, "startup": STARTUP_COLS,
            "produce-catchup": report_catchup.COLS + COMMON_COLS}.get(drv, PRODUCE_COLS)


def ratio_kinds(brokers, present_only=False):
    """Kafka kinds to divide ringbroker by: the default pair, plus any other present."""
    return [k for k in KAFKA_KINDS
            if k in brokers or (not present_only and k in ("kafka", "kafka-durable"))]


def ratio_pairs(brokers, present_only=False):
    """(numerator, denominator) of every ratio column: ringbroker over each Kafka
    kind, and the replicated ringbroker3 over the replicated Kafka kinds."""
    pairs = [("ringbroker", k) for k in ratio_kinds(brokers, present_only)
             if "ringbroker" in brokers or not present_only]
    if "ringbroker3" in brokers:
        pairs += [("ringbroker3", k) for k in ("kafka3", "kafka3-durable") if k in brokers]
    return pairs


def cluster_note(brokers):
    if "ringbroker3" in brokers:
        return CLUSTER_NOTE
    return NO_CLUSTER_NOTE if any(b.startswith("kafka3") for b in brokers) else None


def scenario_table(sc, present_only=False):
    cols = cols_for(sc)
    brokers = list(sc["brokers"])
    pairs = ratio_pairs(brokers, present_only)
    lines = ["| " + " | ".join(["metric"] + brokers + [f"{a}/{k}" for a, k in pairs]) + " |",
             "|---" * (len(brokers) + len(pairs) + 1) + "|"]
    for title, fn, _higher in cols:
        vals = {b: fn(sc["brokers"][b]) for b in brokers}
        if all(v is None for v in vals.values()):
            continue
        row = [title] + [fmt(vals[b], 3 if "ms" in title or title == "received/sent" else 1) for b in brokers]
        row += [ratio(vals.get(a), vals.get(k)) if not isinstance(vals.get(a), str)
                else "–" for a, k in pairs]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def headline(sc):
    """The scenario's main figure per broker: (label, value, higher_is_better)."""
    drv = sc["config"].get("driver")
    if drv == "e2e":
        return "e2e p99 ms", {b: us_to_ms(get(r, "e2e", "latency", "p99_us")) for b, r in sc["brokers"].items()}, False
    if drv == "startup":
        return ("restart to produce acknowledged ms",
                {b: get(r, "startup", "restart_serve_ms") for b, r in sc["brokers"].items()}, False)
    if drv == "produce-catchup":
        return report_catchup.headline(sc)
    if drv == "idle":
        return "idle RSS MiB", {b: get(r, "idle", "rss_mib") for b, r in sc["brokers"].items()}, False
    if sc["config"].get("cold") == "yes":
        return "cold catch-up read MB/s", {b: get(r, "consume", "mb_per_s") for b, r in sc["brokers"].items()}, True
    if sc["config"].get("headline") == "read":
        return "tail catch-up read MB/s", {b: get(r, "consume", "mb_per_s") for b, r in sc["brokers"].items()}, True
    return "produce MB/s", {b: get(r, "produce", "mb_per_s") for b, r in sc["brokers"].items()}, True


def all_brokers(res, present_only=False):
    seen = {b for sc in res["scenarios"] for b in sc["brokers"]}
    return [b for b in BROKER_ORDER
            if b in seen or (not present_only and b in ("ringbroker", "kafka", "kafka-durable"))]


def ceilings_table(c):
    """The physical ceilings measured in the run (also used by results_md.py)."""
    return ["| what | figure |", "|---|---|",
            f"| fio O_DIRECT sequential write, io_uring, 1 MiB QD32 | {fmt(c.get('disk_seq_write_1m_qd32_mib_s'))} MiB/s |",
            f"| fio O_DIRECT write 64 KiB + fdatasync each, QD1 | {fmt(c.get('disk_write_64k_fdatasync_qd1_mib_s'))} MiB/s |",
            f"| fio O_DIRECT write 4 KiB + fdatasync each, QD1 | {fmt(c.get('disk_fdatasync_4k_qd1_per_s'))} fdatasync/s |",
            f"| iperf3 TCP over loopback | {fmt(c.get('loopback_tcp_gbit_s'), 2)} Gbit/s |"]


def partitions_table(res):
    """Many partitions (issue 14 item 3): produce MB/s of every 1 KiB acks=all
    scenario with 100 partitions or more as % of the same broker's a-1k-p16 rate,
    RSS high-water, idle RSS and restart-to-serving by partition count."""
    L = []
    for sc in res["scenarios"]:
        c, n = sc["config"], int(sc["config"].get("partitions", "1"))
        drv = c.get("driver", "produce")
        if n < 100 or sc["name"].startswith("rf3-") or drv == "e2e":
            continue
        for b, r in sc["brokers"].items():
            if drv == "produce":
                mb, base = get(r, "produce", "mb_per_s"), val(res, "a-1k-p16", b, lambda x: get(x, "produce", "mb_per_s"))
                what = f"produce {fmt(mb)} MB/s = {fmt(pct(mb, base))}% of its a-1k-p16 ({fmt(base)})"
            elif drv == "idle":
                what = f"idle RSS {fmt(get(r, 'idle', 'rss_mib'))} MiB, disk {fmt(get(r, 'idle', 'disk_mib'))} MiB"
            else:
                what = (f"restart: Metadata {fmt(get(r, 'startup', 'restart_ready_ms'), 0)} ms, produce acked "
                        f"{fmt(get(r, 'startup', 'restart_serve_ms'), 0)} ms, RSS "
                        f"{fmt(get(r, 'startup', 'rss_after_restart_mib'))} MiB")
            L.append(f"| {sc['name']} | {n:,} | {b} | {what} | {fmt(get(r, 'resources', 'rss_hwm_mib'))} | "
                     f"{fmt(get(r, 'create_ms') or get(r, 'idle', 'create_ms') or get(r, 'startup', 'create_ms'), 0)} |")
    if not L:
        return []
    return ["| scenario | partitions | broker | figure | RSS high-water MiB | topic create ms |",
            "|---|---|---|---|---|---|"] + L


def storage_fetch_sections(res):
    """The storage, fetch and many-partitions sections (each only when its
    scenarios ran); also used by results_md.py."""
    L = []
    pt = partitions_table(res)
    if pt:
        L += ["## Many partitions: throughput, memory, start to serving", ""] + pt + [""]
    st = storage_table(res)
    if st:
        L += ["## Storage: durable produce (1 KiB, acks=all) against the disk", ""] + st + [""]
    ft = fetch_table(res)
    if ft:
        L += ["## Fetch: catch-up reads against the loopback ceiling", ""] + ft + [""]
    return L + report_catchup.section(res)


def broker_notes(b, r):
    """A scenario's lines about broker b: failed status, Java tool errors, notes."""
    L = []
    if r["status"] != "ok":
        L.append(f"- **{b}**: {r['status']}")
    if r.get("java_error"):
        L.append(f"- {b}: Kafka's Java tools reported: `{r['java_error']}`")
    for n in r.get("notes", []):
        L.append(f"- {b}: {n}")
    return L


def summary_table(res, present_only=False):
    """The one-headline-per-scenario table (also used by results_md.py)."""
    brokers = all_brokers(res, present_only)
    pairs = ratio_pairs(brokers, present_only)
    L = ["| " + " | ".join(["scenario", "headline"] + brokers + [f"{a}/{k}" for a, k in pairs]) + " |",
         "|---" * (len(brokers) + len(pairs) + 2) + "|"]
    for sc in res["scenarios"]:
        label, v, _ = headline(sc)
        L.append("| " + " | ".join([sc["name"], label] + [fmt(v.get(b), 3) for b in brokers]
                                   + [ratio(v.get(a), v.get(k)) for a, k in pairs]) + " |")
    if cluster_note(brokers):
        L += ["", cluster_note(brokers)]
    return L


def cost_table(res, present_only=False):
    """Cost per scenario (issue 14 item 4): broker CPU-seconds per GiB produced
    and per GiB fetched (catch-up read) and the RSS high-water mark (VmHWM), for
    every broker (also used by results_md.py). Latency scenarios show the CPU per
    GiB at their fixed rate in the produced column (marked *)."""
    brokers = all_brokers(res, present_only)
    pairs = [(a, k) for a, k in ratio_pairs(brokers, present_only)]
    cols = [(f"{b} {what}", b, fn) for b in brokers for what, fn in (
        ("CPU-s/GiB produced", lambda r: get(r, "resources", "cpu_s_per_gib_produced")
         or (None if get(r, "resources", "cpu_s_per_gib_e2e") is None
             else f"{fmt(get(r, 'resources', 'cpu_s_per_gib_e2e'), 2)}*")),
        ("CPU-s/GiB fetched", lambda r: get(r, "resources", "cpu_s_per_gib_fetched")),
        ("RSS high-water MiB", lambda r: get(r, "resources", "rss_hwm_mib")))]
    L = ["| " + " | ".join(["scenario"] + [c[0] for c in cols]
                           + [f"CPU/GiB produced {a}/{k}" for a, k in pairs]) + " |",
         "|---" * (1 + len(cols) + len(pairs)) + "|"]
    rows = 0
    for sc in res["scenarios"]:
        vals = [fn(sc["brokers"][b]) if b in sc["brokers"] else None for _t, b, fn in cols]
        if all(v is None for v in vals):
            continue
        prod = {b: get(sc["brokers"].get(b, {}), "resources", "cpu_s_per_gib_produced") for b in brokers}
        L.append("| " + " | ".join([sc["name"]] + [fmt(v, 1 if "RSS" in t else 2)
                                                   for v, (t, _b, _f) in zip(vals, cols)]
                                   + [ratio(prod.get(a), prod.get(k)) for a, k in pairs]) + " |")
        rows += 1
    if not rows:
        return []
    L += ["", "CPU-s per GiB = the broker's mean CPU (cores, summed over its processes, from "
          "/proc/<pid>/stat, 1 s samples of the phase without the warm-up) divided by the phase's "
          "GiB/s; lower is cheaper. * = at the scenario's fixed rate (latency scenarios). RSS "
          "high-water = the kernel's VmHWM read just before the stop (Kafka: its JVM with "
          f"-Xms/-Xmx {os.environ.get('KAFKA_HEAP', '1g')})."]
    return L


# ---- issue 5's goals, the storage and the fetch tables (also in RESULTS.md) ----

def scen(res, name):
    for sc in res["scenarios"]:
        if sc["name"] == name:
            return sc
    return None


def val(res, name, broker, fn):
    sc = scen(res, name)
    if not sc or broker not in sc["brokers"]:
        return None
    return fn(sc["brokers"][broker])


def xr(r, nd=2):
    return "–" if r is None else f"**{fmt(r, nd)}x**"


def verdict(v, target, higher):
    if v is None:
        return "not measured"
    ok = v >= target if higher else v <= target
    return "**met**" if ok else "**not met**"


def produce_scenarios(res, record_size="1024"):
    """Uncompressed 1 KiB acks=all max-rate produce scenarios, by partition count."""
    out = []
    for sc in res["scenarios"]:
        c = sc["config"]
        if (c.get("driver", "produce") == "produce" and c.get("record_size") == record_size
                and c.get("acks", "all") == "all" and c.get("rate", "0") == "0"
                and c.get("compression", "none") == "none" and not c.get("bytes")
                and not sc["name"].startswith("rf3-")):  # replicated: their own section
            out.append(sc)
    return sorted(out, key=lambda sc: int(sc["config"].get("partitions", "1")))


def goal_produce(res):
    rows = []
    for sc in produce_scenarios(res):
        fn = lambda r: get(r, "produce", "mb_per_s")  # noqa: E731
        rb, k, kd = (val(res, sc["name"], b, fn) for b in ("ringbroker", "kafka", "kafka-durable"))
        r = rb / k if rb and k else None
        rows.append((sc["name"], r, f"{sc['name']}: ringbroker {fmt(rb)} MB/s vs kafka {fmt(k)} MB/s "
                     f"= {xr(r)} (vs kafka-durable {fmt(kd)} MB/s: "
                     f"{fmt(rb / kd, 2) if rb and kd else '–'}x)"))
    main = next((r for n, r, _ in rows if n == "a-1k-p1"), None)
    return ("Durable ringbroker produce >= 2x Kafka's default (non-durable), 1 KiB acks=all",
            ">= 2.00x", "; ".join(t for _, _, t in rows) or "–",
            verdict(main, 2.0, True) + " (a-1k-p1)")


def rate_note(sc):
    """How a scenario's fixed rate was chosen (rate.txt), or the configured rate."""
    if not sc:
        return ""
    rt = sc.get("rate")
    if rt:
        return f"{rt.get('rate', '?')} rec/s: {rt.get('rate_source', '?')}"
    return f"{sc['config'].get('rate', '?')} rec/s (fixed in the scenario)"


def goal_latency(res):
    parts, main = [], None
    for name in ("b-latency", "h-idle-conns-1000"):
        fn = lambda r: us_to_ms(get(r, "e2e", "latency", "p99_us"))  # noqa: E731
        rb, k = val(res, name, "ringbroker", fn), val(res, name, "kafka", fn)
        if rb is None and k is None:
            continue
        r = rb / k if rb is not None and k else None
        if name == "b-latency":
            main = r
        parts.append(f"{name} at {rate_note(scen(res, name))}: ringbroker p99 {fmt(rb, 3)} ms vs "
                     f"kafka {fmt(k, 3)} ms = {xr(r, 3)}")
    return ("p99 end-to-end latency <= 1/5 of Kafka's (default) at the same load "
            "(half of Kafka's max rate)", "<= 0.20x",
            "; ".join(parts) or "–", verdict(main, 0.2, False) + " (b-latency)")


def loopback_mib(res):
    gbit = res["ceilings"].get("loopback_tcp_gbit_s")
    return gbit * 1e9 / 8 / 1048576 if gbit else None


def read_kind(sc):
    c = sc["config"]
    if c.get("cold") == "yes":
        return "cold (page cache dropped)"
    if c.get("headline") == "read":
        return "tail (fits the broker's tail cache)"
    return "after a max-rate produce"


def goal_fetch(res):
    ceil = loopback_mib(res)
    tail, best, parts = None, None, []
    for sc in res["scenarios"]:
        rb = get(sc, "brokers", "ringbroker", "consume", "mb_per_s")
        if rb is None:
            continue
        frac = rb / ceil if ceil else None
        parts.append(f"{sc['name']} [{read_kind(sc)}]: {fmt(rb)} MB/s = "
                     f"{fmt(frac * 100 if frac is not None else None)}%")
        if frac is not None:
            best = frac if best is None else max(best, frac)
            if sc["config"].get("headline") == "read":
                tail = frac if tail is None else max(tail, frac)
    head = (f"loopback ceiling {fmt(res['ceilings'].get('loopback_tcp_gbit_s'), 2)} Gbit/s = "
            f"{fmt(ceil)} MiB/s" if ceil else "loopback ceiling not measured")
    which = "(tail read)" if tail is not None else "(best catch-up read)"
    return ("Fetch >= 80% of the loopback ceiling", ">= 80%",
            head + "; ringbroker reads: " + ("; ".join(parts) or "–"),
            verdict(tail if tail is not None else best, 0.8, True) + " " + which)


def goal_rss(res):
    fn = lambda r: get(r, "idle", "rss_mib")  # noqa: E731
    rb, k = val(res, "i-idle-rss-1000", "ringbroker", fn), val(res, "i-idle-rss-1000", "kafka", fn)
    r = rb / k if rb is not None and k else None
    return ("Idle RSS with 1,000 partitions <= 1/10 of Kafka's", "<= 0.10x",
            f"i-idle-rss-1000: ringbroker {fmt(rb)} MiB vs kafka {fmt(k)} MiB = {xr(r, 3)} "
            f"(Kafka heap -Xms/-Xmx {os.environ.get('KAFKA_HEAP', '1g')} by default)",
            verdict(r, 0.1, False))


def goal_partitions(res):
    """Issue 14 item 3: 10,000 partitions at >= 70% of the 16-partition rate, RSS < 512 MiB."""
    mb = val(res, "big-g-partitions-10000", "ringbroker", lambda r: get(r, "produce", "mb_per_s"))
    base = val(res, "a-1k-p16", "ringbroker", lambda r: get(r, "produce", "mb_per_s"))
    hwm = val(res, "big-g-partitions-10000", "ringbroker", lambda r: get(r, "resources", "rss_hwm_mib"))
    p = pct(mb, base)
    ok = None if p is None or hwm is None else (p >= 70 and hwm < 512)
    return ("10,000 partitions: produce >= 70% of the 16-partition rate, RSS < 512 MiB", ">= 70%, < 512 MiB",
            f"big-g-partitions-10000: ringbroker {fmt(mb)} MB/s = {fmt(p)}% of a-1k-p16 ({fmt(base)}), "
            f"RSS high-water {fmt(hwm)} MiB",
            "not measured" if ok is None else "**met**" if ok else "**not met**")


def goal_startup(res):
    """Issue 14 item 3: restart to serving < 0.5 s with 1,000 partitions, < 2 s with 10,000."""
    parts, oks = [], []
    for name, target in (("k-startup-1000", 500), ("big-k-startup-10000", 2000)):
        v = val(res, name, "ringbroker", lambda r: get(r, "startup", "restart_serve_ms"))
        k = val(res, name, "kafka", lambda r: get(r, "startup", "restart_serve_ms"))
        if v is None:
            continue
        oks.append(v < target)
        parts.append(f"{name}: ringbroker {fmt(v, 0)} ms to a produce acknowledged (kafka {fmt(k, 0)} ms)")
    return ("Start to serving: < 0.5 s with 1,000 partitions, < 2 s with 10,000", "< 500 / 2,000 ms",
            "; ".join(parts) or "–",
            "not measured" if not oks else "**met**" if all(oks) else "**not met**")


def goals_table(res):
    L = ["| goal | target | where we stand | status |", "|---|---|---|---|"]
    for g in (goal_produce(res), goal_latency(res), goal_fetch(res), goal_rss(res), goal_partitions(res),
              goal_startup(res)):
        L.append("| " + " | ".join(g) + " |")
    return L


MACHINE_CEILINGS = ("MACHINE.md (same kind of machine): O_DIRECT sequential write 1 MiB QD32 ~2.5 GB/s; "
                    "durable writes with one fdatasync per 1 MiB / 64 KiB / 4 KiB at QD1 ~1.0-1.3 GB/s / "
                    "120-440 MB/s / 12-30 MB/s; fdatasync after append p50 ~120-170 us.")


def pct(a, b):
    return None if a is None or not b else 100.0 * a / b


def storage_table(res):
    """Durable produce (1 KiB, acks=all) by partition count next to the disk ceilings,
    with ringbroker's group-commit counters over the measured window."""
    c = res["ceilings"]
    seq, dur, sync_s = (c.get("disk_seq_write_1m_qd32_mib_s"), c.get("disk_write_64k_fdatasync_qd1_mib_s"),
                        c.get("disk_fdatasync_4k_qd1_per_s"))
    rows = produce_scenarios(res)
    if not rows:
        return []
    L = ["| scenario | partitions | ringbroker MB/s | % of fio seq write | % of fio 64 KiB+fdatasync | "
         "kafka MB/s | kafka-durable MB/s | fdatasync/s | % of fio 4 KiB fdatasync/s | flush cycles/s | "
         "flushes per cycle | KiB per cycle | KiB per fdatasync |",
         "|---" * 13 + "|"]
    for sc in rows:
        b = sc["brokers"]
        rb = get(b, "ringbroker", "produce", "mb_per_s")
        f = get(b, "ringbroker", "flush") or {}
        kib = lambda v: None if v is None else v / 1024  # noqa: E731
        L.append("| " + " | ".join([
            sc["name"], sc["config"].get("partitions", "1"), fmt(rb), fmt(pct(rb, seq)), fmt(pct(rb, dur)),
            fmt(get(b, "kafka", "produce", "mb_per_s")), fmt(get(b, "kafka-durable", "produce", "mb_per_s")),
            fmt(f.get("syncs_per_s")), fmt(pct(f.get("syncs_per_s"), sync_s)),
            fmt(f.get("flush_cycles_per_s")), fmt(f.get("flushes_per_cycle"), 2),
            fmt(kib(f.get("bytes_per_cycle"))), fmt(kib(f.get("bytes_per_sync")))]) + " |")
    L += ["", f"Ceilings in this run: fio sequential write {fmt(seq)} MiB/s, 64 KiB + fdatasync QD1 "
          f"{fmt(dur)} MiB/s, 4 KiB + fdatasync QD1 {fmt(sync_s)} fdatasync/s. " + MACHINE_CEILINGS,
          "ringbroker's counters (SIGUSR1 \"stats shard=\" lines at the start and the end of the measured "
          "window): a flush cycle is a loop turn of a shard that started at least one partition flush; "
          "every partition flush of a durable log ends with one fdatasync; bytes are the record batches "
          "appended (the partial last 4 KiB block rewritten by the next flush is not counted)."]
    return L


def fetch_table(res):
    ceil = loopback_mib(res)
    L = []
    for sc in res["scenarios"]:
        if not any(get(r, "consume", "mb_per_s") is not None for r in sc["brokers"].values()):
            continue
        if not L:
            L = ["| scenario | read | " + " | ".join(f"{b} MB/s (% of loopback)" for b in all_brokers(res))
                 + " |", "|---" * (2 + len(all_brokers(res))) + "|"]
        cells = []
        for b in all_brokers(res):
            v = get(sc["brokers"].get(b, {}), "consume", "mb_per_s")
            cells.append("–" if v is None else f"{fmt(v)} ({fmt(pct(v, ceil))}%)" if ceil else fmt(v))
        L.append(f"| {sc['name']} | {read_kind(sc)} | " + " | ".join(cells) + " |")
    if L:
        L += ["", f"Loopback ceiling (iperf3, this run): {fmt(ceil)} MiB/s."]
    return L


def write_report(out, res, plots, charts=()):
    env = res["env"]
    L = [f"# ringbroker vs Apache Kafka — {env.get('date', '')}", ""]
    L += ["Produced by `perf/run` (see perf/README.md for how to read it).", "",
          f"- command: `{env.get('command', '')}`",
          f"- machine: {env.get('cpus', '?')} CPUs ({env.get('cpu_model', '')}), {env.get('mem_gib', '?')} GiB, "
          f"kernel {env.get('host_kernel', '')}, data on {env.get('data_fs', '')}, "
          f"open-files limit {env.get('nofile', '?')}",
          f"- git {env.get('git_rev', '')}, librdkafka {env.get('librdkafka', '')}, "
          f"Kafka jars {env.get('kafka_lib', '')}, {env.get('java', '')}",
          "- brokers: `ringbroker` (standalone, durable by default: acks after fdatasync), "
          "`kafka` (KRaft, Kafka's defaults: no fsync per message), "
          "`kafka-durable` (KRaft, log.flush.interval.messages=1), "
          "`kafka3` if run (3 KRaft nodes, replication factor 3, min.insync.replicas 2), "
          "`ringbroker3` if run (3 ringbroker brokers on one ZooKeeper node, the same replication)",
          f"- ringbroker binary: {env.get('ringbroker_bin', '')}", ""]
    c = res["ceilings"]
    L += ["## Physical ceilings (measured in this run)", ""] + ceilings_table(c) + [""]
    L += ["## Summary", "",
          "Ratios are ringbroker divided by Kafka: for throughput above 1 means ringbroker is faster, "
          "for latency and memory below 1 means ringbroker is better.", ""]
    L += summary_table(res) + [""]
    ct = cost_table(res)
    if ct:
        L += ["## Cost: broker CPU per GiB and memory high-water", ""] + ct + [""]
    if charts:
        L += ["## Charts", ""] + plots_mod.links(charts, "plots") + [""]
    L += ["## Goals (issue 5)", ""] + goals_table(res) + [""]
    L += storage_fetch_sections(res)
    for sc in res["scenarios"]:
        L += [f"## {sc['name']}: {sc['description']}", ""]
        if sc.get("rate"):
            L.append(f"- rate for every broker: {rate_note(sc)}")
        for b, r in sc["brokers"].items():
            L += broker_notes(b, r)
            if get(r, "java_consumer", "complete") is False:
                L.append(f"- {b}: Kafka's ConsumerPerformance found fewer records than expected "
                         "(the producer run was cut short); its MB/s includes its 5 s idle timeout")
            if get(r, "java_producer", "complete") is False:
                L.append(f"- {b}: Kafka's ProducerPerformance was cut short by its time bound; "
                         "its figure is its last 5-second window")
        L += [""] + scenario_table(sc) + [""]
        for b, r in sc["brokers"].items():
            if r.get("command"):
                L.append(f"- {b} driver: `{r['command']}`")
        L.append("")
        for p in plots.get(sc["name"], []):
            L.append(f"![{p}](plots/{p})")
        L.append("")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L))


# ---- plots ---------------------------------------------------------------------

def gp_quote(s):
    return '"' + s.replace('"', "'") + '"'


def plot_scenario(out, sc):
    pd = os.path.join(out, "plots")
    os.makedirs(pd, exist_ok=True)
    name, made, scripts = sc["name"], [], []
    e2e = sc["config"].get("driver") == "e2e"
    brokers = [b for b, r in sc["brokers"].items() if r["series"]["produce"] or r["series"]["e2e"]]
    if not brokers:
        return []
    for b in brokers:
        s = sc["brokers"][b]["series"]
        with open(os.path.join(pd, f"{name}.{b}.dat"), "w") as f:
            for row in (s["e2e"] if e2e else s["produce"]):
                f.write(" ".join(str(x) for x in row) + "\n")
        with open(os.path.join(pd, f"{name}.{b}.cpu.dat"), "w") as f:
            for row in s["samples"]:
                f.write(" ".join(str(x) for x in row[:4]) + "\n")
    head = "set terminal pngcairo size 900,500 noenhanced\nset grid\nset key outside right\n"
    # 1. over time: throughput (produce) or p99 (e2e)
    ycol, ylabel = (4, "e2e p99 latency per second (ms)") if e2e else (2, "acknowledged MiB/s")
    plots = ", ".join(f"{gp_quote(f'{name}.{b}.dat')} using 1:{ycol} with lines lw 2 title {gp_quote(b)}" for b in brokers)
    scripts.append((f"{name}-over-time.png", head + f"set output '{name}-over-time.png'\n"
                    f"set title {gp_quote(name + ': ' + ylabel + ' over time')}\nset xlabel 'seconds'\n"
                    f"set ylabel {gp_quote(ylabel)}\nset yrange [0:*]\nplot {plots}\n"))
    # 2. latency percentiles (e2e latency or produce ack latency), log scale
    pcts = [("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
            ("p99.99", "p9999_us"), ("max", "max_us")]
    key = ("e2e", "latency") if e2e else ("produce", "ack_latency")
    rows = []
    for label, k in pcts:
        vals = [us_to_ms(get(sc["brokers"][b], *key, k)) or 0 for b in brokers]
        rows.append(label + " " + " ".join(f"{v:.4f}" for v in vals))
    with open(os.path.join(pd, f"{name}.pct.dat"), "w") as f:
        f.write("\n".join(rows) + "\n")
    title = "end-to-end latency" if e2e else "produce ack latency (send -> delivery report)"
    plots = ", ".join(f"'{name}.pct.dat' using {i + 2}:xtic(1) title {gp_quote(b)}" for i, b in enumerate(brokers))
    scripts.append((f"{name}-latency.png", head + f"set output '{name}-latency.png'\n"
                    f"set title {gp_quote(name + ': ' + title)}\nset ylabel 'ms (log)'\nset logscale y\n"
                    "set style data histograms\nset style histogram clustered gap 1\n"
                    f"set style fill solid 0.8 border -1\nplot {plots}\n"))
    # 3. broker CPU over time
    plots = ", ".join(f"{gp_quote(f'{name}.{b}.cpu.dat')} using 1:2 with lines lw 2 title {gp_quote(b)}" for b in brokers)
    scripts.append((f"{name}-cpu.png", head + f"set output '{name}-cpu.png'\n"
                    f"set title {gp_quote(name + ': broker CPU (100 = one core)')}\nset xlabel 'seconds'\n"
                    f"set ylabel 'CPU %'\nset yrange [0:*]\nplot {plots}\n"))
    for png, script in scripts:
        gpf = os.path.join(pd, png.replace(".png", ".gp"))
        with open(gpf, "w") as f:
            f.write(script)
        r = subprocess.run(["gnuplot", os.path.basename(gpf)], cwd=pd, capture_output=True, text=True)
        if r.returncode == 0 and os.path.exists(os.path.join(pd, png)):
            made.append(png)
        else:
            print(f"report: gnuplot failed for {png}: {r.stderr.strip()[:300]}", file=sys.stderr)
    return made


def main():
    if len(sys.argv) != 2:
        print("usage: report.py RESULTS_DIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    res = collect(out)
    plots = {}
    if shutil.which("gnuplot"):
        for sc in res["scenarios"]:
            plots[sc["name"]] = plot_scenario(out, sc)
    charts = plots_mod.make_all(res, os.path.join(out, "plots"))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_report(out, res, plots, charts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
