/*
 * net/partition.c - partitions owned by a shard and the work done on them
 * (see net/partition.h).
 *
 * Group commit: appends only copy into the log's chunk buffers and mark the
 * partition dirty. Every loop turn, rb_net_partitions_turn starts a flush (writes
 * + fdatasync through the ring) for each dirty partition that has none in flight;
 * when it completes, every produce waiting for an offset now durable is answered,
 * fetches waiting for data are re-run, and appends that were refused for lack of
 * buffer room (-ENOBUFS) are retried in order. While one flush is in flight, new
 * appends accumulate and go out together in the next one. The log also refuses
 * with -ENOBUFS while a segment roll or preallocation it needs runs in the
 * background (storage/log_seg.c); that flush's callback waits for it, so the
 * retry finds room. A partition is dropped or closed only once rb_log_busy is
 * false.
 *
 * Relaxed durability (topic flush.messages / flush.ms, broker
 * log.flush.interval.messages / .ms; default 1 = every acknowledged append is
 * fdatasync'd, fully durable): with flush.messages > 1 a flush cycle only WRITES
 * the partition's dirty chunks (rb_log_write_out) unless a sync is due -
 * flush.messages messages appended since the last sync, flush.ms elapsed since it
 * (a per-partition timer brings it even when appends stop), or appends blocked for
 * room. "Acknowledged" then means: written through O_DIRECT (the write completed,
 * so it survives a broker crash but not a power loss or a device error before the
 * deferred sync) - Kafka's equivalent is "in the page cache". The high watermark
 * (fetch, ListOffsets latest) is the log's written_end, which moves on write
 * completion; with the default it equals durable_end (synced). flush.ms alone
 * (flush.messages = 1) relaxes nothing. The recovery-point checkpoint stays at
 * durable_end.
 *
 * Idempotent producers: before a batch with a producer id is appended, the
 * partition's producer table (storage/producer_state.h) decides: append, answer a
 * retry with the original offsets, or refuse (OUT_OF_ORDER_SEQUENCE_NUMBER,
 * INVALID_PRODUCER_EPOCH). The table records a batch only after rb_log_append
 * accepted it; it is snapshotted at clean close and rebuilt when the partition is
 * adopted.
 *
 * Faults: a failed flush takes the log offline (storage decides); waiting
 * produces get KAFKA_STORAGE_ERROR; later work on the partition gets it too.
 * Disk full (rb_log_append -ENOSPC: preallocation found no space) is different:
 * nothing of the refused batch was written, so the produce gets
 * KAFKA_STORAGE_ERROR (56, retriable in Kafka's clients) while the partition
 * stays ONLINE and keeps serving reads; the producer's retries succeed once space
 * is freed. (Kafka takes the whole log dir offline instead; a retriable error on
 * a live partition is the better behaviour for a broker that never lost data
 * here.) Batches of the same request appended before the refused one stay in the
 * log (a non-idempotent producer's retry may duplicate them). Logged once per
 * episode, not per refused append.
 */
#include "net/partition.h"
#include "net/handlers.h"
#include "net/group_route.h"
#include "net/log_maint.h"
#include "core/kerr.h"
#include "core/defect.h"
#include "core/logging.h"
#include "core/rb.h"
#include "storage/compress.h"
#include "storage/producer_state.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "partition"
/* Kafka's producer.id.expiration.ms default: idle producers are forgotten. */
#define RB_PRODUCER_ID_EXPIRATION_MS (24LL * 3600 * 1000)

struct rb_partition {
    struct rb_partition *hnext;
    char *topic;
    size_t topic_len;
    uint8_t topic_id[16];
    int32_t index;
    struct rb_log *log;
    struct rb_net *net;
    bool in_dirty_list;
    struct rb_partition *dirty_next;
    bool flushing;
    bool dropped;
    bool disk_full; /* the last append found no space (logged once per episode) */
    /* relaxed durability (flush.messages > 1): the flush in flight syncs or only
     * writes; when the last sync completed; the flush.ms deadline */
    bool syncing;
    int64_t last_sync_ms;
    struct rb_timer sync_timer;
    /* produce pops waiting for durability, in offset order */
    struct rb_pop *durable_head, *durable_tail;
    /* produce pops refused with -ENOBUFS, to retry in order after a flush */
    struct rb_pop *blocked_head, *blocked_tail;
    /* fetch pops waiting for new durable data */
    struct rb_pop *fetch_waiters;
    /* idempotent producers' sequences (storage/producer_state.h) */
    struct rb_pstate *pstate;
};

static void group_step_done(struct rb_shard *s, struct rb_pgroup *g);
static void sync_timer_fired(struct rb_timer *t);
static void fetch_group_rerun(struct rb_shard *s, struct rb_pgroup *g);

struct rb_log *rb_partition_log(struct rb_partition *p)
{
    return p->log;
}

/* ---- table ---- */

static uint32_t part_hash(const char *topic, size_t len, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)topic[i]) * 16777619u;
    h = (h ^ (uint32_t)partition) * 16777619u;
    return h;
}

struct rb_partition *rb_ptable_get(struct rb_ptable *t, const char *topic, size_t len,
                                   int32_t partition)
{
    if (!t->buckets)
        return NULL;
    struct rb_partition *p = t->buckets[part_hash(topic, len, partition) & t->mask];
    for (; p; p = p->hnext)
        if (p->index == partition && p->topic_len == len && memcmp(p->topic, topic, len) == 0)
            return p;
    return NULL;
}

void rb_ptable_each(struct rb_ptable *t,
                    void (*fn)(void *arg, const char *topic, int32_t index, struct rb_log *log),
                    void *arg)
{
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++)
        for (struct rb_partition *p = t->buckets[i]; p; p = p->hnext)
            if (!p->dropped)
                fn(arg, p->topic, p->index, p->log);
}

static void ptable_grow(struct rb_ptable *t)
{
    uint32_t nb = t->buckets ? (t->mask + 1) * 2 : 256;
    struct rb_partition **b = calloc(nb, sizeof(*b));
    RB_ASSERT(b);
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
        struct rb_partition *p = t->buckets[i];
        while (p) {
            struct rb_partition *next = p->hnext;
            uint32_t h = part_hash(p->topic, p->topic_len, p->index) & (nb - 1);
            p->hnext = b[h];
            b[h] = p;
            p = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

int rb_ptable_add(struct rb_net *n, const char *topic, const uint8_t id[16], int32_t partition,
                  struct rb_log *log)
{
    struct rb_ptable *t = &n->parts;
    if (!t->buckets || t->n >= t->mask)
        ptable_grow(t);
    struct rb_partition *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->topic = strdup(topic);
    if (!p->topic) {
        free(p);
        return -ENOMEM;
    }
    p->topic_len = strlen(topic);
    memcpy(p->topic_id, id, 16);
    p->index = partition;
    p->log = log;
    p->net = n;
    rb_log_set_tail_cache(log, n->tail_cache); /* the shard's (log.tail.cache.bytes) */
    p->last_sync_ms = rb_mono_ms();
    rb_timer_init(&p->sync_timer, sync_timer_fired);
    p->pstate = rb_pstate_new();
    if (!p->pstate) {
        free(p->topic);
        free(p);
        return -ENOMEM;
    }
    /* Blocking: runs at startup or on a just-created (empty) log. On failure the
     * table stays empty: every producer is then unknown, so nothing is refused,
     * but retries of batches already in the log are not recognised. */
    rb_pstate_recover(p->pstate, log, rb_wall_ms() - RB_PRODUCER_ID_EXPIRATION_MS);
    uint32_t h = part_hash(p->topic, p->topic_len, partition) & t->mask;
    p->hnext = t->buckets[h];
    t->buckets[h] = p;
    t->n++;
    return 0;
}

static void ptable_remove(struct rb_ptable *t, struct rb_partition *p)
{
    struct rb_partition **pp = &t->buckets[part_hash(p->topic, p->topic_len, p->index) & t->mask];
    while (*pp && *pp != p)
        pp = &(*pp)->hnext;
    RB_ASSERT(*pp == p);
    *pp = p->hnext;
    t->n--;
}

/* ---- lists ---- */

static void list_push(struct rb_pop **head, struct rb_pop **tail, struct rb_pop *op)
{
    op->wnext = NULL;
    op->wprev = tail ? *tail : NULL;
    if (tail) {
        if (*tail)
            (*tail)->wnext = op;
        else
            *head = op;
        *tail = op;
    } else {
        op->wnext = *head;
        op->wprev = NULL;
        if (*head)
            (*head)->wprev = op;
        *head = op;
    }
    op->waiting = true;
}

static void fetch_unlink(struct rb_partition *p, struct rb_pop *op)
{
    if (op->wprev)
        op->wprev->wnext = op->wnext;
    else
        p->fetch_waiters = op->wnext;
    if (op->wnext)
        op->wnext->wprev = op->wprev;
    op->wnext = op->wprev = NULL;
    op->waiting = false;
}

static void mark_dirty(struct rb_partition *p)
{
    if (p->in_dirty_list)
        return;
    p->in_dirty_list = true;
    p->dirty_next = p->net->dirty_head;
    p->net->dirty_head = p;
}

/* flush.ms elapsed since the last sync: the next turn's flush of p syncs. */
static void sync_timer_fired(struct rb_timer *t)
{
    struct rb_partition *p = RB_CONTAINER_OF(t, struct rb_partition, sync_timer);
    if (rb_log_dirty(p->log))
        mark_dirty(p);
}

/* ---- group plumbing ---- */

static void group_back_on_origin(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    struct rb_request *req = g->req;
    g->returned = true;
    g->back(s, g);
    if (req) { /* NULL: a local append (rb_partition_append_local) */
        rb_net_of(s)->groups_out--;
        rb_request_release(req);
    }
}

static void group_return(struct rb_shard *s, struct rb_pgroup *g)
{
    RB_ASSERT(g->owner_state != OWNER_RETURNED);
    g->owner_state = OWNER_RETURNED;
    rb_post(s, g->origin, group_back_on_origin, g);
}

static void group_step_done(struct rb_shard *s, struct rb_pgroup *g)
{
    RB_ASSERT(g->pending > 0);
    if (--g->pending == 0)
        group_return(s, g);
}

/* ---- produce ---- */

static void produce_fail(struct rb_shard *s, struct rb_pop *op, int16_t err)
{
    op->error = err;
    op->waiting = false;
    group_step_done(s, op->group);
}

/* Kafka's idempotent-producer rules for one batch of op before it is appended:
 * 0 append it, 1 duplicate (op's base offset becomes the original's), -1 refused
 * (op->error set). The table only changes once the log accepted the batch. */
static int produce_check_sequence(struct rb_partition *p, struct rb_pop *op,
                                  const struct rb_batch_info *bi)
{
    struct rb_pstate_dup dup;
    int v = rb_pstate_check(p->pstate, bi, &dup);
    switch (v) {
    case RB_PSTATE_APPEND:
        return 0;
    case RB_PSTATE_DUPLICATE:
        if (op->u.produce.base_offset < 0)
            op->u.produce.base_offset = dup.first_offset;
        return 1;
    case RB_PSTATE_OUT_OF_ORDER:
        op->error = RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return -1;
    case RB_PSTATE_STALE_EPOCH:
        op->error = RB_KERR_INVALID_PRODUCER_EPOCH;
        return -1;
    default:
        op->error = RB_KERR_UNKNOWN_SERVER_ERROR; /* -ENOMEM */
        return -1;
    }
}

/* Append the remaining batches of op. Returns 1 when the op is finished (answer
 * now), 0 when it waits (durability or buffer room). */
static int produce_append(struct rb_shard *s, struct rb_partition *p, struct rb_pop *op)
{
    if (rb_log_offline(p->log)) {
        op->error = RB_KERR_KAFKA_STORAGE_ERROR;
        return 1;
    }
    while (op->u.produce.next_batch < op->u.produce.len) {
        const uint8_t *b = op->u.produce.records + op->u.produce.next_batch;
        struct rb_batch_info bi;
        enum rb_batch_status st =
            rb_batch_parse(b, op->u.produce.len - op->u.produce.next_batch, &bi);
        RB_ASSERT(st == RB_BATCH_OK); /* validated on the origin shard */
        int seq = produce_check_sequence(p, op, &bi);
        if (seq < 0)
            return 1;
        if (seq > 0) { /* a retry of a batch already in the log: not appended again */
            op->u.produce.next_batch += rb_batch_total_bytes(&bi);
            continue;
        }
        const uint8_t *ab; /* compression.type may rebuild it (net/h_produce.c) */
        struct rb_batch_info abi;
        int16_t err = rb_produce_rebuild(p->net, op, b, &bi, &ab, &abi);
        if (err) {
            op->error = err;
            return 1;
        }
        int64_t base = -1;
        int r = rb_log_append(p->log, ab, &abi, rb_wall_ms(), &base);
        if (r == -ENOBUFS) {
            list_push(&p->blocked_head, &p->blocked_tail, op);
            mark_dirty(p);
            return 0;
        }
        if (r) {
            /* -ENOSPC: retriable KAFKA_STORAGE_ERROR, the partition stays online */
            op->error = RB_KERR_KAFKA_STORAGE_ERROR;
            if (r != -EIO && !(r == -ENOSPC && p->disk_full))
                RB_WARN(COMP, "append to %s-%d: %s", p->topic, p->index, strerror(-r));
            p->disk_full = r == -ENOSPC;
            return 1;
        }
        if (p->disk_full) {
            RB_INFO(COMP, "append to %s-%d: disk space available again", p->topic, p->index);
            p->disk_full = false;
        }
        rb_pstate_update(p->pstate, &bi, base, rb_wall_ms());
        rb_stat_add(&p->net->stat_bytes, rb_batch_total_bytes(&abi)); /* as stored */
        if (op->u.produce.base_offset < 0)
            op->u.produce.base_offset = base;
        op->u.produce.next_batch += rb_batch_total_bytes(&bi);
    }
    mark_dirty(p);
    op->u.produce.wait_end = rb_log_end_offset(p->log);
    op->u.produce.log_start_offset = rb_log_start_offset(p->log);
    if (op->u.produce.acks == 0 || rb_log_written_end(p->log) >= op->u.produce.wait_end ||
        RB_DEFECT(ACK_BEFORE_SYNC)) /* planted defect (sim-selftest): ack before any write */
        return 1;
    list_push(&p->durable_head, &p->durable_tail, op);
    return 0;
}

static void exec_produce(struct rb_shard *s, struct rb_pop *op)
{
    struct rb_net *n = s->net;
    struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
    op->u.produce.base_offset = -1;
    op->u.produce.log_append_time = -1;
    op->u.produce.log_start_offset = -1;
    if (!p || p->dropped) {
        produce_fail(s, op, RB_KERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    if (p->blocked_head) { /* keep append order behind earlier blocked work */
        list_push(&p->blocked_head, &p->blocked_tail, op);
        return;
    }
    if (produce_append(s, p, op))
        group_step_done(s, op->group);
}

static struct rb_pop *list_pop(struct rb_pop **head, struct rb_pop **tail)
{
    struct rb_pop *op = *head;
    if (!op)
        return NULL;
    *head = op->wnext;
    if (*head)
        (*head)->wprev = NULL;
    else
        *tail = NULL;
    op->wnext = op->wprev = NULL;
    op->waiting = false;
    return op;
}

static void wake_fetchers(struct rb_shard *s, struct rb_partition *p)
{
    /* Re-running a group unlinks its pops from every partition: collect first.
     * A group the new data does not satisfy (min_bytes, or a flush that made
     * nothing new visible) registers again at the head of the list: run each
     * group at most once per wake-up, or this would spin. */
    struct rb_pgroup *groups[64], *done[256];
    int n_done = 0;
    while (n_done < (int)RB_ARRAY_LEN(done)) {
        int k = 0;
        for (struct rb_pop *op = p->fetch_waiters; op && k < 64; op = op->wnext) {
            bool seen = false;
            for (int j = 0; j < k; j++)
                seen |= groups[j] == op->group;
            for (int j = 0; j < n_done; j++)
                seen |= done[j] == op->group;
            if (!seen)
                groups[k++] = op->group;
        }
        if (k == 0)
            break;
        for (int j = 0; j < k; j++) {
            if (groups[j]->owner_state == OWNER_WAITING)
                fetch_group_rerun(s, groups[j]);
            if (n_done < (int)RB_ARRAY_LEN(done))
                done[n_done++] = groups[j]; /* compared by address only from here */
        }
    }
}

static void flush_done(struct rb_log *log, int res, void *arg)
{
    struct rb_partition *p = arg;
    struct rb_net *n = p->net;
    struct rb_shard *s = n->shard;
    p->flushing = false;
    n->flushes_in_flight--;
    if (res < 0)
        RB_ERROR(COMP, "partition %s-%d is offline: flush failed: %s", p->topic, p->index,
                 strerror(-res));
    if (res >= 0 && p->syncing) {
        p->last_sync_ms = s->now_ms;
        rb_timer_cancel(&s->timers, &p->sync_timer);
    }
    int64_t durable = rb_log_written_end(log); /* == durable_end unless relaxed */
    while (p->durable_head && (res < 0 || p->durable_head->u.produce.wait_end <= durable)) {
        struct rb_pop *op = list_pop(&p->durable_head, &p->durable_tail);
        if (res < 0)
            op->error = RB_KERR_KAFKA_STORAGE_ERROR;
        group_step_done(s, op->group);
    }
    while (p->blocked_head) {
        struct rb_pop *op = list_pop(&p->blocked_head, &p->blocked_tail);
        if (res < 0) {
            produce_fail(s, op, RB_KERR_KAFKA_STORAGE_ERROR);
            continue;
        }
        /* Detach the rest so a refused op goes back to the front, not the end. */
        struct rb_pop *rest_head = p->blocked_head, *rest_tail = p->blocked_tail;
        p->blocked_head = p->blocked_tail = NULL;
        int finished = produce_append(s, p, op);
        bool refused = p->blocked_head == op;
        if (rest_head) {
            rest_head->wprev = p->blocked_tail;
            if (p->blocked_tail)
                p->blocked_tail->wnext = rest_head;
            else
                p->blocked_head = rest_head;
            p->blocked_tail = rest_tail;
        }
        if (finished)
            group_step_done(s, op->group);
        if (refused)
            break; /* no room yet: wait for the next flush */
    }
    wake_fetchers(s, p);
    if (res >= 0 && rb_log_dirty(log))
        mark_dirty(p);
}

/* ---- fetch ---- */

static void fetch_pop_clear(struct rb_pop *op)
{
    rb_fetch_data_clear(op);
}

/* Read op's data (replacing any earlier read) within budget bytes. */
static void fetch_read(struct rb_net *n, struct rb_pgroup *g, struct rb_pop *op, uint32_t budget)
{
    fetch_pop_clear(op);
    op->error = RB_KERR_NONE;
    op->u.fetch.high_watermark = -1;
    op->u.fetch.log_start_offset = -1;
    struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
    if (!p || p->dropped) {
        op->error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    if (rb_log_offline(p->log)) {
        op->error = RB_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    int64_t hw = rb_log_written_end(p->log), ls = rb_log_start_offset(p->log);
    op->u.fetch.high_watermark = hw;
    op->u.fetch.log_start_offset = ls;
    int64_t off = op->u.fetch.offset;
    if (off < ls || off > hw) {
        op->error = RB_KERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    if (off == hw || op->u.fetch.max_bytes <= 0)
        return;
    struct rb_log_slice sl;
    uint32_t max = RB_MIN((uint32_t)op->u.fetch.max_bytes, budget);
    int r = rb_log_read(p->log, off, hw, max, g->bytes == 0, &sl);
    if (r == -ERANGE) {
        op->error = RB_KERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    if (r < 0) {
        op->error = RB_KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (sl.bytes == 0)
        return;
    /* memory copied, file bytes as a descriptor sent later (net/fetch_data.c) */
    r = rb_fetch_data_take(op, &sl);
    if (r) {
        RB_ERROR(COMP, "read of %s-%d at offset %lld failed: %s", p->topic, p->index,
                 (long long)off, strerror(-r));
        op->error = r == -EIO ? RB_KERR_KAFKA_STORAGE_ERROR : RB_KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    g->bytes += sl.bytes;
}

static void fetch_group_read_all(struct rb_net *n, struct rb_pgroup *g)
{
    g->bytes = 0;
    for (int i = 0; i < g->n_pops; i++) {
        uint32_t left = g->max_bytes > (int32_t)g->bytes ? (uint32_t)g->max_bytes - g->bytes : 0;
        fetch_read(n, g, g->pops[i], left);
    }
}

static void fetch_group_unwait(struct rb_net *n, struct rb_pgroup *g)
{
    for (int i = 0; i < g->n_pops; i++) {
        struct rb_pop *op = g->pops[i];
        if (!op->waiting)
            continue;
        struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
        RB_ASSERT(p);
        fetch_unlink(p, op);
    }
    rb_timer_cancel(&n->shard->timers, &g->timer);
}

static bool fetch_group_satisfied(struct rb_net *n, struct rb_pgroup *g)
{
    if ((int32_t)g->bytes >= g->min_bytes || n->shard->now_ms >= g->deadline_ms)
        return true;
    for (int i = 0; i < g->n_pops; i++)
        if (g->pops[i]->error)
            return true; /* errors go back at once, like Kafka */
    return false;
}

static void fetch_timer_fired(struct rb_timer *t)
{
    struct rb_pgroup *g = RB_CONTAINER_OF(t, struct rb_pgroup, timer);
    struct rb_shard *s = rb_self();
    struct rb_net *n = s->net;
    RB_ASSERT(g->owner_state == OWNER_WAITING);
    fetch_group_unwait(n, g);
    fetch_group_read_all(n, g);
    group_return(s, g);
}

static void fetch_group_wait_or_return(struct rb_shard *s, struct rb_pgroup *g)
{
    struct rb_net *n = s->net;
    if (fetch_group_satisfied(n, g) || atomic_load(&s->rt->stopping)) {
        group_return(s, g); /* a stopping broker answers long polls at once */
        return;
    }
    for (int i = 0; i < g->n_pops; i++) {
        struct rb_pop *op = g->pops[i];
        struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
        RB_ASSERT(p); /* otherwise the read set an error */
        list_push(&p->fetch_waiters, NULL, op);
    }
    g->owner_state = OWNER_WAITING;
    rb_timer_init(&g->timer, fetch_timer_fired);
    if (rb_timer_arm(&s->timers, &g->timer, g->deadline_ms)) {
        fetch_group_unwait(n, g);
        group_return(s, g);
    }
}

static void fetch_group_rerun(struct rb_shard *s, struct rb_pgroup *g)
{
    struct rb_net *n = s->net;
    RB_ASSERT(g->owner_state == OWNER_WAITING);
    fetch_group_unwait(n, g);
    if (RB_DEFECT(DROP_FETCH_WAITER)) /* planted defect (sim-selftest): never answered */
        return;
    g->owner_state = OWNER_RUNNING;
    fetch_group_read_all(n, g);
    fetch_group_wait_or_return(s, g);
}

/* ---- list offsets ---- */

/* The shard's codec scratch, for reading compressed batches (NULL: no memory). */
static struct rb_codec_ctx *lo_codec(struct rb_net *n)
{
    if (!n->codec)
        n->codec = rb_codec_ctx_new(); /* once per shard */
    return n->codec;
}

static void exec_list_offsets(struct rb_shard *s, struct rb_pop *op)
{
    struct rb_net *n = s->net;
    struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
    op->u.lo.offset = -1;
    op->u.lo.found_timestamp = -1;
    if (!p || p->dropped) {
        op->error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    } else if (rb_log_offline(p->log)) {
        op->error = RB_KERR_KAFKA_STORAGE_ERROR;
    } else if (op->u.lo.timestamp == -1) { /* latest */
        op->u.lo.offset = rb_log_written_end(p->log);
    } else if (op->u.lo.timestamp == -2 || op->u.lo.timestamp == -4) {
        /* earliest; earliest-local (v8+) is the same without tiered storage */
        op->u.lo.offset = rb_log_start_offset(p->log);
    } else if (op->u.lo.timestamp == -3) { /* max timestamp (v7+) */
        int64_t off, ts;
        int err = rb_log_max_timestamp(p->log, lo_codec(n), rb_log_written_end(p->log), &off, &ts);
        if (err == 0) {
            op->u.lo.offset = off;
            op->u.lo.found_timestamp = ts;
        } else if (err != -ENOENT) {
            op->error = RB_KERR_KAFKA_STORAGE_ERROR;
        }
    } else if (op->u.lo.timestamp < 0) {
        op->error = RB_KERR_UNSUPPORTED_VERSION;
    } else {
        int64_t off, ts;
        int64_t end = rb_log_written_end(p->log);
        if (rb_log_offset_for_time(p->log, op->u.lo.timestamp, &off, &ts) == 0 && off < end) {
            /* the batch; then its first record at or after the timestamp */
            (void)rb_log_record_at_time(p->log, lo_codec(n), off, end, op->u.lo.timestamp, &off,
                                        &ts);
            op->u.lo.offset = off;
            op->u.lo.found_timestamp = ts;
        }
    }
    group_step_done(s, op->group);
}

static void exec_delete_records(struct rb_shard *s, struct rb_pop *op)
{
    struct rb_net *n = s->net;
    struct rb_partition *p = rb_ptable_get(&n->parts, op->topic, op->topic_len, op->partition);
    rb_delete_records_exec(s, op, p && !p->dropped ? p->log : NULL);
    group_step_done(s, op->group);
}

/* ---- owner entry points ---- */

static void owner_exec(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    g->owner_state = OWNER_RUNNING;
    g->pending = g->n_pops;
    if (g->n_pops > 0 && g->pops[0]->kind == RB_POP_FETCH) {
        g->pending = 0;
        fetch_group_read_all(s->net, g);
        fetch_group_wait_or_return(s, g);
        return;
    }
    g->pending++; /* keep the group until every pop has started */
    for (int i = 0; i < g->n_pops; i++) {
        struct rb_pop *op = g->pops[i];
        op->group = g;
        if (op->kind == RB_POP_PRODUCE)
            exec_produce(s, op);
        else if (op->kind == RB_POP_DELETE_RECORDS)
            exec_delete_records(s, op);
        else
            exec_list_offsets(s, op);
    }
    group_step_done(s, g);
}

/* ---- local appends (internal topics) ---- */

struct local_append {
    struct rb_pgroup g;
    struct rb_pop op;
    struct rb_pop *pops[1];
    rb_append_done_fn done;
    void *arg;
    uint8_t *copy;
};

static void local_append_back(struct rb_shard *s, struct rb_pgroup *g)
{
    struct local_append *la = RB_CONTAINER_OF(g, struct local_append, g);
    la->done(s, la->op.error, la->op.u.produce.base_offset, la->arg);
    free(la->copy);
    free(la);
}

int rb_partition_append_local(struct rb_shard *s, const char *topic, int32_t partition,
                              const uint8_t *batch, uint32_t len, rb_append_done_fn done, void *arg)
{
    struct rb_batch_info bi;
    if (rb_batch_validate(batch, len, &bi) != RB_BATCH_OK || rb_batch_total_bytes(&bi) != len)
        return -EINVAL;
    struct local_append *la = calloc(1, sizeof(*la));
    uint8_t *copy = malloc(len);
    if (!la || !copy) {
        free(la);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, batch, len);
    la->copy = copy;
    la->done = done;
    la->arg = arg;
    la->op.topic = topic; /* the caller keeps it alive until done runs */
    la->op.topic_len = strlen(topic);
    la->op.partition = partition;
    la->op.shard = (int16_t)s->id;
    la->op.kind = RB_POP_PRODUCE;
    la->op.u.produce.records = copy;
    la->op.u.produce.len = len;
    la->op.u.produce.acks = -1;
    la->op.group = &la->g;
    la->pops[0] = &la->op;
    la->g.pops = la->pops;
    la->g.n_pops = 1;
    la->g.origin = la->g.shard = (int16_t)s->id;
    la->g.back = local_append_back;
    rb_post(s, s->id, owner_exec, &la->g);
    return 0;
}

int rb_pgroups_split(struct rb_request *req, struct rb_pop **pops, int n,
                     void (*back)(struct rb_shard *s, struct rb_pgroup *g),
                     struct rb_pgroup ***groups)
{
    int ns = req->conn->net->shard->rt->n_shards;
    struct rb_pgroup **by_shard = rb_req_alloc(req, (size_t)ns, sizeof(*by_shard));
    int *count = rb_req_alloc(req, (size_t)ns, sizeof(int));
    for (int k = 0; k < n; k++)
        if (pops[k])
            count[pops[k]->shard]++;
    int ng = 0;
    for (int sh = 0; sh < ns; sh++) {
        if (!count[sh])
            continue;
        struct rb_pgroup *g = rb_req_alloc(req, 1, sizeof(*g));
        g->req = req;
        g->shard = (int16_t)sh;
        g->pops = rb_req_alloc(req, (size_t)count[sh], sizeof(*g->pops));
        g->back = back;
        by_shard[sh] = g;
        ng++;
    }
    for (int k = 0; k < n; k++)
        if (pops[k]) {
            struct rb_pgroup *g = by_shard[pops[k]->shard];
            g->pops[g->n_pops++] = pops[k];
        }
    /* Compact to the shards that have work, in shard order. */
    int j = 0;
    for (int sh = 0; sh < ns; sh++)
        if (by_shard[sh])
            by_shard[j++] = by_shard[sh];
    *groups = by_shard;
    return ng;
}

void rb_pgroup_send(struct rb_shard *s, struct rb_pgroup *g)
{
    for (int i = 0; i < g->n_pops; i++)
        g->pops[i]->group = g;
    g->origin = (int16_t)s->id;
    g->owner_state = OWNER_IDLE;
    g->returned = false;
    rb_request_hold(g->req);
    rb_net_of(s)->groups_out++;
    if (g->shard != s->id && atomic_load(&s->rt->stopping)) {
        /* The owner may have left its loop already: answer here (retriable). */
        for (int i = 0; i < g->n_pops; i++)
            g->pops[i]->error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        g->owner_state = OWNER_RETURNED;
        rb_post(s, s->id, group_back_on_origin, g);
        return;
    }
    rb_post(s, g->shard, owner_exec, g);
}

static void cancel_ack_on_origin(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_pgroup *g = arg;
    rb_net_of(s)->groups_out--;
    rb_request_release(g->req);
}

static void owner_cancel(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    if (g->owner_state == OWNER_WAITING) {
        fetch_group_unwait(s->net, g);
        group_return(s, g);
    }
    rb_post(s, g->origin, cancel_ack_on_origin, g);
}

void rb_pgroup_cancel(struct rb_shard *s, struct rb_pgroup *g)
{
    /* Stopping: every owner answers its waiting fetches by itself (and may have
     * left its loop already, so a cancel could be stranded). */
    if (atomic_load(&s->rt->stopping))
        return;
    rb_request_hold(g->req);
    rb_net_of(s)->groups_out++;
    rb_post(s, g->shard, owner_cancel, g);
}

/* ---- flush cycle, metadata updates, shutdown ---- */

struct pending_update {
    struct pending_update *next;
    struct rb_md_update *u;
};
static __thread struct pending_update *pending_updates;

void rb_net_partitions_turn(struct rb_net *n);
void rb_net_partitions_finish(struct rb_net *n);
bool rb_net_partitions_idle(struct rb_net *n);
bool rb_net_partitions_quiet(struct rb_net *n);

/* Relaxed durability: with flush.messages > 1 a flush only writes (the ack and the
 * high watermark follow the write) unless a sync is due: flush.messages appended
 * since the last sync, flush.ms elapsed since it, or appends blocked (a roll and
 * the dirty budget need synced data). */
static bool sync_due(struct rb_net *n, struct rb_partition *p)
{
    int64_t msgs, ms;
    rb_log_flush_policy(p->log, &msgs, &ms);
    if (msgs <= 1 || p->blocked_head)
        return true;
    if (rb_log_end_offset(p->log) - rb_log_durable_end(p->log) >= msgs)
        return true;
    return ms >= 0 && n->shard->now_ms - p->last_sync_ms >= ms;
}

/* Start a syncing or write-only flush of p; -EALREADY: nothing to do now (the
 * flush.ms timer is armed when set). */
static int partition_flush(struct rb_net *n, struct rb_partition *p)
{
    p->syncing = sync_due(n, p);
    if (p->syncing)
        return rb_log_flush(p->log, flush_done, p);
    int r = rb_log_write_out(p->log, flush_done, p);
    int64_t msgs, ms;
    rb_log_flush_policy(p->log, &msgs, &ms);
    if (ms >= 0 && !rb_timer_armed(&p->sync_timer) &&
        rb_timer_arm(&n->shard->timers, &p->sync_timer, p->last_sync_ms + ms))
        RB_WARN(COMP, "%s-%d: no flush.ms timer (out of memory)", p->topic, p->index);
    return r;
}

static void start_flushes(struct rb_net *n)
{
    struct rb_partition *p = n->dirty_head;
    n->dirty_head = NULL;
    uint64_t started = 0;
    while (p) {
        struct rb_partition *next = p->dirty_next;
        p->in_dirty_list = false;
        p->dirty_next = NULL;
        if (!p->flushing && (rb_log_dirty(p->log) || p->blocked_head)) {
            int r = partition_flush(n, p);
            if (r == -EALREADY) {
                /* written, sync not due: flush.ms (if set) brings it */
            } else if (r == 0) {
                p->flushing = true;
                n->flushes_in_flight++;
                started++;
                if (p->syncing)
                    rb_stat_add(&n->stat_syncs, 1);
            } else if (r != -EBUSY) {
                /* offline: answer everyone waiting with the error */
                p->flushing = true;
                n->flushes_in_flight++;
                flush_done(p->log, r, p);
            }
        }
        p = next;
    }
    if (started) {
        rb_stat_add(&n->stat_flush_cycles, 1);
        rb_stat_add(&n->stat_flushes, started);
    }
}

/* A dropped partition is closed once no flush is in flight for it. */
static bool drop_partition(struct rb_shard *s, struct rb_partition_handoff *h)
{
    struct rb_net *n = s->net;
    struct rb_partition *p = rb_ptable_get(&n->parts, h->topic->name, h->topic->name_len, h->index);
    if (!p)
        return true;
    p->dropped = true;
    if (p->flushing || rb_log_busy(p->log))
        return false; /* background segment work ends on its own (log_seg.c) */
    while (p->durable_head)
        produce_fail(s, list_pop(&p->durable_head, &p->durable_tail),
                     RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    while (p->blocked_head)
        produce_fail(s, list_pop(&p->blocked_head, &p->blocked_tail),
                     RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    wake_fetchers(s, p); /* their re-read finds the partition gone */
    if (p->in_dirty_list) {
        struct rb_partition **pp = &n->dirty_head;
        while (*pp && *pp != p)
            pp = &(*pp)->dirty_next;
        if (*pp)
            *pp = p->dirty_next;
    }
    ptable_remove(&n->parts, p);
    rb_timer_cancel(&s->timers, &p->sync_timer);
    h->log = p->log;
    rb_pstate_free(p->pstate);
    free(p->topic);
    free(p);
    return true;
}

static void process_pending_updates(struct rb_shard *s)
{
    struct pending_update **pp = &pending_updates;
    while (*pp) {
        struct pending_update *pu = *pp;
        bool all = true;
        for (int i = 0; i < pu->u->n_drop; i++)
            if (!pu->u->drop[i].log)
                all &= drop_partition(s, &pu->u->drop[i]);
        if (all) {
            *pp = pu->next;
            rb_coord_update_applied(s, pu->u);
            free(pu);
        } else {
            pp = &pu->next;
        }
    }
}

/* A config change (topic AlterConfigs or a dynamic broker default): every log
 * here takes its settings from the new snapshot. Flush policy: a flush.ms timer
 * armed under the old policy is re-armed by the next flush; unsynced data is
 * flushed by the new policy at the next turn. */
static void reconfigure_partitions(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    const struct rb_broker_config *bc = rb_config_broker(rb_net_config(n));
    struct rb_ptable *t = &n->parts;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
        for (struct rb_partition *p = t->buckets[i]; p; p = p->hnext) {
            const struct rb_topic_meta *tm = rb_metadata_topic(n->md, p->topic, p->topic_len);
            struct rb_log_config lc;
            if (p->dropped || !tm)
                continue;
            rb_coord_log_config(bc, tm, &lc);
            if (rb_log_reconfigure(p->log, &lc)) {
                RB_WARN(COMP, "%s-%d: new log settings refused; keeping the old ones", p->topic,
                        p->index);
                continue;
            }
            rb_timer_cancel(&s->timers, &p->sync_timer);
            if (rb_log_dirty(p->log))
                mark_dirty(p);
        }
    }
}

void rb_net_apply_update(struct rb_shard *s, struct rb_md_update *u)
{
    struct rb_net *n = s->net;
    rb_metadata_unref(n->md);
    n->md = u->md;
    u->md = NULL;
    if (u->reconfigure)
        reconfigure_partitions(s);
    for (int i = 0; i < u->n_adopt; i++) {
        struct rb_partition_handoff *h = &u->adopt[i];
        int r = rb_ptable_add(n, h->topic->name, h->topic->id, h->index, h->log);
        RB_ASSERT(r == 0);
    }
    struct pending_update *pu = calloc(1, sizeof(*pu));
    RB_ASSERT(pu);
    pu->u = u;
    pu->next = pending_updates;
    pending_updates = pu;
    process_pending_updates(s);
}

void rb_net_partitions_turn(struct rb_net *n)
{
    rb_log_maint_turn(n);
    rb_groups_turn(n);
    if (n->dirty_head)
        start_flushes(n);
    if (pending_updates)
        process_pending_updates(n->shard);
}

static void stop_timer_fired(struct rb_timer *t)
{
    (void)t; /* only wakes the loop, which checks the deadline */
}

static void stop_nudge(struct rb_shard *s, void *arg)
{
    (void)s;
    (void)arg;
}

/* Stopping: answer the fetches still waiting here (owner side), then report
 * whether every group this shard sent is back (origin side; their return wakes
 * the loop), so no request is left behind holding memory. Bounded: after 3 s the
 * shard stops anyway (a group sent to a shard that already left its loop). */
bool rb_net_partitions_quiet(struct rb_net *n)
{
    struct rb_shard *s = n->shard;
    struct rb_ptable *t = &n->parts;
    bool returned = false;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++)
        for (struct rb_partition *p = t->buckets[i]; p; p = p->hnext)
            while (p->fetch_waiters) {
                struct rb_pgroup *g = p->fetch_waiters->group;
                RB_ASSERT(g->owner_state == OWNER_WAITING);
                fetch_group_unwait(n, g);
                group_return(s, g);
                returned = true;
            }
    if (!n->stop_deadline_ms) {
        n->stop_deadline_ms = s->now_ms + 3000;
        rb_timer_init(&n->stop_timer, stop_timer_fired);
        (void)rb_timer_arm(&s->timers, &n->stop_timer, n->stop_deadline_ms);
    }
    if (returned) { /* one more loop turn (not asleep) sends their wake-ups */
        rb_post(s, s->id, stop_nudge, NULL);
        return false;
    }
    bool quiet = n->groups_out == 0 || s->now_ms >= n->stop_deadline_ms;
    if (n->groups_out && quiet)
        RB_WARN(COMP, "shard %d stopping with %d request parts still out on other shards", s->id,
                n->groups_out);
    if (quiet)
        rb_timer_cancel(&s->timers, &n->stop_timer);
    return quiet;
}

bool rb_net_partitions_idle(struct rb_net *n)
{
    struct rb_ptable *t = &n->parts;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++)
        for (struct rb_partition *p = t->buckets[i]; p; p = p->hnext)
            if (rb_log_busy(p->log))
                return false;
    return true;
}

static void finish_publish(struct rb_log *log, void *arg)
{
    (void)arg;
    (void)rb_pstate_snapshot_log_publish(log); /* a lost one: the older stays */
}

/* Shutdown of all logs of the shard at once (rb_log_close_batch): a few syncfs
 * instead of ~8 fsyncs per log, one log after another. On -ENOMEM each log closes
 * on its own (rb_log_close, no producer snapshot). */
static void finish_logs(struct rb_net *n)
{
    struct rb_ptable *t = &n->parts;
    struct rb_log **logs = malloc(sizeof(*logs) * (t->n ? t->n : 1));
    int cnt = 0;
    if (!logs)
        return;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++)
        for (struct rb_partition *p = t->buckets[i]; p; p = p->hnext) {
            RB_ASSERT(!p->flushing);
            if (!rb_log_offline(p->log) && rb_pstate_snapshot_log_tmp(p->pstate, p->log))
                RB_WARN(COMP, "%s-%d: producer state snapshot not written", p->topic, p->index);
            logs[cnt++] = p->log;
        }
    rb_log_close_batch(logs, cnt, finish_publish, NULL);
    for (int i = 0; i < cnt; i++)
        if (!rb_log_offline(logs[i]))
            rb_pstate_snapshot_log_prune(logs[i]);
    free(logs);
}

void rb_net_partitions_finish(struct rb_net *n)
{
    rb_log_maint_finish(n);
    rb_groups_finish(n);
    finish_logs(n);
    struct rb_ptable *t = &n->parts;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
        struct rb_partition *p = t->buckets[i];
        while (p) {
            struct rb_partition *next = p->hnext;
            rb_timer_cancel(&n->shard->timers, &p->sync_timer);
            rb_pstate_free(p->pstate);
            rb_log_close(p->log);
            free(p->topic);
            free(p);
            p = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->n = 0;
    rb_metadata_unref(n->md);
    n->md = NULL;
}
