/*
 * coord/group.c - classic consumer group state machine and committed offsets for
 * the groups one shard coordinates (see coord/group.h for the protocol rules, the
 * invariants and the fault model). Groups and offsets are kept in plain linked
 * lists (linear lookups: fine for the hundreds of groups and partitions of a
 * single node; a hash is a TODO for very large deployments).
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
#include "coord/metadata.h"
#include "core/endian.h"
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

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    RB_ASSERT(p);
    return p;
}

static bool str_eq(const char *a, const char *b)
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

static void set_state(struct rb_group *g, enum rb_gstate to)
{
    transition(g, to, GCAUSE_RUN, g->mgr->wall_ms());
}

static void persist(struct rb_group *g, bool tombstone)
{
    struct rb_group_mgr *mgr = g->mgr;
    if (!mgr->persist || mgr->loading)
        return;
    g->persisted = !tombstone;
    mgr->persist(mgr, g, tombstone);
}

/* ---- placement ---- */

int32_t rb_java_string_hash(const char *s, size_t len)
{
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    while (p < end) {
        uint32_t cp = *p++;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (extra) {
            cp &= 0x3Fu >> extra;
            for (int i = 0; i < extra && p < end; i++)
                cp = (cp << 6) | (*p++ & 0x3Fu);
        }
        if (cp >= 0x10000) { /* surrogate pair */
            cp -= 0x10000;
            h = h * 31u + (0xD800u + (cp >> 10));
            h = h * 31u + (0xDC00u + (cp & 0x3FFu));
        } else {
            h = h * 31u + cp;
        }
    }
    return (int32_t)h;
}

int32_t rb_group_partition_for(const char *id, size_t len, int32_t n_partitions)
{
    int32_t h = rb_java_string_hash(id, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return n_partitions > 0 ? a % n_partitions : 0;
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
    mgr->n_partitions = n_partitions;
    mgr->wall_ms = rb_wall_ms;
}

static void answer(struct rb_gwait *w, int16_t err, struct rb_group *g, struct rb_gmember *m)
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
    g->id = xstrdup(id);
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
    struct rb_gmember **pp = &g->members;
    while (*pp && *pp != m)
        pp = &(*pp)->next;
    RB_ASSERT(*pp == m);
    *pp = m->next;
    g->n_members--;
}

static void group_free_all(struct rb_group_mgr *mgr, struct rb_group *g, int16_t err)
{
    rb_timer_cancel(mgr->timers, &g->join_timer);
    while (g->members) {
        struct rb_gmember *m = g->members;
        member_unlink(g, m);
        if (m->join_wait)
            answer(m->join_wait, err, NULL, NULL);
        if (m->sync_wait)
            answer(m->sync_wait, err, NULL, NULL);
        member_free(mgr, m);
    }
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
    struct rb_group **pp = &mgr->groups;
    while (*pp && *pp != g)
        pp = &(*pp)->next;
    RB_ASSERT(*pp == g);
    *pp = g->next;
    mgr->n_groups--;
}

void rb_group_remove(struct rb_group_mgr *mgr, struct rb_group *g)
{
    group_unlink(mgr, g);
    set_state(g, RB_GS_DEAD);
    group_free_all(mgr, g, RB_KERR_UNKNOWN_MEMBER_ID);
}

void rb_group_delete_begin(struct rb_group *g)
{
    RB_ASSERT(g->state == RB_GS_EMPTY);
    set_state(g, RB_GS_DEAD);
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
            persist(g, true);
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

/* ---- members ---- */

struct rb_gmember *rb_group_member(struct rb_group *g, const char *member_id)
{
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (strcmp(m->id, member_id) == 0)
            return m;
    return NULL;
}

static struct rb_gmember *member_by_instance(struct rb_group *g, const char *instance_id)
{
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (str_eq(m->instance_id, instance_id))
            return m;
    return NULL;
}

static int proto_index(const struct rb_gmember *m, const char *name)
{
    for (int i = 0; i < m->n_protocols; i++)
        if (strcmp(m->proto_names[i], name) == 0)
            return i;
    return -1;
}

const uint8_t *rb_group_member_meta(const struct rb_group *g, const struct rb_gmember *m,
                                    int32_t *len)
{
    int i = g->protocol ? proto_index(m, g->protocol) : -1;
    *len = i >= 0 ? m->proto_meta_len[i] : 0;
    return i >= 0 ? m->proto_meta[i] : NULL;
}

static void member_set_protocols(struct rb_gmember *m, const struct rb_gjoin *in)
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
        m->proto_names[i] = xstrdup(in->proto_names[i]);
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
static bool member_matches(const struct rb_gmember *m, const struct rb_gjoin *in)
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

static void session_reset(struct rb_group_mgr *mgr, struct rb_gmember *m)
{
    RB_ASSERT(rb_timer_arm(mgr->timers, &m->session_timer,
                           now_ms(mgr) + RB_MAX(m->session_timeout_ms, 1)) == 0);
}

static void new_member_id(struct rb_group_mgr *mgr, const char *prefix, char *out, size_t cap)
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

static void maybe_complete_join(struct rb_group *g)
{
    if (g->state != RB_GS_PREPARING || g->initial_delay || !rb_list_empty(&g->pending))
        return;
    for (struct rb_gmember *m = g->members; m; m = m->next)
        if (!m->join_wait)
            return;
    complete_join(g);
}

static void prepare_rebalance(struct rb_group *g)
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
                answer(w, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
        }
    }
    bool was_empty = g->state == RB_GS_EMPTY;
    set_state(g, RB_GS_PREPARING);
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
            all = proto_index(m, cand) >= 0;
        if (!all)
            continue;
        int votes = 0;
        for (struct rb_gmember *m = g->members; m; m = m->next) {
            /* m's most preferred protocol that every member supports */
            for (int k = 0; k < m->n_protocols; k++) {
                bool ok = true;
                for (struct rb_gmember *o = g->members; o && ok; o = o->next)
                    ok = proto_index(o, m->proto_names[k]) >= 0;
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
    return xstrdup(best);
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
        set_state(g, RB_GS_EMPTY);
        persist(g, false);
        return;
    }
    g->protocol = select_protocol(g);
    if (!g->leader || !rb_group_member(g, g->leader)) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
    set_state(g, RB_GS_COMPLETING);
    for (struct rb_gmember *m = g->members; m; m = m->next) {
        struct rb_gwait *w = m->join_wait;
        m->join_wait = NULL;
        m->is_new = false;
        session_reset(mgr, m);
        answer(w, RB_KERR_NONE, g, m);
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
        prepare_rebalance(g);
    if (g->state == RB_GS_PREPARING)
        maybe_complete_join(g); /* e.g. the last member left: Empty at once (as Kafka) */
}

static void remove_member(struct rb_group *g, struct rb_gmember *m)
{
    member_unlink(g, m);
    if (m->join_wait)
        answer(m->join_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
    if (m->sync_wait)
        answer(m->sync_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
    m->join_wait = m->sync_wait = NULL;
    member_free(g->mgr, m);
    membership_changed(g);
}

static void session_expired(struct rb_timer *t)
{
    struct rb_gmember *m = RB_CONTAINER_OF(t, struct rb_gmember, session_timer);
    struct rb_group *g = m->group;
    if (m->join_wait || m->sync_wait) { /* parked members stay alive */
        session_reset(g->mgr, m);
        return;
    }
    remove_member(g, m);
    rb_group_gc(g->mgr, g);
}

static void pending_expired(struct rb_timer *t)
{
    struct rb_gpending *p = RB_CONTAINER_OF(t, struct rb_gpending, timer);
    struct rb_group *g = p->group;
    rb_list_del(&p->link);
    pending_free(g->mgr, p);
    maybe_complete_join(g);
    rb_group_gc(g->mgr, g);
}

static bool take_pending(struct rb_group *g, const char *id)
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

static void add_pending(struct rb_group *g, const char *id, int32_t session_ms)
{
    struct rb_gpending *p = calloc(1, sizeof(*p));
    RB_ASSERT(p);
    p->group = g;
    p->id = xstrdup(id);
    rb_timer_init(&p->timer, pending_expired);
    RB_ASSERT(rb_timer_arm(g->mgr->timers, &p->timer, now_ms(g->mgr) + session_ms) == 0);
    rb_list_init(&p->link);
    rb_list_add_tail(&g->pending, &p->link);
}

/* ---- join ---- */

static bool supports_protocols(const struct rb_group *g, const struct rb_gjoin *in)
{
    if (g->n_members == 0)
        return true;
    for (int i = 0; i < in->n_protocols; i++) {
        bool all = true;
        for (const struct rb_gmember *m = g->members; m && all; m = m->next)
            all = proto_index(m, in->proto_names[i]) >= 0;
        if (all)
            return true;
    }
    return false;
}

static void add_member_and_rebalance(struct rb_group *g, const char *id, const struct rb_gjoin *in,
                                     struct rb_gwait *w)
{
    struct rb_group_mgr *mgr = g->mgr;
    struct rb_gmember *m = calloc(1, sizeof(*m));
    RB_ASSERT(m);
    m->group = g;
    m->id = xstrdup(id);
    m->instance_id = xstrdup(in->instance_id);
    m->client_id = xstrdup(in->client_id ? in->client_id : "");
    m->client_host = xstrdup(in->client_host ? in->client_host : "");
    member_set_protocols(m, in);
    m->is_new = true;
    m->join_wait = w;
    rb_timer_init(&m->session_timer, session_expired);
    session_reset(mgr, m);
    struct rb_gmember **pp = &g->members; /* keep join order: the first is leader */
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->n_members++;
    if (!g->protocol_type)
        g->protocol_type = xstrdup(in->protocol_type);
    if (g->state == RB_GS_PREPARING && g->initial_delay)
        g->new_in_delay = true;
    if (g->state != RB_GS_PREPARING)
        prepare_rebalance(g);
    maybe_complete_join(g);
}

/* Park w until the join phase completes (answering an older parked join). */
static void park_join(struct rb_group *g, struct rb_gmember *m, struct rb_gwait *w)
{
    struct rb_gwait *old = m->join_wait;
    m->join_wait = w;
    if (old)
        answer(old, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
    if (g->state != RB_GS_PREPARING)
        prepare_rebalance(g);
    maybe_complete_join(g);
}

static void join_static_unknown(struct rb_group *g, struct rb_gmember *m, const char *new_id,
                                const struct rb_gjoin *in, struct rb_gwait *w)
{
    /* The instance comes back under a new member id: fence the old one. */
    struct rb_gwait *oj = m->join_wait, *os = m->sync_wait;
    m->join_wait = m->sync_wait = NULL;
    if (oj)
        answer(oj, RB_KERR_FENCED_INSTANCE_ID, NULL, NULL);
    if (os)
        answer(os, RB_KERR_FENCED_INSTANCE_ID, NULL, NULL);
    bool was_leader = str_eq(g->leader, m->id);
    free(m->id);
    m->id = xstrdup(new_id);
    if (was_leader) {
        free(g->leader);
        g->leader = xstrdup(new_id);
    }
    bool same = member_matches(m, in);
    member_set_protocols(m, in);
    session_reset(g->mgr, m);
    /* Not while CompletingRebalance: the leader may be assigning to the old id. */
    if (g->state == RB_GS_STABLE && same && (!was_leader || in->supports_skip_assignment)) {
        w->skip_assignment = was_leader;
        persist(g, false);             /* the member id changed */
        answer(w, RB_KERR_NONE, g, m); /* current generation, no rebalance */
        return;
    }
    park_join(g, m, w);
}

static void join_unknown(struct rb_group *g, const struct rb_gjoin *in, struct rb_gwait *w)
{
    char id[320];
    const char *prefix = in->instance_id ? in->instance_id : (in->client_id ? in->client_id : "");
    new_member_id(g->mgr, prefix, id, sizeof(id));
    if (in->instance_id) {
        struct rb_gmember *m = member_by_instance(g, in->instance_id);
        if (m)
            join_static_unknown(g, m, id, in, w);
        else
            add_member_and_rebalance(g, id, in, w);
        return;
    }
    if (in->require_known_member_id) {
        add_pending(g, id, in->session_timeout_ms);
        w->member_id = id;
        answer(w, RB_KERR_MEMBER_ID_REQUIRED, g, NULL);
        return;
    }
    add_member_and_rebalance(g, id, in, w);
}

static void join_known(struct rb_group *g, const struct rb_gjoin *in, struct rb_gwait *w)
{
    if (take_pending(g, in->member_id)) {
        add_member_and_rebalance(g, in->member_id, in, w);
        return;
    }
    struct rb_gmember *m = rb_group_member(g, in->member_id);
    if (!m && in->instance_id && member_by_instance(g, in->instance_id)) {
        answer(w, RB_KERR_FENCED_INSTANCE_ID, g, NULL); /* an older incarnation */
        return;
    }
    if (!m || g->state == RB_GS_EMPTY) {
        answer(w, RB_KERR_UNKNOWN_MEMBER_ID, g, NULL);
        return;
    }
    if (in->instance_id && !str_eq(m->instance_id, in->instance_id)) {
        answer(w, RB_KERR_FENCED_INSTANCE_ID, g, NULL);
        return;
    }
    bool same = member_matches(m, in);
    bool is_leader = str_eq(g->leader, m->id);
    session_reset(g->mgr, m);
    if (g->state == RB_GS_PREPARING) {
        member_set_protocols(m, in);
        park_join(g, m, w);
    } else if (same && (g->state == RB_GS_COMPLETING || !is_leader)) {
        answer(w, RB_KERR_NONE, g, m); /* a rejoin with nothing new: current generation */
    } else {
        member_set_protocols(m, in);
        park_join(g, m, w);
    }
}

void rb_group_join(struct rb_group_mgr *mgr, const struct rb_gjoin *in, struct rb_gwait *w)
{
    w->member_id = in->member_id;
    if (!in->group_id[0]) {
        answer(w, RB_KERR_INVALID_GROUP_ID, NULL, NULL);
        return;
    }
    if (in->session_timeout_ms < mgr->min_session_ms ||
        in->session_timeout_ms > mgr->max_session_ms) {
        answer(w, RB_KERR_INVALID_SESSION_TIMEOUT, NULL, NULL);
        return;
    }
    if (!in->protocol_type || !in->protocol_type[0] || in->n_protocols <= 0) {
        answer(w, RB_KERR_INCONSISTENT_GROUP_PROTOCOL, NULL, NULL);
        return;
    }
    struct rb_group *g = rb_group_find(mgr, in->group_id);
    if (!g) {
        if (in->member_id[0]) {
            answer(w, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
            return;
        }
        g = rb_group_get_or_create(mgr, in->group_id);
    }
    if (g->state == RB_GS_DEAD) { /* being deleted: the client retries */
        answer(w, RB_KERR_COORDINATOR_NOT_AVAILABLE, NULL, NULL);
        return;
    }
    if (g->state != RB_GS_EMPTY &&
        (!str_eq(g->protocol_type, in->protocol_type) || !supports_protocols(g, in))) {
        answer(w, RB_KERR_INCONSISTENT_GROUP_PROTOCOL, g, NULL);
        return;
    }
    if (g->state == RB_GS_EMPTY && g->n_members == 0 && g->protocol_type &&
        !str_eq(g->protocol_type, in->protocol_type)) {
        free(g->protocol_type);
        g->protocol_type = NULL;
    }
    if (!in->member_id[0])
        join_unknown(g, in, w);
    else
        join_known(g, in, w);
    rb_group_gc(mgr, rb_group_find(mgr, in->group_id));
}

/* ---- sync, heartbeat, leave ---- */

static int16_t member_check(struct rb_group *g, const char *member_id, const char *instance_id,
                            struct rb_gmember **out)
{
    *out = NULL;
    if (!g || g->state == RB_GS_DEAD)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    struct rb_gmember *m = rb_group_member(g, member_id);
    if (!m)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (instance_id && !str_eq(m->instance_id, instance_id))
        return RB_KERR_FENCED_INSTANCE_ID;
    *out = m;
    return RB_KERR_NONE;
}

static void set_assignment(struct rb_gmember *m, const uint8_t *p, int32_t len)
{
    free(m->assignment);
    len = len > 0 ? len : 0;
    m->assignment = malloc((size_t)len + 1);
    RB_ASSERT(m->assignment);
    if (len)
        memcpy(m->assignment, p, (size_t)len);
    m->assignment_len = len;
}

void rb_group_sync(struct rb_group_mgr *mgr, const struct rb_gsync *in, struct rb_gwait *w)
{
    w->member_id = in->member_id;
    struct rb_group *g = rb_group_find(mgr, in->group_id);
    struct rb_gmember *m;
    int16_t err = member_check(g, in->member_id, in->instance_id, &m);
    if (!err && in->generation != g->generation)
        err = RB_KERR_ILLEGAL_GENERATION;
    if (!err && ((in->protocol_type && !str_eq(in->protocol_type, g->protocol_type)) ||
                 (in->protocol_name && !str_eq(in->protocol_name, g->protocol))))
        err = RB_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == RB_GS_PREPARING)
        err = RB_KERR_REBALANCE_IN_PROGRESS;
    if (!err && g->state == RB_GS_EMPTY)
        err = RB_KERR_UNKNOWN_MEMBER_ID;
    if (err) {
        answer(w, err, g, NULL);
        return;
    }
    session_reset(mgr, m);
    if (g->state == RB_GS_STABLE) {
        answer(w, RB_KERR_NONE, g, m);
        return;
    }
    struct rb_gwait *old = m->sync_wait;
    m->sync_wait = w;
    if (old)
        answer(old, RB_KERR_REBALANCE_IN_PROGRESS, g, m);
    if (!str_eq(g->leader, m->id))
        return;
    for (struct rb_gmember *x = g->members; x; x = x->next)
        set_assignment(x, NULL, 0);
    for (int i = 0; i < in->n_assign; i++) {
        struct rb_gmember *x = rb_group_member(g, in->assign_member[i]);
        if (x)
            set_assignment(x, in->assign[i], in->assign_len[i]);
    }
    set_state(g, RB_GS_STABLE);
    persist(g, false);
    for (struct rb_gmember *x = g->members; x; x = x->next) {
        struct rb_gwait *sw = x->sync_wait;
        x->sync_wait = NULL;
        if (sw)
            answer(sw, RB_KERR_NONE, g, x);
    }
}

int16_t rb_group_heartbeat(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                           const char *member_id, const char *instance_id)
{
    struct rb_group *g = rb_group_find(mgr, group_id);
    struct rb_gmember *m;
    int16_t err = member_check(g, member_id, instance_id, &m);
    if (err)
        return err;
    if (g->state == RB_GS_EMPTY)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return RB_KERR_ILLEGAL_GENERATION;
    session_reset(mgr, m);
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
        m = member_by_instance(g, instance_id);
    } else {
        if (take_pending(g, member_id)) {
            maybe_complete_join(g);
            rb_group_gc(mgr, g);
            return RB_KERR_NONE;
        }
        m = rb_group_member(g, member_id);
    }
    if (!m)
        return RB_KERR_UNKNOWN_MEMBER_ID;
    if (instance_id && !str_eq(m->instance_id, instance_id))
        return RB_KERR_FENCED_INSTANCE_ID;
    remove_member(g, m);
    rb_group_gc(mgr, g);
    return RB_KERR_NONE;
}

/* ---- offsets ---- */

int16_t rb_group_commit_check(struct rb_group_mgr *mgr, const char *group_id, int32_t generation,
                              const char *member_id, const char *instance_id, struct rb_group **out)
{
    *out = NULL;
    if (!group_id[0])
        return RB_KERR_INVALID_GROUP_ID;
    struct rb_group *g = rb_group_find(mgr, group_id);
    if (!g) {
        if (generation >= 0)
            return RB_KERR_ILLEGAL_GENERATION;
        *out = rb_group_get_or_create(mgr, group_id);
        return RB_KERR_NONE;
    }
    if (g->state == RB_GS_DEAD)
        return RB_KERR_COORDINATOR_NOT_AVAILABLE;
    if (generation < 0 && g->state == RB_GS_EMPTY) {
        *out = g;
        return RB_KERR_NONE;
    }
    struct rb_gmember *m;
    int16_t err = member_check(g, member_id, instance_id, &m);
    if (err == RB_KERR_FENCED_INSTANCE_ID)
        return err;
    if (g->state == RB_GS_COMPLETING)
        return RB_KERR_REBALANCE_IN_PROGRESS;
    if (err)
        return err;
    if (generation != g->generation)
        return RB_KERR_ILLEGAL_GENERATION;
    session_reset(mgr, m);
    *out = g;
    return RB_KERR_NONE;
}

int16_t rb_group_delete_check(struct rb_group_mgr *mgr, const char *group_id)
{
    struct rb_group *g = rb_group_find(mgr, group_id);
    if (!g || g->state == RB_GS_DEAD)
        return RB_KERR_GROUP_ID_NOT_FOUND;
    if (g->state != RB_GS_EMPTY)
        return RB_KERR_NON_EMPTY_GROUP;
    return RB_KERR_NONE;
}

/* Consumer protocol subscription: version int16, topics [string], ... Returns 1
 * when topic is in it, 0 when not, -1 when it does not parse. */
static int subscription_find(const uint8_t *p, int32_t len, const char *topic)
{
    if (!p || len < 6)
        return -1;
    size_t tl = strlen(topic);
    int32_t off = 2;
    int32_t n = (int32_t)rb_get_be32(p + off);
    off += 4;
    if (n < 0)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        if (off + 2 > len)
            return -1;
        int32_t sl = (int16_t)rb_get_be16(p + off);
        off += 2;
        if (sl < 0 || off + sl > len)
            return -1;
        if ((size_t)sl == tl && memcmp(p + off, topic, tl) == 0)
            return 1;
        off += sl;
    }
    return 0;
}

static bool subscription_has(const uint8_t *p, int32_t len, const char *topic)
{
    return subscription_find(p, len, topic) == 1;
}

bool rb_group_subscribed(const struct rb_group *g, const char *topic)
{
    if (!str_eq(g->protocol_type, "consumer"))
        return false;
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        int32_t len;
        const uint8_t *meta = rb_group_member_meta(g, m, &len);
        if (!meta && m->n_protocols > 0) {
            meta = m->proto_meta[0];
            len = m->proto_meta_len[0];
        }
        if (subscription_has(meta, len, topic))
            return true;
    }
    return false;
}

struct rb_goffset *rb_group_offset_get(struct rb_group *g, const char *topic, int32_t partition)
{
    for (struct rb_goffset *o = g->offsets; o; o = o->next)
        if (o->partition == partition && strcmp(o->topic, topic) == 0)
            return o;
    return NULL;
}

void rb_group_offset_put(struct rb_group *g, const char *topic, int32_t partition, int64_t offset,
                         int32_t leader_epoch, const char *metadata, int64_t commit_ts)
{
    struct rb_goffset *o = rb_group_offset_get(g, topic, partition);
    if (!o) {
        o = calloc(1, sizeof(*o));
        RB_ASSERT(o);
        o->topic = xstrdup(topic);
        o->partition = partition;
        o->next = g->offsets;
        g->offsets = o;
        g->n_offsets++;
    }
    free(o->metadata);
    o->metadata = xstrdup(metadata ? metadata : "");
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->commit_ts = commit_ts;
}

bool rb_group_offset_del(struct rb_group *g, const char *topic, int32_t partition)
{
    for (struct rb_goffset **pp = &g->offsets; *pp; pp = &(*pp)->next) {
        struct rb_goffset *o = *pp;
        if (o->partition == partition && strcmp(o->topic, topic) == 0) {
            *pp = o->next;
            free(o->topic);
            free(o->metadata);
            free(o);
            g->n_offsets--;
            return true;
        }
    }
    return false;
}

/* ---- offset expiry ---- */

/* Kafka's classic-group expiration condition: the base time of o's retention, or
 * INT64_MIN when o must not expire. */
static int64_t expiry_base(const struct rb_group *g, const struct rb_goffset *o)
{
    if (!g->protocol_type) /* standalone (simple) commits */
        return o->commit_ts;
    if (g->state == RB_GS_EMPTY)
        return g->state_ts >= 0 ? g->state_ts : o->commit_ts;
    if (g->state != RB_GS_STABLE || strcmp(g->protocol_type, "consumer") != 0)
        return INT64_MIN;
    /* Stable consumer group: only topics no member subscribes to (every member's
     * subscription must be known). */
    for (const struct rb_gmember *m = g->members; m; m = m->next) {
        int32_t len;
        const uint8_t *meta = rb_group_member_meta(g, m, &len);
        int r = subscription_find(meta, len, o->topic);
        if (r != 0)
            return INT64_MIN;
    }
    return o->commit_ts;
}

int rb_group_expire_offsets(struct rb_group *g, int64_t now, int64_t retention_ms,
                            void (*fn)(void *arg, struct rb_group *g, const struct rb_goffset *o),
                            void *arg)
{
    if (g->state == RB_GS_DEAD || retention_ms < 0)
        return 0;
    int n = 0;
    for (struct rb_goffset **pp = &g->offsets; *pp;) {
        struct rb_goffset *o = *pp;
        int64_t base = expiry_base(g, o);
        if (base == INT64_MIN || now - base < retention_ms) {
            pp = &o->next;
            continue;
        }
        if (fn)
            fn(arg, g, o);
        *pp = o->next;
        free(o->topic);
        free(o->metadata);
        free(o);
        g->n_offsets--;
        n++;
    }
    return n;
}

/* ---- group metadata records ---- */

static void load_member(struct rb_group *g, const struct rb_gmeta *meta,
                        const struct rb_gmeta_member *src)
{
    struct rb_group_mgr *mgr = g->mgr;
    struct rb_gmember *m = calloc(1, sizeof(*m));
    RB_ASSERT(m);
    m->group = g;
    m->id = xstrdup(src->id);
    m->instance_id = xstrdup(src->instance_id);
    m->client_id = xstrdup(src->client_id ? src->client_id : "");
    m->client_host = xstrdup(src->client_host ? src->client_host : "");
    /* One protocol: the group's, with the member's subscription (as Kafka). */
    const char *name = meta->protocol ? meta->protocol : "";
    int32_t len = src->subscription_len > 0 ? src->subscription_len : 0;
    struct rb_gjoin in = {
        .session_timeout_ms = src->session_timeout_ms,
        .rebalance_timeout_ms =
            src->rebalance_timeout_ms >= 0 ? src->rebalance_timeout_ms : src->session_timeout_ms,
        .n_protocols = 1,
        .proto_names = &name,
        .proto_meta = &src->subscription,
        .proto_meta_len = &len,
    };
    member_set_protocols(m, &in);
    set_assignment(m, src->assignment, src->assignment_len);
    rb_timer_init(&m->session_timer, session_expired);
    session_reset(mgr, m); /* a fresh session after a restart */
    struct rb_gmember **pp = &g->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->n_members++;
}

void rb_group_load_meta(struct rb_group_mgr *mgr, const char *id, const struct rb_gmeta *meta)
{
    struct rb_group *g = meta ? rb_group_get_or_create(mgr, id) : rb_group_find(mgr, id);
    if (!g || g->state == RB_GS_DEAD)
        return;
    rb_timer_cancel(mgr->timers, &g->join_timer);
    g->initial_delay = g->new_in_delay = false;
    while (g->members) {
        struct rb_gmember *m = g->members;
        member_unlink(g, m);
        if (m->join_wait)
            answer(m->join_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
        if (m->sync_wait)
            answer(m->sync_wait, RB_KERR_UNKNOWN_MEMBER_ID, NULL, NULL);
        member_free(mgr, m);
    }
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    g->protocol_type = g->protocol = g->leader = NULL;
    if (!meta) {
        g->generation = 0;
        g->persisted = false;
        transition(g, RB_GS_EMPTY, GCAUSE_LOAD, -1);
        rb_group_gc(mgr, g);
        return;
    }
    g->persisted = true;
    g->generation = meta->generation;
    g->protocol_type =
        meta->protocol_type && meta->protocol_type[0] ? xstrdup(meta->protocol_type) : NULL;
    g->protocol = xstrdup(meta->protocol);
    g->leader = xstrdup(meta->leader);
    for (int i = 0; i < meta->n_members; i++)
        load_member(g, meta, &meta->members[i]);
    transition(g, g->n_members ? RB_GS_STABLE : RB_GS_EMPTY, GCAUSE_LOAD, meta->state_ts);
    if (g->n_members && (!g->leader || !rb_group_member(g, g->leader))) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
}
