/*
 * tests/unit/test_producer_ids.c - coord/producer_ids.c: ids are unique within a
 * life and across restarts (a block is persisted before it is used), and a bad
 * block file stops allocation instead of risking reuse.
 */
#include "coord/producer_ids.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_dir, "/tmp/rb-test-pids-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(pids, .init = setup, .fini = teardown);

static void read_file(char *buf, size_t cap)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_PID_BLOCK_FILE);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void write_file(const char *s)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", g_dir, RB_PID_BLOCK_FILE);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(s, f);
    fclose(f);
}

Test(pids, unique_and_persisted_before_use)
{
    struct rb_pid_block b;
    rb_pid_block_init(&b, g_dir);
    int64_t id, prev = -1;
    for (int i = 0; i < RB_PID_BLOCK_SIZE + 5; i++) {
        cr_assert_eq(rb_pid_block_alloc(&b, &id), 0);
        cr_assert_eq(id, prev + 1);
        prev = id;
    }
    char buf[256];
    read_file(buf, sizeof(buf));
    cr_assert_str_eq(buf, "version=1\nnext.block.start=2000\n");
}

Test(pids, restart_starts_above_every_reserved_id)
{
    struct rb_pid_block b;
    rb_pid_block_init(&b, g_dir);
    int64_t id;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rb_pid_block_alloc(&b, &id), 0);
    cr_assert_eq(id, 2);
    rb_pid_block_init(&b, g_dir); /* a new life */
    cr_assert_eq(rb_pid_block_alloc(&b, &id), 0);
    cr_assert_eq(id, RB_PID_BLOCK_SIZE);
    rb_pid_block_init(&b, g_dir);
    cr_assert_eq(rb_pid_block_alloc(&b, &id), 0);
    cr_assert_eq(id, 2 * RB_PID_BLOCK_SIZE);
}

Test(pids, bad_file_refuses)
{
    struct rb_pid_block b;
    int64_t id = 77;
    write_file("version=1\nnext.block.start=12x\n");
    rb_pid_block_init(&b, g_dir);
    cr_assert_eq(rb_pid_block_alloc(&b, &id), -EINVAL);
    write_file("garbage");
    rb_pid_block_init(&b, g_dir);
    cr_assert_eq(rb_pid_block_alloc(&b, &id), -EINVAL);
    write_file("version=1\nnext.block.start=5000\n");
    rb_pid_block_init(&b, g_dir);
    cr_assert_eq(rb_pid_block_alloc(&b, &id), 0);
    cr_assert_eq(id, 5000);
}

Test(pids, unwritable_dir_hands_out_nothing)
{
    struct rb_pid_block b;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no/such/dir", g_dir);
    rb_pid_block_init(&b, missing); /* the block file cannot be written */
    int64_t id = 77;
    cr_assert_eq(rb_pid_block_alloc(&b, &id), -ENOENT);
    cr_assert_eq(id, 77);
}
