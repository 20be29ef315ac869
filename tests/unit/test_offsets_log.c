/*
 * tests/unit/test_offsets_log.c - coord/offsets_log.[ch]: Kafka's offset commit
 * key/value bytes, batches that pass the broker's own validation, the records
 * iterator (tombstones, truncated tail, corrupt and compressed batches),
 * applying records to groups, and group metadata records (Kafka's
 * GroupMetadataValue bytes, versions 0-4 read back, loading and tombstones).
 */
#include "coord/offsets_log.h"
#include "storage/batch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rb_timers timers;
static int64_t now = 1;
static struct rb_group_mgr mgr;

static void setup(void)
{
    rb_timers_init(&timers);
    rb_group_mgr_init(&mgr, &timers, &now, 0, 50);
}

static void teardown(void)
{
    rb_group_mgr_free(&mgr, 15);
    rb_timers_free(&timers);
}

TestSuite(offsets_log, .init = setup, .fini = teardown);

Test(offsets_log, key_and_value_bytes_match_kafka)
{
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_offkey_write(&w, "g", "t", 3);
    static const uint8_t key[] = {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3};
    cr_assert_eq(w.len, sizeof(key));
    cr_assert(memcmp(w.buf, key, sizeof(key)) == 0);
    w.len = 0;
    rb_offval_write(&w, 0x0102030405060708LL, 7, "m", 9);
    static const uint8_t val[] = {0, 3, 1, 2,   3, 4, 5, 6, 7, 8, 0, 0, 0,
                                  7, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 0, 9};
    cr_assert_eq(w.len, sizeof(val));
    cr_assert(memcmp(w.buf, val, sizeof(val)) == 0);
    rb_writer_free(&w);
}

struct seen {
    int n, tombs;
    char keys[16][64];
};

static void count(void *arg, const uint8_t *k, int32_t kl, const uint8_t *v, int32_t vl)
{
    struct seen *s = arg;
    snprintf(s->keys[s->n % 16], 64, "%.*s", kl - 2, (const char *)k + 2);
    s->n++;
    s->tombs += v == NULL;
}

static void build(struct rb_writer *w, const char *group, int n, bool tomb_last)
{
    struct rb_writer kv;
    rb_writer_init(&kv, 256);
    size_t ko[16], vo[16], ke[16], ve[16];
    for (int i = 0; i < n; i++) {
        ko[i] = kv.len;
        rb_offkey_write(&kv, group, "topic", i);
        ke[i] = kv.len;
        rb_offval_write(&kv, 100 + i, -1, "", 5);
        ve[i] = kv.len;
    }
    struct rb_orec recs[16];
    for (int i = 0; i < n; i++) {
        vo[i] = ke[i];
        recs[i].key = kv.buf + ko[i];
        recs[i].key_len = (int32_t)(ke[i] - ko[i]);
        bool tomb = tomb_last && i == n - 1;
        recs[i].value = tomb ? NULL : kv.buf + vo[i];
        recs[i].value_len = (int32_t)(ve[i] - vo[i]);
    }
    rb_orec_batch_build(w, recs, n, 12345);
    rb_writer_free(&kv);
}

Test(offsets_log, batch_validates_and_iterates)
{
    struct rb_writer w;
    rb_writer_init(&w, 256);
    build(&w, "grp", 3, true);
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(w.buf, w.len, &bi), RB_BATCH_OK);
    cr_assert_eq(bi.record_count, 3);
    cr_assert_eq(bi.last_offset_delta, 2);
    cr_assert_eq(rb_batch_total_bytes(&bi), w.len);
    struct seen s = {0};
    cr_assert_eq(rb_orec_iterate(w.buf, w.len, count, &s), (int64_t)w.len);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.tombs, 1);
    /* a truncated trailing batch is ignored, not an error */
    size_t one = w.len;
    build(&w, "grp", 2, false);
    memset(&s, 0, sizeof(s));
    cr_assert_eq(rb_orec_iterate(w.buf, w.len - 5, count, &s), (int64_t)one);
    cr_assert_eq(s.n, 3);
    /* a record length pointing past the batch is corrupt */
    w.buf[RB_BATCH_HEADER_BYTES] = 0x7e;
    cr_assert_eq(rb_orec_iterate(w.buf, one, count, &s), -EBADMSG);
    rb_writer_free(&w);
}

Test(offsets_log, compressed_batches_are_skipped)
{
    struct rb_writer w;
    rb_writer_init(&w, 256);
    build(&w, "grp", 2, false);
    w.buf[RB_BATCH_OFF_ATTRIBUTES + 1] |= 1; /* gzip */
    struct seen s = {0};
    cr_assert_eq(rb_orec_iterate(w.buf, w.len, count, &s), (int64_t)w.len);
    cr_assert_eq(s.n, 0);
    rb_writer_free(&w);
}

static void apply(void *arg, const uint8_t *k, int32_t kl, const uint8_t *v, int32_t vl)
{
    cr_assert_eq(rb_orec_apply(arg, k, kl, v, vl), 0);
}

Test(offsets_log, apply_commits_and_tombstones)
{
    struct rb_writer w;
    rb_writer_init(&w, 256);
    build(&w, "grp", 3, false);
    build(&w, "grp", 2, true); /* overwrites p0, deletes p1 */
    cr_assert_gt(rb_orec_iterate(w.buf, w.len, apply, &mgr), 0);
    struct rb_group *g = rb_group_find(&mgr, "grp");
    cr_assert_not_null(g);
    cr_assert_eq(g->n_offsets, 2);
    cr_assert_eq(rb_group_offset_get(g, "topic", 0)->offset, 100);
    cr_assert_null(rb_group_offset_get(g, "topic", 1));
    cr_assert_eq(rb_group_offset_get(g, "topic", 2)->offset, 102);
    cr_assert_eq(rb_group_offset_get(g, "topic", 2)->leader_epoch, -1);
    cr_assert_eq(rb_group_offset_get(g, "topic", 2)->commit_ts, 5);
    rb_writer_free(&w);
}

Test(offsets_log, apply_rejects_garbage)
{
    static const uint8_t gkey[] = {0, 2, 0, 1, 'g'};
    cr_assert_eq(rb_orec_apply(&mgr, gkey, sizeof(gkey), (const uint8_t *)"x", 1), -EBADMSG);
    cr_assert_null(rb_group_find(&mgr, "g"));
    static const uint8_t bad[] = {0, 1, 0, 9, 'g'};
    cr_assert_eq(rb_orec_apply(&mgr, bad, sizeof(bad), NULL, -1), -EBADMSG);
    static const uint8_t key[] = {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 3};
    static const uint8_t shortval[] = {0, 3, 1};
    cr_assert_eq(rb_orec_apply(&mgr, key, sizeof(key), shortval, sizeof(shortval)), -EBADMSG);
    static const uint8_t v9[] = {0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(rb_orec_apply(&mgr, key, sizeof(key), v9, sizeof(v9)), -EBADMSG);
    /* value version 1 (with expireTimestamp) is read */
    static const uint8_t v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 7, 0, 0, 0, 0,  0, 0, 0, 0};
    cr_assert_eq(rb_orec_apply(&mgr, key, sizeof(key), v1, sizeof(v1)), 0);
    cr_assert_eq(rb_group_offset_get(rb_group_find(&mgr, "g"), "t", 3)->offset, 42);
}

/* ---- group metadata ---- */

static const uint8_t sub[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};

/* Group "gm" restored from a record: generation 4, two members, Stable. */
static void load_two(void)
{
    struct rb_gmeta_member ms[2] = {
        {.id = "m1",
         .client_id = "c1",
         .client_host = "/h1",
         .rebalance_timeout_ms = 300,
         .session_timeout_ms = 10000,
         .subscription = sub,
         .subscription_len = sizeof(sub),
         .assignment = (const uint8_t *)"A1",
         .assignment_len = 2},
        {.id = "m2",
         .instance_id = "i2",
         .client_id = "c2",
         .client_host = "/h2",
         .rebalance_timeout_ms = 400,
         .session_timeout_ms = 11000,
         .subscription = sub,
         .subscription_len = sizeof(sub),
         .assignment = (const uint8_t *)"A22",
         .assignment_len = 3},
    };
    struct rb_gmeta meta = {.protocol_type = "consumer",
                            .generation = 4,
                            .protocol = "range",
                            .leader = "m1",
                            .state_ts = 1234,
                            .n_members = 2,
                            .members = ms};
    rb_group_load_meta(&mgr, "gm", &meta);
}

Test(offsets_log, group_metadata_bytes_match_kafka)
{
    struct rb_writer w;
    rb_writer_init(&w, 64);
    rb_gmetakey_write(&w, "g");
    static const uint8_t key[] = {0, 2, 0, 1, 'g'};
    cr_assert_eq(w.len, sizeof(key));
    cr_assert(memcmp(w.buf, key, sizeof(key)) == 0);
    /* an Empty group: version 3, protocolType, generation, null protocol and
     * leader, currentStateTimestamp, no members */
    struct rb_gmeta meta = {.protocol_type = "consumer", .generation = 2, .state_ts = 0x0102};
    rb_group_load_meta(&mgr, "g", &meta);
    w.len = 0;
    rb_gmeta_write(&w, rb_group_find(&mgr, "g"));
    static const uint8_t val[] = {0,   3, 0, 8, 'c', 'o',  'n',  's',  'u',  'm', 'e',
                                  'r', 0, 0, 0, 2,   0xff, 0xff, 0xff, 0xff, 0,   0,
                                  0,   0, 0, 0, 1,   2,    0,    0,    0,    0};
    cr_assert_eq(w.len, sizeof(val), "len %zu", w.len);
    cr_assert(memcmp(w.buf, val, sizeof(val)) == 0);
    rb_writer_free(&w);
}

Test(offsets_log, group_metadata_round_trip)
{
    load_two();
    struct rb_group *g = rb_group_find(&mgr, "gm");
    cr_assert_not_null(g);
    struct rb_writer w;
    rb_writer_init(&w, 256);
    rb_gmeta_write(&w, g);
    struct rb_gmeta d;
    char *pool;
    cr_assert_eq(rb_gmeta_decode(w.buf, (int32_t)w.len, &d, &pool), 0);
    cr_assert_str_eq(d.protocol_type, "consumer");
    cr_assert_eq(d.generation, 4);
    cr_assert_str_eq(d.protocol, "range");
    cr_assert_str_eq(d.leader, "m1");
    cr_assert_eq(d.state_ts, 1234);
    cr_assert_eq(d.n_members, 2);
    struct rb_gmeta_member *m1 = &d.members[0], *m2 = &d.members[1];
    if (strcmp(m1->id, "m1")) {
        m1 = &d.members[1];
        m2 = &d.members[0];
    }
    cr_assert_str_eq(m1->id, "m1");
    cr_assert_null(m1->instance_id);
    cr_assert_str_eq(m2->instance_id, "i2");
    cr_assert_str_eq(m2->client_id, "c2");
    cr_assert_str_eq(m2->client_host, "/h2");
    cr_assert_eq(m2->rebalance_timeout_ms, 400);
    cr_assert_eq(m2->session_timeout_ms, 11000);
    cr_assert_eq(m2->subscription_len, (int32_t)sizeof(sub));
    cr_assert(memcmp(m2->subscription, sub, sizeof(sub)) == 0);
    cr_assert_eq(m2->assignment_len, 3);
    cr_assert(memcmp(m2->assignment, "A22", 3) == 0);
    rb_gmeta_free(&d, pool);
    /* every truncation is rejected, never read past */
    for (size_t n = 0; n < w.len; n++) {
        cr_assert_eq(rb_gmeta_decode(w.buf, (int32_t)n, &d, &pool), -EBADMSG, "len %zu", n);
        rb_gmeta_free(&d, pool);
    }
    rb_writer_free(&w);
}

/* Records of a batch applied to mgr through the iterator, as the loader does. */
static void apply_batch(const struct rb_orec *recs, int n)
{
    struct rb_writer w;
    rb_writer_init(&w, 256);
    rb_orec_batch_build(&w, recs, n, 1);
    cr_assert_gt(rb_orec_iterate(w.buf, w.len, apply, &mgr), 0);
    rb_writer_free(&w);
}

Test(offsets_log, group_metadata_load_and_tombstone)
{
    load_two();
    struct rb_writer kv;
    rb_writer_init(&kv, 256);
    rb_gmetakey_write(&kv, "gm");
    size_t kl = kv.len;
    rb_gmeta_write(&kv, rb_group_find(&mgr, "gm"));
    size_t vl = kv.len - kl;
    rb_group_mgr_free(&mgr, 15); /* a restart: nothing in memory */
    rb_group_mgr_init(&mgr, &timers, &now, 0, 50);
    struct rb_orec rec = {kv.buf, (int32_t)kl, kv.buf + kl, (int32_t)vl};
    apply_batch(&rec, 1);
    cr_assert(!mgr.loading);
    struct rb_group *g = rb_group_find(&mgr, "gm");
    cr_assert_not_null(g);
    cr_assert_eq(g->state, RB_GS_STABLE);
    cr_assert_eq(g->generation, 4);
    cr_assert_eq(g->n_members, 2);
    cr_assert_eq(rb_group_heartbeat(&mgr, "gm", 4, "m2", "i2"), 0);
    struct rb_group *cg;
    cr_assert_eq(rb_group_commit_check(&mgr, "gm", 4, "m1", NULL, &cg), 0);
    /* tombstone: the group goes */
    rec.value = NULL;
    apply_batch(&rec, 1);
    cr_assert_null(rb_group_find(&mgr, "gm"));
    rb_writer_free(&kv);
}

Test(offsets_log, group_metadata_old_and_flexible_versions)
{
    /* version 0: no rebalanceTimeout, currentStateTimestamp or groupInstanceId */
    static const uint8_t v0[] = {0,   0, 0,    1,    'c', 0, 0,   0, 9, 0,   1,
                                 'r', 0, 2,    'm',  '1', 0, 0,   0, 1,      /* one member */
                                 0,   2, 'm',  '1',  0,   1, 'c', 0, 1, 'h', /* id, client, host */
                                 0,   0, 0x27, 0x10,                         /* session 10000 */
                                 0,   0, 0,    1,    'S', 0, 0,   0, 1, 'A'};
    struct rb_gmeta d;
    char *pool;
    cr_assert_eq(rb_gmeta_decode(v0, sizeof(v0), &d, &pool), 0);
    cr_assert_str_eq(d.protocol_type, "c");
    cr_assert_eq(d.generation, 9);
    cr_assert_eq(d.state_ts, -1);
    cr_assert_eq(d.n_members, 1);
    cr_assert_null(d.members[0].instance_id);
    cr_assert_eq(d.members[0].rebalance_timeout_ms, -1);
    cr_assert_eq(d.members[0].session_timeout_ms, 10000);
    cr_assert_eq(d.members[0].assignment_len, 1);
    rb_gmeta_free(&d, pool);
    /* version 4: compact strings/bytes/arrays and tagged fields */
    static const uint8_t v4[] = {
        0, 4,   2,   'c', 0,   0,    0,    5,   2,   'r', 0, /* null leader */
        0, 0,   0,   0,   0,   0,    0,    7,                /* state time */
        2,                                                   /* one member */
        3, 'm', '1', 3,   'i', '1',  2,    'c', 2,   'h', 0,
        0, 1,   0,   0,   0,   0x27, 0x10, 2,   'S', 1,   0, /* sub "S", empty assign */
        0,                                                   /* member tags */
        0};                                                  /* value tags */
    cr_assert_eq(rb_gmeta_decode(v4, sizeof(v4), &d, &pool), 0);
    cr_assert_eq(d.generation, 5);
    cr_assert_null(d.leader);
    cr_assert_eq(d.state_ts, 7);
    cr_assert_eq(d.n_members, 1);
    cr_assert_str_eq(d.members[0].id, "m1");
    cr_assert_str_eq(d.members[0].instance_id, "i1");
    cr_assert_eq(d.members[0].rebalance_timeout_ms, 256);
    cr_assert_eq(d.members[0].subscription_len, 1);
    cr_assert_eq(d.members[0].assignment_len, 0);
    rb_gmeta_free(&d, pool);
    static const uint8_t v5[] = {0, 5, 0, 0};
    cr_assert_eq(rb_gmeta_decode(v5, sizeof(v5), &d, &pool), -EBADMSG);
    rb_gmeta_free(&d, pool);
}
