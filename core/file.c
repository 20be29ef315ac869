/*
 * core/file.c - the atomic whole-file write and the file-system sets that batch
 * durability (see core/file.h).
 *
 * Fault model: every syscall result is checked and returned as -errno; nothing
 * is retried except EINTR and short writes. A tmp file is unlinked on failure so
 * a retry starts clean; a crash mid-write can leave a stale "<path>.tmp", which
 * the next write truncates (O_TRUNC) and readers never open.
 */
#include "core/file.h"

#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rb_file_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int rb_file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int err = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return err;
}

/* The directory holding path ("." for a bare name). */
static int dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return snprintf(dir, cap, ".") < (int)cap ? 0 : -ENAMETOOLONG;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 0;
}

static int tmp_of(const char *path, char *tmp, size_t cap)
{
    return snprintf(tmp, cap, "%s.tmp", path) < (int)cap ? 0 : -ENAMETOOLONG;
}

int rb_file_publish_tmp(const char *path)
{
    char tmp[PATH_MAX];
    int err = tmp_of(path, tmp, sizeof(tmp));
    if (err)
        return err;
    return rename(tmp, path) < 0 ? -errno : 0;
}

int rb_file_write_tmp(const char *path, const void *buf, size_t len, unsigned flags)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int err = tmp_of(path, tmp, sizeof(tmp));
    if (!err)
        err = dir_of(path, dir, sizeof(dir));
    if (err)
        return err;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    err = rb_file_write_all(fd, buf, len);
    if (!err && (flags & RB_FILE_SYNC) && fsync(fd) < 0)
        err = -errno;
    if (close(fd) < 0 && !err)
        err = -errno;
    if (!err && (flags & RB_FILE_PUBLISH) && rename(tmp, path) < 0)
        err = -errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    if ((flags & RB_FILE_SYNC) && (flags & RB_FILE_PUBLISH))
        return rb_file_sync_dir(dir);
    return 0;
}

int rb_file_write_atomic(const char *path, const void *buf, size_t len)
{
    return rb_file_write_tmp(path, buf, len, RB_FILE_SYNC | RB_FILE_PUBLISH);
}

int rb_fs_set_add(struct rb_fs_set *fs, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    for (int i = 0; i < fs->n; i++)
        if (fs->dev[i] == st.st_dev)
            return 0;
    if (fs->n == fs->cap) {
        int cap = fs->cap ? fs->cap * 2 : 4;
        int *nf = realloc(fs->fd, (size_t)cap * sizeof(*nf));
        if (nf)
            fs->fd = nf;
        dev_t *nd = realloc(fs->dev, (size_t)cap * sizeof(*nd));
        if (nd)
            fs->dev = nd;
        if (!nf || !nd)
            return -ENOMEM;
        fs->cap = cap;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fs->fd[fs->n] = fd;
    fs->dev[fs->n++] = st.st_dev;
    return 0;
}

int rb_fs_set_sync(const struct rb_fs_set *fs)
{
    int err = 0;
    for (int i = 0; i < fs->n; i++)
        if (syncfs(fs->fd[i]) < 0 && !err)
            err = -errno;
    return err;
}

void rb_fs_set_free(struct rb_fs_set *fs)
{
    for (int i = 0; i < fs->n; i++)
        close(fs->fd[i]);
    free(fs->fd);
    free(fs->dev);
    *fs = (struct rb_fs_set){0};
}
