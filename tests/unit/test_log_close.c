/*
 * tests/unit/test_log_close.c - the clean close of a log that was created and
 * never written (storage/log_close.c, the recovery decision of storage/log.c):
 * it creates no file but a changed leader-epoch-checkpoint (no index files, no
 * clean marker), single or batched, nor one the creator wrote already
 * (rb_log_epochs_save_nosync), and the next open trusts it as it is: after
 * that close, after a crash before any close, after an older version's close
 * whose marker was lost, with a stale marker, and after a crash once written.
 * Checked by listing the directory (names and inodes) before and after.
 */
#include "child_test_util.h"
#include "log_test_fixture.h"
#include "storage/epoch_cache.h"

#include <fcntl.h>
#include <unistd.h>

TestSuite(log_close, .init = setup, .fini = teardown);

#define SEG0 "00000000000000000000"

/* The directory's entries (not . and ..), sorted, as "name:inode name:inode ...". */
static void listing(char *out, size_t cap, bool inodes)
{
    char names[32][128];
    unsigned long ino[32];
    int n = 0;
    DIR *d = opendir(g_dir);
    struct dirent *de;
    cr_assert_not_null(d);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cr_assert_lt(n, 32);
        snprintf(names[n], sizeof(names[n]), "%s", de->d_name);
        ino[n++] = (unsigned long)de->d_ino;
    }
    closedir(d);
    for (int i = 0; i < n; i++) /* insertion sort by name */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[128];
            unsigned long ti = ino[j];
            memcpy(t, names[j], sizeof(t));
            memcpy(names[j], names[j - 1], sizeof(t));
            memcpy(names[j - 1], t, sizeof(t));
            ino[j] = ino[j - 1];
            ino[j - 1] = ti;
        }
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < cap; i++)
        o +=
            (size_t)(inodes ? snprintf(out + o, cap - o, "%s%s:%lu", i ? " " : "", names[i], ino[i])
                            : snprintf(out + o, cap - o, "%s%s", i ? " " : "", names[i]));
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* The epoch file's latest entry (-1: no entry), or -2 without a readable file. */
static int32_t file_epoch(int64_t *start)
{
    struct rb_epoch_cache ec = {0};
    if (rb_epoch_cache_read(&ec, g_dir))
        return -2;
    int32_t e = rb_epoch_cache_latest(&ec, start);
    rb_epoch_cache_free(&ec);
    return e;
}

/* The directory holds the segment and its leader-epoch-checkpoint alone (no .tmp, no
 * index files, no marker), the file naming epoch `epoch` from offset 0. */
static void expect_segment_and_epoch_file(int32_t epoch)
{
    char names[1024];
    int64_t start = -1;
    listing(names, sizeof(names), false);
    cr_assert_str_eq(names, SEG0 ".log leader-epoch-checkpoint");
    cr_assert_eq(file_epoch(&start), epoch);
    cr_assert_eq(start, 0);
}

static void close_batched(struct rb_log *log)
{
    rb_log_close_batch(&log, 1, NULL, NULL);
    rb_log_close(log);
}

/* An empty log as the open found it: nothing in it, trusted, writable. */
static void expect_empty(struct rb_log *log, int32_t epoch)
{
    int64_t start = -1;
    cr_assert(!rb_log_offline(log));
    cr_assert_eq(rb_log_start_offset(log), 0);
    cr_assert_eq(rb_log_end_offset(log), 0);
    cr_assert_eq(rb_log_durable_end(log), 0);
    cr_assert(rb_log_untouched(log), "an empty log opens as clean");
    cr_assert_eq(rb_log_latest_epoch(log, &start), epoch);
    if (epoch >= 0)
        cr_assert_eq(start, 0);
}

Test(log_close, never_written_log_closes_without_creating_files)
{
    struct rb_log_config c;
    small_cfg(&c);
    char before[1024], after[1024];
    struct rb_log *log = open_log(&c);
    listing(before, sizeof(before), false);
    cr_assert_str_eq(before, SEG0 ".log", "a new log is its empty segment");
    listing(before, sizeof(before), true);
    expect_empty(log, -1);
    close_batched(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before, "the batched close of a never-written log wrote files");

    log = open_log(&c);
    expect_empty(log, -1);
    rb_log_close(log); /* the single close too */
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before, "the close of a never-written log wrote files");

    /* written at last: its close writes the indexes and the marker as before */
    log = open_log(&c);
    append_ok(log, 2, 300, 1000);
    cr_assert(!rb_log_untouched(log));
    flush_ok(log);
    close_batched(log);
    listing(after, sizeof(after), false);
    cr_assert_str_eq(after, ".ringbroker-clean-shutdown " SEG0 ".index " SEG0 ".log " SEG0
                            ".timeindex leader-epoch-checkpoint");
    log = open_log(&c);
    cr_assert(rb_log_untouched(log));
    check_all(log, 2);
    rb_log_close(log);
}

/* A leader's epoch begun before the first batch: the one file written, once. */
Test(log_close, never_written_log_writes_its_epoch_once)
{
    struct rb_log_config c;
    small_cfg(&c);
    char before[1024], after[1024];
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_begin_epoch(log, 3), 0);
    close_batched(log);
    expect_segment_and_epoch_file(3);
    listing(before, sizeof(before), true);
    for (int round = 0; round < 2; round++) {
        log = open_log(&c);
        expect_empty(log, 3);
        cr_assert_eq(rb_log_begin_epoch(log, 3), 0); /* the same leader again */
        if (round == 0)
            close_batched(log);
        else
            rb_log_close(log);
        listing(after, sizeof(after), true);
        cr_assert_str_eq(after, before, "round %d rewrote a file", round);
    }
    /* a new epoch: that file alone is rewritten */
    log = open_log(&c);
    cr_assert_eq(rb_log_begin_epoch(log, 4), 0);
    close_batched(log);
    expect_segment_and_epoch_file(4);
    log = open_log(&c);
    expect_empty(log, 4);
    rb_log_set_stamp_epoch(log, 4); /* the leader stamps its epoch */
    append_ok(log, 1, 100, 1000);
    flush_ok(log);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 1); /* (stamped: its bytes differ from g_b) */
    cr_assert_eq(rb_log_epoch_for_offset(log, 0), 4);
    rb_log_close(log);
}

/* The creator writes the leader's first epoch with the new files (coord/
 * standalone_admin.c, synced by its syncfs): the shard's begin of the same epoch
 * changes nothing, and no close rewrites the file. */
Test(log_close, epoch_written_at_creation_is_not_rewritten)
{
    struct rb_log_config c;
    small_cfg(&c);
    char before[1024], after[1024];
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_epochs_save_nosync(log), 0, "nothing changed: nothing written");
    listing(before, sizeof(before), false);
    cr_assert_str_eq(before, SEG0 ".log");
    cr_assert_eq(rb_log_begin_epoch(log, 0), 0);
    cr_assert_eq(rb_log_epochs_save_nosync(log), 0);
    expect_segment_and_epoch_file(0);
    listing(before, sizeof(before), true);
    cr_assert_eq(rb_log_begin_epoch(log, 0), 0); /* the shard adopts it */
    struct rb_epoch_cache e;
    const char *dir;
    cr_assert_eq(rb_log_epochs_report(log, &e, &dir), 0, "nothing to report");
    close_batched(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before, "the close rewrote a file");
    log = open_log(&c);
    expect_empty(log, 0);
    rb_log_close(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before);
}

/* Crash states of a never-written log, built by hand: each opens empty, with the
 * epochs its file says, and takes appends. */
static void open_write_read(const struct rb_log_config *c, int32_t epoch)
{
    struct rb_log *log = open_log(c);
    expect_empty(log, epoch);
    append_ok(log, 2, 200, 1000);
    flush_ok(log);
    rb_log_close(log);
    log = open_log(c);
    check_all(log, 2);
    rb_log_close(log);
}

Test(log_close, crash_before_the_first_close)
{
    struct rb_log_config c;
    small_cfg(&c);
    char before[1024], after[1024];
    write_file(SEG0 ".log", ""); /* what the creation leaves */
    listing(before, sizeof(before), true);
    struct rb_log *log = open_log(&c);
    expect_empty(log, -1);
    rb_log_close(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before);
    open_write_read(&c, -1);
}

Test(log_close, older_close_with_its_marker_lost)
{
    struct rb_log_config c;
    small_cfg(&c);
    char before[1024], after[1024];
    /* an older version's close of a never-written log, then the marker lost */
    write_file(SEG0 ".log", "");
    write_file(SEG0 ".index", "");
    write_file(SEG0 ".timeindex", "");
    write_file("leader-epoch-checkpoint", "0\n1\n2 0\n");
    listing(before, sizeof(before), true);
    struct rb_log *log = open_log(&c);
    expect_empty(log, 2);
    close_batched(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before, "nothing rewritten");
    /* and with its marker */
    write_file(".ringbroker-clean-shutdown", "0 0\n");
    listing(before, sizeof(before), true);
    log = open_log(&c);
    expect_empty(log, 2);
    rb_log_close(log);
    listing(after, sizeof(after), true);
    cr_assert_str_eq(after, before, "nothing rewritten");
    open_write_read(&c, 2);
}

Test(log_close, torn_epoch_file_of_a_never_written_log)
{
    struct rb_log_config c;
    small_cfg(&c);
    write_file(SEG0 ".log", "");
    write_file("leader-epoch-checkpoint", "0\n1\n");      /* cut short: refused whole */
    write_file("leader-epoch-checkpoint.tmp", "0\n1\n2"); /* a publish cut short */
    open_write_read(&c, -1);
}

/* A marker naming another size (a crash after a truncation to empty): the log is
 * rewritten at close, so the stale size cannot match a later file by chance. */
Test(log_close, stale_marker_is_rewritten)
{
    struct rb_log_config c;
    small_cfg(&c);
    char p[256], text[64] = {0};
    write_file(SEG0 ".log", "");
    write_file(".ringbroker-clean-shutdown", "0 4096\n");
    struct rb_log *log = open_log(&c);
    cr_assert_eq(rb_log_end_offset(log), 0);
    cr_assert(!rb_log_untouched(log), "a marker that does not hold is not believed");
    close_batched(log);
    snprintf(p, sizeof(p), "%s/.ringbroker-clean-shutdown", g_dir);
    int fd = open(p, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_gt(read(fd, text, sizeof(text) - 1), 0);
    close(fd);
    cr_assert_str_eq(text, "0 0\n");
    open_write_read(&c, -1);
}

/* A never-written log opened as clean, written, then a crash (no close): the next
 * open scans, as for any log without a marker, and keeps what was durable. */
static void child_write_then_crash(void)
{
    struct rb_log_config c;
    small_cfg(&c);
    struct rb_log *log = NULL;
    if (rb_log_open(&log, g_dir, &c, rb_disk_sim_disk(g_sim), 1000))
        _exit(1);
    if (!rb_log_untouched(log) || rb_log_begin_epoch(log, 5))
        _exit(2);
    for (int i = 0; i < 3; i++)
        if (append(log, 2, 100, 1000 + i))
            _exit(3);
    if (rb_disk_sim_flush_log(g_sim, log))
        _exit(4);
    if (append(log, 2, 100, 2000) || rb_log_flush(log, NULL, NULL))
        _exit(5);
    if (rb_disk_sim_crash(g_sim, true)) /* power loss: the last write is lost */
        _exit(6);
}

Test(log_close, crash_after_the_first_write)
{
    struct rb_log_config c;
    small_cfg(&c);
    tu_in_child(child_write_then_crash);
    cr_assert_eq(file_size(".ringbroker-clean-shutdown"), UINT64_MAX);
    struct rb_log *log = open_log(&c);
    cr_assert(!rb_log_untouched(log), "a written log without a marker is scanned");
    cr_assert_eq(rb_log_end_offset(log), 6);
    for (int i = 0; i < 3; i++) { /* the child's batches, rebuilt identically */
        struct tu_batch_spec s = {.nrec = 2,
                                  .base_ts = 1000 + i,
                                  .producer_id = -1,
                                  .base_seq = -1,
                                  .value_bytes = 100,
                                  .seed = (uint32_t)i};
        g_len[i] = tu_build(g_b[i], &s);
        g_base[i] = 2 * i;
    }
    g_n = 3;
    check_all(log, 6);
    rb_log_close(log);
    log = open_log(&c);
    cr_assert(rb_log_untouched(log));
    check_all(log, 6);
    rb_log_close(log);
}
