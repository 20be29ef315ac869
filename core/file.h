/*
 * core/file.h - whole-file writes that survive a crash: the one place that knows
 * the write-temp, fsync, rename, fsync(directory) sequence.
 *
 * rb_file_write_atomic(path, ...) writes "<path>.tmp" beside the target (same
 * directory, so the rename cannot cross file systems), fsyncs it, renames it over
 * path and fsyncs the directory. After a crash a reader finds either the old file
 * or the new one, never a mix. On any failure before the rename the .tmp file is
 * removed and path is untouched; a failure of the directory fsync is reported but
 * the new file may already be visible (its durability is unknown).
 *
 * Returns 0 or -errno (core/rb.h). All descriptors are O_CLOEXEC. Blocking: call
 * from the coordination thread, a worker thread or startup, never from a shard.
 */
#ifndef RB_CORE_FILE_H
#define RB_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Flags for rb_file_write_tmp. */
#define RB_FILE_SYNC    1u /* fsync the tmp file; with RB_FILE_PUBLISH also the directory */
#define RB_FILE_PUBLISH 2u /* rename "<path>.tmp" over path */

/* The full sequence: RB_FILE_SYNC | RB_FILE_PUBLISH. */
int rb_file_write_atomic(const char *path, const void *buf, size_t len);

/* The sequence with steps left out, for callers that batch durability:
 * without RB_FILE_PUBLISH "<path>.tmp" stays for a later rb_file_publish_tmp;
 * without RB_FILE_SYNC the caller syncs the file system itself later. */
int rb_file_write_tmp(const char *path, const void *buf, size_t len, unsigned flags);

/* rename("<path>.tmp", path), no sync. */
int rb_file_publish_tmp(const char *path);

/* fsync of a directory, making renames and creations in it durable. */
int rb_file_sync_dir(const char *dir);

/* The file systems of a set of directories, one open directory descriptor each
 * (opened before any write, so syncfs reports every writeback error since): many
 * files written without RB_FILE_SYNC become durable with one syncfs per file
 * system instead of an fsync each. */
struct rb_fs_set {
    int n, cap;
    int *fd;
    dev_t *dev;
};

/* Adds dir's file system (once per device). */
int rb_fs_set_add(struct rb_fs_set *fs, const char *dir);

/* syncfs of every file system of the set; the first error. */
int rb_fs_set_sync(const struct rb_fs_set *fs);

/* Closes the descriptors and frees the set. */
void rb_fs_set_free(struct rb_fs_set *fs);

/* write(2) until len bytes are written: retries EINTR and short writes. */
int rb_file_write_all(int fd, const void *buf, size_t len);

#endif
