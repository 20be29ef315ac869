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
 * Delayed deletion (Kafka's file.delete.delay.ms): a fetch may have handed a dup'd
 * descriptor of a segment to a connection that reads or splices it later, so a
 * dropped segment's files are first renamed to <file>.deleted (RB_RM_RENAME_DELETED)
 * and the log remembers them (log->del) with a due time file.delete.delay.ms ahead;
 * rb_log_deleted_due, from a periodic timer of the owner, hands out the due ones
 * for unlinking (RB_RM_UNLINK_DELETED) and may recycle the oldest due .log into the
 * log's next segment file (log_seg.c) - never earlier, since recycling overwrites
 * its bytes. With a delay of 0 the files are unlinked (or the oldest .log
 * recycled) at once, as Kafka does.
 * Fault model: renames and unlinks run later, by rb_log_removed_unlink, on a thread
 * that may block (the coordination thread), in the order the owner posted them; a
 * crash before the rename leaves the files, and the next open finds them again
 * below the checkpointed log start offset (they are dropped by the next retention
 * pass); a crash or close after it leaves <file>.deleted files, which the next open
 * removes. A rename or unlink that finds no file is harmless.
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

static int del_reserve(struct rb_log *log)
{
    if (log->n_del < log->cap_del)
        return 0;
    int cap = log->cap_del ? log->cap_del * 2 : 8;
    struct rb_log_del *nd = realloc(log->del, (size_t)cap * sizeof(*nd));
    if (!nd)
        return -ENOMEM;
    log->del = nd;
    log->cap_del = cap;
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
    if (new_start > log->start_offset) {
        log->start_offset = new_start;
        rb_epoch_cache_truncate_start(&log->epochs, new_start);
    }
    int64_t delay = log->cfg.file_delete_delay_ms;
    out->kind = delay > 0 ? RB_RM_RENAME_DELETED : RB_RM_UNLINK;
    uint64_t remaining = rb_log_size_bytes(log);
    int k = 0;
    while (droppable(log, k, now_wall_ms, remaining)) {
        int64_t base = log->segs[k].base_offset;
        if (delay > 0 && del_reserve(log))
            break; /* keep the rest for the next pass */
        if (removed_add(out, log->dir, base))
            break;
        if (delay > 0)
            log->del[log->n_del++] = (struct rb_log_del){
                .base = base, .due_ms = now_wall_ms + RB_MIN(delay, INT64_MAX / 4)};
        remaining -= log->segs[k].size;
        k++;
    }
    if (k == 0)
        return 0;
    log->touched = true;
    for (int i = 0; i < k; i++) {
        rb_log_seg_chunks_free(log, &log->segs[i]);
        rb_segment_free(&log->segs[i]);
    }
    /* Without a delay the oldest dropped file may become the next segment now
     * (log_seg.c); with one, only once it is due (rb_log_deleted_due). */
    if (delay == 0 && out->n > 0 && rb_log_seg_recycle(log, out->bases[0], false))
        out->keep_first_log = true;
    memmove(log->segs, log->segs + k, (size_t)(log->n_segs - k) * sizeof(*log->segs));
    log->n_segs -= k;
    log->rd_open_seg = log->rd_open_seg >= k ? log->rd_open_seg - k : -1;
    if (log->start_offset < log->segs[0].base_offset)
        log->start_offset = log->segs[0].base_offset;
    RB_ASSERT(log->start_offset <= log->durable_end);
    rb_epoch_cache_truncate_start(&log->epochs, log->start_offset);
    return 0;
}

int rb_log_deleted_due(struct rb_log *log, int64_t now_wall_ms, struct rb_log_removed *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = RB_RM_UNLINK_DELETED;
    int kept = 0, err = 0;
    for (int i = 0; i < log->n_del; i++) {
        struct rb_log_del d = log->del[i];
        if (err || d.due_ms > now_wall_ms || (err = removed_add(out, log->dir, d.base)))
            log->del[kept++] = d;
    }
    log->n_del = kept;
    if (out->n == 0)
        return err;
    /* Recycle the oldest due file (the lowest base: segments are dropped in order). */
    int lo = 0;
    for (int i = 1; i < out->n; i++)
        if (out->bases[i] < out->bases[lo])
            lo = i;
    int64_t t = out->bases[0];
    out->bases[0] = out->bases[lo];
    out->bases[lo] = t;
    if (rb_log_seg_recycle(log, out->bases[0], true))
        out->keep_first_log = true;
    return err;
}

void rb_log_removed_free(struct rb_log_removed *r)
{
    free(r->dir);
    free(r->bases);
    memset(r, 0, sizeof(*r));
}

void rb_log_removed_unlink(struct rb_log_removed *r)
{
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    static const char *const del_exts[] = {".log" RB_LOG_DELETED_SUFFIX,
                                           ".index" RB_LOG_DELETED_SUFFIX,
                                           ".timeindex" RB_LOG_DELETED_SUFFIX};
    char path[4096], to[4096];
    for (int i = 0; i < r->n; i++) {
        for (int e = 0; e < (int)RB_ARRAY_LEN(exts); e++) {
            if (e == 0 && i == 0 && r->keep_first_log)
                continue;
            const char *ext = r->kind == RB_RM_UNLINK_DELETED ? del_exts[e] : exts[e];
            if (rb_segment_path(path, sizeof(path), r->dir, r->bases[i], ext))
                continue;
            if (r->kind != RB_RM_RENAME_DELETED)
                (void)unlink(path);
            else if (!rb_segment_path(to, sizeof(to), r->dir, r->bases[i], del_exts[e]))
                (void)rename(path, to);
        }
    }
    rb_log_removed_free(r);
}
