/*
 * tests/unit/test_part_vt_mem.c - the validator thread's memory in the shard's
 * budget (issue 13, memory): a codec context's gauge follows its scratch (grows
 * with a decompression, shrinks with a trim, moves when the gauge changes); a
 * rebuild done on the thread charges its batch to the submitting shard
 * (rb_part_vt_mem) until rb_part_vjob_release, the thread's scratch only while it
 * runs the job; over the budget a submission waits while a job is out, and one
 * job always goes.
 */
#include "part_test_util.h"
#include "vthread_test_util.h"

TestSuite(part_vt_mem, .init = pt_setup, .fini = pt_teardown);

/* A zstd batch of 4 MB of records into vt_batch; returns its size. */
static uint32_t build_big(void)
{
    return vt_build(RB_CODEC_ZSTD, VT_REC, VT_VAL, 3, rb_wall_ms());
}

Test(part_vt_mem, codec_gauge_follows_the_scratch)
{
    uint32_t len = build_big();
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    cr_assert_not_null(c);
    _Atomic int64_t g1 = 0, g2 = 0;
    rb_codec_set_gauge(c, &g1);
    const uint8_t *out;
    size_t out_len;
    cr_assert_eq(rb_decompress(c, RB_CODEC_ZSTD, vt_batch + RB_BATCH_HEADER_BYTES,
                               len - RB_BATCH_HEADER_BYTES, RB_DECOMP_CAP_MIN, &out, &out_len),
                 0);
    cr_assert_geq(out_len, (size_t)VT_REC * VT_VAL);
    cr_assert_eq(atomic_load(&g1), (int64_t)rb_codec_scratch_bytes(c));
    cr_assert_geq(atomic_load(&g1), (int64_t)out_len);
    rb_codec_set_gauge(c, &g2); /* moves */
    cr_assert_eq(atomic_load(&g1), 0);
    cr_assert_eq(atomic_load(&g2), (int64_t)rb_codec_scratch_bytes(c));
    rb_codec_trim(c);
    cr_assert_eq(atomic_load(&g2), (int64_t)rb_codec_scratch_bytes(c));
    cr_assert_leq(atomic_load(&g2), 2 * (int64_t)RB_CODEC_KEEP_BYTES);
    rb_codec_ctx_free(c);
    cr_assert_eq(atomic_load(&g2), 0, "freed: nothing left charged");
}

static void ring_until(int want)
{
    vt_ring_until(&pt_shard.ring, &vt_back, want);
}

static struct rb_part_vjob rebuild_job(uint32_t len)
{
    return (struct rb_part_vjob){.batch = vt_batch,
                                 .len = len,
                                 .cap = RB_DECOMP_CAP_MIN,
                                 .rebuild = true,
                                 .target = RB_CODEC_LZ4,
                                 .state = RB_VJOB_WANTED,
                                 .done = vt_count_back};
}

/* The rebuilt batches are charged to the shard until released; the thread's
 * scratch is not charged once its job is done; over the budget the second job
 * waits while the first is out. */
Test(part_vt_mem, rebuilt_batches_charged_until_released)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    rb_part_set_vthread(pt_ps, vt, 0);
    uint32_t len = build_big();
    vt_back = 0;
    cr_assert_eq(rb_part_vt_mem(pt_ps), 0);
    struct rb_part_vjob j[2] = {rebuild_job(len), rebuild_job(len)};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[i]), 0);
    ring_until(2);
    int64_t held = 0;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(j[i].status, RB_BATCH_OK);
        cr_assert_not_null(j[i].out);
        held += j[i].out_len;
    }
    cr_assert_eq(rb_part_vt_mem(pt_ps), held, "the rebuilt batches: %lld, charged %lld",
                 (long long)held, (long long)rb_part_vt_mem(pt_ps));
    rb_part_vjob_release(&j[0]);
    cr_assert_eq(rb_part_vt_mem(pt_ps), held - j[1].out_len);
    rb_part_vjob_release(&j[1]);
    cr_assert_eq(rb_part_vt_mem(pt_ps), 0);
    { /* over the budget: one job goes, the next waits until it is back */
        rb_part_set_mem_over(pt_ps, true);
        j[0] = rebuild_job(len);
        j[1] = rebuild_job(len);
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[0]), 0);
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[1]), -EAGAIN);
        cr_assert_eq(j[1].state, RB_VJOB_WANTED);
        ring_until(3);
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[1]), 0);
        ring_until(4);
        rb_part_set_mem_over(pt_ps, false);
        rb_part_vjob_release(&j[0]);
        rb_part_vjob_release(&j[1]);
        cr_assert_eq(rb_part_vt_mem(pt_ps), 0);
    }
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}

Test(part_vt_mem, appends_on_the_shard_charge_nothing)
{
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(5, -1, -1, 1), -1);
    pt_flush();
    cr_assert_eq(ans.calls, 1);
    cr_assert_eq(ans.error, 0);
    cr_assert_eq(rb_part_vt_mem(pt_ps), 0);
}
