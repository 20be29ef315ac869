#!/usr/bin/env bash
# t_kcat_roundtrip.sh - 10,000 keyed messages with headers through kcat.
# A 3-partition topic (auto-created with --override num.partitions=3) gets
# 10,000 lines "k<i>:v<i>-<filler>" produced by kcat -P -K: with acks=all, in
# 4 runs of 2,500 whose headers differ (batch=<b>, src=kcat). kcat -C -e reads
# everything back printing partition, offset, key, headers, value. Checks: exact
# count, the exact set of (key, value, headers), offsets 0..n-1 per partition,
# per-partition order = produce order, no duplicates, all 3 partitions used.
. "$(dirname "$0")/lib.sh"

N=10000
BATCHES=4
TOPIC=kc-rt
rb_start --override num.partitions=3
bs=$(rb_bootstrap)

# create the topic through a metadata request and wait until 3 partitions lead
ok=
for i in $(seq 1 40); do
    if kcat_md -t "$TOPIC" -X allow.auto.create.topics=true >"$T_TMP/md.json" 2>/dev/null &&
        "$PY" - "$T_TMP/md.json" "$TOPIC" <<'PY'; then
import json, sys
md = json.load(open(sys.argv[1]))
t = [t for t in md["topics"] if t["topic"] == sys.argv[2]]
ok = t and not t[0].get("error") and len(t[0]["partitions"]) == 3 and \
    all(p["leader"] >= 0 and not p.get("error") for p in t[0]["partitions"])
sys.exit(0 if ok else 1)
PY
        ok=1
        break
    fi
    sleep 0.25
done
[ -n "$ok" ] || fail "topic $TOPIC not created with 3 partitions: $(head -c 800 "$T_TMP/md.json")"

# input files: batch b holds i = b*per .. (b+1)*per-1
"$PY" - "$T_TMP" "$N" "$BATCHES" <<'PY'
import sys
d, n, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = n // nb
alpha = "abcdefghijklmnopqrstuvwxyz:=,.ABCXYZ0123456789 "
for b in range(nb):
    with open("%s/in.%d" % (d, b), "w") as f:
        for i in range(b * per, (b + 1) * per):
            filler = "".join(alpha[(i * 7 + j) % len(alpha)] for j in range(i % 60))
            f.write("k%d:v%d-%s\n" % (i, i, filler))
PY
for b in $(seq 0 $((BATCHES - 1))); do
    ct 60 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -H "batch=$b" -H "src=kcat" \
        -X acks=all -X enable.idempotence=false -X linger.ms=5 \
        <"$T_TMP/in.$b" 2>"$T_TMP/p.$b.err" || fail "kcat -P batch $b: rc=$? $(tail -5 "$T_TMP/p.$b.err")"
    grep -qiE 'fail|error' "$T_TMP/p.$b.err" && fail "kcat -P batch $b reported: $(tail -5 "$T_TMP/p.$b.err")"
done
info "produced $N messages in $BATCHES kcat runs"

ct 90 "$KCAT" -b "$bs" -C -t "$TOPIC" -o beginning -e -q -X check.crcs=true \
    -f '%p\t%o\t%k\t%h\t%s\n' >"$T_TMP/out" 2>"$T_TMP/c.err" ||
    fail "kcat -C: rc=$? $(tail -5 "$T_TMP/c.err")"

"$PY" - "$T_TMP/out" "$N" "$BATCHES" <<'PY' || fail "kcat round trip mismatch (above)"
import sys
path, n, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = n // nb
alpha = "abcdefghijklmnopqrstuvwxyz:=,.ABCXYZ0123456789 "
want = {}
for i in range(n):
    filler = "".join(alpha[(i * 7 + j) % len(alpha)] for j in range(i % 60))
    want["k%d" % i] = ("v%d-%s" % (i, filler), "batch=%d,src=kcat" % (i // per), i)
parts, errors, seen = {}, [], set()
for line in open(path, encoding="utf-8", errors="replace").read().split("\n")[:-1]:
    f = line.split("\t", 4)
    if len(f) != 5:
        errors.append("bad line %r" % line[:80])
        continue
    p, off, key, hdrs, val = int(f[0]), int(f[1]), f[2], f[3], f[4]
    parts.setdefault(p, []).append((off, key))
    if key in seen:
        errors.append("duplicate key %s" % key)
    seen.add(key)
    w = want.get(key)
    if w is None:
        errors.append("unexpected key %r" % key)
    elif (val, hdrs) != w[:2]:
        errors.append("%s: got value %r headers %r, want %r %r" % (key, val[:50], hdrs, w[0][:50], w[1]))
for p, recs in parts.items():
    recs.sort()
    offs = [o for o, _ in recs]
    if offs != list(range(len(offs))):
        errors.append("partition %d: offsets not 0..%d contiguous (first gaps near %r)"
                      % (p, len(offs) - 1, [o for k, o in enumerate(offs) if o != k][:3]))
    idx = [want[k][2] for _, k in recs if k in want]
    if idx != sorted(idx):
        errors.append("partition %d: produce order not kept" % p)
missing = set(want) - seen
if missing:
    errors.append("%d keys missing, e.g. %s" % (len(missing), sorted(missing)[:5]))
if sorted(parts) != [0, 1, 2]:
    errors.append("partitions with data: %r, want [0, 1, 2]" % sorted(parts))
total = sum(len(r) for r in parts.values())
print("info: consumed %d of %d; per partition %s; missing %d; errors %d"
      % (total, n, {p: len(r) for p, r in sorted(parts.items())}, len(missing), len(errors)))
for e in errors[:15]:
    print("  " + e)
sys.exit(1 if errors or total != n else 0)
PY
rb_check_alive "after the round trip"
rb_stop
exit 0
