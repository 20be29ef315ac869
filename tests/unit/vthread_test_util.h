/*
 * tests/unit/vthread_test_util.h - what the validator thread's tests share
 * (test_part_vthread.c, test_part_lo_handoff.c, test_part_vt_mem.c): a big,
 * compressible batch compressed with a codec (vt_build into vt_batch), and the
 * shard ring's completions reaped (bounded wait) until jobs came back (counted
 * by vt_count_back), an append of vt_batch. Include after part_test_util.h.
 */
#ifndef RB_TESTS_VTHREAD_TEST_UTIL_H
#define RB_TESTS_VTHREAD_TEST_UTIL_H

#include "storage/compress.h"

#include <liburing.h>

#define VT_REC  100
#define VT_VAL  40000
#define VT_SIZE (VT_REC * (VT_VAL + 64) + 4096)
static uint8_t vt_plain[VT_SIZE];
static uint8_t vt_batch[VT_SIZE];

/* A batch of nrec records of val bytes (record i at base_ts + i), compressed with
 * codec, into vt_batch; returns its size. */
static uint32_t vt_build(int codec, int nrec, uint32_t val, uint32_t seed, int64_t base_ts)
{
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = base_ts,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = val,
                              .seed = seed};
    size_t n = tu_build(vt_plain, &s);
    cr_assert_lt(n, sizeof(vt_plain));
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    cr_assert_not_null(c);
    memcpy(vt_batch, vt_plain, RB_BATCH_HEADER_BYTES);
    int64_t zn =
        rb_compress(c, codec, vt_plain + RB_BATCH_HEADER_BYTES, n - RB_BATCH_HEADER_BYTES,
                    vt_batch + RB_BATCH_HEADER_BYTES, sizeof(vt_batch) - RB_BATCH_HEADER_BYTES);
    rb_codec_ctx_free(c);
    cr_assert_gt(zn, 0);
    uint32_t total = RB_BATCH_HEADER_BYTES + (uint32_t)zn;
    rb_put_be32(vt_batch + 8, total - 12);
    rb_put_be16(vt_batch + 21, (uint16_t)codec);
    tu_fix_crc(vt_batch);
    return total;
}

/* Reap the shard ring's completions (bounded wait) until *calls reaches want. */
static void vt_ring_until(struct io_uring *ring, int *calls, int want)
{
    for (int i = 0; i < 300 && *calls < want; i++) {
        struct __kernel_timespec ts = {.tv_nsec = 100 * 1000 * 1000};
        struct io_uring_cqe *cqe;
        io_uring_submit(ring);
        if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0)
            continue;
        struct rb_io *io = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        if (io)
            io->cb(io, res, 0);
    }
    cr_assert_eq(*calls, want, "jobs back through the ring: %d of %d", *calls, want);
}

/* Jobs back (vt_count_back as a job's done callback counts them). */
static int vt_back;
static void vt_count_back(struct rb_part_vjob *j)
{
    cr_assert_eq(j->state, RB_VJOB_DONE);
    vt_back++;
}

/* a: an acks=all append of vt_batch's len bytes to "t"-0, answered into ans. */
RB_UNUSED static void vt_append_init(struct rb_part_append *a, struct pt_answer *ans, uint32_t len)
{
    pt_append_init(a, ans, vt_batch, len, -1);
    a->max_bytes = 8 << 20;
}

#endif
