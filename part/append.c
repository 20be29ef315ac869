/*
 * part/append.c - the append path of a partition: batch checks as received, the
 * idempotent producers' dedup, recompression on the owner (topic
 * compression.type), offset assignment by the log, and parking appends until
 * their bytes are durable (acks) or the log has room again.
 *
 * Owns: the durable and blocked waiter lists of every partition (part/part_int.h)
 * and the local appends of internal topics (heap items, freed once answered).
 * Invariants (asserted): batches reach the owner validated; each append the log
 * accepts starts at the previous log end and moves it by the batch's record
 * count; an appended batch lies inside the records it came from; a parked
 * append waits for an offset the log has assigned (wait_end <= log end).
 * Fault model: a refused append (-ENOSPC, -EIO) answers KAFKA_STORAGE_ERROR; the
 * partition stays ONLINE on -ENOSPC (disk full is retriable), batches of the
 * same request appended before the refused one stay in the log. -ENOBUFS (no
 * buffer room, or a roll in the background) parks the append until the next
 * flush completes; appends behind it keep their order.
 * Idempotent producers: before a batch with a producer id is appended, the
 * partition's producer table (storage/producer_state.h) decides: append, answer a
 * retry with the original offsets, or refuse (OUT_OF_ORDER_SEQUENCE_NUMBER,
 * INVALID_PRODUCER_EPOCH). The table records a batch only after rb_log_append
 * accepted it.
 */
#include "part/part_int.h"

#include "core/defect.h"
#include "core/logging.h"
#include "storage/batch.h"
#include "storage/compress.h"
#include "storage/producer_state.h"

#include <stdlib.h>
#include <string.h>

#define COMP "partition"

/* ---- waiter lists ---- */

void rb_part_wpush(struct rb_part_item **head, struct rb_part_item **tail, struct rb_part_item *it)
{
    RB_ASSERT(!it->waiting);
    it->wnext = NULL;
    if (tail) {
        it->wprev = *tail;
        if (*tail)
            (*tail)->wnext = it;
        else
            *head = it;
        *tail = it;
    } else {
        it->wprev = NULL;
        it->wnext = *head;
        if (*head)
            (*head)->wprev = it;
        *head = it;
    }
    it->waiting = true;
}

struct rb_part_item *rb_part_wpop(struct rb_part_item **head, struct rb_part_item **tail)
{
    struct rb_part_item *it = *head;
    if (!it)
        return NULL;
    *head = it->wnext;
    if (*head)
        (*head)->wprev = NULL;
    else
        *tail = NULL;
    it->wnext = it->wprev = NULL;
    it->waiting = false;
    return it;
}

void rb_part_mark_dirty(struct rb_part *p)
{
    if (p->in_dirty_list)
        return;
    p->in_dirty_list = true;
    p->dirty_next = p->ps->dirty_head;
    p->ps->dirty_head = p;
}

void rb_part_item_finish(struct rb_part_shard *ps, struct rb_part_item *it, int16_t err)
{
    if (err)
        it->error = err;
    it->waiting = false;
    it->done(ps->shard, it, it->done_arg);
}

/* ---- checks ---- */

static int16_t batch_error(enum rb_batch_status st)
{
    switch (st) {
    case RB_BATCH_OK:
        return RB_KERR_NONE;
    case RB_BATCH_BAD_MAGIC:
        return RB_KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case RB_BATCH_INVALID:
    case RB_BATCH_BAD_RECORD:
        return RB_KERR_INVALID_RECORD;
    case RB_BATCH_TOO_LARGE:
        return RB_KERR_MESSAGE_TOO_LARGE;
    case RB_BATCH_BAD_CODEC:
        return RB_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    case RB_BATCH_NOMEM:
        return RB_KERR_UNKNOWN_SERVER_ERROR;
    default:
        return RB_KERR_CORRUPT_MESSAGE;
    }
}

static int16_t ts_check(const struct rb_part_ts_rule *r, const struct rb_ts_range *ts)
{
    int64_t now = rb_wall_ms();
    if (!r->check)
        return RB_KERR_NONE;
    if (ts->min != INT64_MAX && ts->min < now - r->before_ms)
        return RB_KERR_INVALID_TIMESTAMP;
    if (r->after_ms < INT64_MAX - now && ts->max > now + r->after_ms)
        return RB_KERR_INVALID_TIMESTAMP;
    return RB_KERR_NONE;
}

int rb_part_codec_from_config(const char *value)
{
    int c = value ? rb_codec_from_config(value) : -1;
    return c >= 0 ? c : -1;
}

int64_t rb_part_validate_first_bytes = (int64_t)1 << 20;
int64_t rb_part_validate_turn_bytes = (int64_t)2 << 20;
int64_t rb_part_validate_inline_bytes = (int64_t)1 << 20;

/* Batches the owner will rebuild for compression.type (codec != target) are
 * deep-validated there, on their records as decompressed for the rebuild; the
 * others here, on the receiving shard (decompressing compressed ones), as Kafka's
 * LogValidator does for every produce. A step stops at a batch boundary once its
 * budget is spent. */
int16_t rb_part_validate_step(struct rb_part_shard *ps, const uint8_t *rec, int32_t len,
                              int32_t max_bytes, int target, const struct rb_part_ts_rule *tsr,
                              bool zstd_ok, struct rb_part_vstate *vs, int64_t *budget)
{
    if (len <= 0)
        return RB_KERR_CORRUPT_MESSAGE;
    uint32_t total = (uint32_t)len;
    RB_ASSERT(vs->off <= total);
    RB_ASSERT(vs->job.state == RB_VJOB_IDLE || vs->job.state == RB_VJOB_DONE);
    bool first = true;
    while (vs->off < total) {
        if (!first && *budget <= 0)
            return RB_KERR_NONE; /* the rest next turn */
        first = false;
        const uint8_t *b = rec + vs->off;
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_validate(b, total - vs->off, &bi);
        if (st != RB_BATCH_OK)
            return batch_error(st);
        uint32_t bytes = rb_batch_total_bytes(&bi);
        if (bytes > (uint32_t)max_bytes)
            return RB_KERR_MESSAGE_TOO_LARGE;
        int64_t cost = bytes;
        int codec = bi.attributes & RB_BATCH_ATTR_COMPRESSION_MASK;
        if (codec > RB_CODEC_MAX || (codec == RB_CODEC_ZSTD && !zstd_ok))
            return RB_KERR_UNSUPPORTED_COMPRESSION_TYPE; /* Kafka: zstd needs v7+ */
        if (target >= 0 && codec != target) {
            vs->recompress = true;                  /* the owner validates while rebuilding */
        } else if (vs->job.state == RB_VJOB_DONE) { /* back from the validator thread */
            RB_ASSERT(vs->job.batch == b);
            vs->job.state = RB_VJOB_IDLE;
            cost += (int64_t)vs->job.out_bytes;
            st = (enum rb_batch_status)vs->job.status;
            if (st != RB_BATCH_OK)
                return batch_error(st);
            struct rb_ts_range ts = {vs->job.ts_min, vs->job.ts_max};
            int16_t err = ts_check(tsr, &ts);
            if (err)
                return err;
        } else {
            struct rb_codec_ctx *c = rb_part_codec(ps);
            if (!c)
                return RB_KERR_UNKNOWN_SERVER_ERROR;
            struct rb_ts_range ts;
            size_t cap = rb_decomp_cap(max_bytes);
            bool handoff = (ps->vt || ps->vt_sim) && !vs->no_handoff && codec != RB_CODEC_NONE &&
                           (size_t)rb_part_validate_inline_bytes < cap;
            st = rb_batch_deep_validate(c, b, &bi,
                                        handoff ? (size_t)rb_part_validate_inline_bytes : cap, &ts);
            if (codec != RB_CODEC_NONE) {
                cost += (int64_t)rb_codec_last_out(c);
                rb_codec_trim(c); /* a bomb's scratch is not kept between steps */
            }
            if (handoff && st == RB_BATCH_TOO_LARGE) {
                /* more than the shard decompresses in one piece: the validator
                 * thread does it under the full cap (the same answer) */
                vs->job = (struct rb_part_vjob){
                    .batch = b, .len = bytes, .cap = cap, .state = RB_VJOB_WANTED};
                *budget -= cost;
                return RB_KERR_NONE;
            }
            if (st != RB_BATCH_OK)
                return batch_error(st);
            int16_t err = ts_check(tsr, &ts);
            if (err)
                return err;
        }
        *budget -= cost;
        vs->off += bytes;
        vs->n_batches++;
    }
    /* Kafka accepts one v2 batch per partition; a rebuild must be all or nothing. */
    if (vs->recompress && vs->n_batches > 1)
        return RB_KERR_INVALID_RECORD;
    return RB_KERR_NONE;
}

/* The whole records in one step. */
int16_t rb_part_validate(struct rb_part_shard *ps, const uint8_t *rec, int32_t len,
                         int32_t max_bytes, int target, const struct rb_part_ts_rule *tsr,
                         bool zstd_ok, bool *recompress)
{
    struct rb_part_vstate vs = {.no_handoff = true};
    int64_t budget = INT64_MAX;
    int16_t err =
        rb_part_validate_step(ps, rec, len, max_bytes, target, tsr, zstd_ok, &vs, &budget);
    RB_ASSERT(err || vs.off == (uint32_t)len);
    *recompress = vs.recompress;
    return err;
}

/* When a asks for recompression and batch b's codec differs, rebuild it in the
 * shard's codec scratch (decompress, deep-validate, recompress) and point *out
 * and *obi at the new batch, valid until the shard's next codec use; otherwise
 * *out = b, *obi = *bi. Returns an enum rb_kerr (0 = append *out). */
static int16_t rebuild(struct rb_part_shard *ps, struct rb_part_append *a, const uint8_t *b,
                       const struct rb_batch_info *bi, const uint8_t **out,
                       struct rb_batch_info *obi)
{
    *out = b;
    *obi = *bi;
    if (!a->recompress || (bi->attributes & RB_BATCH_ATTR_COMPRESSION_MASK) == a->codec)
        return RB_KERR_NONE;
    struct rb_ts_range ts;
    enum rb_batch_status st;
    if (a->pre.state == RB_VJOB_DONE && a->pre.out_scratch && a->pre.gen != ps->codec_gen)
        a->pre = (struct rb_part_vjob){0}; /* the scratch was used since (a parked append) */
    if (a->pre.state == RB_VJOB_DONE && a->pre.batch == b) { /* made before (prepare) */
        st = (enum rb_batch_status)a->pre.status;
        ts = (struct rb_ts_range){a->pre.ts_min, a->pre.ts_max};
        if (st == RB_BATCH_OK) {
            *out = a->pre.out;
            st = rb_batch_parse(a->pre.out, a->pre.out_len, obi);
        }
        if (a->pre.out_scratch) /* good for this once only (a parked retry rebuilds) */
            a->pre = (struct rb_part_vjob){0};
    } else {
        struct rb_codec_ctx *c = rb_part_codec(ps);
        if (!c)
            return RB_KERR_UNKNOWN_SERVER_ERROR;
        st = rb_batch_recompress(c, b, bi, a->codec, rb_decomp_cap(a->max_bytes), out, obi, &ts);
    }
    if (st != RB_BATCH_OK)
        return batch_error(st);
    int16_t err = ts_check(&a->ts, &ts);
    if (err)
        return err;
    /* Kafka checks the size again after a rebuild (it may have grown). */
    if (rb_batch_total_bytes(obi) > (uint32_t)a->max_bytes)
        return RB_KERR_MESSAGE_TOO_LARGE;
    return RB_KERR_NONE;
}

bool rb_part_rebuild_prepare(struct rb_part_shard *ps, struct rb_part_append *a)
{
    struct rb_batch_info bi;
    size_t cap = rb_decomp_cap(a->max_bytes);
    if ((!ps->vt && !ps->vt_sim) || !a->recompress || a->pre.state != RB_VJOB_IDLE ||
        (size_t)rb_part_validate_inline_bytes >= cap ||
        rb_batch_parse(a->records, a->len, &bi) != RB_BATCH_OK || /* validated on arrival */
        (bi.attributes & RB_BATCH_ATTR_COMPRESSION_MASK) == a->codec)
        return false; /* nothing to prepare: rb_part_append does it all */
    struct rb_codec_ctx *c = rb_part_codec(ps);
    if (!c)
        return false;
    const uint8_t *o;
    struct rb_batch_info obi;
    struct rb_ts_range ts = {INT64_MAX, INT64_MIN};
    enum rb_batch_status st = rb_batch_recompress(
        c, a->records, &bi, a->codec, (size_t)rb_part_validate_inline_bytes, &o, &obi, &ts);
    a->pre = (struct rb_part_vjob){.batch = a->records,
                                   .len = rb_batch_total_bytes(&bi),
                                   .cap = cap,
                                   .rebuild = true,
                                   .target = a->codec,
                                   .status = (int)st,
                                   .ts_min = ts.min,
                                   .ts_max = ts.max};
    if (st == RB_BATCH_TOO_LARGE) { /* more than the shard does in one piece */
        a->pre.state = RB_VJOB_WANTED;
        return true;
    }
    a->pre.state = RB_VJOB_DONE; /* its answer, made here: for the append at once */
    a->pre.out_scratch = true;
    a->pre.gen = ps->codec_gen; /* good until the scratch's next use */
    if (st == RB_BATCH_OK) {
        a->pre.out = (uint8_t *)o;
        a->pre.out_len = rb_batch_total_bytes(&obi);
    }
    return false;
}

void rb_part_vjob_release(struct rb_part_vjob *j)
{
    if (!j->out_scratch && j->out && j->gauge)
        atomic_fetch_sub_explicit(j->gauge, (int64_t)j->out_len, memory_order_relaxed);
    if (!j->out_scratch)
        free(j->out);
    *j = (struct rb_part_vjob){0};
}

/* Kafka's idempotent-producer rules for one batch of a before it is appended:
 * 0 append it, 1 duplicate (a's base offset becomes the original's), -1 refused
 * (error set). The table only changes once the log accepted the batch. */
static int check_sequence(struct rb_part *p, struct rb_part_append *a,
                          const struct rb_batch_info *bi)
{
    struct rb_pstate_dup dup;
    switch (rb_pstate_check(p->pstate, bi, &dup)) {
    case RB_PSTATE_APPEND:
        return 0;
    case RB_PSTATE_DUPLICATE:
        if (a->base_offset < 0)
            a->base_offset = dup.first_offset;
        return 1;
    case RB_PSTATE_OUT_OF_ORDER:
        a->it.error = RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return -1;
    case RB_PSTATE_STALE_EPOCH:
        a->it.error = RB_KERR_INVALID_PRODUCER_EPOCH;
        return -1;
    default:
        a->it.error = RB_KERR_UNKNOWN_SERVER_ERROR; /* -ENOMEM */
        return -1;
    }
}

/* Append one batch (already checked): 0, -ENOBUFS (parked), else answered with
 * a->it.error set. */
static int append_one(struct rb_part *p, struct rb_part_append *a, const uint8_t *b,
                      const struct rb_batch_info *bi)
{
    const uint8_t *ab; /* compression.type may rebuild it */
    struct rb_batch_info abi;
    int16_t err = rebuild(p->ps, a, b, bi, &ab, &abi);
    if (err) {
        a->it.error = err;
        return -EINVAL;
    }
    int64_t end_before = rb_log_end_offset(p->log), base = -1;
    int r = rb_log_append(p->log, ab, &abi, rb_wall_ms(), &base);
    if (r == -ENOBUFS)
        return r;
    if (r) {
        /* -ENOSPC: retriable KAFKA_STORAGE_ERROR, the partition stays online */
        a->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        if (r != -EIO && !(r == -ENOSPC && p->disk_full))
            RB_WARN(COMP, "append to %s-%d: %s", p->topic, p->index, strerror(-r));
        p->disk_full = r == -ENOSPC;
        return r;
    }
    /* the log assigned the offsets right after its previous end, densely */
    RB_ASSERT(base == end_before);
    RB_ASSERT(rb_log_end_offset(p->log) == base + abi.last_offset_delta + 1);
    if (p->disk_full) {
        RB_INFO(COMP, "append to %s-%d: disk space available again", p->topic, p->index);
        p->disk_full = false;
    }
    rb_pstate_update(p->pstate, bi, base, rb_wall_ms());
    rb_part_stat_add(&p->ps->stats.bytes, rb_batch_total_bytes(&abi)); /* as stored */
    struct rb_mname *mt = rb_part_mtopic(p);
    rb_counter_add(&mt->v[RB_PT_MESSAGES_IN], (uint64_t)abi.record_count);
    rb_counter_add(&mt->v[RB_PT_BYTES_IN], rb_batch_total_bytes(&abi));
    if (a->base_offset < 0)
        a->base_offset = base;
    return 0;
}

int rb_part_append_more(struct rb_part *p, struct rb_part_append *a)
{
    if (rb_part_check_offline(p)) {
        a->it.error = RB_KERR_KAFKA_STORAGE_ERROR;
        return 1;
    }
    while (a->next_batch < a->len) {
        const uint8_t *b = a->records + a->next_batch;
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_parse(b, a->len - a->next_batch, &bi);
        RB_ASSERT(st == RB_BATCH_OK); /* validated on the receiving shard */
        RB_ASSERT(rb_batch_total_bytes(&bi) <= a->len - a->next_batch);
        int seq = check_sequence(p, a, &bi);
        if (seq < 0)
            return 1;
        if (seq == 0) {
            int r = append_one(p, a, b, &bi);
            if (r == -ENOBUFS) {
                rb_part_wpush(&p->blocked_head, &p->blocked_tail, &a->it);
                rb_part_mark_dirty(p);
                return 0;
            }
            if (r)
                return 1;
        } /* else a retry of a batch already in the log: not appended again */
        a->next_batch += rb_batch_total_bytes(&bi);
    }
    RB_ASSERT(a->next_batch == a->len);
    rb_part_mark_dirty(p);
    a->wait_end = rb_log_end_offset(p->log);
    a->log_start_offset = rb_log_start_offset(p->log);
    RB_ASSERT(rb_part_hw(p) <= a->wait_end);
    if (a->acks == 0)
        return 1;
    if (rb_log_written_end(p->log) >= a->wait_end) /* acks=1: written; all: the ISR too */
        return a->acks == 1 ? 1 : rb_part_isr_park(p, a);
    if (RB_DEFECT(ACK_BEFORE_SYNC)) /* planted defect (sim-selftest): ack before any write */
        return 1;
    rb_part_wpush(&p->durable_head, &p->durable_tail, &a->it);
    return 0;
}

void rb_part_append(struct rb_part_shard *ps, struct rb_part_append *a)
{
    struct rb_part *p = rb_part_live(ps, &a->it.key);
    a->it.error = RB_KERR_NONE;
    a->it.waiting = false;
    a->base_offset = -1;
    a->log_append_time = -1;
    a->log_start_offset = -1;
    a->next_batch = 0;
    if (!p || p->role != RB_PART_LEADER) {
        rb_part_item_finish(ps, &a->it, RB_KERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    rb_counter_add(&rb_part_mtopic(p)->v[RB_PT_PRODUCE_REQUESTS], 1);
    if (a->acks == -1 && p->repl && p->repl->n_isr < p->repl->min_insync) {
        /* min.insync.replicas: refused before anything is appended */
        rb_part_item_finish(ps, &a->it, RB_KERR_NOT_ENOUGH_REPLICAS);
        return;
    }
    if (p->blocked_head) { /* keep append order behind earlier blocked work */
        rb_part_wpush(&p->blocked_head, &p->blocked_tail, &a->it);
        return;
    }
    if (rb_part_append_more(p, a))
        rb_part_item_finish(ps, &a->it, 0);
}

/* ---- local appends (internal topics) ---- */

struct local_append {
    struct rb_part_append a;
    struct rb_part_shard *ps;
    rb_append_done_fn done;
    void *arg;
    uint8_t copy[];
};

static void local_done(struct rb_shard *s, struct rb_part_item *it, void *arg)
{
    struct local_append *la = arg;
    (void)it;
    la->done(s, la->a.it.error, la->a.base_offset, la->arg);
    free(la);
}

static void local_start(struct rb_shard *s, void *arg)
{
    struct local_append *la = arg;
    (void)s;
    rb_part_append(la->ps, &la->a);
}

int rb_part_append_local(struct rb_part_shard *ps, const char *topic, int32_t index,
                         const uint8_t *batch, uint32_t len, rb_append_done_fn done, void *arg)
{
    struct rb_batch_info bi;
    if (rb_batch_validate(batch, len, &bi) != RB_BATCH_OK || rb_batch_total_bytes(&bi) != len)
        return -EINVAL;
    struct local_append *la = calloc(1, sizeof(*la) + len);
    if (!la)
        return -ENOMEM;
    memcpy(la->copy, batch, len);
    la->ps = ps;
    la->done = done;
    la->arg = arg;
    /* the caller keeps topic alive until done runs */
    la->a.it.key = (struct rb_part_key){topic, strlen(topic), index};
    la->a.it.done = local_done;
    la->a.it.done_arg = la;
    la->a.records = la->copy;
    la->a.len = len;
    la->a.acks = -1;
    /* never answered inline: the caller's state is not ready for it yet */
    rb_post(ps->shard, ps->shard->id, local_start, la);
    return 0;
}
