/*
 * tests/unit/test_config_dynamic.c - dynamic broker configs (core/config_dynamic.c):
 * which keys may change at runtime and the check of one change, and the overlay of
 * dynamic values on a loaded configuration (rb_config_overlay): precedence, sources,
 * topic defaults following the overlay, an untouched base, reference counting.
 */
#include "config_test_fixture.h"

#include <errno.h>

TestSuite(config, .init = quiet_logs, .fini = cleanup_props);

Test(config, dynamic_keys_and_checks)
{
    char err[256];
    cr_assert(rb_config_key_dynamic("log.retention.ms"));
    cr_assert(rb_config_key_dynamic("message.max.bytes"));
    cr_assert(!rb_config_key_dynamic("log.retention.hours")); /* as Kafka: only the ms synonym */
    cr_assert(!rb_config_key_dynamic("num.partitions"));
    cr_assert_eq(rb_config_dynamic_check("log.segment.bytes", "20000", err, sizeof(err)), 0);
    cr_assert_eq(rb_config_dynamic_check("num.partitions", "3", err, sizeof(err)), -EPERM);
    cr_assert_str_eq(err, "Cannot update these configs dynamically: [num.partitions]");
    cr_assert_eq(rb_config_dynamic_check("log.segment.bytes", "13", err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "log.segment.bytes"), "%s", err);
    cr_assert_eq(rb_config_dynamic_check("log.retention.ms", NULL, err, sizeof(err)), -EINVAL);
    cr_assert_eq(rb_config_dynamic_check("no.such.key", "x", err, sizeof(err)), 0);
    cr_assert(rb_config_key_list("log.cleanup.policy"));
    cr_assert(!rb_config_key_list("log.retention.ms"));
}

Test(config, overlay_precedence_and_sources)
{
    quiet_logs();
    struct rb_config *base =
        load_ok("log.retention.hours=2\nmessage.max.bytes=5000\n", NULL, 0, NULL);
    const char *k[] = {"log.retention.ms", "message.max.bytes", "message.max.bytes",
                       "log.segment.bytes"};
    const char *v[] = {"1000", "7000", "9000", "20000"};
    const bool per[] = {false, true, false, false}; /* the per-broker value wins */
    struct rb_config *cfg = NULL;
    char err[256];
    cr_assert_eq(rb_config_overlay(&cfg, base, 4, k, v, per, err, sizeof(err)), 0, "%s", err);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->log_retention_ms, 1000); /* ms beats the static hours */
    cr_assert_eq(b->message_max_bytes, 7000);
    cr_assert_eq(b->log_segment_bytes, 20000);
    cr_assert_str_eq(rb_config_source(cfg, "log.retention.ms"), "dynamic-default");
    cr_assert_str_eq(rb_config_source(cfg, "message.max.bytes"), "dynamic-broker");
    cr_assert_str_eq(rb_config_source(cfg, "log.retention.hours"), "file");
    cr_assert_str_eq(rb_config_source(cfg, "num.partitions"), "default");
    /* the base is untouched */
    cr_assert_eq(rb_config_broker(base)->log_retention_ms, 2 * 3600000LL);
    cr_assert_eq(rb_config_broker(base)->message_max_bytes, 5000);
    /* topic defaults follow the overlay, with the source of their broker key */
    char buf[64];
    cr_assert_str_eq(rb_topic_config_default(cfg, "retention.ms", buf, sizeof(buf)), "1000");
    cr_assert_str_eq(rb_topic_config_default_source(cfg, "retention.ms"), "dynamic-default");
    cr_assert_str_eq(rb_topic_config_default_source(base, "retention.ms"), "file");
    cr_assert_str_eq(rb_topic_config_default(cfg, "max.message.bytes", buf, sizeof(buf)), "7000");
    cr_assert_str_eq(rb_topic_config_default_source(cfg, "max.message.bytes"), "dynamic-broker");
    cr_assert_null(rb_topic_config_default_source(cfg, "flush.ms")); /* unset: fixed default */
    /* a bad value fails the whole overlay */
    const char *bk[] = {"log.segment.bytes"}, *bv[] = {"1"};
    struct rb_config *bad = NULL;
    cr_assert_eq(rb_config_overlay(&bad, base, 1, bk, bv, per, err, sizeof(err)), -EINVAL);
    cr_assert_null(bad);
    /* reference counting: the overlay outlives one free of a shared reference */
    struct rb_config *ref = rb_config_ref(cfg);
    rb_config_free(cfg);
    cr_assert_eq(rb_config_broker(ref)->log_retention_ms, 1000);
    rb_config_free(ref);
    rb_config_free(base);
}
