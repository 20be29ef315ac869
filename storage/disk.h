/*
 * storage/disk.h - the asynchronous disk operations a partition log submits.
 *
 * The log never calls write()/fdatasync() itself: it hands each operation to a
 * struct rb_disk. In the broker that is the shard's io_uring (storage/disk_uring.c);
 * in tests it is the simulated, fault-injecting disk (storage/disk_sim.c).
 *
 * Contract for every implementation:
 *  - a submit call never completes the operation inline: op->done runs later,
 *    from the owner's event loop, exactly once, with the byte count or -errno;
 *  - the iovec array and the buffers it points at stay untouched by the caller
 *    until done runs;
 *  - short writes are reported as such (res < requested); the log treats any
 *    short or failed write or sync as a fault that takes the partition offline;
 *  - path strings, like iovecs, stay untouched by the caller until done runs;
 *  - openat's result is the new descriptor (or -errno); the others return 0 or
 *    -errno. They carry segment preparation and roll (storage/log_seg.c) so a
 *    shard never blocks on fallocate, file creation, rename or truncation.
 */
#ifndef RB_STORAGE_DISK_H
#define RB_STORAGE_DISK_H

#include <stdint.h>
#include <sys/uio.h>

struct rb_disk_op {
    void (*done)(struct rb_disk_op *op, int res);
    void *impl[4]; /* owned by the implementation while the op is in flight */
};

struct rb_disk_ops {
    void (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
                   struct rb_disk_op *op);
    void (*fdatasync)(void *ctx, int fd, struct rb_disk_op *op);
    /* fallocate(fd, 0, off, len) */
    void (*fallocate)(void *ctx, int fd, uint64_t off, uint64_t len, struct rb_disk_op *op);
    /* openat(AT_FDCWD, path, flags, mode) */
    void (*openat)(void *ctx, const char *path, int flags, unsigned mode, struct rb_disk_op *op);
    /* renameat(AT_FDCWD, from, AT_FDCWD, to) */
    void (*rename)(void *ctx, const char *from, const char *to, struct rb_disk_op *op);
    /* ftruncate(fd, len) */
    void (*ftruncate)(void *ctx, int fd, uint64_t len, struct rb_disk_op *op);
};

struct rb_disk {
    const struct rb_disk_ops *ops;
    void *ctx;
};

#endif
