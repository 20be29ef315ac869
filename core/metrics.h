/*
 * core/metrics.h - counters a shard publishes for the metrics endpoint, and their
 * rendering in Prometheus' text format (version 0.0.4).
 *
 * Single writer, racy reader: every counter here is written by one thread only
 * (the shard that owns it) with a relaxed load + store (no locked
 * read-modify-write on the hot path) and read by the metrics thread with a
 * relaxed load. A reader sees each value whole (64-bit atomics) but the values of
 * one scrape are not a snapshot of one instant: a histogram's count may run a
 * little ahead of its sum. Nothing here takes a lock or allocates after setup.
 *
 * Histograms have power-of-two buckets: a value v lands in bucket
 * rb_hist_bucket(v) = the number of bits of v (0 for v == 0), so bucket i holds
 * values < 2^i. The renderer writes Prometheus' cumulative le buckets with the
 * bounds divided by a scale (e.g. microseconds rendered as seconds).
 *
 * Named counter sets (struct rb_mnames): up to RB_MNAMES_MAX names (topics) with
 * RB_MNAMES_VALUES counters each; the owner finds or adds a name (slots are
 * published with a release store of the count and never removed); names past the
 * capacity share the last slot, named "" (rendered by the caller as an overflow
 * label).
 */
#ifndef RB_CORE_METRICS_H
#define RB_CORE_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RB_HIST_BUCKETS  40
#define RB_MNAMES_MAX    512
#define RB_MNAMES_VALUES 4
#define RB_MNAME_BYTES   256

typedef _Atomic uint64_t rb_counter;

/* Cluster figures of one broker, derived from each new metadata snapshot by the
 * first shard (cmd/broker.c) and read by the metrics thread. valid == 0: no
 * cluster snapshot (a standalone broker; the renderer uses local figures). */
enum {
    RB_CLG_VALID,
    RB_CLG_CONTROLLER,       /* 1: the snapshot's controller_id is this broker */
    RB_CLG_HOSTED,           /* partitions with a replica here */
    RB_CLG_LEADER,           /* partitions led here */
    RB_CLG_UNDER_REPLICATED, /* led here, ISR smaller than the replica set */
    RB_CLG_OFFLINE,          /* controller only: partitions with no live leader */
    RB_CLG_GLOBAL,           /* controller only: partitions in the cluster */
    RB_CLG_N
};
struct rb_cluster_gauges {
    rb_counter v[RB_CLG_N];
};

/* Owner thread only. */
static inline void rb_counter_add(rb_counter *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static inline uint64_t rb_counter_get(const rb_counter *c)
{
    return atomic_load_explicit((rb_counter *)c, memory_order_relaxed);
}

/* Monotonic microseconds, for latencies measured on the hot path (one vDSO call). */
static inline int64_t rb_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct rb_hist {
    rb_counter bucket[RB_HIST_BUCKETS];
    rb_counter sum;
};

static inline int rb_hist_bucket(uint64_t v)
{
    int b = v ? 64 - __builtin_clzll(v) : 0;
    return b < RB_HIST_BUCKETS ? b : RB_HIST_BUCKETS - 1;
}

/* Owner thread only. */
static inline void rb_hist_add(struct rb_hist *h, uint64_t v)
{
    rb_counter_add(&h->bucket[rb_hist_bucket(v)], 1);
    rb_counter_add(&h->sum, v);
}

struct rb_mname {
    char name[RB_MNAME_BYTES];
    rb_counter v[RB_MNAMES_VALUES];
};

struct rb_mnames {
    _Atomic uint32_t n; /* published slots */
    uint32_t *index;    /* owner's open-addressing table of slot+1, 2 * RB_MNAMES_MAX */
    struct rb_mname slot[RB_MNAMES_MAX];
};

/* Allocate an empty set; NULL on -ENOMEM. Free with rb_mnames_free (any thread,
 * after the owner and the readers are done). */
struct rb_mnames *rb_mnames_new(void);
void rb_mnames_free(struct rb_mnames *m);
/* Owner thread only: the slot of name (len bytes), added when new. Never NULL;
 * the pointer stays valid until rb_mnames_free. */
struct rb_mname *rb_mnames_get(struct rb_mnames *m, const char *name, size_t len);
/* Any thread: the published slots are m->slot[0 .. rb_mnames_count(m) - 1]. */
static inline uint32_t rb_mnames_count(const struct rb_mnames *m)
{
    return atomic_load_explicit((_Atomic uint32_t *)&m->n, memory_order_acquire);
}

/* ---- rendering: an appending text buffer ---- */

struct rb_mbuf {
    char *p;
    size_t len, cap;
    bool oom; /* an append failed: the text is incomplete */
};

void rb_mbuf_free(struct rb_mbuf *b);
void rb_mbuf_printf(struct rb_mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n" */
void rb_metric_head(struct rb_mbuf *b, const char *name, const char *type, const char *help);
/* A label value with Prometheus' escapes (\\, \", \n). */
void rb_metric_label_value(struct rb_mbuf *b, const char *v);
/* name{labels} value: labels is "" or 'k="v",k2="v2"' already escaped. */
void rb_metric_u64(struct rb_mbuf *b, const char *name, const char *labels, uint64_t v);
void rb_metric_double(struct rb_mbuf *b, const char *name, const char *labels, double v);
/* name_bucket{labels,le=...} for every bucket up to the highest used one, then
 * le="+Inf", name_sum and name_count; bounds and sum divided by scale. */
void rb_metric_hist(struct rb_mbuf *b, const char *name, const char *labels,
                    const struct rb_hist *h, double scale);
/* Sum of src into dst (reader side: shards' histograms into one). */
void rb_hist_merge(struct rb_hist *dst, const struct rb_hist *src);

#endif
