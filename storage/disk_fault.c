/*
 * storage/disk_fault.c - the fault-injecting struct rb_disk (see disk_fault.h).
 *
 * Owns: one struct fault_disk per wrapped log, kept on a process-wide list so it
 * stays reachable (and leak checkers quiet) until exit.
 * Invariants: every operation still reaches the inner disk, so completions keep
 * the storage/disk.h contract (never inline, exactly once, from the owner's loop);
 * an injected failure only replaces the result with -EIO. A wrapper serves one
 * log, which has at most one fdatasync in flight (storage/log_write.c), so one
 * embedded operation record carries the failing sync.
 * Fault model: this file is the fault; it trusts its inner disk.
 */
#include "storage/disk_fault.h"

#include "core/rb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct fault_disk {
    struct fault_disk *next;   /* process-wide list */
    struct rb_disk_op sync_op; /* submitted to the inner disk for a failing sync */
    struct rb_disk_op *orig;   /* the caller's op while sync_op is in flight */
    struct rb_disk inner;
    long fail_after; /* fdatasyncs that succeed before failures start */
    long syncs;      /* fdatasyncs submitted */
    long injected;   /* fdatasyncs failed */
};

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_disk *all_disks;

static void fault_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
                         struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    d->inner.ops->writev(d->inner.ctx, fd, iov, iovcnt, off, op);
}

static void fault_op_done(struct rb_disk_op *op, int res)
{
    struct fault_disk *d = RB_CONTAINER_OF(op, struct fault_disk, sync_op);
    struct rb_disk_op *orig = d->orig;
    (void)res; /* whatever the disk said, this sync failed */
    d->orig = NULL;
    orig->done(orig, -EIO);
}

static void fault_fdatasync(void *ctx, int fd, struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    if (d->syncs++ < d->fail_after) {
        d->inner.ops->fdatasync(d->inner.ctx, fd, op);
        return;
    }
    RB_ASSERT(!d->orig); /* one log, one sync in flight */
    d->injected++;
    d->orig = op;
    d->sync_op.done = fault_op_done;
    d->inner.ops->fdatasync(d->inner.ctx, fd, &d->sync_op);
}

static void fault_fallocate(void *ctx, int fd, uint64_t off, uint64_t len, struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    d->inner.ops->fallocate(d->inner.ctx, fd, off, len, op);
}

static void fault_openat(void *ctx, const char *path, int flags, unsigned mode,
                         struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    d->inner.ops->openat(d->inner.ctx, path, flags, mode, op);
}

static void fault_rename(void *ctx, const char *from, const char *to, struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    d->inner.ops->rename(d->inner.ctx, from, to, op);
}

static void fault_ftruncate(void *ctx, int fd, uint64_t len, struct rb_disk_op *op)
{
    struct fault_disk *d = ctx;
    d->inner.ops->ftruncate(d->inner.ctx, fd, len, op);
}

static const struct rb_disk_ops fault_ops = {
    .writev = fault_writev,
    .fdatasync = fault_fdatasync,
    .fallocate = fault_fallocate,
    .openat = fault_openat,
    .rename = fault_rename,
    .ftruncate = fault_ftruncate,
};

int rb_disk_fault_wrap(struct rb_disk inner, long fsync_fail_after, struct rb_disk *out)
{
    struct fault_disk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->inner = inner;
    d->fail_after = fsync_fail_after < 0 ? 0 : fsync_fail_after;
    pthread_mutex_lock(&all_lock);
    d->next = all_disks;
    all_disks = d;
    pthread_mutex_unlock(&all_lock);
    *out = (struct rb_disk){.ops = &fault_ops, .ctx = d};
    return 0;
}

long rb_disk_fault_injected(struct rb_disk d)
{
    if (d.ops != &fault_ops)
        return 0;
    return ((struct fault_disk *)d.ctx)->injected;
}
