/*
 * part/isr.c - replication on the leader's shard: each follower's position, the
 * in-sync replica set (ISR), the high watermark computed from it, acks=all
 * waiters and min.insync.replicas, and the ISR changes the leader proposes.
 *
 * Owns: struct rb_part_repl of every replicated partition on this shard (NULL
 * when the partition has no replica elsewhere) and the ISR waiter list (acks=all
 * appends durable on the leader, waiting for the high watermark).
 * The ISR itself is the cluster's (the partition state node, coord/): part only
 * proposes changes through the shard's sink and applies what rb_part_set_isr
 * brings back. While a change is in flight the high watermark is computed over
 * the applied ISR plus a follower being added (Kafka 2.8's "maximal ISR"): a
 * shrink takes effect for the high watermark only once applied, an expand at once.
 * Invariants: the high watermark never moves back while the state lives, and is
 * <= the leader's written end and >= the log start; acks=all appends on the ISR
 * list are in offset order and each wait_end <= the written end.
 * Kafka rules kept: a follower is caught up when its fetch offset reaches the
 * leader's log end, or the log end the leader had at its previous fetch (then as
 * of that fetch); it leaves the ISR when not caught up for
 * replica.lag.time.max.ms; it joins when its log end reaches the high watermark.
 * acks=all: NOT_ENOUGH_REPLICAS before the append when |ISR| < min.insync,
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is below it once covered.
 */
#include "part/part_int.h"

#include "core/logging.h"

#include <stdlib.h>
#include <string.h>

#define COMP "isr"

/* Kafka's replica.lag.time.max.ms default (2.8). */
#define LAG_DEFAULT_MS 30000
/* A proposal with no answer for this long may be made again. */
#define PENDING_RETRY_MS 5000

static int slot_of(const struct rb_part_repl *r, int32_t id)
{
    for (int i = 0; i < r->n; i++)
        if (r->replicas[i] == id)
            return i;
    return -1;
}

static int32_t self_id(const struct rb_part_shard *ps)
{
    return ps->bc ? ps->bc->broker_id : 0;
}

void rb_part_set_isr_sink(struct rb_part_shard *ps, rb_part_isr_sink_fn fn, void *arg)
{
    ps->isr_sink = fn;
    ps->isr_sink_arg = arg;
}

/* ---- the high watermark and the acks=all waiters ---- */

static int64_t isr_min(const struct rb_part *p)
{
    const struct rb_part_repl *r = p->repl;
    int64_t m = rb_log_written_end(p->log);
    for (int i = 0; i < r->n; i++) {
        if (i == r->self || !(r->in_isr[i] || i == r->pending))
            continue;
        if (r->leo[i] < m)
            m = r->leo[i];
    }
    return m;
}

static void release_waiters(struct rb_part *p, int64_t hw)
{
    struct rb_part_shard *ps = p->ps;
    const struct rb_part_repl *r = p->repl;
    int16_t err = r && r->n_isr < r->min_insync ? RB_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND : 0;
    while (p->isr_head) {
        struct rb_part_append *a = (struct rb_part_append *)p->isr_head;
        if (a->wait_end > hw)
            break;
        rb_part_wpop(&p->isr_head, &p->isr_tail);
        rb_part_item_finish(ps, &a->it, err);
    }
}

void rb_part_isr_advance(struct rb_part *p)
{
    struct rb_part_repl *r = p->repl;
    if (!r) {
        release_waiters(p, rb_log_written_end(p->log));
        return;
    }
    int64_t m = isr_min(p);
    if (m > r->hw) {
        r->hw = m;
        release_waiters(p, m);
        rb_part_wake_readers(p->ps, p);
    } else if (p->isr_head) {
        release_waiters(p, r->hw);
    }
}

int rb_part_isr_park(struct rb_part *p, struct rb_part_append *a)
{
    if (a->wait_end <= rb_part_hw(p)) {
        const struct rb_part_repl *r = p->repl;
        if (r && r->n_isr < r->min_insync)
            a->it.error = RB_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        return 1;
    }
    rb_part_wpush(&p->isr_head, &p->isr_tail, &a->it);
    return 0;
}

void rb_part_isr_fail(struct rb_part *p, int16_t err)
{
    while (p->isr_head) {
        struct rb_part_item *it = rb_part_wpop(&p->isr_head, &p->isr_tail);
        rb_part_item_finish(p->ps, it, err);
    }
}

void rb_part_isr_free(struct rb_part *p)
{
    free(p->repl);
    p->repl = NULL;
}

/* ---- ISR changes ---- */

/* Propose r's ISR with slot add added (>= 0) or slot drop removed (>= 0). */
static void propose(struct rb_part *p, int add, int drop, int64_t now_ms)
{
    struct rb_part_shard *ps = p->ps;
    struct rb_part_repl *r = p->repl;
    if (!ps->isr_sink)
        return;
    int32_t isr[RB_PART_MAX_REPLICAS];
    int n = 0;
    isr[n++] = r->replicas[r->self];
    for (int i = 0; i < r->n; i++)
        if (i != r->self && i != drop && (r->in_isr[i] || i == add))
            isr[n++] = r->replicas[i];
    r->pending = add;
    r->pending_ms = now_ms > 0 ? now_ms : 1;
    struct rb_part_isr_change c = {
        .topic = p->topic,
        .topic_len = p->topic_len,
        .index = p->index,
        .leader_epoch = p->leader_epoch,
        .state_version = r->state_version,
        .isr = isr,
        .n_isr = n,
    };
    RB_INFO(COMP, "%s-%d: proposing ISR %s broker %d (ISR %d -> %d, version %d)", p->topic,
            p->index, add >= 0 ? "add" : "remove", r->replicas[add >= 0 ? add : drop], r->n_isr, n,
            r->state_version);
    ps->isr_sink(ps->isr_sink_arg, &c);
}

static bool may_propose(const struct rb_part *p, int64_t now_ms)
{
    const struct rb_part_repl *r = p->repl;
    return p->role == RB_PART_LEADER && p->state == RB_PART_ONLINE && r->self >= 0 &&
           (!r->pending_ms || now_ms - r->pending_ms >= PENDING_RETRY_MS);
}

int rb_part_replica_fetched(struct rb_part_shard *ps, const struct rb_part_key *k,
                            int32_t replica_id, int64_t fetch_offset, int64_t now_ms,
                            int64_t *hw_out)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (p->role != RB_PART_LEADER)
        return -EPERM;
    struct rb_part_repl *r = p->repl;
    int s = r ? slot_of(r, replica_id) : -1;
    if (s < 0 || s == r->self)
        return -ESRCH;
    int64_t end = rb_log_end_offset(p->log);
    if (fetch_offset > end || fetch_offset < 0)
        return -ERANGE;
    /* Kafka's caught-up rule: at the leader's end now, or at the end the leader
     * had when this follower fetched last (then caught up as of that fetch) */
    if (fetch_offset >= end)
        r->caught_up_ms[s] = now_ms;
    else if (r->prev_fetch_ms[s] && fetch_offset >= r->prev_fetch_end[s] &&
             r->prev_fetch_ms[s] > r->caught_up_ms[s])
        r->caught_up_ms[s] = r->prev_fetch_ms[s];
    r->prev_fetch_ms[s] = now_ms;
    r->prev_fetch_end[s] = end;
    r->leo[s] = fetch_offset;
    if (!r->in_isr[s] && fetch_offset >= r->hw && may_propose(p, now_ms))
        propose(p, s, -1, now_ms);
    rb_part_isr_advance(p);
    *hw_out = rb_part_hw(p);
    return 0;
}

int rb_part_high_watermark(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t *hw)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    *hw = rb_part_hw(p);
    return 0;
}

int rb_part_set_isr(struct rb_part_shard *ps, const struct rb_part_key *k, const int32_t *replicas,
                    int n_replicas, const int32_t *isr, int n_isr, int32_t state_version,
                    int32_t min_insync)
{
    (void)ps;
    (void)k;
    (void)replicas;
    (void)n_replicas;
    (void)isr;
    (void)n_isr;
    (void)state_version;
    (void)min_insync;
    (void)self_id;
    (void)LAG_DEFAULT_MS;
    return -ENOSYS; /* next commit */
}
