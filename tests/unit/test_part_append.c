/*
 * tests/unit/test_part_append.c - part/append.c and part/flush.c: offsets are
 * assigned densely, an acks=all append is answered only once a flush made it
 * durable, acks=0 at once, idempotent retries get the original offsets and gaps
 * are refused, a failed sync answers KAFKA_STORAGE_ERROR and takes the partition
 * offline, and the receiving shard's checks refuse bad batches.
 */
#include "part_test_util.h"

TestSuite(part_append, .init = pt_setup, .fini = pt_teardown);

Test(part_append, acks_all_waits_for_the_flush_and_offsets_are_dense)
{
    struct rb_part_append a, b;
    struct pt_answer aa = {0}, ab = {0};
    pt_append(&a, &aa, pt_batch(3, -1, -1, 1), -1);
    cr_assert_eq(aa.calls, 0, "answered before it is durable");
    pt_append(&b, &ab, pt_batch(2, -1, -1, 2), -1);
    cr_assert_eq(ab.calls, 0);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(a.base_offset, 0);
    cr_assert_eq(b.base_offset, 3);
    cr_assert_eq(a.wait_end, 3);
    cr_assert_eq(b.wait_end, 5);
    struct rb_part_stats *st = &pt_ps->stats;
    cr_assert_eq(atomic_load(&st->flush_cycles), 1);
    cr_assert_eq(atomic_load(&st->flushes), 1);
    cr_assert_eq(atomic_load(&st->syncs), 1);
    cr_assert_gt(atomic_load(&st->bytes), 0);
}

Test(part_append, acks_zero_is_answered_at_once)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(1, -1, -1, 1), 0);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(a.base_offset, 0);
    pt_flush();
    cr_assert_eq(aa.calls, 1, "answered twice");
}

Test(part_append, unknown_partition_is_not_leader)
{
    struct rb_part_append a;
    struct pt_answer aa = {0};
    uint32_t len = pt_batch(1, -1, -1, 1);
    memset(&a, 0, sizeof(a));
    a.it.key = (struct rb_part_key){"other", 5, 0};
    a.it.done = pt_answered;
    a.it.done_arg = &aa;
    a.records = pt_buf;
    a.len = len;
    a.acks = -1;
    rb_part_append(pt_ps, &a);
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
}

Test(part_append, idempotent_retry_gets_the_original_offsets)
{
    struct rb_part_append a, b, c;
    struct pt_answer aa = {0}, ab = {0}, ac = {0};
    uint32_t len = pt_batch(2, 7, 0, 1);
    pt_append(&a, &aa, len, -1);
    pt_flush();
    cr_assert_eq(aa.error, 0);
    pt_append(&b, &ab, len, -1); /* the same batch again: a retry */
    pt_flush();
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(ab.error, 0);
    cr_assert_eq(b.base_offset, a.base_offset);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_log_end_offset(rb_part_get(pt_ps, &k)->log), 2, "appended twice");
    pt_append(&c, &ac, pt_batch(1, 7, 5, 2), -1); /* sequence 5 after 1: a gap */
    cr_assert_eq(ac.calls, 1);
    cr_assert_eq(ac.error, RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
}

Test(part_append, failed_sync_answers_storage_error_and_goes_offline)
{
    struct rb_part_append a, b;
    struct pt_answer aa = {0}, ab = {0};
    pt_append(&a, &aa, pt_batch(1, -1, -1, 1), -1);
    rb_disk_sim_fail_sync(pt_sim, 1, EIO);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, RB_KERR_KAFKA_STORAGE_ERROR);
    struct rb_part_key k = pt_key();
    struct rb_part *p = rb_part_get(pt_ps, &k);
    cr_assert_eq(p->state, RB_PART_OFFLINE);
    pt_append(&b, &ab, pt_batch(1, -1, -1, 2), -1);
    cr_assert_eq(ab.calls, 1);
    cr_assert_eq(ab.error, RB_KERR_KAFKA_STORAGE_ERROR);
}

Test(part_append, validate_refuses_bad_batches)
{
    struct rb_part_ts_rule ts = {0};
    bool rc;
    uint32_t len = pt_batch(2, -1, -1, 1);
    cr_assert_eq(rb_part_validate(pt_ps, pt_buf, (int32_t)len, 1 << 20, -1, &ts, true, &rc), 0);
    cr_assert_not(rc);
    cr_assert_eq(rb_part_validate(pt_ps, pt_buf, (int32_t)len, 64, -1, &ts, true, &rc),
                 RB_KERR_MESSAGE_TOO_LARGE);
    cr_assert_eq(rb_part_validate(pt_ps, pt_buf, 0, 1 << 20, -1, &ts, true, &rc),
                 RB_KERR_CORRUPT_MESSAGE);
    pt_buf[len - 1] ^= 0xff; /* the CRC no longer matches */
    cr_assert_neq(rb_part_validate(pt_ps, pt_buf, (int32_t)len, 1 << 20, -1, &ts, true, &rc), 0);
    /* a batch of another codec than the topic's is left to the owner's rebuild */
    len = pt_batch(2, -1, -1, 1);
    cr_assert_eq(rb_part_validate(pt_ps, pt_buf, (int32_t)len, 1 << 20, 3, &ts, true, &rc), 0);
    cr_assert(rc);
}

static int relaxed(void *arg, const char *topic, size_t len, struct rb_log_config *lc)
{
    (void)arg;
    cr_assert_eq(len, 1);
    cr_assert_eq(topic[0], 't');
    pt_log_config(lc, 1000); /* flush.messages=1000 */
    return 0;
}

Test(part_append, relaxed_flush_answers_on_write_and_keeps_hw_apart_from_durable)
{
    rb_part_reconfigure(pt_ps, relaxed, NULL);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, pt_batch(2, -1, -1, 1), -1);
    cr_assert_eq(aa.calls, 0);
    pt_flush();
    cr_assert_eq(aa.calls, 1, "a written append is acknowledged under flush.messages > 1");
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(atomic_load(&pt_ps->stats.syncs), 0, "synced before flush.messages");
    struct rb_part_key k = pt_key();
    struct rb_part *p = rb_part_get(pt_ps, &k);
    cr_assert_eq(rb_part_hw(p), 2);
    cr_assert_eq(rb_log_durable_end(p->log), 0);
    cr_assert_eq(rb_log_end_offset(p->log), 2);
}
