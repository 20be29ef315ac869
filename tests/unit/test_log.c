/*
 * tests/unit/test_log.c - the partition log (storage/log*.c, index.c) over the
 * simulated disk (storage/disk_sim.c): round trips, rolls, indexes, close/reopen,
 * injected faults, dirty budget, time lookups, reconfiguration and exact reads.
 * Crash recovery and torn tails are in test_segment.c; the fixture is shared
 * through log_test_fixture.h.
 */
#include "log_test_fixture.h"
#include "storage/epoch_cache.h"
#include "storage/index.h"

#include <fcntl.h>
#include <unistd.h>

TestSuite(log, .init = setup, .fini = teardown);

Test(log, append_flush_read_round_trip)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 0);
    for (int i = 0; i < 10; i++)
        append_ok(log, 3, 50, 1000 + i);
    cr_assert(rb_log_dirty(log));
    cr_assert_eq(rb_log_durable_end(log), 0);
    cr_assert_eq(rb_log_size_bytes(log), sum_len(0, 10));
    flush_ok(log);
    cr_assert_not(rb_log_dirty(log));

    uint32_t len;
    cr_assert_eq(rb_log_read_copy(log, 0, 30, 1 << 20, false, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(check_batches(g_rbuf, len, 0), 10);
    /* offset inside a batch starts at that batch */
    cr_assert_eq(rb_log_read_copy(log, 4, 30, 1 << 20, false, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(check_batches(g_rbuf, len, 1), 9);
    /* max_bytes: whole batches only */
    uint32_t two = (uint32_t)(g_len[0] + g_len[1]);
    cr_assert_eq(rb_log_read_copy(log, 0, 30, two + 5, false, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(len, two);
    cr_assert_eq(rb_log_read_copy(log, 0, 30, 1, false, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(rb_log_read_copy(log, 0, 30, 1, true, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(len, g_len[0]);
    /* upto excludes batches starting at or after it */
    cr_assert_eq(rb_log_read_copy(log, 0, 6, 1 << 20, false, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(check_batches(g_rbuf, len, 0), 2);
    /* ranges */
    struct rb_log_slice s;
    cr_assert_eq(rb_log_read(log, 30, 30, 1000, true, &s), 0);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(rb_log_read(log, 31, 30, 1000, true, &s), -ERANGE);
    cr_assert_eq(rb_log_read(log, -1, 30, 1000, true, &s), -ERANGE);
    check_all(log, 30);
    rb_log_close(log);
}

Test(log, reads_from_memory_then_file_after_chunks_freed)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.prealloc_bytes = 1 << 20; /* ~57 KiB: all fit the 64 KiB of the first append */
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 14; i++)
        append_ok(log, 2, 2000, 1000 + i);
    /* not yet durable: only readable with upto = end, from memory */
    struct rb_log_slice s;
    cr_assert_eq(rb_log_read(log, 0, rb_log_end_offset(log), 1 << 20, true, &s), 0);
    cr_assert_gt(s.n, 0);
    for (int i = 0; i < s.n; i++)
        cr_assert_not_null(s.piece[i].mem);
    cr_assert_eq(rb_log_read(log, 0, rb_log_durable_end(log), 1 << 20, true, &s), 0);
    cr_assert_eq(s.bytes, 0);
    flush_ok(log);
    /* ~57 KiB in 16 KiB chunks: the first ones are freed and read from the file */
    cr_assert_eq(rb_log_read(log, 0, rb_log_durable_end(log), 1 << 20, true, &s), 0);
    cr_assert_geq(s.n, 2);
    cr_assert_null(s.piece[0].mem);
    cr_assert_geq(s.piece[0].fd, 0);
    cr_assert_eq(s.piece[0].file_pos, 0);
    cr_assert_not_null(s.piece[s.n - 1].mem);
    check_all(log, rb_log_durable_end(log));
    rb_log_close(log);
}

Test(log, segment_roll_and_reads_across_segments)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = open_log(&c);
    int rolls_blocked = 0;
    for (int i = 0; i < 30; i++)
        rolls_blocked += append_wait(log, 2, 1500, 1000 + i) > 0;
    flush_ok(log);
    cr_assert_gt(rolls_blocked, 0);
    int segs = count_files(".log");
    cr_assert_geq(segs, 3, "segments: %d", segs);
    cr_assert(file_size("00000000000000000000.log") <= 16 << 10);
    cr_assert_eq(rb_log_size_bytes(log), sum_len(0, g_n));
    check_all(log, rb_log_end_offset(log));
    /* a read stays in one segment */
    uint32_t len;
    cr_assert_eq(rb_log_read_copy(log, 0, rb_log_end_offset(log), 1 << 20, false, g_rbuf,
                                  sizeof(g_rbuf), &len),
                 0);
    cr_assert_leq(len, 16u << 10);
    int n = check_batches(g_rbuf, len, 0);
    cr_assert_lt(n, g_n);
    /* the next segment is named after the next offset */
    char name[64];
    snprintf(name, sizeof(name), "%020ld.log", (long)g_base[n]);
    cr_assert_neq(file_size(name), UINT64_MAX, "missing %s", name);
    rb_log_close(log);
}

Test(log, segment_ms_rolls)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_ms = 1000;
    struct rb_log *log = open_log(&c);
    append_ok(log, 1, 10, 1000);
    flush_ok(log);
    append_ok(log, 1, 10, 1500);
    flush_ok(log);
    cr_assert_eq(count_files(".log"), 1);
    append_wait(log, 1, 10, 2500);
    cr_assert_eq(g_base[g_n - 1], 2);
    cr_assert_eq(count_files(".log"), 2);
    cr_assert_neq(file_size("00000000000000000002.log"), UINT64_MAX);
    rb_log_close(log);
}

Test(log, index_files_point_at_batches)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 40; i++)
        append_ok(log, 3, 300, 1000 + 10 * i);
    flush_ok(log);
    rb_log_close(log);
    char p[256];
    uint8_t idx[4096];
    snprintf(p, sizeof(p), "%s/00000000000000000000.index", g_dir);
    int fd = open(p, O_RDONLY);
    cr_assert_geq(fd, 0);
    ssize_t n = read(fd, idx, sizeof(idx));
    close(fd);
    cr_assert_gt(n, 0);
    cr_assert_eq(n % 8, 0);
    /* index.interval.bytes 1024 and ~1 KiB batches: about one entry per batch */
    cr_assert_geq(n / 8, 10);
    for (ssize_t e = 0; e < n / 8; e++) {
        uint32_t rel = rb_get_be32(idx + 8 * e), pos = rb_get_be32(idx + 8 * e + 4);
        int i = batch_of(rel);
        cr_assert_geq(i, 0);
        cr_assert_eq(pos, sum_len(0, i), "entry %zd", e);
        cr_assert_eq(rel, g_base[i] + 2, "entries name the batch's last offset");
    }
    snprintf(p, sizeof(p), "%s/00000000000000000000.timeindex", g_dir);
    cr_assert_eq(file_size("00000000000000000000.timeindex") % 12, 0);
    cr_assert_gt(file_size("00000000000000000000.timeindex"), 0);
    log = open_log(&c);
    check_all(log, rb_log_end_offset(log));
    rb_log_close(log);
}

Test(log, clean_close_and_reopen)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 10; i++)
        append_ok(log, 2, 700, 1000 + i);
    flush_ok(log);
    append_ok(log, 1, 100, 2000); /* dirty at close: close writes it */
    cr_assert_gt(file_size("00000000000000000000.log"), sum_len(0, g_n)); /* preallocated */
    rb_log_close(log);
    cr_assert_eq(file_size("00000000000000000000.log"), sum_len(0, g_n));
    cr_assert_neq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);

    log = open_log(&c);
    /* the marker stays while the log runs (its size check catches a crash) */
    cr_assert_neq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);
    cr_assert(rb_log_untouched(log), "the marker holds");
    cr_assert_eq(rb_log_end_offset(log), 21);
    cr_assert_eq(rb_log_durable_end(log), 21);
    check_all(log, 21);
    append_ok(log, 2, 100, 3000);
    cr_assert_eq(g_base[g_n - 1], 21);
    flush_ok(log);
    check_all(log, 23);
    rb_log_close(log);
    log = open_log(&c);
    check_all(log, 23);
    rb_log_close(log);
}

struct cb_rec {
    int calls;
    int res;
};

static void rec_cb(struct rb_log *log, int res, void *arg)
{
    struct cb_rec *r = arg;
    r->calls++;
    r->res = res;
}

static void expect_offline(struct rb_log *log)
{
    struct rb_log_slice s;
    cr_assert(rb_log_offline(log));
    cr_assert_eq(append(log, 1, 10, 5000), -EIO);
    cr_assert_eq(rb_log_read(log, 0, rb_log_end_offset(log), 1000, true, &s), -EIO);
    cr_assert_eq(rb_log_flush(log, rec_cb, NULL), -EIO);
    int64_t o, t;
    cr_assert_eq(rb_log_offset_for_time(log, 0, &o, &t), -EIO);
}

Test(log, injected_write_failure_takes_log_offline)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 1, 10, 1000);
    flush_ok(log);
    append_ok(log, 1, 10, 1001);
    rb_disk_sim_fail_write(g_sim, 1, EIO);
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_flush(log, rec_cb, &r), 0);
    cr_assert_eq(r.calls, 0, "never completes inline");
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.res, -EIO);
    cr_assert_eq(rb_log_durable_end(log), 1);
    expect_offline(log);
    rb_log_close(log);
}

Test(log, injected_sync_failure_takes_log_offline)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 1, 10, 1000);
    rb_disk_sim_fail_sync(g_sim, 1, ENOSPC);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), -ENOSPC);
    cr_assert_eq(rb_log_durable_end(log), 0);
    expect_offline(log);
    rb_log_close(log);
}

Test(log, short_write_takes_log_offline)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 4, 3000, 1000);
    rb_disk_sim_short_write(g_sim, 1, 4096);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), -EIO);
    expect_offline(log);
    rb_log_close(log);
}

Test(log, offset_for_time)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 8 << 10;
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 30; i++)
        append_wait(log, 2, 300, 10000 + 100 * i); /* max ts 10001 + 100 i */
    flush_ok(log);
    cr_assert_geq(count_files(".log"), 2);
    int64_t off, ts;
    for (int pass = 0; pass < 2; pass++) {
        cr_assert_eq(rb_log_offset_for_time(log, 0, &off, &ts), 0);
        cr_assert_eq(off, 0);
        cr_assert_eq(ts, 10001);
        for (int i = 0; i < 30; i++) {
            cr_assert_eq(rb_log_offset_for_time(log, 10001 + 100 * i, &off, &ts), 0);
            cr_assert_eq(off, g_base[i], "exact ts %d", i);
            cr_assert_eq(rb_log_offset_for_time(log, 9950 + 100 * i, &off, &ts), 0);
            cr_assert_eq(off, g_base[i], "between %d", i);
            cr_assert_eq(ts, 10001 + 100 * i);
        }
        cr_assert_eq(rb_log_offset_for_time(log, 10001 + 100 * 30, &off, &ts), -ENOENT);
        rb_log_close(log); /* second pass: from the index files */
        log = open_log(&c);
    }
    rb_log_close(log);
}

Test(log, dirty_budget_gives_enobufs)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.max_dirty_bytes = 32 << 10;
    struct rb_log *log = open_log(&c);
    int err = 0, n = 0;
    while (!(err = append(log, 1, 4000, 1000)))
        n++;
    cr_assert_eq(err, -ENOBUFS);
    cr_assert_geq(n, 6);
    cr_assert_leq(sum_len(0, g_n), 32u << 10);
    flush_ok(log);
    append_ok(log, 1, 4000, 1000);
    rb_log_close(log);
}

Test(log, appends_during_inflight_flush)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.max_dirty_bytes = 40 << 10;
    struct rb_log *log = open_log(&c);
    append_ok(log, 2, 1000, 1000); /* partial block */
    struct cb_rec r = {0};
    cr_assert_eq(rb_log_flush(log, rec_cb, &r), 0);
    cr_assert(rb_log_flushing(log));
    cr_assert_eq(rb_log_flush(log, rec_cb, &r), -EBUSY);
    int64_t at_flush = rb_log_end_offset(log);
    int err;
    while (!(err = append(log, 2, 1000, 1001)))
        ; /* touch the partial block being written, then fill the budget */
    cr_assert_eq(err, -ENOBUFS);
    rb_disk_sim_run(g_sim);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.res, 0);
    cr_assert_eq(rb_log_durable_end(log), at_flush);
    flush_ok(log);
    check_all(log, rb_log_end_offset(log));
    rb_log_close(log);
    log = open_log(&c);
    check_all(log, rb_log_end_offset(log));
    rb_log_close(log);
}

Test(log, log_append_time_rewrites_timestamp_and_crc)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.log_append_time = true;
    struct rb_log *log = open_log(&c);
    append_ok(log, 3, 100, 777); /* now_ms = 777 */
    flush_ok(log);
    uint32_t len;
    cr_assert_eq(rb_log_read_copy(log, 0, 3, 1 << 20, true, g_rbuf, sizeof(g_rbuf), &len), 0);
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(g_rbuf, len, &bi), RB_BATCH_OK);
    cr_assert(bi.attributes & RB_BATCH_ATTR_TIMESTAMP_TYPE);
    cr_assert_eq(bi.max_timestamp, 777);
    rb_log_close(log);
}

Test(log, destroy_removes_directory)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 1, 10, 1000);
    flush_ok(log);
    cr_assert_eq(rb_log_destroy(log), 0);
    struct stat st;
    cr_assert_eq(stat(g_dir, &st), -1);
}

Test(log, bad_config_rejected)
{
    struct rb_log_config c;
    struct rb_log *log;
    small_cfg(&c);
    c.chunk_bytes = 1000;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 0), -EINVAL);
}

Test(log, reconfigure_segment_bytes_applies_at_next_roll)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 1 << 30;
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 10; i++)
        append_wait(log, 2, 1500, 1000 + i);
    flush_ok(log);
    cr_assert_eq(count_files(".log"), 1);
    struct rb_log_config n = c;
    n.segment_bytes = 8 << 10;
    n.retention_ms = 5;
    n.flush_messages = 7;
    n.flush_ms = 99;
    n.chunk_bytes = c.chunk_bytes * 2; /* fixed at open: ignored */
    cr_assert_eq(rb_log_reconfigure(log, &n), 0);
    int64_t fm, fms;
    rb_log_flush_policy(log, &fm, &fms);
    cr_assert_eq(fm, 7);
    cr_assert_eq(fms, 99);
    /* the active segment (already past 8 KiB) rolls at the next append */
    for (int i = 0; i < 10; i++)
        append_wait(log, 2, 1500, 2000 + i);
    flush_ok(log);
    int segs = count_files(".log");
    cr_assert_geq(segs, 3, "segments after segment.bytes 8 KiB: %d", segs);
    check_all(log, rb_log_end_offset(log));
    /* retention.ms now applies: everything but the active segment is old */
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 1000000, -1, &rm), 0);
    cr_assert_eq(rm.n, segs - 1);
    rb_log_removed_unlink(&rm);
    /* a bad config changes nothing */
    n.segment_bytes = 1;
    cr_assert_eq(rb_log_reconfigure(log, &n), -EINVAL);
    rb_log_close(log);
}

/* Batches a read from off should return: whole ones below upto within maxb. */
static int expect_batches(int64_t off, int64_t upto, uint32_t maxb, bool min_one)
{
    uint64_t bytes = 0;
    int n = 0;
    for (int i = batch_of(off); i >= 0 && i < g_n && g_base[i] < upto; i++, n++) {
        if (bytes + g_len[i] > maxb && !(n == 0 && min_one))
            break;
        bytes += g_len[i];
    }
    return n;
}

/* Every offset, several max_bytes and upto bounds: exactly the expected batches. */
static void check_reads_exact(struct rb_log *log)
{
    static const uint32_t maxbs[] = {1, 300, 1000, 2500, 5000, 1 << 20};
    int64_t end = rb_log_end_offset(log);
    for (int64_t off = 0; off < end; off++) {
        int64_t uptos[] = {end, end / 2, off + 1, off + 7};
        for (size_t u = 0; u < sizeof(uptos) / sizeof(uptos[0]); u++) {
            int64_t upto = RB_MIN(uptos[u], end);
            if (upto <= off)
                continue;
            for (size_t m = 0; m < sizeof(maxbs) / sizeof(maxbs[0]); m++)
                for (int mo = 0; mo < 2; mo++) {
                    uint32_t len = 0;
                    int err = rb_log_read_copy(log, off, upto, maxbs[m], mo, g_rbuf, sizeof(g_rbuf),
                                               &len);
                    cr_assert_eq(err, 0, "read %ld: %d", (long)off, err);
                    int want = expect_batches(off, upto, maxbs[m], mo);
                    int got = len ? check_batches(g_rbuf, len, batch_of(off)) : 0;
                    cr_assert_eq(got, want, "off %ld upto %ld max %u min_one %d: %d batches",
                                 (long)off, (long)upto, maxbs[m], mo, got);
                }
        }
    }
}

Test(log, reads_across_index_intervals_are_exact)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.prealloc_bytes = 1 << 20;
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 60; i++)
        append_wait(log, 1 + i % 3, 40 + (uint32_t)(i * 37) % 400, 1000 + i);
    check_reads_exact(log); /* from memory (mostly) */
    flush_ok(log);
    check_reads_exact(log); /* file, then the chunks still held */
    rb_log_close(log);
    log = open_log(&c);
    check_reads_exact(log); /* file only, index loaded from its file */
    rb_log_close(log);
}

Test(log, reads_exact_with_an_index_file_that_disagrees)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 60; i++)
        append_wait(log, 1 + i % 3, 40 + (uint32_t)(i * 37) % 400, 1000 + i);
    flush_ok(log);
    rb_log_close(log);
    /* Every entry now names the batch before its own: still a batch start at or
     * before the offset (lookups stay right), but a skip lands on a header whose
     * last offset is not the entry's. */
    char p[256];
    uint8_t idx[4096];
    snprintf(p, sizeof(p), "%s/00000000000000000000.index", g_dir);
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0);
    ssize_t n = read(fd, idx, sizeof(idx));
    cr_assert_geq(n / 8, 8);
    for (ssize_t e = 0; e < n / 8; e++) {
        int i = batch_of(rb_get_be32(idx + 8 * e));
        cr_assert_gt(i, 0);
        uint32_t pos = (uint32_t)sum_len(0, i - 1);
        idx[8 * e + 4] = (uint8_t)(pos >> 24);
        idx[8 * e + 5] = (uint8_t)(pos >> 16);
        idx[8 * e + 6] = (uint8_t)(pos >> 8);
        idx[8 * e + 7] = (uint8_t)pos;
    }
    cr_assert_eq(pwrite(fd, idx, (size_t)n, 0), n);
    close(fd);
    log = open_log(&c);
    check_reads_exact(log);
    rb_log_close(log);
}

/* Kafka's smallest segment.bytes (14) and segment.index.bytes (4) are legal: each
 * segment then holds one batch, every append to a non-empty segment rolls it. */
Test(log, kafka_minimum_segment_and_index_bytes_hold_one_batch_each)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = RB_LOG_SEGMENT_BYTES_MIN;
    c.segment_index_bytes = RB_LOG_INDEX_BYTES_MIN;
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 4; i++)
        append_wait(log, 2, 100, 1000 + i);
    flush_ok(log);
    cr_assert_eq(count_files(".log"), 4);
    check_all(log, rb_log_end_offset(log));
    cr_assert_eq(rb_log_end_offset(log), 8);
    struct rb_log_config n = c;
    n.segment_bytes = RB_LOG_SEGMENT_BYTES_MIN - 1;
    cr_assert_eq(rb_log_reconfigure(log, &n), -EINVAL);
    n = c;
    n.segment_index_bytes = RB_LOG_INDEX_BYTES_MIN - 1;
    cr_assert_eq(rb_log_reconfigure(log, &n), -EINVAL);
    rb_log_close(log);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Lazy opens: an opened log (new or reopened with data) holds no descriptor and
 * reserves no disk until it is written; reads open what they need; the first
 * append opens the write descriptor and reserves the first step. */
Test(log, cold_log_holds_no_descriptor_and_no_preallocation)
{
    struct rb_log_config c;
    small_cfg(&c);
    int base = open_fds();
    struct rb_log *log = open_log(&c);
    cr_assert_eq(open_fds(), base, "a new log holds descriptors");
    cr_assert_eq(file_size("00000000000000000000.log"), 0);
    append_ok(log, 3, 500, 1000);
    flush_ok(log);
    cr_assert_gt(open_fds(), base);
    uint64_t logical = rb_log_size_bytes(log);
    cr_assert_gt(file_size("00000000000000000000.log"), logical, "first append reserves");
    rb_log_close(log);
    cr_assert_eq(file_size("00000000000000000000.log"), logical, "close trims");
    cr_assert_eq(open_fds(), base);
    log = open_log(&c);
    cr_assert_eq(open_fds(), base, "a reopened log holds descriptors");
    cr_assert_eq(file_size("00000000000000000000.log"), logical, "reopen preallocates");
    check_all(log, rb_log_end_offset(log)); /* reads open the read descriptor */
    cr_assert_eq(open_fds(), base + 1);
    append_ok(log, 2, 500, 2000);
    flush_ok(log);
    check_all(log, rb_log_end_offset(log));
    rb_log_close(log);
    cr_assert_eq(open_fds(), base);
    log = open_log(&c);
    check_all(log, rb_log_end_offset(log));
    cr_assert_eq(rb_log_end_offset(log), 5, "3 + 2 records after two reopens");
    rb_log_close(log);
}

/* A log opened from a clean close and only read closes without rewriting its
 * files (the index files keep their inode: no tmp + rename), single or batched,
 * and gets its clean marker back; the first append makes the close rewrite them. */
Test(log, untouched_log_closes_without_rewriting)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 10; i++)
        append_ok(log, 2, 700, 1000 + i);
    flush_ok(log);
    cr_assert(!rb_log_untouched(log), "a new log was never closed cleanly");
    rb_log_close(log);
    uint64_t ix = file_ino("00000000000000000000.index");
    uint64_t tx = file_ino("00000000000000000000.timeindex");
    cr_assert(ix && tx);
    for (int round = 0; round < 2; round++) {
        log = open_log(&c);
        cr_assert(rb_log_untouched(log));
        check_all(log, 20);
        cr_assert(rb_log_untouched(log), "reads do not touch");
        if (round == 0)
            rb_log_close_batch(&log, 1, NULL, NULL);
        rb_log_close(log);
        cr_assert_eq(file_ino("00000000000000000000.index"), ix, "round %d rewrote", round);
        cr_assert_eq(file_ino("00000000000000000000.timeindex"), tx);
        cr_assert_neq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);
    }
    log = open_log(&c);
    append_ok(log, 1, 100, 2000);
    cr_assert(!rb_log_untouched(log));
    flush_ok(log);
    rb_log_close(log);
    cr_assert_neq(file_ino("00000000000000000000.index"), ix, "an append's close rewrites");
    log = open_log(&c);
    check_all(log, 21);
    rb_log_close(log);
}

/* The leader-epoch-checkpoint as the last close left it: its latest epoch. */
static int32_t epoch_file_latest(int64_t *start)
{
    struct rb_epoch_cache ec = {0};
    cr_assert_eq(rb_epoch_cache_read(&ec, g_dir), 0);
    int32_t e = rb_epoch_cache_latest(&ec, start);
    rb_epoch_cache_free(&ec);
    return e;
}

/* A batched close (shutdown) writes the leader-epoch-checkpoint of every log
 * whose epochs changed, an untouched log's too, as .tmp published after the
 * file system's sync (no fsync per partition): the file is there with the new
 * epoch and no .tmp is left. */
Test(log, batched_close_publishes_changed_epochs)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 2, 500, 1000);
    flush_ok(log);
    cr_assert_eq(rb_log_begin_epoch(log, 3), 0);
    rb_log_close_batch(&log, 1, NULL, NULL);
    rb_log_close(log);
    cr_assert_eq(file_ino("leader-epoch-checkpoint.tmp"), 0, "no .tmp left");
    int64_t start = -1;
    cr_assert_eq(epoch_file_latest(&start), 3);
    cr_assert_eq(start, 2, "epoch 3 starts at the log end of its time");
    log = open_log(&c);
    cr_assert(rb_log_untouched(log));
    append_ok(log, 1, 500, 2000); /* past epoch 3's start */
    flush_ok(log);
    rb_log_close_batch(&log, 1, NULL, NULL);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert(rb_log_untouched(log));
    cr_assert_eq(rb_log_begin_epoch(log, 4), 0); /* untouched, but a new epoch */
    rb_log_close_batch(&log, 1, NULL, NULL);
    rb_log_close(log);
    cr_assert_eq(file_ino("leader-epoch-checkpoint.tmp"), 0);
    cr_assert_eq(epoch_file_latest(&start), 4);
    cr_assert_eq(start, 3);
    log = open_log(&c);
    check_all(log, 3);
    rb_log_close(log);
}
