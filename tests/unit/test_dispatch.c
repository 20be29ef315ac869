/*
 * tests/unit/test_dispatch.c - the advertised API table (net/dispatch.c) against
 * the generated codecs and COMPAT.md's rules: every advertised version can be
 * decoded, librdkafka's feature checks find the versions they need, and APIs
 * Kafka 4 removed are not served.
 */
#include "net/handlers.h"

#include <criterion/criterion.h>

static const struct rb_api_support *find(int16_t key)
{
    for (int i = 0; i < rb_api_support_n; i++)
        if (rb_api_support[i].key == key)
            return &rb_api_support[i];
    return NULL;
}

Test(dispatch, every_advertised_version_has_a_codec_and_handler)
{
    for (int i = 0; i < rb_api_support_n; i++) {
        const struct rb_api_support *s = &rb_api_support[i];
        const struct rb_api_info *info = rb_api_info(s->key);
        cr_assert_not_null(info, "api %d advertised but not described", s->key);
        cr_assert_not_null(s->handle, "api %d has no handler", s->key);
        cr_assert(s->min_version <= s->max_version, "api %d range", s->key);
        cr_assert(s->min_accepted >= s->min_version && s->min_accepted <= s->max_version);
        cr_assert(s->max_version <= info->max_version, "api %d: advertises v%d, codec covers v%d",
                  s->key, s->max_version, info->max_version);
        cr_assert(s->min_accepted >= info->min_version, "api %d: serves v%d, codec from v%d",
                  s->key, s->min_accepted, info->min_version);
    }
}

Test(dispatch, keys_are_unique)
{
    for (int i = 0; i < rb_api_support_n; i++)
        for (int j = i + 1; j < rb_api_support_n; j++)
            cr_assert_neq(rb_api_support[i].key, rb_api_support[j].key);
}

/* librdkafka enables features only on exact versions (COMPAT.md). */
static bool covers(int16_t key, int16_t v)
{
    const struct rb_api_support *s = find(key);
    return s && s->min_version <= v && v <= s->max_version;
}

Test(dispatch, librdkafka_feature_versions)
{
    cr_assert(covers(0, 0), "Produce v0 must be advertised or librdkafka stops compressing");
    cr_assert(covers(0, 3) && covers(1, 4), "record batch v2 needs Produce 3 and Fetch 4");
    cr_assert(covers(0, 7) && covers(1, 10), "zstd needs Produce 7 and Fetch 10");
    cr_assert(covers(2, 1), "offsets by time need ListOffsets 1");
    cr_assert(covers(18, 0) && covers(18, 3), "ApiVersions 0 and 3");
}

Test(dispatch, removed_versions_are_not_served)
{
    const struct rb_api_support *p = find(0);
    cr_assert_not_null(p);
    cr_assert_eq(p->min_accepted, 3, "Produce 0-2 are answered UNSUPPORTED_VERSION");
    const struct rb_api_support *f = find(1);
    cr_assert(f && f->min_version >= 4, "Fetch 0-3 were removed in Kafka 4");
    const struct rb_api_support *lo = find(2);
    cr_assert(lo && lo->min_version >= 1, "ListOffsets 0 was removed in Kafka 4");
}
