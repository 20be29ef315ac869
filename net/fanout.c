/*
 * net/fanout.c - the cross-shard scatter/gather of every multi-partition and
 * group request (see net/fanout.h), the partition items' runs into part/, and
 * the shard's part of applying metadata updates.
 *
 * Owns: the batches in flight from this shard (rb_net.groups_out, so a stopping
 * shard waits for them) and the metadata updates waiting for their dropped
 * partitions to close (rb_net.pending_updates).
 * Invariants: a batch is posted back exactly once (owner_back asserted) and after
 * all its items are done; the origin holds a reference on the request for every
 * batch and cancel in flight; finish runs once, after the last batch is back.
 * Fault model: a stopping shard answers batches for other shards itself (ops
 * refuse: a retriable error), since the owner may have left its loop; cancels are
 * not sent then (owners answer their parked batches by themselves).
 */
#include "net/fanout.h"
#include "net/group_route.h"
#include "net/handlers.h"
#include "net/replica_fetch.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

#define COMP "partition"

/* ---- scatter/gather ---- */

struct rb_fan *rb_fan_new(struct rb_request *req, const struct rb_fan_ops *ops,
                          void (*finish)(struct rb_request *req, struct rb_fan *f), void *ctx)
{
    static const struct rb_fan_ops none;
    struct rb_fan *f = rb_req_alloc(req, 1, sizeof(*f));
    f->req = req;
    f->ops = ops ? ops : &none;
    f->finish = finish;
    f->ctx = ctx;
    f->origin = (int16_t)rb_req_shard(req)->id;
    return f;
}

static void fan_step(struct rb_fan *f)
{
    RB_ASSERT(f->pending > 0);
    if (--f->pending == 0)
        f->finish(f->req, f);
}

static void batch_back_on_origin(struct rb_shard *s, void *arg)
{
    struct rb_fan_batch *b = arg;
    struct rb_fan *f = b->fan;
    struct rb_request *req = f->req;
    RB_ASSERT(!b->returned);
    b->returned = true;
    if (f->back)
        f->back(s, b);
    fan_step(f);
    rb_net_of(s)->groups_out--;
    rb_request_release(req);
}

static void batch_return(struct rb_shard *s, struct rb_fan_batch *b)
{
    RB_ASSERT(!b->owner_back);
    b->owner_back = true;
    rb_post(s, b->fan->origin, batch_back_on_origin, b);
}

void rb_fan_batch_done(struct rb_shard *s, struct rb_fan_batch *b)
{
    batch_return(s, b);
}

void rb_fan_item_done(struct rb_shard *s, struct rb_fan_item *it)
{
    struct rb_fan_batch *b = it->batch;
    RB_ASSERT(b->pending > 0);
    if (--b->pending == 0)
        batch_return(s, b);
}

static void batch_on_owner(struct rb_shard *s, void *arg)
{
    struct rb_fan_batch *b = arg;
    b->owner = s;
    if (b->fan->ops->run_batch) {
        b->fan->ops->run_batch(s, b);
        return;
    }
    b->pending = b->n + 1; /* keep the batch until every item has started */
    for (int i = 0; i < b->n; i++)
        b->items[i]->run(s, b->items[i]);
    rb_fan_item_done(s, &(struct rb_fan_item){.batch = b});
}

static void batch_send(struct rb_shard *s, struct rb_fan_batch *b)
{
    struct rb_fan *f = b->fan;
    rb_request_hold(f->req);
    rb_net_of(s)->groups_out++;
    if (b->shard != s->id && f->ops->refuse && atomic_load(&s->rt->stopping)) {
        /* The owner may have left its loop already: answer here (retriable). */
        for (int i = 0; i < b->n; i++)
            f->ops->refuse(b->items[i]);
        b->owner_back = true;
        rb_post(s, s->id, batch_back_on_origin, b);
        return;
    }
    rb_post(s, b->shard, batch_on_owner, b);
}

void rb_fan_start(struct rb_fan *f, struct rb_fan_item **items, int n)
{
    struct rb_request *req = f->req;
    struct rb_shard *s = rb_req_shard(req);
    int ns = s->rt->n_shards;
    struct rb_fan_batch **by_shard = rb_req_alloc(req, (size_t)ns, sizeof(*by_shard));
    int *count = rb_req_alloc(req, (size_t)ns, sizeof(int));
    for (int k = 0; k < n; k++)
        if (items[k] && items[k]->shard >= 0) {
            RB_ASSERT(items[k]->shard < ns);
            count[items[k]->shard]++;
        }
    for (int sh = 0; sh < ns; sh++) {
        if (!count[sh])
            continue;
        struct rb_fan_batch *b = rb_req_alloc(req, 1, sizeof(*b));
        b->fan = f;
        b->shard = (int16_t)sh;
        b->items = rb_req_alloc(req, (size_t)count[sh], sizeof(*b->items));
        by_shard[sh] = b;
    }
    for (int k = 0; k < n; k++)
        if (items[k] && items[k]->shard >= 0) {
            struct rb_fan_batch *b = by_shard[items[k]->shard];
            items[k]->batch = b;
            b->items[b->n++] = items[k];
        }
    /* Compact to the shards that have work, in shard order. */
    f->n_batches = 0;
    for (int sh = 0; sh < ns; sh++)
        if (by_shard[sh])
            by_shard[f->n_batches++] = by_shard[sh];
    f->batches = by_shard;
    f->pending = 1 + f->n_batches; /* until every batch left */
    for (int i = 0; i < f->n_batches; i++) {
        if (f->ops->prepare)
            f->ops->prepare(f, f->batches[i]);
        batch_send(s, f->batches[i]);
    }
    fan_step(f);
}

static void cancel_ack_on_origin(struct rb_shard *s, void *arg)
{
    struct rb_fan_batch *b = arg;
    rb_net_of(s)->groups_out--;
    rb_request_release(b->fan->req);
}

static void cancel_on_owner(struct rb_shard *s, void *arg)
{
    struct rb_fan_batch *b = arg;
    if (!b->owner_back)
        b->fan->ops->cancel(s, b); /* answers it when parked */
    rb_post(s, b->fan->origin, cancel_ack_on_origin, b);
}

void rb_fan_cancel(struct rb_shard *s, struct rb_fan *f)
{
    /* Stopping: every owner answers its parked batches by itself (and may have
     * left its loop already, so a cancel could be stranded). */
    if (f->cancelled || !f->ops->cancel || atomic_load(&s->rt->stopping))
        return;
    f->cancelled = true;
    for (int i = 0; i < f->n_batches; i++) {
        struct rb_fan_batch *b = f->batches[i];
        if (b->returned)
            continue;
        rb_request_hold(f->req);
        rb_net_of(s)->groups_out++;
        rb_post(s, b->shard, cancel_on_owner, b);
    }
}

/* ---- partition items ---- */

static void pop_answered(struct rb_shard *s, struct rb_part_item *it, void *arg)
{
    (void)it;
    struct rb_pop *op = RB_CONTAINER_OF((struct rb_fan_item *)arg, struct rb_pop, fi);
    if (op->kind == RB_POP_PRODUCE)
        rb_part_vjob_release(&op->u.produce.pre); /* a batch rebuilt off the shard */
    rb_fan_item_done(s, arg);
}

/* Items that may decompress up to a 64 MiB cap: ListOffsets by timestamp (or max
 * timestamp) reading a stored batch, and a produce the owner rebuilds for
 * compression.type; beyond 1 MiB (rb_part_validate_inline_bytes) the validator
 * thread does it while the item waits (lo_wait). They run while this turn's budget lasts, the rest
 * on later turns in order, so a request listing many partitions cannot stall the
 * shard's other work for long (issue 13 row 7). While some wait, every produce and
 * such lookup queues behind them: appends keep their order. */
int64_t rb_net_lookup_turn_bytes = (int64_t)2 << 20;

static bool heavy_kind(const struct rb_pop *op)
{
    return op->kind == RB_POP_PRODUCE || op->kind == RB_POP_LIST_OFFSETS;
}

static bool heavy(const struct rb_pop *op)
{
    if (op->kind == RB_POP_PRODUCE)
        return op->u.produce.recompress;
    return op->kind == RB_POP_LIST_OFFSETS && (op->u.lo.timestamp >= 0 || op->u.lo.timestamp == -3);
}

static void lo_drain(struct rb_shard *s, void *arg);
static void lo_run(struct rb_shard *s, struct rb_fan_item *fi);

static void lo_kick(struct rb_shard *s)
{
    struct rb_net *n = rb_net_of(s);
    if (n->lo_head && !n->lo_posted) {
        n->lo_posted = true;
        rb_post(s, s->id, lo_drain, NULL);
    }
}

static struct rb_part_vjob *handoff_job(struct rb_pop *op)
{
    return op->kind == RB_POP_PRODUCE ? &op->u.produce.pre : &op->u.lo.job;
}

/* A rebuild (append it now) or a ListOffsets scan (the partition's answer) is
 * back from the validator thread; then the queue goes on. */
static void handoff_back(struct rb_part_vjob *j)
{
    struct rb_shard *s = rb_self();
    struct rb_fan_item *fi = j->arg;
    struct rb_pop *op = RB_CONTAINER_OF(fi, struct rb_pop, fi);
    struct rb_net *n = rb_net_of(s);
    RB_ASSERT(n->lo_wait == fi);
    n->lo_wait = NULL;
    if (op->kind == RB_POP_PRODUCE) {
        lo_run(s, fi);
    } else {
        rb_part_list_offsets_back(rb_part_of(s), &op->u.lo);
        rb_fan_item_done(s, fi);
    }
    lo_kick(s);
}

/* Hand the rebuild or scan to the validator thread; its queue full (or the shard
 * over its memory budget): again next turn. The request is held by its batch
 * until the item is done (a closed connection waits for it), and a stopping
 * shard is not idle while the job is out. */
static void handoff_submit(struct rb_shard *s, void *arg)
{
    struct rb_fan_item *fi = arg;
    struct rb_part_vjob *j = handoff_job(RB_CONTAINER_OF(fi, struct rb_pop, fi));
    j->done = handoff_back;
    j->arg = fi;
    if (rb_part_vjob_submit(rb_part_of(s), j) != 0)
        rb_post(s, s->id, handoff_submit, fi);
}

static void lo_run(struct rb_shard *s, struct rb_fan_item *fi)
{
    struct rb_pop *op = RB_CONTAINER_OF(fi, struct rb_pop, fi);
    struct rb_part_shard *ps = rb_part_of(s);
    uint64_t before = rb_part_codec_work(ps);
    if (op->kind == RB_POP_PRODUCE && rb_part_rebuild_prepare(ps, &op->u.produce)) {
        /* a big rebuild: on the validator thread, every later produce and
         * lookup of this shard queued behind it (their order) */
        rb_net_of(s)->lo_wait = fi;
        rb_net_of(s)->lo_spent += (int64_t)(rb_part_codec_work(ps) - before);
        handoff_submit(s, fi);
        return;
    }
    if (op->kind == RB_POP_PRODUCE) {
        op->u.it.done = pop_answered;
        op->u.it.done_arg = fi;
        rb_part_append(ps, &op->u.produce); /* pop_answered: now or once durable */
    } else {
        rb_part_list_offsets(ps, &op->u.lo);
        if (op->u.lo.job.state == RB_VJOB_WANTED) {
            /* a big scan: on the validator thread, like a big rebuild */
            rb_net_of(s)->lo_wait = fi;
            rb_net_of(s)->lo_spent += (int64_t)(rb_part_codec_work(ps) - before);
            handoff_submit(s, fi);
            return;
        }
    }
    rb_net_of(s)->lo_spent += (int64_t)(rb_part_codec_work(ps) - before);
    if (op->kind != RB_POP_PRODUCE)
        rb_fan_item_done(s, fi);
}

static void lo_drain(struct rb_shard *s, void *arg)
{
    struct rb_net *n = rb_net_of(s);
    (void)arg;
    n->lo_posted = false;
    bool first = true; /* one at least, whatever the budget */
    while (n->lo_head && !n->lo_wait && (first || n->lo_spent < rb_net_lookup_turn_bytes)) {
        first = false;
        struct rb_fan_item *fi = n->lo_head;
        n->lo_head = fi->next_deferred;
        if (!n->lo_head)
            n->lo_tail = NULL;
        fi->next_deferred = NULL;
        lo_run(s, fi);
    }
    if (n->lo_head && !n->lo_wait) {
        n->lo_posted = true;
        rb_post(s, s->id, lo_drain, NULL);
    }
}

static void lo_defer(struct rb_shard *s, struct rb_fan_item *fi)
{
    struct rb_net *n = rb_net_of(s);
    fi->next_deferred = NULL;
    if (n->lo_tail)
        n->lo_tail->next_deferred = fi;
    else
        n->lo_head = fi;
    n->lo_tail = fi;
    if (!n->lo_posted) {
        n->lo_posted = true;
        rb_post(s, s->id, lo_drain, NULL);
    }
}

void rb_net_lo_turn(struct rb_net *n)
{
    n->lo_spent = 0;
}

bool rb_net_lo_idle(const struct rb_net *n)
{
    return n->lo_head == NULL && n->lo_wait == NULL;
}

static void pop_run(struct rb_shard *s, struct rb_fan_item *fi)
{
    struct rb_pop *op = RB_CONTAINER_OF(fi, struct rb_pop, fi);
    struct rb_net *n = rb_net_of(s);
    if (heavy_kind(op)) {
        if (n->lo_head || n->lo_wait || (heavy(op) && n->lo_spent >= rb_net_lookup_turn_bytes))
            lo_defer(s, fi); /* behind the earlier ones: a later turn */
        else
            lo_run(s, fi);
        return;
    }
    switch (op->kind) {
    case RB_POP_DELETE_RECORDS:
        rb_part_trim(rb_part_of(s), &op->u.dr);
        break;
    case RB_POP_EPOCH_END:
        rb_part_epoch_end(rb_part_of(s), &op->u.ep);
        break;
    default:
        RB_ASSERT(!"pop kind without an item run");
    }
    rb_fan_item_done(s, fi);
}

static void pop_refuse(struct rb_fan_item *fi)
{
    RB_CONTAINER_OF(fi, struct rb_pop, fi)->u.it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
}

static void reads_answered(struct rb_shard *s, struct rb_part_read_set *rs, void *arg)
{
    (void)rs;
    rb_fan_batch_done(s, arg);
}

/* Fetch: the batch's reads go to part/ as one set (min_bytes spans them). */
static void reads_prepare(struct rb_fan *f, struct rb_fan_batch *b)
{
    b->rs.items = rb_req_alloc(f->req, (size_t)b->n, sizeof(*b->rs.items));
    b->rs.n = b->n;
    for (int i = 0; i < b->n; i++)
        b->rs.items[i] = &RB_CONTAINER_OF(b->items[i], struct rb_pop, fi)->u.fetch;
    b->rs.done = reads_answered;
    b->rs.done_arg = b;
    b->rs.deadline_ms = f->read_limits->deadline_ms;
    b->rs.min_bytes = f->read_limits->min_bytes;
    b->rs.max_bytes = f->read_limits->max_bytes;
}

static void reads_run(struct rb_shard *s, struct rb_fan_batch *b)
{
    rb_part_read_start(rb_part_of(s), &b->rs); /* reads_answered: now or after the poll */
}

static void reads_cancel(struct rb_shard *s, struct rb_fan_batch *b)
{
    rb_part_read_cancel(rb_part_of(s), &b->rs);
}

static const struct rb_fan_ops pop_ops = {.refuse = pop_refuse};
static const struct rb_fan_ops read_ops = {
    .run_batch = reads_run,
    .cancel = reads_cancel,
    .prepare = reads_prepare,
    .refuse = pop_refuse,
};

struct rb_pop *rb_pop_new(struct rb_request *req, enum rb_pop_kind kind, const char *topic,
                          size_t topic_len, int32_t index, int16_t shard)
{
    struct rb_pop *op = rb_req_alloc(req, 1, sizeof(*op));
    op->kind = (uint8_t)kind;
    op->fi.shard = shard;
    op->fi.run = pop_run;
    op->u.it.key = (struct rb_part_key){topic, topic_len, index};
    return op;
}

struct rb_fan *rb_pops_start(struct rb_request *req, struct rb_pop **pops, int n, void *ctx,
                             void (*finish)(struct rb_request *req, struct rb_fan *f),
                             void (*back)(struct rb_shard *s, struct rb_fan_batch *b),
                             const struct rb_part_read_set *limits)
{
    bool reads = false;
    struct rb_fan_item **items = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(*items));
    for (int k = 0; k < n; k++) {
        items[k] = pops[k] ? &pops[k]->fi : NULL;
        reads |= pops[k] && pops[k]->kind == RB_POP_FETCH;
    }
    struct rb_fan *f = rb_fan_new(req, reads ? &read_ops : &pop_ops, finish, ctx);
    f->back = back;
    f->read_limits = limits;
    RB_ASSERT(!reads || limits);
    rb_fan_start(f, items, n);
    f->read_limits = NULL;
    return f;
}

/* ---- metadata updates ---- */

struct rb_pending_update {
    struct rb_pending_update *next;
    struct rb_md_update *u;
};

static void process_pending_updates(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    struct rb_pending_update **pp = &n->pending_updates;
    while (*pp) {
        struct rb_pending_update *pu = *pp;
        bool all = true;
        for (int i = 0; i < pu->u->n_drop; i++) {
            struct rb_partition_handoff *h = &pu->u->drop[i];
            if (!h->log)
                all &= rb_part_drop(rb_part_of(s), h->topic->name, h->topic->name_len, h->index,
                                    &h->log);
        }
        if (all) {
            *pp = pu->next;
            rb_coord_update_applied(s, pu->u);
            free(pu);
        } else {
            pp = &pu->next;
        }
    }
}

static int log_config_of(void *arg, const char *topic, size_t len, struct rb_log_config *lc)
{
    struct rb_net *n = arg;
    const struct rb_topic_meta *tm = rb_metadata_topic(n->md, topic, len);
    if (!tm)
        return -ENOENT;
    rb_coord_log_config(rb_config_broker(rb_net_config(n)), tm, lc);
    return 0;
}

/* min.insync.replicas of t: the topic's, else the broker default (1). */
static int32_t min_insync_of(const struct rb_metadata *md, const struct rb_config *cfg,
                             const struct rb_topic_meta *t)
{
    const char *v = rb_topic_config(t, "min.insync.replicas");
    if (!v)
        v = rb_config_get(md->config ? md->config : cfg, "min.insync.replicas");
    long x = v ? strtol(v, NULL, 10) : 1;
    return x >= 1 && x <= INT32_MAX ? (int32_t)x : 1;
}

void rb_net_apply_roles(struct rb_shard *s, const struct rb_metadata *md, int32_t self)
{
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        for (int32_t p = 0; p < t->n_partitions; p++) {
            const struct rb_partition_meta *pm = &t->partitions[p];
            if (pm->shard != s->id)
                continue;
            struct rb_part_key k = {t->name, t->name_len, p};
            enum rb_part_role role = pm->leader == self ? RB_PART_LEADER
                                     : pm->leader >= 0  ? RB_PART_FOLLOWER
                                                        : RB_PART_NO_ROLE;
            (void)rb_part_set_role(rb_part_of(s), &k, role, pm->leader_epoch);
            /* the replicas and ISR (part/isr.c: the HW, acks=all, min.insync) */
            (void)rb_part_set_isr(rb_part_of(s), &k, pm->replicas, pm->n_replicas, pm->isr,
                                  pm->n_isr, -1, min_insync_of(md, rb_net_config(s->net), t));
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
        rb_part_reconfigure(rb_part_of(s), log_config_of, n);
    for (int i = 0; i < u->n_adopt; i++) {
        struct rb_partition_handoff *h = &u->adopt[i];
        int r = rb_part_add(rb_part_of(s), h->topic->name, h->topic->id, h->index, h->log);
        RB_ASSERT(r == 0);
    }
    if (n->md->leader_lease) { /* a cluster: every partition here learns its role */
        rb_net_apply_roles(s, n->md, n->b->bc->broker_id);
        rb_rfetch_update(n); /* followers fetch from their leaders */
    }
    rb_groups_roles(s); /* groups of partitions it stopped leading are unloaded */
    struct rb_pending_update *pu = calloc(1, sizeof(*pu));
    RB_ASSERT(pu);
    pu->u = u;
    pu->next = n->pending_updates;
    n->pending_updates = pu;
    process_pending_updates(s);
}

/* ---- shard turn and stop (net/conn.c calls these) ---- */

void rb_net_partitions_turn(struct rb_net *n)
{
    rb_groups_turn(n);
    rb_part_turn(rb_part_of(n->shard));
    if (n->pending_updates)
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
    bool returned = rb_part_answer_waiters(rb_part_of(s)) > 0;
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

void rb_net_partitions_finish(struct rb_net *n)
{
    rb_groups_finish(n);
    rb_part_finish(rb_part_of(n->shard));
    rb_metadata_unref(n->md);
    n->md = NULL;
}
