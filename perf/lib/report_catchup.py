"""perf/lib/report_catchup.py - the driver=produce-catchup part of the perf
report (issue 14 item 1: a fixed-rate producer's ack latency before, during and
after consumers catch up on a filled topic; perf/lib/catchup.sh runs it).

collect(d, r)  adds r["catchup"] from a broker dir: the producer's phases
               (rb-perf-produce -M SUMMARY "phases", named before / during /
               after), the readers (catchup-N.log SUMMARY lines) and the
               broker's mean CPU per phase (samples.tsv phases produce /
               catchup / after);
COLS           the rows of the scenario's table (report.py's scenario_table);
headline(sc)   the summary table's figure: producer p99 during the catch-up;
section(res)   "Producer latency while consumers catch up" (report.md and
               RESULTS.md);
chart_values(res)  the values of plots.py's catchup.png.
Standard library only.
"""
import os

from report_collect import get as _get

PHASE_NAMES = ("before", "during", "after")
SAMPLE_PHASE = {"before": "produce", "during": "catchup", "after": "after"}


def is_catchup(sc):
    return sc["config"].get("driver") == "produce-catchup"


def collect(d, r, summary, rows):
    """r["catchup"] for one broker dir d; summary = report_collect.summary,
    rows = its samples.tsv rows ([t, cpu, rss, busy, phase])."""
    phases = _get(r, "produce", "phases") or []
    readers = []
    for k in range(1, 17):
        s = summary(os.path.join(d, f"catchup-{k}.log"))
        if s is None and not os.path.exists(os.path.join(d, f"catchup-{k}.log")):
            break
        readers.append(s or {})
    if not phases and not readers:
        return
    out = {"phases": {}, "readers": readers}
    for name, p in zip(PHASE_NAMES, phases):
        p = dict(p, seconds=round(p.get("end_s", 0) - p.get("start_s", 0), 3))
        sel = [x for x in rows if x[4] == SAMPLE_PHASE[name]]
        if len(sel) > 2:  # the first and last samples straddle the phase edges
            sel = sel[1:-1]
        if sel:
            p["broker_cpu_pct"] = round(sum(x[1] for x in sel) / len(sel), 1)
            p["machine_busy_pct"] = round(sum(x[3] for x in sel) / len(sel), 1)
        out["phases"][name] = p
    snaps = {}
    try:
        with open(os.path.join(d, "disk.txt")) as f:
            for line in f:
                x = line.split()
                if len(x) == 4:
                    snaps[int(x[0])] = [int(v) for v in x[1:]]
    except (OSError, ValueError):
        pass
    for i, name in enumerate(PHASE_NAMES):
        a, b = snaps.get(i), snaps.get(i + 1)
        if a and b and b[0] > a[0] and name in out["phases"]:
            dt = (b[0] - a[0]) / 1e9
            out["phases"][name]["disk_read_mib_s"] = round((b[1] - a[1]) * 512 / dt / 1048576, 1)
            out["phases"][name]["disk_write_mib_s"] = round((b[2] - a[2]) * 512 / dt / 1048576, 1)
    ok = [s for s in readers if s.get("mb_per_s") is not None]
    if ok:
        secs = max(s.get("seconds") or 0 for s in ok)
        out["read_mib"] = round(sum(s.get("bytes", 0) for s in ok) / 1048576.0, 1)
        out["read_seconds"] = secs
        out["read_mb_per_s"] = round(out["read_mib"] / secs, 1) if secs else None
        out["read_complete"] = all(s.get("reached_end") for s in ok) and len(ok) == len(readers)
    r["catchup"] = out


def ph_ms(r, phase, key):
    v = _get(r, "catchup", "phases", phase, key)
    return None if v is None else v / 1000.0


def p99_growth(r):
    a, b = ph_ms(r, "during", "p99_us"), ph_ms(r, "before", "p99_us")
    return a / b if a is not None and b else None


COLS = [("target rate rec/s", lambda r: _get(r, "produce", "target_rate"), True),
        ("producer MB/s (whole run)", lambda r: _get(r, "produce", "mb_per_s"), True)]
for _ph in PHASE_NAMES:
    for _lab, _key in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us"), ("max", "max_us")):
        COLS.append((f"ack {_lab} ms {_ph}", lambda r, ph=_ph, k=_key: ph_ms(r, ph, k), False))
COLS += [
    ("p99 during / p99 before", p99_growth, False),
    ("records acked before / during / after", lambda r: " / ".join(
        str(_get(r, "catchup", "phases", ph, "count") or "–") for ph in PHASE_NAMES) if _get(r, "catchup") else None, True),
    ("seconds before / during / after", lambda r: " / ".join(
        f"{_get(r, 'catchup', 'phases', ph, 'seconds') or 0:.1f}" for ph in PHASE_NAMES) if _get(r, "catchup") else None, True),
    ("catch-up read MB/s (all readers)", lambda r: _get(r, "catchup", "read_mb_per_s"), True),
    ("catch-up read MiB", lambda r: _get(r, "catchup", "read_mib"), True),
    ("catch-up read s", lambda r: _get(r, "catchup", "read_seconds"), False),
    ("fill MB/s (max rate, before)", lambda r: _get(r, "fill", "mb_per_s"), True),
]
for _ph in PHASE_NAMES:
    COLS.append((f"broker CPU % {_ph}", lambda r, ph=_ph: _get(r, "catchup", "phases", ph, "broker_cpu_pct"), False))
for _ph in PHASE_NAMES:
    COLS.append((f"disk read / write MiB/s {_ph} (whole machine)", lambda r, ph=_ph: None
                 if _get(r, "catchup", "phases", ph, "disk_read_mib_s") is None else
                 f"{_get(r, 'catchup', 'phases', ph, 'disk_read_mib_s'):.0f} / "
                 f"{_get(r, 'catchup', 'phases', ph, 'disk_write_mib_s'):.0f}", False))
COLS.append(("machine busy % during", lambda r: _get(r, "catchup", "phases", "during", "machine_busy_pct"), False))


def headline(sc):
    return ("producer ack p99 ms during catch-up",
            {b: ph_ms(r, "during", "p99_us") for b, r in sc["brokers"].items()}, False)


def _f(v, nd=2):
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{nd}f}"


def section(res):
    """One table per produce-catchup scenario: per broker, the producer's ack
    p50 / p99 / p99.9 before, during and after, the readers' MB/s; then
    ringbroker divided by each Kafka kind."""
    L = []
    for sc in res["scenarios"]:
        if not is_catchup(sc):
            continue
        c = sc["config"]
        if not L:
            L = ["## Producer latency while consumers catch up", ""]
        L += [f"{sc['name']}: a producer at {c.get('rate', '?')} rec/s of {c.get('record_size', '?')} B "
              f"(acks={c.get('acks', 'all')}, {c.get('partitions', '?')} partitions) while "
              f"{c.get('consumers', '1')} reader(s) catch up on a topic filled just before "
              f"({c.get('bytes', '?')}; --size may change it, see the read MiB in the scenario's table); "
              "ack latency (send -> delivery report) by the phase of the send time, ms.", "",
              "| broker | read MB/s | p50 before / during / after | p99 before / during / after | "
              "p99.9 before / during / after | max during | p99 during ÷ before | broker CPU % before / during |",
              "|---|---|---|---|---|---|---|---|"]
        for b, r in sc["brokers"].items():
            trip = lambda k: " / ".join(_f(ph_ms(r, ph, k)) for ph in PHASE_NAMES)  # noqa: E731
            L.append(f"| {b} | {_f(_get(r, 'catchup', 'read_mb_per_s'), 1)} | {trip('p50_us')} | "
                     f"{trip('p99_us')} | {trip('p999_us')} | {_f(ph_ms(r, 'during', 'max_us'))} | "
                     f"{_f(p99_growth(r))}x | {_f(_get(r, 'catchup', 'phases', 'before', 'broker_cpu_pct'), 0)}"
                     f" / {_f(_get(r, 'catchup', 'phases', 'during', 'broker_cpu_pct'), 0)} |")
        rb = sc["brokers"].get("ringbroker")
        for k in [b for b in sc["brokers"] if b.startswith("kafka")]:
            kr = sc["brokers"][k]
            parts = []
            for ph in PHASE_NAMES:
                a, bb = ph_ms(rb, ph, "p99_us") if rb else None, ph_ms(kr, ph, "p99_us")
                parts.append(f"p99 {ph} {_f(a / bb if a is not None and bb else None)}x")
            a, bb = _get(rb, "catchup", "read_mb_per_s") if rb else None, _get(kr, "catchup", "read_mb_per_s")
            parts.append(f"read MB/s {_f(a / bb if a is not None and bb else None)}x")
            L.append(f"- ringbroker / {k}: " + ", ".join(parts) + " (latency: below 1 is better)")
        L.append("")
    return L


def chart_values(res):
    """(groups, values[(group, broker)]) for the catchup chart: p50 / p99 / p99.9
    per phase, ms, of the first produce-catchup scenario; None when none ran."""
    for sc in res["scenarios"]:
        if not is_catchup(sc):
            continue
        groups, vals = [], {}
        for lab, key in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us")):
            for ph in PHASE_NAMES:
                g = f"{lab} {ph}"
                groups.append(g)
                for b, r in sc["brokers"].items():
                    v = ph_ms(r, ph, key)
                    if v is not None:
                        vals[(g, b)] = v
        return (sc["name"], groups, vals) if vals else None
    return None
