/*
 * tests/unit/test_part_validate_step.c - part/append.c's validation in steps
 * (rb_part_validate_step, issue 13 row 7): records validated over several steps
 * give the answer of one go, a corrupt batch found in a later step refuses the
 * whole records with the error of one go, each step does at least one batch and
 * stops once its budget is spent, and a batch's cost is its bytes plus the bytes it
 * decompressed to, and the shard's codec scratch is released after a big batch.
 */
#include "part_test_util.h"
#include "storage/compress.h"

TestSuite(part_validate_step, .init = pt_setup, .fini = pt_teardown);

#define NB 6
static uint8_t g_plain[NB][32768];
static uint8_t g_recs[NB * 32768];
static size_t g_plain_len[NB];
static const struct rb_part_ts_rule no_ts = {0};

/* NB batches (zstd, lz4, none, gzip, zstd, snappy) of 20 records of 1,000 bytes
 * into g_recs; returns the total size; at[i] = where batch i starts. */
static int32_t build(uint32_t at[NB])
{
    static const int codecs[NB] = {RB_CODEC_ZSTD, RB_CODEC_LZ4,  RB_CODEC_NONE,
                                   RB_CODEC_GZIP, RB_CODEC_ZSTD, RB_CODEC_SNAPPY};
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    cr_assert_not_null(c);
    size_t off = 0;
    for (int i = 0; i < NB; i++) {
        struct tu_batch_spec s = {.nrec = 20,
                                  .base_ts = rb_wall_ms(),
                                  .producer_id = -1,
                                  .base_seq = -1,
                                  .value_bytes = 1000,
                                  .seed = (uint32_t)i + 1};
        size_t n = tu_build(g_plain[i], &s);
        cr_assert_lt(n, sizeof(g_plain[i]));
        g_plain_len[i] = n - RB_BATCH_HEADER_BYTES;
        uint8_t *out = g_recs + off;
        at[i] = (uint32_t)off;
        if (codecs[i] == RB_CODEC_NONE) {
            memcpy(out, g_plain[i], n);
            off += n;
            continue;
        }
        memcpy(out, g_plain[i], RB_BATCH_HEADER_BYTES);
        int64_t zn = rb_compress(c, codecs[i], g_plain[i] + RB_BATCH_HEADER_BYTES, g_plain_len[i],
                                 out + RB_BATCH_HEADER_BYTES, 32768);
        cr_assert_gt(zn, 0);
        size_t total = RB_BATCH_HEADER_BYTES + (size_t)zn;
        rb_put_be32(out + 8, (uint32_t)(total - 12));
        rb_put_be16(out + 21, (uint16_t)codecs[i]);
        tu_fix_crc(out);
        off += total;
    }
    rb_codec_ctx_free(c);
    return (int32_t)off;
}

/* Validate g_recs[0..len) in steps of budget; returns the error, *steps the steps. */
static int16_t stepped(int32_t len, int target, int64_t budget, int *steps, bool *recompress)
{
    struct rb_part_vstate vs = {0};
    *steps = 0;
    for (;;) {
        int64_t b = budget;
        uint32_t before = vs.off;
        int16_t err =
            rb_part_validate_step(pt_ps, g_recs, len, 1 << 20, target, &no_ts, true, &vs, &b);
        (*steps)++;
        cr_assert_leq(*steps, 100, "no progress");
        if (err)
            return err;
        cr_assert_gt(vs.off, before, "a step validated no batch");
        if (vs.off == (uint32_t)len) {
            *recompress = vs.recompress;
            return 0;
        }
        cr_assert_leq(b, 0, "stopped with budget left");
    }
}

Test(part_validate_step, steps_give_the_answer_of_one_go)
{
    uint32_t at[NB];
    int32_t len = build(at);
    bool rc1 = true, rc2 = true;
    int steps;
    cr_assert_eq(rb_part_validate(pt_ps, g_recs, len, 1 << 20, -1, &no_ts, true, &rc1), 0);
    cr_assert_eq(stepped(len, -1, 1, &steps, &rc2), 0);
    cr_assert_eq(steps, NB, "one batch a step with a budget of 1 byte");
    cr_assert_eq(rc1, rc2);
    /* a budget larger than the whole: one step */
    cr_assert_eq(stepped(len, -1, INT64_MAX, &steps, &rc2), 0);
    cr_assert_eq(steps, 1);
    /* compression.type set: several batches needing a rebuild are refused either way */
    cr_assert_eq(rb_part_validate(pt_ps, g_recs, len, 1 << 20, RB_CODEC_LZ4, &no_ts, true, &rc1),
                 RB_KERR_INVALID_RECORD);
    cr_assert_eq(stepped(len, RB_CODEC_LZ4, 1, &steps, &rc2), RB_KERR_INVALID_RECORD);
}

Test(part_validate_step, corrupt_batch_in_a_later_step_refuses_the_whole)
{
    uint32_t at[NB];
    int32_t len = build(at);
    /* batch 4 (zstd): garble its compressed records, keep its CRC right */
    uint8_t *b = g_recs + at[4];
    for (uint32_t i = RB_BATCH_HEADER_BYTES + 4; i < at[5] - at[4]; i++)
        b[i] ^= 0x5a;
    tu_fix_crc(b);
    bool rc;
    int steps;
    int16_t whole = rb_part_validate(pt_ps, g_recs, len, 1 << 20, -1, &no_ts, true, &rc);
    cr_assert_neq(whole, 0);
    cr_assert_eq(stepped(len, -1, 1, &steps, &rc), whole);
    cr_assert_eq(steps, 5, "found in the step of batch 4");
    /* a bad CRC in the last batch: found in the last step */
    len = build(at);
    g_recs[len - 1] ^= 0xff;
    whole = rb_part_validate(pt_ps, g_recs, len, 1 << 20, -1, &no_ts, true, &rc);
    cr_assert_neq(whole, 0);
    cr_assert_eq(stepped(len, -1, 1, &steps, &rc), whole);
    cr_assert_eq(steps, NB);
}

Test(part_validate_step, cost_is_bytes_read_plus_bytes_decompressed)
{
    uint32_t at[NB];
    (void)build(at);
    struct rb_part_vstate vs = {0};
    int64_t budget = 1;
    /* batch 0 alone (zstd) */
    cr_assert_eq(rb_part_validate_step(pt_ps, g_recs, (int32_t)at[1], 1 << 20, -1, &no_ts, true,
                                       &vs, &budget),
                 0);
    cr_assert_eq(vs.off, at[1]);
    cr_assert_eq(vs.n_batches, 1);
    cr_assert_eq(budget, 1 - (int64_t)at[1] - (int64_t)g_plain_len[0]);
    /* batch 2 alone (uncompressed): its bytes only */
    vs = (struct rb_part_vstate){0};
    budget = 0;
    cr_assert_eq(rb_part_validate_step(pt_ps, g_recs + at[2], (int32_t)(at[3] - at[2]), 1 << 20, -1,
                                       &no_ts, true, &vs, &budget),
                 0);
    cr_assert_eq(budget, -(int64_t)(at[3] - at[2]));
}

Test(part_validate_step, scratch_is_released_after_a_big_batch)
{
    /* one record of 24 MiB of zeros, zstd: a few KiB on the wire */
    static uint8_t big[64 << 10];
    size_t vlen = 24u << 20;
    uint8_t *plain = calloc(1, vlen + 64);
    cr_assert_not_null(plain);
    uint8_t head[32];
    size_t h = 1; /* attributes 0, timestamp delta 0, offset delta 0, no key, the value */
    h += tu_varint(head + h, 0);
    h += tu_varint(head + h, 0);
    h += tu_varint(head + h, -1);
    h += tu_varint(head + h, (int64_t)vlen);
    head[0] = 0;
    size_t n = tu_varint(plain, (int64_t)(h + vlen + 1)); /* + header count 0 */
    memcpy(plain + n, head, h);
    n += h + vlen; /* the value's zeros */
    n += tu_varint(plain + n, 0);
    struct rb_codec_ctx *c = rb_codec_ctx_new();
    int64_t zn = rb_compress(c, RB_CODEC_ZSTD, plain, n, big + RB_BATCH_HEADER_BYTES,
                             sizeof(big) - RB_BATCH_HEADER_BYTES);
    rb_codec_ctx_free(c);
    cr_assert_gt(zn, 0);
    struct tu_batch_spec s = {.nrec = 1,
                              .base_ts = rb_wall_ms(),
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 0,
                              .seed = 1};
    uint8_t hdr[256];
    tu_build(hdr, &s);
    memcpy(big, hdr, RB_BATCH_HEADER_BYTES);
    size_t total = RB_BATCH_HEADER_BYTES + (size_t)zn;
    rb_put_be32(big + 8, (uint32_t)(total - 12));
    rb_put_be16(big + 21, RB_CODEC_ZSTD);
    tu_fix_crc(big);
    struct rb_part_vstate vs = {0};
    int64_t budget = 1;
    cr_assert_eq(
        rb_part_validate_step(pt_ps, big, (int32_t)total, 1 << 20, -1, &no_ts, true, &vs, &budget),
        0);
    cr_assert_eq(vs.off, total);
    cr_assert_leq(budget, 1 - (int64_t)vlen, "the decompressed bytes are the cost");
    cr_assert_leq(rb_codec_scratch_bytes(rb_part_codec(pt_ps)), 2 * RB_CODEC_KEEP_BYTES,
                  "scratch kept after the step");
    free(plain);
}

Test(part_validate_step, records_validated_in_steps_append_as_usual)
{
    uint32_t len = pt_batch(3, -1, -1, 1);
    struct rb_part_vstate vs = {0};
    int64_t budget = 1;
    cr_assert_eq(
        rb_part_validate_step(pt_ps, pt_buf, (int32_t)len, 1 << 20, -1, &no_ts, true, &vs, &budget),
        0);
    cr_assert_eq(vs.off, len);
    struct rb_part_append a;
    struct pt_answer aa = {0};
    pt_append(&a, &aa, len, -1);
    pt_flush();
    cr_assert_eq(aa.calls, 1);
    cr_assert_eq(aa.error, 0);
    cr_assert_eq(a.base_offset, 0);
}
