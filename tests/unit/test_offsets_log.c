/*
 * tests/unit/test_offsets_log.c - coord/offsets_log.[ch]: Kafka's offset commit
 * key/value bytes, batches that pass the broker's own validation, the records
 * iterator (tombstones, truncated tail, corrupt and compressed batches), and
 * applying records to groups.
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

Test(offsets_log, apply_rejects_garbage_and_ignores_group_records)
{
    static const uint8_t gkey[] = {0, 2, 0, 1, 'g'};
    cr_assert_eq(rb_orec_apply(&mgr, gkey, sizeof(gkey), (const uint8_t *)"x", 1), 0);
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
