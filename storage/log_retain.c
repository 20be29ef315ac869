/*
 * storage/log_retain.c - retention and DeleteRecords for one partition log: moving
 * the log start offset and giving up whole old segments.
 *
 * Owns: nothing new; it edits the log's segment array (log_int.h).
 * Invariants: only a prefix of the segments is dropped and never the active one,
 * so the offsets still held stay contiguous; start_offset only grows and never
 * passes durable_end; a dropped segment's base offset is below start_offset.
 * Retention follows Kafka's rules: retention.ms against the segment's largest
 * timestamp (a segment without timestamps is kept), retention.bytes drops the
 * oldest segment while the log would still hold at least retention.bytes without it.
 * The oldest dropped segment's .log may instead be renamed into the log's next
 * segment file (recycling, see log_seg.c); its index files are still unlinked.
 * Fault model: the files are unlinked later, by rb_log_removed_unlink, on a thread
 * that may block (the coordination thread); a crash in between leaves the files,
 * and the next open finds them again below the checkpointed log start offset (they
 * are dropped by the next retention pass).
 */
#include "storage/log_int.h"

#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool droppable(const struct rb_log *log, int i, int64_t now_wall_ms, uint64_t remaining)
{
    const struct rb_segment *seg = &log->segs[i];
    if (i >= log->n_segs - 1 || rb_log_seg_indexing(log, seg->base_offset))
        return false;
    if (log->segs[i + 1].base_offset <= log->start_offset)
        return true;
    if (log->cfg.retention_ms >= 0 && seg->max_ts >= 0 &&
        now_wall_ms - seg->max_ts > log->cfg.retention_ms)
        return true;
    return log->cfg.retention_bytes >= 0 &&
           remaining - seg->size >= (uint64_t)log->cfg.retention_bytes;
}

static int removed_add(struct rb_log_removed *out, const char *dir, int64_t base)
{
    if (!out->dir && !(out->dir = strdup(dir)))
        return -ENOMEM;
    int64_t *nb = realloc(out->bases, (size_t)(out->n + 1) * sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    out->bases = nb;
    out->bases[out->n++] = base;
    return 0;
}

int rb_log_retain(struct rb_log *log, int64_t now_wall_ms, int64_t new_start,
                  struct rb_log_removed *out)
{
    memset(out, 0, sizeof(*out));
    if (log->offline)
        return -EIO;
    if (new_start > log->durable_end)
        return -ERANGE;
    if (new_start > log->start_offset)
        log->start_offset = new_start;
    uint64_t remaining = rb_log_size_bytes(log);
    int k = 0;
    while (droppable(log, k, now_wall_ms, remaining)) {
        int err = removed_add(out, log->dir, log->segs[k].base_offset);
        if (err)
            break; /* keep the rest for the next pass */
        remaining -= log->segs[k].size;
        k++;
    }
    if (k == 0)
        return 0;
    for (int i = 0; i < k; i++)
        rb_segment_free(&log->segs[i]);
    /* The oldest dropped file may become the next segment (log_seg.c). */
    if (out->n > 0 && rb_log_seg_recycle(log, out->bases[0]))
        out->keep_first_log = true;
    memmove(log->segs, log->segs + k, (size_t)(log->n_segs - k) * sizeof(*log->segs));
    log->n_segs -= k;
    log->rd_open_seg = log->rd_open_seg >= k ? log->rd_open_seg - k : -1;
    if (log->start_offset < log->segs[0].base_offset)
        log->start_offset = log->segs[0].base_offset;
    RB_ASSERT(log->start_offset <= log->durable_end);
    return 0;
}

void rb_log_removed_free(struct rb_log_removed *r)
{
    free(r->dir);
    free(r->bases);
    memset(r, 0, sizeof(*r));
}

void rb_log_removed_unlink(struct rb_log_removed *r)
{
    char path[4096];
    for (int i = 0; i < r->n; i++) {
        if (!(i == 0 && r->keep_first_log) &&
            !rb_segment_path(path, sizeof(path), r->dir, r->bases[i], ".log"))
            (void)unlink(path);
        rb_index_unlink(r->dir, r->bases[i]);
    }
    rb_log_removed_free(r);
}
