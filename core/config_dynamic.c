/*
 * core/config_dynamic.c - which broker configs may change at runtime (Kafka's
 * dynamic broker configs, KIP-226), and the check of one such change.
 *
 * The dynamic set is Kafka's cluster-wide dynamic keys that this broker honours:
 * the broker defaults of topic configs (Kafka's DynamicLogConfig: the preferred
 * broker synonym of each topic key, so log.retention.ms is dynamic while
 * log.retention.hours and .minutes are not) and message.max.bytes. Every other
 * key the schema knows is read-only; Kafka refuses those with INVALID_REQUEST
 * "Cannot update these configs dynamically". A key the schema does not know is
 * accepted and stored, as Kafka does.
 * Fault model: keys and values come from clients; bad ones get an error code and a
 * reason, never an assertion.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/rb.h"

#include <stdio.h>
#include <string.h>

static const char *const dynamic_keys[] = {
    "compression.type",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleanup.policy",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.local.retention.bytes",
    "log.local.retention.ms",
    "log.message.downconversion.enable",
    "log.message.timestamp.after.max.ms",
    "log.message.timestamp.before.max.ms",
    "log.message.timestamp.difference.max.ms",
    "log.message.timestamp.type",
    "log.preallocate",
    "log.retention.bytes",
    "log.retention.ms",
    "log.roll.jitter.ms",
    "log.roll.ms",
    "log.segment.bytes",
    "log.segment.delete.delay.ms",
    "message.max.bytes",
    "min.insync.replicas",
    "unclean.leader.election.enable",
};

bool rb_config_key_dynamic(const char *key)
{
    for (size_t i = 0; i < RB_ARRAY_LEN(dynamic_keys); i++)
        if (strcmp(dynamic_keys[i], key) == 0)
            return true;
    return false;
}

int rb_config_dynamic_check(const char *key, const char *value, char *err, size_t errlen)
{
    const struct rb_cfg_spec *s = rb_cfg_spec_find(key);
    char why[160];
    if (s && !rb_config_key_dynamic(key)) {
        snprintf(err, errlen, "Cannot update these configs dynamically: [%.100s]", key);
        return -EPERM;
    }
    if (!value) {
        snprintf(err, errlen, "Null value not supported for : %.100s", key);
        return -EINVAL;
    }
    if (s && rb_cfg_check(s, value, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "Invalid value %.100s for configuration %.100s: %s", value, key, why);
        return -EINVAL;
    }
    return 0;
}

bool rb_config_key_list(const char *key)
{
    const struct rb_cfg_spec *s = rb_cfg_spec_find(key);
    return s && s->type == RB_CT_ENUMLIST;
}
