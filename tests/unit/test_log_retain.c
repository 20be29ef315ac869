/*
 * tests/unit/test_log_retain.c - storage/log_retain.c: DeleteRecords moving the log
 * start offset, retention.bytes and retention.ms dropping whole old segments
 * (never the active one), and removing the dropped segments' files: renamed to
 * *.deleted, unlinked file.delete.delay.ms later, or left over and removed by the
 * next open.
 */
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
#include <unistd.h>

static char g_dir[64];
static struct rb_disk_sim *g_sim;
static uint8_t g_buf[8192];
static uint32_t g_seed;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-retain-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(retain, .init = setup, .fini = teardown);

/* Segments of ~4 batches of ~1 KiB each. */
static int64_t g_delay = 60000; /* file.delete.delay.ms of open_small */

static struct rb_log *open_small(int64_t retention_ms, int64_t retention_bytes)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.file_delete_delay_ms = g_delay;
    c.segment_bytes = 4500;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.retention_ms = retention_ms;
    c.retention_bytes = retention_bytes;
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    return log;
}

/* Append one 10-record batch with timestamp ts and make it durable. */
static void add(struct rb_log *log, int64_t ts)
{
    struct rb_batch_info bi;
    struct tu_batch_spec s = {.nrec = 10,
                              .base_ts = ts,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 90,
                              .seed = g_seed++};
    size_t len = tu_build(g_buf, &s);
    cr_assert_eq(rb_batch_validate(g_buf, len, &bi), RB_BATCH_OK);
    int err = rb_log_append(log, g_buf, &bi, ts, NULL);
    if (err == -ENOBUFS) {
        cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
        err = rb_log_append(log, g_buf, &bi, ts, NULL);
    }
    cr_assert_eq(err, 0, "append: %d", err);
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, log), 0);
}

static bool file_exists(int64_t base, const char *ext)
{
    char p[200];
    snprintf(p, sizeof(p), "%s/%020lld%s", g_dir, (long long)base, ext);
    return access(p, F_OK) == 0;
}

static bool seg_exists(int64_t base)
{
    return file_exists(base, ".log");
}

Test(retain, delete_records_moves_start_and_drops_segments)
{
    struct rb_log *log = open_small(-1, -1);
    for (int i = 0; i < 12; i++)
        add(log, 1000 + i);
    cr_assert_eq(rb_log_end_offset(log), 120);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 121, &rm), -ERANGE); /* beyond the HW */
    cr_assert_eq(rb_log_start_offset(log), 0);
    cr_assert_eq(rb_log_retain(log, 5000, 55, &rm), 0);
    cr_assert_eq(rb_log_start_offset(log), 55);
    cr_assert_gt(rm.n, 0);
    for (int i = 0; i < rm.n; i++)
        cr_assert_lt(rm.bases[i], 55, "dropped a segment holding offsets >= 55");
    int64_t last_dropped = rm.bases[rm.n - 1];
    cr_assert(seg_exists(last_dropped)); /* files go only with the unlink */
    rb_log_removed_unlink(&rm);
    cr_assert_not(seg_exists(last_dropped));
    cr_assert(seg_exists(0) == false);
    uint8_t out[65536];
    uint32_t n;
    cr_assert_eq(rb_log_read_copy(log, 10, 120, sizeof(out), true, out, sizeof(out), &n), -ERANGE);
    cr_assert_eq(rb_log_read_copy(log, 55, 120, sizeof(out), true, out, sizeof(out), &n), 0);
    cr_assert_gt(n, 0u);
    /* a lower start is ignored */
    cr_assert_eq(rb_log_retain(log, 5000, 20, &rm), 0);
    cr_assert_eq(rm.n, 0);
    cr_assert_eq(rb_log_start_offset(log), 55);
    rb_log_removed_free(&rm);
    /* everything: the active segment stays */
    cr_assert_eq(rb_log_retain(log, 5000, 120, &rm), 0);
    cr_assert_eq(rb_log_start_offset(log), 120);
    rb_log_removed_unlink(&rm);
    add(log, 2000);
    cr_assert_eq(rb_log_end_offset(log), 130);
    rb_log_close(log);
}

Test(retain, retention_bytes_keeps_at_least_the_limit)
{
    struct rb_log *log = open_small(-1, 6000);
    for (int i = 0; i < 16; i++)
        add(log, 1000 + i);
    uint64_t before = rb_log_size_bytes(log);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, -1, &rm), 0);
    cr_assert_gt(rm.n, 0);
    uint64_t after = rb_log_size_bytes(log);
    cr_assert_lt(after, before);
    cr_assert_geq(after, 6000u, "dropped below retention.bytes: %llu", (unsigned long long)after);
    cr_assert_gt(rb_log_start_offset(log), 0);
    rb_log_removed_unlink(&rm);
    rb_log_close(log);
}

Test(retain, retention_ms_uses_the_segment_max_timestamp)
{
    struct rb_log *log = open_small(10000, -1);
    for (int i = 0; i < 8; i++)
        add(log, 1000 + i); /* old */
    for (int i = 0; i < 8; i++)
        add(log, 50000 + i); /* recent */
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 55000, -1, &rm), 0);
    cr_assert_gt(rm.n, 0);
    /* only segments whose newest record is older than 10 s went */
    cr_assert_leq(rb_log_start_offset(log), 80);
    cr_assert_gt(rb_log_start_offset(log), 0);
    rb_log_removed_unlink(&rm);
    /* nothing left to drop now, and never the active segment */
    cr_assert_eq(rb_log_retain(log, 10000000, -1, &rm), 0);
    cr_assert_lt(rb_log_start_offset(log), rb_log_end_offset(log));
    rb_log_removed_unlink(&rm);
    rb_log_close(log);
}

/* Any *.deleted file left in the log dir. */
static int count_deleted(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *de;
    int n = 0;
    cr_assert_not_null(d);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        n += len > 8 && strcmp(de->d_name + len - 8, ".deleted") == 0;
    }
    closedir(d);
    return n;
}

Test(retain, dropped_segments_renamed_and_unlinked_after_the_delay)
{
    g_delay = 1000;
    struct rb_log *log = open_small(-1, -1);
    for (int i = 0; i < 16; i++)
        add(log, 1000 + i); /* segments of 40 offsets */
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 85, &rm), 0);
    cr_assert_gt(rm.n, 1);
    cr_assert_eq(rm.kind, RB_RM_RENAME_DELETED);
    cr_assert_not(rm.keep_first_log);
    int n = rm.n;
    int64_t first = rm.bases[0], last = rm.bases[n - 1];
    rb_log_removed_unlink(&rm);
    /* renamed, not gone: a reader's descriptor of the old file keeps valid bytes */
    cr_assert_not(seg_exists(first));
    cr_assert(file_exists(first, ".log.deleted"));
    cr_assert(file_exists(last, ".log.deleted"));
    cr_assert_not(file_exists(first, ".index"));
    cr_assert_not(file_exists(first, ".timeindex"));
    /* before the delay: nothing is handed out */
    cr_assert_eq(rb_log_deleted_due(log, 5999, &rm), 0);
    cr_assert_eq(rm.n, 0);
    rb_log_removed_free(&rm);
    cr_assert_eq(count_deleted() >= n, true);
    /* a later drop gets its own, later deadline */
    cr_assert_eq(rb_log_retain(log, 5500, 125, &rm), 0);
    cr_assert_gt(rm.n, 0);
    int64_t later = rm.bases[0];
    rb_log_removed_unlink(&rm);
    cr_assert(file_exists(later, ".log.deleted"));
    /* due: the first drop's files go (its oldest .log may be recycled instead) */
    cr_assert_eq(rb_log_deleted_due(log, 6000, &rm), 0);
    cr_assert_eq(rm.n, n);
    cr_assert_eq(rm.kind, RB_RM_UNLINK_DELETED);
    cr_assert_eq(rm.bases[0], first);
    rb_disk_sim_run(g_sim); /* a recycle rename */
    rb_log_removed_unlink(&rm);
    cr_assert_not(file_exists(first, ".log.deleted"));
    cr_assert_not(file_exists(last, ".log.deleted"));
    cr_assert(file_exists(later, ".log.deleted"));
    cr_assert_eq(rb_log_deleted_due(log, 6499, &rm), 0);
    cr_assert_eq(rm.n, 0);
    rb_log_removed_free(&rm);
    cr_assert_eq(rb_log_deleted_due(log, 6500, &rm), 0);
    cr_assert_gt(rm.n, 0);
    rb_disk_sim_run(g_sim);
    rb_log_removed_unlink(&rm);
    cr_assert_eq(count_deleted(), 0);
    /* the log goes on */
    add(log, 2000);
    cr_assert_eq(rb_log_end_offset(log), 170);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
    g_delay = 60000;
}

Test(retain, no_delay_unlinks_at_once)
{
    g_delay = 0;
    struct rb_log *log = open_small(-1, -1);
    for (int i = 0; i < 12; i++)
        add(log, 1000 + i);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 55, &rm), 0);
    cr_assert_gt(rm.n, 0);
    cr_assert_eq(rm.kind, RB_RM_UNLINK);
    int64_t last = rm.bases[rm.n - 1];
    rb_disk_sim_run(g_sim);
    rb_log_removed_unlink(&rm);
    cr_assert_not(seg_exists(last));
    cr_assert_eq(count_deleted(), 0);
    cr_assert_eq(rb_log_deleted_due(log, INT64_MAX / 2, &rm), 0);
    cr_assert_eq(rm.n, 0);
    rb_log_removed_free(&rm);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
    g_delay = 60000;
}

Test(retain, reopen_removes_leftover_deleted_files)
{
    struct rb_log *log = open_small(-1, -1);
    for (int i = 0; i < 12; i++)
        add(log, 1000 + i);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 55, &rm), 0);
    cr_assert_gt(rm.n, 0);
    int64_t first = rm.bases[0];
    rb_log_removed_unlink(&rm);
    cr_assert(file_exists(first, ".log.deleted"));
    rb_disk_sim_run(g_sim);
    rb_log_close(log); /* within the delay: the files stay */
    cr_assert_gt(count_deleted(), 0);
    /* a crash between the rename and the unlink leaves the same */
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 4500;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.log_start_offset = 55;
    cr_assert_eq(rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    cr_assert_eq(count_deleted(), 0);
    cr_assert_not(rb_log_offline(log));
    cr_assert_eq(rb_log_start_offset(log), 55);
    cr_assert_eq(rb_log_end_offset(log), 120);
    cr_assert_not(seg_exists(first)); /* not taken back as a segment */
    uint8_t out[65536];
    uint32_t n;
    cr_assert_eq(rb_log_read_copy(log, 55, 120, sizeof(out), true, out, sizeof(out), &n), 0);
    cr_assert_gt(n, 0u);
    rb_log_close(log);
}

Test(retain, reconfigure_changes_the_delay)
{
    struct rb_log *log = open_small(-1, -1);
    for (int i = 0; i < 12; i++)
        add(log, 1000 + i);
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 4500;
    c.file_delete_delay_ms = -1;
    cr_assert_eq(rb_log_reconfigure(log, &c), -EINVAL);
    c.file_delete_delay_ms = 10;
    cr_assert_eq(rb_log_reconfigure(log, &c), 0);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 5000, 55, &rm), 0);
    cr_assert_eq(rm.kind, RB_RM_RENAME_DELETED);
    rb_log_removed_unlink(&rm);
    cr_assert_eq(rb_log_deleted_due(log, 5009, &rm), 0);
    cr_assert_eq(rm.n, 0);
    rb_log_removed_free(&rm);
    cr_assert_eq(rb_log_deleted_due(log, 5010, &rm), 0);
    cr_assert_gt(rm.n, 0);
    rb_disk_sim_run(g_sim);
    rb_log_removed_unlink(&rm);
    cr_assert_eq(count_deleted(), 0);
    rb_disk_sim_run(g_sim);
    rb_log_close(log);
}
