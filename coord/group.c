/*
 * coord/group.c - the classic consumer group state machine for the groups one
 * shard coordinates: group and member lifetimes, rebalances (join phase, leader
 * choice, protocol selection), pending members and session timers. The requests
 * that drive it are in group_join.c; committed offsets and restoring groups from
 * their records in group_store.c (coord/group.h has the protocol rules, the
 * invariants and the fault model). Groups are kept in a plain linked list (linear
 * lookups: fine for the hundreds of groups of a single node; a hash is a TODO for
 * very large deployments).
 *
 * Group states (enum rb_gstate, Kafka's); every change goes through transition(),
 * which asserts that it is one of these edges:
 *
 *                     a member joins
 *       +-------+ ---------------------------> +--------------------+
 *       | Empty |                              | PreparingRebalance | <--------+
 *       +-------+ <--------------------------- +--------------------+          |
 *                   join phase done, no members   |                            |
 *                                                 | join phase done            |
 *                                                 v                            |
 *                                      +---------------------+  a member      |
 *                                      | CompletingRebalance | -joins, leaves-+
 *                                      +---------------------+  or expires    |
 *                                                 | the leader's SyncGroup     |
 *                                                 v                            |
 *                                            +--------+  a member joins,       |
 *                                            | Stable | -leaves or expires, ---+
 *                                            +--------+  protocols change
 *
 *   any state --unload / DeleteGroups--> Dead: final (the group is freed), except
 *   that DeleteGroups enters Dead (from Empty) before its tombstones are durable,
 *   and a failed append takes the group back to Empty (GCAUSE_UNDELETE; ours, not
 *   Kafka's, whose deletion is not asynchronous).
 *   load (rb_group_load_meta, GCAUSE_LOAD): any state but Dead -> Stable (members
 *   in the record) or Empty (none, or a tombstone): the record replaces the group.
 */
#include "coord/group.h"
#include "coord/group_int.h"
#include "coord/metadata.h"
#include "core/rb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why a state changes: the protocol running, a record loaded from the log, or a
 * deletion whose tombstones could not be written. */
enum gcause {
    GCAUSE_RUN,
    GCAUSE_LOAD,
    GCAUSE_UNDELETE,
};

const char *rb_gstate_name(enum rb_gstate s)
{
    switch (s) {
    case RB_GS_EMPTY:
        return "Empty";
    case RB_GS_PREPARING:
        return "PreparingRebalance";
    case RB_GS_COMPLETING:
        return "CompletingRebalance";
    case RB_GS_STABLE:
        return "Stable";
    default:
        return "Dead";
    }
}

char *rb_group_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    RB_ASSERT(p);
    return p;
}

bool rb_group_str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int64_t now_ms(const struct rb_group_mgr *mgr)
{
    return *mgr->now_ms;
}

/* Kafka's legal transitions (GroupMetadata's valid previous states). */
static bool transition_legal(enum rb_gstate from, enum rb_gstate to, enum gcause cause)
{
    if (cause == GCAUSE_UNDELETE)
        return from == RB_GS_DEAD && to == RB_GS_EMPTY;
    if (from == RB_GS_DEAD)
        return to == RB_GS_DEAD;
    if (cause == GCAUSE_LOAD)
        return to == RB_GS_EMPTY || to == RB_GS_STABLE;
    switch (to) {
    case RB_GS_PREPARING:
        return from == RB_GS_EMPTY || from == RB_GS_STABLE || from == RB_GS_COMPLETING;
    case RB_GS_COMPLETING:
        return from == RB_GS_PREPARING;
    case RB_GS_STABLE:
        return from == RB_GS_COMPLETING;
    case RB_GS_EMPTY:
        return from == RB_GS_PREPARING;
    case RB_GS_DEAD:
        return true;
    }
    return false;
}

/* The one place g->state changes (after creation). state_ts: wall ms of the
 * change, or the restored record's for GCAUSE_LOAD. */
static void transition(struct rb_group *g, enum rb_gstate to, enum gcause cause, int64_t state_ts)
{
    RB_ASSERT(transition_legal(g->state, to, cause));
    RB_ASSERT(to != RB_GS_EMPTY || g->n_members == 0);
    RB_ASSERT(to != RB_GS_STABLE || g->n_members > 0);
    g->state = to;
    g->state_ts = state_ts;
}

void rb_group_set_state(struct rb_group *g, enum rb_gstate to)
{
    transition(g, to, GCAUSE_RUN, g->mgr->wall_ms());
}

void rb_group_persist(struct rb_group *g, bool tombstone)
{
    struct rb_group_mgr *mgr = g->mgr;
    if (!mgr->persist || mgr->loading)
        return;
    g->persisted = !tombstone;
    mgr->persist(mgr, g, tombstone);
}

/* ---- manager, groups ---- */

void rb_group_mgr_init(struct rb_group_mgr *mgr, struct rb_timers *timers, const int64_t *now,
                       int32_t initial_delay_ms, int32_t n_partitions)
{
    memset(mgr, 0, sizeof(*mgr));
    mgr->timers = timers;
    mgr->now_ms = now;
    mgr->initial_delay_ms = initial_delay_ms;
    mgr->min_session_ms = 6000;
    mgr->max_session_ms = 1800000;
    mgr->max_size = INT32_MAX;
    mgr->max_record_bytes = INT64_MAX;
    mgr->n_partitions = n_partitions;
    mgr->wall_ms = rb_wall_ms;
}

void rb_group_answer(struct rb_gwait *w, int16_t err, struct rb_group *g, struct rb_gmember *m)
{
    w->err = err;
    w->g = g;
    w->m = m;
    w->member_id = m ? m->id : w->member_id;
    w->done(w);
}

struct rb_group *rb_group_find(struct rb_group_mgr *mgr, const char *id)
{
    for (struct rb_group *g = mgr->groups; g; g = g->next)
        if (strcmp(g->id, id) == 0)
            return g;
    return NULL;
}

static void join_timer_fired(struct rb_timer *t);

struct rb_group *rb_group_get_or_create(struct rb_group_mgr *mgr, const char *id)
{
    struct rb_group *g = rb_group_find(mgr, id);
    if (g)
        return g;
    g = calloc(1, sizeof(*g));
    RB_ASSERT(g);
    g->mgr = mgr;
    g->id = rb_group_strdup(id);
    g->coord_partition = rb_group_partition_for(id, strlen(id), mgr->n_partitions);
    g->state = RB_GS_EMPTY; /* the initial state, not a transition */
    g->state_ts = mgr->wall_ms();
    rb_timer_init(&g->join_timer, join_timer_fired);
    rb_list_init(&g->pending);
    g->next = mgr->groups;
    mgr->groups = g;
    mgr->n_groups++;
    return g;
}

static void member_free(struct rb_group_mgr *mgr, struct rb_gmember *m)
{
    rb_timer_cancel(mgr->timers, &m->session_timer);
    for (int i = 0; i < m->n_protocols; i++) {
        free(m->proto_names[i]);
        free(m->proto_meta[i]);
    }
    free(m->proto_names);
    free(m->proto_meta);
    free(m->proto_meta_len);
    free(m->assignment);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m);
}

static void pending_free(struct rb_group_mgr *mgr, struct rb_gpending *p)
{
    rb_timer_cancel(mgr->timers, &p->timer);
    free(p->id);
    free(p);
}

static void member_unlink(struct rb_group *g, struct rb_gmember *m)
{
    RB_SLIST_REMOVE(&g->members, m, next);
    g->n_members--;
}

void rb_group_drop_members(struct rb_group *g, int16_t err)
{
    rb_timer_cancel(g->mgr->timers, &g->join_timer);
    while (g->members) {
        struct rb_gmember *m = g->members;
        member_unlink(g, m);
        if (m->join_wait)
            rb_group_answer(m->join_wait, err, NULL, NULL);
        if (m->sync_wait)
            rb_group_answer(m->sync_wait, err, NULL, NULL);
        member_free(g->mgr, m);
    }
}

static void group_free_all(struct rb_group_mgr *mgr, struct rb_group *g, int16_t err)
{
    rb_group_drop_members(g, err);
    struct rb_gpending *p;
    while ((p = rb_list_first_entry(&g->pending, struct rb_gpending, link))) {
        rb_list_del(&p->link);
        pending_free(mgr, p);
    }
    while (g->offsets) {
        struct rb_goffset *o = g->offsets;
        g->offsets = o->next;
        free(o->topic);
        free(o->metadata);
        free(o);
    }
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

static void group_unlink(struct rb_group_mgr *mgr, struct rb_group *g)
{
    RB_SLIST_REMOVE(&mgr->groups, g, next);
    mgr->n_groups--;
}

void rb_group_remove(struct rb_group_mgr *mgr, struct rb_group *g)
{
    group_unlink(mgr, g);
    rb_group_set_state(g, RB_GS_DEAD);
    group_free_all(mgr, g, RB_KERR_UNKNOWN_MEMBER_ID);
}

void rb_group_delete_begin(struct rb_group *g)
{
    RB_ASSERT(g->state == RB_GS_EMPTY);
    rb_group_set_state(g, RB_GS_DEAD);
}

void rb_group_delete_abort(struct rb_group *g)
{
    transition(g, RB_GS_EMPTY, GCAUSE_UNDELETE, g->mgr->wall_ms());
}

void rb_group_gc(struct rb_group_mgr *mgr, struct rb_group *g)
{
    if (g && g->state == RB_GS_EMPTY && g->n_members == 0 && g->n_offsets == 0 &&
        rb_list_empty(&g->pending)) {
        if (g->persisted)
            rb_group_persist(g, true);
        rb_group_remove(mgr, g);
    }
}

void rb_group_mgr_free(struct rb_group_mgr *mgr, int16_t err)
{
    while (mgr->groups) {
        struct rb_group *g = mgr->groups;
        group_unlink(mgr, g);
        group_free_all(mgr, g, err);
    }
}

int rb_group_mgr_unload(struct rb_group_mgr *mgr, int32_t partition, int16_t err)
{
    int n = 0;
    for (struct rb_group *g = mgr->groups, *next; g; g = next) {
        next = g->next;
        if (g->coord_partition != partition)
            continue;
        group_unlink(mgr, g);
        group_free_all(mgr, g, err);
        n++;
    }
    return n;
}

/* ---- members ---- */

struct rb_gmember *rb_group_member(struct rb_group *g, const char *member_id)
{
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (strcmp(m->id, member_id) == 0)
            return m;
    return NULL;
}

struct rb_gmember *rb_group_member_by_instance(struct rb_group *g, const char *instance_id)
{
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (rb_group_str_eq(m->instance_id, instance_id))
            return m;
    return NULL;
}

int rb_group_proto_index(const struct rb_gmember *m, const char *name)
{
    for (int i = 0; i < m->n_protocols; i++)
        if (strcmp(m->proto_names[i], name) == 0)
            return i;
    return -1;
}

const uint8_t *rb_group_member_meta(const struct rb_group *g, const struct rb_gmember *m,
                                    int32_t *len)
{
    int i = g->protocol ? rb_group_proto_index(m, g->protocol) : -1;
    *len = i >= 0 ? m->proto_meta_len[i] : 0;
    return i >= 0 ? m->proto_meta[i] : NULL;
}

void rb_group_member_set_protocols(struct rb_gmember *m, const struct rb_gjoin *in)
{
    for (int i = 0; i < m->n_protocols; i++) {
        free(m->proto_names[i]);
        free(m->proto_meta[i]);
    }
    free(m->proto_names);
    free(m->proto_meta);
    free(m->proto_meta_len);
    int n = in->n_protocols;
    m->n_protocols = n;
    m->proto_names = calloc((size_t)RB_MAX(n, 1), sizeof(char *));
    m->proto_meta = calloc((size_t)RB_MAX(n, 1), sizeof(uint8_t *));
    m->proto_meta_len = calloc((size_t)RB_MAX(n, 1), sizeof(int32_t));
    RB_ASSERT(m->proto_names && m->proto_meta && m->proto_meta_len);
    for (int i = 0; i < n; i++) {
        m->proto_names[i] = rb_group_strdup(in->proto_names[i]);
        int32_t len = in->proto_meta_len[i] > 0 ? in->proto_meta_len[i] : 0;
        m->proto_meta[i] = malloc((size_t)len + 1);
        RB_ASSERT(m->proto_meta[i]);
        if (len)
            memcpy(m->proto_meta[i], in->proto_meta[i], (size_t)len);
        m->proto_meta_len[i] = len;
    }
    m->session_timeout_ms = in->session_timeout_ms;
    m->rebalance_timeout_ms = in->rebalance_timeout_ms;
}

/* Same protocols, in the same order, with the same metadata? */
bool rb_group_member_matches(const struct rb_gmember *m, const struct rb_gjoin *in)
{
    if (m->n_protocols != in->n_protocols)
        return false;
    for (int i = 0; i < m->n_protocols; i++) {
        int32_t len = in->proto_meta_len[i] > 0 ? in->proto_meta_len[i] : 0;
        if (strcmp(m->proto_names[i], in->proto_names[i]) || m->proto_meta_len[i] != len ||
            (len && memcmp(m->proto_meta[i], in->proto_meta[i], (size_t)len)))
            return false;
    }
    return true;
}

void rb_group_session_reset(struct rb_group_mgr *mgr, struct rb_gmember *m)
{
    RB_ASSERT(rb_timer_arm(mgr->timers, &m->session_timer,
                           now_ms(mgr) + RB_MAX(m->session_timeout_ms, 1)) == 0);
}

struct rb_gmember *rb_group_member_add(struct rb_group *g, const char *id,
                                       const struct rb_gjoin *in)
{
    struct rb_gmember *m = calloc(1, sizeof(*m));
    RB_ASSERT(m);
    m->group = g;
    m->id = rb_group_strdup(id);
    m->instance_id = rb_group_strdup(in->instance_id);
    m->client_id = rb_group_strdup(in->client_id ? in->client_id : "");
    m->client_host = rb_group_strdup(in->client_host ? in->client_host : "");
    rb_group_member_set_protocols(m, in);
    rb_timer_init(&m->session_timer, rb_group_session_expired);
    rb_group_session_reset(g->mgr, m);
    struct rb_gmember **pp = &g->members; /* keep join order: the first is leader */
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->n_members++;
    return m;
}

void rb_group_new_member_id(struct rb_group_mgr *mgr, const char *prefix, char *out, size_t cap)
{
    uint8_t u[16];
    rb_uuid_random(u);
    mgr->member_seq++;
    snprintf(out, cap,
             "%.200s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix,
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

/* ---- rebalance ---- */

static int32_t max_rebalance_timeout(const struct rb_group *g)
{
    int32_t t = 0;
    for (const struct rb_gmember *m = g->members; m; m = m->next)
        t = RB_MAX(t, m->rebalance_timeout_ms);
    return t;
}

static void complete_join(struct rb_group *g);

void rb_group_maybe_complete_join(struct rb_group *g)
{
    if (g->state != RB_GS_PREPARING || g->initial_delay || !rb_list_empty(&g->pending))
        return;
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (!m->join_wait)
            return;
    complete_join(g);
}

void rb_group_prepare_rebalance(struct rb_group *g)
{
    struct rb_group_mgr *mgr = g->mgr;
    if (g->state == RB_GS_COMPLETING) {
        for (struct rb_gmember *m = g->members; m; m = m->next) {
            free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
            struct rb_gwait *w = m->sync_wait;
            m->sync_wait = NULL;
            if (w)
                rb_group_answer(w, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
        }
    }
    bool was_empty = g->state == RB_GS_EMPTY;
    rb_group_set_state(g, RB_GS_PREPARING);
    g->join_start_ms = now_ms(mgr);
    int32_t rt = max_rebalance_timeout(g);
    int64_t deadline = g->join_start_ms + rt;
    g->initial_delay = was_empty && mgr->initial_delay_ms > 0;
    if (g->initial_delay)
        deadline = g->join_start_ms + RB_MIN(mgr->initial_delay_ms, rt);
    RB_ASSERT(rb_timer_arm(mgr->timers, &g->join_timer, deadline) == 0);
}

/* The protocol all members support with the most first preferences. */
static char *select_protocol(struct rb_group *g)
{
    const char *best = NULL;
    int best_votes = -1;
    struct rb_gmember *first = g->members;
    for (int i = 0; first && i < first->n_protocols; i++) {
        const char *cand = first->proto_names[i];
        bool all = true;
        for (struct rb_gmember *m = g->members; m && all; m = m->next)
            all = rb_group_proto_index(m, cand) >= 0;
        if (!all)
            continue;
        int votes = 0;
        for (struct rb_gmember *m = g->members; m; m = m->next) {
            /* m's most preferred protocol that every member supports */
            for (int k = 0; k < m->n_protocols; k++) {
                bool ok = true;
                for (struct rb_gmember *o = g->members; o && ok; o = o->next)
                    ok = rb_group_proto_index(o, m->proto_names[k]) >= 0;
                if (ok) {
                    votes += strcmp(m->proto_names[k], cand) == 0;
                    break;
                }
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return rb_group_strdup(best);
}

static void complete_join(struct rb_group *g)
{
    struct rb_group_mgr *mgr = g->mgr;
    rb_timer_cancel(mgr->timers, &g->join_timer);
    g->initial_delay = false;
    for (struct rb_gmember *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_wait) { /* did not rejoin in time */
            member_unlink(g, m);
            member_free(mgr, m);
        }
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (g->n_members == 0) {
        free(g->leader);
        g->leader = NULL;
        rb_group_set_state(g, RB_GS_EMPTY);
        rb_group_persist(g, false);
        return;
    }
    g->protocol = select_protocol(g);
    if (!g->leader || !rb_group_member(g, g->leader)) {
        free(g->leader);
        g->leader = rb_group_strdup(g->members->id);
    }
    rb_group_set_state(g, RB_GS_COMPLETING);
    for (struct rb_gmember *m = g->members; m; m = m->next) {
        struct rb_gwait *w = m->join_wait;
        m->join_wait = NULL;
        m->is_new = false;
        rb_group_session_reset(mgr, m);
        rb_group_answer(w, RB_KERR_NONE, g, m);
    }
}

static void join_timer_fired(struct rb_timer *t)
{
    struct rb_group *g = RB_CONTAINER_OF(t, struct rb_group, join_timer);
    struct rb_group_mgr *mgr = g->mgr;
    if (g->state != RB_GS_PREPARING)
        return;
    if (g->initial_delay) {
        /* Kafka's initial delay: extended while new members keep arriving (or
         * MEMBER_ID_REQUIRED rejoins are due), bounded by the rebalance timeout. */
        int64_t end = g->join_start_ms + max_rebalance_timeout(g);
        if ((g->new_in_delay || !rb_list_empty(&g->pending)) && now_ms(mgr) < end) {
            g->new_in_delay = false;
            RB_ASSERT(rb_timer_arm(mgr->timers, &g->join_timer,
                                   RB_MIN(end, now_ms(mgr) + mgr->initial_delay_ms)) == 0);
            return;
        }
        g->initial_delay = false;
    }
    complete_join(g);
    rb_group_gc(mgr, g);
}

/* Membership changed outside a join: start or finish a rebalance. */
static void membership_changed(struct rb_group *g)
{
    if (g->state == RB_GS_STABLE || g->state == RB_GS_COMPLETING)
        rb_group_prepare_rebalance(g);
    if (g->state == RB_GS_PREPARING)
        rb_group_maybe_complete_join(g); /* e.g. the last member left: Empty at once (as Kafka) */
}

void rb_group_remove_member(struct rb_group *g, struct rb_gmember *m)
{
    member_unlink(g, m);
    if (m->join_wait)
        rb_group_answer(m->join_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
    if (m->sync_wait)
        rb_group_answer(m->sync_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
    m->join_wait = m->sync_wait = NULL;
    member_free(g->mgr, m);
    membership_changed(g);
}

void rb_group_session_expired(struct rb_timer *t)
{
    struct rb_gmember *m = RB_CONTAINER_OF(t, struct rb_gmember, session_timer);
    struct rb_group *g = m->group;
    if (m->join_wait || m->sync_wait) { /* parked members stay alive */
        rb_group_session_reset(g->mgr, m);
        return;
    }
    rb_group_remove_member(g, m);
    rb_group_gc(g->mgr, g);
}

static void pending_expired(struct rb_timer *t)
{
    struct rb_gpending *p = RB_CONTAINER_OF(t, struct rb_gpending, timer);
    struct rb_group *g = p->group;
    rb_list_del(&p->link);
    pending_free(g->mgr, p);
    rb_group_maybe_complete_join(g);
    rb_group_gc(g->mgr, g);
}

bool rb_group_take_pending(struct rb_group *g, const char *id)
{
    struct rb_list_node *pos;
    rb_list_foreach(pos, &g->pending)
    {
        struct rb_gpending *p = rb_list_entry(pos, struct rb_gpending, link);
        if (strcmp(p->id, id) == 0) {
            rb_list_del(&p->link);
            pending_free(g->mgr, p);
            return true;
        }
    }
    return false;
}

void rb_group_add_pending(struct rb_group *g, const char *id, int32_t session_ms)
{
    struct rb_gpending *p = calloc(1, sizeof(*p));
    RB_ASSERT(p);
    p->group = g;
    p->id = rb_group_strdup(id);
    rb_timer_init(&p->timer, pending_expired);
    RB_ASSERT(rb_timer_arm(g->mgr->timers, &p->timer, now_ms(g->mgr) + session_ms) == 0);
    rb_list_init(&p->link);
    rb_list_add_tail(&g->pending, &p->link);
}

/* ---- member checks shared by the request paths ---- */

int16_t rb_group_member_check(struct rb_group *g, const char *member_id, const char *instance_id,
                              struct rb_gmember **out)
{
    *out = NULL;
    if (!g || g->state == RB_GS_DEAD)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    struct rb_gmember *m = rb_group_member(g, member_id);
    if (!m)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (instance_id && !rb_group_str_eq(m->instance_id, instance_id))
        return RB_KERR_FENCED_INSTANCE_ID;
    *out = m;
    return RB_KERR_NONE;
}

void rb_group_set_assignment(struct rb_gmember *m, const uint8_t *p, int32_t len)
{
    free(m->assignment);
    len = len > 0 ? len : 0;
    m->assignment = malloc((size_t)len + 1);
    RB_ASSERT(m->assignment);
    if (len)
        memcpy(m->assignment, p, (size_t)len);
    m->assignment_len = len;
}

/* A group restored from its GroupMetadata record (rb_group_load_meta). */
void rb_group_restore_state(struct rb_group *g, enum rb_gstate to, int64_t state_ts)
{
    transition(g, to, GCAUSE_LOAD, state_ts);
}
