/*
 * perf/lib/perf_common.h - shared pieces of the perf drivers (rb-perf-*):
 * a log-linear latency histogram, clocks, option helpers, librdkafka setup,
 * topic creation and idle connections.
 *
 * The drivers talk to a broker from outside, like any Kafka client; nothing
 * here links against the broker library. Output conventions shared by all
 * drivers (perf/run parses them):
 *   per-second lines on stdout:  "<tool> sec=N key=value ..."
 *   final line on stdout:        "SUMMARY {json}"
 *   diagnostics on stderr.
 */
#ifndef PERF_COMMON_H
#define PERF_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Log-linear histogram ("HDR-style"): values below 2^HIST_SUB_BITS+1 are
 * exact; above, each power of two is split into 2^HIST_SUB_BITS buckets, so
 * a reported value is within 1/128 (<0.8%) of the true one. Values are
 * nanoseconds; the whole uint64 range fits. Not thread-safe: one per thread,
 * merged at the end.
 */
#define HIST_SUB_BITS 7
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

struct hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    double sum;
    uint64_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* Value at percentile p (0..100]: upper edge of the bucket, clamped to max. */
uint64_t hist_percentile(const struct hist *h, double p);
size_t hist_index(uint64_t v);
uint64_t hist_bucket_high(size_t idx);
/* Appends "p50_us":..,"p99_us":..,... (no braces) to buf. */
int hist_json(const struct hist *h, char *buf, size_t len);

uint64_t now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t realtime_ns(void); /* CLOCK_REALTIME (wall clock, cross-process) */
void sleep_until_ns(uint64_t t);

/* Parses sizes like 1024, 64k, 1m, 2g; exits with a message on error. */
uint64_t parse_size(const char *opt, const char *s);
double parse_double(const char *opt, const char *s);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Extra librdkafka properties from -X key=value, applied to every handle. */
struct kv_list {
    int n;
    char *k[64];
    char *v[64];
};
void kv_add(struct kv_list *l, const char *kv);

/* The options every load driver takes (rb-perf-produce, rb-perf-e2e), with the
 * same letters everywhere: -b brokers -t topic -P partitions -T topic configs
 * -s record size -r rate -d duration -w warm-up -a acks -z compression
 * -l linger.ms -c idle connections -X librdkafka property. */
struct perf_opts {
    const char *brokers, *topic, *topic_config, *acks, *compression;
    int partitions, idle_conns;
    long linger_ms;
    uint64_t record_size;
    double rate, duration, warmup;
    struct kv_list extra;
};
#define PERF_OPTS_GETOPT "b:t:P:T:s:r:d:w:a:z:l:c:X:"
/* Apply getopt's option c with arg when it is one of perf_opts'; false when the
 * driver must handle it (or it is unknown). */
bool perf_opts_apply(struct perf_opts *po, int c, const char *arg);

/* Makes a conf with bootstrap servers set and extras applied; exits on error. */
rd_kafka_conf_t *make_conf(const char *brokers, const struct kv_list *extra);
void conf_set(rd_kafka_conf_t *c, const char *k, const char *v);

/*
 * Creates topic with the partition count (replication 1) unless it exists,
 * then waits until metadata shows all partitions with a leader. configs is
 * a comma-separated "k=v,k=v" list or NULL. Returns 0 or -1.
 */
int ensure_topic(const char *brokers, const struct kv_list *extra, const char *topic,
                 int partitions, const char *configs, int timeout_ms);

/*
 * Opens n plain TCP connections to the first bootstrap broker, each sends an
 * ApiVersions v0 request and reads the reply, then stays open and idle until
 * idle_conns_close(). Returns the number that completed the exchange.
 */
int idle_conns_open(const char *brokers, int n);
void idle_conns_close(void);

/* Stops drivers on SIGINT/SIGTERM: the flag turns true. */
extern volatile int g_stop;
void install_stop_signals(void);

#endif
