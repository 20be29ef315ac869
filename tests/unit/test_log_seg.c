/*
 * tests/unit/test_log_seg.c - the log's background segment work (storage/log_seg.c)
 * over the simulated disk: asynchronous preallocation (an append waits while it is
 * pending, the held flush callback lets it retry), the next segment prepared ahead
 * and the asynchronous roll (with the rolled segment's index files written in the
 * background), a smaller last step when fallocate finds no space, a full disk
 * seen by a growth ahead that refuses no later append, the 64 KiB first step,
 * and recycling a retained segment's file - including recovery over a recycled
 * file whose stale batches must never be taken for data.
 */
#include "core/rb.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NEXT_FILE ".next-segment.prealloc"

static char g_dir[64];
static struct rb_disk_sim *g_sim;
static uint8_t g_batch[8192];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-seg-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(log_seg, .init = setup, .fini = teardown);

static void cfg(struct rb_log_config *c, uint64_t segment_bytes)
{
    rb_log_config_defaults(c);
    c->segment_bytes = segment_bytes;
    c->prealloc_bytes = 64 << 10;
    c->chunk_bytes = 16 << 10;
    c->max_dirty_bytes = 256 << 10;
    c->index_interval_bytes = 1024;
}

static struct rb_log *open_log(const struct rb_log_config *c)
{
    struct rb_log *log = NULL;
    int err = rb_log_open(&log, g_dir, c, rb_disk_sim_disk(g_sim), 1000);
    cr_assert_eq(err, 0, "open: %d", err);
    return log;
}

/* A one-record batch of exactly want bytes (value bytes derived from seed). */
static size_t build(size_t want, uint32_t seed)
{
    for (uint32_t v = 1; v < 8000; v++) {
        struct tu_batch_spec s = {.nrec = 1,
                                  .base_ts = 1000,
                                  .producer_id = -1,
                                  .base_seq = -1,
                                  .value_bytes = v,
                                  .seed = seed};
        size_t n = tu_build(g_batch, &s);
        if (n == want)
            return n;
    }
    cr_assert_fail("no batch of %zu bytes", want);
    return 0;
}

static int append(struct rb_log *log, size_t bytes, uint32_t seed)
{
    struct rb_batch_info bi;
    size_t n = build(bytes, seed);
    cr_assert_eq(rb_batch_validate(g_batch, n, &bi), RB_BATCH_OK);
    return rb_log_append(log, g_batch, &bi, 1000, NULL);
}

static void flush_ok(struct rb_log *log)
{
    int err = rb_disk_sim_flush_log(g_sim, log);
    cr_assert_eq(err, 0, "flush: %d", err);
}

/* The broker's way: -ENOBUFS -> flush (its callback waits for the background
 * work) -> retry. */
static int append_retry(struct rb_log *log, size_t bytes, uint32_t seed)
{
    int err, tries = 0;
    while ((err = append(log, bytes, seed)) == -ENOBUFS) {
        cr_assert_lt(++tries, 8);
        flush_ok(log);
    }
    return err;
}

static void append_wait(struct rb_log *log, size_t bytes, uint32_t seed)
{
    int err = append_retry(log, bytes, seed);
    cr_assert_eq(err, 0, "append: %d", err);
}

static uint64_t file_size(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return stat(p, &st) < 0 ? UINT64_MAX : (uint64_t)st.st_size;
}

static const char *seg_name(int64_t base)
{
    static char name[64];
    snprintf(name, sizeof(name), "%020lld.log", (long long)base);
    return name;
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

Test(log_seg, append_waits_for_pending_preallocation)
{
    struct rb_log_config c;
    cfg(&c, 1 << 20);
    struct rb_log *log = open_log(&c);
    /* lazy: an idle log has nothing preallocated; the first append reserves a step */
    cr_assert_eq(file_size(seg_name(0)), 0, "preallocated at open");
    cr_assert_eq(append(log, 4096, 0), 0);
    uint64_t first = file_size(seg_name(0));
    cr_assert_eq(first, 64u << 10, "reserved by the first append: %llu", (unsigned long long)first);
    /* 4 KiB batches, the disk never completing: growth starts at half the room, and
     * the append that needs it is refused while it is pending */
    int n = 1, err;
    while ((err = append(log, 4096, (uint32_t)n)) == 0)
        n++;
    cr_assert_eq(err, -ENOBUFS);
    cr_assert_eq(n, 16, "appends before the room ran out: %d", n);
    cr_assert(rb_log_busy(log));
    struct rb_disk_sim_stats st;
    rb_disk_sim_get_stats(g_sim, &st);
    cr_assert_eq(st.fallocates, 1);
    cr_assert_gt(rb_disk_sim_pending(g_sim), 0);
    /* the flush the owner starts for the refused append calls back only once the
     * growth is done, so the retry finds room */
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_flush(log, rec_cb, &r), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.res, 0);
    cr_assert(!rb_log_busy(log));
    cr_assert_eq(rb_log_durable_end(log), n);
    cr_assert_eq(file_size(seg_name(0)), 128u << 10); /* grown by fallocate + zeros */
    cr_assert_eq(append(log, 4096, 99), 0);
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
    cr_assert_eq(file_size(seg_name(0)), (uint64_t)(n + 1) * 4096); /* trimmed */
}

Test(log_seg, writes_never_extend_the_file)
{
    struct rb_log_config c;
    cfg(&c, 1 << 20);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 100; i++) {
        uint64_t before = file_size(seg_name(0));
        append_wait(log, 3000, (uint32_t)i);
        flush_ok(log);
        uint64_t after = file_size(seg_name(0));
        /* the file only grows in whole preallocation steps, never by a write */
        cr_assert(after == before || after % (64u << 10) == 0, "size %llu",
                  (unsigned long long)after);
        cr_assert_geq(after, (uint64_t)(i + 1) * 3000);
    }
    rb_log_close(log);
}

/* 1 MiB segments, 64 KiB steps: 7 blocks appended, the next one starts the growth. */
static struct rb_log *almost_half_full(void)
{
    struct rb_log_config c;
    cfg(&c, 1 << 20);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(append(log, 4096, (uint32_t)i), 0);
    return log;
}

Test(log_seg, last_step_shrinks_when_the_disk_is_full)
{
    struct rb_log *log = almost_half_full();
    rb_disk_sim_fail_fallocate(g_sim, 1, ENOSPC); /* the full step does not fit */
    cr_assert_eq(append(log, 4096, 7), 0);        /* half the room used: growth starts */
    rb_disk_sim_run(g_sim);
    struct rb_disk_sim_stats st;
    rb_disk_sim_get_stats(g_sim, &st);
    cr_assert_eq(st.fallocates, 2);
    cr_assert_eq(file_size(seg_name(0)), 96u << 10, "half a step: %llu",
                 (unsigned long long)file_size(seg_name(0)));
    flush_ok(log);
    rb_log_close(log);
}

Test(log_seg, a_full_disk_seen_ahead_refuses_no_append_after_space_returns)
{
    struct rb_log *log = almost_half_full();
    rb_disk_sim_disk_full(g_sim, true);
    cr_assert_eq(append(log, 4096, 7), 0); /* half the room used: growth ahead starts */
    rb_disk_sim_run(g_sim);                /* and finds no room, down to its last step */
    struct rb_disk_sim_stats st;
    rb_disk_sim_get_stats(g_sim, &st);
    cr_assert_geq(st.fallocates, 2);
    cr_assert_eq(file_size(seg_name(0)), 64u << 10);
    flush_ok(log);
    rb_disk_sim_disk_full(g_sim, false); /* space comes back before any append needs it */
    for (int i = 8; i < 40; i++)
        append_wait(log, 4096, (uint32_t)i); /* none gets -ENOSPC */
    flush_ok(log);
    cr_assert_gt(file_size(seg_name(0)), 64u << 10);
    rb_log_close(log);
}

Test(log_seg, an_append_that_needs_room_on_a_full_disk_gets_enospc_once)
{
    struct rb_log_config c;
    cfg(&c, 1 << 20);
    struct rb_log *log = open_log(&c);
    rb_disk_sim_disk_full(g_sim, true);
    int err = 0, i = 0;
    while (i < 40 && !(err = append_retry(log, 4096, (uint32_t)i)))
        i++;
    cr_assert_eq(err, -ENOSPC, "append %d: %d", i, err);
    cr_assert_eq(file_size(seg_name(0)), 64u << 10, "the first step only");
    rb_disk_sim_disk_full(g_sim, false);
    append_wait(log, 4096, (uint32_t)i); /* the next one tries again, and there is room */
    flush_ok(log);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), i + 1);
    rb_log_close(log);
}

Test(log_seg, preallocation_starts_at_64_kib_and_doubles)
{
    struct rb_log_config c;
    cfg(&c, 1 << 30);
    c.prealloc_bytes = 16 << 20;
    struct rb_log *log = open_log(&c);
    append_wait(log, 1000, 0);
    flush_ok(log);
    cr_assert_eq(file_size(seg_name(0)), 64u << 10, "first step: %llu",
                 (unsigned long long)file_size(seg_name(0)));
    for (int i = 1; i <= 100; i++)
        append_wait(log, 3000, (uint32_t)i);
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    uint64_t sz = file_size(seg_name(0));
    cr_assert(sz >= 301000 && sz <= (1u << 20), "about 300 KB written: file %llu",
              (unsigned long long)sz);
    rb_log_close(log);
}

/* Relaxed durability (flush.messages > 1, part/flush.c) writes without syncing:
 * an append refused while the growth it needs runs must get its callback from a
 * write-only flush too, even when everything is written, without a sync (the
 * t_flush_relaxed failure: the owner synced for it, on a disk whose fsyncs fail). */
Test(log_seg, a_write_only_flush_waits_for_the_growth_an_append_needs)
{
    struct rb_log_config c;
    cfg(&c, 1 << 20);
    struct rb_log *log = open_log(&c);
    rb_disk_sim_disk_full(g_sim, true); /* the growth ahead fails: none in flight later */
    for (int i = 0; i < 16; i++)        /* the 64 KiB the first append reserved */
        cr_assert_eq(append(log, 4096, (uint32_t)i), 0);
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_write_out(log, rec_cb, &r), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(rb_log_written_end(log), 16);
    rb_disk_sim_disk_full(g_sim, false);
    struct rb_disk_sim_stats st;
    rb_disk_sim_get_stats(g_sim, &st);
    uint64_t syncs = st.syncs;
    /* everything written; this append needs the next step, which starts now */
    cr_assert_eq(append(log, 4096, 16), -ENOBUFS);
    cr_assert(!rb_log_sync_wanted(log), "room, not a roll: no sync needed");
    /* the write-only flush has nothing to write and still calls back once there
     * is room, without a sync */
    r = (struct cb_rec){0};
    cr_assert_eq(rb_log_write_out(log, rec_cb, &r), 0);
    cr_assert_eq(r.calls, 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.res, 0);
    cr_assert_eq(append(log, 4096, 16), 0, "the retry finds room");
    rb_disk_sim_get_stats(g_sim, &st);
    cr_assert_eq(st.syncs, syncs, "no fdatasync for room");
    flush_ok(log);
    rb_log_close(log);
}

/* A roll needs the old segment durable: the refused append asks for a sync. */
Test(log_seg, an_append_waiting_for_a_roll_wants_a_sync)
{
    struct rb_log_config c;
    cfg(&c, 16 << 10);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(append(log, 4096, (uint32_t)i), 0);
    cr_assert_eq(append(log, 4096, 4), -ENOBUFS); /* full: the roll needs it durable */
    cr_assert(rb_log_sync_wanted(log));
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    cr_assert(!rb_log_sync_wanted(log));
    rb_log_close(log);
}

Test(log_seg, next_segment_prepared_ahead_and_rolled_into)
{
    struct rb_log_config c;
    cfg(&c, 16 << 10);
    struct rb_log *log = open_log(&c);
    cr_assert_eq(append(log, 4096, 0), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(file_size(NEXT_FILE), UINT64_MAX); /* a quarter full: not yet */
    cr_assert_eq(append(log, 4096, 1), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_neq(file_size(NEXT_FILE), UINT64_MAX); /* half full: prepared */
    cr_assert_gt(file_size(NEXT_FILE), 0);
    cr_assert_eq(append(log, 4096, 2), 0);
    cr_assert_eq(append(log, 4096, 3), 0);
    /* full: the roll needs a durable segment, then runs in the background */
    cr_assert_eq(append(log, 4096, 4), -ENOBUFS);
    flush_ok(log);
    cr_assert_eq(append(log, 4096, 4), -ENOBUFS);
    cr_assert(rb_log_busy(log));
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_flush(log, rec_cb, &r), 0);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert(!rb_log_busy(log));
    cr_assert_eq(file_size(seg_name(0)), 16u << 10); /* trimmed before the rename */
    cr_assert_neq(file_size(seg_name(4)), UINT64_MAX);
    /* the rolled segment's index files follow in the background, before any close */
    cr_assert_eq(file_size("00000000000000000000.index"), 3 * 8, "index %llu",
                 (unsigned long long)file_size("00000000000000000000.index"));
    cr_assert_eq(file_size("00000000000000000000.timeindex"), 12);
    cr_assert_eq(file_size("00000000000000000000.index.tmp"), UINT64_MAX);
    cr_assert_eq(append(log, 4096, 4), 0);
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 5);
    rb_log_close(log);
}

/* Fill segments [0,4) [4,8) [8,12) [12,...) with 4 KiB one-record batches. */
static struct rb_log *three_segments(const struct rb_log_config *c)
{
    struct rb_log *log = open_log(c);
    for (int i = 0; i < 13; i++)
        append_wait(log, 4096, (uint32_t)i);
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(rb_log_end_offset(log), 13);
    cr_assert_eq(file_size(seg_name(12)) == UINT64_MAX, false);
    return log;
}

/* Drop segment 0 by DeleteRecords: its file waits file.delete.delay.ms (default
 * 60 s) as 00000000000000000000.log.deleted, then becomes the next segment. */
static void recycle_first(struct rb_log *log)
{
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 4, &rm), 0);
    cr_assert_eq(rm.n, 1);
    cr_assert_eq(rm.kind, RB_RM_RENAME_DELETED);
    cr_assert_not(rm.keep_first_log); /* not recycled at the drop */
    rb_disk_sim_run(g_sim);
    cr_assert_not(rb_log_busy(log));
    rb_log_removed_unlink(&rm);
    cr_assert_eq(file_size(seg_name(0)), UINT64_MAX);
    cr_assert_eq(file_size("00000000000000000000.log.deleted"), 16u << 10);
    cr_assert_neq(file_size("00000000000000000000.index.deleted"), UINT64_MAX);
    cr_assert_eq(file_size("00000000000000000000.index"), UINT64_MAX);
    cr_assert_eq(file_size(NEXT_FILE), UINT64_MAX);
    /* not due yet: nothing to remove, nothing recycled */
    cr_assert_eq(rb_log_deleted_due(log, 5000 + 60000 - 1, &rm), 0);
    cr_assert_eq(rm.n, 0);
    cr_assert_not(rb_log_busy(log));
    rb_log_removed_free(&rm);
    cr_assert_eq(file_size("00000000000000000000.log.deleted"), 16u << 10);
    /* due: the .log is recycled, the rest unlinked */
    cr_assert_eq(rb_log_deleted_due(log, 5000 + 60000, &rm), 0);
    cr_assert_eq(rm.n, 1);
    cr_assert_eq(rm.kind, RB_RM_UNLINK_DELETED);
    cr_assert(rm.keep_first_log);
    rb_disk_sim_run(g_sim);
    rb_log_removed_unlink(&rm);
    cr_assert_eq(file_size("00000000000000000000.log.deleted"), UINT64_MAX);
    cr_assert_eq(file_size("00000000000000000000.index.deleted"), UINT64_MAX);
    cr_assert_eq(file_size("00000000000000000000.timeindex.deleted"), UINT64_MAX);
    cr_assert_eq(file_size(NEXT_FILE), 16u << 10, "recycled: %llu",
                 (unsigned long long)file_size(NEXT_FILE));
    /* handed out once */
    cr_assert_eq(rb_log_deleted_due(log, 5000 + 120000, &rm), 0);
    cr_assert_eq(rm.n, 0);
    rb_log_removed_free(&rm);
}

Test(log_seg, recycle_waits_for_the_delete_delay)
{
    struct rb_log_config c;
    cfg(&c, 16 << 10);
    struct rb_log *log = three_segments(&c);
    recycle_first(log);
    rb_log_close(log);
}

Test(log_seg, recycle_at_once_without_a_delete_delay)
{
    struct rb_log_config c;
    cfg(&c, 16 << 10);
    c.file_delete_delay_ms = 0;
    struct rb_log *log = three_segments(&c);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 4, &rm), 0);
    cr_assert_eq(rm.n, 1);
    cr_assert_eq(rm.kind, RB_RM_UNLINK);
    cr_assert(rm.keep_first_log);
    rb_disk_sim_run(g_sim);
    rb_log_removed_unlink(&rm);
    cr_assert_eq(file_size(seg_name(0)), UINT64_MAX);
    cr_assert_eq(file_size("00000000000000000000.log.deleted"), UINT64_MAX);
    cr_assert_eq(file_size(NEXT_FILE), 16u << 10);
    rb_log_close(log);
}

/* Read the batch at pos of a file: its base offset (-1 when none parses). */
static int64_t batch_at(const char *name, uint64_t pos)
{
    char p[256];
    uint8_t hdr[RB_BATCH_HEADER_BYTES];
    struct rb_batch_info bi;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    int fd = open(p, O_RDONLY);
    cr_assert_geq(fd, 0);
    ssize_t n = pread(fd, hdr, sizeof(hdr), (off_t)pos);
    close(fd);
    if (n != (ssize_t)sizeof(hdr) || rb_batch_parse(hdr, 1 << 20, &bi) != RB_BATCH_OK)
        return -1;
    return bi.base_offset;
}

/* Crash in a child: everything up to stop happens, the log is never closed. */
static void crashing_child(int stop)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rb_log_config c;
        cfg(&c, 16 << 10);
        struct rb_log *log = three_segments(&c);
        recycle_first(log);
        /* fill segment [12,16) and roll into the recycled file */
        for (int i = 13; i < 16; i++)
            append_wait(log, 4096, (uint32_t)i);
        for (int i = 16; i < 16 + stop; i++)
            append_wait(log, 4096, (uint32_t)i);
        while (stop == 0 && file_size(seg_name(16)) == UINT64_MAX) {
            /* only the roll: [16, ...) exists and holds nothing */
            if (append(log, 4096, 16) != -ENOBUFS)
                _exit(8);
            flush_ok(log);
        }
        flush_ok(log);
        rb_disk_sim_run(g_sim);
        _exit(rb_log_end_offset(log) == 16 + stop && file_size(seg_name(16)) != UINT64_MAX ? 0 : 7);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

static void check_recovered(int64_t want_end)
{
    struct rb_log_config c;
    cfg(&c, 16 << 10);
    c.recovery_point = 12;
    struct rb_log *log = open_log(&c);
    cr_assert(!rb_log_offline(log));
    cr_assert_eq(rb_log_end_offset(log), want_end, "end %lld", (long long)rb_log_end_offset(log));
    static uint8_t buf[1 << 16];
    for (int64_t off = 4; off < want_end; off++) {
        uint32_t len = 0;
        cr_assert_eq(rb_log_read_copy(log, off, want_end, 4096, true, buf, sizeof(buf), &len), 0);
        cr_assert_eq(len, 4096);
        struct rb_batch_info bi;
        cr_assert_eq(rb_batch_validate(buf, len, &bi), RB_BATCH_OK);
        cr_assert_eq(bi.base_offset, off);
        build(4096, (uint32_t)off);
        cr_assert_eq(memcmp(buf + 8, g_batch + 8, 4096 - 8), 0, "offset %lld", (long long)off);
    }
    /* the log goes on from there */
    append_wait(log, 4096, (uint32_t)want_end);
    flush_ok(log);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
}

Test(log_seg, recycled_file_stale_batch_at_start_is_cut)
{
    crashing_child(0);
    /* segment 16 is the recycled file of segment 0: its first block still holds the
     * old batch of offset 0, with a correct CRC */
    cr_assert_eq(batch_at(seg_name(16), 0), 0);
    check_recovered(16);
}

Test(log_seg, recycled_file_stale_batch_after_the_data_is_cut)
{
    crashing_child(2);
    /* two new 4 KiB batches, then the old life's third batch (offset 2) on a block
     * boundary - a stale batch that parses and carries a good CRC */
    cr_assert_eq(batch_at(seg_name(16), 0), 16);
    cr_assert_eq(batch_at(seg_name(16), 4096), 17);
    cr_assert_eq(batch_at(seg_name(16), 8192), 2);
    check_recovered(18);
}

Test(log_seg, segment_names_parse_only_in_kafkas_form)
{
    int64_t off = -1;
    cr_assert(rb_segment_name_parse("00000000000000000042.log", ".log", &off));
    cr_assert_eq(off, 42);
    cr_assert(rb_segment_name_parse("00000000001234567890.snapshot", ".snapshot", &off));
    cr_assert_eq(off, 1234567890);
    cr_assert(!rb_segment_name_parse("99999999999999999999.log", ".log", &off)); /* overflow */
    cr_assert(!rb_segment_name_parse("0000000000000000042.log", ".log", &off));  /* 19 digits */
    cr_assert(!rb_segment_name_parse("0000000000000000004x.log", ".log", &off));
    cr_assert(!rb_segment_name_parse("00000000000000000042.index", ".log", &off));
    cr_assert(!rb_segment_name_parse("00000000000000000042.log.deleted", ".log", &off));
}
