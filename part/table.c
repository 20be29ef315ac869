/*
 * part/table.c - the partitions placed on a shard: the hash table by (topic,
 * index), adoption of opened logs, drops, reconfiguration, and the partition
 * state machine (drawn in part/part.h):
 *
 *   LOADING --rb_part_add--> ONLINE --log offline--> OFFLINE
 *   ONLINE | OFFLINE --rb_part_drop--> DROPPING --no flush in flight--> freed
 *
 * Owns: struct rb_part_shard and every struct rb_part of the shard.
 * Invariants: rb_part_set_state is the only writer of p->state and asserts each
 * transition; a DROPPING partition takes no new work (rb_part_live hides it).
 * Fault model: adoption runs at startup or on a just-created log (blocking reads
 * of producer state are fine there); allocation failure refuses the adoption.
 */
#include "part/part_int.h"

#include "core/logging.h"
#include "core/meminfo.h"
#include "storage/compress.h"
#include "storage/producer_state.h"
#include "storage/tail_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "partition"
/* Kafka's producer.id.expiration.ms default: idle producers are forgotten. */
#define RB_PRODUCER_ID_EXPIRATION_MS (24LL * 3600 * 1000)

static void sync_timer_fired(struct rb_timer *t);

#define TAIL_AUTO_MIN_BYTES (64LL << 20) /* the fixed default before auto */

static bool budget_set(const struct rb_config *config)
{
    const char *src = config ? rb_config_source(config, "shard.memory.budget.bytes") : NULL;
    return src && strcmp(src, "default") != 0;
}

int64_t rb_part_tail_cache_size(int64_t configured, int64_t mem_avail_bytes, int n_shards,
                                int64_t budget_bytes, bool budget_set, int64_t *outside_bytes)
{
    *outside_bytes = 0;
    if (configured >= 0)
        return configured;
    int64_t share =
        mem_avail_bytes < 0 ? TAIL_AUTO_MIN_BYTES : mem_avail_bytes / 4 / RB_MAX(n_shards, 1);
    share = RB_MAX(share, TAIL_AUTO_MIN_BYTES);
    if (budget_set)
        return RB_MIN(share, budget_bytes / 4);
    /* Inside the budget it is what the fixed default was (a quarter of the
     * budget, 64 MiB): it yields to connections just as before; the rest is
     * outside. All inside, any connection's byte would make it yield (free its
     * spares, churn buffers). */
    *outside_bytes = RB_MAX(share - budget_bytes / 4, (int64_t)0);
    return share;
}

int64_t rb_part_tail_cache_bytes(const struct rb_part_shard *ps)
{
    return ps->tail_cache_bytes;
}

struct rb_part_shard *rb_part_shard_new(struct rb_shard *s, struct rb_config *config,
                                        const struct rb_broker_config *bc)
{
    struct rb_part_shard *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->shard = s;
    ps->config = config;
    ps->bc = bc;
    ps->tail_cache_bytes = rb_part_tail_cache_size(
        bc->log_tail_cache_bytes, bc->log_tail_cache_bytes < 0 ? rb_mem_available() : -1,
        s && s->rt ? s->rt->n_shards : 1, bc->shard_memory_budget_bytes, budget_set(config),
        &ps->tail_outside_bytes);
    ps->tail_cache = rb_tail_cache_new((uint64_t)ps->tail_cache_bytes);
    if (bc->log_tail_cache_bytes < 0 && (!s || s->id == 0))
        RB_INFO(COMP,
                "tail cache: %" PRId64 " MiB per shard (log.tail.cache.bytes auto: "
                "a quarter of the memory available: MemAvailable, or the memory cgroup's "
                "limit less its usage when lower; %" PRId64 " MiB outside the shard budget)",
                ps->tail_cache_bytes >> 20, ps->tail_outside_bytes >> 20);
    ps->m.topics = rb_mnames_new();
    ps->fdcache = rb_fdcache_new(rb_fdcache_slots(s && s->rt ? s->rt->n_shards : 1));
    if (ps->fdcache) /* the read path only: splice reads through the page cache */
        rb_fdcache_set_direct(ps->fdcache, bc->fetch_file_direct && !bc->fetch_file_splice);
    rb_part_isr_shard_init(ps);
    if (!ps->tail_cache || !ps->m.topics || !ps->fdcache) {
        rb_tail_cache_free(ps->tail_cache);
        rb_mnames_free(ps->m.topics);
        rb_fdcache_free(ps->fdcache);
        free(ps);
        return NULL;
    }
    return ps;
}

void rb_part_shard_free(struct rb_part_shard *ps)
{
    if (!ps)
        return;
    RB_ASSERT(ps->n == 0);
    /* every rebuilt batch released, no job of the validator thread out */
    RB_ASSERT(rb_part_vt_mem(ps) == 0 && ps->vt_out == 0);
    free(ps->buckets);
    rb_tail_cache_free(ps->tail_cache); /* after the logs that used it */
    rb_codec_ctx_free(ps->codec);
    rb_mnames_free(ps->m.topics);
    rb_fdcache_free(ps->fdcache); /* every response holding a slot is gone */
    free(ps);
}

int64_t rb_part_mem(const struct rb_part_shard *ps)
{
    return (int64_t)rb_tail_cache_mem(ps->tail_cache);
}

int64_t rb_part_codec_mem(const struct rb_part_shard *ps)
{
    return ps->codec ? (int64_t)rb_codec_scratch_bytes(ps->codec) : 0;
}

int64_t rb_part_mem_floor(const struct rb_part_shard *ps)
{
    return RB_MIN(ps->tail_cache_bytes, ps->bc->shard_memory_budget_bytes / 8);
}

int64_t rb_part_mem_limit(struct rb_part_shard *ps, int64_t bytes)
{
    int64_t keep = RB_MAX(bytes, rb_part_mem_floor(ps)) + ps->tail_outside_bytes;
    return (int64_t)rb_tail_cache_limit(ps->tail_cache, (uint64_t)keep);
}

const struct rb_part_stats *rb_part_stats(const struct rb_part_shard *ps)
{
    return &ps->stats;
}

const struct rb_part_metrics *rb_part_metrics(const struct rb_part_shard *ps)
{
    return &ps->m;
}

/* The partition gauges follow the state: +1 entering ONLINE/OFFLINE, -1 leaving. */
static void state_gauge(struct rb_part *p, enum rb_part_state st, uint64_t delta)
{
    if (st == RB_PART_ONLINE)
        rb_counter_add(&p->ps->m.online, delta);
    else if (st == RB_PART_OFFLINE)
        rb_counter_add(&p->ps->m.offline, delta);
}

struct rb_codec_ctx *rb_part_codec(struct rb_part_shard *ps)
{
    if (!ps->codec)
        ps->codec = rb_codec_ctx_new(); /* once per shard; NULL: no memory */
    ps->codec_gen++; /* what the scratch held may be gone (rb_part_rebuild_prepare) */
    return ps->codec;
}

uint64_t rb_part_codec_work(struct rb_part_shard *ps)
{
    return ps->codec ? rb_codec_total_out(ps->codec) : 0;
}

void rb_part_set_state(struct rb_part *p, enum rb_part_state to)
{
    switch (to) {
    case RB_PART_ONLINE:
        RB_ASSERT(p->state == RB_PART_LOADING);
        break;
    case RB_PART_OFFLINE:
        RB_ASSERT(p->state == RB_PART_ONLINE);
        break;
    case RB_PART_DROPPING:
        RB_ASSERT(p->state == RB_PART_ONLINE || p->state == RB_PART_OFFLINE);
        break;
    default:
        RB_ASSERT(!"illegal partition state");
    }
    state_gauge(p, p->state, (uint64_t)-1);
    state_gauge(p, to, 1);
    p->state = to;
}

bool rb_part_check_offline(struct rb_part *p)
{
    if (p->state == RB_PART_ONLINE && rb_log_offline(p->log))
        rb_part_set_state(p, RB_PART_OFFLINE);
    return rb_log_offline(p->log);
}

/* ---- table ---- */

static uint32_t part_hash(const char *topic, size_t len, int32_t index)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)topic[i]) * 16777619u;
    h = (h ^ (uint32_t)index) * 16777619u;
    return h;
}

struct rb_part *rb_part_get(struct rb_part_shard *ps, const struct rb_part_key *k)
{
    if (!ps->buckets)
        return NULL;
    struct rb_part *p = ps->buckets[part_hash(k->topic, k->topic_len, k->index) & ps->mask];
    for (; p; p = p->hnext)
        if (p->index == k->index && p->topic_len == k->topic_len &&
            memcmp(p->topic, k->topic, k->topic_len) == 0)
            return p;
    return NULL;
}

struct rb_part *rb_part_live(struct rb_part_shard *ps, const struct rb_part_key *k)
{
    struct rb_part *p = rb_part_get(ps, k);
    return p && p->state != RB_PART_DROPPING ? p : NULL;
}

bool rb_part_exists(struct rb_part_shard *ps, const struct rb_part_key *k)
{
    return rb_part_live(ps, k) != NULL;
}

void rb_part_each(struct rb_part_shard *ps, void (*fn)(void *arg, struct rb_part *p), void *arg)
{
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++)
        for (struct rb_part *p = ps->buckets[i], *next; p; p = next) {
            next = p->hnext;
            fn(arg, p);
        }
}

struct buckets {
    struct rb_part **b;
    uint32_t mask;
};

static void bucket_push(void *arg, struct rb_part *p)
{
    struct buckets *bs = arg;
    uint32_t h = part_hash(p->topic, p->topic_len, p->index) & bs->mask;
    p->hnext = bs->b[h];
    bs->b[h] = p;
}

/* Twice the buckets (256 at first); every partition moves over. */
static void table_grow(struct rb_part_shard *ps)
{
    struct buckets bs = {.mask = (ps->buckets ? (ps->mask + 1) * 2 : 256) - 1};
    bs.b = calloc(bs.mask + 1, sizeof(*bs.b));
    RB_ASSERT(bs.b);
    rb_part_each(ps, bucket_push, &bs);
    free(ps->buckets);
    ps->buckets = bs.b;
    ps->mask = bs.mask;
}

int rb_part_set_role(struct rb_part_shard *ps, const struct rb_part_key *k, enum rb_part_role role,
                     int32_t leader_epoch)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    rb_part_isr_role(p, role, leader_epoch);
    p->role_set = true;
    p->role = role;
    p->leader_epoch = leader_epoch;
    rb_part_epoch_role(p);
    return 0;
}

int rb_part_add(struct rb_part_shard *ps, const char *topic, const uint8_t id[16], int32_t index,
                struct rb_log *log)
{
    if (!ps->buckets || ps->n >= ps->mask)
        table_grow(ps);
    struct rb_part *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->topic = strdup(topic);
    p->pstate = rb_pstate_new();
    if (!p->topic || !p->pstate) {
        rb_pstate_free(p->pstate);
        free(p->topic);
        free(p);
        return -ENOMEM;
    }
    p->topic_len = strlen(topic);
    memcpy(p->topic_id, id, 16);
    p->index = index;
    p->log = log;
    p->ps = ps;
    rb_log_set_tail_cache(log, ps->tail_cache); /* the shard's (log.tail.cache.bytes) */
    rb_part_epoch_role(p);                      /* a standalone leader, epoch 0 */
    p->last_sync_ms = rb_mono_ms();
    rb_timer_init(&p->sync_timer, sync_timer_fired);
    rb_timer_init(&p->ack_timer, rb_part_isr_ack_timer_fired);
    /* Blocking: runs at startup or on a just-created (empty) log. On failure the
     * table stays empty: every producer is then unknown, so nothing is refused,
     * but retries of batches already in the log are not recognised. */
    rb_pstate_recover(p->pstate, log, rb_wall_ms() - RB_PRODUCER_ID_EXPIRATION_MS);
    bucket_push(&(struct buckets){ps->buckets, ps->mask}, p);
    ps->n++;
    rb_part_set_state(p, RB_PART_ONLINE);
    (void)rb_part_check_offline(p);
    return 0;
}

static void table_remove(struct rb_part_shard *ps, struct rb_part *p)
{
    struct rb_part **pp = &ps->buckets[part_hash(p->topic, p->topic_len, p->index) & ps->mask];
    while (*pp && *pp != p)
        pp = &(*pp)->hnext;
    RB_ASSERT(*pp == p);
    *pp = p->hnext;
    ps->n--;
}

/* flush.ms elapsed since the last sync: the next turn's flush of p syncs. */
static void sync_timer_fired(struct rb_timer *t)
{
    struct rb_part *p = RB_CONTAINER_OF(t, struct rb_part, sync_timer);
    if (rb_log_dirty(p->log))
        rb_part_mark_dirty(p);
}

/* Free p (already out of the table); its log is the caller's. */
static void part_free(struct rb_part *p)
{
    rb_timer_cancel(&p->ps->shard->timers, &p->sync_timer);
    rb_timer_cancel(&p->ps->shard->timers, &p->ack_timer);
    state_gauge(p, p->state, (uint64_t)-1);
    RB_ASSERT(!p->isr_head);
    rb_part_isr_free(p);
    rb_pstate_free(p->pstate);
    free(p->topic);
    free(p);
}

/* A dropped partition is closed once no flush is in flight for it. */
bool rb_part_drop(struct rb_part_shard *ps, const char *topic, size_t len, int32_t index,
                  struct rb_log **log)
{
    struct rb_part_key k = {topic, len, index};
    struct rb_part *p = rb_part_get(ps, &k);
    *log = NULL;
    if (!p)
        return true;
    if (p->state != RB_PART_DROPPING)
        rb_part_set_state(p, RB_PART_DROPPING);
    if (p->flushing || rb_log_busy(p->log))
        return false; /* background segment work ends on its own (log_seg.c) */
    while (p->durable_head)
        rb_part_item_finish(ps, rb_part_wpop(&p->durable_head, &p->durable_tail),
                            RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    while (p->blocked_head)
        rb_part_item_finish(ps, rb_part_wpop(&p->blocked_head, &p->blocked_tail),
                            RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    rb_part_isr_fail(p, RB_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    rb_part_wake_readers(ps, p); /* their re-read finds the partition gone */
    if (p->in_dirty_list) {
        struct rb_part **pp = &ps->dirty_head;
        while (*pp && *pp != p)
            pp = &(*pp)->dirty_next;
        if (*pp)
            *pp = p->dirty_next;
    }
    table_remove(ps, p);
    *log = p->log;
    part_free(p);
    return true;
}

/* A config change (topic AlterConfigs or a dynamic broker default): every log
 * here takes its settings from the new snapshot. Flush policy: a flush.ms timer
 * armed under the old policy is re-armed by the next flush; unsynced data is
 * flushed by the new policy at the next turn. */
void rb_part_reconfigure(struct rb_part_shard *ps,
                         int (*cfg)(void *arg, const char *topic, size_t len,
                                    struct rb_log_config *lc),
                         void *arg)
{
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        for (struct rb_part *p = ps->buckets[i]; p; p = p->hnext) {
            struct rb_log_config lc;
            if (p->state == RB_PART_DROPPING || cfg(arg, p->topic, p->topic_len, &lc))
                continue;
            if (rb_log_reconfigure(p->log, &lc)) {
                RB_WARN(COMP, "%s-%d: new log settings refused; keeping the old ones", p->topic,
                        p->index);
                continue;
            }
            rb_timer_cancel(&ps->shard->timers, &p->sync_timer);
            if (rb_log_dirty(p->log))
                rb_part_mark_dirty(p);
        }
    }
}

/* ---- shutdown ---- */

static void finish_publish(struct rb_log *log, void *arg)
{
    (void)arg;
    if (!rb_log_untouched(log))
        (void)rb_pstate_snapshot_log_publish(log); /* a lost one: the older stays */
}

/* Shutdown of all logs of the shard at once (rb_log_close_batch): a few syncfs
 * instead of ~8 fsyncs per log, one log after another. On -ENOMEM each log closes
 * on its own (rb_log_close, no producer snapshot). A log untouched since a clean
 * open (rb_log_untouched) keeps the producer snapshot it was loaded from: no
 * append since means no producer changed but by expiry, which the next load
 * applies again (a never-written log has none and needs none). */
static void finish_logs(struct rb_part_shard *ps)
{
    struct rb_log **logs = malloc(sizeof(*logs) * (ps->n ? ps->n : 1));
    int cnt = 0;
    if (!logs)
        return;
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++)
        for (struct rb_part *p = ps->buckets[i]; p; p = p->hnext) {
            RB_ASSERT(!p->flushing);
            if (!rb_log_offline(p->log) && !rb_log_untouched(p->log) &&
                rb_pstate_snapshot_log_tmp(p->pstate, p->log))
                RB_WARN(COMP, "%s-%d: producer state snapshot not written", p->topic, p->index);
            logs[cnt++] = p->log;
        }
    rb_log_close_batch(logs, cnt, finish_publish, NULL);
    for (int i = 0; i < cnt; i++)
        if (!rb_log_offline(logs[i]) && !rb_log_untouched(logs[i]))
            rb_pstate_snapshot_log_prune(logs[i]);
    free(logs);
}

void rb_part_finish(struct rb_part_shard *ps)
{
    rb_timer_cancel(&ps->shard->timers, &ps->isr_timer);
    finish_logs(ps);
    /* The final report after the close, which wrote every changed epoch file: it
     * carries only those the close could not write (they were written twice, two
     * inodes per new partition at the first stop). Its ends are the same (the
     * batched close moves no durable end). */
    rb_part_maint_finish(ps);
    for (uint32_t i = 0; ps->buckets && i <= ps->mask; i++) {
        struct rb_part *p = ps->buckets[i];
        while (p) {
            struct rb_part *next = p->hnext;
            rb_log_close(p->log);
            part_free(p);
            p = next;
        }
        ps->buckets[i] = NULL;
    }
    ps->n = 0;
}
