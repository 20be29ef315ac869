/*
 * coord/reassign.c - partition reassignment: the controller moves a partition's
 * replicas to a target set, copying the data to the new replicas before the old
 * ones are dropped, as Kafka 2.8's controller does (onPartitionReassignment).
 *
 * The request is /admin/reassign_partitions, written by Kafka 2.8's
 * kafka-reassign-partitions.sh --zookeeper --execute or `ringctl reassign`:
 * {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}.
 * For each entry (target TRS, original ORS) the controller:
 *   1. writes /brokers/topics/<t> with the replicas RS = TRS + (ORS - TRS),
 *      "adding_replicas" TRS - ORS and "removing_replicas" ORS - TRS (Kafka 2.8's
 *      version-2 fields); every broker now named adopts the partition and follows
 *      the leader from the leader's log start (part/follow.c), and the leader adds
 *      it to the ISR once caught up (part/isr.c, coord/isr_change.c);
 *   2. waits until every member of TRS is in the ISR (the state node's watch
 *      brings the controller back);
 *   3. in one fenced multi: the state (leader kept when it is in TRS and live and
 *      not shutting down, else the first live TRS member of the ISR; ISR shrunk to
 *      TRS; leader epoch bumped), the topic (RS = TRS, its adding/removing lists
 *      emptied) and the request without the entry (the node deleted when empty);
 *      every broker no longer named then drops its replica and deletes its log
 *      (coord/cluster.c, the path topic deletion takes).
 * Everything the controller needs is in the nodes: ORS is RS minus the topic's
 * "adding_replicas", so a new controller resumes where the last one stopped.
 * Entries naming an unknown topic or partition are dropped with a warning (Kafka
 * 2.8 does the same); a target broker that is not live is waited for. The etcd
 * backend holds the same nodes (coord/quorum.h), so this file serves both.
 */
#include "coord/cluster_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP    "controller"
#define RA_PATH "/admin/reassign_partitions"

static bool has(const int32_t *ids, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static bool same_list(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int32_t) * (size_t)na) == 0);
}

void rb_ra_plan(const struct rb_kzk_assignment *a, int32_t p, const struct rb_kzk_move *m,
                struct rb_ra_moving *mv)
{
    int32_t ors[RB_KZK_MAX_REPLICAS], n_ors = 0;
    for (int32_t k = 0; k < a->n_replicas[p]; k++)
        if (!has(a->adding[p], a->n_adding[p], a->replicas[p][k]))
            ors[n_ors++] = a->replicas[p][k];
    memset(mv, 0, sizeof(*mv));
    for (int32_t k = 0; k < m->n_replicas; k++) {
        mv->rs[mv->n_rs++] = m->replicas[k];
        if (!has(ors, n_ors, m->replicas[k]))
            mv->add[mv->n_add++] = m->replicas[k];
    }
    for (int32_t k = 0; k < n_ors; k++)
        if (!has(m->replicas, m->n_replicas, ors[k])) {
            mv->rs[mv->n_rs++] = ors[k];
            mv->rem[mv->n_rem++] = ors[k];
        }
}

/* /brokers/topics/<t> with partition p's lists set (RS, adding, removing). */
static char *topic_json(const struct rb_cl_topic *t, int32_t p, const int32_t *rs, int32_t n_rs,
                        const struct rb_ra_moving *mv)
{
    struct rb_kzk_assignment a;
    RB_ASSERT(rb_kzk_assignment_alloc(&a, t->a.n_partitions) == 0);
    size_t np = (size_t)t->a.n_partitions;
    a.has_id = t->a.has_id;
    memcpy(a.topic_id, t->a.topic_id, sizeof(a.topic_id));
    memcpy(a.n_replicas, t->a.n_replicas, np * sizeof(int32_t));
    memcpy(a.n_adding, t->a.n_adding, np * sizeof(int32_t));
    memcpy(a.n_removing, t->a.n_removing, np * sizeof(int32_t));
    memcpy(a.replicas, t->a.replicas, np * sizeof(*a.replicas));
    memcpy(a.adding, t->a.adding, np * sizeof(*a.adding));
    memcpy(a.removing, t->a.removing, np * sizeof(*a.removing));
    a.n_replicas[p] = n_rs;
    memcpy(a.replicas[p], rs, sizeof(int32_t) * (size_t)n_rs);
    a.n_adding[p] = mv ? mv->n_add : 0;
    a.n_removing[p] = mv ? mv->n_rem : 0;
    if (mv) {
        memcpy(a.adding[p], mv->add, sizeof(int32_t) * (size_t)mv->n_add);
        memcpy(a.removing[p], mv->rem, sizeof(int32_t) * (size_t)mv->n_rem);
    }
    char *js = rb_kzk_assignment_json(&a, true);
    RB_ASSERT(js);
    rb_kzk_assignment_free(&a);
    return js;
}

/* Step 1: the topic node names RS with its adding/removing lists. */
static bool start_move(struct rb_cluster *cl, struct rb_cl_topic *t, int32_t p,
                       const struct rb_ra_moving *mv)
{
    if (mv->n_rs > RB_KZK_MAX_REPLICAS) {
        RB_WARN(COMP, "%s-%d: a reassignment through %d replicas is more than %d: waiting", t->name,
                p, mv->n_rs, RB_KZK_MAX_REPLICAS);
        return false;
    }
    bool ok = rb_ctl_set_topic(cl, t, topic_json(t, p, mv->rs, mv->n_rs, mv));
    if (ok)
        RB_INFO(COMP, "%s-%d: reassigning: %d replica(s) added, %d to be removed once in sync",
                t->name, p, mv->n_add, mv->n_rem);
    return ok;
}

/* Step 3's new state, or false while the move must wait (with wait_isr: a target
 * not in the ISR; always: no target that can lead). */
static bool final_state(const struct rb_cluster *cl, const struct rb_cl_topic *t, int32_t p,
                        const struct rb_kzk_move *m, bool wait_isr, struct rb_kzk_state *ns)
{
    const struct rb_kzk_state *st = &t->st[p];
    for (int32_t k = 0; k < m->n_replicas && wait_isr; k++)
        if (!has(st->isr, st->n_isr, m->replicas[k]))
            return false;
    *ns = *st;
    ns->controller_epoch = cl->ctl_epoch;
    ns->leader_epoch = st->leader_epoch + 1;
    bool keep = st->leader >= 0 && has(m->replicas, m->n_replicas, st->leader) &&
                rb_cl_broker_live(cl, st->leader) && !rb_cl_shutting(cl, st->leader);
    ns->leader = keep ? st->leader : -1;
    for (int32_t k = 0; k < m->n_replicas && ns->leader < 0; k++)
        if (rb_cl_broker_live(cl, m->replicas[k]) && !rb_cl_shutting(cl, m->replicas[k]))
            ns->leader = m->replicas[k];
    for (int32_t k = 0; k < m->n_replicas && ns->leader < 0; k++)
        if (rb_cl_broker_live(cl, m->replicas[k]))
            ns->leader = m->replicas[k];
    if (ns->leader < 0)
        return false;
    ns->n_isr = 0;
    ns->isr[ns->n_isr++] = ns->leader;
    for (int32_t q = 0; q < st->n_isr; q++)
        if (st->isr[q] != ns->leader && has(m->replicas, m->n_replicas, st->isr[q]))
            ns->isr[ns->n_isr++] = st->isr[q];
    return true;
}

/* The request without entry skip (and those already dropped): a SET of the
 * remaining ones, or the DELETE of the node. */
static void rest_op(struct rb_cluster *cl, const struct rb_kzk_move *m, const bool *drop, int n,
                    struct rb_qop *op, char **buf)
{
    struct rb_kzk_move *rest = malloc(sizeof(*rest) * (size_t)(n ? n : 1));
    RB_ASSERT(rest);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!drop[i])
            rest[k++] = m[i];
    *buf = NULL;
    if (k == 0) {
        *op = (struct rb_qop){.type = RB_QOP_DELETE, .path = RA_PATH, .version = cl->ra_version};
    } else {
        *buf = rb_kzk_moves_json(rest, k);
        RB_ASSERT(*buf);
        *op = (struct rb_qop){.type = RB_QOP_SET,
                              .path = RA_PATH,
                              .data = *buf,
                              .len = strlen(*buf),
                              .version = cl->ra_version};
    }
    free(rest);
}

/* Step 3 for entry i: state, topic and request in one fenced multi. */
static bool finish_move(struct rb_cluster *cl, struct rb_cl_topic *t, const struct rb_kzk_move *m,
                        bool *drop, int n, int i, const struct rb_kzk_state *ns)
{
    int32_t p = m[i].partition;
    char tpath[300], spath[420];
    snprintf(tpath, sizeof(tpath), "/brokers/topics/%s", t->name);
    snprintf(spath, sizeof(spath), "%s/partitions/%d/state", tpath, p);
    char *sj = rb_kzk_state_json(ns), *tj = topic_json(t, p, m[i].replicas, m[i].n_replicas, NULL);
    RB_ASSERT(sj);
    drop[i] = true;
    char *rj = NULL;
    struct rb_qop ops[4] = {
        {0},
        {.type = RB_QOP_SET,
         .path = spath,
         .data = sj,
         .len = strlen(sj),
         .version = t->st_version[p]},
        {.type = RB_QOP_SET,
         .path = tpath,
         .data = tj,
         .len = strlen(tj),
         .version = t->assign_version},
    };
    rest_op(cl, m, drop, n, &ops[3], &rj);
    int r = rb_ctl_multi(cl, ops, 4);
    free(sj);
    free(tj);
    free(rj);
    t->assign_dirty = t->st_dirty[p] = cl->ra_dirty = true;
    if (r)
        drop[i] = false; /* not done: tried again after the re-read */
    if (r == 0)
        RB_INFO(COMP, "%s-%d: reassignment complete: leader %d, leader epoch %d", t->name, p,
                ns->leader, ns->leader_epoch);
    return r == 0;
}

/* Entry i: what to do now. 1 when it wrote (the caller stops: the nodes written
 * are read again first), else 0; drop[i] set when the entry leaves the request
 * without a write of its own (unknown partition, already on its target). */
static int step(struct rb_cluster *cl, struct rb_kzk_move *m, bool *drop, int n, int i)
{
    struct rb_cl_topic *t = rb_cl_topic_find(cl, m[i].topic);
    int32_t p = m[i].partition;
    if (!t || (!t->assign_dirty && t->assign_version >= 0 && p >= t->a.n_partitions)) {
        RB_WARN(COMP, "%s: %s-%d: no such %s: entry dropped", RA_PATH, m[i].topic, p,
                t ? "partition" : "topic");
        drop[i] = true;
        return 0;
    }
    if (t->assign_dirty || t->assign_version < 0 || t->st_dirty[p] || t->st_version[p] < 0)
        return 0; /* read it first */
    struct rb_ra_moving mv;
    rb_ra_plan(&t->a, p, &m[i], &mv);
    const struct rb_kzk_assignment *a = &t->a;
    struct rb_kzk_state ns;
    if (same_list(a->replicas[p], a->n_replicas[p], m[i].replicas, m[i].n_replicas) &&
        a->n_adding[p] == 0 && a->n_removing[p] == 0) {
        /* On its target (or a cancelled move back on its original replicas): done
         * once the ISR and the leader are inside it. */
        const struct rb_kzk_state *st = &t->st[p];
        bool outside = st->leader >= 0 && !has(m[i].replicas, m[i].n_replicas, st->leader);
        for (int32_t q = 0; q < st->n_isr && !outside; q++)
            outside = !has(m[i].replicas, m[i].n_replicas, st->isr[q]);
        if (outside && final_state(cl, t, p, &m[i], false, &ns))
            return finish_move(cl, t, m, drop, n, i, &ns) ? 1 : 0;
        RB_INFO(COMP, "%s-%d: on its target replicas", t->name, p);
        drop[i] = true;
        return 0;
    }
    if (!same_list(a->replicas[p], a->n_replicas[p], mv.rs, mv.n_rs) ||
        !same_list(a->adding[p], a->n_adding[p], mv.add, mv.n_add) ||
        !same_list(a->removing[p], a->n_removing[p], mv.rem, mv.n_rem))
        return start_move(cl, t, p, &mv) ? 1 : 0;
    if (!final_state(cl, t, p, &m[i], true, &ns))
        return 0; /* the new replicas are catching up */
    return finish_move(cl, t, m, drop, n, i, &ns) ? 1 : 0;
}

bool rb_ra_ctl_run(struct rb_cluster *cl)
{
    if (!cl->ra_pending || cl->ra_dirty || !cl->is_controller)
        return false;
    struct rb_kzk_move *m = NULL;
    int n = 0;
    char err[256];
    bool wrote = false;
    if (rb_kzk_parse_moves(cl->ra_data, &m, &n, err, sizeof(err))) {
        RB_WARN(COMP, "%s: %s: deleted", RA_PATH, err);
        struct rb_qop ops[2] = {
            {0}, {.type = RB_QOP_DELETE, .path = RA_PATH, .version = cl->ra_version}};
        wrote = rb_ctl_multi(cl, ops, 2) == 0;
        cl->ra_dirty = true;
        return wrote;
    }
    bool *drop = calloc((size_t)(n ? n : 1), 1);
    RB_ASSERT(drop);
    int w = 0;
    for (int i = 0; i < n && !w && cl->is_controller; i++)
        w = step(cl, m, drop, n, i);
    wrote = w > 0;
    bool dropped = false;
    for (int i = 0; i < n; i++)
        dropped |= drop[i];
    if (!wrote && (dropped || n == 0) && cl->is_controller) {
        char *rj = NULL;
        struct rb_qop ops[2] = {{0}};
        rest_op(cl, m, drop, n, &ops[1], &rj);
        wrote = rb_ctl_multi(cl, ops, 2) == 0;
        free(rj);
        cl->ra_dirty = true;
    }
    free(drop);
    free(m);
    return wrote;
}
