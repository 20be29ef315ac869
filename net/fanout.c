/*
 * net/fanout.c - sending a request's partitions to their owner shards and
 * gathering them back (see net/fanout.h), the owner-side dispatch of each pop
 * into part/, and the shard's part of applying metadata updates.
 *
 * Owns: the groups in flight from this shard (rb_net.groups_out) and the
 * metadata updates waiting for their dropped partitions to close
 * (rb_net.pending_updates).
 * Invariants: a group is posted back exactly once (OWNER_RETURNED asserted); the
 * origin holds a reference on the request for every group and cancel in flight.
 * Fault model: a shard that is stopping answers groups for other shards itself
 * (NOT_LEADER_OR_FOLLOWER, retriable), since the owner may have left its loop.
 */
#include "net/fanout.h"
#include "net/group_route.h"
#include "net/handlers.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

#define COMP "partition"

struct rb_pop *rb_pop_new(struct rb_request *req, enum rb_pop_kind kind, const char *topic,
                          size_t topic_len, int32_t index, int16_t shard)
{
    struct rb_pop *op = rb_req_alloc(req, 1, sizeof(*op));
    op->kind = (uint8_t)kind;
    op->shard = shard;
    op->u.it.key = (struct rb_part_key){topic, topic_len, index};
    return op;
}

/* ---- group plumbing ---- */

static void group_back_on_origin(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    struct rb_request *req = g->req;
    g->returned = true;
    g->back(s, g);
    rb_net_of(s)->groups_out--;
    rb_request_release(req);
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

static void pop_done(struct rb_shard *s, struct rb_part_item *it, void *arg)
{
    (void)it;
    group_step_done(s, arg);
}

static void reads_done(struct rb_shard *s, struct rb_part_read_set *rs, void *arg)
{
    (void)rs;
    group_return(s, arg);
}

/* ---- owner entry points ---- */

static void owner_exec(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    struct rb_part_shard *ps = rb_part_of(s);
    g->owner_state = OWNER_RUNNING;
    if (g->n_pops > 0 && g->pops[0]->kind == RB_POP_FETCH) {
        g->pending = 0;
        g->rs.done = reads_done;
        g->rs.done_arg = g;
        rb_part_read_start(ps, &g->rs); /* reads_done: now or after the long poll */
        return;
    }
    g->pending = g->n_pops + 1; /* keep the group until every pop has started */
    for (int i = 0; i < g->n_pops; i++) {
        struct rb_pop *op = g->pops[i];
        op->group = g;
        if (op->kind == RB_POP_PRODUCE) {
            op->u.it.done = pop_done;
            op->u.it.done_arg = g;
            rb_part_append(ps, &op->u.produce);
            continue;
        }
        if (op->kind == RB_POP_DELETE_RECORDS)
            rb_part_trim(ps, &op->u.dr);
        else
            rb_part_list_offsets(ps, &op->u.lo);
        group_step_done(s, g);
    }
    group_step_done(s, g);
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
        g->rs.items = rb_req_alloc(req, (size_t)count[sh], sizeof(*g->rs.items));
        g->back = back;
        by_shard[sh] = g;
        ng++;
    }
    for (int k = 0; k < n; k++)
        if (pops[k]) {
            struct rb_pgroup *g = by_shard[pops[k]->shard];
            g->rs.items[g->n_pops] = &pops[k]->u.fetch; /* used by fetches only */
            g->pops[g->n_pops++] = pops[k];
            g->rs.n = g->n_pops;
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
            g->pops[i]->u.it.error = RB_KERR_NOT_LEADER_OR_FOLLOWER;
        g->owner_state = OWNER_RETURNED;
        rb_post(s, s->id, group_back_on_origin, g);
        return;
    }
    rb_post(s, g->shard, owner_exec, g);
}

static void cancel_ack_on_origin(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    rb_net_of(s)->groups_out--;
    rb_request_release(g->req);
}

static void owner_cancel(struct rb_shard *s, void *arg)
{
    struct rb_pgroup *g = arg;
    if (g->owner_state == OWNER_RUNNING)
        rb_part_read_cancel(rb_part_of(s), &g->rs); /* answers it when parked */
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
