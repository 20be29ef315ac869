/*
 * storage/log_read.c - the partition log's read path: locate batches by offset
 * (sparse index, then batch headers) and by timestamp (time index, then headers),
 * and describe them as memory pieces (the chunks: unwritten ones and the written
 * ones the shard's tail cache still holds) or file pieces (buffered fd).
 *
 * A read walks batch headers only around its start and its end: whole index
 * intervals in between are taken by position (index_skip), each jump checked
 * against the header it lands on.
 * Invariants: a read returns whole batches only; bytes at or above the first
 * chunk's position come from memory (the file may hold zeros or a stale partial
 * block there), bytes below it from the file, where they are durable. An inactive
 * segment's memory is the chunks it kept at its roll that the tail cache has not
 * evicted yet (a suffix of the segment, as for the active one).
 * Descriptor budget: only the active segment and at most one closed segment (the
 * last one read) keep a descriptor open.
 * Fault model: headers read back are checked (length, bounds, offsets increasing);
 * anything inconsistent is reported as -EIO, never asserted.
 */
#include "storage/log_int.h"

#include "core/endian.h"
#include "core/logging.h"
#include "core/rb.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

struct hdr {
    int64_t base;
    int64_t last;
    int64_t max_ts;
    uint32_t total;
};

static bool is_active(struct rb_log *log, int si)
{
    return si == log->n_segs - 1;
}

/* The chunks holding segment si's bytes from their first position on: the
 * active segment's, or those an inactive one kept at its roll (segment.h kc). */
static struct rb_chunk *const *seg_chunks(struct rb_log *log, int si, int *n)
{
    if (is_active(log, si)) {
        *n = log->n_chunks;
        return log->chunks;
    }
    const struct rb_segment *seg = &log->segs[si];
    *n = seg->n_kc - seg->kc_head;
    return *n ? seg->kc + seg->kc_head : NULL;
}

/* Where segment si's bytes start being in memory (its size or more: none). */
static uint64_t mem_start(struct rb_log *log, int si)
{
    int n;
    struct rb_chunk *const *c = seg_chunks(log, si, &n);
    if (n)
        return c[0]->pos;
    return is_active(log, si) ? rb_log_active(log)->size : UINT64_MAX;
}

/* The segment, with its read descriptor open (closing another closed segment's). */
static struct rb_segment *seg_open(struct rb_log *log, int si)
{
    struct rb_segment *seg = &log->segs[si];
    if (!is_active(log, si) && log->rd_open_seg != si) {
        if (log->rd_open_seg >= 0 && log->rd_open_seg < log->n_segs - 1)
            rb_segment_close_fds(&log->segs[log->rd_open_seg]);
        log->rd_open_seg = si;
    }
    return seg;
}

/* The range [pos, pos + len) of segment si lies inside what it holds: callers
 * bound it by a validated batch header or the segment size. */
static void assert_in_segment(struct rb_log *log, int si, uint64_t pos, uint64_t len)
{
    RB_ASSERT(si >= 0 && si < log->n_segs);
    RB_ASSERT(pos <= log->segs[si].size && len <= log->segs[si].size - pos);
}

/* The chunk of segment si holding pos, which must be in memory (>= mem_start). */
static struct rb_chunk *chunk_at(struct rb_log *log, int si, uint64_t pos)
{
    uint32_t cb = log->cfg.chunk_bytes;
    int n;
    struct rb_chunk *const *c = seg_chunks(log, si, &n);
    RB_ASSERT(n > 0 && pos >= c[0]->pos);
    uint64_t i = (pos - c[0]->pos) / cb;
    RB_ASSERT(i < (uint64_t)n);
    return c[i];
}

static int read_bytes(struct rb_log *log, int si, uint64_t pos, uint8_t *buf, size_t len)
{
    uint64_t ms = mem_start(log, si);
    uint32_t cb = log->cfg.chunk_bytes;
    assert_in_segment(log, si, pos, len);
    if (pos < ms) {
        size_t n = (size_t)RB_MIN((uint64_t)len, ms - pos);
        if (rb_segment_pread(seg_open(log, si), log->dir, buf, n, pos))
            return -EIO;
        pos += n;
        buf += n;
        len -= n;
    }
    while (len) {
        uint64_t rel = pos - ms;
        const struct rb_chunk *c = chunk_at(log, si, pos);
        size_t n = RB_MIN(len, (size_t)(cb - rel % cb));
        memcpy(buf, c->buf + rel % cb, n);
        pos += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static int read_hdr(struct rb_log *log, int si, uint64_t pos, struct hdr *h)
{
    uint8_t b[RB_BATCH_HEADER_BYTES];
    struct rb_segment *seg = &log->segs[si];
    if (pos > seg->size || seg->size - pos < RB_BATCH_HEADER_BYTES ||
        read_bytes(log, si, pos, b, sizeof(b)))
        return -EIO;
    int32_t len = (int32_t)rb_get_be32(b + RB_BATCH_OFF_LENGTH);
    int32_t lod = (int32_t)rb_get_be32(b + 23);
    h->base = (int64_t)rb_get_be64(b + RB_BATCH_OFF_BASE_OFFSET);
    h->last = h->base + lod;
    h->max_ts = (int64_t)rb_get_be64(b + RB_BATCH_OFF_MAX_TS);
    h->total = RB_BATCH_LOG_OVERHEAD + (uint32_t)len;
    if (len < (int32_t)(RB_BATCH_HEADER_BYTES - RB_BATCH_LOG_OVERHEAD) || lod < 0 ||
        h->total > seg->size - pos || h->base < seg->base_offset) {
        RB_ERROR("storage", "%s/%020" PRId64 ".log: bad batch header at position %" PRIu64,
                 log->dir, seg->base_offset, pos);
        return -EIO;
    }
    return 0;
}

static int find_seg(struct rb_log *log, int64_t offset)
{
    /* first segment with base > offset */
    int lo = RB_PARTITION_POINT(log->n_segs, i, log->segs[i].base_offset <= offset);
    return lo ? lo - 1 : 0;
}

static bool add_piece(struct rb_log_slice *out, struct rb_log_piece p)
{
    if (out->n) {
        struct rb_log_piece *q = &out->piece[out->n - 1];
        bool join = p.mem ? q->mem && q->mem + q->len == p.mem
                          : !q->mem && q->fd == p.fd && q->file_pos + q->len == p.file_pos;
        if (join) {
            q->len += p.len;
            return true;
        }
    }
    if (out->n == RB_LOG_SLICE_PIECES)
        return false;
    out->piece[out->n++] = p;
    return true;
}

/* Add [pos, pos + len) of segment si as pieces; all or nothing. */
static bool add_range(struct rb_log *log, int si, uint64_t pos, uint32_t len,
                      struct rb_log_slice *out)
{
    struct rb_log_slice saved = *out;
    uint64_t ms = mem_start(log, si), end = pos + len;
    uint32_t cb = log->cfg.chunk_bytes;
    bool ok = true;
    assert_in_segment(log, si, pos, len);
    if (pos < ms) {
        uint64_t n = RB_MIN(end, ms) - pos;
        ok = add_piece(out, (struct rb_log_piece){.fd = log->segs[si].rd_fd,
                                                  .file_pos = pos,
                                                  .len = (uint32_t)n,
                                                  .final = RB_MIN(ms, log->segs[si].size),
                                                  .gen = log->trunc_gen});
        pos += n;
    }
    while (ok && pos < end) {
        uint64_t rel = pos - ms;
        uint64_t n = RB_MIN(end - pos, cb - rel % cb);
        ok = add_piece(out, (struct rb_log_piece){.mem = chunk_at(log, si, pos)->buf + rel % cb,
                                                  .fd = -1,
                                                  .len = (uint32_t)n});
        pos += n;
    }
    if (!ok) {
        *out = saved;
        return false;
    }
    out->bytes += len;
    return true;
}

/* The batches from pos (a batch start) up to an offset index entry are whole and
 * contiguous, so they can be taken without reading their headers: the position of
 * the furthest entry after pos whose range fits in budget bytes and whose batch's
 * last offset is <= upto_offset (every batch before it then starts below
 * upto_offset); *want_last is that last offset. pos when none. */
static uint64_t index_skip(const struct rb_segment *seg, uint64_t pos, int64_t upto_offset,
                           int64_t budget, int64_t *want_last)
{
    const struct rb_seg_index *idx = &seg->idx;
    uint32_t lo = RB_PARTITION_POINT(idx->n_off, i, idx->off[i].pos <= pos); /* first pos > */
    uint64_t to = pos;
    for (uint32_t i = lo; i < idx->n_off; i++) {
        const struct rb_index_entry *e = &idx->off[i];
        int64_t last = seg->base_offset + e->rel_offset;
        if (e->pos >= seg->size || (int64_t)(e->pos - pos) > budget || last > upto_offset)
            break;
        to = e->pos;
        *want_last = last;
    }
    return to;
}

int rb_log_read(struct rb_log *log, int64_t offset, int64_t upto_offset, uint32_t max_bytes,
                bool min_one, struct rb_log_slice *out)
{
    out->n = 0;
    out->bytes = 0;
    if (log->offline)
        return -EIO;
    upto_offset = RB_MIN(upto_offset, log->end_offset);
    if (offset < log->start_offset || offset > upto_offset)
        return -ERANGE;
    if (offset == upto_offset)
        return 0;
    int si = find_seg(log, offset);
    struct rb_segment *seg = seg_open(log, si);
    if (rb_segment_open_read(seg, log->dir))
        return -EIO;
    /* Headers are read (one pread each below the unwritten chunks) from the index
     * entry at or before offset up to the first batch to return, then only where
     * index_skip cannot jump: the walk is bounded by about two index intervals of
     * batches, whatever max_bytes is. */
    uint64_t pos = rb_index_lookup(&seg->idx, (uint32_t)(offset - seg->base_offset));
    struct rb_log_slice before_skip;
    uint64_t skip_from = 0;
    int64_t want_last = -1;
    bool skipped = false, no_skip = false;
    while (pos < seg->size) {
        struct hdr h;
        int r = read_hdr(log, si, pos, &h);
        if (skipped && (r || h.last != want_last)) {
            /* The index disagrees with the log (a stale file): walk the headers. */
            *out = before_skip;
            pos = skip_from;
            skipped = false;
            no_skip = true;
            continue;
        }
        skipped = false;
        if (r)
            return -EIO;
        if (h.base >= upto_offset)
            break;
        if (h.last >= offset) {
            bool first = out->bytes == 0;
            if ((uint64_t)out->bytes + h.total > max_bytes && !(first && min_one))
                break;
            if (!add_range(log, si, pos, h.total, out))
                break;
            pos += h.total;
            if (no_skip)
                continue;
            uint64_t to = index_skip(seg, pos, upto_offset,
                                     (int64_t)max_bytes - (int64_t)out->bytes, &want_last);
            if (to > pos) {
                before_skip = *out;
                if (add_range(log, si, pos, (uint32_t)(to - pos), out)) {
                    skip_from = pos;
                    pos = to; /* below seg->size: its header is checked next */
                    skipped = true;
                }
            }
            continue;
        }
        pos += h.total;
    }
    return 0;
}

static int pread_all(int fd, uint8_t *buf, size_t len, uint64_t pos)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
        pos += (uint64_t)n;
    }
    return 0;
}

void rb_log_read_failed(struct rb_log *log, int err)
{
    rb_log_set_offline(log, err, "read");
}

int rb_log_read_copy(struct rb_log *log, int64_t offset, int64_t upto_offset, uint32_t max_bytes,
                     bool min_one, uint8_t *buf, uint32_t cap, uint32_t *len_out)
{
    struct rb_log_slice s;
    *len_out = 0;
    int err = rb_log_read(log, offset, upto_offset, RB_MIN(max_bytes, cap), min_one, &s);
    if (err)
        return err;
    if (s.bytes > cap)
        return -ENOBUFS;
    uint32_t done = 0;
    for (int i = 0; i < s.n; i++) {
        const struct rb_log_piece *p = &s.piece[i];
        if (p->mem)
            memcpy(buf + done, p->mem, p->len);
        else if (pread_all(p->fd, buf + done, p->len, p->file_pos))
            return -EIO;
        done += p->len;
    }
    *len_out = done;
    return 0;
}

/* First durable batch of segment si with max timestamp >= ts. */
static int time_in_segment(struct rb_log *log, int si, int64_t ts, int64_t *offset,
                           int64_t *timestamp)
{
    struct rb_segment *seg = seg_open(log, si);
    if (rb_segment_open_read(seg, log->dir))
        return -EIO;
    uint32_t rel = rb_index_lookup_time(&seg->idx, ts);
    int64_t from = seg->base_offset + rel;
    uint64_t pos = rb_index_lookup(&seg->idx, rel);
    while (pos < seg->size) {
        struct hdr h;
        if (read_hdr(log, si, pos, &h))
            return -EIO;
        if (h.base >= log->durable_end)
            break;
        if (h.last >= from && h.max_ts >= ts) {
            *offset = h.base;
            *timestamp = h.max_ts;
            return 0;
        }
        pos += h.total;
    }
    return -ENOENT;
}

int rb_log_offset_for_time(struct rb_log *log, int64_t ts, int64_t *offset, int64_t *timestamp)
{
    if (log->offline)
        return -EIO;
    for (int si = 0; si < log->n_segs; si++) {
        if (log->segs[si].max_ts < ts || log->segs[si].base_offset >= log->durable_end)
            continue;
        int err = time_in_segment(log, si, ts, offset, timestamp);
        if (err != -ENOENT)
            return err;
    }
    return -ENOENT;
}
