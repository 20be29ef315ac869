"""perf/lib/plots.py - the summary charts of one perf/run (issue 14 item 6), PNG
with matplotlib (Debian python3-matplotlib, perf/install-perf-deps.sh):

  throughput.png  every throughput scenario's headline (produce or read MB/s),
                  the brokers side by side
  latency.png     the latency scenarios' end-to-end percentiles (log scale)
  fetch.png       catch-up reads against the loopback ceiling of the run
  cost.png        broker CPU-seconds per GiB produced / fetched
  startup.png     restart to serving (driver=startup scenarios)
  catchup.png     a fixed-rate producer's ack p50 / p99 / p99.9 before, during
                  and after a catch-up read (driver=produce-catchup, log scale)

make_all(res, dir) writes those that have data into dir and returns their
names; report.py puts them in the run's plots/, results_md.py next to
RESULTS.md (perf/plots/). The per-scenario over-time charts stay gnuplot's
(report.py). Without matplotlib nothing is drawn and make_all says so.
"""
import os
import sys

from report_collect import get as _get

COLORS = {"ringbroker": "#d62728", "ringbroker3": "#ff9896", "kafka": "#1f77b4",
          "kafka-durable": "#17becf", "kafka3": "#2ca02c", "kafka3-durable": "#98df8a"}
DEBIAN_DIST = "/usr/lib/python3/dist-packages"
PCTS = [("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
        ("p99.99", "p9999_us"), ("max", "max_us")]


def _brokers(res):
    from report_collect import BROKER_ORDER
    seen = {b for sc in res["scenarios"] for b in sc["brokers"]}
    return [b for b in BROKER_ORDER if b in seen]


def _grouped(plt, groups, brokers, values, ylabel, title, path, logy=False, hlines=(), label_fmt="{:.0f}"):
    """Bars: one group per entry of groups, one bar per broker; values[(g, b)]."""
    n = max(1, len(brokers))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(groups) * max(1, n / 2) + 2), 4.8))
    for i, b in enumerate(brokers):
        xs = [gi + (i - (n - 1) / 2) * width for gi in range(len(groups))]
        ys = [values.get((g, b)) for g in groups]
        bars = ax.bar([x for x, y in zip(xs, ys) if y is not None], [y for y in ys if y is not None],
                      width, label=b, color=COLORS.get(b))
        for rect, y in zip(bars, [y for y in ys if y is not None]):
            ax.annotate(label_fmt.format(y), (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                        ha="center", va="bottom", fontsize=7, rotation=90 if n > 2 else 0)
    for y, text, style in hlines:
        ax.axhline(y, color="black", linestyle=style, linewidth=1)
        ax.text(0.99, y, text, transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontsize=8)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def throughput(plt, res, path):
    import report
    groups, values = [], {}
    for sc in res["scenarios"]:
        label, v, higher = report.headline(sc)
        if not higher or all(x is None for x in v.values()):
            continue
        g = f"{sc['name']}\n({label.replace(' MB/s', '')})"
        groups.append(g)
        values.update({(g, b): x for b, x in v.items() if x is not None})
    if not groups:
        return False
    _grouped(plt, groups, _brokers(res), values, "MiB/s (higher is better)",
             "Throughput: each scenario's headline (produce, or the read)", path)
    return True


def latency(plt, res, path):
    scs = [sc for sc in res["scenarios"] if sc["config"].get("driver") == "e2e"
           and any(_get(r, "e2e", "latency") for r in sc["brokers"].values())]
    if not scs:
        return False
    fig, axes = plt.subplots(1, len(scs), figsize=(5.5 * len(scs) + 1, 4.6), squeeze=False)
    for ax, sc in zip(axes[0], scs):
        brokers = [b for b in _brokers(res) if _get(sc["brokers"].get(b, {}), "e2e", "latency")]
        n = max(1, len(brokers))
        w = 0.8 / n
        for i, b in enumerate(brokers):
            lat = sc["brokers"][b]["e2e"]["latency"]
            ys = [(lat.get(k) or 0) / 1000.0 for _l, k in PCTS]
            ax.bar([j + (i - (n - 1) / 2) * w for j in range(len(PCTS))], ys, w, label=b, color=COLORS.get(b))
        ax.set_xticks(range(len(PCTS)))
        ax.set_xticklabels([lbl for lbl, _k in PCTS])
        ax.set_yscale("log")
        ax.set_ylabel("ms (log; lower is better)")
        rate = _get(sc, "rate", "rate") or sc["config"].get("rate", "?")
        ax.set_title(f"{sc['name']}: end-to-end latency\nat {rate} rec/s", fontsize=9)
        ax.grid(axis="y", alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def fetch(plt, res, path):
    import report
    groups, values = [], {}
    for sc in res["scenarios"]:
        v = {b: _get(r, "consume", "mb_per_s") for b, r in sc["brokers"].items()}
        if all(x is None for x in v.values()):
            continue
        g = f"{sc['name']}\n{report.read_kind(sc).split(' (')[0]}"
        groups.append(g)
        values.update({(g, b): x for b, x in v.items() if x is not None})
    if not groups:
        return False
    ceil = report.loopback_mib(res)
    hl = [(ceil, f"loopback ceiling {ceil:,.0f} MiB/s", "-"), (0.8 * ceil, "80% of it (goal)", "--")] if ceil else []
    _grouped(plt, groups, _brokers(res), values, "catch-up read MiB/s (higher is better)",
             "Fetch: catch-up reads vs the loopback ceiling (iperf3)", path, hlines=hl)
    return True


def cost(plt, res, path):
    groups, values = [], {}
    for sc in res["scenarios"]:
        for key, what in (("cpu_s_per_gib_produced", "produced"), ("cpu_s_per_gib_fetched", "fetched"),
                          ("cpu_s_per_gib_e2e", "at fixed rate")):
            v = {b: _get(r, "resources", key) for b, r in sc["brokers"].items()}
            if all(x is None for x in v.values()):
                continue
            g = f"{sc['name']}\n{what}"
            groups.append(g)
            values.update({(g, b): x for b, x in v.items() if x is not None})
    if not groups:
        return False
    _grouped(plt, groups, _brokers(res), values, "broker CPU-seconds per GiB (lower is better)",
             "Cost: broker CPU per GiB produced / fetched", path, label_fmt="{:.2f}")
    return True


def startup(plt, res, path):
    groups, values = [], {}
    for sc in res["scenarios"]:
        if sc["config"].get("driver") != "startup":
            continue
        for key, what in (("restart_ready_ms", "to Metadata"), ("restart_serve_ms", "to a produce acked")):
            g = f"{sc['config'].get('partitions', '?')} partitions\n{what}"
            v = {b: _get(r, "startup", key) for b, r in sc["brokers"].items()}
            if all(x is None for x in v.values()):
                continue
            groups.append(g)
            values.update({(g, b): x / 1000.0 for b, x in v.items() if x is not None})
    if not groups:
        return False
    _grouped(plt, groups, _brokers(res), values, "seconds from launch (lower is better)",
             "Restart on existing data: time to serving", path, label_fmt="{:.2f}")
    return True


def catchup(plt, res, path):
    import report_catchup
    cv = report_catchup.chart_values(res)
    if not cv:
        return False
    name, groups, values = cv
    _grouped(plt, groups, _brokers(res), values, "producer ack latency ms (log; lower is better)",
             f"{name}: a fixed-rate producer before / during / after a catch-up read", path,
             logy=True, label_fmt="{:.1f}")
    return True


CHARTS = [("throughput.png", throughput), ("latency.png", latency), ("fetch.png", fetch),
          ("cost.png", cost), ("startup.png", startup), ("catchup.png", catchup)]


def make_all(res, out_dir):
    """Draws every chart that has data into out_dir; returns the file names."""
    try:
        try:
            import matplotlib
        except ImportError:
            # Debian's python3-matplotlib when python3 is another interpreter
            # (pyenv) of the same version.
            sys.path.append(DEBIAN_DIST)
            import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots: no matplotlib (perf/install-perf-deps.sh installs python3-matplotlib): "
              "no summary charts", file=sys.stderr)
        return []
    os.makedirs(out_dir, exist_ok=True)
    made = []
    for name, fn in CHARTS:
        p = os.path.join(out_dir, name)
        try:
            if fn(plt, res, p):
                made.append(name)
            elif os.path.exists(p):
                os.remove(p)  # stale: this run has no data for it
        except Exception as e:  # a broken chart must not cost the report
            print(f"plots: {name} failed: {e}", file=sys.stderr)
    return made


def links(made, prefix):
    """Markdown lines embedding the charts (prefix: their dir relative to the .md)."""
    titles = {"throughput.png": "throughput per scenario", "latency.png": "latency percentiles",
              "fetch.png": "fetch vs the loopback ceiling", "cost.png": "CPU per GiB",
              "startup.png": "restart to serving",
              "catchup.png": "producer latency during a catch-up read"}
    return [f"![{titles.get(m, m)}]({prefix}/{m})" for m in made]
