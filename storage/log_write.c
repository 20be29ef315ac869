/*
 * storage/log_write.c - the partition log's write path: appends into the chunk
 * buffers, group-commit flushes through struct rb_disk, going offline on a fault.
 *
 * Flush state machine (one flush per log at a time):
 *
 *   IDLE --rb_log_flush--> WRITING --all ranges written--> SYNCING --ok--> IDLE
 *                            |  (one writev per <= IOV_MAX chunks)  |
 *                            +---- error or short write ------------+--> OFFLINE
 *
 * A flush covers [block of durable_pos, block-aligned end of the size at the time of
 * the call): the partial last block is written whole (zeros past the end) and
 * written again by the next flush. Appends made while a flush is in flight go at or
 * beyond fl_size: they may change bytes of the partial block being written, but only
 * past fl_size, which that flush does not claim as durable.
 *
 * Write-only flushes (rb_log_write_out, for relaxed flush.messages): the same
 * writes, no fdatasync; they move written_pos/written_end, not the durable pair.
 * The next flush starts at the block of written_pos; a syncing flush then makes
 * everything up to its size durable (the sync covers the earlier writes too).
 *
 * Fault model: a failed or short write or sync is never retried (the page cache
 * may have dropped the data): the log goes offline, the flush callback gets the
 * error, every later append, flush and read returns -EIO.
 */
#include "storage/log_int.h"

#include "core/defect.h"
#include "core/endian.h"
#include "core/logging.h"
#include "core/rb.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LOG_IOV_MAX 1024 /* IOV_MAX on Linux */

void rb_log_set_offline(struct rb_log *log, int err, const char *what)
{
    if (!log->offline)
        RB_ERROR("storage", "%s: %s failed (%s): log offline", log->dir, what, strerror(-err));
    log->offline = true;
}

int rb_log_chunk_add(struct rb_log *log, uint64_t pos)
{
    RB_ASSERT(pos % RB_BLOCK_BYTES == 0);
    RB_ASSERT(!log->n_chunks || pos == log->chunks[log->n_chunks - 1]->pos + log->cfg.chunk_bytes);
    if (log->n_chunks == log->cap_chunks) {
        int cap = log->cap_chunks ? log->cap_chunks * 2 : 8;
        struct rb_chunk **nc = realloc(log->chunks, (size_t)cap * sizeof(*nc));
        if (!nc)
            return -ENOMEM;
        log->chunks = nc;
        log->cap_chunks = cap;
    }
    struct rb_chunk *c = log->spare_chunk;
    log->spare_chunk = NULL;
    if (!c || c->bytes != log->cfg.chunk_bytes) {
        if (c)
            rb_chunk_put(NULL, c);
        c = rb_chunk_get(log->cache, log->cfg.chunk_bytes);
    }
    if (!c)
        return -ENOMEM;
    c->pos = pos;
    log->chunks[log->n_chunks++] = c;
    return 0;
}

void rb_log_zero_pad(struct rb_log *log)
{
    uint64_t size = rb_log_active(log)->size;
    uint64_t end = RB_ALIGN_UP(size, (uint64_t)RB_BLOCK_BYTES);
    if (size == end || !log->n_chunks || size < log->chunks[0]->pos)
        return;
    uint32_t cb = log->cfg.chunk_bytes;
    uint64_t rel = size - log->chunks[0]->pos;
    RB_ASSERT(rel / cb < (uint64_t)log->n_chunks);
    /* A block never straddles two chunks: chunk sizes and positions are 4 KiB aligned. */
    memset(log->chunks[rel / cb]->buf + rel % cb, 0, (size_t)(end - size));
}

static void chunk_release(struct rb_log *log, struct rb_chunk *c)
{
    if (log->cache)
        rb_chunk_put(log->cache, c);
    else if (!log->spare_chunk)
        log->spare_chunk = c;
    else
        rb_chunk_put(NULL, c);
}

void rb_log_seg_chunks_free(struct rb_log *log, struct rb_segment *seg)
{
    for (int i = seg->kc_head; i < seg->n_kc; i++) {
        struct rb_chunk *c = seg->kc[i];
        if (c->cached)
            rb_tail_cache_unlink(log->cache, c);
        chunk_release(log, c);
    }
    if (seg->kc)
        log->n_kept_segs--;
    free(seg->kc);
    seg->kc = NULL;
    seg->kc_head = seg->n_kc = 0;
    RB_ASSERT(log->n_kept_segs >= 0);
}

/* The active segment's chunks only. */
static void active_chunks_free(struct rb_log *log)
{
    for (int i = 0; i < log->n_chunks; i++) {
        if (log->chunks[i]->cached)
            rb_tail_cache_unlink(log->cache, log->chunks[i]);
        chunk_release(log, log->chunks[i]);
    }
    free(log->chunks);
    if (log->spare_chunk)
        rb_chunk_put(NULL, log->spare_chunk);
    log->chunks = NULL;
    log->spare_chunk = NULL;
    log->n_chunks = log->cap_chunks = log->n_cached = 0;
}

void rb_log_chunks_free(struct rb_log *log)
{
    active_chunks_free(log);
    for (int i = 0; i < log->n_segs && log->n_kept_segs; i++)
        rb_log_seg_chunks_free(log, &log->segs[i]);
    RB_ASSERT(log->n_kept_segs == 0);
}

void rb_log_chunks_keep(struct rb_log *log)
{
    struct rb_segment *seg = rb_log_active(log);
    /* a roll seals a durable segment: no write of these chunks is in flight */
    RB_ASSERT(!seg->kc && log->written_pos == seg->size);
    if (!log->cache || !log->n_chunks) {
        active_chunks_free(log);
        return;
    }
    /* all written (a roll seals a durable segment): the rest join the cache,
     * newest last, so the log's oldest cached chunk stays its lowest */
    while (log->n_cached < log->n_chunks)
        rb_tail_cache_push(log->cache, log, log->chunks[log->n_cached++]);
    seg->kc = log->chunks;
    seg->kc_head = 0;
    seg->n_kc = log->n_chunks;
    log->n_kept_segs++;
    log->chunks = NULL;
    log->n_chunks = log->cap_chunks = log->n_cached = 0;
    rb_tail_cache_trim(log->cache);
}

static void chunks_drop_front(struct rb_log *log, int n)
{
    memmove(log->chunks, log->chunks + n, (size_t)(log->n_chunks - n) * sizeof(*log->chunks));
    log->n_chunks -= n;
}

void rb_log_chunk_evict(struct rb_log *log, struct rb_chunk *c)
{
    RB_ASSERT(!c->cached);
    /* Kept segments' chunks were cached before any later segment's: the lowest
     * segment holding some has the log's oldest. All segments: in a roll the one
     * that kept its chunks is still the last until the next is pushed. */
    for (int i = 0; log->n_kept_segs && i < log->n_segs; i++) {
        struct rb_segment *seg = &log->segs[i];
        if (!seg->kc)
            continue;
        RB_ASSERT(seg->kc_head < seg->n_kc && seg->kc[seg->kc_head] == c);
        seg->kc[seg->kc_head++] = NULL;
        if (seg->kc_head == seg->n_kc)
            rb_log_seg_chunks_free(log, seg);
        chunk_release(log, c);
        return;
    }
    RB_ASSERT(log->n_cached > 0 && log->chunks[0] == c);
    chunks_drop_front(log, 1);
    log->n_cached--;
    chunk_release(log, c);
}

/* Chunks entirely below written_pos hold nothing the file lacks: they go to the
 * tail cache (which may evict the shard's oldest), or are freed without one. */
static void free_written_chunks(struct rb_log *log)
{
    uint32_t cb = log->cfg.chunk_bytes;
    if (log->cache) {
        while (log->n_cached < log->n_chunks &&
               log->chunks[log->n_cached]->pos + cb <= log->written_pos)
            rb_tail_cache_push(log->cache, log, log->chunks[log->n_cached++]);
        rb_tail_cache_trim(log->cache);
        return;
    }
    int n = 0;
    while (n < log->n_chunks && log->chunks[n]->pos + cb <= log->written_pos)
        chunk_release(log, log->chunks[n++]);
    if (n)
        chunks_drop_front(log, n);
}

/* Make the chunks cover the active segment's bytes up to end. */
static int chunks_cover(struct rb_log *log, uint64_t end)
{
    struct rb_segment *seg = rb_log_active(log);
    if (!log->n_chunks) {
        RB_ASSERT(seg->size % RB_BLOCK_BYTES == 0);
        int err = rb_log_chunk_add(log, seg->size);
        if (err)
            return err;
    }
    while (log->chunks[log->n_chunks - 1]->pos + log->cfg.chunk_bytes < end) {
        int err = rb_log_chunk_add(log, log->chunks[log->n_chunks - 1]->pos + log->cfg.chunk_bytes);
        if (err)
            return err;
    }
    return 0;
}

static void chunks_copy(struct rb_log *log, uint64_t pos, const uint8_t *src, size_t len)
{
    uint32_t cb = log->cfg.chunk_bytes;
    RB_ASSERT(log->n_chunks && pos >= log->chunks[0]->pos);
    while (len) {
        uint64_t rel = pos - log->chunks[0]->pos;
        RB_ASSERT(rel / cb < (uint64_t)log->n_chunks);
        struct rb_chunk *c = log->chunks[rel / cb];
        size_t in = (size_t)(rel % cb);
        size_t n = RB_MIN(len, (size_t)cb - in);
        memcpy(c->buf + in, src, n);
        pos += n;
        src += n;
        len -= n;
    }
}

int rb_log_build_iov(struct rb_log *log, uint64_t from, uint64_t to, struct iovec *iov, int max,
                     uint64_t *bytes)
{
    uint32_t cb = log->cfg.chunk_bytes;
    int n = 0;
    *bytes = 0;
    RB_ASSERT(log->n_chunks && from >= log->chunks[0]->pos);
    while (from < to && n < max) {
        uint64_t rel = from - log->chunks[0]->pos;
        RB_ASSERT(rel / cb < (uint64_t)log->n_chunks);
        struct rb_chunk *c = log->chunks[rel / cb];
        size_t in = (size_t)(rel % cb);
        size_t len = (size_t)RB_MIN((uint64_t)cb - in, to - from);
        iov[n++] = (struct iovec){.iov_base = c->buf + in, .iov_len = len};
        from += len;
        *bytes += len;
    }
    return n;
}

static bool need_roll(struct rb_log *log, struct rb_segment *seg, const struct rb_batch_info *bi,
                      int64_t now_ms)
{
    uint64_t total = rb_batch_total_bytes(bi);
    if (seg->size == 0)
        return false;
    if (seg->size + total > log->cfg.segment_bytes)
        return true;
    if (seg->first_append_ms >= 0 && now_ms - seg->first_append_ms > log->cfg.segment_ms)
        return true;
    if (log->end_offset + bi->last_offset_delta - seg->base_offset > INT32_MAX)
        return true;
    return rb_index_file_bytes(&seg->idx) + RB_INDEX_ENTRY_BYTES > log->cfg.segment_index_bytes;
}

/* Room for the batch: roll if due, the dirty budget, preallocation, chunks. The
 * roll and any growth run in the background (log_seg.c): -ENOBUFS until done. */
static int make_room(struct rb_log *log, const struct rb_batch_info *bi, int64_t now_ms)
{
    struct rb_segment *seg = rb_log_active(log);
    uint64_t total = rb_batch_total_bytes(bi);
    if (need_roll(log, seg, bi, now_ms))
        return rb_log_seg_roll(log);
    uint64_t dirty = seg->size - log->written_pos;
    if (dirty && dirty + total > log->cfg.max_dirty_bytes)
        return -ENOBUFS;
    int err = rb_log_seg_room(log, RB_ALIGN_UP(seg->size + total, (uint64_t)RB_BLOCK_BYTES));
    return err ? err : chunks_cover(log, seg->size + total);
}

/* The log's three ends never cross: what is durable was written, what was written
 * was appended. Checked on both sides of every append and flush. */
static void assert_ends(struct rb_log *log)
{
    RB_ASSERT(log->durable_end <= log->written_end);
    RB_ASSERT(log->written_end <= log->end_offset);
    RB_ASSERT(log->end_offset == rb_log_active(log)->end_offset);
}

/* Before copying a batch of total bytes at the active segment's end: the segment
 * has room (make_room rolled otherwise) and the chunks cover the bytes. */
static void assert_append_room(const struct rb_log *log, const struct rb_segment *seg,
                               uint32_t total)
{
    RB_ASSERT(seg->size == 0 || seg->size + total <= log->cfg.segment_bytes);
    RB_ASSERT(seg->size >= log->written_pos);
    RB_ASSERT(log->n_chunks > 0 && log->chunks[0]->pos <= seg->size);
    RB_ASSERT(seg->size + total <= log->chunks[log->n_chunks - 1]->pos + log->cfg.chunk_bytes);
}

static int append_batch(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                        int64_t now_ms, bool as_given, int64_t *base_offset_out);

int rb_log_append(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                  int64_t now_ms, int64_t *base_offset_out)
{
    return append_batch(log, batch, bi, now_ms, false, base_offset_out);
}

int rb_log_append_replica(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                          int64_t now_ms)
{
    RB_ASSERT(bi->base_offset == log->end_offset);
    return append_batch(log, batch, bi, now_ms, true, NULL);
}

static int append_batch(struct rb_log *log, const uint8_t *batch, const struct rb_batch_info *bi,
                        int64_t now_ms, bool as_given, int64_t *base_offset_out)
{
    uint8_t hdr[RB_BATCH_HEADER_BYTES];
    if (log->offline)
        return -EIO;
    RB_ASSERT(bi->magic == 2 && bi->batch_length >= (int32_t)(RB_BATCH_HEADER_BYTES - 12));
    RB_ASSERT(bi->last_offset_delta >= 0);
    int err = make_room(log, bi, now_ms);
    if (err)
        return err;

    struct rb_segment *seg = rb_log_active(log);
    uint32_t total = rb_batch_total_bytes(bi);
    int64_t max_ts = bi->max_timestamp;
    uint64_t size_before = seg->size;
    assert_ends(log);
    assert_append_room(log, seg, total);
    memcpy(hdr, batch, sizeof(hdr));
    rb_put_be64(hdr + RB_BATCH_OFF_BASE_OFFSET, (uint64_t)log->end_offset);
    if (log->cfg.log_append_time && !as_given) {
        /* attributes and maxTimestamp are under the CRC: recompute it. */
        hdr[RB_BATCH_OFF_ATTRIBUTES + 1] |= RB_BATCH_ATTR_TIMESTAMP_TYPE;
        rb_put_be64(hdr + RB_BATCH_OFF_MAX_TS, (uint64_t)now_ms);
        max_ts = now_ms;
        uint32_t crc = rb_crc32c(0, hdr + RB_BATCH_OFF_ATTRIBUTES,
                                 RB_BATCH_HEADER_BYTES - RB_BATCH_OFF_ATTRIBUTES);
        crc = rb_crc32c(crc, batch + RB_BATCH_HEADER_BYTES, total - RB_BATCH_HEADER_BYTES);
        rb_put_be32(hdr + RB_BATCH_OFF_CRC, crc);
    }
    err = rb_log_epoch_stamp(log, hdr, log->end_offset);
    if (err)
        return err;
    log->touched = true;
    chunks_copy(log, seg->size, hdr, sizeof(hdr));
    chunks_copy(log, seg->size + sizeof(hdr), batch + sizeof(hdr), total - sizeof(hdr));

    int64_t base = log->end_offset;
    rb_segment_account(seg, seg->size, base, base + bi->last_offset_delta, total, max_ts);
    if (seg->first_append_ms < 0)
        seg->first_append_ms = now_ms;
    log->end_offset = seg->end_offset;
    RB_ASSERT(log->end_offset == base + bi->last_offset_delta + 1); /* dense offsets */
    RB_ASSERT(seg->size == size_before + total);
    assert_ends(log);
    if (base_offset_out)
        *base_offset_out = base;
    rb_log_seg_ahead(log);
    return 0;
}

bool rb_log_dirty(const struct rb_log *log)
{
    return log->end_offset != log->durable_end;
}

bool rb_log_unwritten(const struct rb_log *log)
{
    return log->end_offset != log->written_end;
}

bool rb_log_flushing(const struct rb_log *log)
{
    return log->flushing;
}

static void flush_fail(struct rb_log *log, int err, const char *what)
{
    rb_log_set_offline(log, err, what);
    log->flushing = false;
    if (log->fl_cb)
        log->fl_cb(log, err, log->fl_arg);
}

/* Whether the segment the flush wrote is still the active one. A sync-only flush
 * (nothing to write) may start while a roll is under way (the old segment is
 * durable, appends wait) and finish after it: its positions then belong to the
 * old segment and must not move the new one's. */
static bool flush_segment_active(struct rb_log *log)
{
    /* RB_DEFECT: planted defect (sim-selftest), the roll-under-flush bug back */
    return rb_log_active(log)->base_offset == log->fl_seg_base || RB_DEFECT(FLUSH_AFTER_ROLL);
}

/* The flush's writes are complete (and synced when fl_sync): finish it. */
static void flush_written(struct rb_log *log)
{
    RB_ASSERT(log->fl_offset >= log->written_end);
    if (flush_segment_active(log)) {
        RB_ASSERT(log->fl_size >= log->written_pos);
        log->written_pos = log->fl_size;
    }
    log->written_end = log->fl_offset;
    assert_ends(log);
    free_written_chunks(log);
    if (rb_log_seg_hold_flush(log)) {
        log->fl_held = true; /* log_seg.c calls back once appends have room */
        return;
    }
    log->flushing = false;
    if (log->fl_cb)
        log->fl_cb(log, 0, log->fl_arg);
}

static void flush_sync_done(struct rb_disk_op *op, int res)
{
    struct rb_log *log = RB_CONTAINER_OF(op, struct rb_log, sop);
    RB_ASSERT(log->flushing);
    if (res < 0) {
        flush_fail(log, res, "fdatasync");
        return;
    }
    RB_ASSERT(log->fl_offset >= log->durable_end && log->fl_next == log->fl_end);
    if (flush_segment_active(log))
        log->durable_pos = log->fl_size;
    log->durable_end = log->fl_offset;
    flush_written(log);
}

static void flush_next(struct rb_log *log)
{
    if (log->fl_next == log->fl_end) {
        if (log->fl_sync)
            log->disk.ops->fdatasync(log->disk.ctx, log->fl_fd, &log->sop);
        else /* runs from a write completion: never inline (rb_log_write_out) */
            flush_written(log);
        return;
    }
    int cnt =
        rb_log_build_iov(log, log->fl_next, log->fl_end, log->iov, log->iov_cap, &log->fl_want);
    log->disk.ops->writev(log->disk.ctx, log->fl_fd, log->iov, cnt, log->fl_next, &log->wop);
}

static void flush_write_done(struct rb_disk_op *op, int res)
{
    struct rb_log *log = RB_CONTAINER_OF(op, struct rb_log, wop);
    RB_ASSERT(log->flushing);
    if (res < 0 || (uint64_t)res != log->fl_want) {
        flush_fail(log, res < 0 ? res : -EIO, res < 0 ? "write" : "short write");
        return;
    }
    log->fl_next += log->fl_want;
    RB_ASSERT(log->fl_next <= log->fl_end);
    flush_next(log);
}

static int ensure_iov(struct rb_log *log)
{
    int need = RB_MIN(log->n_chunks + 1, LOG_IOV_MAX);
    if (log->iov_cap >= need)
        return 0;
    struct iovec *ni = realloc(log->iov, (size_t)need * sizeof(*ni));
    if (!ni)
        return -ENOMEM;
    log->iov = ni;
    log->iov_cap = need;
    return 0;
}

/* A flush with nothing to do: an append refused for room the background work
 * brings (preallocation, the next segment, a cold log's open) still gets the
 * callback, once that work is idle; -EALREADY when none waits. A write-only
 * flush serves it so without any sync. */
static int hold_for_room(struct rb_log *log, rb_log_flush_cb cb, void *arg)
{
    if (!rb_log_seg_hold_flush(log))
        return -EALREADY;
    log->flushing = true;
    log->fl_held = true;
    log->fl_cb = cb;
    log->fl_arg = arg;
    return 0;
}

static int flush_start(struct rb_log *log, bool sync, rb_log_flush_cb cb, void *arg)
{
    if (log->offline)
        return -EIO;
    if (log->flushing)
        return -EBUSY;
    struct rb_segment *seg = rb_log_active(log);
    if (!sync && log->written_pos == seg->size) /* nothing to write */
        return hold_for_room(log, cb, arg);
    int err = ensure_iov(log);
    if (err)
        return err;
    assert_ends(log);
    RB_ASSERT(log->written_pos <= seg->size);
    if (seg->wr_fd < 0) {
        /* Cold log (nothing appended since open: log_seg.c opens wr_fd first), flushed
         * for an append that waits for that open: nothing to write or sync; the
         * callback comes when the background work is idle. */
        RB_ASSERT(log->durable_pos == seg->size && !rb_log_dirty(log));
        return hold_for_room(log, cb, arg);
    }
    log->fl_fd = seg->wr_fd;
    log->fl_size = seg->size;
    log->fl_offset = log->end_offset;
    log->fl_seg_base = seg->base_offset;
    log->fl_next = RB_ALIGN_DOWN(log->written_pos, (uint64_t)RB_BLOCK_BYTES);
    log->fl_end = RB_ALIGN_UP(seg->size, (uint64_t)RB_BLOCK_BYTES);
    if (log->written_pos == seg->size)
        log->fl_next = log->fl_end; /* nothing to write: the sync still orders the ack */
    else
        rb_log_zero_pad(log);
    log->fl_sync = sync;
    log->fl_cb = cb;
    log->fl_arg = arg;
    log->wop.done = flush_write_done;
    log->sop.done = flush_sync_done;
    log->flushing = true;
    flush_next(log);
    return 0;
}

int rb_log_flush(struct rb_log *log, rb_log_flush_cb cb, void *arg)
{
    return flush_start(log, true, cb, arg);
}

int rb_log_write_out(struct rb_log *log, rb_log_flush_cb cb, void *arg)
{
    return flush_start(log, false, cb, arg);
}
