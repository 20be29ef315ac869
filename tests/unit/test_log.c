/*
 * tests/unit/test_log.c - the partition log (storage/log*.c, segment.c, index.c)
 * over the simulated disk (storage/disk_sim.c): round trips, rolls, indexes,
 * close/reopen, crash recovery with torn tails, injected faults, dirty budget.
 * Crashes are simulated by a child process that exits without closing the log.
 */
#include "core/endian.h"
#include "core/rb.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage/index.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXB 64

static char g_dir[64];
static struct rb_disk_sim *g_sim;
static uint8_t g_b[MAXB][20000]; /* batches as built (base offset 0) */
static size_t g_len[MAXB];
static int64_t g_base[MAXB]; /* offsets assigned */
static int g_n;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-log-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
    g_n = 0;
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(log, .init = setup, .fini = teardown);

static void small_cfg(struct rb_log_config *c)
{
    rb_log_config_defaults(c);
    c->segment_bytes = 1 << 20;
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

/* Build batch i (nrec records of vbytes, timestamps ts..) and append it. */
static int append(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
{
    struct rb_batch_info bi;
    cr_assert_lt(g_n, MAXB);
    struct tu_batch_spec s = {.nrec = nrec,
                              .base_ts = ts,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = vbytes,
                              .seed = (uint32_t)g_n};
    g_len[g_n] = tu_build(g_b[g_n], &s);
    cr_assert_eq(rb_batch_validate(g_b[g_n], g_len[g_n], &bi), RB_BATCH_OK);
    int err = rb_log_append(log, g_b[g_n], &bi, ts, &g_base[g_n]);
    if (!err)
        g_n++;
    return err;
}

static void append_ok(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
{
    int64_t want = rb_log_end_offset(log);
    int err = append(log, nrec, vbytes, ts);
    cr_assert_eq(err, 0, "append: %d", err);
    cr_assert_eq(g_base[g_n - 1], want);
    cr_assert_eq(rb_log_end_offset(log), want + nrec);
}

static void flush_ok(struct rb_log *log)
{
    int err = rb_disk_sim_flush_log(g_sim, log);
    cr_assert_eq(err, 0, "flush: %d", err);
    cr_assert_eq(rb_log_durable_end(log), rb_log_end_offset(log));
}

/* Append like the broker does: on -ENOBUFS (a roll needs a durable segment, the
 * next segment or more preallocation is being prepared) flush - whose callback
 * waits for the background work - and retry. Returns the refusals seen. */
static int append_wait(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
{
    int err, refused = 0;
    while ((err = append(log, nrec, vbytes, ts)) == -ENOBUFS) {
        cr_assert_lt(++refused, 8, "append still refused after %d flushes", refused);
        flush_ok(log);
    }
    cr_assert_eq(err, 0, "append: %d", err);
    return refused;
}

/* Index of the built batch that holds offset. */
static int batch_of(int64_t off)
{
    for (int i = 0; i < g_n; i++)
        if (off >= g_base[i] && off <= g_base[i] + (int64_t)rb_get_be32(g_b[i] + 23))
            return i;
    return -1;
}

/* Check buf holds whole batches equal to the built ones from batch i on. */
static int check_batches(const uint8_t *buf, uint32_t len, int i)
{
    uint32_t pos = 0;
    int count = 0;
    while (pos < len) {
        struct rb_batch_info bi;
        cr_assert_eq(rb_batch_validate(buf + pos, len - pos, &bi), RB_BATCH_OK, "at %u", pos);
        cr_assert_lt(i, g_n);
        cr_assert_eq(bi.base_offset, g_base[i]);
        cr_assert_eq(rb_batch_total_bytes(&bi), g_len[i]);
        cr_assert_eq(memcmp(buf + pos + 8, g_b[i] + 8, g_len[i] - 8), 0, "batch %d", i);
        pos += (uint32_t)g_len[i];
        i++;
        count++;
    }
    return count;
}

static uint8_t g_rbuf[1 << 20];

/* Read every offset below upto one by one and check the first batch returned. */
static void check_all(struct rb_log *log, int64_t upto)
{
    for (int64_t off = rb_log_start_offset(log); off < upto; off++) {
        uint32_t len = 0;
        int err = rb_log_read_copy(log, off, upto, 1 << 20, true, g_rbuf, sizeof(g_rbuf), &len);
        cr_assert_eq(err, 0, "read %ld: %d", (long)off, err);
        int i = batch_of(off);
        cr_assert_geq(i, 0);
        cr_assert_gt(len, 0);
        cr_assert_geq(check_batches(g_rbuf, len, i), 1);
    }
}

static uint64_t file_size(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    if (stat(p, &st) < 0)
        return UINT64_MAX;
    return (uint64_t)st.st_size;
}

static int count_files(const char *suffix)
{
    DIR *d = opendir(g_dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (l > s && strcmp(de->d_name + l - s, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static uint64_t sum_len(int from, int to)
{
    uint64_t s = 0;
    for (int i = from; i < to; i++)
        s += g_len[i];
    return s;
}

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
    c.prealloc_bytes = 1 << 20; /* all 80 KiB fit the preallocation made at open */
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < 20; i++)
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
    /* ~80 KiB in 16 KiB chunks: the first ones are freed and read from the file */
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
    cr_assert_eq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);
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

/* Run fn in a child that dies without closing the log. */
static void in_crashing_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
}

static void child_flush_then_unflushed(void)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = NULL;
    if (rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000))
        _exit(1);
    for (int i = 0; i < 12; i++)
        if (append(log, 2, 900, 1000 + i))
            _exit(2);
    if (rb_disk_sim_flush_log(g_sim, log))
        _exit(3);
    if (append(log, 2, 900, 5000)) /* never flushed */
        _exit(4);
}

Test(log, unclean_reopen_keeps_durable_data)
{
    in_crashing_child(child_flush_then_unflushed);
    /* the child's batches are rebuilt here identically (same seeds) for checking */
    struct rb_log_config c;
    small_cfg(&c);
    cr_assert_gt(file_size("00000000000000000000.log"), 12 * 1000); /* preallocated zeros */
    cr_assert_eq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 24);
    for (int i = 0; i < 12; i++) {
        struct tu_batch_spec s = {.nrec = 2,
                                  .base_ts = 1000 + i,
                                  .producer_id = -1,
                                  .base_seq = -1,
                                  .value_bytes = 900,
                                  .seed = (uint32_t)i};
        g_len[i] = tu_build(g_b[i], &s);
        g_base[i] = 2 * i;
    }
    g_n = 12;
    check_all(log, 24);
    append_ok(log, 1, 10, 6000);
    cr_assert_eq(g_base[12], 24);
    flush_ok(log);
    rb_log_close(log);
}

static void child_flush_then_crash_lose_unsynced(void)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = NULL;
    if (rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000))
        _exit(1);
    for (int i = 0; i < 3; i++)
        if (append(log, 2, 100, 1000 + i))
            _exit(2);
    if (rb_disk_sim_flush_log(g_sim, log))
        _exit(3);
    if (append(log, 2, 100, 2000) || rb_log_flush(log, NULL, NULL))
        _exit(4);
    /* the write reached the file, the sync never completes: power loss */
    if (rb_disk_sim_crash(g_sim, true))
        _exit(5);
}

Test(log, simulated_crash_loses_unsynced_write)
{
    in_crashing_child(child_flush_then_crash_lose_unsynced);
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 6);
    rb_log_close(log);
}

/* Close cleanly, then drop the marker so the next open validates the tail. */
static int build_closed_log(int nbatches)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    for (int i = 0; i < nbatches; i++)
        append_ok(log, 3, 400, 1000 + i);
    flush_ok(log);
    rb_log_close(log);
    char p[256];
    snprintf(p, sizeof(p), "%s/.ringbroker-clean-shutdown", g_dir);
    cr_assert_eq(unlink(p), 0);
    snprintf(p, sizeof(p), "%s/00000000000000000000.log", g_dir);
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0);
    return fd;
}

static void expect_recovered_to(int fd, int good)
{
    close(fd);
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), g_base[good - 1] + 3);
    cr_assert_eq(rb_log_size_bytes(log), sum_len(0, good));
    g_n = good;
    check_all(log, rb_log_end_offset(log));
    append_ok(log, 3, 10, 9000); /* continues at the right offset */
    cr_assert_eq(g_base[g_n - 1], 3 * good);
    flush_ok(log);
    rb_log_close(log);
    log = open_log(&c);
    check_all(log, rb_log_end_offset(log));
    rb_log_close(log);
}

Test(log, torn_tail_truncated_mid_batch)
{
    int fd = build_closed_log(8);
    cr_assert_eq(ftruncate(fd, (off_t)(sum_len(0, 7) + g_len[7] / 2)), 0);
    expect_recovered_to(fd, 7);
}

Test(log, torn_tail_garbage_appended)
{
    int fd = build_closed_log(8);
    uint8_t junk[3000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    cr_assert_eq(pwrite(fd, junk, sizeof(junk), (off_t)sum_len(0, 8)), (ssize_t)sizeof(junk));
    expect_recovered_to(fd, 8);
}

Test(log, torn_tail_flipped_byte_in_last_batch)
{
    int fd = build_closed_log(8);
    uint8_t b;
    off_t at = (off_t)(sum_len(0, 7) + g_len[7] - 10);
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x20;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    expect_recovered_to(fd, 7);
}

Test(log, stale_batch_with_valid_crc_is_cut)
{
    int fd = build_closed_log(8);
    /* a copy of batch 0 (valid CRC, base offset 0) where offset 24 should follow */
    uint8_t copy[20000];
    cr_assert_eq(pread(fd, copy, g_len[0], 0), (ssize_t)g_len[0]);
    cr_assert_eq(pwrite(fd, copy, g_len[0], (off_t)sum_len(0, 8)), (ssize_t)g_len[0]);
    expect_recovered_to(fd, 8);
}

Test(log, zeros_after_tail_are_not_data)
{
    int fd = build_closed_log(5);
    cr_assert_eq(ftruncate(fd, (off_t)(sum_len(0, 5) + (1 << 16))), 0);
    expect_recovered_to(fd, 5);
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
