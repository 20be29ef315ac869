/*
 * perf/lib/hist_check.c - self-check of the latency histogram (make -C perf
 * test): bucket edges are continuous and monotonic, every value lands in a
 * bucket whose upper edge is within 1/128 above it, and percentiles of a
 * known distribution come out right. Exits non-zero on the first failure.
 */
#include "perf/lib/perf_common.h"

#include <stdlib.h>

static int fails;

static void check(int ok, const char *what, unsigned long long v)
{
    if (!ok && fails++ < 10)
        fprintf(stderr, "FAIL: %s (value %llu)\n", what, v);
}

int main(void)
{
    static struct hist h;
    uint64_t prev = 0;
    for (size_t i = 1; i < HIST_BUCKETS; i++) {
        uint64_t hi = hist_bucket_high(i);
        check(hi > prev, "bucket edges increase", i);
        check(hist_index(hi) == i, "high edge maps back to its bucket", hi);
        check(hist_index(prev + 1) == i, "no gap between buckets", prev + 1);
        prev = hi;
    }
    check(prev == UINT64_MAX, "last bucket ends at UINT64_MAX", prev);
    for (uint64_t v = 1; v < (1ull << 62); v = v * 3 + 1) {
        uint64_t hi = hist_bucket_high(hist_index(v));
        check(hi >= v && (double)(hi - v) <= (double)v / 128.0, "precision 1/128", v);
    }
    hist_reset(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_record(&h, v * 1000);
    check(h.count == 100000, "count", h.count);
    uint64_t p50 = hist_percentile(&h, 50), p99 = hist_percentile(&h, 99);
    check(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 128, "p50", p50);
    check(p99 >= 99000000 && p99 <= 99000000 + 99000000 / 128, "p99", p99);
    check(hist_percentile(&h, 100) == 100000000, "p100 is max", hist_percentile(&h, 100));
    printf("hist-check: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
