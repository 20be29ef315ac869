/*
 * coord/controller.c - the controller: the one broker, elected through the
 * ephemeral /controller node, that writes partition leadership. Election creates
 * /controller and bumps /controller_epoch in one multi; every later write of the
 * controller is a multi that first checks /controller_epoch's version, so a
 * controller that lost its place (paused, cut off, expired) cannot write any more
 * (fencing). Its duties over the view (coord/cluster.c keeps it current):
 *   - a topic without "topic_id" (written by Kafka 2.8's TopicCommand) gets one;
 *   - a partition without a state node gets one: leader = the first live replica,
 *     ISR = every live replica, leader epoch 0;
 *   - a partition whose leader is not live gets a new leader from its ISR's live
 *     members, in replica order, with the leader epoch bumped and the ISR's live
 *     members kept; with none, leader -1 and the ISR kept (no unclean election:
 *     the last leader comes back to it), unless unclean.leader.election.enable
 *     (the topic's, else the broker's) lets any live replica lead;
 *   - a live leader's ISR loses its dead members, with the leader epoch bumped
 *     (coord/isr_change.c; never the leader, never empty, Kafka 2.8's rule);
 *   - /isr_change_notification/<seq> nodes left by leaders are consumed;
 *     a partition that never had a leader (empty ISR) takes any live replica;
 *   - brokers asking for a controlled shutdown lose their leaderships and ISR
 *     places to the other in-sync replicas (coord/shutdown.c);
 *   - preferred leader election, asked or periodic (coord/preferred.c);
 *   - partition reassignment through /admin/reassign_partitions (coord/reassign.c);
 *   - /admin/delete_topics/<t>: the topic's nodes are deleted (children first),
 *     then its config and the request; every broker then drops its replicas.
 * State writes are conditional on the state node's version: a concurrent change
 * makes the write fail and the node is read again before the next attempt.
 */
#include "coord/cluster_int.h"
#include "core/defect.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMP "controller"

void rb_ctl_elect(struct rb_cluster *cl)
{
    if (!cl->q || cl->session_lost)
        return;
    char *data = NULL;
    int64_t ver = -1;
    int r = rb_quorum_get(cl->q, "/controller_epoch", false, &data, NULL, &ver);
    int32_t epoch = 0;
    if (r == 0) {
        epoch = (int32_t)strtol(data ? data : "0", NULL, 10);
        if (epoch < 0)
            epoch = 0;
    } else if (r != -ENOENT) {
        free(data);
        rb_cl_quorum_error(cl, r);
        return;
    }
    free(data);
    int32_t next = epoch + 1;
    char ebuf[16];
    snprintf(ebuf, sizeof(ebuf), "%d", next);
    char *cj = rb_kzk_controller_json(cl->self, rb_wall_ms());
    RB_ASSERT(cj);
    struct rb_qop ops[2] = {
        {.type = RB_QOP_CREATE,
         .path = "/controller",
         .data = cj,
         .len = strlen(cj),
         .flags = RB_QC_EPHEMERAL},
        {.type = r == -ENOENT ? RB_QOP_CREATE : RB_QOP_SET,
         .path = "/controller_epoch",
         .data = ebuf,
         .len = strlen(ebuf),
         .version = ver},
    };
    int failed = -1;
    r = rb_quorum_multi(cl->q, ops, 2, &failed);
    free(cj);
    cl->controller_dirty = true; /* read /controller again (and re-arm its watch) */
    if (r) {
        if (r != -EEXIST && r != -ESTALE)
            rb_cl_quorum_error(cl, r);
        return;
    }
    int64_t v2 = -1;
    r = rb_quorum_get(cl->q, "/controller_epoch", false, &data, NULL, &v2);
    if (r == 0 && strtol(data, NULL, 10) == next) {
        cl->is_controller = true;
        cl->ctl_epoch = next;
        cl->ctl_epoch_version = v2;
        cl->deletes_dirty = cl->isr_notes_dirty = true;
        RB_INFO(COMP, "broker %d is the controller (controller epoch %d)", cl->self, next);
    }
    free(data);
}

int rb_ctl_multi(struct rb_cluster *cl, struct rb_qop *ops, int n)
{
    ops[0] = (struct rb_qop){
        .type = RB_QOP_CHECK, .path = "/controller_epoch", .version = cl->ctl_epoch_version};
    int failed = -1;
    int r = RB_DEFECT(UNFENCED_CONTROLLER) ? rb_quorum_multi(cl->q, ops + 1, n - 1, &failed)
                                           : rb_quorum_multi(cl->q, ops, n, &failed);
    if (RB_DEFECT(UNFENCED_CONTROLLER) && r)
        failed++;
    if (r && failed == 0) {
        RB_WARN(COMP, "/controller_epoch moved on: broker %d is no longer the controller",
                cl->self);
        cl->is_controller = false;
        cl->controller_dirty = true;
    } else if (r && r != -ESTALE && r != -EEXIST && r != -ENOENT) {
        rb_cl_quorum_error(cl, r);
    }
    return r;
}

/* The controller's multis stay small: etcd refuses a txn of more than 128
 * operations, ZooKeeper a request over its 1 MiB jute.maxbuffer. */
#define CTL_BATCH_OPS 64

struct batch {
    struct rb_qop ops[CTL_BATCH_OPS + 1]; /* [0]: the epoch check */
    char *bufs[2 * CTL_BATCH_OPS];        /* a path and its data per op */
    int n, nb;
};

/* Apply the batch as one fenced multi (nothing when empty); true when it wrote. */
static bool batch_flush(struct rb_cluster *cl, struct batch *b, const char *what)
{
    bool wrote = false;
    if (b->n > 0 && cl->is_controller) {
        int r = rb_ctl_multi(cl, b->ops, b->n + 1);
        wrote = r == 0;
        if (r && cl->is_controller)
            RB_WARN(COMP, "%s: %s (retried)", what, rb_quorum_strerror(r));
    }
    for (int i = 0; i < b->nb; i++)
        free(b->bufs[i]);
    b->n = b->nb = 0;
    return wrote;
}

static void batch_add(struct batch *b, enum rb_qop_type type, char *path, char *data)
{
    /* callers flush at CTL_BATCH_OPS ops; an op owns at most a path and its data */
    RB_ASSERT(b->n < CTL_BATCH_OPS && b->nb + 2 <= (int)(sizeof(b->bufs) / sizeof(b->bufs[0])));
    b->ops[1 + b->n++] = (struct rb_qop){
        .type = type, .path = path, .data = data, .len = data ? strlen(data) : 0, .version = -1};
    b->bufs[b->nb++] = path;
    if (data)
        b->bufs[b->nb++] = data;
}

/* The paths of path's subtree, children before their parent, appended to *out. */
static int list_tree(struct rb_cluster *cl, const char *path, char ***out, int *n, int *cap)
{
    char **names = NULL;
    int k = 0;
    int r = rb_quorum_children(cl->q, path, false, &names, &k);
    if (r == -ENOENT)
        return 0;
    if (r)
        return r;
    for (int i = 0; i < k && !r; i++) {
        char child[1024];
        snprintf(child, sizeof(child), "%s/%s", path, names[i]);
        r = list_tree(cl, child, out, n, cap);
    }
    free(names);
    if (r)
        return r;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *out = realloc(*out, sizeof(char *) * (size_t)*cap);
        RB_ASSERT(*out);
    }
    (*out)[(*n)++] = strdup(path);
    return 0;
}

/* Delete topic `name`: its subtree under /brokers/topics (children before their
 * parent), its config and the request, in fenced batches (a controller that lost
 * its place deletes nothing more; the next one finishes from the request). */
static int delete_topic(struct rb_cluster *cl, const char *name)
{
    char **paths = NULL;
    int n = 0, cap = 0;
    char path[400];
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int r = list_tree(cl, path, &paths, &n, &cap);
    char cfg[400], req[400];
    snprintf(cfg, sizeof(cfg), "/config/topics/%s", name);
    snprintf(req, sizeof(req), "/admin/delete_topics/%s", name);
    if (!r && rb_quorum_exists(cl->q, cfg, false, NULL) == 0) {
        paths = realloc(paths, sizeof(char *) * (size_t)(n + 2));
        RB_ASSERT(paths);
        paths[n++] = strdup(cfg);
    }
    if (!r) {
        paths = realloc(paths, sizeof(char *) * (size_t)(n + 1));
        RB_ASSERT(paths);
        paths[n++] = strdup(req);
    }
    struct batch *b = calloc(1, sizeof(*b));
    RB_ASSERT(b);
    for (int i = 0; !r && i < n; i++) {
        batch_add(b, RB_QOP_DELETE, paths[i], NULL);
        paths[i] = NULL;
        if (b->n == CTL_BATCH_OPS || i == n - 1) {
            b->nb = 0; /* the paths are freed below, after the multi */
            int rr = cl->is_controller ? rb_ctl_multi(cl, b->ops, b->n + 1) : -ESTALE;
            for (int k = 1; k <= b->n; k++)
                free((char *)b->ops[k].path);
            b->n = 0;
            r = rr;
        }
    }
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(b);
    return r;
}

static bool run_deletes(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, "/admin/delete_topics", true, &names, &n);
    if (r) {
        rb_cl_quorum_error(cl, r);
        return false;
    }
    cl->deletes_dirty = false;
    bool wrote = false;
    for (int i = 0; i < n && cl->is_controller; i++) {
        r = delete_topic(cl, names[i]);
        if (r) {
            RB_WARN(COMP, "deleting topic %s: %s (retried on the next change)", names[i],
                    rb_quorum_strerror(r));
            rb_cl_quorum_error(cl, r);
            cl->deletes_dirty = true;
            break;
        }
        RB_INFO(COMP, "deleted topic %s", names[i]);
        cl->topics_dirty = true;
        wrote = true;
    }
    free(names);
    return wrote;
}

static bool give_topic_id(struct rb_cluster *cl, struct rb_cl_topic *t)
{
    bool known = t->a.has_id; /* written back when the node lost it */
    if (!known)
        rb_uuid_random(t->a.topic_id);
    t->a.has_id = true;
    char *js = rb_kzk_assignment_json(&t->a, true);
    t->a.has_id = known;
    return rb_ctl_set_topic(cl, t, js);
}

bool rb_ctl_set_topic(struct rb_cluster *cl, struct rb_cl_topic *t, char *js)
{
    RB_ASSERT(js);
    char path[300];
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    struct rb_qop ops[2] = {{0},
                            {.type = RB_QOP_SET,
                             .path = path,
                             .data = js,
                             .len = strlen(js),
                             .version = t->assign_version}};
    int r = rb_ctl_multi(cl, ops, 2);
    free(js);
    t->assign_dirty = true;
    return r == 0;
}

/* unclean.leader.election.enable: the topic's config, else the broker's (false). */
static bool unclean_allowed(const struct rb_cluster *cl, const struct rb_cl_topic *t)
{
    static const char key[] = "unclean.leader.election.enable";
    for (int32_t i = 0; i < t->cfg.n; i++)
        if (strcmp(t->cfg.keys[i], key) == 0)
            return strcasecmp(t->cfg.values[i], "true") == 0;
    const char *v = cl->c ? rb_config_get(cl->c->config, key) : NULL;
    return v && strcasecmp(v, "true") == 0;
}

/* The new state of partition p, or false when it stays as it is. */
static bool elect(struct rb_cluster *cl, const struct rb_cl_topic *t, int32_t p,
                  struct rb_kzk_state *ns)
{
    const struct rb_kzk_state *st = &t->st[p];
    const int32_t *rep = t->a.replicas[p];
    int32_t n_rep = t->a.n_replicas[p];
    bool exists = t->st_version[p] >= 0;
    if (exists && st->leader >= 0 && rb_cl_broker_live(cl, st->leader))
        return false;
    memset(ns, 0, sizeof(*ns));
    ns->controller_epoch = cl->ctl_epoch;
    ns->leader = -1;
    ns->leader_epoch = exists ? st->leader_epoch + 1 : 0;
    bool fresh = !exists || st->n_isr == 0;
    for (int32_t k = 0; k < n_rep && ns->leader < 0; k++) {
        if (!rb_cl_broker_live(cl, rep[k]))
            continue;
        bool in_isr = fresh;
        for (int32_t q = 0; q < st->n_isr && !in_isr; q++)
            in_isr = st->isr[q] == rep[k];
        if (in_isr)
            ns->leader = rep[k];
    }
    if (ns->leader < 0 && unclean_allowed(cl, t)) {
        /* unclean.leader.election.enable: any live replica rather than none; what
         * only the old ISR had is lost. */
        for (int32_t k = 0; k < n_rep && ns->leader < 0; k++)
            if (rb_cl_broker_live(cl, rep[k]) && !rb_cl_shutting(cl, rep[k]))
                ns->leader = rep[k];
        if (ns->leader >= 0) {
            RB_WARN(COMP,
                    "%s-%d: unclean leader election: broker %d leads from outside the ISR; "
                    "records only the old ISR held are lost",
                    t->name, p, ns->leader);
            ns->n_isr = 1;
            ns->isr[0] = ns->leader;
            return true;
        }
    }
    if (ns->leader >= 0) {
        ns->n_isr = 1;
        ns->isr[0] = ns->leader;
        for (int32_t k = 0; k < n_rep; k++) { /* the live members of the last ISR */
            bool in_isr = fresh;
            for (int32_t q = 0; q < st->n_isr && !in_isr; q++)
                in_isr = st->isr[q] == rep[k];
            if (rep[k] != ns->leader && in_isr && rb_cl_broker_live(cl, rep[k]))
                ns->isr[ns->n_isr++] = rep[k];
        }
        return true;
    }
    if (exists && st->leader < 0)
        return false; /* offline, and still no candidate */
    /* No live candidate: no leader, the ISR kept for the last leader's return. */
    ns->n_isr = exists ? st->n_isr : 0;
    memcpy(ns->isr, st->isr, sizeof(int32_t) * (size_t)ns->n_isr);
    if (!exists) {
        ns->n_isr = 0;
    }
    return true;
}

/* Create the missing state nodes of t (and their parents), in fenced batches. */
static bool create_states(struct rb_cluster *cl, struct rb_cl_topic *t)
{
    char base[320];
    snprintf(base, sizeof(base), "/brokers/topics/%s/partitions", t->name);
    bool have_base = rb_quorum_exists(cl->q, base, false, NULL) == 0;
    struct batch *b = calloc(1, sizeof(*b));
    RB_ASSERT(b);
    char what[400];
    snprintf(what, sizeof(what), "creating the partition states of %s", t->name);
    bool wrote = false;
    if (!have_base) {
        batch_add(b, RB_QOP_CREATE, strdup(base), NULL);
        if (!batch_flush(cl, b, what)) {
            free(b);
            return false;
        }
        wrote = true;
    }
    for (int32_t p = 0; p < t->a.n_partitions && cl->is_controller; p++) {
        if (t->st_dirty[p] || t->st_version[p] != -1)
            continue;
        struct rb_kzk_state ns;
        if (!elect(cl, t, p, &ns))
            continue;
        char *pp = malloc(400), *sp = malloc(420), *js = rb_kzk_state_json(&ns);
        RB_ASSERT(pp && sp && js);
        snprintf(pp, 400, "%s/%d", base, p);
        snprintf(sp, 420, "%s/%d/state", base, p);
        if (b->n + 2 > CTL_BATCH_OPS)
            wrote |= batch_flush(cl, b, what);
        if (!have_base || rb_quorum_exists(cl->q, pp, false, NULL) == -ENOENT)
            batch_add(b, RB_QOP_CREATE, pp, NULL);
        else
            free(pp);
        batch_add(b, RB_QOP_CREATE, sp, js);
        t->st_dirty[p] = true;
    }
    wrote |= batch_flush(cl, b, what);
    free(b);
    return wrote;
}

bool rb_ctl_update_state(struct rb_cluster *cl, struct rb_cl_topic *t, int32_t p,
                         const struct rb_kzk_state *ns)
{
    char path[420];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", t->name, p);
    char *js = rb_kzk_state_json(ns);
    RB_ASSERT(js);
    struct rb_qop ops[2] = {{0},
                            {.type = RB_QOP_SET,
                             .path = path,
                             .data = js,
                             .len = strlen(js),
                             .version = t->st_version[p]}};
    int r = rb_ctl_multi(cl, ops, 2);
    free(js);
    t->st_dirty[p] = true;
    if (r == 0)
        RB_INFO(COMP, "%s-%d: leader %d, leader epoch %d", t->name, p, ns->leader,
                ns->leader_epoch);
    return r == 0;
}

bool rb_ctl_run(struct rb_cluster *cl)
{
    bool wrote = false;
    if (cl->deletes_dirty)
        wrote |= run_deletes(cl);
    if (cl->isr_notes_dirty)
        (void)rb_ctl_isr_notes(cl);
    if (cl->n_shutting)
        wrote |= rb_cs_ctl_run(cl);
    wrote |= rb_pe_ctl_run(cl);
    wrote |= rb_ra_ctl_run(cl);
    for (int i = 0; i < cl->n_topics && cl->is_controller; i++) {
        struct rb_cl_topic *t = &cl->topics[i];
        if (t->assign_dirty || t->assign_version < 0 || t->a.n_partitions <= 0)
            continue;
        if (!t->a.has_id || t->id_unwritten) {
            wrote |= give_topic_id(cl, t);
            continue;
        }
        bool missing = false;
        for (int32_t p = 0; p < t->a.n_partitions; p++)
            missing |= !t->st_dirty[p] && t->st_version[p] == -1;
        if (missing)
            wrote |= create_states(cl, t);
        for (int32_t p = 0; p < t->a.n_partitions && cl->is_controller; p++) {
            if (t->st_dirty[p] || t->st_version[p] < 0)
                continue;
            struct rb_kzk_state ns;
            if (elect(cl, t, p, &ns) || rb_ctl_isr_dead(cl, t, p, &ns))
                wrote |= rb_ctl_update_state(cl, t, p, &ns);
        }
    }
    return wrote;
}
