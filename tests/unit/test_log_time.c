/*
 * tests/unit/test_log_time.c - storage/log_time.c: ListOffsets at record
 * precision over the simulated disk. MAX_TIMESTAMP is the first record carrying
 * the largest timestamp (uncompressed and every codec, LogAppendTime, across
 * segments and after reopening from the index files), batch precision without a
 * codec scratch, -ENOENT for an empty log or above upto_offset; a timestamp lookup
 * inside a batch is the first record at or after the timestamp.
 */
#include "core/rb.h"
#include "storage/compress.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char g_dir[64];
static struct rb_disk_sim *g_sim;
static struct rb_codec_ctx *g_codec;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-log-time-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
    g_codec = rb_codec_ctx_new();
    cr_assert_not_null(g_codec);
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
    rb_codec_ctx_free(g_codec);
}

TestSuite(log_time, .init = setup, .fini = teardown);

static struct rb_log *open_log(bool append_time, uint64_t segment_bytes)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = segment_bytes;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.max_dirty_bytes = 256 << 10;
    c.index_interval_bytes = 256;
    c.log_append_time = append_time;
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    return log;
}

/* Append one batch whose records carry timestamps ts[0..n) (record bodies of 200
 * compressible bytes), compressed with codec; returns its base offset. */
static int64_t append(struct rb_log *log, const int64_t *ts, int n, int codec, int64_t now_ms)
{
    static uint8_t recs[1 << 16], batch[1 << 17];
    uint8_t val[200];
    memset(val, 'v', sizeof(val));
    int64_t max = ts[0];
    size_t rl = 0;
    for (int i = 0; i < n; i++) {
        max = RB_MAX(max, ts[i]);
        rl += tu_record(recs + rl, ts[i] - ts[0], i, NULL, 0, val, sizeof(val), 0);
    }
    size_t len = RB_BATCH_HEADER_BYTES;
    if (codec) {
        int64_t cl = rb_compress(g_codec, codec, recs, rl, batch + len, sizeof(batch) - len);
        cr_assert_gt(cl, 0, "compress codec %d: %lld", codec, (long long)cl);
        len += (size_t)cl;
    } else {
        memcpy(batch + len, recs, rl);
        len += rl;
    }
    memset(batch, 0, RB_BATCH_HEADER_BYTES);
    rb_put_be32(batch + 8, (uint32_t)(len - 12));
    rb_put_be32(batch + 12, 0);
    batch[16] = 2;
    rb_put_be16(batch + 21, (uint16_t)codec);
    rb_put_be32(batch + 23, (uint32_t)(n - 1));
    rb_put_be64(batch + 27, (uint64_t)ts[0]);
    rb_put_be64(batch + 35, (uint64_t)max);
    rb_put_be64(batch + 43, (uint64_t)-1);
    rb_put_be16(batch + 51, (uint16_t)-1);
    rb_put_be32(batch + 53, (uint32_t)-1);
    rb_put_be32(batch + 57, (uint32_t)n);
    tu_fix_crc(batch);
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(batch, len, &bi), RB_BATCH_OK);
    int64_t base = -1;
    int err;
    while ((err = rb_log_append(log, batch, &bi, now_ms, &base)) == -ENOBUFS)
        cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    cr_assert_eq(err, 0, "append: %d", err);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    return base;
}

static const int64_t ts1[] = {1000, 3000, 5000, 2000, 5000}; /* offsets 0-4 */
static const int64_t ts2[] = {4000, 5000};                   /* offsets 5-6 */

static void expect_max(struct rb_log *log, struct rb_codec_ctx *c, int64_t upto, int64_t off,
                       int64_t ts)
{
    int64_t o = -9, t = -9;
    int err = rb_log_max_timestamp(log, c, upto, &o, &t);
    if (off < 0) {
        cr_expect_eq(err, -ENOENT, "upto %lld: rc %d offset %lld", (long long)upto, err,
                     (long long)o);
        return;
    }
    cr_expect_eq(err, 0, "rc %d", err);
    cr_expect_eq(o, off, "offset %lld, want %lld", (long long)o, (long long)off);
    cr_expect_eq(t, ts, "timestamp %lld, want %lld", (long long)t, (long long)ts);
}

Test(log_time, empty_log)
{
    struct rb_log *log = open_log(false, 1 << 20);
    expect_max(log, g_codec, 0, -1, -1);
    int64_t o, t;
    cr_expect_neq(rb_log_record_at_time(log, g_codec, 0, 0, 0, &o, &t), 0);
    rb_log_close(log);
}

static void max_and_lookups(int codec)
{
    struct rb_log *log = open_log(false, 1 << 20);
    cr_assert_eq(append(log, ts1, 5, codec, 9000), 0);
    cr_assert_eq(append(log, ts2, 2, codec, 9000), 5);
    expect_max(log, g_codec, 7, 2, 5000);
    expect_max(log, g_codec, 5, 2, 5000);
    expect_max(log, g_codec, 4, -1, -1);           /* its batch is not below upto */
    expect_max(log, NULL, 7, codec ? 4 : 2, 5000); /* no scratch: batch precision */
    static const int64_t q[][4] = {                /* batch, ts, want offset, want ts */
                                   {0, 0, 0, 1000},    {0, 1000, 0, 1000}, {0, 1001, 1, 3000},
                                   {0, 2500, 1, 3000}, {0, 4000, 2, 5000}, {5, 4000, 5, 4000},
                                   {5, 4001, 6, 5000}, {3, 2500, 1, 3000}};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        int64_t o = -9, t = -9;
        cr_expect_eq(rb_log_record_at_time(log, g_codec, q[i][0], 7, q[i][1], &o, &t), 0);
        cr_expect(o == q[i][2] && t == q[i][3], "codec %d batch %lld ts %lld: %lld/%lld", codec,
                  (long long)q[i][0], (long long)q[i][1], (long long)o, (long long)t);
    }
    int64_t o, t;
    cr_expect_eq(rb_log_record_at_time(log, g_codec, 0, 7, 5001, &o, &t), -ENOENT);
    rb_log_close(log);
}

Test(log_time, uncompressed)
{
    max_and_lookups(RB_CODEC_NONE);
}

Test(log_time, gzip)
{
    max_and_lookups(RB_CODEC_GZIP);
}

Test(log_time, snappy)
{
    max_and_lookups(RB_CODEC_SNAPPY);
}

Test(log_time, lz4)
{
    max_and_lookups(RB_CODEC_LZ4);
}

Test(log_time, zstd)
{
    max_and_lookups(RB_CODEC_ZSTD);
}

Test(log_time, log_append_time_is_the_base_offset)
{
    struct rb_log *log = open_log(true, 1 << 20);
    cr_assert_eq(append(log, ts1, 5, 0, 7000), 0);
    cr_assert_eq(append(log, ts2, 2, 0, 8000), 5);
    cr_assert_eq(append(log, ts1, 5, 0, 8000), 7);
    expect_max(log, g_codec, 12, 5, 8000); /* ties: the first batch carrying it */
    int64_t o, t;
    cr_assert_eq(rb_log_record_at_time(log, g_codec, 7, 12, 7500, &o, &t), 0);
    cr_expect(o == 7 && t == 8000, "%lld/%lld", (long long)o, (long long)t);
    rb_log_close(log);
}

Test(log_time, across_segments_and_reopen)
{
    struct rb_log *log = open_log(false, 4096);
    static const int64_t late[] = {9000, 9500, 9500, 100};
    int64_t base_late = -1;
    for (int i = 0; i < 12; i++) {
        int64_t b = append(log, i == 6 ? late : ts1, i == 6 ? 4 : 5, 0, 10000);
        if (i == 6)
            base_late = b;
    }
    cr_assert_gt(base_late, 0);
    int64_t end = rb_log_end_offset(log);
    expect_max(log, g_codec, end, base_late + 1, 9500);
    rb_log_close(log);
    log = open_log(false, 4096); /* from the index files */
    expect_max(log, g_codec, end, base_late + 1, 9500);
    rb_log_close(log);
}

Test(log_time, start_offset_inside_a_batch)
{
    struct rb_log *log = open_log(false, 1 << 20);
    cr_assert_eq(append(log, ts1, 5, RB_CODEC_ZSTD, 9000), 0);
    cr_assert_eq(append(log, ts2, 2, 0, 9000), 5);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 9000, 2, &rm), 0); /* DeleteRecords up to offset 2 */
    rb_log_removed_free(&rm);
    int64_t o = -9, t = -9;
    /* 1000 and 3000 (offsets 0, 1) are gone: the first record left at >= 1000 is 2 */
    cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 1000, &o, &t), 0);
    cr_expect(o == 2 && t == 5000, "%lld/%lld", (long long)o, (long long)t);
    cr_assert_eq(rb_log_retain(log, 9000, 3, &rm), 0);
    rb_log_removed_free(&rm);
    cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 2500, &o, &t), 0);
    cr_expect(o == 4 && t == 5000, "offset 3 (2000) is too early: %lld/%lld", (long long)o,
              (long long)t);
    expect_max(log, g_codec, 7, 4, 5000); /* the first 5000 still in the log */
    rb_log_close(log);
}

/* One partition listed many times in a ListOffsets request: the batch is read and
 * decompressed once; a different question, another log start offset or a lookup
 * without a codec scratch is not answered from the memo. */
Test(log_time, repeated_question_reads_the_batch_once)
{
    struct rb_log *log = open_log(false, 1 << 20);
    cr_assert_eq(append(log, ts1, 5, RB_CODEC_ZSTD, 9000), 0);
    cr_assert_eq(append(log, ts2, 2, 0, 9000), 5);
    uint64_t r0 = rb_log_time_reads(log);
    int64_t o = -9, t = -9;
    for (int i = 0; i < 50; i++) {
        o = t = -9;
        cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 2500, &o, &t), 0);
        cr_assert(o == 1 && t == 3000, "repeat %d: %lld/%lld", i, (long long)o, (long long)t);
    }
    cr_expect_eq(rb_log_time_reads(log) - r0, 1, "reads for 50 equal questions: %llu",
                 (unsigned long long)(rb_log_time_reads(log) - r0));
    for (int i = 0; i < 3; i++) /* a not-found answer is kept too */
        cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 5001, &o, &t), -ENOENT);
    cr_expect_eq(rb_log_time_reads(log) - r0, 2);
    cr_assert_eq(rb_log_record_at_time(log, NULL, 0, 7, 2500, &o, &t), -ENOENT);
    cr_expect_eq(rb_log_time_reads(log) - r0, 3, "without a codec: asked again");
    cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 2500, &o, &t), 0);
    cr_expect_eq(rb_log_time_reads(log) - r0, 4);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 9000, 2, &rm), 0); /* DeleteRecords: start 2 */
    rb_log_removed_free(&rm);
    cr_assert_eq(rb_log_record_at_time(log, g_codec, 0, 7, 2500, &o, &t), 0);
    cr_expect(o == 2 && t == 5000, "after the start moved: %lld/%lld", (long long)o, (long long)t);
    cr_expect_eq(rb_log_time_reads(log) - r0, 5);
    expect_max(log, g_codec, 7, 2, 5000);
    rb_log_close(log);
}

/* The three steps (read, scan, finish) give rb_log_record_at_time's answers: a
 * scan under a cap smaller than the records is -EMSGSIZE with nothing answered,
 * then the same answer under the full cap; finish keeps it in the memo unless the
 * log was truncated between the read and the finish. */
Test(log_time, three_steps_answer_as_one_call)
{
    static const int codecs[] = {RB_CODEC_NONE, RB_CODEC_GZIP, RB_CODEC_SNAPPY, RB_CODEC_LZ4,
                                 RB_CODEC_ZSTD};
    static const int64_t q[][2] = {{0, 0}, {0, 1001}, {0, 4000}, {5, 4001}, {0, 5001}, {3, 2500}};
    for (size_t ci = 0; ci < RB_ARRAY_LEN(codecs); ci++) {
        struct rb_log *log = open_log(false, 1 << 20);
        cr_assert_eq(append(log, ts1, 5, codecs[ci], 9000), 0);
        cr_assert_eq(append(log, ts2, 2, codecs[ci], 9000), 5);
        for (size_t i = 0; i < RB_ARRAY_LEN(q); i++) {
            int64_t wo = -9, wt = -9;
            int want = rb_log_record_at_time(log, g_codec, q[i][0], 7, q[i][1], &wo, &wt);
            struct rb_log_tlookup l;
            uint64_t r0 = rb_log_time_reads(log);
            /* another question first, so that the memo does not answer */
            cr_assert_eq(rb_log_time_read(log, true, 5, 7, 1, &l), 1);
            cr_assert_eq(rb_log_time_scan(g_codec, &l, RB_DECOMP_CAP_MIN), 0);
            rb_log_time_finish(log, &l);
            cr_assert_null(l.buf);
            cr_assert_eq(rb_log_time_read(log, true, q[i][0], 7, q[i][1], &l), 1);
            cr_assert_eq(rb_log_time_reads(log) - r0, 2);
            cr_assert_not_null(l.buf);
            if (codecs[ci] != RB_CODEC_NONE) /* 5 x 200 bytes of records */
                cr_assert_eq(rb_log_time_scan(g_codec, &l, 100), -EMSGSIZE);
            cr_assert_eq(rb_log_time_scan(g_codec, &l, RB_DECOMP_CAP_MIN), 0);
            rb_log_time_finish(log, &l);
            cr_assert_eq(l.err, want, "codec %d q %zu: %d, want %d", codecs[ci], i, l.err, want);
            if (!want)
                cr_assert(l.offset == wo && l.timestamp == wt, "codec %d q %zu: %lld/%lld",
                          codecs[ci], i, (long long)l.offset, (long long)l.timestamp);
            /* kept: the same question again is answered without a read */
            cr_assert_eq(rb_log_time_read(log, true, q[i][0], 7, q[i][1], &l), 0);
            cr_assert_eq(l.err, want);
            cr_assert_eq(rb_log_time_reads(log) - r0, 2);
        }
        /* a truncation between the read and the finish: not kept */
        struct rb_log_tlookup l;
        cr_assert_eq(rb_log_time_read(log, true, 0, 5, 2500, &l), 1);
        cr_assert_eq(rb_log_truncate_to(log, 5), 0);
        cr_assert_eq(rb_log_time_scan(g_codec, &l, RB_DECOMP_CAP_MIN), 0);
        cr_assert_eq(l.err, 0);
        cr_assert(l.offset == 1 && l.timestamp == 3000);
        rb_log_time_finish(log, &l);
        uint64_t r1 = rb_log_time_reads(log);
        cr_assert_eq(rb_log_time_read(log, true, 0, 5, 2500, &l), 1, "asked again after a cut");
        cr_assert_eq(rb_log_time_reads(log) - r1, 1);
        rb_log_time_finish(log, &l);
        rb_log_close(log);
        nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); /* the next codec: an empty log */
        cr_assert_eq(mkdir(g_dir, 0700), 0);
    }
}
