/*
 * storage/log_epoch.c - the log's leader epochs: the epoch cache
 * (storage/epoch_cache.h) kept in step with the batches, loaded at open, saved at
 * clean close and after truncation, and the epoch an appending leader stamps into
 * every batch (partitionLeaderEpoch: outside the CRC, which starts at attributes,
 * so stamping never recomputes it).
 *
 * Load rules (blocking, at open): a clean shutdown wrote the file last, so it is
 * trusted (cut to the log's ends). After a crash, epochs appended since the file
 * was written start at or after its latest entry, and at or after the recovery
 * point (part/maint.c writes the file before the recovery point of the same
 * report): the headers from the segment holding the later of the two are walked
 * again - the segments recovery validates anyway. A missing or garbled file is rebuilt from
 * every batch header. Every entry starts at a batch of the log, or at its end
 * (a leader's epoch before its first batch, rb_log_begin_epoch: kept across a
 * clean close, not recovered after a crash, as nothing in the log needs it).
 */
#include "core/endian.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/epoch_cache.h"
#include "storage/log_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Walk the batch headers of segments [from, n_segs), assigning their epochs. */
static int scan_headers(struct rb_log *log, int from)
{
    uint8_t h[RB_BATCH_OFF_MAGIC];
    for (int i = from; i < log->n_segs; i++) {
        struct rb_segment *seg = &log->segs[i];
        uint64_t pos = 0;
        int err = 0;
        while (!err && pos + RB_BATCH_HEADER_BYTES <= seg->size) {
            err = rb_segment_pread(seg, log->dir, h, sizeof(h), pos);
            if (err)
                break;
            int64_t base = (int64_t)rb_get_be64(h + RB_BATCH_OFF_BASE_OFFSET);
            int32_t len = (int32_t)rb_get_be32(h + RB_BATCH_OFF_LENGTH);
            int32_t epoch = (int32_t)rb_get_be32(h + RB_BATCH_OFF_LEADER_EPOCH);
            if (len < (int32_t)(RB_BATCH_HEADER_BYTES - RB_BATCH_LOG_OVERHEAD))
                break; /* the segment's scan vouched for [0, size): cannot happen */
            err = rb_epoch_cache_assign(&log->epochs, epoch, base);
            pos += RB_BATCH_LOG_OVERHEAD + (uint64_t)len;
        }
        rb_segment_close_fds(seg);
        if (err)
            return err;
    }
    return 0;
}

/* The cache holds exactly what the file on disk says (a crash changed nothing). */
static bool same_as_file(struct rb_log *log)
{
    struct rb_epoch_cache f = {0};
    bool same = rb_epoch_cache_read(&f, log->dir) == 0 && f.n == log->epochs.n;
    for (int i = 0; same && i < f.n; i++)
        same = f.e[i].epoch == log->epochs.e[i].epoch &&
               f.e[i].start_offset == log->epochs.e[i].start_offset;
    rb_epoch_cache_free(&f);
    return same;
}

int rb_log_epochs_load(struct rb_log *log, bool clean)
{
    log->stamp_epoch = -1;
    if (log->offline)
        return 0;
    int err = rb_epoch_cache_read(&log->epochs, log->dir);
    int from = 0;
    bool trusted = false;
    int32_t at_end = -1; /* after a crash: the file's latest epoch and its start */
    int64_t at_end_start = -1;
    if (err == 0 && !clean && log->epochs.n == 0) {
        /* an empty file after a crash (written by a truncation to an empty cache,
         * say) says nothing about the batches appended since: walk them all */
        from = 0;
    } else if (err == 0 && !clean) {
        int64_t latest;
        at_end = rb_epoch_cache_latest(&log->epochs, &latest);
        at_end_start = latest;
        /* the checkpoint report writes this file before the recovery point it
         * carries: every epoch starting below that point is in it */
        int64_t known = RB_MAX(latest, log->cfg.recovery_point);
        while (from + 1 < log->n_segs && log->segs[from + 1].base_offset <= known)
            from++;
        rb_epoch_cache_truncate_end(&log->epochs, log->segs[from].base_offset);
    } else if (err == 0) {
        from = log->n_segs; /* trusted as written at the clean close */
        trusted = true;
    } else if (err == -ENOMEM) {
        return err;
    } else {
        rb_epoch_cache_clear(&log->epochs);
    }
    /* After a clean close an entry may start at the log end: the epoch a leader
     * began before its first batch (rb_log_begin_epoch). It is kept, so the file
     * is not rewritten at every start and the leader's epoch does not start over. */
    rb_epoch_cache_truncate_end(&log->epochs, trusted ? log->end_offset + 1 : log->end_offset);
    err = scan_headers(log, from);
    if (err)
        return err;
    /* A crash cannot have undone an epoch that began at what is still the log end
     * (no batch at or past its start survives to contradict it): kept, as after a
     * clean close, so an idle leader's file is not rewritten at every start. */
    if (at_end_start == log->end_offset && at_end > rb_epoch_cache_latest(&log->epochs, NULL)) {
        err = rb_epoch_cache_assign(&log->epochs, at_end, at_end_start);
        if (err)
            return err;
    }
    rb_epoch_cache_truncate_start(&log->epochs, log->start_offset);
    if (log->epochs.dirty && same_as_file(log))
        log->epochs.dirty = false; /* re-walked to what the file says: no write */
    if (!log->epochs.dirty)
        log->epochs_reported = log->epochs.gen;
    (void)rb_log_epochs_save(log); /* a failure is logged; the next open rebuilds */
    return 0;
}

int rb_log_epochs_save(struct rb_log *log)
{
    if (!log->epochs.dirty || log->offline)
        return 0;
    int err = rb_epoch_cache_write(&log->epochs, log->dir);
    if (err)
        RB_WARN("storage", "%s: cannot write %s: %s", log->dir, RB_EPOCH_CKPT_NAME, strerror(-err));
    else
        log->epochs_reported = log->epochs.gen; /* on disk: nothing to report */
    return err;
}

int rb_log_epochs_save_tmp(struct rb_log *log)
{
    if (!log->epochs.dirty || log->offline)
        return 0;
    int err = rb_epoch_cache_write_tmp(&log->epochs, log->dir);
    if (err)
        RB_WARN("storage", "%s: cannot write %s.tmp: %s", log->dir, RB_EPOCH_CKPT_NAME,
                strerror(-err));
    else
        log->epochs_tmp = true;
    return err;
}

int rb_log_epochs_publish(struct rb_log *log)
{
    if (!log->epochs_tmp)
        return 0;
    log->epochs_tmp = false;
    int err = rb_epoch_cache_publish_tmp(&log->epochs, log->dir);
    if (err)
        RB_WARN("storage", "%s: cannot publish %s: %s", log->dir, RB_EPOCH_CKPT_NAME,
                strerror(-err));
    else
        log->epochs_reported = log->epochs.gen; /* on disk: nothing to report */
    return err;
}

int rb_log_epochs_save_nosync(struct rb_log *log)
{
    int err = rb_log_epochs_save_tmp(log);
    return err ? err : rb_log_epochs_publish(log);
}

void rb_log_set_stamp_epoch(struct rb_log *log, int32_t epoch)
{
    log->stamp_epoch = epoch < 0 ? -1 : epoch;
}

int rb_log_epochs_report(struct rb_log *log, struct rb_epoch_cache *out, const char **dir)
{
    *out = (struct rb_epoch_cache){0};
    *dir = log->dir;
    if (log->offline || log->epochs.gen == log->epochs_reported)
        return 0;
    if (log->epochs.n > 0) {
        out->e = malloc((size_t)log->epochs.n * sizeof(*out->e));
        if (!out->e)
            return -ENOMEM;
        memcpy(out->e, log->epochs.e, (size_t)log->epochs.n * sizeof(*out->e));
    }
    out->n = out->cap = log->epochs.n;
    out->dirty = true;
    log->epochs_reported = log->epochs.gen;
    return 1;
}

int rb_log_begin_epoch(struct rb_log *log, int32_t epoch)
{
    if (log->offline || epoch <= rb_epoch_cache_latest(&log->epochs, NULL))
        return 0;
    return rb_epoch_cache_assign(&log->epochs, epoch, log->end_offset);
}

int32_t rb_log_epoch_for_offset(const struct rb_log *log, int64_t offset)
{
    return rb_epoch_cache_epoch_for(&log->epochs, offset);
}

int32_t rb_log_latest_epoch(const struct rb_log *log, int64_t *start)
{
    return rb_epoch_cache_latest(&log->epochs, start);
}

void rb_log_epoch_end_offset(const struct rb_log *log, int32_t epoch, int32_t *epoch_out,
                             int64_t *end_out)
{
    rb_epoch_cache_end_offset(&log->epochs, epoch, log->end_offset, epoch_out, end_out);
}

int rb_log_epoch_stamp(struct rb_log *log, uint8_t *hdr, int64_t base)
{
    if (log->stamp_epoch >= 0)
        rb_put_be32(hdr + RB_BATCH_OFF_LEADER_EPOCH, (uint32_t)log->stamp_epoch);
    int32_t epoch = (int32_t)rb_get_be32(hdr + RB_BATCH_OFF_LEADER_EPOCH);
    return rb_epoch_cache_assign(&log->epochs, epoch, base);
}
