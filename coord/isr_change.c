/*
 * coord/isr_change.c - ISR changes through the quorum, Kafka 2.8 (ZooKeeper)
 * style: a partition's leader shrinks or expands its ISR by writing the partition
 * state node itself, conditionally on the version it read, then leaves a
 * /isr_change_notification/isr_change_<seq> node for the controller; and the
 * controller's own part: dead brokers leave the ISRs, notifications are consumed.
 *
 * Owns: the path from part/'s ISR sink (rb_coord_isr_sink, on a shard) to the
 * coordination thread (one heap copy per proposal, posted; proposals are rare),
 * and the quorum writes of both sides.
 * Fencing: the leader's write carries the leader epoch and controller epoch as it
 * read them and is conditional on the node's version. It is made only while the
 * node names this broker as leader with the proposal's leader epoch: a leader
 * deposed (or re-elected with a new epoch) meanwhile writes nothing. A write that
 * lost a race (-ESTALE) re-reads the node and applies the same change (a broker
 * joining or leaving) to what it holds, while still the leader of that epoch. The
 * controller's writes are its fenced multis (coord/controller.c).
 * Invariants: an ISR written here is never empty, always holds the leader, and
 * only replicas of the partition (when the assignment is known).
 */
#include "coord/cluster_int.h"
#include "coord/coord.h"
#include "core/logging.h"
#include "core/rb.h"
#include "part/part.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "isr"

/* Attempts at a conditional write that keeps losing races. */
#define ISR_WRITE_TRIES 5

static bool has(const int32_t *v, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

/* The Kafka 2.8 notification body: {"version":1,"partitions":[{...}]}. */
static void notify(struct rb_cluster *cl, const char *topic, int32_t p)
{
    char js[400];
    snprintf(js, sizeof(js), "{\"version\":1,\"partitions\":[{\"topic\":\"%s\",\"partition\":%d}]}",
             topic, p);
    int r = rb_quorum_create(cl->q, "/isr_change_notification/isr_change_", js, strlen(js),
                             RB_QC_SEQUENTIAL, NULL, 0);
    if (r) {
        RB_WARN(COMP, "%s-%d: ISR change notification not written: %s", topic, p,
                rb_quorum_strerror(r));
        rb_cl_quorum_error(cl, r);
    }
}

int rb_cl_isr_change(struct rb_cluster *cl, const char *topic, int32_t p, int32_t leader_epoch,
                     int32_t add, int32_t remove)
{
    if (!cl->q || cl->session_lost)
        return -ENOTCONN;
    char path[400];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, p);
    const struct rb_cl_topic *t = rb_cl_topic_find(cl, topic);
    if (add >= 0 && t && p < t->a.n_partitions && !has(t->a.replicas[p], t->a.n_replicas[p], add))
        return -EINVAL; /* not a replica (the assignment changed meanwhile) */
    for (int tries = 0; tries < ISR_WRITE_TRIES; tries++) {
        char *data = NULL;
        int64_t version = -1;
        int r = rb_quorum_get(cl->q, path, false, &data, NULL, &version);
        if (r) {
            free(data);
            rb_cl_quorum_error(cl, r);
            return r;
        }
        struct rb_kzk_state st;
        r = rb_kzk_parse_state(data, &st);
        free(data);
        if (r)
            return r;
        if (st.leader != cl->self || st.leader_epoch != leader_epoch) {
            RB_INFO(COMP, "%s-%d: ISR change dropped: leader %d epoch %d, proposed in epoch %d",
                    topic, p, st.leader, st.leader_epoch, leader_epoch);
            return -ESTALE; /* fenced: no longer this leadership */
        }
        struct rb_kzk_state ns = st; /* controller and leader epoch as read */
        ns.n_isr = 0;
        ns.isr[ns.n_isr++] = st.leader;
        for (int32_t i = 0; i < st.n_isr; i++)
            if (st.isr[i] != st.leader && st.isr[i] != remove)
                ns.isr[ns.n_isr++] = st.isr[i];
        if (add >= 0 && !has(ns.isr, ns.n_isr, add) && ns.n_isr < RB_KZK_MAX_REPLICAS)
            ns.isr[ns.n_isr++] = add;
        bool same = ns.n_isr == st.n_isr;
        for (int32_t i = 0; same && i < ns.n_isr; i++)
            same = has(st.isr, st.n_isr, ns.isr[i]);
        if (same)
            return 0; /* already so */
        char *js = rb_kzk_state_json(&ns);
        RB_ASSERT(js);
        r = rb_quorum_set(cl->q, path, js, strlen(js), version, NULL);
        free(js);
        if (r == -ESTALE)
            continue; /* changed meanwhile: read again, apply the change to it */
        if (r) {
            rb_cl_quorum_error(cl, r);
            return r;
        }
        RB_INFO(COMP, "%s-%d: ISR %d -> %d members (%s broker %d, leader epoch %d)", topic, p,
                st.n_isr, ns.n_isr, add >= 0 ? "added" : "removed", add >= 0 ? add : remove,
                leader_epoch);
        notify(cl, topic, p);
        struct rb_cl_topic *vt = rb_cl_topic_find(cl, topic);
        if (vt && p < vt->a.n_partitions)
            vt->st_dirty[p] = true; /* the watch says so too */
        return 0;
    }
    return -ESTALE;
}

/* ---- from the shards ---- */

struct isr_req {
    int32_t index, leader_epoch, add, remove;
    char topic[];
};

static void isr_on_coord(struct rb_shard *cs, void *arg)
{
    struct isr_req *q = arg;
    struct rb_coord *c = cs->coord;
    if (c && c->cl && !atomic_load(&cs->rt->stopping)) {
        int r = rb_cl_isr_change(c->cl, q->topic, q->index, q->leader_epoch, q->add, q->remove);
        if (r && r != -ESTALE)
            RB_WARN(COMP, "%s-%d: ISR change not written: %s (proposed again later)", q->topic,
                    q->index, rb_quorum_strerror(r));
        rb_cl_sync(cs, c->cl); /* publish what it changed */
    }
    free(q);
}

void rb_coord_isr_sink(void *arg, const struct rb_part_isr_change *ch)
{
    struct rb_shard *s = arg;
    int cid = s->rt->n_shards;
    struct rb_coord *c = s->rt->t[cid]->coord;
    if (!c || !c->cl || ch->topic_len > 255 || atomic_load(&s->rt->stopping))
        return; /* standalone: the ISR is the leader alone; stopping: nobody to write */
    struct isr_req *q = malloc(sizeof(*q) + ch->topic_len + 1);
    if (!q)
        return; /* proposed again after a while */
    q->index = ch->index;
    q->leader_epoch = ch->leader_epoch;
    q->add = ch->add;
    q->remove = ch->remove;
    memcpy(q->topic, ch->topic, ch->topic_len);
    q->topic[ch->topic_len] = 0;
    rb_post(s, cid, isr_on_coord, q);
}

/* ---- the controller's part ---- */

bool rb_ctl_isr_dead(struct rb_cluster *cl, const struct rb_cl_topic *t, int32_t p,
                     struct rb_kzk_state *ns)
{
    const struct rb_kzk_state *st = &t->st[p];
    if (t->st_version[p] < 0 || st->leader < 0 || st->n_isr <= 1)
        return false;
    *ns = *st;
    ns->n_isr = 0;
    for (int32_t i = 0; i < st->n_isr; i++)
        if (st->isr[i] == st->leader || rb_cl_broker_live(cl, st->isr[i]))
            ns->isr[ns->n_isr++] = st->isr[i];
    if (ns->n_isr == st->n_isr || ns->n_isr == 0)
        return false;
    /* Kafka 2.8's controller: a replica going offline leaves the ISR, with a new
     * leader epoch (the leader's in-flight changes of the old one are fenced) */
    ns->controller_epoch = cl->ctl_epoch;
    ns->leader_epoch = st->leader_epoch + 1;
    return true;
}

bool rb_ctl_isr_notes(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, "/isr_change_notification", true, &names, &n);
    if (r) {
        if (r != -ENOENT)
            rb_cl_quorum_error(cl, r);
        return false;
    }
    cl->isr_notes_dirty = false;
    /* the brokers follow the state nodes themselves: a notification only needs
     * consuming, in fenced batches */
    for (int i = 0; i < n && cl->is_controller;) {
        struct rb_qop ops[33];
        char paths[32][300];
        int k = 0;
        for (; k < 32 && i < n; k++, i++) {
            snprintf(paths[k], sizeof(paths[k]), "/isr_change_notification/%s", names[i]);
            ops[1 + k] = (struct rb_qop){.type = RB_QOP_DELETE, .path = paths[k], .version = -1};
        }
        r = rb_ctl_multi(cl, ops, k + 1);
        if (r) {
            cl->isr_notes_dirty = true; /* listed again on the next sync */
            break;
        }
    }
    free(names);
    return false;
}
