/*
 * storage/log_time.c - ListOffsets answers at record precision, as Kafka gives
 * them: MAX_TIMESTAMP (-3, KIP-734) is the first record carrying the largest
 * timestamp of the log; a lookup by timestamp is the first record at or after it
 * (the time index and batch headers only narrow it down to a batch).
 *
 * MAX_TIMESTAMP: the segments already know their largest batch max timestamp and
 * the first batch that carried it (struct rb_segment, rebuilt from the time index
 * on open), so only one batch is read: the first segment with the largest max
 * timestamp, its batch holding offset_of_max_ts.
 * Inside a batch the answer is the first record at or after the log start offset
 * whose timestamp is >= the target, with that record's timestamp (as Kafka
 * answers, for -3 since 3.7; for -3 Kafka may even name a record below the log
 * start offset left in a batch by DeleteRecords, we name the next one); with
 * LogAppendTime every record carries the batch timestamp, so it is the base
 * offset. Compressed batches are decompressed in the caller's codec scratch
 * (storage/compress.h; at most RB_DECOMP_CAP_MIN bytes); when that is impossible
 * (no scratch, corrupt data, a larger batch) the answer stays at batch precision:
 * the batch's last offset for -3 (what Kafka answered before 3.7), its base offset
 * for a timestamp lookup.
 *
 * Reads happen on the owner shard like every log read (one batch, bounded); the
 * scan of its records is a pure function of the bytes read (rb_log_time_scan), so
 * that part/ can hand a big decompression to the validator thread between the
 * read (rb_log_time_read) and the memo update (rb_log_time_finish).
 * The last question and its answer are kept (log->tq): the same question again
 * (one partition listed many times in a request, or asked again and again) is
 * answered without reading or decompressing; the key holds everything the answer
 * depends on (the batch, the upper bound, the timestamp, the log start offset).
 * Fault model: bytes read back are bounds-checked; records that do not parse give
 * the batch-precision answer, never an assert.
 */
#include "storage/log_int.h"

#include "core/endian.h"
#include "core/rb.h"
#include "storage/compress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Zigzag varint (at most 10 bytes); false when it runs past end. */
static bool varlong(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
    }
    return false;
}

/* Offset delta of the first of count records at delta >= min_delta with timestamp
 * base_ts + delta >= ts (that timestamp in *rec_ts); -1 when none or the records do
 * not parse. */
static int64_t first_record_at(const uint8_t *p, const uint8_t *end, int32_t count, int64_t base_ts,
                               int64_t ts, int64_t min_delta, int64_t *rec_ts)
{
    for (int32_t i = 0; i < count; i++) {
        int64_t len, ts_delta, off_delta;
        if (!varlong(&p, end, &len) || len < 3 || len > end - p)
            return -1;
        const uint8_t *next = p + len;
        const uint8_t *q = p + 1; /* attributes */
        if (!varlong(&q, next, &ts_delta) || !varlong(&q, next, &off_delta))
            return -1;
        if (base_ts + ts_delta >= ts && off_delta >= min_delta) {
            *rec_ts = base_ts + ts_delta;
            return off_delta;
        }
        p = next;
    }
    return -1;
}

/* The first record of batch b (len bytes) at or after min_offset with timestamp
 * >= ts: *offset and its *rec_ts. 0; -ENOENT (nothing set) when the records cannot
 * be read or none qualifies; -EMSGSIZE when they decompress to more than cap. */
static int record_in_batch(struct rb_codec_ctx *c, const uint8_t *b, size_t len, int64_t ts,
                           int64_t min_offset, size_t cap, int64_t *offset, int64_t *rec_ts)
{
    int64_t base = (int64_t)rb_get_be64(b + RB_BATCH_OFF_BASE_OFFSET);
    int64_t last = base + (int32_t)rb_get_be32(b + 23);
    int16_t attrs = (int16_t)rb_get_be16(b + RB_BATCH_OFF_ATTRIBUTES);
    int64_t base_ts = (int64_t)rb_get_be64(b + 27),
            max_ts = (int64_t)rb_get_be64(b + RB_BATCH_OFF_MAX_TS);
    int32_t count = (int32_t)rb_get_be32(b + 57);
    if (attrs & RB_BATCH_ATTR_TIMESTAMP_TYPE) {
        if (max_ts < ts || min_offset > last)
            return -ENOENT;
        *offset = RB_MAX(base, min_offset);
        *rec_ts = max_ts;
        return 0;
    }
    const uint8_t *recs = b + RB_BATCH_HEADER_BYTES;
    size_t rlen = len - RB_BATCH_HEADER_BYTES;
    int codec = attrs & RB_BATCH_ATTR_COMPRESSION_MASK;
    if (codec && !c)
        return -ENOENT;
    if (codec) {
        int r = rb_decompress(c, codec, recs, rlen, cap, &recs, &rlen);
        if (r)
            return r == -EMSGSIZE ? r : -ENOENT;
    }
    int64_t delta =
        first_record_at(recs, recs + rlen, count, base_ts, ts, min_offset - base, rec_ts);
    if (delta < 0 || base + delta > last)
        return -ENOENT;
    *offset = base + delta;
    return 0;
}

/* Memo of the last lookup (log->tq): bytes below upto_offset never change while
 * the log start offset stays (appends only add above, retention and DeleteRecords
 * move the start, which is part of the key; a truncation forgets it and moves
 * tq_gen), so a repeated question gets the same answer without reading or
 * decompressing again. Only definite answers are kept (found, or -ENOENT), never
 * -EIO/-ENOMEM. */
static bool tq_hit(struct rb_log *log, struct rb_log_tlookup *q)
{
    const struct rb_log_tlookup *k = &log->tq.q;
    if (!log->tq.valid || k->codec != q->codec || k->batch_offset != q->batch_offset ||
        k->upto_offset != q->upto_offset || k->ts != q->ts || k->min_offset != log->start_offset ||
        q->upto_offset > log->end_offset)
        return false;
    q->err = k->err;
    q->offset = k->err ? -1 : k->offset;
    q->timestamp = k->err ? -1 : k->timestamp;
    return true;
}

static void tq_keep(struct rb_log *log, const struct rb_log_tlookup *q)
{
    log->tq.valid = q->err == 0 || q->err == -ENOENT;
    log->tq.q = *q;
    log->tq.q.buf = NULL; /* the bytes are the caller's */
    log->tq.q.len = 0;
}

int rb_log_time_read(struct rb_log *log, bool codec, int64_t batch_offset, int64_t upto_offset,
                     int64_t ts, struct rb_log_tlookup *q)
{
    *q = (struct rb_log_tlookup){.codec = codec,
                                 .batch_offset = batch_offset,
                                 .upto_offset = upto_offset,
                                 .ts = ts,
                                 .min_offset = log->start_offset,
                                 .gen = log->tq_gen,
                                 .offset = -1,
                                 .timestamp = -1};
    if (log->offline) {
        q->err = -EIO;
        return 0;
    }
    if (tq_hit(log, q))
        return 0;
    log->tq_lookups++;
    /* Records below the log start offset are gone, even inside a batch (Kafka). */
    int64_t from = RB_MAX(batch_offset, log->start_offset);
    struct rb_log_slice s;
    q->err = rb_log_read(log, from, upto_offset, 1, true, &s);
    if (!q->err && s.bytes < RB_BATCH_HEADER_BYTES)
        q->err = -ENOENT;
    if (!q->err && !(q->buf = malloc(s.bytes)))
        q->err = -ENOMEM;
    uint32_t got = 0;
    if (!q->err)
        q->err = rb_log_read_copy(log, from, upto_offset, 1, true, q->buf, s.bytes, &got);
    if (!q->err && got < RB_BATCH_HEADER_BYTES)
        q->err = -ENOENT;
    if (q->err) {
        free(q->buf);
        q->buf = NULL;
        tq_keep(log, q);
        return 0;
    }
    q->len = got;
    return 1;
}

int rb_log_time_scan(struct rb_codec_ctx *c, struct rb_log_tlookup *q, size_t cap)
{
    RB_ASSERT(q->buf && q->len >= RB_BATCH_HEADER_BYTES);
    cap = RB_MIN(cap, RB_DECOMP_CAP_MIN);
    int64_t off = -1, rts = -1;
    int r =
        record_in_batch(q->codec ? c : NULL, q->buf, q->len, q->ts, q->min_offset, cap, &off, &rts);
    if (r == -EMSGSIZE && cap < RB_DECOMP_CAP_MIN)
        return r; /* more than this cap: again with a larger one */
    q->err = r ? -ENOENT : 0;
    q->offset = r ? -1 : off;
    q->timestamp = r ? -1 : rts;
    return 0;
}

void rb_log_time_finish(struct rb_log *log, struct rb_log_tlookup *q)
{
    if (!q->buf)
        return; /* answered by rb_log_time_read: kept there */
    free(q->buf);
    q->buf = NULL;
    if (log && !log->offline && log->tq_gen == q->gen && q->upto_offset <= log->end_offset)
        tq_keep(log, q);
}

int rb_log_record_at_time(struct rb_log *log, struct rb_codec_ctx *c, int64_t batch_offset,
                          int64_t upto_offset, int64_t ts, int64_t *offset, int64_t *timestamp)
{
    struct rb_log_tlookup q;
    if (rb_log_time_read(log, c != NULL, batch_offset, upto_offset, ts, &q) == 1) {
        int r = rb_log_time_scan(c, &q, RB_DECOMP_CAP_MIN);
        RB_ASSERT(r == 0);
        rb_log_time_finish(log, &q);
    }
    if (!q.err) {
        *offset = q.offset;
        *timestamp = q.timestamp;
    }
    return q.err;
}

uint64_t rb_log_time_reads(const struct rb_log *log)
{
    return log->tq_lookups;
}

int rb_log_max_ts_batch(struct rb_log *log, int64_t upto_offset, int64_t *batch_offset, int64_t *ts)
{
    if (log->offline)
        return -EIO;
    int best = -1;
    for (int si = 0; si < log->n_segs; si++)
        if (log->segs[si].max_ts >= 0 &&
            (best < 0 || log->segs[si].max_ts > log->segs[best].max_ts))
            best = si;
    if (best < 0)
        return -ENOENT;
    const struct rb_segment *seg = &log->segs[best];
    if (seg->offset_of_max_ts >=
        upto_offset) /* Kafka answers only below the last fetchable offset */
        return -ENOENT;
    *ts = seg->max_ts;
    *batch_offset = seg->offset_of_max_ts;
    return 0;
}

int rb_log_max_timestamp(struct rb_log *log, struct rb_codec_ctx *c, int64_t upto_offset,
                         int64_t *offset, int64_t *timestamp)
{
    int64_t ts, at;
    int err = rb_log_max_ts_batch(log, upto_offset, &at, &ts);
    if (err)
        return err;
    *timestamp = ts;
    *offset = at; /* batch precision, unless the batch can be read */
    int64_t off, rts;
    err = rb_log_record_at_time(log, c, at, upto_offset, ts, &off, &rts);
    if (err == 0 && rts == ts)
        *offset = off;
    /* -ERANGE: the batch is below the log start offset now; -ENOENT: unreadable */
    return err == -EIO || err == -ENOMEM ? err : 0;
}
