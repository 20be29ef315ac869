/*
 * tests/unit/test_producer_state.c - storage/producer_state.c: Kafka's sequence
 * rules (duplicates of the last 5 batches, gaps, epochs, wrap), snapshot files
 * (round trip, corruption, cleanup) and the rebuild from a log's batch headers.
 */
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage/producer_state.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-pstate-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(pstate, .init = setup, .fini = teardown);

static struct rb_batch_info bi_of(int64_t pid, int16_t epoch, int32_t seq, int32_t nrec)
{
    struct rb_batch_info bi;
    memset(&bi, 0, sizeof(bi));
    bi.producer_id = pid;
    bi.producer_epoch = epoch;
    bi.base_sequence = seq;
    bi.last_offset_delta = nrec - 1;
    bi.record_count = nrec;
    bi.max_timestamp = 1000;
    return bi;
}

static int check(struct rb_pstate *ps, int64_t pid, int16_t epoch, int32_t seq, int32_t nrec,
                 struct rb_pstate_dup *dup)
{
    struct rb_batch_info bi = bi_of(pid, epoch, seq, nrec);
    struct rb_pstate_dup d;
    return rb_pstate_check(ps, &bi, dup ? dup : &d);
}

/* check must say APPEND; then record the batch at offset. */
static void append(struct rb_pstate *ps, int64_t pid, int16_t epoch, int32_t seq, int32_t nrec,
                   int64_t offset)
{
    struct rb_batch_info bi = bi_of(pid, epoch, seq, nrec);
    struct rb_pstate_dup d;
    cr_assert_eq(rb_pstate_check(ps, &bi, &d), RB_PSTATE_APPEND, "pid %lld seq %d", (long long)pid,
                 seq);
    rb_pstate_update(ps, &bi, offset, 5000);
}

Test(pstate, no_producer_id_is_always_appended)
{
    struct rb_pstate *ps = rb_pstate_new();
    cr_assert_eq(check(ps, -1, -1, -1, 3, NULL), RB_PSTATE_APPEND);
    struct rb_batch_info bi = bi_of(-1, -1, -1, 3);
    rb_pstate_update(ps, &bi, 0, 1);
    cr_assert_eq(check(ps, -1, -1, -1, 3, NULL), RB_PSTATE_APPEND);
    cr_assert_eq(rb_pstate_count(ps), 0);
    rb_pstate_free(ps);
}

Test(pstate, in_sequence_gap_and_unknown_producer)
{
    struct rb_pstate *ps = rb_pstate_new();
    append(ps, 7, 0, 42, 3, 0); /* unknown producer: any first sequence */
    append(ps, 7, 0, 45, 2, 3);
    cr_assert_eq(check(ps, 7, 0, 48, 1, NULL), RB_PSTATE_OUT_OF_ORDER); /* gap */
    cr_assert_eq(check(ps, 7, 0, 46, 1, NULL), RB_PSTATE_OUT_OF_ORDER); /* overlap */
    append(ps, 7, 0, 47, 1, 5);
    append(ps, 8, 0, 0, 1, 6); /* producers are independent */
    cr_assert_eq(rb_pstate_count(ps), 2);
    rb_pstate_free(ps);
}

Test(pstate, duplicates_of_the_last_five_batches)
{
    struct rb_pstate *ps = rb_pstate_new();
    for (int i = 0; i < 7; i++)
        append(ps, 3, 0, i * 10, 10, 100 + i * 10);
    struct rb_pstate_dup d;
    for (int i = 2; i < 7; i++) {
        cr_assert_eq(check(ps, 3, 0, i * 10, 10, &d), RB_PSTATE_DUPLICATE, "batch %d", i);
        cr_assert_eq(d.first_offset, 100 + i * 10);
        cr_assert_eq(d.last_offset, 109 + i * 10);
    }
    /* older than the retained five: no longer recognised */
    cr_assert_eq(check(ps, 3, 0, 10, 10, NULL), RB_PSTATE_OUT_OF_ORDER);
    /* same first sequence, different length: not a duplicate */
    cr_assert_eq(check(ps, 3, 0, 60, 5, NULL), RB_PSTATE_OUT_OF_ORDER);
    /* a duplicate under another epoch is not one */
    cr_assert_eq(check(ps, 3, 1, 60, 10, NULL), RB_PSTATE_OUT_OF_ORDER);
    append(ps, 3, 0, 70, 1, 170);
    rb_pstate_free(ps);
}

Test(pstate, epochs)
{
    struct rb_pstate *ps = rb_pstate_new();
    append(ps, 9, 2, 0, 5, 0);
    append(ps, 9, 2, 5, 5, 5);
    cr_assert_eq(check(ps, 9, 1, 10, 1, NULL), RB_PSTATE_STALE_EPOCH);
    cr_assert_eq(check(ps, 9, 1, 0, 5, NULL), RB_PSTATE_STALE_EPOCH);
    cr_assert_eq(check(ps, 9, 3, 10, 1, NULL), RB_PSTATE_OUT_OF_ORDER); /* new epoch: seq 0 */
    append(ps, 9, 3, 0, 2, 10);
    /* the old epoch is now fenced, even for its own retries */
    cr_assert_eq(check(ps, 9, 2, 5, 5, NULL), RB_PSTATE_STALE_EPOCH);
    append(ps, 9, 3, 2, 1, 12);
    rb_pstate_free(ps);
}

Test(pstate, sequence_wraps_at_int32_max)
{
    cr_assert_eq(rb_pstate_last_seq(INT32_MAX - 2, 4), 1);
    cr_assert_eq(rb_pstate_last_seq(INT32_MAX, 0), INT32_MAX);
    cr_assert_eq(rb_pstate_last_seq(5, 3), 8);
    struct rb_pstate *ps = rb_pstate_new();
    append(ps, 1, 0, INT32_MAX - 1, 2, 0); /* ends at INT32_MAX */
    cr_assert_eq(check(ps, 1, 0, INT32_MAX, 1, NULL), RB_PSTATE_OUT_OF_ORDER);
    append(ps, 1, 0, 0, 3, 2);
    append(ps, 1, 0, 3, 1, 5);
    rb_pstate_free(ps);
}

Test(pstate, expire_drops_idle_producers)
{
    struct rb_pstate *ps = rb_pstate_new();
    struct rb_batch_info a = bi_of(1, 0, 0, 1), b = bi_of(2, 0, 0, 1);
    struct rb_pstate_dup d;
    rb_pstate_check(ps, &a, &d);
    rb_pstate_update(ps, &a, 0, 100);
    rb_pstate_check(ps, &b, &d);
    rb_pstate_update(ps, &b, 1, 900);
    rb_pstate_expire(ps, 500);
    cr_assert_eq(rb_pstate_count(ps), 1);
    /* producer 1 is unknown again: any sequence is accepted */
    cr_assert_eq(check(ps, 1, 0, 77, 1, NULL), RB_PSTATE_APPEND);
    cr_assert_eq(check(ps, 2, 0, 77, 1, NULL), RB_PSTATE_OUT_OF_ORDER);
    rb_pstate_free(ps);
}

static bool exists(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return access(p, F_OK) == 0;
}

Test(pstate, snapshot_round_trip_and_cleanup)
{
    struct rb_pstate *ps = rb_pstate_new();
    for (int i = 0; i < 8; i++)
        append(ps, 11, 4, i, 1, i);
    append(ps, 12, 0, 100, 2, 8);
    struct rb_pstate *empty = rb_pstate_new();
    cr_assert_eq(rb_pstate_snapshot_write(empty, g_dir, 3), 0);
    rb_pstate_free(empty);
    cr_assert_eq(rb_pstate_snapshot_write(ps, g_dir, 10), 0);
    cr_assert(exists("00000000000000000010.rbsnap"));
    cr_assert(!exists("00000000000000000003.rbsnap"), "older snapshot kept");
    rb_pstate_free(ps);

    ps = rb_pstate_new();
    char path[256];
    snprintf(path, sizeof(path), "%s/00000000000000000010.rbsnap", g_dir);
    int64_t off = -1;
    cr_assert_eq(rb_pstate_snapshot_read(ps, path, &off), 0);
    cr_assert_eq(off, 10);
    cr_assert_eq(rb_pstate_count(ps), 2);
    struct rb_pstate_dup d;
    cr_assert_eq(check(ps, 11, 4, 7, 1, &d), RB_PSTATE_DUPLICATE);
    cr_assert_eq(d.first_offset, 7);
    cr_assert_eq(check(ps, 11, 4, 3, 1, &d), RB_PSTATE_DUPLICATE);
    cr_assert_eq(check(ps, 11, 4, 2, 1, NULL), RB_PSTATE_OUT_OF_ORDER);
    cr_assert_eq(check(ps, 11, 3, 8, 1, NULL), RB_PSTATE_STALE_EPOCH);
    append(ps, 11, 4, 8, 1, 10);
    append(ps, 12, 0, 102, 1, 11);

    /* flip one byte: the CRC rejects the file and the table is left empty */
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t c;
    cr_assert_eq(pread(fd, &c, 1, 30), 1);
    c ^= 0x40;
    cr_assert_eq(pwrite(fd, &c, 1, 30), 1);
    close(fd);
    cr_assert_eq(rb_pstate_snapshot_read(ps, path, &off), -EINVAL);
    cr_assert_eq(rb_pstate_count(ps), 0);
    rb_pstate_free(ps);
}

/* ---- rebuild from a log ---- */

static struct rb_disk_sim *g_sim;

static struct rb_log *open_log(void)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 4096; /* several segments */
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.max_dirty_bytes = 256 << 10;
    struct rb_log *log = NULL;
    int err = rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000);
    cr_assert_eq(err, 0, "open: %d", err);
    return log;
}

/* Append a real batch of producer pid/epoch starting at seq; returns its offset. */
static int64_t log_append(struct rb_log *log, struct rb_pstate *ps, int64_t pid, int16_t epoch,
                          int32_t seq, int nrec)
{
    static uint8_t buf[20000];
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = 1000,
                              .producer_id = pid,
                              .base_seq = pid < 0 ? -1 : seq,
                              .value_bytes = 300,
                              .seed = (uint32_t)seq};
    size_t len = tu_build(buf, &s);
    rb_put_be16(buf + 51, (uint16_t)epoch);
    tu_fix_crc(buf);
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(buf, len, &bi), RB_BATCH_OK);
    struct rb_pstate_dup d;
    cr_assert_eq(rb_pstate_check(ps, &bi, &d), RB_PSTATE_APPEND);
    int64_t base = -1;
    int err, tries = 0;
    /* -ENOBUFS: a roll (4 KiB segments) waits for a flush and the background work */
    while ((err = rb_log_append(log, buf, &bi, 1000, &base)) == -ENOBUFS && ++tries < 8)
        cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    cr_assert_eq(err, 0);
    rb_pstate_update(ps, &bi, base, 1000);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
    return base;
}

Test(pstate, recover_from_snapshot_and_log_tail)
{
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
    struct rb_pstate *ps = rb_pstate_new();
    struct rb_log *log = open_log();
    int64_t offs[20];
    for (int i = 0; i < 10; i++)
        offs[i] = log_append(log, ps, 5, 1, i * 2, 2);
    log_append(log, ps, -1, -1, -1, 3);
    cr_assert_eq(rb_pstate_snapshot_log(ps, log), 0); /* at offset 23 */
    for (int i = 10; i < 14; i++)
        offs[i] = log_append(log, ps, 5, 1, i * 2, 2);
    log_append(log, ps, 6, 0, 0, 1);
    rb_log_close(log); /* no snapshot at close: the tail must be replayed */
    rb_pstate_free(ps);

    /* a snapshot beyond the log end (a tail that was lost) must be ignored */
    struct rb_pstate *bogus = rb_pstate_new();
    cr_assert_eq(rb_pstate_snapshot_write(bogus, g_dir, 999), 0);
    rb_pstate_free(bogus);
    char p[256];
    snprintf(p, sizeof(p), "%s/00000000000000000023.rbsnap", g_dir);
    struct rb_pstate *snap = rb_pstate_new();
    cr_assert_eq(rb_pstate_snapshot_write(snap, g_dir, 23), 0); /* empty snapshot at 23 */
    rb_pstate_free(snap);

    log = open_log();
    ps = rb_pstate_new();
    cr_assert_eq(rb_pstate_recover(ps, log, 0), 0);
    cr_assert(!exists("00000000000000000999.rbsnap"));
    /* batches after the snapshot were replayed from the log */
    struct rb_pstate_dup d;
    cr_assert_eq(check(ps, 5, 1, 26, 2, &d), RB_PSTATE_DUPLICATE);
    cr_assert_eq(d.first_offset, offs[13]);
    cr_assert_eq(check(ps, 6, 0, 0, 1, &d), RB_PSTATE_DUPLICATE);
    cr_assert_eq(check(ps, 5, 1, 29, 1, NULL), RB_PSTATE_OUT_OF_ORDER);
    cr_assert_eq(check(ps, 5, 0, 28, 1, NULL), RB_PSTATE_STALE_EPOCH);
    /* batch 9 lies below the snapshot offset: it came from the (empty) snapshot */
    cr_assert_eq(check(ps, 5, 1, 18, 2, NULL), RB_PSTATE_OUT_OF_ORDER);
    rb_pstate_free(ps);

    /* without any snapshot: everything is replayed from the log start */
    unlink(p);
    ps = rb_pstate_new();
    cr_assert_eq(rb_pstate_recover(ps, log, 0), 0);
    for (int i = 9; i < 14; i++) {
        cr_assert_eq(check(ps, 5, 1, i * 2, 2, &d), RB_PSTATE_DUPLICATE, "batch %d", i);
        cr_assert_eq(d.first_offset, offs[i]);
    }
    cr_assert_eq(check(ps, 5, 1, 16, 2, NULL), RB_PSTATE_OUT_OF_ORDER); /* older than 5 */
    /* expiry on recovery: batch timestamps are 1000 */
    cr_assert_eq(rb_pstate_recover(ps, log, 2000), 0);
    cr_assert_eq(rb_pstate_count(ps), 0);
    rb_pstate_free(ps);
    rb_log_close(log);
    rb_disk_sim_free(g_sim);
}
