/*
 * tests/unit/test_file.c - core/file.c: the atomic write replaces the whole file,
 * leaves no tmp behind, and fails cleanly (-errno, target untouched, no tmp).
 */
#include "core/file.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

/* The tests create at most one level below g_dir: remove it, then g_dir. */
static void remove_tree(void)
{
    DIR *d = opendir(g_dir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            (void)(unlinkat(dirfd(d), de->d_name, 0) == 0 ||
                   unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0);
    if (d)
        closedir(d);
    rmdir(g_dir);
}

static void setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/rb-test-file-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

TestSuite(file, .init = setup, .fini = remove_tree);

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

/* Whole content of path, NUL-terminated, or NULL when it cannot be read. */
static char *slurp(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

Test(file, atomic_write_creates_and_replaces_whole_file)
{
    char p[128], tmp[160];
    path_in(p, sizeof(p), "meta");
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    cr_assert_eq(rb_file_write_atomic(p, "first version\n", 14), 0);
    cr_assert_str_eq(slurp(p), "first version\n");
    cr_assert_eq(rb_file_write_atomic(p, "2nd\n", 4), 0);
    cr_assert_str_eq(slurp(p), "2nd\n", "a shorter rewrite must not keep old bytes");
    cr_assert(!exists(tmp));
    cr_assert_eq(rb_file_write_atomic(p, "", 0), 0);
    cr_assert_str_eq(slurp(p), "");
}

Test(file, missing_directory_is_enoent_and_leaves_nothing)
{
    char p[128];
    path_in(p, sizeof(p), "no-such-dir/meta");
    cr_assert_eq(rb_file_write_atomic(p, "x", 1), -ENOENT);
    path_in(p, sizeof(p), "no-such-dir");
    cr_assert(!exists(p));
}

Test(file, failed_rename_keeps_target_and_removes_tmp)
{
    char p[128], tmp[160];
    path_in(p, sizeof(p), "target");
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    cr_assert_eq(mkdir(p, 0700), 0); /* rename of a file over a directory fails */
    int err = rb_file_write_atomic(p, "data", 4);
    cr_assert_eq(err, -EISDIR, "got %d", err);
    cr_assert(!exists(tmp), "tmp file left behind");
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert(S_ISDIR(st.st_mode), "target replaced despite the error");
}

Test(file, unpublished_tmp_waits_for_publish)
{
    char p[128], tmp[160];
    path_in(p, sizeof(p), "snap");
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    cr_assert_eq(rb_file_write_atomic(p, "old", 3), 0);
    cr_assert_eq(rb_file_write_tmp(p, "new", 3, RB_FILE_SYNC), 0);
    cr_assert_str_eq(slurp(p), "old", "target changed before publish");
    cr_assert_str_eq(slurp(tmp), "new");
    cr_assert_eq(rb_file_publish_tmp(p), 0);
    cr_assert_str_eq(slurp(p), "new");
    cr_assert(!exists(tmp));
    cr_assert_eq(rb_file_publish_tmp(p), -ENOENT, "nothing left to publish");
}

Test(file, bare_name_is_relative_to_cwd)
{
    char old[4096];
    cr_assert_not_null(getcwd(old, sizeof(old)));
    cr_assert_eq(chdir(g_dir), 0);
    int err = rb_file_write_atomic("bare", "b", 1);
    cr_assert_eq(chdir(old), 0);
    cr_assert_eq(err, 0);
    char p[128];
    path_in(p, sizeof(p), "bare");
    cr_assert_str_eq(slurp(p), "b");
}

Test(file, write_all_to_closed_fd_is_ebadf)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close(fds[1]);
    cr_assert_eq(rb_file_write_all(fds[1], "x", 1), -EBADF);
    close(fds[0]);
    cr_assert_eq(rb_file_sync_dir("/nonexistent-rb-dir"), -ENOENT);
}
