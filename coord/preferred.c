/*
 * coord/preferred.c - preferred leader election: the controller gives a partition
 * back to its preferred replica (the first of its assignment) when that replica is
 * live, in the ISR and not shutting down (leader epoch bumped, fenced write).
 *
 * Two triggers, as in ZooKeeper-era Kafka:
 *   - /admin/preferred_replica_election, written by Kafka 2.8's
 *     kafka-preferred-replica-election.sh --zookeeper or `ringctl leaders
 *     --preferred`: {"version":1,"partitions":[{"topic":"t","partition":0},...]};
 *     the controller elects what it can and deletes the node (Kafka does the same
 *     whatever the outcome);
 *   - auto.leader.rebalance.enable (true): every
 *     leader.imbalance.check.interval.seconds (300) the controller counts, per
 *     broker, the partitions it prefers but does not lead; past
 *     leader.imbalance.per.broker.percentage (10) of the partitions it prefers,
 *     those partitions go back to it.
 */
#include "coord/cluster_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP    "controller"
#define PE_PATH "/admin/preferred_replica_election"

/* Elect partition p's preferred replica when it can lead and does not; true when
 * written. */
static bool elect_preferred(struct rb_cluster *cl, struct rb_cl_topic *t, int32_t p)
{
    if (p < 0 || p >= t->a.n_partitions || t->st_dirty[p] || t->st_version[p] < 0 ||
        t->a.n_replicas[p] < 1)
        return false;
    const struct rb_kzk_state *st = &t->st[p];
    int32_t pref = t->a.replicas[p][0];
    if (st->leader == pref || !rb_cl_broker_live(cl, pref) || rb_cl_shutting(cl, pref))
        return false;
    bool in_isr = false;
    for (int32_t q = 0; q < st->n_isr && !in_isr; q++)
        in_isr = st->isr[q] == pref;
    if (!in_isr)
        return false;
    struct rb_kzk_state ns = *st;
    ns.controller_epoch = cl->ctl_epoch;
    ns.leader = pref;
    ns.leader_epoch = st->leader_epoch + 1;
    RB_INFO(COMP, "%s-%d: preferred replica %d takes over from %d", t->name, p, pref, st->leader);
    return rb_ctl_update_state(cl, t, p, &ns);
}

/* Run the request in /admin/preferred_replica_election, then delete it. */
static bool run_request(struct rb_cluster *cl)
{
    bool wrote = false;
    json_t *j = json_loads(cl->pe_data ? cl->pe_data : "", 0, NULL);
    json_t *parts = j ? json_object_get(j, "partitions") : NULL;
    size_t i;
    json_t *e;
    if (!json_is_array(parts))
        RB_WARN(COMP, "%s: not Kafka's {\"version\":1,\"partitions\":[...]}: deleted", PE_PATH);
    json_array_foreach(parts, i, e)
    {
        const char *topic = json_string_value(json_object_get(e, "topic"));
        json_t *pj = json_object_get(e, "partition");
        struct rb_cl_topic *t = topic ? rb_cl_topic_find(cl, topic) : NULL;
        if (t && json_is_integer(pj))
            wrote |= elect_preferred(cl, t, (int32_t)json_integer_value(pj));
    }
    json_decref(j);
    struct rb_qop ops[2] = {{0},
                            {.type = RB_QOP_DELETE, .path = PE_PATH, .version = cl->pe_version}};
    int r = rb_ctl_multi(cl, ops, 2);
    if (r == 0 || r == -ENOENT) {
        cl->pe_pending = false;
        wrote = true;
    }
    cl->pe_dirty = true;
    return wrote;
}

/* auto.leader.rebalance.enable: the brokers past the imbalance ratio get their
 * preferred partitions back. */
static bool rebalance(struct rb_cluster *cl, int32_t pct)
{
    bool wrote = false;
    for (int b = 0; b < cl->n_brokers && cl->is_controller; b++) {
        int32_t id = cl->brokers[b].id;
        int64_t total = 0, off = 0;
        for (int i = 0; i < cl->n_topics; i++) {
            const struct rb_cl_topic *t = &cl->topics[i];
            for (int32_t p = 0; p < t->a.n_partitions; p++) {
                if (t->a.n_replicas[p] < 1 || t->a.replicas[p][0] != id || t->st_version[p] < 0)
                    continue;
                total++;
                off += t->st[p].leader != id;
            }
        }
        if (total == 0 || off * 100 <= (int64_t)pct * total)
            continue;
        RB_INFO(COMP, "broker %d leads %lld of the %lld partitions it prefers: rebalancing", id,
                (long long)(total - off), (long long)total);
        for (int i = 0; i < cl->n_topics && cl->is_controller; i++) {
            struct rb_cl_topic *t = &cl->topics[i];
            for (int32_t p = 0; p < t->a.n_partitions && cl->is_controller; p++)
                if (t->a.n_replicas[p] >= 1 && t->a.replicas[p][0] == id)
                    wrote |= elect_preferred(cl, t, p);
        }
    }
    return wrote;
}

bool rb_pe_ctl_run(struct rb_cluster *cl)
{
    bool wrote = false;
    if (cl->pe_pending && !cl->pe_dirty)
        wrote |= run_request(cl);
    if (cl->rebalance_due) {
        cl->rebalance_due = false;
        const struct rb_broker_config *bc = cl->c->bc;
        if (bc->auto_leader_rebalance_enable)
            wrote |= rebalance(cl, bc->leader_imbalance_per_broker_percentage);
    }
    return wrote;
}
