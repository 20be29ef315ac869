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
 * The first state after the log's open starts from the high watermark recorded in
 * replication-offset-checkpoint (rb_log_checkpoint_hw: clamped to the log),
 * else from the log start.
 * Invariants: the high watermark never moves back while the state lives, and is
 * <= the leader's written end and >= the log start; acks=all appends on the ISR
 * list are in offset order and each wait_end <= the written end.
 * Kafka rules kept: a follower is caught up when its fetch offset reaches the
 * leader's log end, or the log end the leader had at its previous fetch (then as
 * of that fetch); it leaves the ISR when not caught up for
 * replica.lag.time.max.ms; it joins when its log end reaches the high watermark.
 * acks=all: NOT_ENOUGH_REPLICAS before the append when |ISR| < min.insync,
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is below it once covered,
 * REQUEST_TIMED_OUT when not covered within the produce's timeout_ms (a timer
 * per partition at the earliest deadline of its ISR list).
 */
#include "part/part_int.h"

#include "core/defect.h"
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
    if (RB_DEFECT(HW_ANY_FOLLOWER)) { /* planted: the furthest follower decides */
        int64_t best = -1;
        for (int i = 0; i < r->n; i++)
            if (i != r->self && r->leo[i] > best)
                best = r->leo[i];
        return best < m ? best : m;
    }
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

/* Recompute the high watermark; true when it moved. */
static bool hw_update(struct rb_part *p)
{
    struct rb_part_repl *r = p->repl;
    if (!r || p->role != RB_PART_LEADER)
        return false;
    int64_t m = isr_min(p);
    if (m <= r->hw)
        return false;
    r->hw = m;
    return true;
}

void rb_part_isr_advance(struct rb_part *p)
{
    (void)hw_update(p);
    release_waiters(p, rb_part_hw(p));
}

/* The high watermark may have moved outside a flush: answer, wake parked reads. */
static void advance_and_wake(struct rb_part *p)
{
    bool moved = hw_update(p);
    release_waiters(p, rb_part_hw(p));
    if (moved)
        rb_part_wake_readers(p->ps, p);
}

int rb_part_isr_park(struct rb_part *p, struct rb_part_append *a)
{
    struct rb_runtime *rt = p->ps->shard->rt;
    if (p->repl && (p->role != RB_PART_LEADER || (rt && atomic_load(&rt->stopping)))) {
        /* not the leader, or stopping (parked waiters were answered already):
         * retriable, an idempotent producer's retry is deduplicated */
        a->it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        return 1;
    }
    if (a->wait_end <= rb_part_hw(p)) {
        const struct rb_part_repl *r = p->repl;
        if (r && r->n_isr < r->min_insync)
            a->it.error = RB_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        return 1;
    }
    rb_part_wpush(&p->isr_head, &p->isr_tail, &a->it);
    a->deadline_ms = INT64_MAX;
    if (a->timeout_ms > 0) {
        struct rb_timers *ts = &p->ps->shard->timers;
        a->deadline_ms = rb_deadline_after(p->ps->shard->now_ms, a->timeout_ms);
        if ((!rb_timer_armed(&p->ack_timer) || a->deadline_ms < p->ack_timer.deadline_ms) &&
            rb_timer_arm(ts, &p->ack_timer, a->deadline_ms))
            RB_WARN(COMP, "%s-%d: no produce timeout timer (out of memory)", p->topic, p->index);
    }
    return 0;
}

/* Kafka's delayed produce expiring: acks=all appends the ISR has not covered by
 * their deadline are answered REQUEST_TIMED_OUT (their records stay in the log). */
void rb_part_isr_ack_timer_fired(struct rb_timer *t)
{
    struct rb_part *p = RB_CONTAINER_OF(t, struct rb_part, ack_timer);
    int64_t now = p->ps->shard->now_ms, next = INT64_MAX;
    struct rb_part_item *it = p->isr_head;
    while (it) {
        struct rb_part_item *nx = it->wnext;
        struct rb_part_append *a = (struct rb_part_append *)it;
        if (a->deadline_ms <= now) {
            if (it->wprev)
                it->wprev->wnext = it->wnext;
            else
                p->isr_head = it->wnext;
            if (it->wnext)
                it->wnext->wprev = it->wprev;
            else
                p->isr_tail = it->wprev;
            it->wnext = it->wprev = NULL;
            it->waiting = false;
            rb_part_item_finish(p->ps, it, RB_KERR_REQUEST_TIMED_OUT);
        } else if (a->deadline_ms < next) {
            next = a->deadline_ms;
        }
        it = nx;
    }
    if (next != INT64_MAX && rb_timer_arm(&p->ps->shard->timers, &p->ack_timer, next))
        RB_WARN(COMP, "%s-%d: no produce timeout timer (out of memory)", p->topic, p->index);
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
        .add = add >= 0 ? r->replicas[add] : -1,
        .remove = drop >= 0 ? r->replicas[drop] : -1,
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
    /* expand: caught up to the high watermark and to this leader's first offset */
    if (!r->in_isr[s] && fetch_offset >= r->hw && fetch_offset >= r->epoch_start &&
        may_propose(p, now_ms))
        propose(p, s, -1, now_ms);
    advance_and_wake(p);
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

static bool isr_equal(const struct rb_part_repl *r, const bool *in_isr)
{
    for (int i = 0; i < r->n; i++)
        if (r->in_isr[i] != in_isr[i])
            return false;
    return true;
}

/* r holds exactly these replicas (in order), this ISR and min.insync. */
static bool same_as(const struct rb_part_repl *r, const int32_t *replicas, int n_replicas,
                    const int32_t *isr, int n_isr, int32_t min_insync)
{
    if (r->n != n_replicas || r->min_insync != (min_insync > 0 ? min_insync : 1))
        return false;
    int n_in = 0;
    for (int i = 0; i < n_replicas; i++) {
        if (r->replicas[i] != replicas[i])
            return false;
        bool in = false;
        for (int q = 0; q < n_isr && !in; q++)
            in = isr[q] == replicas[i];
        if (in != r->in_isr[i])
            return false;
        n_in += in;
    }
    return n_in == r->n_isr;
}

int rb_part_set_isr(struct rb_part_shard *ps, const struct rb_part_key *k, const int32_t *replicas,
                    int n_replicas, const int32_t *isr, int n_isr, int32_t state_version,
                    int32_t min_insync)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (n_replicas > RB_PART_MAX_REPLICAS)
        return -EINVAL;
    if (n_replicas <= 1) { /* no replica elsewhere: the high watermark is the written end */
        if (p->repl) {
            rb_part_isr_free(p);
            rb_part_isr_advance(p);
            rb_part_wake_readers(ps, p);
        }
        return 0;
    }
    struct rb_part_repl *old = p->repl;
    if (old && same_as(old, replicas, n_replicas, isr, n_isr, min_insync)) {
        old->state_version = state_version; /* every snapshot: no allocation */
        return 0;
    }
    struct rb_part_repl *r = malloc(sizeof(*r));
    if (!r)
        return -ENOMEM;
    int64_t now = ps->shard->now_ms;
    memset(r, 0, sizeof(*r));
    r->n = n_replicas;
    r->self = -1;
    r->pending = -1;
    r->hw = old ? old->hw : rb_log_start_offset(p->log);
    if (!old && !p->ckpt_hw_taken) {
        /* the first replicas since the open: the checkpointed HW (clamped to the
         * log), so a restarted leader serves what was committed before at once */
        int64_t ck = rb_log_checkpoint_hw(p->log);
        p->ckpt_hw_taken = true;
        if (ck > r->hw)
            r->hw = ck;
    }
    r->epoch_start = old ? old->epoch_start : rb_log_end_offset(p->log);
    r->state_version = state_version;
    r->min_insync = min_insync > 0 ? min_insync : 1;
    for (int i = 0; i < n_replicas; i++) {
        int32_t id = replicas[i];
        r->replicas[i] = id;
        if (id == self_id(ps))
            r->self = i;
        for (int q = 0; q < n_isr; q++)
            if (isr[q] == id && !r->in_isr[i]) {
                r->in_isr[i] = true;
                r->n_isr++;
            }
        int o = old ? slot_of(old, id) : -1;
        if (o >= 0) { /* the same follower: its position stays */
            r->leo[i] = old->leo[o];
            r->caught_up_ms[i] = old->caught_up_ms[o];
            r->prev_fetch_ms[i] = old->prev_fetch_ms[o];
            r->prev_fetch_end[i] = old->prev_fetch_end[o];
            if (r->in_isr[i] && !old->in_isr[o])
                r->caught_up_ms[i] = now; /* just joined: the lag counts from now */
        } else {
            r->leo[i] = -1;
            r->caught_up_ms[i] = r->in_isr[i] ? now : 0;
        }
    }
    if (old && old->pending_ms) {
        /* a change in flight stays so until the applied ISR moves */
        bool same = old->n == r->n && isr_equal(old, r->in_isr);
        for (int i = 0; same && i < r->n; i++)
            same = old->replicas[i] == r->replicas[i];
        if (same) {
            r->pending = old->pending;
            r->pending_ms = old->pending_ms;
        }
    }
    p->repl = r;
    free(old);
    if (!rb_timer_armed(&ps->isr_timer))
        (void)rb_timer_arm(&ps->shard->timers, &ps->isr_timer,
                           rb_deadline_after(now, RB_MAX(ps->replica_lag_ms / 2, 1)));
    advance_and_wake(p);
    return 0;
}

void rb_part_isr_role(struct rb_part *p, enum rb_part_role role, int32_t leader_epoch)
{
    struct rb_part_repl *r = p->repl;
    if (role != RB_PART_LEADER) {
        rb_part_isr_fail(p, RB_KERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    if (!r || (p->role == RB_PART_LEADER && p->leader_epoch == leader_epoch))
        return;
    /* a new leader epoch (Kafka 2.8's makeLeader): the ISR members count as caught
     * up from now, offsets from here on are this epoch's; a broker that was not the
     * leader knows no follower's position yet */
    int64_t now = p->ps->shard->now_ms, end = rb_log_end_offset(p->log);
    bool new_leader = p->role != RB_PART_LEADER;
    for (int i = 0; i < r->n; i++) {
        if (new_leader)
            r->leo[i] = -1;
        r->caught_up_ms[i] = r->in_isr[i] ? now : 0;
        r->prev_fetch_ms[i] = now;
        r->prev_fetch_end[i] = end;
    }
    r->pending = -1;
    r->pending_ms = 0;
    r->epoch_start = end;
    /* the HW it had as a follower, never above its own log (a truncation may have
     * cut below it): what follows is exposed only once the ISR has it */
    int64_t we = rb_log_written_end(p->log);
    if (r->hw > we)
        r->hw = we;
}

int rb_part_follower_hw(struct rb_part_shard *ps, const struct rb_part_key *k, int64_t leader_hw)
{
    struct rb_part *p = rb_part_live(ps, k);
    if (!p)
        return -ENOENT;
    if (!p->repl || p->role == RB_PART_LEADER)
        return -EPERM;
    /* Kafka's follower: min(the leader's HW, the own log), set as is (after a
     * truncation it may move back) */
    int64_t we = rb_log_written_end(p->log), ls = rb_log_start_offset(p->log);
    int64_t hw = leader_hw < we ? leader_hw : we;
    if (hw < ls)
        hw = ls;
    if (hw != p->repl->hw) {
        p->repl->hw = hw;
        rb_part_wake_readers(ps, p);
    }
    return 0;
}

/* ---- the shrink check (every replica.lag.time.max.ms / 2) ---- */

static void shrink_one(void *arg, struct rb_part *p)
{
    int64_t now = *(int64_t *)arg;
    struct rb_part_repl *r = p->repl;
    if (!r || !may_propose(p, now))
        return;
    int64_t end = rb_log_end_offset(p->log);
    for (int i = 0; i < r->n; i++) {
        if (i == r->self || !r->in_isr[i])
            continue;
        /* out of sync: not at the leader's end for the lag time (Kafka 2.8) */
        if (r->leo[i] < end && now - r->caught_up_ms[i] > p->ps->replica_lag_ms) {
            propose(p, -1, i, now);
            return; /* one change in flight at a time */
        }
    }
}

static void isr_timer_fired(struct rb_timer *t)
{
    struct rb_part_shard *ps = RB_CONTAINER_OF(t, struct rb_part_shard, isr_timer);
    int64_t now = ps->shard->now_ms;
    rb_part_each(ps, shrink_one, &now);
    (void)rb_timer_arm(&ps->shard->timers, &ps->isr_timer,
                       rb_deadline_after(now, RB_MAX(ps->replica_lag_ms / 2, 1)));
}

void rb_part_isr_shard_init(struct rb_part_shard *ps)
{
    rb_timer_init(&ps->isr_timer, isr_timer_fired);
    ps->replica_lag_ms = LAG_DEFAULT_MS;
    const char *v = ps->config ? rb_config_get(ps->config, "replica.lag.time.max.ms") : NULL;
    int64_t ms;
    if (v && rb_parse_i64(v, 1, INT64_MAX, &ms) == 0)
        ps->replica_lag_ms = ms; /* replica.lag.time.max.ms (checked at startup) */
}
