/*
 * core/config_keys.c - the schema of broker configuration: every known key with
 * its type, bounds, default and field of struct rb_broker_config, the checks a
 * value must pass (rb_cfg_check; rb_parse_i64/rb_parse_bool for every caller),
 * and copying checked values into their typed fields.
 * Invariants: a key appears once; a field-backed key's default passes its own
 * check (test_config.c loads the defaults alone).
 * Fault model: values are untrusted text: a bad one gets a one-line reason, never
 * an assertion; only rb_config_apply_fields asserts, on values already checked.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FLD(f)                                                                                     \
    (int16_t) offsetof(struct rb_broker_config, f), sizeof(((struct rb_broker_config *)0)->f)
#define TI(k, mn, mx, d, f)                                                                        \
    {                                                                                              \
        k, RB_CT_INT, mn, mx, d, NULL, FLD(f)                                                      \
    }
#define TB(k, d, f)                                                                                \
    {                                                                                              \
        k, RB_CT_BOOL, 0, 0, d, NULL, FLD(f)                                                       \
    }
#define RI(k, mn, mx, d)                                                                           \
    {                                                                                              \
        k, RB_CT_INT, mn, mx, d, NULL, -1, 0                                                       \
    }
#define RBO(k, d)                                                                                  \
    {                                                                                              \
        k, RB_CT_BOOL, 0, 0, d, NULL, -1, 0                                                        \
    }
#define RS(k, d)                                                                                   \
    {                                                                                              \
        k, RB_CT_STRING, 0, 0, d, NULL, -1, 0                                                      \
    }
#define RNE(k, d)                                                                                  \
    {                                                                                              \
        k, RB_CT_NONEMPTY, 0, 0, d, NULL, -1, 0                                                    \
    }
#define RE(k, d, c)                                                                                \
    {                                                                                              \
        k, RB_CT_ENUM, 0, 0, d, c, -1, 0                                                           \
    }
#define RD(k, mn, mx, d)                                                                           \
    {                                                                                              \
        k, RB_CT_DOUBLE, mn, mx, d, NULL, -1, 0                                                    \
    }
#define I32MAX INT32_MAX
#define I64MAX INT64_MAX
#define LMAX   "9223372036854775807"

static const struct rb_cfg_spec broker_keys[] = {
    /* identity and listeners (typed by hand in build_ids / build_listeners) */
    RI("broker.id", 0, I32MAX, NULL),
    RI("node.id", 0, I32MAX, NULL),
    {"listeners", RB_CT_LISTENERS, 0, 0, "PLAINTEXT://127.0.0.1:9092", NULL, -1, 0},
    {"advertised.listeners", RB_CT_LISTENERS, 0, 0, NULL, NULL, -1, 0},
    RS("listener.security.protocol.map", NULL),
    RS("inter.broker.listener.name", NULL),
    RE("security.inter.broker.protocol", NULL, "PLAINTEXT"),
    RNE("log.dirs", NULL),
    RNE("log.dir", "./data"),
    RS("zookeeper.connect", NULL),
    RS("etcd.endpoints", NULL), /* (ringbroker) the etcd backend instead of ZooKeeper */
    RS("etcd.prefix", "/ringbroker"),
    /* typed, generic */
    TI("num.partitions", 1, I32MAX, "1", num_partitions),
    TI("default.replication.factor", 1, INT16_MAX, "1", default_replication_factor),
    TB("auto.create.topics.enable", "true", auto_create_topics_enable),
    TB("delete.topic.enable", "true", delete_topic_enable),
    /* (ringbroker) deprecated, ignored (a warning at startup): replication factor > 1
     * once needed it; accepted so that old configs still start */
    TB("replication.test.enable", "false", replication_test_enable),
    /* (ringbroker) probe the other brokers' listeners; 0: off (session expiry only) */
    TI("broker.liveness.probe.interval.ms", 0, 60000, "300", broker_liveness_probe_interval_ms),
    TI("message.max.bytes", 0, I32MAX, "1048588", message_max_bytes),
    TI("socket.request.max.bytes", 1, I32MAX, "104857600", socket_request_max_bytes),
    TI("max.connections", 0, I32MAX, "2147483647", max_connections),
    TI("max.connections.per.ip", 0, I32MAX, "2147483647", max_connections_per_ip),
    TI("queued.max.requests", 1, I32MAX, "500", queued_max_requests),
    TI("log.segment.bytes", 14, I32MAX, "1073741824", log_segment_bytes),
    RI("log.roll.ms", 1, I64MAX, NULL),
    RI("log.roll.hours", 1, I32MAX, "168"),
    RI("log.retention.ms", -1, I64MAX, NULL),
    RI("log.retention.minutes", -1, I32MAX, NULL),
    RI("log.retention.hours", -1, I32MAX, "168"),
    TI("log.retention.bytes", INT64_MIN, I64MAX, "-1", log_retention_bytes),
    TI("log.retention.check.interval.ms", 1, I64MAX, "300000", log_retention_check_interval_ms),
    TI("log.flush.interval.messages", 1, I64MAX, "1", log_flush_interval_messages),
    RI("log.flush.interval.ms", 0, I64MAX, NULL),
    TI("log.index.interval.bytes", 0, I32MAX, "4096", log_index_interval_bytes),
    TI("log.index.size.max.bytes", 4, I32MAX, "10485760", log_segment_index_bytes),
    RE("log.message.timestamp.type", "CreateTime", "CreateTime|LogAppendTime"),
    TI("group.initial.rebalance.delay.ms", 0, I32MAX, "3000", group_initial_rebalance_delay_ms),
    TI("offsets.topic.num.partitions", 1, I32MAX, "50", offsets_topic_num_partitions),
    /* ringbroker's own keys */
    TI("num.shards", 0, 1024, "0", num_shards),
    {"log.preallocate.step.bytes", RB_CT_ALIGNED, 4096, 1LL << 32, "16777216", NULL,
     FLD(log_preallocate_step_bytes)},
    {"log.chunk.bytes", RB_CT_ALIGNED, 4096, 64 << 20, "262144", NULL, FLD(log_chunk_bytes)},
    /* the log keeps the dirty limit in 32 bits (storage/log.h) */
    {"log.max.dirty.bytes", RB_CT_ALIGNED, 4096, 0xFFFFF000LL, "8388608", NULL,
     FLD(log_max_dirty_bytes)},
    TI("log.tail.cache.bytes", -1, I64MAX, "-1", log_tail_cache_bytes),
    /* partitions this broker holds (every topic, internal ones too) / one topic may have */
    TI("max.partitions", 1, I32MAX, "20000", max_partitions),
    TI("max.partitions.per.topic", 1, I32MAX, "10000", max_partitions_per_topic),
    RE("fetch.file.transfer", "read", "read|splice"),
    TB("fetch.file.direct", "false", fetch_file_direct),
    TB("fetch.file.readahead", "false", fetch_file_readahead),
    TI("fetch.file.readahead.bytes", 0, 64 << 20, "4194304", fetch_file_readahead_bytes),
    {"socket.recv.buffers", RB_CT_POW2, 1, 32768, "256", NULL, FLD(recv_buffers)},
    TI("socket.recv.buffer.bytes", 512, 16 << 20, "16384", recv_buffer_bytes),
    TI("shard.memory.budget.bytes", 1 << 20, I64MAX, "268435456", shard_memory_budget_bytes),
    TI("connection.memory.max.bytes", 65536, I64MAX, "67108864", connection_memory_max_bytes),
    {"log.level", RB_CT_LOGLEVEL, 0, 0, "info", NULL, -1, 0},
    /* http://host:port of the Prometheus endpoint (cmd/metrics.c); unset: off */
    RS("metrics.listener", NULL),
    /* testing aids, off by default (storage/disk_fault.h) */
    RS("test.fault.partition", NULL),
    RI("test.fault.fsync.fail.after", -1, I64MAX, "-1"),
    /* offsets retention in ms, overriding offsets.retention.minutes (-1: off) */
    RI("test.offsets.retention.ms", -1, I64MAX, "-1"),
    /* Kafka keys accepted, validated and kept raw (some feed topic defaults) */
    RI("log.roll.jitter.ms", 0, I64MAX, NULL),
    RI("log.roll.jitter.hours", 0, I32MAX, "0"),
    {"log.cleanup.policy", RB_CT_ENUMLIST, 0, 0, "delete", "delete|compact", -1, 0},
    RBO("log.cleaner.enable", "true"),
    RI("log.cleaner.threads", 0, I32MAX, "1"),
    RI("log.cleaner.delete.retention.ms", 0, I64MAX, "86400000"),
    RI("log.cleaner.min.compaction.lag.ms", 0, I64MAX, "0"),
    RI("log.cleaner.max.compaction.lag.ms", 1, I64MAX, LMAX),
    RD("log.cleaner.min.cleanable.ratio", 0, 1, "0.5"),
    RI("log.cleaner.backoff.ms", 0, I64MAX, "15000"),
    RI("log.cleaner.dedupe.buffer.size", 0, I64MAX, "134217728"),
    TI("log.segment.delete.delay.ms", 0, I64MAX, "60000", log_segment_delete_delay_ms),
    RI("log.flush.scheduler.interval.ms", 0, I64MAX, LMAX),
    RI("log.flush.offset.checkpoint.interval.ms", 0, I32MAX, "60000"),
    RI("log.flush.start.offset.checkpoint.interval.ms", 0, I32MAX, "60000"),
    RBO("log.preallocate", "false"),
    RI("log.message.timestamp.difference.max.ms", 0, I64MAX, LMAX),
    RI("log.message.timestamp.before.max.ms", 0, I64MAX, LMAX),
    RI("log.message.timestamp.after.max.ms", 0, I64MAX, "3600000"),
    RBO("log.message.downconversion.enable", "true"),
    RI("log.local.retention.ms", -2, I64MAX, "-2"),
    RI("log.local.retention.bytes", -2, I64MAX, "-2"),
    RE("compression.type", "producer", "producer|uncompressed|gzip|snappy|lz4|zstd"),
    RI("min.insync.replicas", 1, I32MAX, "1"),
    RBO("unclean.leader.election.enable", "false"),
    RI("num.network.threads", 1, I32MAX, NULL),
    RI("num.io.threads", 1, I32MAX, NULL),
    RI("num.replica.fetchers", 1, I32MAX, NULL),
    RI("num.recovery.threads.per.data.dir", 1, I32MAX, NULL),
    RI("background.threads", 1, I32MAX, NULL),
    RI("socket.send.buffer.bytes", -1, I32MAX, NULL),
    RI("socket.receive.buffer.bytes", -1, I32MAX, NULL),
    RI("socket.listen.backlog.size", 1, I32MAX, NULL),
    RI("connections.max.idle.ms", -1, I64MAX, NULL),
    TI("queued.max.request.bytes", -1, I64MAX, "-1", queued_max_request_bytes),
    TI("offsets.topic.replication.factor", 1, INT16_MAX, "3", offsets_topic_replication_factor),
    RI("offsets.topic.segment.bytes", 1, I32MAX, NULL),
    RI("offsets.retention.minutes", 1, I32MAX, NULL),
    RI("offsets.retention.check.interval.ms", 1, I64MAX, NULL),
    RI("offsets.commit.timeout.ms", 1, I32MAX, NULL),
    RI("offsets.load.buffer.size", 1, I32MAX, NULL),
    RI("transaction.state.log.replication.factor", 1, INT16_MAX, NULL),
    RI("transaction.state.log.min.isr", 1, I32MAX, NULL),
    RI("transaction.state.log.num.partitions", 1, I32MAX, NULL),
    RI("transaction.state.log.segment.bytes", 1, I32MAX, NULL),
    RI("transaction.state.log.load.buffer.size", 1, I32MAX, NULL),
    RI("transaction.max.timeout.ms", 1, I32MAX, NULL),
    RI("transactional.id.expiration.ms", 1, I32MAX, NULL),
    RI("producer.id.expiration.ms", 1, I32MAX, NULL),
    TI("group.min.session.timeout.ms", 0, I32MAX, "6000", group_min_session_timeout_ms),
    TI("group.max.session.timeout.ms", 0, I32MAX, "1800000", group_max_session_timeout_ms),
    TI("group.max.size", 1, I32MAX, "2147483647", group_max_size),
    RS("group.coordinator.rebalance.protocols", NULL),
    RI("zookeeper.session.timeout.ms", 1, I32MAX, NULL),
    RI("zookeeper.connection.timeout.ms", 1, I32MAX, NULL),
    RI("zookeeper.max.in.flight.requests", 1, I32MAX, NULL),
    RBO("zookeeper.set.acl", NULL),
    TB("controlled.shutdown.enable", "true", controlled_shutdown_enable),
    TI("controlled.shutdown.max.retries", 0, I32MAX, "3", controlled_shutdown_max_retries),
    TI("controlled.shutdown.retry.backoff.ms", 0, I64MAX, "5000",
       controlled_shutdown_retry_backoff_ms),
    RS("process.roles", NULL),
    RS("controller.listener.names", NULL),
    RS("controller.quorum.voters", NULL),
    RS("controller.quorum.bootstrap.servers", NULL),
    RI("controller.socket.timeout.ms", 0, I32MAX, NULL),
    RI("controller.quorum.election.timeout.ms", 0, I32MAX, NULL),
    RI("controller.quorum.fetch.timeout.ms", 0, I32MAX, NULL),
    RS("metadata.log.dir", NULL),
    RS("inter.broker.protocol.version", NULL),
    RS("log.message.format.version", NULL),
    RI("replica.lag.time.max.ms", 1, I64MAX, NULL),
    RI("replica.fetch.max.bytes", 0, I32MAX, NULL),
    RI("replica.fetch.min.bytes", 1, I32MAX, NULL),
    RI("replica.fetch.wait.max.ms", 0, I32MAX, NULL),
    RI("replica.fetch.response.max.bytes", 0, I32MAX, NULL),
    RI("replica.fetch.backoff.ms", 0, I32MAX, NULL),
    RI("replica.socket.timeout.ms", -1, I32MAX, NULL),
    RI("replica.high.watermark.checkpoint.interval.ms", 1, I64MAX, NULL),
    TB("auto.leader.rebalance.enable", "true", auto_leader_rebalance_enable),
    TI("leader.imbalance.check.interval.seconds", 1, I64MAX, "300",
       leader_imbalance_check_interval_seconds),
    TI("leader.imbalance.per.broker.percentage", 0, I32MAX, "10",
       leader_imbalance_per_broker_percentage),
    RS("broker.rack", NULL),
    RBO("broker.id.generation.enable", NULL),
    RI("reserved.broker.max.id", 0, I32MAX, NULL),
    TI("fetch.max.bytes", 1024, I32MAX, "57671680", fetch_max_bytes),
    RI("max.incremental.fetch.session.cache.slots", 0, I32MAX, NULL),
    RI("fetch.purgatory.purge.interval.requests", 0, I32MAX, NULL),
    RI("producer.purgatory.purge.interval.requests", 0, I32MAX, NULL),
    RI("delete.records.purgatory.purge.interval.requests", 0, I32MAX, NULL),
    RS("metric.reporters", NULL),
    RI("metrics.num.samples", 1, I32MAX, NULL),
    RI("metrics.sample.window.ms", 1, I64MAX, NULL),
    RS("authorizer.class.name", NULL),
    RS("cluster.id", NULL),
};

const struct rb_cfg_spec *rb_cfg_spec_find(const char *key)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(broker_keys); i++)
        if (strcmp(broker_keys[i].key, key) == 0)
            return &broker_keys[i];
    return NULL;
}

const struct rb_cfg_spec *rb_cfg_specs(size_t *n)
{
    *n = RB_ARRAY_LEN(broker_keys);
    return broker_keys;
}

/* ---- parse helpers (public) ---- */

int rb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return -EINVAL;
    uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool over = false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (mag > (lim - d) / 10)
            over = true;
        else
            mag = mag * 10 + d;
    }
    if (over)
        return -ERANGE;
    int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int rb_parse_bool(const char *s, bool *out)
{
    if (s && strcasecmp(s, "true") == 0)
        *out = true;
    else if (s && strcasecmp(s, "false") == 0)
        *out = false;
    else
        return -EINVAL;
    return 0;
}

static bool in_choices(const char *choices, const char *s, size_t len)
{
    const char *c = choices;
    while (*c) {
        size_t n = strcspn(c, "|");
        if (n == len && strncmp(c, s, len) == 0)
            return true;
        c += n;
        if (*c == '|')
            c++;
    }
    return false;
}

static int check_enumlist(const struct rb_cfg_spec *s, const char *v, char *why, size_t wl)
{
    const char *seen[8];
    size_t seen_len[8], n_seen = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && p[t - 1] == ' ')
            t--;
        if (!t || !in_choices(s->choices, p, t)) {
            snprintf(why, wl, "expected a comma list of %s", s->choices);
            return -EINVAL;
        }
        for (size_t i = 0; i < n_seen; i++) {
            if (seen_len[i] == t && strncmp(seen[i], p, t) == 0) {
                snprintf(why, wl, "duplicate entry '%.*s'", (int)t, p);
                return -EINVAL;
            }
        }
        if (n_seen < RB_ARRAY_LEN(seen)) {
            seen[n_seen] = p;
            seen_len[n_seen++] = t;
        }
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static void range_why(const struct rb_cfg_spec *s, char *why, size_t wl)
{
    if (s->max == INT64_MAX || (s->max == INT32_MAX && s->min > INT32_MIN))
        snprintf(why, wl, "must be at least %lld", (long long)s->min);
    else
        snprintf(why, wl, "must be between %lld and %lld", (long long)s->min, (long long)s->max);
}

static int check_int(const struct rb_cfg_spec *s, const char *v, char *why, size_t wl)
{
    int64_t x;
    int rc = rb_parse_i64(v, s->min, s->max, &x);
    if (rc == -EINVAL) {
        snprintf(why, wl, "not an integer");
        return -EINVAL;
    }
    if (rc == -ERANGE) {
        range_why(s, why, wl);
        return -EINVAL;
    }
    if (s->type == RB_CT_ALIGNED && x % 4096) {
        snprintf(why, wl, "must be a multiple of 4096");
        return -EINVAL;
    }
    if (s->type == RB_CT_POW2 && (x & (x - 1))) {
        snprintf(why, wl, "must be a power of two");
        return -EINVAL;
    }
    return 0;
}

int rb_cfg_check(const struct rb_cfg_spec *s, const char *v, char *why, size_t wl)
{
    bool b;
    enum rb_loglevel ll;
    switch (s->type) {
    case RB_CT_INT:
    case RB_CT_ALIGNED:
    case RB_CT_POW2:
        return check_int(s, v, why, wl);
    case RB_CT_BOOL:
        if (rb_parse_bool(v, &b) == 0)
            return 0;
        snprintf(why, wl, "not a boolean (true or false)");
        return -EINVAL;
    case RB_CT_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(d)) {
            snprintf(why, wl, "not a number");
            return -EINVAL;
        }
        if (d < (double)s->min || d > (double)s->max) {
            range_why(s, why, wl);
            return -EINVAL;
        }
        return 0;
    }
    case RB_CT_NONEMPTY:
    case RB_CT_LISTENERS:
        if (*v)
            return 0;
        snprintf(why, wl, "must not be empty");
        return -EINVAL;
    case RB_CT_ENUM:
        if (in_choices(s->choices, v, strlen(v)))
            return 0;
        snprintf(why, wl, "expected one of %s", s->choices);
        return -EINVAL;
    case RB_CT_ENUMLIST:
        return check_enumlist(s, v, why, wl);
    case RB_CT_LOGLEVEL:
        if (rb_loglevel_parse(v, &ll) == 0)
            return 0;
        snprintf(why, wl, "expected one of error|warn|info|debug|trace");
        return -EINVAL;
    case RB_CT_STRING:
        return 0;
    }
    return 0;
}

void rb_config_apply_fields(const struct rb_config *cfg, struct rb_broker_config *b)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(broker_keys); i++) {
        const struct rb_cfg_spec *s = &broker_keys[i];
        const char *v = rb_config_get(cfg, s->key);
        if (s->off < 0 || !v)
            continue;
        char *f = (char *)b + s->off;
        bool bv = false;
        int64_t x = 0;
        int rc =
            s->type == RB_CT_BOOL ? rb_parse_bool(v, &bv) : rb_parse_i64(v, s->min, s->max, &x);
        RB_ASSERT(rc == 0); /* every stored value passed rb_cfg_check */
        if (s->type == RB_CT_BOOL)
            *(bool *)f = bv;
        else if (s->size == 2)
            *(int16_t *)f = (int16_t)x;
        else if (s->size == 4)
            *(int32_t *)f = (int32_t)x;
        else
            *(int64_t *)f = x;
    }
}
