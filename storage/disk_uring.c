/*
 * storage/disk_uring.c - rb_disk operations as io_uring SQEs on the owning
 * shard's ring (WRITEV at an offset, FSYNC with DATASYNC, FALLOCATE, OPENAT,
 * RENAMEAT, FTRUNCATE). The op's impl[0]
 * holds the struct rb_io the CQE comes back to; the caller's op stays valid
 * until done runs (storage/disk.h contract), so nothing is allocated here.
 */
#include "storage/disk_uring.h"
#include "core/rb.h"

#include <fcntl.h>
#include <string.h>

_Static_assert(sizeof(struct rb_io) <= sizeof(((struct rb_disk_op *)0)->impl),
               "rb_io must fit in rb_disk_op.impl");

static void op_complete(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    struct rb_disk_op *op = RB_CONTAINER_OF((void *)io, struct rb_disk_op, impl);
    op->done(op, res);
}

static struct rb_io *op_io(struct rb_disk_op *op)
{
    struct rb_io *io = (struct rb_io *)(void *)op->impl;
    io->cb = op_complete;
    return io;
}

static void uring_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
                         struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, off);
    rb_sqe_set_io(sqe, op_io(op));
}

static void uring_fdatasync(void *ctx, int fd, struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    rb_sqe_set_io(sqe, op_io(op));
}

static void uring_fallocate(void *ctx, int fd, uint64_t off, uint64_t len, struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_fallocate(sqe, fd, 0, (off_t)off, (off_t)len);
    rb_sqe_set_io(sqe, op_io(op));
}

static void uring_openat(void *ctx, const char *path, int flags, unsigned mode,
                         struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_openat(sqe, AT_FDCWD, path, flags, mode);
    rb_sqe_set_io(sqe, op_io(op));
}

static void uring_rename(void *ctx, const char *from, const char *to, struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_renameat(sqe, AT_FDCWD, from, AT_FDCWD, to, 0);
    rb_sqe_set_io(sqe, op_io(op));
}

static void uring_ftruncate(void *ctx, int fd, uint64_t len, struct rb_disk_op *op)
{
    struct rb_shard *s = ctx;
    RB_ASSERT(rb_self() == s);
    struct io_uring_sqe *sqe = rb_sqe(s);
    /* liburing 2.3 has no helper: off carries the length (Linux 6.9+). */
    io_uring_prep_rw(RB_IORING_OP_FTRUNCATE, sqe, fd, NULL, 0, len);
    rb_sqe_set_io(sqe, op_io(op));
}

static const struct rb_disk_ops uring_ops = {
    .writev = uring_writev,
    .fdatasync = uring_fdatasync,
    .fallocate = uring_fallocate,
    .openat = uring_openat,
    .rename = uring_rename,
    .ftruncate = uring_ftruncate,
};

struct rb_disk rb_disk_uring(struct rb_shard *s)
{
    return (struct rb_disk){.ops = &uring_ops, .ctx = s};
}
