/*
 * tests/unit/test_part_vthread.c - the validator thread (part/vthread.c, issue 13
 * row 7): a big compressed batch deep-validated there gives the answer the shard
 * gives (valid, corrupt late in the stream, over the cap), validation in steps
 * that hands batches off gives the answer of one go, many jobs through the
 * bounded queue all come back, freeing the thread with jobs out (a broker
 * stopping) finishes them first, and on a shard's ring (rb_part_vjob_submit) a job
 * comes back through the eventfd read, the shard not idle while it is out.
 */
#include "part_test_util.h"
#include "vthread_test_util.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

TestSuite(part_vthread, .init = pt_setup, .fini = pt_teardown);

static const struct rb_part_ts_rule no_ts = {0};

/* What the shard itself finds for the batch (deep validation under cap). */
static enum rb_batch_status on_shard(uint32_t len, size_t cap, struct rb_ts_range *ts)
{
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(vt_batch, len, &bi), RB_BATCH_OK);
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    enum rb_batch_status st = rb_batch_deep_validate(c, vt_batch, &bi, cap, ts);
    rb_codec_ctx_free(c);
    return st;
}

/* Wait (bounded) for shard 0's next finished job. */
static struct rb_part_vjob *wait_job(struct rb_vthread *vt)
{
    for (int i = 0; i < 1000; i++) {
        struct rb_part_vjob *j = rb_vthread_reap(vt, 0);
        if (j)
            return j;
        struct pollfd p = {.fd = rb_vthread_efd(vt, 0), .events = POLLIN};
        if (poll(&p, 1, 20) == 1) {
            uint64_t v;
            cr_assert_eq(read(p.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
        }
    }
    cr_assert_fail("the validator thread did not answer in 20 s");
    return NULL;
}

static void same_as_shard(struct rb_vthread *vt, uint32_t len, size_t cap)
{
    struct rb_ts_range ts = {0, 0};
    enum rb_batch_status want = on_shard(len, cap, &ts);
    struct rb_part_vjob j = {.batch = vt_batch, .len = len, .cap = cap, .state = RB_VJOB_OUT};
    cr_assert_eq(rb_vthread_submit(vt, 0, &j), 0);
    cr_assert_eq(wait_job(vt), &j);
    cr_assert_eq(j.status, (int)want, "thread %d, shard %d", j.status, (int)want);
    if (want == RB_BATCH_OK) {
        cr_assert_eq(j.ts_min, ts.min);
        cr_assert_eq(j.ts_max, ts.max);
        cr_assert_geq(j.out_bytes, (uint64_t)(VT_REC * VT_VAL));
    }
}

Test(part_vthread, thread_answers_as_the_shard)
{
    struct rb_vthread *vt = rb_vthread_new(2);
    cr_assert_not_null(vt);
    static const int codecs[] = {RB_CODEC_ZSTD, RB_CODEC_LZ4, RB_CODEC_GZIP, RB_CODEC_SNAPPY};
    for (size_t i = 0; i < RB_ARRAY_LEN(codecs); i++) {
        uint32_t len = vt_build(codecs[i], VT_REC, VT_VAL, (uint32_t)i + 1, rb_wall_ms());
        same_as_shard(vt, len, RB_DECOMP_CAP_MIN); /* valid */
        same_as_shard(vt, len, (size_t)1 << 20);   /* over the cap: TOO_LARGE */
        cr_assert_eq(on_shard(len, (size_t)1 << 20, NULL), RB_BATCH_TOO_LARGE);
        /* corrupt late: the last compressed bytes garbled, the CRC kept right */
        for (uint32_t k = len - 16; k < len; k++)
            vt_batch[k] ^= 0xa5;
        tu_fix_crc(vt_batch);
        cr_assert_neq(on_shard(len, RB_DECOMP_CAP_MIN, NULL), RB_BATCH_OK);
        same_as_shard(vt, len, RB_DECOMP_CAP_MIN);
    }
    cr_assert_eq(rb_vthread_jobs(vt), 3 * RB_ARRAY_LEN(codecs));
    rb_vthread_free(vt);
}

Test(part_vthread, bounded_queue_and_free_with_jobs_out)
{
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    uint32_t len = vt_build(RB_CODEC_ZSTD, VT_REC, VT_VAL, 7, rb_wall_ms());
    enum { N = 40 };
    static struct rb_part_vjob jobs[N];
    int sent = 0, back = 0, full = 0;
    while (back < N) {
        while (sent < N) {
            jobs[sent] = (struct rb_part_vjob){
                .batch = vt_batch, .len = len, .cap = RB_DECOMP_CAP_MIN, .status = -1};
            int r = rb_vthread_submit(vt, 0, &jobs[sent]);
            if (r) {
                cr_assert_eq(r, -EAGAIN);
                full++;
                break;
            }
            sent++;
        }
        struct rb_part_vjob *j = wait_job(vt);
        cr_assert_eq(j, &jobs[back], "jobs come back in order");
        cr_assert_eq(j->status, RB_BATCH_OK);
        back++;
    }
    cr_assert_gt(full, 0, "40 jobs of 4 MB never filled a queue of 8");
    /* finished but not reaped jobs count: 8 out, all done, still full */
    for (int i = 0; i < 8; i++)
        cr_assert_eq(rb_vthread_submit(vt, 0, &jobs[i]), 0);
    for (int w = 0; w < 20000 && rb_vthread_jobs(vt) < N + 8; w++)
        usleep(1000);
    cr_assert_eq(rb_vthread_jobs(vt), N + 8);
    cr_assert_eq(rb_vthread_submit(vt, 0, &jobs[8]), -EAGAIN);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(wait_job(vt), &jobs[i]);
    /* a broker stopping: jobs still out are finished before the thread ends */
    for (int i = 0; i < 8; i++) {
        jobs[i].status = -1;
        cr_assert_eq(rb_vthread_submit(vt, 0, &jobs[i]), 0);
    }
    rb_vthread_free(vt);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(jobs[i].status, RB_BATCH_OK);
}

/* The shard's side of a step that hands its batch off, as net/h_produce.c does it
 * (the thread-level API instead of the ring's read: no ring here). */
static int16_t stepped(struct rb_vthread *vt, int32_t len, int *handoffs)
{
    struct rb_part_vstate vs = {0};
    *handoffs = 0;
    for (int steps = 0; steps < 100; steps++) {
        int64_t b = 1;
        int16_t err =
            rb_part_validate_step(pt_ps, vt_batch, len, 8 << 20, -1, &no_ts, true, &vs, &b);
        if (err || vs.off == (uint32_t)len)
            return err;
        cr_assert_eq(vs.job.state, RB_VJOB_WANTED);
        vs.job.state = RB_VJOB_OUT;
        cr_assert_eq(rb_vthread_submit(vt, 0, &vs.job), 0);
        cr_assert_eq(wait_job(vt), &vs.job);
        vs.job.state = RB_VJOB_DONE;
        (*handoffs)++;
    }
    cr_assert_fail("no progress");
    return -1;
}

Test(part_vthread, steps_with_handoff_give_the_answer_of_one_go)
{
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    rb_part_set_vthread(pt_ps, vt, 0);
    int h;
    bool rc;
    uint32_t len = vt_build(RB_CODEC_LZ4, VT_REC, VT_VAL, 3, rb_wall_ms());
    cr_assert_eq(rb_part_validate(pt_ps, vt_batch, (int32_t)len, 8 << 20, -1, &no_ts, true, &rc),
                 0);
    cr_assert_eq(stepped(vt, (int32_t)len, &h), 0);
    cr_assert_eq(h, 1, "4 MB decompressed: handed off once");
    /* under the inline cap: done on the shard */
    int64_t keep = rb_part_validate_inline_bytes;
    rb_part_validate_inline_bytes = 8 << 20;
    cr_assert_eq(stepped(vt, (int32_t)len, &h), 0);
    cr_assert_eq(h, 0);
    rb_part_validate_inline_bytes = keep;
    /* corrupt late: the error of one go, found on the thread */
    for (uint32_t k = len - 16; k < len; k++)
        vt_batch[k] ^= 0x3c;
    tu_fix_crc(vt_batch);
    int16_t whole = rb_part_validate(pt_ps, vt_batch, (int32_t)len, 8 << 20, -1, &no_ts, true, &rc);
    cr_assert_neq(whole, 0);
    cr_assert_eq(stepped(vt, (int32_t)len, &h), whole);
    cr_assert_eq(h, 1);
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
}

Test(part_vthread, uncompressed_batches_stay_on_the_shard_and_append)
{
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    rb_part_set_vthread(pt_ps, vt, 0);
    rb_part_validate_inline_bytes = 1; /* any compressed batch would go */
    uint32_t len = pt_batch(3, -1, -1, 1);
    struct rb_part_vstate vs = {0};
    int64_t budget = 1;
    cr_assert_eq(
        rb_part_validate_step(pt_ps, pt_buf, (int32_t)len, 1 << 20, -1, &no_ts, true, &vs, &budget),
        0);
    cr_assert_eq(vs.off, len);
    cr_assert_eq(vs.job.state, RB_VJOB_IDLE);
    rb_part_validate_inline_bytes = (int64_t)1 << 20;
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, len, -1);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert(rb_part_idle(pt_ps));
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
}

Test(part_vthread, shard_ring_gets_jobs_back_and_is_busy_meanwhile)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    rb_part_set_vthread(pt_ps, vt, 0);
    uint32_t len = vt_build(RB_CODEC_ZSTD, VT_REC, VT_VAL, 5, rb_wall_ms());
    struct rb_part_vjob j[3];
    vt_back = 0;
    for (int i = 0; i < 3; i++) {
        j[i] = (struct rb_part_vjob){.batch = vt_batch,
                                     .len = len,
                                     .cap = RB_DECOMP_CAP_MIN,
                                     .state = RB_VJOB_WANTED,
                                     .done = vt_count_back};
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[i]), 0);
        cr_assert_eq(j[i].state, RB_VJOB_OUT);
    }
    cr_assert_not(rb_part_idle(pt_ps), "jobs out: a stopping shard must wait");
    vt_ring_until(&pt_shard.ring, &vt_back, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(j[i].status, RB_BATCH_OK);
    cr_assert(rb_part_idle(pt_ps));
    /* again after the ring went quiet: the read is armed anew */
    j[0].state = RB_VJOB_WANTED;
    cr_assert_eq(rb_part_vjob_submit(pt_ps, &j[0]), 0);
    vt_ring_until(&pt_shard.ring, &vt_back, 4);
    cr_assert(rb_part_idle(pt_ps));
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}

/* Append vt_batch (len) to "t"-0 for compression.type lz4 on pt_ps, preparing the
 * rebuild first as net/fanout.c does; returns the bytes stored, *handoff whether
 * the rebuild went to the thread. */
static uint64_t append_rebuilt(uint32_t len, bool *handoff, int *calls, bool clobber)
{
    struct rb_part_append a;
    struct pt_answer ans = {0};
    vt_append_init(&a, &ans, len);
    a.recompress = true;
    a.codec = RB_CODEC_LZ4;
    uint64_t before = atomic_load(&pt_ps->stats.bytes);
    *handoff = rb_part_rebuild_prepare(pt_ps, &a);
    if (*handoff) {
        cr_assert_eq(a.pre.state, RB_VJOB_WANTED);
        a.pre.done = vt_count_back;
        cr_assert_eq(rb_part_vjob_submit(pt_ps, &a.pre), 0);
        vt_ring_until(&pt_shard.ring, &vt_back, ++*calls);
        cr_assert_not_null(a.pre.out);
    }
    if (clobber) { /* the shard's scratch used between (as a parked append sees it) */
        static uint8_t other[VT_SIZE];
        memcpy(other, vt_batch, len);
        struct rb_batch_info bi, obi;
        const uint8_t *o;
        cr_assert_eq(rb_batch_validate(other, len, &bi), RB_BATCH_OK);
        cr_assert_eq(rb_batch_recompress(rb_part_codec(pt_ps), other, &bi, RB_CODEC_GZIP,
                                         RB_DECOMP_CAP_MIN, &o, &obi, NULL),
                     RB_BATCH_OK);
    }
    rb_part_append(pt_ps, &a);
    pt_flush();
    cr_assert_eq(ans.calls, 1);
    cr_assert_eq(ans.error, 0);
    rb_part_vjob_release(&a.pre);
    return atomic_load(&pt_ps->stats.bytes) - before;
}

Test(part_vthread, rebuild_on_the_thread_stores_what_the_shard_would)
{
    cr_assert_eq(io_uring_queue_init(64, &pt_shard.ring, 0), 0);
    struct rb_vthread *vt = rb_vthread_new(1);
    cr_assert_not_null(vt);
    uint32_t len = vt_build(RB_CODEC_ZSTD, VT_REC, VT_VAL, 9, rb_wall_ms());
    bool h;
    int calls = 0;
    vt_back = 0;
    uint64_t on_shard_bytes = append_rebuilt(len, &h, &calls, false); /* no thread */
    cr_assert_not(h);
    rb_part_set_vthread(pt_ps, vt, 0);
    uint64_t off_shard_bytes = append_rebuilt(len, &h, &calls, false);
    cr_assert(h, "4 MB to rebuild: on the thread");
    cr_assert_eq(off_shard_bytes, on_shard_bytes);
    /* a small one: rebuilt while preparing, used by the append */
    rb_part_validate_inline_bytes = 8 << 20;
    uint64_t small = append_rebuilt(len, &h, &calls, false);
    cr_assert_not(h);
    cr_assert_eq(small, on_shard_bytes);
    /* ... not used once the scratch served something else meanwhile */
    small = append_rebuilt(len, &h, &calls, true);
    rb_part_validate_inline_bytes = (int64_t)1 << 20;
    cr_assert_not(h);
    cr_assert_eq(small, on_shard_bytes);
    cr_assert_eq(rb_vthread_jobs(vt), 1);
    rb_part_set_vthread(pt_ps, NULL, 0);
    rb_vthread_free(vt);
    io_uring_queue_exit(&pt_shard.ring);
}
