/*
 * coord/reassign_api.c - KIP-455's reassignment requests on the coordination
 * thread: AlterPartitionReassignments merged into /admin/reassign_partitions (the
 * controller runs them: coord/reassign.c), ListPartitionReassignments from the
 * view. Any broker answers them (the node is the hand-off, as with Kafka 2.8's
 * --zookeeper tool), so a client that sends them to a non-controller still works.
 *
 * Alter: each partition is checked against the view (UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REPLICA_ASSIGNMENT for an empty list, a repeated or unregistered
 * broker); a list replaces the partition's entry, a null list cancels it: the
 * entry becomes the original replicas (RS minus adding), or
 * NO_REASSIGNMENT_IN_PROGRESS when there is none. The node is written
 * conditionally on the version read (a lost race is read and merged again, at most
 * 5 times); it is created when absent. List: a partition whose topic node names
 * adding or removing replicas, and one asked for and not started yet, with the
 * lists it will have (rb_ra_plan).
 */
#include "coord/cluster_int.h"
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP    "controller"
#define RA_PATH "/admin/reassign_partitions"

#define SPEC_ERR(sp, code, ...)                                                                    \
    do {                                                                                           \
        (sp)->error = (code);                                                                      \
        snprintf((sp)->error_message, sizeof((sp)->error_message), __VA_ARGS__);                   \
    } while (0)

static bool in_ids(const int32_t *ids, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* The topic as this broker last read it, with partition p; NULL when unknown. */
static const struct rb_cl_topic *known(struct rb_cluster *cl, const char *topic, int32_t p)
{
    const struct rb_cl_topic *t = rb_cl_topic_find(cl, topic);
    if (!t || t->assign_version < 0 || p < 0 || p >= t->a.n_partitions)
        return NULL;
    return t;
}

static int find_move(const struct rb_kzk_move *m, int n, const char *topic, int32_t p)
{
    for (int i = 0; i < n; i++)
        if (m[i].partition == p && strcmp(m[i].topic, topic) == 0)
            return i;
    return -1;
}

/* Check sp and merge it into m (*n entries, room for one more). */
static void merge(struct rb_cluster *cl, struct rb_reassign_spec *sp, struct rb_kzk_move *m, int *n)
{
    const struct rb_cl_topic *t = known(cl, sp->topic, sp->partition);
    if (!t || strlen(sp->topic) >= sizeof(m->topic)) {
        SPEC_ERR(sp, RB_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                 "This server does not host this topic-partition.");
        return;
    }
    int32_t p = sp->partition;
    struct rb_kzk_move e = {.partition = p};
    snprintf(e.topic, sizeof(e.topic), "%s", sp->topic);
    int at = find_move(m, *n, sp->topic, p);
    if (sp->n_replicas < 0) { /* cancel: back to the original replicas */
        if (at < 0 && t->a.n_adding[p] == 0 && t->a.n_removing[p] == 0) {
            SPEC_ERR(sp, RB_KERR_NO_REASSIGNMENT_IN_PROGRESS,
                     "No reassignment in progress for %.120s-%d", sp->topic, p);
            return;
        }
        for (int32_t k = 0; k < t->a.n_replicas[p]; k++)
            if (!in_ids(t->a.adding[p], t->a.n_adding[p], t->a.replicas[p][k]))
                e.replicas[e.n_replicas++] = t->a.replicas[p][k];
    } else {
        if (sp->n_replicas == 0 || sp->n_replicas > RB_KZK_MAX_REPLICAS) {
            SPEC_ERR(sp, RB_KERR_INVALID_REPLICA_ASSIGNMENT,
                     "The replica list must name 1 to %d brokers", RB_KZK_MAX_REPLICAS);
            return;
        }
        for (int32_t k = 0; k < sp->n_replicas; k++) {
            int32_t id = sp->replicas[k];
            if (in_ids(e.replicas, e.n_replicas, id)) {
                SPEC_ERR(sp, RB_KERR_INVALID_REPLICA_ASSIGNMENT,
                         "Duplicate replica %d in the replica list", id);
                return;
            }
            if (id < 0 || !rb_cl_broker_live(cl, id)) {
                SPEC_ERR(sp, RB_KERR_INVALID_REPLICA_ASSIGNMENT, "Unknown broker id %d", id);
                return;
            }
            e.replicas[e.n_replicas++] = id;
        }
    }
    if (at >= 0)
        m[at] = e;
    else
        m[(*n)++] = e;
}

/* One read-merge-write of the node; 0, -ESTALE/-EEXIST (raced: again) or the
 * quorum's error. */
static int alter_once(struct rb_cluster *cl, struct rb_reassign_spec *specs, int n_specs)
{
    char *data = NULL;
    int64_t ver = -1;
    int r = rb_quorum_get(cl->q, RA_PATH, false, &data, NULL, &ver);
    if (r && r != -ENOENT)
        return r;
    struct rb_kzk_move *cur = NULL;
    int n = 0;
    if (r == 0 && rb_kzk_parse_moves(data, &cur, &n, NULL, 0))
        n = 0; /* malformed: the controller deletes it; replaced here */
    free(data);
    struct rb_kzk_move *m = calloc((size_t)(n + n_specs + 1), sizeof(*m));
    RB_ASSERT(m);
    if (n)
        memcpy(m, cur, sizeof(*m) * (size_t)n);
    free(cur);
    int n0 = n;
    bool any = false;
    for (int i = 0; i < n_specs; i++) {
        specs[i].error = 0;
        specs[i].error_message[0] = 0;
        merge(cl, &specs[i], m, &n);
        any |= specs[i].error == 0;
    }
    if (!any) {
        free(m);
        return 0;
    }
    char *js = rb_kzk_moves_json(m, n);
    RB_ASSERT(js);
    if (r == -ENOENT)
        r = rb_quorum_create(cl->q, RA_PATH, js, strlen(js), 0, NULL, 0);
    else
        r = rb_quorum_set(cl->q, RA_PATH, js, strlen(js), ver, NULL);
    if (r == 0)
        RB_INFO(COMP, "%s: %d partition(s) asked to move (%d already)", RA_PATH, n - n0, n0);
    free(js);
    free(m);
    return r;
}

static void alter(struct rb_cluster *cl, struct rb_reassign_spec *specs, int n)
{
    int r = -ENOTCONN;
    for (int attempt = 0; attempt < 5 && cl->q && !cl->session_lost; attempt++) {
        r = alter_once(cl, specs, n);
        if (r != -ESTALE && r != -EEXIST)
            break;
    }
    if (r == 0)
        return;
    if (r != -ESTALE && r != -EEXIST)
        rb_cl_quorum_error(cl, r);
    for (int i = 0; i < n; i++)
        if (!specs[i].error)
            SPEC_ERR(&specs[i], RB_KERR_REQUEST_TIMED_OUT, "cannot write %s: %s", RA_PATH,
                     rb_quorum_strerror(r));
}

static void add_ongoing(struct rb_reassign_list *l, int *cap, const char *topic, int32_t p,
                        const struct rb_ra_moving *mv)
{
    if (l->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        l->v = realloc(l->v, sizeof(*l->v) * (size_t)*cap);
        RB_ASSERT(l->v);
    }
    struct rb_reassign_ongoing *o = &l->v[l->n++];
    snprintf(o->topic, sizeof(o->topic), "%s", topic);
    o->partition = p;
    o->n_replicas = mv->n_rs;
    o->n_adding = mv->n_add;
    o->n_removing = mv->n_rem;
    memcpy(o->replicas, mv->rs, sizeof(int32_t) * (size_t)mv->n_rs);
    memcpy(o->adding, mv->add, sizeof(int32_t) * (size_t)mv->n_add);
    memcpy(o->removing, mv->rem, sizeof(int32_t) * (size_t)mv->n_rem);
}

static void list(struct rb_cluster *cl, struct rb_reassign_list *l)
{
    struct rb_kzk_move *m = NULL;
    int n = 0, cap = 0;
    if (cl->ra_pending && rb_kzk_parse_moves(cl->ra_data, &m, &n, NULL, 0))
        n = 0;
    for (int i = 0; i < cl->n_topics; i++) {
        const struct rb_cl_topic *t = &cl->topics[i];
        for (int32_t p = 0; t->assign_version >= 0 && p < t->a.n_partitions; p++) {
            struct rb_ra_moving mv = {0};
            int at = find_move(m, n, t->name, p);
            if (at >= 0 && t->a.n_adding[p] == 0 && t->a.n_removing[p] == 0) {
                rb_ra_plan(&t->a, p, &m[at], &mv); /* asked, not started yet */
            } else if (t->a.n_adding[p] || t->a.n_removing[p]) {
                mv.n_rs = t->a.n_replicas[p];
                memcpy(mv.rs, t->a.replicas[p], sizeof(int32_t) * (size_t)mv.n_rs);
                mv.n_add = t->a.n_adding[p];
                memcpy(mv.add, t->a.adding[p], sizeof(int32_t) * (size_t)mv.n_add);
                mv.n_rem = t->a.n_removing[p];
                memcpy(mv.rem, t->a.removing[p], sizeof(int32_t) * (size_t)mv.n_rem);
            }
            if ((mv.n_add || mv.n_rem) && mv.n_rs <= 64)
                add_ongoing(l, &cap, t->name, p, &mv);
        }
    }
    free(m);
}

static void coord_alter(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_reassign_spec *specs = op->cl_aux;
    struct rb_coord *c = cs->coord;
    struct rb_cluster *cl = c->cl;
    if (cl)
        alter(cl, specs, op->n);
    for (int i = 0; !cl && i < op->n; i++)
        SPEC_ERR(&specs[i], RB_KERR_INVALID_REQUEST,
                 "A standalone broker has no other broker to move replicas to");
    rb_coord_op_finish(cs, op);
}

static void coord_list(struct rb_shard *cs, void *arg)
{
    struct rb_coord_op *op = arg;
    struct rb_reassign_list *l = op->cl_aux;
    struct rb_coord *c = cs->coord;
    struct rb_cluster *cl = c->cl;
    if (cl)
        list(cl, l);
    rb_coord_op_finish(cs, op);
}

void rb_coord_alter_reassignments(struct rb_shard *from, struct rb_reassign_spec *specs, int n,
                                  rb_coord_done_fn done, void *arg)
{
    struct rb_coord_op *op = rb_coord_op_new(from, n, false, done, arg);
    op->cl_aux = specs;
    rb_post(from, from->rt->n_shards, coord_alter, op);
}

void rb_coord_list_reassignments(struct rb_shard *from, struct rb_reassign_list *out,
                                 rb_coord_done_fn done, void *arg)
{
    memset(out, 0, sizeof(*out));
    struct rb_coord_op *op = rb_coord_op_new(from, 0, false, done, arg);
    op->cl_aux = out;
    rb_post(from, from->rt->n_shards, coord_list, op);
}
