/*
 * tests/unit/test_config_topic.c - per-topic configuration keys (core/config_topic.c):
 * validation of values with errors naming the key, defaults taken from the broker
 * key each topic key follows, and that every topic key has a valid default.
 */
#include "config_test_fixture.h"

#include <errno.h>

TestSuite(config, .init = quiet_logs, .fini = cleanup_props);

Test(config, topic_config_validation)
{
    char err[256];
    const char *ok[][2] = {
        {"cleanup.policy", "delete"},
        {"cleanup.policy", "compact"},
        {"cleanup.policy", "compact,delete"},
        {"cleanup.policy", "delete, compact"},
        {"compression.type", "zstd"},
        {"compression.type", "producer"},
        {"retention.ms", "-1"},
        {"retention.bytes", "1073741824"},
        {"segment.bytes", "14"},
        {"message.timestamp.type", "LogAppendTime"},
        {"min.cleanable.dirty.ratio", "0.25"},
        {"preallocate", "true"},
        {"min.insync.replicas", "2"},
        {"max.message.bytes", "2000000"},
        {"local.retention.ms", "-2"},
        {"remote.storage.enable", "false"},
        {"flush.messages", "1"},
        {"segment.ms", "60000"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_assert_eq(rb_topic_config_validate(ok[i][0], ok[i][1], err, sizeof(err)), 0, "%s=%s: %s",
                     ok[i][0], ok[i][1], err);
    const char *bad[][2] = {
        {"cleanup.policy", "remove"},
        {"cleanup.policy", ""},
        {"compression.type", "brotli"},
        {"retention.ms", "-2"},
        {"segment.bytes", "13"},
        {"segment.bytes", "2147483648"},
        {"message.timestamp.type", "createtime"},
        {"min.cleanable.dirty.ratio", "1.5"},
        {"min.cleanable.dirty.ratio", "x"},
        {"preallocate", "yes"},
        {"min.insync.replicas", "0"},
        {"flush.messages", "0"},
        {"segment.ms", "0"},
        {"max.message.bytes", "ten"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(rb_topic_config_validate(bad[i][0], bad[i][1], err, sizeof(err)), -ERANGE,
                     "%s=%s accepted", bad[i][0], bad[i][1]);
        cr_assert(strstr(err, bad[i][0]), "err: %s", err);
    }
    cr_assert_eq(rb_topic_config_validate("retention.hours", "1", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "retention.hours"), "err: %s", err);
}

Test(config, topic_config_defaults_from_broker)
{
    struct rb_config *cfg = load_ok("log.retention.minutes=10\nlog.segment.bytes=1048576\n"
                                    "message.max.bytes=2000000\nlog.flush.interval.messages=5\n"
                                    "log.cleanup.policy=compact\ncompression.type=lz4\n"
                                    "min.insync.replicas=2\nlog.roll.jitter.hours=1\n",
                                    NULL, 0, NULL);
    char buf[64];
    const struct {
        const char *k, *v;
    } want[] = {
        {"retention.ms", "600000"},
        {"segment.bytes", "1048576"},
        {"max.message.bytes", "2000000"},
        {"flush.messages", "5"},
        {"cleanup.policy", "compact"},
        {"compression.type", "lz4"},
        {"min.insync.replicas", "2"},
        {"segment.ms", "604800000"},
        {"segment.jitter.ms", "3600000"},
        {"flush.ms", "9223372036854775807"},
        {"retention.bytes", "-1"},
        {"message.timestamp.type", "CreateTime"},
        {"index.interval.bytes", "4096"},
        {"segment.index.bytes", "10485760"},
        {"unclean.leader.election.enable", "false"},
        {"remote.storage.enable", "false"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *v = rb_topic_config_default(cfg, want[i].k, buf, sizeof(buf));
        cr_assert_not_null(v, "%s", want[i].k);
        cr_assert_str_eq(v, want[i].v, "%s", want[i].k);
    }
    cr_assert_null(rb_topic_config_default(cfg, "no.such.key", buf, sizeof(buf)));
    rb_config_free(cfg);
}

Test(config, topic_config_keys_all_have_defaults)
{
    struct rb_config *cfg = load_ok(NULL, NULL, 0, NULL);
    const char *const *keys = rb_topic_config_keys();
    char buf[64], err[256];
    int n = 0;
    for (; keys[n]; n++) {
        const char *d = rb_topic_config_default(cfg, keys[n], buf, sizeof(buf));
        cr_assert_not_null(d, "%s", keys[n]);
        /* every broker-derived default is itself a valid topic value */
        cr_assert_eq(rb_topic_config_validate(keys[n], d, err, sizeof(err)), 0, "%s", err);
        if (n > 0)
            cr_assert_lt(strcmp(keys[n - 1], keys[n]), 0, "keys not sorted at %s", keys[n]);
    }
    cr_assert_geq(n, 30);
    rb_config_free(cfg);
}
