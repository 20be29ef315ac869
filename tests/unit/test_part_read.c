/*
 * tests/unit/test_part_read.c - part/read.c and part/offsets.c: a read set is
 * answered at once when it holds min_bytes, parks below it and is answered by the
 * flush that brings data, by a cancel or by its deadline; reads stay inside
 * [log start, high watermark]; ListOffsets and DeleteRecords answers.
 */
#include "part_test_util.h"

#include <unistd.h>

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

/* The whole of r's bytes (the file piece by pread, then memory) into out. */
static uint32_t data_bytes(const struct rb_part_read *r, uint8_t *out)
{
    const struct rb_part_data *d = &r->data;
    if (d->file_len)
        cr_assert_eq(pread(d->file_fd, out, d->file_len, (off_t)d->file_pos), (ssize_t)d->file_len);
    memcpy(out + d->file_len, d->mem, d->len - d->file_len);
    return d->len;
}

/* The shard's budget takes the tail cache back to its floor (budget / 8 here):
 * the bytes it held count in rb_part_mem, a read afterwards gets the same bytes,
 * now partly from the file, and with no floor the figure returns to zero. */
Test(part_read, tail_cache_yields_to_the_floor_and_reads_go_to_disk)
{
    static uint8_t before[1 << 20], after[1 << 20];
    pt_bc.shard_memory_budget_bytes = 512 << 10;
    cr_assert_eq(rb_part_mem_floor(pt_ps), 64 << 10);
    for (int i = 0; i < 40; i++)
        produce(100, (uint32_t)i + 1); /* ~11 KB each: ~27 chunks of 16 KiB */
    cr_assert_gt(rb_part_mem(pt_ps), 256 << 10, "cached %lld", (long long)rb_part_mem(pt_ps));
    struct reads rd;
    read_start(&rd, 0, 1, 1000);
    cr_assert_eq(rd.r.it.error, 0);
    cr_assert_eq(rd.r.data.file_len, 0, "all from memory before the yield");
    uint32_t n = data_bytes(&rd.r, before);
    cr_assert_gt(n, 400 << 10);
    rb_part_data_clear(&rd.r.data);

    int64_t held = rb_part_mem(pt_ps);
    cr_assert_eq(rb_part_mem_limit(pt_ps, 0), held - rb_part_mem(pt_ps));
    cr_assert_eq(rb_part_mem(pt_ps), 64 << 10, "kept %lld", (long long)rb_part_mem(pt_ps));
    read_start(&rd, 0, 1, 1000);
    cr_assert_eq(rd.r.it.error, 0);
    cr_assert_gt(rd.r.data.file_len, 0, "the yielded part from the file");
    cr_assert_eq(data_bytes(&rd.r, after), n);
    cr_assert_eq(memcmp(before, after, n), 0);
    rb_part_data_clear(&rd.r.data);

    /* still capped while more is written */
    produce(100, 99);
    cr_assert_leq(rb_part_mem(pt_ps), 64 << 10);
    /* no floor: nothing is kept */
    pt_bc.shard_memory_budget_bytes = 0;
    rb_part_mem_limit(pt_ps, 0);
    cr_assert_eq(rb_part_mem(pt_ps), 0);
    read_start(&rd, 0, 1, 1000);
    cr_assert_eq(data_bytes(&rd.r, after), rd.r.data.len);
    cr_assert_eq(memcmp(before, after, n), 0);
    rb_part_data_clear(&rd.r.data);
}
