# tests/integration/fault_lib.sh - helpers shared by the t_fault_*.sh storage fault
# tests (sourced after lib.sh).
#
# fl_read TOPIC PART OUT      read a partition from the beginning to its end with kcat
#                             ("partition offset key" lines); returns kcat's status
# fl_check ACKS CONSUMED [ALLOWED]
#                             compare acknowledged records (rb_roundtrip ack files:
#                             "partition offset seq") with what was read; ALLOWED
#                             lists "partition offset" pairs that may be missing (a
#                             torn batch). Prints "acked= present= lost= allowed_lost=
#                             dup= order=" and returns non-zero on any loss, duplicate
#                             or order violation.
# fl_seg_end FILE             byte position after the last valid batch (ringctl dump-log)
# fl_last_batch FILE          "position size baseOffset lastOffset" of the last batch

CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"

fl_read() {
    ct 30 "$KCAT" -C -b "$(rb_bootstrap)" -t "$1" -p "$2" -o beginning -e -q \
        -f '%p %o %k\n' >"$3" 2>"$3.err"
}

fl_check() {
    local acks=$1 got=$2 allowed=${3:-/dev/null}
    awk -v A="$allowed" -v G="$got" '
        BEGIN {
            while ((getline l < A) > 0) { split(l, f, " "); ok[f[1] " " f[2]] = 1 }
            while ((getline l < G) > 0) {
                split(l, f, " "); s = substr(f[3], 2)
                at[f[1] " " f[2]] = s
                if (s in seen) dup++
                seen[s] = 1
                if ((f[1] in last) && s + 0 <= last[f[1]] + 0) order++
                last[f[1]] = s; present++
            }
        }
        { acked++; k = $1 " " $2
          if (at[k] != $3) { if (k in ok) al++; else lost++ } }
        END {
            printf "acked=%d present=%d lost=%d allowed_lost=%d dup=%d order=%d\n",
                acked, present, lost, al, dup, order
            exit (lost + dup + order) > 0
        }' "$acks"
}

fl_last_batch() {
    "$CTL" dump-log --files "$1" 2>/dev/null | awk '/^baseOffset:/ {
        for (i = 1; i < NF; i++) { if ($i == "position:") p = $(i+1); if ($i == "size:") s = $(i+1) }
        b = $2; e = $4 } END { print p, s, b, e }'
}

fl_seg_end() {
    local p s b e
    read -r p s b e < <(fl_last_batch "$1")
    echo $((p + s))
}
