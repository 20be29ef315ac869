/*
 * part/offsets.c - questions to a partition on its owner shard: ListOffsets
 * (latest = high watermark, earliest, max timestamp, by time), DeleteRecords
 * (moving the log start), the size of its log on disk, and blocking copies of
 * whole batches for loading internal topics. All synchronous but one: a lookup
 * inside a batch that decompresses to more than rb_part_validate_inline_bytes is
 * scanned by the validator thread (part/vthread.c; storage/log_time.c's three
 * steps), the caller submitting o->job and calling rb_part_list_offsets_back.
 *
 * Invariants: answers come from [log start, high watermark] only (a relaxed
 * flush's unsynced-but-written bytes count, as fetches see them).
 * Fault model: an offline partition answers KAFKA_STORAGE_ERROR; segments a
 * DeleteRecords gives up are unlinked by the coordination thread (part/maint.c).
 */
#include "part/part_int.h"

#include "core/logging.h"
#include "storage/batch.h"
#include "storage/compress.h"

#include <stdlib.h>
#include <string.h>

/* A partition that can answer: else it->error is set and NULL returned. */
static struct rb_part *answerable(struct rb_part_shard *ps, struct rb_part_item *it)
{
    struct rb_part *p = rb_part_live(ps, &it->key);
    if (!p)
        it->error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    else if (rb_part_check_offline(p))
        it->error = RB_KERR_KAFKA_STORAGE_ERROR;
    else
        return p;
    return NULL;
}

/* The answer of a lookup inside a batch (q answered): by timestamp, the batch's
 * own offset and timestamp from the time index stay when q found nothing; for -3
 * the batch's offset unless q found the record carrying the largest timestamp. */
static void lookup_answer(struct rb_part_offsets *o, const struct rb_log_tlookup *q)
{
    if (o->tl_ts != -3) {
        if (q->err == 0) {
            o->offset = q->offset;
            o->found_timestamp = q->timestamp;
        }
        return;
    }
    if (q->err == -EIO || q->err == -ENOMEM) {
        o->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        o->offset = -1;
        o->found_timestamp = -1;
    } else if (q->err == 0 && q->timestamp == o->found_timestamp) {
        o->offset = q->offset;
    }
}

static void found_epoch(struct rb_part *p, struct rb_part_offsets *o)
{
    RB_ASSERT(o->it.error || o->offset <= rb_part_hw(p));
    /* Kafka: the latest epoch for "latest", else the epoch of the batch found */
    if (o->offset >= 0 && !o->it.error)
        o->found_epoch = o->timestamp == -1 ? rb_log_latest_epoch(p->log, NULL)
                                            : rb_log_epoch_for_offset(p->log, o->offset);
}

/* The record inside batch_offset's batch at or after ts: on the shard when its
 * records decompress to at most rb_part_validate_inline_bytes (or the shard has
 * no validator thread), else o->job is left RB_VJOB_WANTED (returns true). */
static bool lookup(struct rb_part_shard *ps, struct rb_part *p, struct rb_part_offsets *o,
                   int64_t batch_offset, int64_t upto, int64_t ts)
{
    struct rb_codec_ctx *c = rb_part_codec(ps);
    struct rb_log_tlookup q;
    o->tl_batch = batch_offset;
    o->tl_ts = o->timestamp;
    if (rb_log_time_read(p->log, c != NULL, batch_offset, upto, ts, &q) == 1) {
        bool handoff = (ps->vt || ps->vt_sim) && c &&
                       (size_t)rb_part_validate_inline_bytes < RB_DECOMP_CAP_MIN;
        int r = rb_log_time_scan(
            c, &q, handoff ? (size_t)rb_part_validate_inline_bytes : RB_DECOMP_CAP_MIN);
        if (c)
            rb_codec_trim(c); /* a bomb's scratch is not kept */
        if (r == -EMSGSIZE && (o->tl = malloc(sizeof(*o->tl)))) {
            *o->tl = q; /* the bytes go with it */
            memcpy(o->tl_topic_id, p->topic_id, sizeof(o->tl_topic_id));
            o->job = (struct rb_part_vjob){.batch = q.buf,
                                           .len = q.len,
                                           .cap = RB_DECOMP_CAP_MIN,
                                           .tl = o->tl,
                                           .state = RB_VJOB_WANTED};
            return true;
        }
        if (r == -EMSGSIZE) { /* no memory for the hand-off: here, in one go */
            r = rb_log_time_scan(c, &q, RB_DECOMP_CAP_MIN);
            rb_codec_trim(c);
        }
        RB_ASSERT(r == 0);
        rb_log_time_finish(p->log, &q);
    }
    lookup_answer(o, &q);
    return false;
}

void rb_part_list_offsets(struct rb_part_shard *ps, struct rb_part_offsets *o)
{
    o->offset = -1;
    o->found_timestamp = -1;
    o->found_epoch = -1;
    o->it.error = RB_KERR_NONE;
    o->job = (struct rb_part_vjob){0};
    o->tl = NULL;
    struct rb_part *p = rb_part_live(ps, &o->it.key);
    if (p && (o->it.error = rb_part_fence(p, o->check_epoch, o->current_leader_epoch)))
        return;
    if (p && o->leader_only && p->role != RB_PART_LEADER) {
        o->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    p = answerable(ps, &o->it);
    if (!p)
        return;
    int64_t hw = rb_part_hw(p), ts = o->timestamp;
    if (ts == -1) { /* latest */
        o->offset = hw;
    } else if (ts == -2 || ts == -4) {
        /* earliest; earliest-local (v8+) is the same without tiered storage */
        o->offset = rb_log_start_offset(p->log);
    } else if (ts == -3) { /* max timestamp (v7+) */
        int64_t at, max_ts;
        int err = rb_log_max_ts_batch(p->log, hw, &at, &max_ts);
        if (err == 0) {
            o->offset = at; /* batch precision, unless the batch can be read */
            o->found_timestamp = max_ts;
            if (lookup(ps, p, o, at, hw, max_ts))
                return;
        } else if (err != -ENOENT) {
            o->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        }
    } else if (ts < 0) {
        o->it.error = RB_KERR_UNSUPPORTED_VERSION;
    } else {
        int64_t off, found;
        if (rb_log_offset_for_time(p->log, ts, &off, &found) == 0 && off < hw) {
            /* the batch; then its first record at or after the timestamp */
            o->offset = off;
            o->found_timestamp = found;
            if (lookup(ps, p, o, off, hw, ts))
                return;
        }
    }
    found_epoch(p, o);
}

void rb_part_list_offsets_back(struct rb_part_shard *ps, struct rb_part_offsets *o)
{
    RB_ASSERT(o->job.state == RB_VJOB_DONE && o->tl);
    struct rb_log_tlookup *q = o->tl;
    o->job = (struct rb_part_vjob){0};
    o->tl = NULL;
    /* the partition as asked, else its answer now (a drop, a new incarnation) */
    struct rb_part *p = answerable(ps, &o->it);
    if (p && memcmp(p->topic_id, o->tl_topic_id, sizeof(o->tl_topic_id)) != 0) {
        p = NULL;
        o->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    }
    if (p && o->leader_only && p->role != RB_PART_LEADER) {
        p = NULL; /* stepped down meanwhile */
        o->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    }
    rb_log_time_finish(p ? p->log : NULL, q);
    if (p) {
        lookup_answer(o, q);
        if (!o->it.error && o->offset > rb_part_hw(p))
            o->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER; /* truncated meanwhile: ask again */
    }
    if (!p || o->it.error) {
        o->offset = -1;
        o->found_timestamp = -1;
    } else {
        found_epoch(p, o);
    }
    free(q);
}

void rb_part_trim(struct rb_part_shard *ps, struct rb_part_trim *t)
{
    struct rb_log_removed rm;
    t->low_watermark = -1;
    t->it.error = RB_KERR_NONE;
    struct rb_part *p = answerable(ps, &t->it);
    if (!p)
        return;
    int64_t target = t->offset == -1 ? rb_log_durable_end(p->log) : t->offset;
    if (target < 0) {
        t->it.error = RB_KERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    int r = rb_log_retain(p->log, rb_wall_ms(), target, &rm);
    if (r == -ERANGE)
        t->it.error = RB_KERR_OFFSET_OUT_OF_RANGE;
    else if (r == -EIO)
        t->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
    else if (r)
        t->it.error = RB_KERR_UNKNOWN_SERVER_ERROR;
    if (!r) {
        rb_part_maint_unlink(ps, &rm);
        t->low_watermark = rb_log_start_offset(p->log);
    }
}

int rb_part_size_bytes(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *bytes)
{
    struct rb_part *p = rb_part_get(ps, k);
    if (!p)
        return -ENOENT;
    *bytes = (int64_t)rb_log_size_bytes(p->log);
    return 0;
}

int rb_part_durable_range(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *start,
                          int64_t *end)
{
    struct rb_part *p = rb_part_get(ps, k);
    if (!p)
        return -ENOENT;
    *start = rb_log_start_offset(p->log);
    *end = rb_log_durable_end(p->log);
    return 0;
}

int rb_part_read_copy(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t offset,
                      int64_t upto, uint32_t max, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    struct rb_part *p = rb_part_get(ps, k);
    if (!p)
        return -ENOENT;
    RB_ASSERT(upto <= rb_log_end_offset(p->log));
    return rb_log_read_copy(p->log, offset, upto, max, true, buf, cap, len);
}

int64_t rb_part_batches_each(const uint8_t *buf, uint32_t len,
                             void (*fn)(void *arg, const uint8_t *batch, uint32_t bytes,
                                        int64_t base_offset),
                             void *arg)
{
    int64_t next = -1;
    uint32_t off = 0;
    while (off < len) {
        struct rb_batch_info bi;
        if (rb_batch_parse(buf + off, len - off, &bi) != RB_BATCH_OK)
            break;
        uint32_t total = rb_batch_total_bytes(&bi);
        fn(arg, buf + off, total, bi.base_offset);
        next = bi.base_offset + bi.last_offset_delta + 1;
        off += total;
    }
    return next;
}
