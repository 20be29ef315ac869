/*
 * tests/unit/test_log_write.c - write-only flushes (rb_log_write_out, for relaxed
 * flush.messages): written_end moves on write completion without any fdatasync,
 * durable_end does not; a later syncing flush covers those writes; reads see the
 * written data; a power loss before the sync loses it (the documented meaning of
 * a relaxed acknowledgement), a process crash does not. Also: chunks are taken
 * unzeroed (not resident until written) and the pad of a partial block is zeroed
 * before it is written.
 */
#include "core/rb.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage/tail_cache.h"
#include "storage_test_util.h"
#include "child_test_util.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];
static struct rb_disk_sim *g_sim;
static uint8_t g_buf[8192];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/rb-ut-logw.XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(log_write, .init = setup, .fini = teardown);

static struct rb_log *open_log(void)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 1 << 20;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.max_dirty_bytes = 256 << 10;
    c.flush_messages = 1000;
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    return log;
}

static void append_ok(struct rb_log *log, int nrec, int seed)
{
    struct rb_batch_info bi;
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = 1000,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 300,
                              .seed = (uint32_t)seed};
    size_t len = tu_build(g_buf, &s);
    cr_assert_eq(rb_batch_validate(g_buf, len, &bi), RB_BATCH_OK);
    cr_assert_eq(rb_log_append(log, g_buf, &bi, 1000, NULL), 0);
}

struct cb_rec {
    int calls, res;
};

static void rec_cb(struct rb_log *log, int res, void *arg)
{
    struct cb_rec *r = arg;
    r->calls++;
    r->res = res;
}

static uint64_t syncs(void)
{
    struct rb_disk_sim_stats st;
    rb_disk_sim_get_stats(g_sim, &st);
    return st.syncs;
}

/* 3 synced records, then 4 written only. */
static struct rb_log *synced_then_written(void)
{
    struct rb_log *log = open_log();
    int64_t m, ms;
    rb_log_flush_policy(log, &m, &ms);
    cr_assert_eq(m, 1000);
    cr_assert_eq(ms, -1);
    append_ok(log, 3, 1);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    append_ok(log, 2, 2);
    append_ok(log, 2, 3);
    uint64_t s0 = syncs();
    struct cb_rec r = {0};
    cr_assert(rb_log_unwritten(log));
    cr_assert_eq(rb_log_write_out(log, rec_cb, &r), 0);
    cr_assert_eq(r.calls, 0, "never inline");
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.res, 0);
    cr_assert_eq(syncs(), s0, "a write-only flush must not sync");
    cr_assert_eq(rb_log_written_end(log), 7);
    cr_assert_eq(rb_log_durable_end(log), 3);
    cr_assert(rb_log_dirty(log));
    cr_assert_not(rb_log_unwritten(log));
    return log;
}

Test(log_write, write_out_moves_written_end_not_durable_end)
{
    struct rb_log *log = synced_then_written();
    cr_assert_eq(rb_log_write_out(log, rec_cb, NULL), -EALREADY);
    uint8_t out[16384];
    uint32_t len = 0;
    cr_assert_eq(rb_log_read_copy(log, 3, rb_log_written_end(log), sizeof(out), true, out,
                                  sizeof(out), &len),
                 0);
    cr_assert_gt(len, 0, "written data is readable");
    /* more appends, written again: the partial last block is rewritten */
    append_ok(log, 1, 4);
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_write_out(log, rec_cb, &r), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(rb_log_written_end(log), 8);
    uint64_t s0 = syncs();
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    cr_assert_eq(syncs(), s0 + 1);
    cr_assert_eq(rb_log_durable_end(log), 8);
    cr_assert_not(rb_log_dirty(log));
    rb_log_close(log);
    struct rb_log *again = open_log();
    cr_assert_eq(rb_log_end_offset(again), 8);
    rb_log_close(again);
}

static void child_power_loss(void)
{
    (void)synced_then_written();
    if (rb_disk_sim_crash(g_sim, true))
        _exit(5);
}

static void child_process_crash(void)
{
    (void)synced_then_written();
    if (rb_disk_sim_crash(g_sim, false))
        _exit(5);
}

Test(log_write, power_loss_before_the_sync_loses_written_data)
{
    tu_in_child(child_power_loss);
    struct rb_log *log = open_log();
    cr_assert_eq(rb_log_end_offset(log), 3);
    rb_log_close(log);
}

Test(log_write, process_crash_keeps_written_data)
{
    tu_in_child(child_process_crash);
    struct rb_log *log = open_log();
    cr_assert_eq(rb_log_end_offset(log), 7);
    rb_log_close(log);
}

static void child_clean_open_then_crash(void)
{
    struct rb_log *log = open_log();
    cr_assert(rb_log_untouched(log), "opened from a clean close");
    append_ok(log, 2, 9);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    cr_assert_eq(rb_log_durable_end(log), 5);
    if (rb_disk_sim_crash(g_sim, true))
        _exit(5);
}

/* The clean marker stays while a log runs; after appends and a crash it no longer
 * matches the active segment's size, so the next open scans (and keeps what was
 * synced) instead of trusting the old index files. */
Test(log_write, marker_of_an_earlier_clean_close_is_not_believed_after_a_crash)
{
    struct rb_log *log = open_log();
    append_ok(log, 3, 1);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    rb_log_close(log);
    tu_in_child(child_clean_open_then_crash);
    log = open_log();
    cr_assert_not(rb_log_untouched(log), "a stale marker was believed");
    cr_assert_eq(rb_log_end_offset(log), 5);
    rb_log_close(log);
    log = open_log();
    cr_assert(rb_log_untouched(log), "a clean close writes a marker that holds");
    cr_assert_eq(rb_log_end_offset(log), 5);
    rb_log_close(log);
}

/* Chunks are taken without zeroing (rb_chunk_get): the pad past the data in a
 * partial last block is zeroed before each write, so a recycled buffer's old bytes
 * never reach the file. 4 KiB chunks: the first chunk, full of batch bytes, is
 * recycled (the log's spare) as the third; the third block's pad must be zeros. */
Test(log_write, recycled_chunk_pad_is_written_as_zeros)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 1 << 20;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 4096;
    c.max_dirty_bytes = 256 << 10;
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    int seed = 1;
    while (rb_log_size_bytes(log) < 8192 + 100) {
        append_ok(log, 1, seed++); /* ~370 bytes each */
        cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    }
    uint64_t size = rb_log_size_bytes(log);
    cr_assert_lt(size, 3 * 4096);
    /* Read while open: a clean close cuts the file to its size. */
    char path[128];
    snprintf(path, sizeof(path), "%s/00000000000000000000.log", g_dir);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    uint8_t blk[4096];
    cr_assert_eq(fseek(f, 8192, SEEK_SET), 0);
    cr_assert_eq(fread(blk, 1, sizeof(blk), f), sizeof(blk));
    fclose(f);
    rb_log_close(log);
    for (uint64_t i = size - 8192; i < sizeof(blk); i++)
        cr_assert_eq(blk[i], 0, "pad byte %llu of the last block is %u", (unsigned long long)i,
                     blk[i]);
}

static long rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%ld %ld", &pages, &rss), 2);
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A partition written a little holds little memory: taking a 256 KiB chunk does
 * not touch its pages (issue 14: 10,000 written partitions held 2.5 GiB). */
Test(log_write, a_fresh_chunk_is_not_resident_until_written)
{
    enum { N = 64, BYTES = 256 << 10 };
    struct rb_chunk *ch[N];
    long before = rss_kib();
    for (int i = 0; i < N; i++) {
        ch[i] = rb_chunk_get(NULL, BYTES);
        cr_assert_not_null(ch[i]);
        memset(ch[i]->buf, 0xab, 4096); /* one block written */
    }
    long grown = rss_kib() - before;
    for (int i = 0; i < N; i++)
        rb_chunk_put(NULL, ch[i]);
    cr_assert_lt(grown, (long)N * BYTES / 1024 / 4, "%ld KiB resident for %d chunks of 256 KiB",
                 grown, N);
}
