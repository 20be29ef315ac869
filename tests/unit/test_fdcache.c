/*
 * tests/unit/test_fdcache.c - part/fdcache.c: entries of one file share a slot,
 * a held slot is never reused, free slots are reused least recently used first,
 * the last quarter is kept for a fetch's first read, and the cache never holds
 * more descriptors than its slots; direct slots are O_DIRECT descriptors of the
 * same (unlinked) file, or dups where the file system refuses O_DIRECT.
 */
#include "part/part_int.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFILES 24
static int files[NFILES];
static char dir[] = "/tmp/rb-fdcache-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; i < NFILES; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/f%d", dir, i);
        files[i] = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        cr_assert(files[i] >= 0);
        cr_assert_eq(write(files[i], "abcd", 4), 4);
        unlink(p);
    }
}

static void teardown(void)
{
    for (int i = 0; i < NFILES; i++)
        close(files[i]);
    rmdir(dir);
}

TestSuite(fdcache, .init = setup, .fini = teardown);

static char first_byte(int fd)
{
    char c = 0;
    cr_assert_eq(pread(fd, &c, 1, 0), 1);
    return c;
}

Test(fdcache, one_slot_per_file_shared_by_its_readers)
{
    struct rb_fdcache *fc = rb_fdcache_new(16);
    int fd1, fd2;
    struct rb_fd_ref *a = rb_fdcache_get(fc, files[0], true, 0, &fd1);
    struct rb_fd_ref *b = rb_fdcache_get(fc, files[0], false, 0, &fd2);
    cr_assert_not_null(a);
    cr_assert_eq(a, b);
    cr_assert_eq(fd1, fd2);
    cr_assert_neq(fd1, files[0]); /* a descriptor of its own: the log may close its */
    cr_assert_eq(first_byte(fd1), 'a');
    cr_assert_eq(rb_fdcache_open(fc), 1);
    rb_part_fd_unref(a);
    rb_part_fd_unref(b);
    rb_fdcache_free(fc);
}

Test(fdcache, held_slots_are_kept_and_the_rest_reused)
{
    struct rb_fdcache *fc = rb_fdcache_new(16);
    struct rb_fd_ref *r[NFILES] = {0};
    int fd;
    /* 12 slots may be taken by reads that are not a fetch's first */
    for (int i = 0; i < 12; i++)
        cr_assert_not_null(r[i] = rb_fdcache_get(fc, files[i], false, 0, &fd));
    cr_assert_null(rb_fdcache_get(fc, files[12], false, 0, &fd), "the last quarter is reserved");
    for (int i = 12; i < 16; i++)
        cr_assert_not_null(r[i] = rb_fdcache_get(fc, files[i], true, 0, &fd));
    cr_assert_null(rb_fdcache_get(fc, files[16], true, 0, &fd), "every slot held");
    cr_assert_eq(rb_fdcache_open(fc), 16);
    /* a dropped reference frees its slot for another file; the others stay */
    rb_part_fd_unref(r[3]);
    struct rb_fd_ref *n = rb_fdcache_get(fc, files[16], true, 0, &fd);
    cr_assert_eq(n, r[3]);
    cr_assert_eq(first_byte(fd), 'a');
    cr_assert_eq(rb_fdcache_open(fc), 16);
    rb_part_fd_unref(n);
    for (int i = 0; i < 16; i++)
        if (i != 3)
            rb_part_fd_unref(r[i]);
    /* all free: least recently used first */
    struct rb_fd_ref *m = rb_fdcache_get(fc, files[17], true, 0, &fd);
    cr_assert_eq(m, r[0]);
    rb_part_fd_unref(m);
    cr_assert_eq(rb_fdcache_open(fc), 16);
    rb_fdcache_free(fc);
}

Test(fdcache, slots_follow_the_fd_limit)
{
    cr_assert_geq(rb_fdcache_slots(2), 16);
    cr_assert_leq(rb_fdcache_slots(2), 256);
    cr_assert_geq(rb_fdcache_slots(1), rb_fdcache_slots(64));
}

Test(fdcache, idle_free_slots_are_closed)
{
    struct rb_fdcache *fc = rb_fdcache_new(16);
    int fd;
    struct rb_fd_ref *held = rb_fdcache_get(fc, files[0], true, 1000, &fd);
    rb_part_fd_unref(rb_fdcache_get(fc, files[1], true, 1000, &fd));
    rb_fdcache_trim(fc, 2000);
    cr_assert_eq(rb_fdcache_open(fc), 2, "recently used");
    rb_fdcache_trim(fc, 60000);
    cr_assert_eq(rb_fdcache_open(fc), 1, "the free one is closed, the held one kept");
    rb_part_fd_unref(held);
    rb_fdcache_trim(fc, 120000);
    cr_assert_eq(rb_fdcache_open(fc), 0);
    rb_fdcache_free(fc);
}

/* Does dir's file system take O_DIRECT? (tmpfs does not: the cache falls back.) */
static bool dir_takes_direct(void)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/probe", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_DIRECT, 0600);
    unlink(p);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

Test(fdcache, direct_slots_read_the_unlinked_file_with_o_direct)
{
    struct rb_fdcache *fc = rb_fdcache_new(16);
    int fd;
    struct rb_fd_ref *plain = rb_fdcache_get(fc, files[0], true, 0, &fd);
    cr_assert(!rb_fdcache_ref_direct(plain), "off by default");
    cr_assert_eq(fcntl(fd, F_GETFL) & O_DIRECT, 0);
    rb_part_fd_unref(plain);
    rb_fdcache_set_direct(fc, true);
    bool want = dir_takes_direct();
    struct rb_fd_ref *d = rb_fdcache_get(fc, files[1], true, 0, &fd);
    cr_assert_not_null(d);
    cr_assert_eq(rb_fdcache_ref_direct(d), want);
    cr_assert_eq((fcntl(fd, F_GETFL) & O_DIRECT) != 0, want);
    cr_assert_neq(fd, files[1]);
    void *buf = NULL;
    cr_assert_eq(posix_memalign(&buf, 4096, 4096), 0);
    /* a whole aligned block: the file (unlinked, 4 bytes) is read to its end */
    cr_assert_eq(pread(fd, buf, 4096, 0), 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0);
    free(buf);
    /* the slot of a file opened before stays what it was */
    struct rb_fd_ref *again = rb_fdcache_get(fc, files[0], true, 0, &fd);
    cr_assert_eq(again, plain);
    cr_assert(!rb_fdcache_ref_direct(again));
    rb_part_fd_unref(again);
    rb_part_fd_unref(d);
    rb_fdcache_free(fc);
}
