/*
 * tests/unit/test_segment.c - crash recovery of the partition log: the batch-by-batch
 * recovery scan of storage/segment.c, reached through an unclean rb_log_open
 * (storage/log.c) over the simulated disk. Durable data survives a crash, unsynced
 * data is lost on power loss, and a torn, garbage, flipped, stale or zero-filled tail
 * is cut at the last correct batch. Crashes are simulated by a child process that
 * exits without closing the log.
 */
#include "log_test_fixture.h"
#include "child_test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(log, .init = setup, .fini = teardown);

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
    tu_in_child(child_flush_then_unflushed);
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
    tu_in_child(child_flush_then_crash_lose_unsynced);
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
