/*
 * tests/unit/test_part_read.c - part/read.c and part/offsets.c: a read set is
 * answered at once when it holds min_bytes, parks below it and is answered by the
 * flush that brings data, by a cancel or by its deadline; reads stay inside
 * [log start, high watermark]; ListOffsets and DeleteRecords answers.
 */
#include "part_test_util.h"

TestSuite(part_read, .init = pt_setup, .fini = pt_teardown);

/* Append nrec records with acks=0 (answered at once) and flush them. */
static void produce(int nrec, uint32_t seed)
{
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(nrec, -1, -1, seed), 0);
    cr_assert_eq(ans.calls, 1);
    pt_flush();
}

struct reads {
    struct rb_part_read r;
    struct rb_part_read *items[1];
    struct rb_part_read_set set;
    int calls;
};

static void set_answered(struct rb_shard *s, struct rb_part_read_set *set, void *arg)
{
    (void)s;
    (void)set;
    ((struct reads *)arg)->calls++;
}

static void read_start(struct reads *rd, int64_t offset, int32_t min_bytes, int64_t wait_ms)
{
    memset(rd, 0, sizeof(*rd));
    rd->r.it.key = pt_key();
    rd->r.offset = offset;
    rd->r.max_bytes = 1 << 20;
    rd->items[0] = &rd->r;
    rd->set.items = rd->items;
    rd->set.n = 1;
    rd->set.min_bytes = min_bytes;
    rd->set.max_bytes = 1 << 20;
    rd->set.deadline_ms = pt_shard.now_ms + wait_ms;
    rd->set.done = set_answered;
    rd->set.done_arg = rd;
    rb_part_read_start(pt_ps, &rd->set);
}

Test(part_read, data_present_is_answered_at_once)
{
    produce(3, 1);
    struct reads rd;
    read_start(&rd, 0, 1, 1000);
    cr_assert_eq(rd.calls, 1);
    cr_assert_eq(rd.r.it.error, 0);
    cr_assert_eq(rd.r.high_watermark, 3);
    cr_assert_eq(rd.r.log_start_offset, 0);
    cr_assert_gt(rd.r.data.len, 0);
    cr_assert_eq(rd.set.bytes, rd.r.data.len);
    cr_assert_eq(rd.set.state, RB_PSET_DONE);
    rb_part_data_clear(&rd.r.data);
}

Test(part_read, beyond_the_high_watermark_is_out_of_range)
{
    produce(2, 1);
    struct reads rd;
    read_start(&rd, 5, 1, 1000);
    cr_assert_eq(rd.calls, 1);
    cr_assert_eq(rd.r.it.error, RB_KERR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(rd.r.data.len, 0);
}

Test(part_read, long_poll_is_answered_by_the_flush_that_brings_data)
{
    produce(1, 1);
    struct reads rd;
    read_start(&rd, 1, 1, 60000);
    cr_assert_eq(rd.calls, 0, "answered without data");
    cr_assert_eq(rd.set.state, RB_PSET_WAITING);
    cr_assert(rd.r.it.waiting);
    produce(2, 2);
    cr_assert_eq(rd.calls, 1);
    cr_assert_eq(rd.r.it.error, 0);
    cr_assert_eq(rd.r.high_watermark, 3);
    cr_assert_gt(rd.r.data.len, 0);
    cr_assert_not(rd.r.it.waiting);
    rb_part_data_clear(&rd.r.data);
}

Test(part_read, cancel_and_stop_answer_a_parked_set)
{
    struct reads rd, rd2;
    read_start(&rd, 0, 1, 60000);
    cr_assert_eq(rd.calls, 0);
    rb_part_read_cancel(pt_ps, &rd.set);
    cr_assert_eq(rd.calls, 1);
    cr_assert_eq(rd.r.it.error, 0);
    rb_part_read_cancel(pt_ps, &rd.set); /* not parked any more: nothing */
    cr_assert_eq(rd.calls, 1);
    read_start(&rd2, 0, 1, 60000);
    cr_assert_eq(rb_part_answer_waiters(pt_ps), 1);
    cr_assert_eq(rd2.calls, 1);
}

Test(part_read, deadline_answers_a_parked_set)
{
    struct reads rd;
    read_start(&rd, 0, 1, 10);
    cr_assert_eq(rd.calls, 0);
    rb_timers_run(&pt_shard.timers, pt_shard.now_ms + 20);
    cr_assert_eq(rd.calls, 1);
    cr_assert_eq(rd.r.it.error, 0);
    cr_assert_eq(rd.r.data.len, 0);
}

Test(part_read, list_offsets_and_trim)
{
    produce(4, 1);
    struct rb_part_offsets o = {.it.key = pt_key(), .timestamp = -1};
    rb_part_list_offsets(pt_ps, &o);
    cr_assert_eq(o.it.error, 0);
    cr_assert_eq(o.offset, 4);
    o.timestamp = -2;
    rb_part_list_offsets(pt_ps, &o);
    cr_assert_eq(o.offset, 0);
    struct rb_part_trim t = {.it.key = pt_key(), .offset = 2};
    rb_part_trim(pt_ps, &t);
    cr_assert_eq(t.it.error, 0);
    cr_assert_eq(t.low_watermark, 2);
    rb_part_list_offsets(pt_ps, &o);
    cr_assert_eq(o.offset, 2);
    t.offset = 9;
    rb_part_trim(pt_ps, &t);
    cr_assert_eq(t.it.error, RB_KERR_OFFSET_OUT_OF_RANGE);
    struct rb_part_offsets none = {.it.key = {"nope", 4, 0}, .timestamp = -1};
    rb_part_list_offsets(pt_ps, &none);
    cr_assert_eq(none.it.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
}
