/*
 * storage/log_trunc.c - cutting a log's end (rb_log_truncate_to, storage/log.h):
 * a follower whose log diverged from its new leader's removes the tail from the
 * batch holding the truncation offset on.
 *
 * Order on disk, each step durable before the next, so a crash (kill -9) at any
 * point leaves a prefix of the old log that opens cleanly (no marker: recovery
 * scans the last segment and stops at its end): the later segments are unlinked
 * newest first (their index files first, then the .log; the directory synced),
 * then the segment holding the offset is cut (ftruncate + fsync) and its index
 * files removed (rebuilt from its headers), then the epoch checkpoint rewritten.
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
    if (offset >= log->end_offset)
        return 0;
    if (log->flushing || log->bg != RB_BG_IDLE || log->written_end != log->end_offset)
        return -EAGAIN;
    int k = log->n_segs - 1;
    while (k > 0 && log->segs[k].base_offset > offset)
        k--;
    struct rb_segment *seg = &log->segs[k];
    uint64_t pos;
    int err = batch_pos(log, seg, offset, &pos);
    if (err)
        return fail(log, err, "truncation: reading batch headers");
    RB_WARN("storage",
            "%s: truncating to offset %" PRId64 " (log end %" PRId64 "): %020" PRId64
            ".log cut at byte %" PRIu64 ", %d later segment(s) removed",
            log->dir, offset, log->end_offset, seg->base_offset, pos, log->n_segs - 1 - k);

    /* the tail's bytes are all in the files: the memory copies go */
    rb_log_chunks_free(log);
    for (int i = 0; i < log->n_segs; i++)
        rb_segment_close_fds(&log->segs[i]);
    log->rd_open_seg = -1;
    log->tq.valid = false;

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
    RB_ASSERT(log->end_offset <= offset && log->start_offset <= log->end_offset);
    return 0;
}
