#!/usr/bin/env python3
"""perf/lib/results_md.py RESULTS_DIR [OUTPUT]  - write perf/RESULTS.md
   perf/lib/results_md.py --replicated RESULTS_DIR [OUTPUT]

Turns one perf/run results dir (perf/results/<timestamp>/) into the
committed summary perf/RESULTS.md (or OUTPUT; "-" = stdout): date, commit,
machine, the physical ceilings, the summary table with ratios, the cost table
(broker CPU-s per GiB, RSS high-water), the charts (perf/lib/plots.py, written
to plots/ beside OUTPUT: perf/plots/*.png), where we stand against the goals of
the perf issue, and the per-scenario tables. It reads
the dir with perf/lib/report.py's collect(), so the numbers are the same as in
that run's report.md. Run it after a full `perf/run` (the default set plus,
when the machine allows, `big`), then commit perf/RESULTS.md.
--replicated writes only the "Replicated (3 brokers, RF=3)" section (the rf3-*
scenarios with ringbroker3 / kafka3, from a run such as
`perf/run --brokers "ringbroker ringbroker3 kafka3" --duration 10 rf3`) into
OUTPUT, replacing the section there or adding it at the end; a full rewrite
keeps that section when its run has no ringbroker3.
Standard library only (the charts need matplotlib; without it they are left out).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plots  # noqa: E402  (perf/lib/plots.py)
import report  # noqa: E402  (perf/lib/report.py)

fmt = report.fmt


REPL_HEAD = "## Replicated (3 brokers, RF=3)"


def replicated_section(out_dir):
    res = report.collect(out_dir)
    env, c = res["env"], res["ceilings"]
    res["scenarios"] = [sc for sc in res["scenarios"] if sc["name"].startswith("rf3-")]
    L = [REPL_HEAD, "",
         "Issue 11 item 8 / issue 14 item 5: replicated acks=all throughput next to single-node, "
         "end-to-end latency at half of the 3-node Kafka's max, broker CPU per GiB and memory. "
         "`ringbroker3` = 3 ringbroker brokers on 127.0.0.1 ("
         "default.replication.factor=3, min.insync.replicas=2, the single node's durable defaults: "
         "every replica fdatasyncs before its position counts) on ONE ZooKeeper node (enough for "
         "perf; the fault tests use 3); `kafka3` = 3 Kafka 4.4 KRaft nodes, the same replication, "
         "Kafka's flush defaults (page cache). Topics get replication factor 3 and the drivers start "
         "only when every partition's ISR is full. CPU and RSS are sums over the 3 broker processes "
         "(ZooKeeper and the KRaft quorum's share inside the Kafka JVMs: not separable). "
         "Everything shares 2 cores and one disk: 3 brokers write every byte 3 times to the same "
         "disk, and the drivers run on the same cores.", "",
         f"- date: {env.get('date', '?')}",
         f"- commit: {env.get('git_rev', '?')}"
         + (f" (with {env.get('git_dirty')} locally modified tracked files)"
            if env.get("git_dirty", "0") not in ("", "0") else ""),
         f"- command: `{env.get('command', '')}`",
         f"- ceilings in this run: fio O_DIRECT seq write {fmt(c.get('disk_seq_write_1m_qd32_mib_s'))} MiB/s, "
         f"64 KiB + fdatasync QD1 {fmt(c.get('disk_write_64k_fdatasync_qd1_mib_s'))} MiB/s, "
         f"4 KiB + fdatasync {fmt(c.get('disk_fdatasync_4k_qd1_per_s'))}/s, "
         f"loopback {fmt(c.get('loopback_tcp_gbit_s'), 2)} Gbit/s", ""]
    L += report.summary_table(res, present_only=True) + [""]
    L += report.cost_table(res, present_only=True) + [""]
    for sc in res["scenarios"]:
        L += [f"### {sc['name']}: {sc['description']}", ""]
        if sc.get("rate"):
            L.append(f"- rate for every broker: {report.rate_note(sc)}")
        for b, r in sc["brokers"].items():
            L += report.broker_notes(b, r)
        L += [""] + report.scenario_table(sc, present_only=True) + [""]
    return L


def splice_section(text, section):
    """text with its replicated section replaced by section (or section added)."""
    i = text.find(REPL_HEAD)
    if i < 0:
        return text.rstrip("\n") + "\n\n" + section
    j = text.find("\n## ", i + len(REPL_HEAD))
    return text[:i] + section + ("\n" + text[j + 1:] if j >= 0 else "")


HAND_MARK = "not from results_md.py"


def hand_sections(text):
    """The sections of text written by hand (a heading that says HAND_MARK),
    each up to the next heading of its level or above: a full rewrite keeps them."""
    out, lines = [], text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("#") and HAND_MARK in ln:
            level = len(ln) - len(ln.lstrip("#"))
            j = i + 1
            while j < len(lines) and not (lines[j].startswith("#") and
                                          len(lines[j]) - len(lines[j].lstrip("#")) <= level):
                j += 1
            out.append("".join(lines[i:j]).rstrip("\n") + "\n")
            i = j
        else:
            i += 1
    return out


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--replicated":
        if len(sys.argv) not in (3, 4):
            print(__doc__, file=sys.stderr)
            return 2
        dest = sys.argv[3] if len(sys.argv) == 4 else os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "RESULTS.md")
        section = "\n".join(replicated_section(sys.argv[2])) + "\n"
        old = report.read(dest) if dest != "-" else ""
        text = splice_section(old, section) if old else section
        if dest == "-":
            sys.stdout.write(text)
        else:
            with open(dest, "w") as f:
                f.write(text)
            print(f"results_md: wrote the replicated section of {dest}", file=sys.stderr)
        return 0
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    dest = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "RESULTS.md")
    res = report.collect(out_dir)
    env, c = res["env"], res["ceilings"]
    dirty = env.get("git_dirty", "0")
    L = ["# ringbroker vs Apache Kafka: latest results", "",
         "Generated by `perf/lib/results_md.py` from the results of one `perf/run` on this kind of "
         "machine; see perf/README.md for how to run, read and reproduce. Benchmarks, not tests: "
         "compare ratios within one run, not absolute figures across machines.", "",
         f"- date: {env.get('date', '?')}",
         f"- commit: {env.get('git_rev', '?')}"
         + (f" (with {dirty} locally modified tracked files)" if dirty not in ("", "0") else ""),
         f"- command: `{env.get('command', '')}`",
         f"- machine: {env.get('cpus', '?')} CPUs ({env.get('cpu_model', '')}), "
         f"{env.get('mem_gib', '?')} GiB RAM, kernel {env.get('host_kernel', '')}, "
         f"data on {env.get('data_fs', '')}",
         f"- software: librdkafka {env.get('librdkafka', '')}, Apache Kafka 4.4 "
         f"({env.get('kafka_lib', '')}), {env.get('java', '')}",
         "- brokers: `ringbroker` standalone with its defaults (a produce is acknowledged after "
         "fdatasync); `kafka` = Kafka 4.4 KRaft single node, Kafka's defaults (page cache, no fsync "
         "per message); `kafka-durable` = the same with log.flush.interval.messages=1; `kafka3` "
         "(when present) = 3 KRaft nodes, replication factor 3, min.insync.replicas 2, acks=all. "
         "Broker, drivers and everything else share the same cores.", ""]
    L += ["## Goals", "",
          "From the perf issue. Goals, not tests: where we fall short is where to profile.", "",
          ] + report.goals_table(res)
    L += ["", "## Physical ceilings (measured in the same run)", ""] + report.ceilings_table(c) + [""]
    L += ["## Summary", "",
          "One headline per scenario. Ratios are ringbroker divided by Kafka: for throughput above 1 "
          "means ringbroker is faster; for latency and memory below 1 means ringbroker is better.", ""]
    L += report.summary_table(res) + [""]
    ct = report.cost_table(res)
    if ct:
        L += ["## Cost: broker CPU per GiB and memory high-water", ""] + ct + [""]
    # The charts go next to the file written (perf/plots/*.png, committed).
    charts = plots.make_all(res, os.path.join(os.path.dirname(os.path.abspath(dest)), "plots")) \
        if dest != "-" else []
    if charts:
        L += ["## Charts", "", "Drawn by `perf/lib/plots.py` (matplotlib) from this run.", ""]
        L += plots.links(charts, "plots") + [""]
    if not any(b.startswith("kafka3") for sc in res["scenarios"] for b in sc["brokers"]):
        L += ["3-node clusters: not measured in this run (see the replicated section below, "
              "`--brokers \"ringbroker ringbroker3 kafka3\" rf3`).", ""]
    L += report.storage_fetch_sections(res)
    L += ["## Scenarios", ""]
    for sc in res["scenarios"]:
        L += [f"### {sc['name']}: {sc['description']}", ""]
        if sc.get("rate"):
            L.append(f"- rate for every broker: {report.rate_note(sc)}")
        for b, r in sc["brokers"].items():
            L += report.broker_notes(b, r)
        L += [""] + report.scenario_table(sc) + [""]
    old = report.read(dest) if dest != "-" else ""
    kept = hand_sections(old)
    if kept:
        L += ["## Measured by hand", "",
              f"Sections written by hand (their heading says \"{HAND_MARK}\"), kept by every "
              "rewrite; remove one when a full run covers it.", ""]
        for sec in kept:
            L += [sec]
    text = "\n".join(L)
    # A run without ringbroker3 keeps the replicated section of the file it replaces.
    has_r3 = any("ringbroker3" in sc["brokers"] for sc in res["scenarios"])
    if has_r3:
        text = splice_section(text, "\n".join(replicated_section(out_dir)) + "\n")
    elif REPL_HEAD in old:
        i = old.find(REPL_HEAD)
        j = old.find("\n## ", i + len(REPL_HEAD))
        text = splice_section(text, old[i:j + 1] if j >= 0 else old[i:])
    if dest == "-":
        sys.stdout.write(text)
    else:
        with open(dest, "w") as f:
            f.write(text)
        print(f"results_md: wrote {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
