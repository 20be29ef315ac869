/*
 * tests/unit/test_log_trunc.c - leader epochs in the log (storage/log_epoch.c:
 * stamping, the cache following appends and retention, load at open: trusted
 * after a clean close, rebuilt from the batch headers when missing, garbled or
 * stale after a crash) and rb_log_truncate_to (storage/log_trunc.c: across a
 * roll, indexes, epochs, the durable end, appends after it, a reopen, and
 * kill -9 in the middle leaving a log that recovers to before or after).
 */
#include "log_test_fixture.h"
#include "storage/epoch_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(ltrunc, .init = setup, .fini = teardown);

static int32_t epoch_at(struct rb_log *log, int64_t off)
{
    uint32_t len = 0;
    int err = rb_log_read_copy(log, off, rb_log_end_offset(log), 1 << 20, true, g_rbuf,
                               sizeof(g_rbuf), &len);
    cr_assert_eq(err, 0, "read %ld: %d", (long)off, err);
    struct rb_batch_info bi;
    cr_assert_eq(rb_batch_validate(g_rbuf, len, &bi), RB_BATCH_OK, "CRC still good");
    return (int32_t)rb_get_be32(g_rbuf + 12);
}

static void read_file(const char *name, char *buf, size_t cap)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0, "%s missing", name);
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    cr_assert(n >= 0);
    buf[n] = 0;
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_end(struct rb_log *log, int32_t epoch, int32_t want_epoch, int64_t want_end)
{
    int32_t e;
    int64_t o;
    rb_log_epoch_end_offset(log, epoch, &e, &o);
    cr_assert(e == want_epoch && o == want_end, "epoch %d: (%d, %ld), want (%d, %ld)", epoch, e,
              (long)o, want_epoch, (long)want_end);
}

/* Append like append_wait with epoch stamped, the kept copy stamped alike. */
static void append_epoch(struct rb_log *log, int32_t epoch, int nrec, int64_t ts)
{
    rb_log_set_stamp_epoch(log, epoch);
    append_wait(log, nrec, 200, ts);
    rb_put_be32(g_b[g_n - 1] + 12, (uint32_t)epoch);
}

/* Three epochs over 30 batches of 10 records: 3 from 0, 5 from 100, 8 from 200. */
static struct rb_log *three_epochs(struct rb_log_config *c)
{
    struct rb_log *log = open_log(c);
    for (int i = 0; i < 30; i++)
        append_epoch(log, i < 10 ? 3 : i < 20 ? 5 : 8, 10, 1000 + i);
    flush_ok(log);
    return log;
}

Test(ltrunc, leader_stamps_epoch_and_cache_follows)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 5, 100, 1000); /* not stamped: the batch's own epoch (0) stays */
    cr_assert_eq(rb_log_latest_epoch(log, NULL), 0);
    rb_log_set_stamp_epoch(log, 3);
    append_ok(log, 5, 100, 1000);
    rb_log_set_stamp_epoch(log, 7);
    append_ok(log, 5, 100, 1000);
    append_ok(log, 5, 100, 1000);
    flush_ok(log);
    cr_assert_eq(epoch_at(log, 0), 0);
    cr_assert_eq(epoch_at(log, 5), 3);
    cr_assert_eq(epoch_at(log, 10), 7);
    cr_assert_eq(epoch_at(log, 15), 7);
    int64_t start;
    cr_assert_eq(rb_log_latest_epoch(log, &start), 7);
    cr_assert_eq(start, 10);
    expect_end(log, 3, 3, 10);
    expect_end(log, 7, 7, 20);
    expect_end(log, 9, -1, -1);
    rb_log_close(log);
    char buf[256];
    read_file(RB_EPOCH_CKPT_NAME, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0\n3\n0 0\n3 5\n7 10\n");
    log = open_log(&c);
    expect_end(log, 3, 3, 10);
    expect_end(log, 7, 7, 20);
    rb_log_close(log);
}

Test(ltrunc, missing_garbled_or_stale_checkpoint_rebuilt_from_batches)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    rb_log_close(log);
    cr_assert_geq(count_files(".log"), 3, "rolled");
    static const char *damage[] = {NULL, "0\n3\n3 0\n5 10", "garbage", "0\n1\n3 0\n"};
    for (size_t i = 0; i < 4; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", g_dir, RB_EPOCH_CKPT_NAME);
        if (damage[i])
            write_file(RB_EPOCH_CKPT_NAME, damage[i]);
        else
            unlink(p);
        if (i == 3) { /* stale (an older file) after a crash: no clean marker */
            snprintf(p, sizeof(p), "%s/.ringbroker-clean-shutdown", g_dir);
            cr_assert_eq(unlink(p), 0);
        }
        log = open_log(&c);
        expect_end(log, 3, 3, 100);
        expect_end(log, 5, 5, 200);
        expect_end(log, 8, 8, 300);
        expect_end(log, 4, 3, 100);
        rb_log_close(log);
        char buf[256];
        read_file(RB_EPOCH_CKPT_NAME, buf, sizeof(buf));
        cr_assert_str_eq(buf, "0\n3\n3 0\n5 100\n8 200\n", "case %zu: %s", i, buf);
    }
}

/* An empty checkpoint (a truncation to an empty cache writes one) and batches
 * appended after it, then a crash: the open walks every header (found by
 * sim(repl), seed 1291: a follower truncated to 0, fetched epoch 1, was killed and
 * led with no entry for epoch 1, so a diverged follower was never told). */
Test(ltrunc, empty_checkpoint_after_a_crash_is_rebuilt_from_batches)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    rb_log_close(log);
    char p[256];
    snprintf(p, sizeof(p), "%s/.ringbroker-clean-shutdown", g_dir);
    cr_assert_eq(unlink(p), 0); /* as after a crash */
    write_file(RB_EPOCH_CKPT_NAME, "0\n0\n");
    log = open_log(&c);
    expect_end(log, 3, 3, 100);
    expect_end(log, 5, 5, 200);
    expect_end(log, 8, 8, 300);
    expect_end(log, 0, 0, 0);
    rb_log_close(log);
}

Test(ltrunc, retention_moves_the_first_epoch_start)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 0, 150, &rm), 0);
    rb_log_removed_unlink(&rm);
    expect_end(log, 3, 3, 150); /* older than the oldest: Kafka's answer */
    expect_end(log, 5, 5, 200);
    int64_t s = rb_log_start_offset(log);
    rb_log_close(log);
    char buf[256], want[256];
    read_file(RB_EPOCH_CKPT_NAME, buf, sizeof(buf));
    snprintf(want, sizeof(want), "0\n2\n5 %ld\n8 200\n", (long)s);
    cr_assert_str_eq(buf, want);
}

Test(ltrunc, refuses_out_of_range_and_unwritten)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = open_log(&c);
    append_ok(log, 10, 100, 1000);
    flush_ok(log);
    append_ok(log, 10, 100, 1000);
    cr_assert_eq(rb_log_truncate_to(log, 5), -EAGAIN, "appended bytes not written yet");
    flush_ok(log);
    cr_assert_eq(rb_log_truncate_to(log, 20), 0, "at the end: nothing");
    cr_assert_eq(rb_log_truncate_to(log, 99), 0);
    cr_assert_eq(rb_log_end_offset(log), 20);
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(log, 0, 10, &rm), 0);
    rb_log_removed_free(&rm);
    cr_assert_eq(rb_log_truncate_to(log, 9), -ERANGE);
    cr_assert(!rb_log_offline(log));
    rb_log_close(log);
}

Test(ltrunc, truncate_across_a_roll_then_append_and_reopen)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    int segs = count_files(".log");
    cr_assert_geq(segs, 4);
    /* into the middle of batch 14 (offsets 140-149): the cut is at its start */
    cr_assert_eq(rb_log_truncate_to(log, 145), 0);
    cr_assert_eq(rb_log_end_offset(log), 140);
    cr_assert_eq(rb_log_durable_end(log), 140);
    cr_assert_eq(rb_log_written_end(log), 140);
    cr_assert_lt(count_files(".log"), segs, "later segments removed");
    g_n = 14;
    check_all(log, 140);
    uint32_t len;
    cr_assert_eq(rb_log_read_copy(log, 140, 140, 1 << 20, true, g_rbuf, sizeof(g_rbuf), &len), 0);
    cr_assert_eq(len, 0);
    expect_end(log, 5, 5, 140);
    expect_end(log, 8, -1, -1);
    char buf[256];
    read_file(RB_EPOCH_CKPT_NAME, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0\n2\n3 0\n5 100\n", "written at once: %s", buf);
    /* the new leader's epoch continues from the cut, across new rolls */
    for (int i = 0; i < 12; i++)
        append_epoch(log, 9, 10, 5000 + i);
    flush_ok(log);
    cr_assert_eq(rb_log_end_offset(log), 260);
    check_all(log, 260);
    expect_end(log, 5, 5, 140);
    expect_end(log, 8, 5, 140); /* a gap: the floor epoch ends where 9 starts */
    expect_end(log, 9, 9, 260);
    int64_t t;
    int64_t o;
    cr_assert_eq(rb_log_offset_for_time(log, 5015, &o, &t), 0, "time index rebuilt");
    cr_assert_eq(o, 200);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 260);
    check_all(log, 260);
    expect_end(log, 9, 9, 260);
    /* exactly at a segment's base (140 started one: see the roll above) */
    int files = count_files(".log");
    cr_assert_eq(rb_log_truncate_to(log, 140), 0);
    cr_assert_eq(rb_log_end_offset(log), 140);
    cr_assert_lt(count_files(".log"), files);
    cr_assert_eq(file_size("00000000000000000140.log"), 0, "an empty active segment");
    check_all(log, 140);
    /* and everything */
    cr_assert_eq(rb_log_truncate_to(log, 0), 0);
    cr_assert_eq(rb_log_end_offset(log), 0);
    cr_assert_eq(rb_log_latest_epoch(log, NULL), -1);
    g_n = 0;
    append_ok(log, 3, 10, 9000);
    flush_ok(log);
    check_all(log, 3);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 3);
    cr_assert_eq(count_files(".log"), 1);
    rb_log_close(log);
}

/* A file piece says up to where its segment is final and the log's truncation
 * count: a truncation changes the count (a reader's read-ahead of the segment is
 * stale then: net/resp_send.c). */
Test(ltrunc, file_pieces_carry_the_final_end_and_the_truncation_count)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    cr_assert_geq(count_files(".log"), 4);
    struct rb_log_slice sl;
    cr_assert_eq(rb_log_read(log, 0, rb_log_end_offset(log), 4096, true, &sl), 0);
    cr_assert_geq(sl.n, 1);
    const struct rb_log_piece *fp = &sl.piece[0];
    cr_assert_null(fp->mem, "offset 0 lies in a closed segment: a file piece");
    cr_assert_eq(fp->final, file_size("00000000000000000000.log"), "a closed segment: its size");
    cr_assert_geq(fp->final, fp->file_pos + fp->len);
    uint32_t gen = fp->gen;
    cr_assert_eq(rb_log_truncate_to(log, 145), 0);
    cr_assert_eq(rb_log_read(log, 0, rb_log_end_offset(log), 4096, true, &sl), 0);
    cr_assert_null(sl.piece[0].mem);
    cr_assert_eq(sl.piece[0].gen, gen + 1, "truncated: a new count");
    rb_log_close(log);
}

/* A child truncates and is killed after a few hundred microseconds; the reopened
 * log must be the old one or the truncated one (a cut-short truncation is
 * completed at open from its intent), and read back whole. */
Test(ltrunc, kill_during_truncation_leaves_a_recoverable_prefix)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    rb_log_close(log);
    char saved[128];
    snprintf(saved, sizeof(saved), "%s.saved", g_dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", saved, g_dir, saved);
    cr_assert_eq(system(cmd), 0);
    int outcomes[2] = {0, 0};
    for (int round = 0; round < 24; round++) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", g_dir, saved, g_dir);
        cr_assert_eq(system(cmd), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            struct rb_log *l = NULL;
            if (rb_log_open(&l, g_dir, &c, rb_disk_sim_disk(g_sim), 1000))
                _exit(1);
            _exit(rb_log_truncate_to(l, 45) ? 2 : 0);
        }
        struct timespec ts = {0, (long)round * 1000000}; /* 0-23 ms */
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(!WIFEXITED(st) || WEXITSTATUS(st) == 0, "child failed: %d", WEXITSTATUS(st));
        log = open_log(&c);
        cr_assert(!rb_log_offline(log));
        int64_t end = rb_log_end_offset(log);
        cr_assert(end == 40 || end == 300, "end %ld: neither before nor after", (long)end);
        char ip[256];
        snprintf(ip, sizeof(ip), "%s/.ringbroker-truncate-to", g_dir);
        cr_assert_eq(access(ip, F_OK), -1, "the intent is gone");
        outcomes[end == 40]++;
        g_n = 30;
        check_all(log, end);
        int32_t e;
        int64_t o;
        rb_log_epoch_end_offset(log, rb_log_latest_epoch(log, NULL), &e, &o);
        cr_assert_eq(o, end);
        cr_assert_eq(rb_log_truncate_to(log, 45), 0, "the follower truncates again");
        cr_assert_eq(rb_log_end_offset(log), 40);
        rb_log_close(log);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", saved);
    (void)system(cmd);
    cr_log_info("kill rounds: %d before, %d after", outcomes[0], outcomes[1]);
}

static ino_t ckpt_inode(void)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_EPOCH_CKPT_NAME);
    cr_assert_eq(stat(p, &st), 0);
    return st.st_ino;
}

Test(ltrunc, crash_open_rewalks_but_does_not_rewrite_an_unchanged_file)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    rb_log_close(log);
    ino_t before = ckpt_inode();
    char p[256];
    snprintf(p, sizeof(p), "%s/.ringbroker-clean-shutdown", g_dir);
    cr_assert_eq(unlink(p), 0); /* as after a crash */
    log = open_log(&c);
    cr_assert_eq(ckpt_inode(), before, "same content: not written again");
    /* a crash after a new epoch began: re-walked and written */
    rb_log_set_stamp_epoch(log, 11);
    append_wait(log, 10, 200, 9000);
    flush_ok(log);
    expect_end(log, 8, 8, 300);
    rb_log_close(log);
    cr_assert_eq(unlink(p), 0);
    char buf[256];
    write_file(RB_EPOCH_CKPT_NAME, "0\n3\n3 0\n5 100\n8 200\n"); /* the file before epoch 11 */
    log = open_log(&c);
    expect_end(log, 8, 8, 300);
    expect_end(log, 11, 11, 310);
    rb_log_close(log);
    read_file(RB_EPOCH_CKPT_NAME, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0\n4\n3 0\n5 100\n8 200\n11 300\n");
}

/* The states a crash can leave once the intent is durable, made by hand: the next
 * open completes the truncation whatever steps were done. */
Test(ltrunc, open_completes_a_truncation_from_its_intent)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    rb_log_close(log);
    char ip[256], mp[256];
    snprintf(ip, sizeof(ip), "%s/.ringbroker-truncate-to", g_dir);
    snprintf(mp, sizeof(mp), "%s/.ringbroker-clean-shutdown", g_dir);
    cr_assert_geq(count_files(".log"), 4);
    /* 1: only the intent; 2: the newest segment already unlinked too */
    for (int step = 1; step <= 2; step++) {
        write_file(".ringbroker-truncate-to", step == 1 ? "145\n" : "45\n");
        unlink(mp);
        if (step == 2)
            cr_assert_eq(unlink(strcat(strcpy(mp, g_dir), "/00000000000000000070.log")), 0);
        snprintf(mp, sizeof(mp), "%s/.ringbroker-clean-shutdown", g_dir);
        log = open_log(&c);
        cr_assert(!rb_log_offline(log));
        cr_assert_eq(rb_log_end_offset(log), step == 1 ? 140 : 40, "step %d", step);
        cr_assert_eq(access(ip, F_OK), -1, "the intent is gone");
        g_n = 30;
        check_all(log, rb_log_end_offset(log));
        expect_end(log, 3, 3, step == 1 ? 100 : 40);
        expect_end(log, 5, step == 1 ? 5 : -1, step == 1 ? 140 : -1);
        rb_log_close(log);
    }
    /* a garbled intent: the log opens offline, nothing guessed */
    write_file(".ringbroker-truncate-to", "x");
    unlink(mp);
    log = open_log(&c);
    cr_assert(rb_log_offline(log));
    rb_log_close(log);
}

Test(ltrunc, report_hands_out_changes_once_and_crash_walk_starts_at_the_recovery_point)
{
    struct rb_log_config c;
    small_cfg(&c);
    c.segment_bytes = 16 << 10;
    struct rb_log *log = three_epochs(&c);
    struct rb_epoch_cache e;
    const char *dir;
    cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 1);
    cr_assert_eq(e.n, 3);
    cr_assert_str_eq(dir, g_dir);
    rb_epoch_cache_free(&e);
    cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 0, "nothing new");
    append_epoch(log, 9, 10, 7000);
    flush_ok(log);
    cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 1);
    cr_assert_eq(e.n, 4);
    rb_epoch_cache_free(&e);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 0, "read from the file: on disk already");
    rb_log_close(log);
    /* After a crash the file is trusted below the recovery point (the checkpoint
     * report wrote it first): a file missing epochs 5 and 8 but with a recovery point
     * at 250 gets only what the segments from 250's on say. */
    char mp[256];
    snprintf(mp, sizeof(mp), "%s/.ringbroker-clean-shutdown", g_dir);
    write_file(RB_EPOCH_CKPT_NAME, "0\n1\n3 0\n");
    cr_assert_eq(unlink(mp), 0);
    c.recovery_point = 250;
    log = open_log(&c);
    int64_t start;
    cr_assert_eq(rb_log_latest_epoch(log, &start), 9);
    expect_end(log, 3, 3, 210); /* 5 and 8 below 210 not re-walked */
    rb_log_close(log);
    /* without a recovery point: from the latest entry's segment, all of it */
    write_file(RB_EPOCH_CKPT_NAME, "0\n1\n3 0\n");
    cr_assert_eq(unlink(mp), 0);
    c.recovery_point = -1;
    log = open_log(&c);
    expect_end(log, 3, 3, 100);
    expect_end(log, 5, 5, 200);
    expect_end(log, 8, 8, 300);
    rb_log_close(log);
}

/* An epoch a leader began before its first batch starts at the log end. It stays
 * across a clean close and a crash alike, and a start does not rewrite the file
 * (issue 13: 10,000 idle leaders rewrote and fsynced it three times per start and
 * stop, 8 s to start). Written only when it changes: after a new epoch or append. */
Test(ltrunc, an_epoch_at_the_log_end_survives_reopen_without_a_rewrite)
{
    struct rb_log_config c;
    small_cfg(&c);
    for (int with_data = 0; with_data < 2; with_data++) {
        char mp[256]; /* g_dir is new in each round */
        snprintf(mp, sizeof(mp), "%s/.ringbroker-clean-shutdown", g_dir);
        struct rb_log *log = open_log(&c);
        if (with_data) {
            append_epoch(log, 2, 10, 1000);
            flush_ok(log);
        }
        int64_t end = rb_log_end_offset(log);
        cr_assert_eq(rb_log_begin_epoch(log, 4), 0);
        rb_log_close_batch(&log, 1, NULL, NULL);
        rb_log_close(log);
        uint64_t ino = file_ino(RB_EPOCH_CKPT_NAME);
        cr_assert_neq(ino, 0, "written at the close");
        for (int crash = 0; crash < 2; crash++) {
            if (crash && with_data)
                cr_assert_eq(unlink(mp), 0);
            else if (crash) /* a never-written log's close writes no marker: as crashed */
                cr_assert_neq(access(mp, F_OK), 0);
            log = open_log(&c);
            int64_t start = -1;
            cr_assert_eq(rb_log_latest_epoch(log, &start), 4, "data %d crash %d", with_data, crash);
            cr_assert_eq(start, end);
            cr_assert_eq(file_ino(RB_EPOCH_CKPT_NAME), ino,
                         "data %d crash %d: the file was rewritten", with_data, crash);
            struct rb_epoch_cache e;
            const char *dir;
            cr_assert_eq(rb_log_begin_epoch(log, 4), 0, "the same leader again");
            cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 0, "nothing changed to report");
            rb_log_close_batch(&log, 1, NULL, NULL);
            rb_log_close(log);
            cr_assert_eq(file_ino(RB_EPOCH_CKPT_NAME), ino,
                         "data %d crash %d: the close rewrote it", with_data, crash);
        }
        /* an epoch that began at an end a crash cut off is dropped */
        if (with_data) {
            write_file(RB_EPOCH_CKPT_NAME, "0\n2\n2 0\n6 99\n");
            cr_assert_eq(unlink(mp), 0);
            log = open_log(&c);
            cr_assert_eq(rb_log_latest_epoch(log, NULL), 2);
            rb_log_close(log);
        }
        teardown();
        setup();
    }
}
