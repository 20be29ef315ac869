/*
 * tests/unit/test_checkpoint.c - storage/checkpoint.c (Kafka's offset checkpoint
 * files) and the recovery it drives in storage/log.c: a bad batch above the
 * recovery point is a torn tail (cut, log online), below it corruption (log
 * offline, never repaired). replication-offset-checkpoint (the high watermarks):
 * Kafka's bytes, startup lookup, corrupt or missing files counting as empty, the
 * atomic replace.
 */
#include "core/rb.h"
#include "storage/checkpoint.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];
static struct rb_disk_sim *g_sim;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-ckpt-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(ckpt, .init = setup, .fini = teardown);

static void write_text(const char *name, const char *text)
{
    char p[200];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(ckpt, round_trip_in_kafka_text_format)
{
    struct rb_ckpt c = {0}, r = {0};
    cr_assert_eq(rb_ckpt_add(&c, "orders", 3, 12345), 0);
    cr_assert_eq(rb_ckpt_add(&c, "a.b_c-d", 0, 0), 0);
    cr_assert_eq(rb_ckpt_write(g_dir, RB_CKPT_RECOVERY_POINT, &c), 0);
    char p[200], text[256] = "";
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_CKPT_RECOVERY_POINT);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    cr_assert_str_eq(text, "0\n2\norders 3 12345\na.b_c-d 0 0\n");
    cr_assert_eq(rb_ckpt_read(p, &r), 0);
    cr_assert_eq(rb_ckpt_find(&r, "orders", 3), 12345);
    cr_assert_eq(rb_ckpt_find(&r, "a.b_c-d", 0), 0);
    cr_assert_eq(rb_ckpt_find(&r, "orders", 2), -1);
    cr_assert_eq(rb_ckpt_find(&r, "nope", 0), -1);
    rb_ckpt_free(&c);
    rb_ckpt_free(&r);
}

Test(ckpt, malformed_and_missing_files)
{
    struct rb_ckpt r = {0};
    char p[200];
    snprintf(p, sizeof(p), "%s/missing", g_dir);
    cr_assert_eq(rb_ckpt_read(p, &r), -ENOENT);
    const char *bad[] = {"1\n1\nt 0 5\n",  "0\n2\nt 0 5\n",       "0\n1\nt x 5\n",
                         "0\n1\nt 0 -3\n", "0\n1\nt 0 5 extra\n", ""};
    for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++) {
        write_text("bad", bad[i]);
        snprintf(p, sizeof(p), "%s/bad", g_dir);
        cr_assert_eq(rb_ckpt_read(p, &r), -EINVAL, "accepted: %s", bad[i]);
        rb_ckpt_free(&r);
    }
}

Test(ckpt, startup_lookup_reads_both_files)
{
    write_text(RB_CKPT_RECOVERY_POINT, "0\n2\nt 0 50\nt 1 7\n");
    write_text(RB_CKPT_LOG_START, "0\n1\nt 0 20\n");
    int64_t rp, ls;
    rb_ckpt_startup_lookup(g_dir, "t", 0, &rp, &ls);
    cr_assert_eq(rp, 50);
    cr_assert_eq(ls, 20);
    rb_ckpt_startup_lookup(g_dir, "t", 1, &rp, &ls);
    cr_assert_eq(rp, 7);
    cr_assert_eq(ls, -1);
}

/* ---- recovery driven by the recovery point ---- */

static char g_logdir[128];

static struct rb_log_config cfg(int64_t rp)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.recovery_point = rp;
    return c;
}

/* Child: 5 durable batches of 10 records (1000 bytes values), then dies. */
static void crash_after_five_batches(void)
{
    snprintf(g_logdir, sizeof(g_logdir), "%s/t-0", g_dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rb_log_config c = cfg(-1);
        struct rb_log *log = NULL;
        static uint8_t b[8192];
        if (rb_log_open(&log, g_logdir, &c, rb_disk_sim_disk(g_sim), 1000))
            _exit(1);
        for (int i = 0; i < 5; i++) {
            struct rb_batch_info bi;
            struct tu_batch_spec s = {.nrec = 10,
                                      .base_ts = 1000,
                                      .producer_id = -1,
                                      .base_seq = -1,
                                      .value_bytes = 100,
                                      .seed = (uint32_t)i};
            size_t len = tu_build(b, &s);
            if (rb_batch_validate(b, len, &bi) || rb_log_append(log, b, &bi, 1000, NULL))
                _exit(2);
        }
        _exit(rb_disk_sim_flush_log(g_sim, log) ? 3 : 0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);
}

static void flip_byte(uint64_t pos)
{
    char p[200];
    snprintf(p, sizeof(p), "%s/00000000000000000000.log", g_logdir);
    int fd = open(p, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t x;
    cr_assert_eq(pread(fd, &x, 1, (off_t)pos), 1);
    x ^= 0x40;
    cr_assert_eq(pwrite(fd, &x, 1, (off_t)pos), 1);
    close(fd);
}

Test(ckpt, flipped_byte_below_recovery_point_is_corruption)
{
    crash_after_five_batches();
    flip_byte(100); /* inside the first batch (offsets 0-9) */
    struct rb_log_config c = cfg(50);
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_logdir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    cr_assert(rb_log_offline(log), "corruption below the recovery point must take it offline");
    cr_assert_eq(rb_log_durable_end(log), 50); /* keeps its checkpoint entry */
    uint8_t out[256];
    uint32_t n;
    cr_assert_eq(rb_log_read_copy(log, 0, 50, sizeof(out), true, out, sizeof(out), &n), -EIO);
    rb_log_close(log);
    /* still offline the next time: nothing was repaired behind our back */
    cr_assert_eq(rb_log_open(&log, g_logdir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    cr_assert(rb_log_offline(log));
    rb_log_close(log);
}

Test(ckpt, bad_batch_above_recovery_point_is_a_torn_tail)
{
    crash_after_five_batches();
    /* an intact log after a crash: recovered whole, online */
    struct rb_log_config c = cfg(40);
    struct rb_log *log = NULL;
    cr_assert_eq(rb_log_open(&log, g_logdir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    cr_assert_not(rb_log_offline(log));
    cr_assert_eq(rb_log_end_offset(log), 50);
    uint64_t size = rb_log_size_bytes(log);
    rb_log_close(log);
    /* after a crash the last batch is torn (its last byte flipped) */
    crash_after_five_batches(); /* appends 5 more: offsets 50-99 */
    c = cfg(90);
    flip_byte(2 * size - 1);
    cr_assert_eq(rb_log_open(&log, g_logdir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    cr_assert_not(rb_log_offline(log), "a torn tail above the recovery point is not corruption");
    cr_assert_eq(rb_log_end_offset(log), 90);
    rb_log_close(log);
}

/* ---- replication-offset-checkpoint (the high watermarks) ---- */

static char *slurp(const char *name)
{
    static char buf[4096];
    char p[200];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

Test(ckpt, hw_file_round_trip_is_kafkas_bytes)
{
    struct rb_ckpt c = {0};
    cr_assert_eq(rb_ckpt_add(&c, "orders", 3, 12345), 0);
    cr_assert_eq(rb_ckpt_add(&c, "__consumer_offsets", 0, 0), 0);
    cr_assert_eq(rb_ckpt_write(g_dir, RB_CKPT_HIGH_WATERMARK, &c), 0);
    rb_ckpt_free(&c);
    /* Kafka 2.8's OffsetCheckpointFile, version 0 */
    cr_assert_str_eq(slurp("replication-offset-checkpoint"),
                     "0\n2\norders 3 12345\n__consumer_offsets 0 0\n");
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "orders", 3), 12345);
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "__consumer_offsets", 0), 0);
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "orders", 2), -1);
}

Test(ckpt, hw_file_written_by_kafka_reads)
{
    /* Kafka splits on whitespace runs */
    write_text(RB_CKPT_HIGH_WATERMARK, "0\n2\nt  0 17\nt\t1 9\n");
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "t", 0), 17);
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "t", 1), 9);
}

Test(ckpt, corrupt_hw_file_counts_as_empty_and_leaves_the_others)
{
    const char *bad[] = {"0\n3\nt 0 5\nt 1 6\n", "0\n1\nt 0 five\n", "2\n1\nt 0 5\n",
                         "0\n1\nt 0 5 6\n",      "0\n1\nt 0 -1\n",   "0\n"};
    for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++) {
        if (fork() == 0) { /* a fresh startup cache each */
            write_text(RB_CKPT_RECOVERY_POINT, "0\n1\nt 0 50\n");
            write_text(RB_CKPT_HIGH_WATERMARK, bad[i]);
            int64_t rp, ls;
            rb_ckpt_startup_lookup(g_dir, "t", 0, &rp, &ls);
            _exit(rb_ckpt_startup_hw(g_dir, "t", 0) == -1 && rp == 50 ? 0 : 1);
        }
        int st = 0;
        cr_assert_neq(wait(&st), -1);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "accepted: %s", bad[i]);
    }
}

Test(ckpt, missing_hw_file_counts_as_empty)
{
    write_text(RB_CKPT_RECOVERY_POINT, "0\n1\nt 0 50\n");
    cr_assert_eq(rb_ckpt_startup_hw(g_dir, "t", 0), -1);
}

Test(ckpt, hw_file_is_replaced_atomically)
{
    struct rb_ckpt c = {0};
    cr_assert_eq(rb_ckpt_add(&c, "t", 0, 5), 0);
    cr_assert_eq(rb_ckpt_add(&c, "t", 1, 6), 0);
    cr_assert_eq(rb_ckpt_write(g_dir, RB_CKPT_HIGH_WATERMARK, &c), 0);
    rb_ckpt_free(&c);
    /* the partition t-1 was deleted: the next file no longer has it */
    cr_assert_eq(rb_ckpt_add(&c, "t", 0, 9), 0);
    cr_assert_eq(rb_ckpt_write(g_dir, RB_CKPT_HIGH_WATERMARK, &c), 0);
    rb_ckpt_free(&c);
    cr_assert_str_eq(slurp(RB_CKPT_HIGH_WATERMARK), "0\n1\nt 0 9\n");
    cr_assert_null(slurp("replication-offset-checkpoint.tmp"), "no temp file left");
    /* a write that cannot publish leaves the old file whole */
    char p[200];
    snprintf(p, sizeof(p), "%s/%s.tmp", g_dir, RB_CKPT_HIGH_WATERMARK);
    cr_assert_eq(mkdir(p, 0755), 0); /* the temp file cannot be created */
    cr_assert_eq(rb_ckpt_add(&c, "t", 0, 11), 0);
    cr_assert_neq(rb_ckpt_write(g_dir, RB_CKPT_HIGH_WATERMARK, &c), 0);
    rb_ckpt_free(&c);
    cr_assert_str_eq(slurp(RB_CKPT_HIGH_WATERMARK), "0\n1\nt 0 9\n");
    rmdir(p);
}
