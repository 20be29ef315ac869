/*
 * storage/log_close.c - the end of a partition log's life: clean close, one log
 * (rb_log_close) or many at shutdown with their syncs batched per file system
 * (rb_log_close_batch), and destroy (rb_log_destroy, topic deletion).
 *
 * A clean close writes the dirty blocks, trims and indexes the active segment,
 * makes it all durable and only then writes the clean marker (RB_LOG_CLEAN_MARKER),
 * which lets the next open skip the recovery scan (log.c). A log untouched since
 * a clean open (rb_log_untouched; a new, never-written log among them) writes
 * nothing but a changed epoch file: no index files, no marker.
 * Fault model: the marker is created only once everything before it is durable,
 * so an error at any earlier step leaves no marker and the next open recovers by
 * scanning; errors are logged and the log is freed either way.
 */
#include "storage/log_int.h"

#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Trim the segment, index it and close its descriptors (roll and close). */
static int seal_segment(struct rb_log *log, struct rb_segment *seg)
{
    int err = rb_segment_trim(seg, log->dir);
    if (err)
        return err;
    (void)rb_index_finish(&seg->idx, seg->max_ts,
                          (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
    err = rb_index_write(&seg->idx, log->dir, seg->base_offset);
    if (!err)
        seg->index_stale = false;
    rb_segment_close_fds(seg);
    return err;
}

/* Shutdown: write what is still dirty synchronously (the ring is gone by now), no sync. */
static int write_dirty(struct rb_log *log)
{
    struct rb_segment *seg = rb_log_active(log);
    uint64_t from = RB_ALIGN_DOWN(log->written_pos, (uint64_t)RB_BLOCK_BYTES);
    uint64_t to = RB_ALIGN_UP(seg->size, (uint64_t)RB_BLOCK_BYTES);
    if (log->written_pos == seg->size)
        return 0; /* nothing dirty (and maybe no write descriptor: a cold log) */
    rb_log_zero_pad(log);
    while (from < to) {
        struct iovec iov[64];
        uint64_t bytes;
        int cnt = rb_log_build_iov(log, from, to, iov, (int)RB_ARRAY_LEN(iov), &bytes);
        ssize_t w = pwritev(seg->wr_fd, iov, cnt, (off_t)from);
        if (w != (ssize_t)bytes)
            return w < 0 ? -errno : -EIO;
        from += bytes;
    }
    log->written_pos = seg->size;
    log->written_end = log->end_offset;
    return 0;
}

static int write_dirty_sync(struct rb_log *log)
{
    int err = write_dirty(log);
    if (err)
        return err;
    int fd = rb_log_active(log)->wr_fd;
    if (fd >= 0 && fdatasync(fd) < 0) /* none: nothing written since open */
        return -errno;
    log->durable_pos = log->written_pos;
    log->durable_end = log->written_end;
    return 0;
}

static int close_clean(struct rb_log *log)
{
    char mpath[4096];
    bool untouched = rb_log_untouched(log); /* trimmed and indexed already */
    int err = untouched ? 0 : write_dirty_sync(log);
    if (!err)
        err = rb_log_epochs_save(log); /* the next open trusts it */
    for (int i = 0; !err && !untouched && i < log->n_segs; i++) {
        struct rb_segment *seg = &log->segs[i];
        if (i == log->n_segs - 1)
            err = seal_segment(log, seg);
        else if (seg->index_stale)
            err = rb_index_write(&seg->idx, log->dir, seg->base_offset);
    }
    if (untouched)
        return 0; /* its marker still holds */
    if (!err)
        err = rb_file_sync_dir(log->dir);
    if (!err)
        err = rb_log_marker_write(log);
    if (!err && rb_log_marker_path(mpath, sizeof(mpath), log->dir) == 0) {
        int fd = open(mpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
            err = -errno;
        if (fd >= 0)
            close(fd);
    }
    return err ? err : rb_file_sync_dir(log->dir);
}

/* ---- batched clean close ---- */

/* Phase 1: dirty blocks written, active segment cut, index files as .tmp; nothing
 * synced. close_err stays 0 on success. */
static void close_prepare(struct rb_log *log)
{
    char path[4096];
    RB_ASSERT(!log->flushing);
    if (log->bg != RB_BG_IDLE)
        RB_WARN("storage", "%s: closed with segment work in flight", log->dir);
    if (log->offline) {
        log->close_err = 1;
        return;
    }
    struct rb_segment *act = rb_log_active(log);
    if (rb_log_untouched(log)) {
        /* Trimmed and indexed by the last clean close (or empty and never
         * written: nothing to trim or index), unchanged since: its marker, or
         * the lack of one, holds; only a changed epoch file is written. */
        rb_segment_close_fds(act);
        log->close_err = rb_log_epochs_save_tmp(log); /* a new epoch needs no append */
        return;
    }
    int err = write_dirty(log);
    if (!err) /* published and durable before the marker: the next open trusts it */
        err = rb_log_epochs_save_tmp(log);
    if (!err && act->wr_fd < 0)
        err = rb_segment_path(path, sizeof(path), log->dir, act->base_offset, ".log");
    if (!err) {
        int fd = act->wr_fd >= 0 ? act->wr_fd : open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)act->size) < 0)
            err = -errno;
        if (fd >= 0 && fd != act->wr_fd)
            close(fd);
        act->prealloc_end = act->size;
    }
    if (!err)
        (void)rb_index_finish(&act->idx, act->max_ts,
                              (uint32_t)(act->offset_of_max_ts - act->base_offset));
    act->index_stale = true; /* the active segment's index is always written */
    for (int i = 0; !err && i < log->n_segs; i++)
        if (log->segs[i].index_stale)
            err = rb_index_write_tmp(&log->segs[i].idx, log->dir, log->segs[i].base_offset);
    rb_segment_close_fds(act);
    log->close_err = err;
}

/* Phase 2 (the .tmp files are durable): rename them over the index files and the
 * leader-epoch-checkpoint. */
static void close_publish(struct rb_log *log)
{
    if (!log->close_err)
        log->close_err = rb_log_epochs_publish(log);
    for (int i = 0; !log->close_err && i < log->n_segs; i++) {
        struct rb_segment *seg = &log->segs[i];
        if (!seg->index_stale)
            continue;
        log->close_err = rb_index_publish_tmp(log->dir, seg->base_offset);
        if (!log->close_err)
            seg->index_stale = false;
    }
}

/* Phase 3 (segments and indexes durable): the clean marker, synced by the caller. */
static void close_mark(struct rb_log *log)
{
    if (log->close_err || rb_log_untouched(log)) /* its marker (or none: empty) holds */
        return;
    log->close_err = rb_log_marker_write(log);
}

/* A failed syncfs: no log of the batch may claim a clean close. */
static void fail_all(struct rb_log **logs, int n, int err)
{
    for (int i = 0; i < n; i++)
        if (logs[i] && !logs[i]->close_err)
            logs[i]->close_err = err;
}

void rb_log_close_batch(struct rb_log **logs, int n, rb_log_close_hook publish, void *arg)
{
    struct rb_fs_set fs = {0};
    int err = 0;
    bool wrote = false; /* some log has data or index files to make durable */
    for (int i = 0; i < n && !err; i++)
        if (logs[i] && !logs[i]->offline)
            err = rb_fs_set_add(&fs, logs[i]->dir);
    if (err)
        RB_ERROR("storage", "clean close: cannot open a log directory: %s", strerror(-err));
    for (int i = 0; i < n; i++)
        if (logs[i]) {
            wrote |= !rb_log_untouched(logs[i]);
            close_prepare(logs[i]);
            wrote |= logs[i]->epochs_tmp;
        }
    /* Only untouched logs (nothing written, nothing to publish): straight to the
     * markers, one syncfs instead of three (each waits for everything the file
     * system has dirty, other processes' writes included). An epoch file is
     * written as .tmp by every log and published after the first syncfs: no
     * fsync per partition (10,000 new partitions took minutes to stop). */
    if (!err && wrote && (err = rb_fs_set_sync(&fs)) == 0) {
        for (int i = 0; i < n; i++)
            if (logs[i]) {
                close_publish(logs[i]);
                if (publish && !logs[i]->close_err)
                    publish(logs[i], arg);
            }
        err = rb_fs_set_sync(&fs);
    }
    if (!err) {
        for (int i = 0; i < n; i++)
            if (logs[i])
                close_mark(logs[i]);
        err = rb_fs_set_sync(&fs);
    }
    if (err)
        fail_all(logs, n, err);
    for (int i = 0; i < n; i++) {
        struct rb_log *log = logs[i];
        if (log && !log->offline && log->close_err)
            RB_ERROR("storage", "%s: unclean close: %s", log->dir, strerror(-log->close_err));
        if (log)
            log->close_err = 1; /* closed: rb_log_close only frees */
    }
    rb_fs_set_free(&fs);
}

static void log_free(struct rb_log *log)
{
    rb_log_seg_free(log);
    rb_log_chunks_free(log);
    for (int i = 0; i < log->n_segs; i++)
        rb_segment_free(&log->segs[i]);
    free(log->segs);
    free(log->snaps);
    free(log->iov);
    free(log->del); /* their .deleted files go at the next open */
    free(log->dir);
    rb_epoch_cache_free(&log->epochs);
    free(log);
}

void rb_log_close(struct rb_log *log)
{
    if (!log)
        return;
    if (log->close_err == 1) { /* closed by rb_log_close_batch */
        log_free(log);
        return;
    }
    RB_ASSERT(!log->flushing);
    if (log->bg != RB_BG_IDLE) /* the owner waits for rb_log_busy; a dead disk cannot */
        RB_WARN("storage", "%s: closed with segment work in flight", log->dir);
    if (!log->offline) {
        int err = close_clean(log);
        if (err)
            RB_ERROR("storage", "%s: unclean close: %s", log->dir, strerror(-err));
    }
    log_free(log);
}

int rb_log_destroy(struct rb_log *log)
{
    char path[4096];
    int err = 0;
    RB_ASSERT(!log->flushing);
    if (log->bg != RB_BG_IDLE)
        RB_WARN("storage", "%s: destroyed with segment work in flight", log->dir);
    for (int i = 0; i < log->n_segs; i++) {
        rb_segment_close_fds(&log->segs[i]);
        if (!rb_segment_path(path, sizeof(path), log->dir, log->segs[i].base_offset, ".log") &&
            unlink(path) < 0 && errno != ENOENT)
            err = -errno;
        rb_index_unlink(log->dir, log->segs[i].base_offset);
    }
    DIR *d = opendir(log->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    if (d)
        closedir(d);
    if (rmdir(log->dir) < 0 && !err)
        err = -errno;
    log_free(log);
    return err;
}
