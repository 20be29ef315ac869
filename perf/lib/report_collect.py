"""perf/lib/report_collect.py - the reading half of perf/lib/report.py: turns
one perf/run results dir into the results dict (collect) from the files each
scenario and broker left (see report.py's docstring for the list). Standard
library only; a missing or broken file leaves that value out (None) rather
than failing.
"""
import json
import os
import re

BROKER_ORDER = ["ringbroker", "ringbroker3", "kafka", "kafka-durable", "kafka3", "kafka3-durable"]


def get(d, *path):
    """d[path[0]][path[1]]..., None where a step is missing."""
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def kv_file(path):
    out = {}
    for line in read(path).splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def summary(path):
    for line in read(path).splitlines():
        if line.startswith("SUMMARY "):
            try:
                return json.loads(line[8:])
            except ValueError:
                return None
    return None


def series(path, prefix, keys):
    rows = []
    for line in read(path).splitlines():
        if not line.startswith(prefix + " "):
            continue
        f = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
        try:
            rows.append([float(f[k]) for k in keys])
        except (KeyError, ValueError):
            pass
    return rows


def java_producer(path):
    # Final line: "N records sent, R records/sec (M MB/sec), A ms avg latency,
    # X ms max latency, P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
    # A run cut short by its time bound leaves only periodic lines (no
    # percentiles) and a "(cut short" marker: report the last one, marked.
    text = read(path)
    lines = [l for l in text.splitlines() if "records sent" in l]
    if not lines:
        return None
    m = lines[-1]
    out = {"complete": "cut short" not in text and "50th" in m}
    pats = {"records": r"([0-9.]+) records sent", "rec_per_s": r"([0-9.]+) records/sec",
            "mb_per_s": r"([0-9.]+) MB/sec", "avg_ms": r"([0-9.]+) ms avg", "max_ms": r"([0-9.]+) ms max",
            "p50_ms": r"([0-9.]+) ms 50th", "p95_ms": r"([0-9.]+) ms 95th",
            "p99_ms": r"([0-9.]+) ms 99th", "p999_ms": r"([0-9.]+) ms 99.9th"}
    for k, p in pats.items():
        x = re.search(p, m)
        if x:
            out[k] = float(x.group(1))
    return out


def java_consumer(path):
    # The header, possibly a WARNING line (it ran out of records: the figures
    # then include its 5 s --timeout wait), then one line of values.
    text = read(path)
    lines = [l for l in text.splitlines() if l.strip()]
    for i, l in enumerate(lines):
        if not l.startswith("start.time"):
            continue
        hdr = [h.strip() for h in l.split(",")]
        for v in lines[i + 1:]:
            val = [x.strip() for x in v.split(",")]
            if len(val) != len(hdr):
                continue
            d = dict(zip(hdr, val))
            try:
                return {"mb": float(d["data.consumed.in.MB"]), "mb_per_s": float(d["MB.sec"]),
                        "records": float(d["data.consumed.in.nMsg"]),
                        "rec_per_s": float(d["nMsg.sec"]),
                        "fetch_mb_per_s": float(d["fetch.MB.sec"]),
                        "complete": "Exiting before consuming" not in text}
            except (KeyError, ValueError):
                return None
    return None


def resources(path):
    """Broker CPU/RSS while the main driver ran (phase produce or e2e)."""
    rows = []
    for line in read(path).splitlines():
        if line.startswith("#"):
            continue
        f = line.split()
        try:
            rows.append([float(x) for x in f[:4]] + [f[4] if len(f) > 4 else "?"])
        except (ValueError, IndexError):
            pass
    main = [r for r in rows if r[4] in ("produce", "e2e", "idle")] or rows
    if not main:
        return None, rows
    cpu = [r[1] for r in main]
    return {"cpu_avg_pct": round(sum(cpu) / len(cpu), 1), "cpu_max_pct": max(cpu),
            "rss_max_mib": max(r[2] for r in rows),
            "machine_busy_avg_pct": round(sum(r[3] for r in main) / len(main), 1)}, rows


def cpu_per_gib(rows, phase, skip_s, mib_per_s):
    """Broker CPU-seconds per GiB moved in one phase: the mean CPU (cores, sum
    over the broker's processes, from /proc/<pid>/stat) over the phase's 1 s
    samples, leaving out the first skip_s (the driver's warm-up) and the last
    (cut short), divided by the phase's measured GiB/s."""
    sel = [r for r in rows if r[4] == phase]
    sel = sel[int(skip_s + 0.999):-1]
    if not sel or not mib_per_s:
        return None
    cores = sum(r[1] for r in sel) / 100.0 / len(sel)
    return round(cores / (mib_per_s / 1024.0), 2)


def ceilings(out):
    c = {}
    for name, key in (("fio-seqwrite.json", "disk_seq_write_1m_qd32_mib_s"),
                      ("fio-durable.json", "disk_write_64k_fdatasync_qd1_mib_s"),
                      ("fio-sync4k.json", "disk_write_4k_fdatasync_qd1_mib_s")):
        try:
            j = json.loads(read(os.path.join(out, name)))
            c[key] = round(j["jobs"][0]["write"]["bw"] / 1024.0, 1)
            if name == "fio-sync4k.json":
                c["disk_fdatasync_4k_qd1_per_s"] = round(j["jobs"][0]["write"]["iops"], 0)
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    try:
        j = json.loads(read(os.path.join(out, "iperf3.json")))
        c["loopback_tcp_gbit_s"] = round(j["end"]["sum_received"]["bits_per_second"] / 1e9, 2)
    except (ValueError, KeyError):
        pass
    return c


STAT_KEYS = ("flush_cycles", "flushes", "syncs", "bytes")


def flush_stats(path):
    """ringbroker's "stats shard=N t_ms=.. flush_cycles=.. flushes=.. syncs=.. bytes=.."
    lines: one set per SIGUSR1 (all shards of a set share t_ms). Two sets or more:
    the difference between the first and the last is the measured window; one set:
    totals since the broker started."""
    sets = {}
    for line in read(path).splitlines():
        i = line.find("stats shard=")
        if i < 0:
            continue
        f = dict(p.split("=", 1) for p in line[i + 6:].split() if "=" in p)
        try:
            t = int(f["t_ms"])
            sets.setdefault(t, {})[int(f["shard"])] = {k: int(f[k]) for k in STAT_KEYS}
        except (KeyError, ValueError):
            continue
    if not sets:
        return None
    ts = sorted(sets)
    last = sets[ts[-1]]
    first = sets[ts[0]] if len(ts) > 1 else {sh: {k: 0 for k in STAT_KEYS} for sh in last}
    out = {"window": len(ts) > 1, "window_s": (ts[-1] - ts[0]) / 1000.0 if len(ts) > 1 else None,
           "shards": {}}
    for k in STAT_KEYS:
        out[k] = 0
    for sh, v in sorted(last.items()):
        d = {k: v[k] - first.get(sh, {}).get(k, 0) for k in STAT_KEYS}
        out["shards"][str(sh)] = d
        for k in STAT_KEYS:
            out[k] += d[k]
    w = out["window_s"]
    if w:
        out["syncs_per_s"] = round(out["syncs"] / w, 1)
        out["flush_cycles_per_s"] = round(out["flush_cycles"] / w, 1)
        out["mib_per_s"] = round(out["bytes"] / w / 1048576, 1)
    if out["flush_cycles"]:
        out["bytes_per_cycle"] = round(out["bytes"] / out["flush_cycles"])
        out["flushes_per_cycle"] = round(out["flushes"] / out["flush_cycles"], 2)
    if out["syncs"]:
        out["bytes_per_sync"] = round(out["bytes"] / out["syncs"])
    return out


def median(v):
    v = sorted(v)
    n = len(v)
    return None if not n else v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def collect_broker(d):
    r = {"status": read(os.path.join(d, "status")).strip() or "missing"}
    r["command"] = read(os.path.join(d, "command")).strip()
    for name in ("produce", "consume", "e2e", "idle", "startup", "fill"):
        s = summary(os.path.join(d, name + ".log"))
        if s:
            r[name] = s
    # Extra catch-up passes (consume_passes=N): the read figure is the median.
    passes = [s for s in [r.get("consume")] + [summary(os.path.join(d, f"consume-{i}.log"))
                                               for i in range(2, 10)] if s]
    if len(passes) > 1:
        mbs = [p.get("mb_per_s") for p in passes if p.get("mb_per_s") is not None]
        r["consume"] = dict(r["consume"], mb_per_s_first=r["consume"].get("mb_per_s"),
                            mb_per_s_passes=mbs, mb_per_s=median(mbs))
    fs = flush_stats(os.path.join(d, "flush_stats.txt"))
    if fs:
        r["flush"] = fs
    jp = java_producer(os.path.join(d, "java-producer.log"))
    if jp:
        r["java_producer"] = jp
    jc = java_consumer(os.path.join(d, "java-consumer.log"))
    if jc:
        r["java_consumer"] = jc
    errs = [l.strip() for l in read(os.path.join(d, "java.err")).splitlines()
            if "Exception" in l or "ERROR" in l]
    if errs:
        r["java_error"] = errs[0][:300]
    res, rows = resources(os.path.join(d, "samples.tsv"))
    if res:
        r["resources"] = res
        pr, co, e2 = r.get("produce") or {}, r.get("consume") or {}, r.get("e2e") or {}
        e2_mib = (e2.get("rate") or 0) * (e2.get("record_size") or 0) / 1048576.0
        for key, phase, skip, mib in (("cpu_s_per_gib_produced", "produce", pr.get("warmup_s", 0), pr.get("mb_per_s")),
                                      ("cpu_s_per_gib_fetched", "consume", 0, co.get("mb_per_s")),
                                      ("cpu_s_per_gib_e2e", "e2e", float(kv_file(os.path.join(d, "..", "scenario.conf")).get("warmup", 0)), e2_mib)):
            v = cpu_per_gib(rows, phase, skip or 0, mib)
            if v is not None:
                res[key] = v
    import report_catchup  # here: it imports this module
    report_catchup.collect(d, r, summary, rows)
    try:
        r.setdefault("resources", {})["rss_hwm_mib"] = float(read(os.path.join(d, "rss_hwm_mib")).strip())
    except ValueError:
        pass
    for name in ("ready_ms", "create_ms", "stop_ms"):
        try:
            r[name] = float(read(os.path.join(d, name)).strip())
        except ValueError:
            pass
    notes = [l.strip() for l in read(os.path.join(d, "note")).splitlines() if l.strip()]
    if notes:
        r["notes"] = notes
    dm = read(os.path.join(d, "data_mib")).strip()
    if dm.isdigit():
        r["data_mib"] = int(dm)
    r["series"] = {
        "produce": series(os.path.join(d, "produce.log"), "produce",
                          ["sec", "mb_s", "rec_s", "p50_ms", "p99_ms"]),
        "e2e": series(os.path.join(d, "e2e.log"), "e2e",
                      ["sec", "rec_s", "p50_ms", "p99_ms", "p999_ms", "max_ms"]),
        "samples": rows,
    }
    return r


def collect(out):
    res = {"env": kv_file(os.path.join(out, "env.txt")), "ceilings": ceilings(out), "scenarios": []}
    for name in sorted(os.listdir(out)):
        sd = os.path.join(out, name)
        if not os.path.isfile(os.path.join(sd, "scenario.conf")):
            continue
        conf = kv_file(os.path.join(sd, "scenario.conf"))
        sc = {"name": name, "description": conf.get("description", ""), "config": conf, "brokers": {}}
        rate = kv_file(os.path.join(sd, "rate.txt"))
        if rate:
            sc["rate"] = rate
        present = [b for b in os.listdir(sd) if os.path.isdir(os.path.join(sd, b))]
        for b in sorted(present, key=lambda x: (BROKER_ORDER + [x]).index(x)):
            sc["brokers"][b] = collect_broker(os.path.join(sd, b))
        res["scenarios"].append(sc)
    return res
