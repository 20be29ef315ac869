/*
 * coord/group_join.c - the membership requests of the classic group protocol:
 * JoinGroup (dynamic and static members, MEMBER_ID_REQUIRED), SyncGroup,
 * Heartbeat and LeaveGroup. Each checks its input against the group (Kafka error
 * codes, never asserts), then drives the state machine in group.c, which parks
 * or answers the request's rb_gwait.
 */
#include "coord/group.h"
#include "coord/group_int.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- join ---- */

static bool supports_protocols(const struct rb_group *g, const struct rb_gjoin *in)
{
    if (g->n_members == 0)
        return true;
    for (int i = 0; i < in->n_protocols; i++) {
        bool all = true;
        for (const struct rb_gmember *m = g->members; m && all; m = m->next)
            all = rb_group_proto_index(m, in->proto_names[i]) >= 0;
        if (all)
            return true;
    }
    return false;
}

static void add_member_and_rebalance(struct rb_group *g, const char *id, const struct rb_gjoin *in,
                                     struct rb_gwait *w)
{
    struct rb_gmember *m = rb_group_member_add(g, id, in);
    m->is_new = true;
    m->join_wait = w;
    if (!g->protocol_type)
        g->protocol_type = rb_group_strdup(in->protocol_type);
    if (g->state == RB_GS_PREPARING && g->initial_delay)
        g->new_in_delay = true;
    if (g->state != RB_GS_PREPARING)
        rb_group_prepare_rebalance(g);
    rb_group_maybe_complete_join(g);
}

/* Park w until the join phase completes (answering an older parked join). */
static void park_join(struct rb_group *g, struct rb_gmember *m, struct rb_gwait *w)
{
    struct rb_gwait *old = m->join_wait;
    m->join_wait = w;
    if (old)
        rb_group_answer(old, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
    if (g->state != RB_GS_PREPARING)
        rb_group_prepare_rebalance(g);
    rb_group_maybe_complete_join(g);
}

static void join_static_unknown(struct rb_group *g, struct rb_gmember *m, const char *new_id,
                                const struct rb_gjoin *in, struct rb_gwait *w)
{
    /* The instance comes back under a new member id: fence the old one. */
    struct rb_gwait *oj = m->join_wait, *os = m->sync_wait;
    m->join_wait = m->sync_wait = NULL;
    if (oj)
        rb_group_answer(oj, RB_KERR_FENCED_INSTANCE_ID, NULL, NULL);
    if (os)
        rb_group_answer(os, RB_KERR_FENCED_INSTANCE_ID, NULL, NULL);
    bool was_leader = rb_group_str_eq(g->leader, m->id);
    free(m->id);
    m->id = rb_group_strdup(new_id);
    if (was_leader) {
        free(g->leader);
        g->leader = rb_group_strdup(new_id);
    }
    bool same = rb_group_member_matches(m, in);
    rb_group_member_set_protocols(m, in);
    rb_group_session_reset(g->mgr, m);
    /* Not while CompletingRebalance: the leader may be assigning to the old id. */
    if (g->state == RB_GS_STABLE && same && (!was_leader || in->supports_skip_assignment)) {
        w->skip_assignment = was_leader;
        rb_group_persist(g, false);             /* the member id changed */
        rb_group_answer(w, RB_KERR_NONE, g, m); /* current generation, no rebalance */
        return;
    }
    park_join(g, m, w);
}

static void join_unknown(struct rb_group *g, const struct rb_gjoin *in, struct rb_gwait *w)
{
    char id[320];
    const char *prefix = in->instance_id ? in->instance_id : (in->client_id ? in->client_id : "");
    rb_group_new_member_id(g->mgr, prefix, id, sizeof(id));
    if (in->instance_id) {
        struct rb_gmember *m = rb_group_member_by_instance(g, in->instance_id);
        if (m)
            join_static_unknown(g, m, id, in, w);
        else
            add_member_and_rebalance(g, id, in, w);
        return;
    }
    if (in->require_known_member_id) {
        rb_group_add_pending(g, id, in->session_timeout_ms);
        w->member_id = id;
        rb_group_answer(w, RB_KERR_MEMBER_ID_REQUIRED, g, NULL);
        return;
    }
    add_member_and_rebalance(g, id, in, w);
}

static void join_known(struct rb_group *g, const struct rb_gjoin *in, struct rb_gwait *w)
{
    if (rb_group_take_pending(g, in->member_id)) {
        add_member_and_rebalance(g, in->member_id, in, w);
        return;
    }
    struct rb_gmember *m = rb_group_member(g, in->member_id);
    if (!m && in->instance_id && rb_group_member_by_instance(g, in->instance_id)) {
        rb_group_answer(w, RB_KERR_FENCED_INSTANCE_ID, g, NULL); /* an older incarnation */
        return;
    }
    if (!m || g->state == RB_GS_EMPTY) {
        rb_group_answer(w, RB_KERR_UNKNOWN_MEMBER_ID, g, NULL);
        return;
    }
    if (in->instance_id && !rb_group_str_eq(m->instance_id, in->instance_id)) {
        rb_group_answer(w, RB_KERR_FENCED_INSTANCE_ID, g, NULL);
        return;
    }
    bool same = rb_group_member_matches(m, in);
    bool is_leader = rb_group_str_eq(g->leader, m->id);
    rb_group_session_reset(g->mgr, m);
    if (g->state == RB_GS_PREPARING) {
        rb_group_member_set_protocols(m, in);
        park_join(g, m, w);
    } else if (same && (g->state == RB_GS_COMPLETING || !is_leader)) {
        rb_group_answer(w, RB_KERR_NONE, g, m); /* a rejoin with nothing new: current generation */
    } else {
        rb_group_member_set_protocols(m, in);
        park_join(g, m, w);
    }
}

/* Kafka's acceptJoiningMember (group.max.size): existing members always; new ones
 * while the group (or, during a join phase, the members already rejoined) is
 * below the limit. */
static bool accept_joining_member(const struct rb_group *g, const char *member_id)
{
    struct rb_gmember *m = member_id[0] ? rb_group_member((struct rb_group *)g, member_id) : NULL;
    int32_t max = g->mgr->max_size;
    switch (g->state) {
    case RB_GS_EMPTY:
    case RB_GS_DEAD:
        return true;
    case RB_GS_PREPARING: {
        if (m && m->join_wait)
            return true;
        int32_t awaiting = 0;
        for (const struct rb_gmember *x = g->members; x; x = x->next)
            awaiting += x->join_wait != NULL;
        return awaiting < max;
    }
    case RB_GS_COMPLETING:
    case RB_GS_STABLE:
        return m || g->n_members < max;
    }
    return false;
}

void rb_group_join(struct rb_group_mgr *mgr, const struct rb_gjoin *in, struct rb_gwait *w)
{
    w->member_id = in->member_id;
    if (!in->group_id[0]) {
        rb_group_answer(w, RB_KERR_INVALID_GROUP_ID, NULL, NULL);
        return;
    }
    if (in->session_timeout_ms < mgr->min_session_ms ||
        in->session_timeout_ms > mgr->max_session_ms) {
        rb_group_answer(w, RB_KERR_INVALID_SESSION_TIMEOUT, NULL, NULL);
        return;
    }
    if (!in->protocol_type || !in->protocol_type[0] || in->n_protocols <= 0) {
        rb_group_answer(w, RB_KERR_INCONSISTENT_GROUP_PROTOCOL, NULL, NULL);
        return;
    }
    struct rb_group *g = rb_group_find(mgr, in->group_id);
    if (!g) {
        if (in->member_id[0]) {
            rb_group_answer(w, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
            return;
        }
        g = rb_group_get_or_create(mgr, in->group_id);
    }
    if (!accept_joining_member(g, in->member_id)) {
        struct rb_gmember *m = rb_group_member(g, in->member_id);
        if (m) /* over a lowered group.max.size: Kafka drops the member too */
            rb_group_remove_member(g, m);
        w->member_id = "";
        rb_group_answer(w, RB_KERR_GROUP_MAX_SIZE_REACHED, g, NULL);
        rb_group_gc(mgr, g);
        return;
    }
    if (g->state == RB_GS_DEAD) { /* being deleted: the client retries */
        rb_group_answer(w, RB_KERR_COORDINATOR_NOT_AVAILABLE, NULL, NULL);
        return;
    }
    if (g->state != RB_GS_EMPTY &&
        (!rb_group_str_eq(g->protocol_type, in->protocol_type) || !supports_protocols(g, in))) {
        rb_group_answer(w, RB_KERR_INCONSISTENT_GROUP_PROTOCOL, g, NULL);
        return;
    }
    if (g->state == RB_GS_EMPTY && g->n_members == 0 && g->protocol_type &&
        !rb_group_str_eq(g->protocol_type, in->protocol_type)) {
        free(g->protocol_type);
        g->protocol_type = NULL;
    }
    if (rb_group_record_bytes(g, in) > mgr->max_record_bytes) {
        /* Its group metadata record could not be written: Kafka answers
         * UNKNOWN_SERVER_ERROR when storing such a record fails (SyncGroup);
         * refused here before the group changes. */
        rb_group_answer(w, RB_KERR_UNKNOWN_SERVER_ERROR, g, NULL);
        rb_group_gc(mgr, g);
        return;
    }
    if (!in->member_id[0])
        join_unknown(g, in, w);
    else
        join_known(g, in, w);
    rb_group_gc(mgr, rb_group_find(mgr, in->group_id));
}

/* ---- sync, heartbeat, leave ---- */

void rb_group_sync(struct rb_group_mgr *mgr, const struct rb_gsync *in, struct rb_gwait *w)
{
    w->member_id = in->member_id;
    struct rb_group *g = rb_group_find(mgr, in->group_id);
    struct rb_gmember *m;
    int16_t err = rb_group_member_check(g, in->member_id, in->instance_id, &m);
    if (!err && in->generation != g->generation)
        err = RB_KERR_ILLEGAL_GENERATION;
    if (!err && ((in->protocol_type && !rb_group_str_eq(in->protocol_type, g->protocol_type)) ||
                 (in->protocol_name && !rb_group_str_eq(in->protocol_name, g->protocol))))
        err = RB_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == RB_GS_PREPARING)
        err = RB_KERR_REBALANCE_IN_PROGRESS;
    if (!err && g->state == RB_GS_EMPTY)
        err = RB_KERR_UNKNOWN_MEMBER_ID;
    if (err) {
        rb_group_answer(w, err, g, NULL);
        return;
    }
    rb_group_session_reset(mgr, m);
    if (g->state == RB_GS_STABLE) {
        rb_group_answer(w, RB_KERR_NONE, g, m);
        return;
    }
    struct rb_gwait *old = m->sync_wait;
    m->sync_wait = w;
    if (old)
        rb_group_answer(old, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
    if (!rb_group_str_eq(g->leader, m->id))
        return;
    for (struct rb_gmember *x = g->members; x; x = x->next)
        rb_group_set_assignment(x, NULL, 0);
    for (int i = 0; i < in->n_assign; i++) {
        struct rb_gmember *x = rb_group_member(g, in->assign_member[i]);
        if (x)
            rb_group_set_assignment(x, in->assign[i], in->assign_len[i]);
    }
    if (rb_group_record_bytes(g, NULL) > mgr->max_record_bytes) {
        /* As Kafka when the record cannot be stored: every member's sync fails
         * (UNKNOWN_SERVER_ERROR) and the group rebalances. */
        for (struct rb_gmember *x = g->members; x; x = x->next) {
            rb_group_set_assignment(x, NULL, 0);
            struct rb_gwait *sw = x->sync_wait;
            x->sync_wait = NULL;
            if (sw)
                rb_group_answer(sw, RB_KERR_UNKNOWN_SERVER_ERROR, g, NULL);
        }
        rb_group_prepare_rebalance(g);
        return;
    }
    rb_group_set_state(g, RB_GS_STABLE);
    rb_group_persist(g, false);
    for (struct rb_gmember *x = g->members; x; x = x->next) {
        struct rb_gwait *sw = x->sync_wait;
        x->sync_wait = NULL;
        if (sw)
            rb_group_answer(sw, RB_KERR_NONE, g, x);
    }
}

int16_t rb_group_heartbeat(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                           const char *member_id, const char *instance_id)
{
    struct rb_group *g = rb_group_find(mgr, group_id);
    struct rb_gmember *m;
    int16_t err = rb_group_member_check(g, member_id, instance_id, &m);
    if (err)
        return err;
    if (g->state == RB_GS_EMPTY)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return RB_KERR_ILLEGAL_GENERATION;
    rb_group_session_reset(mgr, m);
    return g->state == RB_GS_PREPARING ? RB_KERR_REBALANCE_IN_PROGRESS : RB_KERR_NONE;
}

int16_t rb_group_leave(struct rb_group_mgr *mgr, const char *group_id, const char *member_id,
                       const char *instance_id)
{
    struct rb_group *g = rb_group_find(mgr, group_id);
    if (!g || g->state == RB_GS_DEAD)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    struct rb_gmember *m = NULL;
    if (!member_id[0] && instance_id) {
        m = rb_group_member_by_instance(g, instance_id);
    } else {
        if (rb_group_take_pending(g, member_id)) {
            rb_group_maybe_complete_join(g);
            rb_group_gc(mgr, g);
            return RB_KERR_NONE;
        }
        m = rb_group_member(g, member_id);
    }
    if (!m)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (instance_id && !rb_group_str_eq(m->instance_id, instance_id))
        return RB_KERR_FENCED_INSTANCE_ID;
    rb_group_remove_member(g, m);
    rb_group_gc(mgr, g);
    return RB_KERR_NONE;
}
