/*
 * part/part_int.h - what the files of part/ share: one partition (struct rb_part),
 * the shard's partition table and its dirty list (struct rb_part_shard), and the
 * helpers the files call across. Not for use outside part/.
 *
 * Invariants: a partition is in the table from rb_part_add until its drop
 * completes; it is on the dirty list at most once (in_dirty_list); log end
 * offset >= written end (the high watermark) >= durable end, always.
 */
#ifndef RB_PART_PART_INT_H
#define RB_PART_PART_INT_H

#include "core/config.h"
#include "core/kerr.h"
#include "core/rb.h"
#include "part/part.h"
#include "storage/log.h"

enum rb_part_state {
    RB_PART_LOADING = 0, /* allocated, not in the table yet */
    RB_PART_ONLINE,
    RB_PART_OFFLINE,  /* the log refused a write, sync or read: errors only */
    RB_PART_DROPPING, /* dropped from the metadata, waiting for its flush */
};

struct rb_part {
    struct rb_part *hnext;
    char *topic;
    size_t topic_len;
    uint8_t topic_id[16];
    int32_t index;
    struct rb_log *log;
    struct rb_part_shard *ps;
    enum rb_part_state state;
    enum rb_part_role role; /* in the cluster; LEADER on a standalone broker */
    int32_t leader_epoch;
    bool in_dirty_list;
    struct rb_part *dirty_next;
    bool flushing;
    bool disk_full; /* the last append found no space (logged once per episode) */
    /* relaxed durability (flush.messages > 1): the flush in flight syncs or only
     * writes; when the last sync completed; the flush.ms deadline */
    bool syncing;
    int64_t last_sync_ms;
    struct rb_timer sync_timer;
    /* appends waiting for durability, in offset order */
    struct rb_part_item *durable_head, *durable_tail;
    /* appends refused with -ENOBUFS, to retry in order after a flush */
    struct rb_part_item *blocked_head, *blocked_tail;
    /* reads waiting for new data */
    struct rb_part_item *read_waiters;
    /* replication on the leader (part/isr.c): NULL without replicas elsewhere;
     * acks=all appends durable here, waiting for the high watermark */
    struct rb_part_repl *repl;
    struct rb_part_item *isr_head, *isr_tail;
    /* the cluster gave it a role (rb_part_set_role); the log's checkpointed high
     * watermark (rb_log_checkpoint_hw) was taken by its first repl */
    bool role_set;
    bool ckpt_hw_taken;
    struct rb_timer ack_timer; /* the earliest deadline_ms on the ISR list */
    /* idempotent producers' sequences (storage/producer_state.h) */
    struct rb_pstate *pstate;
    /* metrics: this topic's counters (lazy, on the shard); the flush's start */
    struct rb_mname *mtopic;
    int64_t flush_start_us;
};

struct rb_part_maint {
    bool set;
    struct rb_timer ckpt, ret, del;
    int64_t points_due_ms; /* the next full checkpoint report (part/maint.c) */
};

struct rb_part_shard {
    struct rb_shard *shard;
    struct rb_config *config;
    const struct rb_broker_config *bc;
    struct rb_part **buckets;
    uint32_t mask;
    uint32_t n;
    struct rb_part *dirty_head; /* partitions appended to since their last flush */
    int flushes_in_flight;
    uint64_t wake_gen;                /* numbers wake-ups of read waiters (rb_part_wake_readers) */
    struct rb_tail_cache *tail_cache; /* log.tail.cache.bytes of written chunks */
    int64_t tail_cache_bytes;         /* its size (log.tail.cache.bytes resolved) */
    int64_t tail_outside_bytes;       /* what of it is outside the shard budget */
    struct rb_codec_ctx *codec;       /* compression scratch, lazy */
    uint64_t codec_gen;               /* rb_part_codec calls: each may reuse the scratch */
    struct rb_fdcache *fdcache;       /* segment descriptors lent to fetches */
    struct rb_part_maint maint;
    /* part/isr.c: where ISR changes go; replica.lag.time.max.ms; the shrink check */
    rb_part_isr_sink_fn isr_sink;
    void *isr_sink_arg;
    /* part/follow.c: told when a follower partition's flush wrote its bytes */
    rb_part_written_fn follower_written;
    void *follower_written_arg;
    int64_t replica_lag_ms;
    struct rb_timer isr_timer;
    struct rb_part_stats stats;
    struct rb_part_metrics m;
    /* part/vthread.c: the validator thread, this shard's index there, jobs out,
     * the read armed on its eventfd */
    struct rb_vthread *vt;
    bool vt_sim; /* no thread: rb_part_vthread_sim */
    int vt_idx;
    int vt_out;
    bool vt_armed;
    /* the validator thread's memory for this shard's jobs (its scratch while it
     * runs one, the rebuilt batches until released): part of the shard's budget */
    _Atomic int64_t vt_mem;
    bool mem_over; /* the shard is over its budget (net/ sets it each turn) */
    uint64_t vt_buf;
    struct rb_io vt_io;
};

/* Single-writer counter add: no locked read-modify-write on the hot path. */
static inline void rb_part_stat_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* p's topic counters (core/metrics.h), on p's shard. */
static inline struct rb_mname *rb_part_mtopic(struct rb_part *p)
{
    if (!p->mtopic)
        p->mtopic = rb_mnames_get(p->ps->m.topics, p->topic, p->topic_len);
    return p->mtopic;
}

/* A replicated partition's replicas as its leader sees them (part/isr.c). Slot i
 * is replicas[i]; the leader's own slot is self (its position is the log's). */
struct rb_part_repl {
    int n;
    int self;
    int32_t replicas[RB_PART_MAX_REPLICAS];
    int64_t leo[RB_PART_MAX_REPLICAS];            /* last fetch offset, -1 unknown */
    int64_t caught_up_ms[RB_PART_MAX_REPLICAS];   /* last time it had the leader's end */
    int64_t prev_fetch_ms[RB_PART_MAX_REPLICAS];  /* its previous fetch ... */
    int64_t prev_fetch_end[RB_PART_MAX_REPLICAS]; /* ... and the leader's end then */
    bool in_isr[RB_PART_MAX_REPLICAS];            /* the ISR as applied (the state node's) */
    int n_isr;
    int32_t state_version;
    int32_t min_insync;
    int64_t hw;          /* min over the ISR (+ pending adds), never moves back */
    int64_t epoch_start; /* the log end when this broker became leader */
    int pending;         /* a proposed change in flight: the slot added, or -1 */
    int64_t pending_ms;  /* when it was proposed, 0: none */
};

/* The high watermark: the written end (== durable end unless flush is relaxed),
 * or with replicas the minimum over the ISR (part/isr.c). The log end offset
 * (rb_log_end_offset) is kept apart: followers will move it. */
static inline int64_t rb_part_hw(const struct rb_part *p)
{
    int64_t we = rb_log_written_end(p->log);
    return p->repl && p->repl->hw < we ? p->repl->hw : we;
}

/* The high watermark recorded in replication-offset-checkpoint (part/maint.c):
 * with replicas the ISR's (part/isr.c); in a cluster before the first snapshot gave
 * p its role, the checkpointed one it will start from (never the log end, which
 * may hold what no follower has); else the written end. */
static inline int64_t rb_part_ckpt_hw(const struct rb_part *p, bool cluster)
{
    if (p->repl || !cluster || p->role_set)
        return rb_part_hw(p);
    int64_t hw = p->ckpt_hw_taken ? -1 : rb_log_checkpoint_hw(p->log);
    return hw >= 0 ? hw : rb_log_start_offset(p->log);
}

/* part/table.c */
struct rb_part *rb_part_get(struct rb_part_shard *ps, const struct rb_part_key *k);
/* The live partition for k (NULL when absent or dropping). */
struct rb_part *rb_part_live(struct rb_part_shard *ps, const struct rb_part_key *k);
/* The one place the state changes; asserts the transition is legal. */
void rb_part_set_state(struct rb_part *p, enum rb_part_state to);
/* ONLINE -> OFFLINE once the log says so; true when offline. */
bool rb_part_check_offline(struct rb_part *p);
void rb_part_each(struct rb_part_shard *ps, void (*fn)(void *arg, struct rb_part *p), void *arg);
struct rb_codec_ctx *rb_part_codec(struct rb_part_shard *ps);

/* part/epoch.c: the role's epoch to stamp (after a role change or adoption);
 * KIP-320 fencing of a request's current_leader_epoch (check false or epoch -1:
 * none) as an enum rb_kerr. */
void rb_part_epoch_role(struct rb_part *p);
int16_t rb_part_fence(const struct rb_part *p, bool check, int32_t current_leader_epoch);
/* A read's last_fetched_epoch against the log (see struct rb_part_read): sets
 * r->diverged and the diverging epoch; returns an enum rb_kerr (OFFSET_OUT_OF_RANGE
 * for an epoch the log cannot place). */
int16_t rb_part_read_diverging(struct rb_part *p, struct rb_part_read *r);

/* part/append.c: waiter lists, the dirty list, answering an append */
void rb_part_wpush(struct rb_part_item **head, struct rb_part_item **tail, struct rb_part_item *it);
struct rb_part_item *rb_part_wpop(struct rb_part_item **head, struct rb_part_item **tail);
void rb_part_mark_dirty(struct rb_part *p);
/* Append the rest of a: 1 answered (error or done), 0 parked. */
int rb_part_append_more(struct rb_part *p, struct rb_part_append *a);
void rb_part_item_finish(struct rb_part_shard *ps, struct rb_part_item *it, int16_t err);

/* part/isr.c: the high watermark may have moved (the leader's written end grew,
 * a follower fetched, the ISR changed): recompute it, answer the acks=all
 * appends it covers, wake parked reads. */
void rb_part_isr_advance(struct rb_part *p);
/* an acks=all append durable here: answered now (1) or parked on the ISR list (0) */
int rb_part_isr_park(struct rb_part *p, struct rb_part_append *a);
/* answer every acks=all append parked on p with err (leadership lost, dropped) */
void rb_part_isr_fail(struct rb_part *p, int16_t err);
void rb_part_isr_free(struct rb_part *p);
/* p's role changes (before p->role/leader_epoch are set): a new leader starts its
 * followers' positions afresh, a leader that steps down answers its waiters */
void rb_part_isr_role(struct rb_part *p, enum rb_part_role role, int32_t leader_epoch);
void rb_part_isr_shard_init(struct rb_part_shard *ps);
void rb_part_isr_ack_timer_fired(struct rb_timer *t);

/* part/read.c */
void rb_part_wake_readers(struct rb_part_shard *ps, struct rb_part *p);

/* part/fdcache.c: at most `slots` descriptors lent to fetch responses. get: a
 * reference to a descriptor of the same file as src_fd (*fd_out), NULL when no
 * slot may be taken (first: the fetch's first file read, which may use the
 * reserved quarter) or no descriptor is left. Owner shard only. */
struct rb_fdcache;
uint32_t rb_fdcache_slots(int num_shards);
struct rb_fdcache *rb_fdcache_new(uint32_t slots);
void rb_fdcache_free(struct rb_fdcache *fc);
struct rb_fd_ref *rb_fdcache_get(struct rb_fdcache *fc, int src_fd, bool first, int64_t now_ms,
                                 int *fd_out);
/* How many slots one fetch's reads on a shard may hold. */
uint32_t rb_fdcache_request_cap(const struct rb_fdcache *fc);
uint32_t rb_fdcache_open(const struct rb_fdcache *fc);
/* Fill slots with O_DIRECT descriptors from now on (where the file system takes
 * them); a reference says which it got. */
void rb_fdcache_set_direct(struct rb_fdcache *fc, bool on);
bool rb_fdcache_ref_direct(const struct rb_fd_ref *ref);
/* Close the free slots unused for a while (at most every ~1 s of now_ms). */
void rb_fdcache_trim(struct rb_fdcache *fc, int64_t now_ms);

/* part/maint.c */
void rb_part_maint_turn(struct rb_part_shard *ps);
void rb_part_maint_finish(struct rb_part_shard *ps);
/* Hand removed segments to the coordination thread for unlinking (takes *rm). */
void rb_part_maint_unlink(struct rb_part_shard *ps, struct rb_log_removed *rm);

#endif
