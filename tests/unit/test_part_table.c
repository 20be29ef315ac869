/*
 * tests/unit/test_part_table.c - part/table.c: adoption and lookup, the
 * partition state machine (illegal transitions assert), drops that wait for a
 * flush in flight and answer parked appends, and blocking copies for internal
 * topics.
 */
#include "part_test_util.h"

#include <signal.h>

TestSuite(part_table, .init = pt_setup, .fini = pt_teardown);

Test(part_table, added_partition_is_online_and_found)
{
    struct rb_part_key k = pt_key();
    cr_assert(rb_part_exists(pt_ps, &k));
    cr_assert_eq(rb_part_get(pt_ps, &k)->state, RB_PART_ONLINE);
    struct rb_part_key other = {"t", 1, 1};
    cr_assert_not(rb_part_exists(pt_ps, &other));
    int64_t bytes = -1;
    cr_assert_eq(rb_part_size_bytes(pt_ps, &k, &bytes), 0);
    cr_assert_geq(bytes, 0);
    cr_assert_eq(rb_part_size_bytes(pt_ps, &other, &bytes), -ENOENT);
}

Test(part_table, illegal_transition_asserts, .signal = SIGABRT)
{
    struct rb_part_key k = pt_key();
    rb_part_set_state(rb_part_get(pt_ps, &k), RB_PART_LOADING + 1); /* ONLINE again */
}

Test(part_table, drop_waits_for_the_flush_and_answers_waiters)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    rb_part_turn(pt_ps); /* the flush is in flight */
    struct rb_log *log = NULL;
    cr_assert_not(rb_part_drop(pt_ps, "t", 1, 0, &log), "dropped under a flush");
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_get(pt_ps, &k)->state, RB_PART_DROPPING);
    cr_assert_not(rb_part_exists(pt_ps, &k), "a dropping partition takes new work");
    rb_disk_sim_run(pt_sim);
    cr_assert_eq(aa.calls, 1, "the flush completion still answers");
    cr_assert(rb_part_drop(pt_ps, "t", 1, 0, &log));
    cr_assert_not_null(log);
    cr_assert_null(rb_part_get(pt_ps, &k));
    rb_log_close(log);
}

static void count_batch(void *arg, const uint8_t *batch, uint32_t bytes, int64_t base_offset)
{
    (void)batch;
    (void)bytes;
    cr_assert_eq(base_offset, 0);
    (*(int *)arg)++;
}

Test(part_table, read_copy_and_batches_each)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(3, -1, -1, 1), -1);
    pt_flush();
    struct rb_part_key k = pt_key();
    int64_t start, end;
    cr_assert_eq(rb_part_durable_range(pt_ps, &k, &start, &end), 0);
    cr_assert_eq(start, 0);
    cr_assert_eq(end, 3);
    static uint8_t buf[65536];
    uint32_t len = 0;
    cr_assert_eq(rb_part_read_copy(pt_ps, &k, 0, end, sizeof(buf), buf, sizeof(buf), &len), 0);
    cr_assert_eq(len, a.len);
    int n = 0;
    cr_assert_eq(rb_part_batches_each(buf, len, count_batch, &n), 3, "the offset after it");
    cr_assert_eq(n, 1);
    cr_assert_eq(rb_part_batches_each(buf, 10, count_batch, &n), -1, "a torn batch is not walked");
}

Test(part_table, table_grows_past_its_first_buckets)
{
    struct rb_part_key k = pt_key();
    struct rb_log *log = rb_part_get(pt_ps, &k)->log;
    uint8_t id[16] = {2};
    /* the same log under other indexes: only the table is under test */
    for (int32_t i = 1; i <= 600; i++)
        cr_assert_eq(rb_part_add(pt_ps, "t", id, i, log), 0);
    cr_assert_eq(pt_ps->n, 601);
    cr_assert_gt(pt_ps->mask, 255);
    for (int32_t i = 0; i <= 600; i++) {
        struct rb_part_key ki = {"t", 1, i};
        cr_assert(rb_part_exists(pt_ps, &ki), "partition %d lost in the growth", i);
    }
    for (int32_t i = 1; i <= 600; i++) {
        struct rb_log *out = NULL;
        cr_assert(rb_part_drop(pt_ps, "t", 1, i, &out));
        cr_assert_eq(out, log);
    }
    cr_assert_eq(pt_ps->n, 1);
    cr_assert(rb_part_exists(pt_ps, &k));
}

/* log.tail.cache.bytes: a set value is used as is; auto (-1) is a quarter of
 * MemAvailable over the shards, at least 64 MiB, outside the default budget above
 * a quarter of it, and at most a quarter of a budget that was set. */
Test(part_table, tail_cache_size)
{
    int64_t out = -1, mib = 1 << 20, gib = 1LL << 30;
    cr_assert_eq(rb_part_tail_cache_size(0, 24 * gib, 2, 256 * mib, false, &out), 0);
    cr_assert_eq(out, 0);
    cr_assert_eq(rb_part_tail_cache_size(128 * mib, 24 * gib, 2, 32 * mib, true, &out), 128 * mib);
    cr_assert_eq(out, 0);
    /* auto, default budget: 24 GiB / 4 / 2 shards = 3 GiB, all but a quarter of
     * the budget (64 MiB) outside it */
    cr_assert_eq(rb_part_tail_cache_size(-1, 24 * gib, 2, 256 * mib, false, &out), 3 * gib);
    cr_assert_eq(out, 3 * gib - 64 * mib);
    /* a small machine: never below 64 MiB, all of it inside the budget */
    cr_assert_eq(rb_part_tail_cache_size(-1, 512 * mib, 4, 256 * mib, false, &out), 64 * mib);
    cr_assert_eq(out, 0);
    /* MemAvailable unknown: 64 MiB */
    cr_assert_eq(rb_part_tail_cache_size(-1, -1, 1, 256 * mib, false, &out), 64 * mib);
    /* a budget that was set bounds auto to a quarter of it, all inside */
    cr_assert_eq(rb_part_tail_cache_size(-1, 24 * gib, 2, 32 * mib, true, &out), 8 * mib);
    cr_assert_eq(out, 0);
    cr_assert_eq(rb_part_tail_cache_size(-1, 24 * gib, 2, 64 * gib, true, &out), 3 * gib);
    cr_assert_eq(out, 0);
}
