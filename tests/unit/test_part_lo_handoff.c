/*
 * tests/unit/test_part_lo_handoff.c - ListOffsets by timestamp (and
 * MAX_TIMESTAMP) over a stored batch that decompresses to more than the shard
 * does inline (issue 13 row 7): rb_part_list_offsets leaves the scan to the
 * validator thread (o->job WANTED), the job comes back through the shard's ring
 * and rb_part_list_offsets_back gives the answer the shard gives without a thread,
 * for every codec; the answer is kept (the same question again is not handed
 * off); a small batch stays on the shard; a partition that stepped down while the
 * scan was out answers NOT_LEADER_OR_FOLLOWER; the shard is not idle meanwhile.
 */
#include "part_test_util.h"
#include "vthread_test_util.h"

TestSuite(part_lo_handoff, .init = pt_setup, .fini = pt_teardown);

#define NREC VT_REC
#define VAL  VT_VAL
static int64_t g_base_ts;

/* Append a batch of nrec records of val bytes each (record i at g_base_ts + i),
 * compressed with codec, to "t"-0 and make it durable. */
static void store(int codec, int nrec, uint32_t val)
{
    g_base_ts = rb_wall_ms();
    uint32_t total = vt_build(codec, nrec, val, 0, g_base_ts);
    struct rb_part_append a;
    struct pt_answer ans = {0};
    vt_append_init(&a, &ans, total);
    rb_part_append(pt_ps, &a);
    for (int i = 0; i < 100 && !ans.calls; i++) /* a big batch: blocked, then retried */
        pt_flush();
    cr_assert_eq(ans.calls, 1);
    cr_assert_eq(ans.error, 0);
}

static void ring_until(int want)
{
    vt_ring_until(&pt_shard.ring, &vt_back, want);
}

/* The question asked on the shard with the validator thread vt (NULL: none);
 * *handed whether the scan went to the thread. */
static struct rb_part_offsets ask(struct rb_vthread *vt, int64_t ts, bool leader_only, bool *handed)
{
    rb_part_set_vthread(pt_ps, vt, 0);
    struct rb_part_offsets o = {.it.key = pt_key(), .timestamp = ts, .leader_only = leader_only};
    rb_part_list_offsets(pt_ps, &o);
    *handed = o.job.state == RB_VJOB_WANTED;
    if (*handed) {
        cr_assert_not_null(vt);
        o.job.done = vt_count_back;
        int want = vt_back + 1;
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &o.job), 0);
        cr_assert_not(rb_part_idle(pt_ps), "a scan out: a stopping shard must wait");
        ring_until(want);
        rb_part_list_offsets_back(pt_ps, &o);
        cr_assert_eq(o.job.state, RB_VJOB_IDLE);
        cr_assert_null(o.tl);
    }
    cr_assert(rb_part_idle(pt_ps));
    rb_part_set_vthread(pt_ps, NULL, 0);
    return o;
}

static void same_answers(int codec)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    store(codec, NREC, VAL); /* 4 MB of records: over the 1 MiB inline cap */
    const int64_t qs[] = {g_base_ts + 57, g_base_ts, -3, g_base_ts + NREC};
    for (size_t i = 0; i < RB_ARRAY_LEN(qs); i++) {
        bool handed;
        /* without a thread: on the shard, in one go (the answer of today) */
        struct rb_part_offsets want = ask(NULL, qs[i], false, &handed);
        cr_assert_not(handed);
        /* a later question first, so that the memo does not answer the next */
        (void)ask(NULL, g_base_ts + 3, false, &handed);
        struct rb_part_offsets got = ask(vt, qs[i], false, &handed);
        cr_assert(handed || qs[i] == g_base_ts + NREC, "codec %d q %zu: not handed off", codec, i);
        cr_assert_eq(got.it.error, want.it.error);
        cr_assert(got.offset == want.offset && got.found_timestamp == want.found_timestamp &&
                      got.found_epoch == want.found_epoch,
                  "codec %d q %zu: %lld/%lld/%d, want %lld/%lld/%d", codec, i,
                  (long long)got.offset, (long long)got.found_timestamp, got.found_epoch,
                  (long long)want.offset, (long long)want.found_timestamp, want.found_epoch);
        /* the answer was kept: asked again, nothing goes to the thread */
        got = ask(vt, qs[i], false, &handed);
        cr_assert_not(handed);
        cr_assert_eq(got.offset, want.offset);
    }
    struct rb_part_offsets o = ask(NULL, g_base_ts + 57, false, &(bool){0});
    cr_assert(o.offset == 57 && o.found_timestamp == g_base_ts + 57, "%lld/%lld",
              (long long)o.offset, (long long)o.found_timestamp);
    o = ask(NULL, -3, false, &(bool){0});
    cr_assert(o.offset == NREC - 1 && o.found_timestamp == g_base_ts + NREC - 1);
    cr_assert_geq(rb_vthread_jobs(vt), 3);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}

Test(part_lo_handoff, zstd)
{
    same_answers(RB_CODEC_ZSTD);
}

Test(part_lo_handoff, lz4)
{
    same_answers(RB_CODEC_LZ4);
}

Test(part_lo_handoff, gzip)
{
    same_answers(RB_CODEC_GZIP);
}

Test(part_lo_handoff, snappy)
{
    same_answers(RB_CODEC_SNAPPY);
}

Test(part_lo_handoff, small_batch_stays_on_the_shard)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    store(RB_CODEC_ZSTD, 10, 1000); /* 10 kB of records */
    bool handed;
    struct rb_part_offsets o = ask(vt, g_base_ts + 4, false, &handed);
    cr_assert_not(handed);
    cr_assert(o.it.error == 0 && o.offset == 4 && o.found_timestamp == g_base_ts + 4);
    /* and an uncompressed one */
    struct rb_part_append a;
    struct pt_answer ans = {0};
    int64_t ts0 = rb_wall_ms();
    pt_append(&a, &ans, pt_batch(5, -1, -1, 7), -1);
    pt_flush();
    cr_assert_eq(ans.error, 0);
    o = ask(vt, ts0 + 10000, false, &handed); /* past every record: the last batch */
    cr_assert_not(handed);
    cr_assert_eq(o.it.error, 0);
    cr_assert_eq(o.offset, -1);
    cr_assert_eq(rb_vthread_jobs(vt), 0);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}

Test(part_lo_handoff, stepped_down_while_out)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    store(RB_CODEC_ZSTD, NREC, VAL);
    rb_part_set_vthread(pt_ps, vt, 0);
    struct rb_part_offsets o = {
        .it.key = pt_key(), .timestamp = g_base_ts + 9, .leader_only = true};
    rb_part_list_offsets(pt_ps, &o);
    cr_assert_eq(o.job.state, RB_VJOB_WANTED);
    o.job.done = vt_count_back;
    vt_back = 0;
    cr_assert_eq(rb_part_vjob_submit(pt_ps, &o.job), 0);
    struct rb_part_key k = pt_key();
    cr_assert_eq(rb_part_set_role(pt_ps, &k, RB_PART_FOLLOWER, 5), 0);
    ring_until(1);
    rb_part_list_offsets_back(pt_ps, &o);
    cr_assert_eq(o.it.error, RB_KERR_NOT_LEADER_OR_FOLLOWER);
    cr_assert(o.offset == -1 && o.found_timestamp == -1);
    cr_assert(rb_part_idle(pt_ps));
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}
