/*
 * storage/disk_sim.c - the simulated disk (see disk_sim.h).
 *
 * Owns: a FIFO of completed-but-undelivered operations (linked through the ops'
 * impl[] slots, so queuing allocates nothing) and, for crash simulation, an undo
 * record per write that no fdatasync has covered yet.
 * Invariants: an op is in the queue at most once; a callback never runs from inside
 * a submit call; after a crash nothing is delivered again.
 * Fault model: this file is the fault injector; its own I/O errors (reading the old
 * bytes for the undo record) are reported by failing the write with that error.
 */
#include "storage/disk_sim.h"

#include "core/rb.h"
#include "storage/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sim_undo {
    struct sim_undo *next; /* newest first */
    int fd;
    uint64_t off;
    uint64_t old_size;
    size_t len;
    uint8_t *old; /* len bytes, or fewer when the file was shorter (old_size) */
};

struct sim_fault {
    unsigned countdown; /* 0: not armed; 1: the next op */
    int err;
    uint32_t bytes;
};

struct rb_disk_sim {
    struct rb_disk_op *head, *tail;
    unsigned pending;
    bool crashed;
    struct sim_fault wfail, sfail, wshort, ffail;
    bool full; /* every fallocate: ENOSPC */
    struct sim_undo *undo;
    struct rb_disk_sim_stats stats;
};

#define OP_NEXT(op) ((op)->impl[0])
#define OP_RES(op)  ((op)->impl[1])

static void sim_queue(struct rb_disk_sim *sim, struct rb_disk_op *op, int res)
{
    OP_NEXT(op) = NULL;
    OP_RES(op) = (void *)(intptr_t)res;
    if (sim->tail)
        OP_NEXT(sim->tail) = op;
    else
        sim->head = op;
    sim->tail = op;
    sim->pending++;
}

static bool fault_fires(struct sim_fault *f)
{
    if (f->countdown == 0)
        return false;
    return --f->countdown == 0;
}

/* Read the bytes a write is about to replace, through a buffered descriptor of the
 * same file (the write's fd may be O_DIRECT, which wants aligned reads). */
static int sim_record_undo(struct rb_disk_sim *sim, int fd, uint64_t off, size_t len)
{
    char path[64];
    struct stat st;
    int err = 0;

    if (fstat(fd, &st) < 0)
        return -errno;
    struct sim_undo *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->fd = fd;
    u->off = off;
    u->len = len;
    u->old_size = (uint64_t)st.st_size;
    u->old = malloc(len ? len : 1);
    if (!u->old) {
        err = -ENOMEM;
        goto out_free;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) {
        err = -errno;
        goto out_free;
    }
    ssize_t n = pread(rfd, u->old, len, (off_t)off);
    close(rfd);
    if (n < 0) {
        err = -errno;
        goto out_free;
    }
    u->next = sim->undo;
    sim->undo = u;
    return 0;
out_free:
    free(u->old);
    free(u);
    return err;
}

static void sim_drop_undo(struct rb_disk_sim *sim, int fd)
{
    struct sim_undo **pp = &sim->undo;
    while (*pp) {
        struct sim_undo *u = *pp;
        if (fd < 0 || u->fd == fd) {
            *pp = u->next;
            free(u->old);
            free(u);
        } else {
            pp = &u->next;
        }
    }
}

static int sim_do_writev(struct rb_disk_sim *sim, int fd, const struct iovec *iov, int iovcnt,
                         uint64_t off)
{
    size_t want = 0;
    for (int i = 0; i < iovcnt; i++)
        want += iov[i].iov_len;
    if (fault_fires(&sim->wfail))
        return -sim->wfail.err;
    int err = sim_record_undo(sim, fd, off, want);
    if (err)
        return err;

    bool short_write = fault_fires(&sim->wshort);
    size_t limit = short_write ? RB_MIN(want, (size_t)sim->wshort.bytes) : want;
    size_t done = 0;
    for (int i = 0; i < iovcnt && done < limit; i++) {
        size_t n = RB_MIN(iov[i].iov_len, limit - done);
        ssize_t w = pwrite(fd, iov[i].iov_base, n, (off_t)(off + done));
        if (w < 0)
            return done ? (int)done : -errno;
        done += (size_t)w;
        if ((size_t)w < n)
            break;
    }
    sim->stats.bytes_written += done;
    return (int)done;
}

static void sim_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt, uint64_t off,
                       struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    if (sim->crashed)
        return;
    sim->stats.writes++;
    sim_queue(sim, op, sim_do_writev(sim, fd, iov, iovcnt, off));
}

static void sim_fdatasync(void *ctx, int fd, struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    int res = 0;
    if (sim->crashed)
        return;
    sim->stats.syncs++;
    if (fault_fires(&sim->sfail)) {
        res = -sim->sfail.err;
    } else if (fdatasync(fd) < 0) {
        res = -errno;
    } else {
        sim_drop_undo(sim, fd);
    }
    sim_queue(sim, op, res);
}

static void sim_fallocate(void *ctx, int fd, uint64_t off, uint64_t len, struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    int res = 0;
    if (sim->crashed)
        return;
    sim->stats.fallocates++;
    if (fault_fires(&sim->ffail))
        res = -sim->ffail.err;
    else if (sim->full)
        res = -ENOSPC;
    else if (fallocate(fd, 0, (off_t)off, (off_t)len) < 0)
        res = -errno;
    sim_queue(sim, op, res);
}

static void sim_openat(void *ctx, const char *path, int flags, unsigned mode, struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    if (sim->crashed)
        return;
    sim->stats.meta_ops++;
    int fd = open(path, flags, (mode_t)mode);
    sim_queue(sim, op, fd < 0 ? -errno : fd);
}

static void sim_rename(void *ctx, const char *from, const char *to, struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    if (sim->crashed)
        return;
    sim->stats.meta_ops++;
    sim_queue(sim, op, rename(from, to) < 0 ? -errno : 0);
}

static void sim_ftruncate(void *ctx, int fd, uint64_t len, struct rb_disk_op *op)
{
    struct rb_disk_sim *sim = ctx;
    if (sim->crashed)
        return;
    sim->stats.meta_ops++;
    sim_queue(sim, op, ftruncate(fd, (off_t)len) < 0 ? -errno : 0);
}

static const struct rb_disk_ops sim_ops = {
    .writev = sim_writev,
    .fdatasync = sim_fdatasync,
    .fallocate = sim_fallocate,
    .openat = sim_openat,
    .rename = sim_rename,
    .ftruncate = sim_ftruncate,
};

int rb_disk_sim_new(struct rb_disk_sim **out)
{
    struct rb_disk_sim *sim = calloc(1, sizeof(*sim));
    if (!sim)
        return -ENOMEM;
    *out = sim;
    return 0;
}

void rb_disk_sim_free(struct rb_disk_sim *sim)
{
    if (!sim)
        return;
    sim_drop_undo(sim, -1);
    free(sim);
}

struct rb_disk rb_disk_sim_disk(struct rb_disk_sim *sim)
{
    return (struct rb_disk){.ops = &sim_ops, .ctx = sim};
}

int rb_disk_sim_run(struct rb_disk_sim *sim)
{
    int n = 0;
    while (sim->head && !sim->crashed) {
        struct rb_disk_op *op = sim->head;
        sim->head = OP_NEXT(op);
        if (!sim->head)
            sim->tail = NULL;
        sim->pending--;
        sim->stats.completions++;
        n++;
        op->done(op, (int)(intptr_t)OP_RES(op));
    }
    return n;
}

unsigned rb_disk_sim_pending(const struct rb_disk_sim *sim)
{
    return sim->pending;
}

void rb_disk_sim_get_stats(const struct rb_disk_sim *sim, struct rb_disk_sim_stats *out)
{
    *out = sim->stats;
}

void rb_disk_sim_fail_write(struct rb_disk_sim *sim, unsigned nth, int err)
{
    sim->wfail = (struct sim_fault){.countdown = nth, .err = err};
}

void rb_disk_sim_fail_sync(struct rb_disk_sim *sim, unsigned nth, int err)
{
    sim->sfail = (struct sim_fault){.countdown = nth, .err = err};
}

void rb_disk_sim_fail_fallocate(struct rb_disk_sim *sim, unsigned nth, int err)
{
    sim->ffail = (struct sim_fault){.countdown = nth, .err = err};
}

void rb_disk_sim_disk_full(struct rb_disk_sim *sim, bool full)
{
    sim->full = full;
}

void rb_disk_sim_short_write(struct rb_disk_sim *sim, unsigned nth, uint32_t bytes)
{
    sim->wshort = (struct sim_fault){.countdown = nth, .bytes = bytes};
}

/* Undo newest first so overlapping writes end with the oldest content. */
static int sim_undo_all(struct rb_disk_sim *sim)
{
    char path[64];
    int err = 0;
    for (struct sim_undo *u = sim->undo; u; u = u->next) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", u->fd);
        int wfd = open(path, O_WRONLY | O_CLOEXEC);
        if (wfd < 0) {
            err = -errno;
            continue;
        }
        size_t keep = u->old_size > u->off ? RB_MIN(u->len, (size_t)(u->old_size - u->off)) : 0;
        if (keep && pwrite(wfd, u->old, keep, (off_t)u->off) != (ssize_t)keep)
            err = -EIO;
        struct stat st;
        if (fstat(wfd, &st) == 0 && (uint64_t)st.st_size > u->old_size &&
            ftruncate(wfd, (off_t)u->old_size) < 0)
            err = -errno;
        fsync(wfd);
        close(wfd);
    }
    return err;
}

int rb_disk_sim_crash(struct rb_disk_sim *sim, bool lose_unsynced)
{
    int err = 0;
    sim->crashed = true;
    sim->head = sim->tail = NULL;
    sim->pending = 0;
    if (lose_unsynced)
        err = sim_undo_all(sim);
    sim_drop_undo(sim, -1);
    return err;
}

struct flush_wait {
    bool done;
    int res;
};

static void flush_wait_cb(struct rb_log *log, int res, void *arg)
{
    struct flush_wait *w = arg;
    w->done = true;
    w->res = res;
}

int rb_disk_sim_flush_log(struct rb_disk_sim *sim, struct rb_log *log)
{
    struct flush_wait w = {0};
    int err = rb_log_flush(log, flush_wait_cb, &w);
    if (err)
        return err;
    while (!w.done && rb_disk_sim_run(sim) > 0)
        ;
    return w.done ? w.res : -EIO; /* never completed: the disk crashed */
}
