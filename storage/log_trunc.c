/*
 * storage/log_trunc.c - cutting a log's end (rb_log_truncate_to, storage/log.h):
 * a follower whose log diverged from its new leader's removes the tail from the
 * batch holding the truncation offset on.
 *
 * Order on disk, each step durable before the next: first the intent
 * (RB_LOG_TRUNC_INTENT, "<offset>\n", written atomically), then the later
 * segments unlinked newest first (their index files first, then the .log; the
 * directory synced), the segment holding the offset cut (ftruncate + fsync) and
 * its index files removed (rebuilt from its headers), the epoch checkpoint
 * rewritten, and last the intent removed. A crash (kill -9) before the intent is
 * durable leaves the old log; after it, the next open finds the intent and
 * completes the truncation (rb_log_trunc_resume: every step is idempotent on a
 * prefix of the old log), so the log recovers to before or after, never between.
 * In memory: the tail chunks are dropped (the bytes are all in the file, see the
 * -EAGAIN rule), the segment's state and index are rebuilt by a header scan, and
 * the log ends (end, written, durable) move down to the cut.
 * Fault model: a failed unlink, ftruncate or fsync takes the log offline.
 */
#include "core/endian.h"
#include "core/file.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/index.h"
#include "storage/log_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The byte position in seg of the batch holding offset (its size when none). */
static int batch_pos(struct rb_log *log, struct rb_segment *seg, int64_t offset, uint64_t *pos_out)
{
    uint8_t h[RB_BATCH_OFF_LEADER_EPOCH];
    uint64_t pos = rb_index_lookup(&seg->idx, (uint32_t)(offset - seg->base_offset));
    while (pos + RB_BATCH_HEADER_BYTES <= seg->size) {
        int err = rb_segment_pread(seg, log->dir, h, sizeof(h), pos);
        if (err)
            return err;
        int64_t base = (int64_t)rb_get_be64(h + RB_BATCH_OFF_BASE_OFFSET);
        int32_t len = (int32_t)rb_get_be32(h + RB_BATCH_OFF_LENGTH);
        if (len < (int32_t)(RB_BATCH_HEADER_BYTES - RB_BATCH_LOG_OVERHEAD))
            return -EUCLEAN;
        uint64_t next = pos + RB_BATCH_LOG_OVERHEAD + (uint64_t)len;
        uint8_t d[4];
        /* lastOffsetDelta, at 23 from the batch start */
        err = rb_segment_pread(seg, log->dir, d, sizeof(d), pos + 23);
        if (err)
            return err;
        if (base + (int32_t)rb_get_be32(d) >= offset)
            break;
        pos = next;
    }
    *pos_out = RB_MIN(pos, seg->size);
    return 0;
}

static int unlink_segment(struct rb_log *log, int64_t base)
{
    char path[4096];
    rb_index_unlink(log->dir, base);
    int err = rb_segment_path(path, sizeof(path), log->dir, base, ".log");
    if (!err && unlink(path) < 0 && errno != ENOENT)
        err = -errno;
    return err;
}

static int intent_path(char *buf, size_t cap, const char *dir)
{
    int n = snprintf(buf, cap, "%s/%s", dir, RB_LOG_TRUNC_INTENT);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int intent_write(struct rb_log *log, int64_t offset)
{
    char path[4096], text[32];
    int err = intent_path(path, sizeof(path), log->dir);
    int n = snprintf(text, sizeof(text), "%" PRId64 "\n", offset);
    return err ? err : rb_file_write_atomic(path, text, (size_t)n);
}

static int intent_remove(struct rb_log *log)
{
    char path[4096];
    int err = intent_path(path, sizeof(path), log->dir);
    if (!err && unlink(path) < 0)
        err = errno == ENOENT ? 0 : -errno;
    return err ? err : rb_file_sync_dir(log->dir);
}

static int fail(struct rb_log *log, int err, const char *what)
{
    rb_log_set_offline(log, err, what);
    return -EIO;
}

int rb_log_truncate_to(struct rb_log *log, int64_t offset)
{
    if (log->offline)
        return -EIO;
    if (offset < log->start_offset)
        return -ERANGE;
    if (offset >= log->end_offset) {
        /* nothing to cut, but an epoch begun at the end without a batch (this broker
         * led it and appended nothing before another leader came) goes, as Kafka's
         * truncateTo does: kept, the follower announces it as its last fetched epoch
         * and is told it diverged, forever. A failed write: the next open drops it. */
        uint64_t gen = log->epochs.gen;
        rb_epoch_cache_truncate_end(&log->epochs, log->end_offset);
        if (log->epochs.gen != gen)
            (void)rb_log_epochs_save(log);
        return 0;
    }
    if (log->flushing || log->bg != RB_BG_IDLE || log->written_end != log->end_offset)
        return -EAGAIN;
    log->touched = true; /* a clean close rewrites what the cut changed */
    int err = intent_write(log, offset);
    if (err)
        return fail(log, err, "truncation: writing the intent");
    int k = log->n_segs - 1;
    while (k > 0 && log->segs[k].base_offset > offset)
        k--;
    struct rb_segment *seg = &log->segs[k];
    uint64_t pos;
    err = batch_pos(log, seg, offset, &pos);
    if (err)
        return fail(log, err, "truncation: reading batch headers");
    RB_WARN("storage",
            "%s: truncating to offset %" PRId64 " (log end %" PRId64 "): %020" PRId64
            ".log cut at byte %" PRIu64 ", %d later segment(s) removed",
            log->dir, offset, log->end_offset, seg->base_offset, pos, log->n_segs - 1 - k);

    /* the tail's bytes are all in the files: the memory copies go; bytes read
     * ahead of earlier reads of this segment are stale from here (rb_log_piece) */
    log->trunc_gen++;
    rb_log_chunks_free(log);
    for (int i = 0; i < log->n_segs; i++)
        rb_segment_close_fds(&log->segs[i]);
    log->rd_open_seg = -1;
    log->tq.valid = false;
    log->tq_gen++; /* lookups read before do not keep their answer */

    for (int i = log->n_segs - 1; i > k; i--) {
        err = unlink_segment(log, log->segs[i].base_offset);
        if (!err)
            err = rb_file_sync_dir(log->dir);
        rb_segment_free(&log->segs[i]);
        log->n_segs = i;
        if (err)
            return fail(log, err, "truncation: removing a segment");
    }
    int64_t base = seg->base_offset;
    rb_index_unlink(log->dir, base);
    rb_segment_free(seg);
    rb_segment_init(seg, base, log->cfg.index_interval_bytes);
    seg->size = pos;
    err = rb_segment_trim(seg, log->dir); /* ftruncate + fsync */
    if (!err)
        err = rb_file_sync_dir(log->dir);
    if (!err) {
        seg->size = 0;
        seg->end_offset = base;
        err = rb_segment_scan(seg, log->dir, 0, false, -1); /* state and index from headers */
    }
    if (!err && seg->size != pos)
        err = -EUCLEAN;
    if (!err) {
        seg->index_stale = true;
        seg->first_append_ms = -1;
        err = rb_log_activate(log, false);
    }
    if (err)
        return fail(log, err, "truncation: cutting the segment");
    log->end_offset = log->written_end = log->durable_end = seg->end_offset;
    rb_epoch_cache_truncate_end(&log->epochs, log->end_offset);
    if (rb_log_epochs_save(log))
        return fail(log, -EIO, "truncation: writing the epoch checkpoint");
    if ((err = intent_remove(log)))
        return fail(log, err, "truncation: removing the intent");
    RB_ASSERT(log->end_offset <= offset && log->start_offset <= log->end_offset);
    return 0;
}

int rb_log_trunc_resume(struct rb_log *log)
{
    char path[4096], text[32];
    int err = intent_path(path, sizeof(path), log->dir);
    if (err)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    char *end = NULL;
    text[n > 0 ? n : 0] = 0;
    long long offset = n > 0 ? strtoll(text, &end, 10) : -1;
    if (n <= 0 || *end != '\n' || offset < 0) {
        /* written atomically: a torn intent cannot be; refuse to guess */
        RB_ERROR("storage", "%s: unreadable %s: log offline", log->dir, RB_LOG_TRUNC_INTENT);
        log->offline = true;
        return 0;
    }
    RB_WARN("storage", "%s: completing a truncation to offset %lld cut short by a crash", log->dir,
            offset);
    err = offset < log->start_offset ? 0 : rb_log_truncate_to(log, offset);
    if (!err && (err = intent_remove(log)))
        rb_log_set_offline(log, err, "truncation: removing the intent");
    return 0; /* a failure took the log offline (logged) */
}
