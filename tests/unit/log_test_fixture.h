/*
 * tests/unit/log_test_fixture.h - the shared fixture of the log tests (test_log.c,
 * test_segment.c): a temporary directory and a simulated disk per test, the batches
 * appended so far (built by storage_test_util.h, kept to compare reads against),
 * and helpers that append, flush and check reads. Everything is static inline or
 * RB_UNUSED so a test file that uses only part of it still builds under -Werror.
 */
#ifndef RB_TESTS_LOG_TEST_FIXTURE_H
#define RB_TESTS_LOG_TEST_FIXTURE_H

#include "core/endian.h"
#include "core/rb.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAXB 64

RB_UNUSED static char g_dir[64];
RB_UNUSED static struct rb_disk_sim *g_sim;
RB_UNUSED static uint8_t g_b[MAXB][20000]; /* batches as built (base offset 0) */
RB_UNUSED static size_t g_len[MAXB];
RB_UNUSED static int64_t g_base[MAXB]; /* offsets assigned */
RB_UNUSED static int g_n;

static inline int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static inline void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-log-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
    g_n = 0;
}

static inline void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

static inline void small_cfg(struct rb_log_config *c)
{
    rb_log_config_defaults(c);
    c->segment_bytes = 1 << 20;
    c->prealloc_bytes = 64 << 10;
    c->chunk_bytes = 16 << 10;
    c->max_dirty_bytes = 256 << 10;
    c->index_interval_bytes = 1024;
}

static inline struct rb_log *open_log(const struct rb_log_config *c)
{
    struct rb_log *log = NULL;
    int err = rb_log_open(&log, g_dir, c, rb_disk_sim_disk(g_sim), 1000);
    cr_assert_eq(err, 0, "open: %d", err);
    return log;
}

/* Build batch i (nrec records of vbytes, timestamps ts..) and append it. */
static inline int append(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
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

static inline void append_ok(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
{
    int64_t want = rb_log_end_offset(log);
    int err = append(log, nrec, vbytes, ts);
    cr_assert_eq(err, 0, "append: %d", err);
    cr_assert_eq(g_base[g_n - 1], want);
    cr_assert_eq(rb_log_end_offset(log), want + nrec);
}

static inline void flush_ok(struct rb_log *log)
{
    int err = rb_disk_sim_flush_log(g_sim, log);
    cr_assert_eq(err, 0, "flush: %d", err);
    cr_assert_eq(rb_log_durable_end(log), rb_log_end_offset(log));
}

/* Append like the broker does: on -ENOBUFS (a roll needs a durable segment, the
 * next segment or more preallocation is being prepared) flush - whose callback
 * waits for the background work - and retry. Returns the refusals seen. */
static inline int append_wait(struct rb_log *log, int nrec, uint32_t vbytes, int64_t ts)
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
static inline int batch_of(int64_t off)
{
    for (int i = 0; i < g_n; i++)
        if (off >= g_base[i] && off <= g_base[i] + (int64_t)rb_get_be32(g_b[i] + 23))
            return i;
    return -1;
}

/* Check buf holds whole batches equal to the built ones from batch i on. */
static inline int check_batches(const uint8_t *buf, uint32_t len, int i)
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

RB_UNUSED static uint8_t g_rbuf[1 << 20];

/* Read every offset below upto one by one and check the first batch returned. */
static inline void check_all(struct rb_log *log, int64_t upto)
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

static inline uint64_t file_size(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    if (stat(p, &st) < 0)
        return UINT64_MAX;
    return (uint64_t)st.st_size;
}

/* The inode of a file in the log dir (0: missing): a rewrite (tmp + rename) changes it. */
static inline uint64_t file_ino(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static inline int count_files(const char *suffix)
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

static inline uint64_t sum_len(int from, int to)
{
    uint64_t s = 0;
    for (int i = from; i < to; i++)
        s += g_len[i];
    return s;
}

#endif
