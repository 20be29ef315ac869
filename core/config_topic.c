/*
 * core/config_topic.c - per-topic configuration keys (CreateTopics configs,
 * AlterConfigs, DescribeConfigs): the keys Kafka accepts for a topic, their types
 * and ranges, and the broker key each one takes its default from.
 * Invariant: every key here has either a broker key or a fixed default, so
 * rb_topic_config_default never returns NULL for a known key.
 * Fault model: keys and values come from clients; a bad one gets -EINVAL/-ERANGE
 * and a reason, never an assertion.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/rb.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct topic_key {
    struct rb_cfg_spec spec;
    const char *broker_key; /* default comes from this broker key ... */
    const char *fixed;      /* ... or, when it is unset, from this */
};

#define I64MAX INT64_MAX
#define I32MAX INT32_MAX
#define LMAX   "9223372036854775807"
#define TK(k, t, mn, mx, ch, bk, fx)                                                               \
    {                                                                                              \
        {k, t, mn, mx, NULL, ch, -1, 0}, bk, fx                                                    \
    }
#define TINT(k, mn, mx, bk, fx) TK(k, RB_CT_INT, mn, mx, NULL, bk, fx)
#define TBOOL(k, bk, fx)        TK(k, RB_CT_BOOL, 0, 0, NULL, bk, fx)

/* Sorted by name, as DescribeConfigs lists them. */
static const struct topic_key topic_keys[] = {
    TK("cleanup.policy", RB_CT_ENUMLIST, 0, 0, "delete|compact", "log.cleanup.policy", "delete"),
    TK("compression.type", RB_CT_ENUM, 0, 0, "producer|uncompressed|gzip|snappy|lz4|zstd",
       "compression.type", "producer"),
    TINT("delete.retention.ms", 0, I64MAX, "log.cleaner.delete.retention.ms", "86400000"),
    TINT("file.delete.delay.ms", 0, I64MAX, "log.segment.delete.delay.ms", "60000"),
    TINT("flush.messages", 1, I64MAX, "log.flush.interval.messages", "1"),
    TINT("flush.ms", 0, I64MAX, NULL, NULL), /* special: log.flush.interval.ms */
    TK("follower.replication.throttled.replicas", RB_CT_STRING, 0, 0, NULL, NULL, ""),
    TINT("index.interval.bytes", 0, I32MAX, "log.index.interval.bytes", "4096"),
    TK("leader.replication.throttled.replicas", RB_CT_STRING, 0, 0, NULL, NULL, ""),
    TINT("local.retention.bytes", -2, I64MAX, "log.local.retention.bytes", "-2"),
    TINT("local.retention.ms", -2, I64MAX, "log.local.retention.ms", "-2"),
    TINT("max.compaction.lag.ms", 1, I64MAX, "log.cleaner.max.compaction.lag.ms", LMAX),
    TINT("max.message.bytes", 0, I32MAX, "message.max.bytes", "1048588"),
    TBOOL("message.downconversion.enable", "log.message.downconversion.enable", "true"),
    TINT("message.timestamp.after.max.ms", 0, I64MAX, "log.message.timestamp.after.max.ms",
         "3600000"),
    TINT("message.timestamp.before.max.ms", 0, I64MAX, "log.message.timestamp.before.max.ms", LMAX),
    TINT("message.timestamp.difference.max.ms", 0, I64MAX,
         "log.message.timestamp.difference.max.ms", LMAX),
    TK("message.timestamp.type", RB_CT_ENUM, 0, 0, "CreateTime|LogAppendTime",
       "log.message.timestamp.type", "CreateTime"),
    TK("min.cleanable.dirty.ratio", RB_CT_DOUBLE, 0, 1, NULL, "log.cleaner.min.cleanable.ratio",
       "0.5"),
    TINT("min.compaction.lag.ms", 0, I64MAX, "log.cleaner.min.compaction.lag.ms", "0"),
    TINT("min.insync.replicas", 1, I32MAX, "min.insync.replicas", "1"),
    TBOOL("preallocate", "log.preallocate", "false"),
    TBOOL("remote.log.copy.disable", NULL, "false"),
    TBOOL("remote.log.delete.on.disable", NULL, "false"),
    TBOOL("remote.storage.enable", NULL, "false"),
    TINT("retention.bytes", INT64_MIN, I64MAX, "log.retention.bytes", "-1"),
    TINT("retention.ms", -1, I64MAX, NULL, NULL), /* special: log.retention.* */
    TINT("segment.bytes", 14, I32MAX, "log.segment.bytes", "1073741824"),
    TINT("segment.index.bytes", 4, I32MAX, "log.index.size.max.bytes", "10485760"),
    TINT("segment.jitter.ms", 0, I64MAX, NULL, NULL), /* special: log.roll.jitter.* */
    TINT("segment.ms", 1, I64MAX, NULL, NULL),        /* special: log.roll.* */
    TBOOL("unclean.leader.election.enable", "unclean.leader.election.enable", "false"),
};

static const struct topic_key *topic_find(const char *key)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(topic_keys); i++)
        if (strcmp(topic_keys[i].spec.key, key) == 0)
            return &topic_keys[i];
    return NULL;
}

int rb_topic_config_validate(const char *key, const char *value, char *err, size_t errlen)
{
    const struct topic_key *t = key ? topic_find(key) : NULL;
    char why[160];
    if (!t) {
        snprintf(err, errlen, "unknown topic configuration key '%s'", key ? key : "(null)");
        return -EINVAL;
    }
    if (!value || rb_cfg_check(&t->spec, value, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "invalid value '%s' for %s: %s", value ? value : "(null)", key,
                 value ? why : "value required");
        return -ERANGE;
    }
    return 0;
}

static const char *fmt_i64(char *buf, size_t buflen, int64_t v)
{
    snprintf(buf, buflen, "%" PRId64, v);
    return buf;
}

/* Defaults that combine broker keys (the typed view already applied Kafka's
 * precedence for retention and roll). */
static const char *special_default(const struct rb_config *cfg, const char *key, char *buf,
                                   size_t buflen)
{
    const struct rb_broker_config *b = rb_config_broker(cfg);
    if (strcmp(key, "retention.ms") == 0)
        return fmt_i64(buf, buflen, b->log_retention_ms);
    if (strcmp(key, "segment.ms") == 0)
        return fmt_i64(buf, buflen, b->log_roll_ms);
    if (strcmp(key, "flush.ms") == 0) /* unset: no time-based flush (Kafka: Long.MAX) */
        return fmt_i64(buf, buflen,
                       b->log_flush_interval_ms >= 0 ? b->log_flush_interval_ms : INT64_MAX);
    /* segment.jitter.ms: log.roll.jitter.ms, else log.roll.jitter.hours */
    const char *ms = rb_config_get(cfg, "log.roll.jitter.ms");
    const char *h = rb_config_get(cfg, "log.roll.jitter.hours");
    int64_t x = 0;
    if (ms)
        rb_parse_i64(ms, 0, INT64_MAX, &x);
    else if (h && rb_parse_i64(h, 0, INT32_MAX, &x) == 0)
        x *= 3600000;
    return fmt_i64(buf, buflen, x);
}

const char *rb_topic_config_default(const struct rb_config *cfg, const char *key, char *buf,
                                    size_t buflen)
{
    const struct topic_key *t = topic_find(key);
    if (!t || !buflen)
        return NULL;
    if (!t->broker_key && !t->fixed)
        return special_default(cfg, key, buf, buflen);
    const char *v = t->broker_key ? rb_config_get(cfg, t->broker_key) : NULL;
    snprintf(buf, buflen, "%s", v ? v : t->fixed);
    return buf;
}

/* The broker key a default comes from (Kafka's synonyms, most preferred first). */
static const char *default_broker_key(const struct rb_config *cfg, const struct topic_key *t)
{
    static const char *const fam[][3] = {
        {"retention.ms", "log.retention.ms", "log.retention.minutes"},
        {"segment.ms", "log.roll.ms", NULL},
        {"segment.jitter.ms", "log.roll.jitter.ms", NULL},
        {"flush.ms", "log.flush.interval.ms", NULL},
    };
    static const char *const last[] = {"log.retention.hours", "log.roll.hours",
                                       "log.roll.jitter.hours", NULL};
    if (t->broker_key)
        return rb_config_get(cfg, t->broker_key) ? t->broker_key : NULL;
    for (size_t i = 0; i < RB_ARRAY_LEN(fam); i++) {
        if (strcmp(fam[i][0], t->spec.key) != 0)
            continue;
        for (int k = 1; k < 3; k++)
            if (fam[i][k] && rb_config_get(cfg, fam[i][k]))
                return fam[i][k];
        return last[i] && rb_config_get(cfg, last[i]) ? last[i] : NULL;
    }
    return NULL;
}

const char *rb_topic_config_broker_key(const struct rb_config *cfg, const char *key)
{
    const struct topic_key *t = topic_find(key);
    return t ? default_broker_key(cfg, t) : NULL;
}

const char *rb_topic_config_default_source(const struct rb_config *cfg, const char *key)
{
    const char *bk = rb_topic_config_broker_key(cfg, key);
    return bk ? rb_config_source(cfg, bk) : NULL;
}

static const char *topic_key_names[RB_ARRAY_LEN(topic_keys) + 1];
static pthread_once_t topic_key_names_once = PTHREAD_ONCE_INIT;

static void topic_key_names_fill(void)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(topic_keys); i++)
        topic_key_names[i] = topic_keys[i].spec.key;
}

const char *const *rb_topic_config_keys(void)
{
    pthread_once(&topic_key_names_once, topic_key_names_fill);
    return topic_key_names;
}
