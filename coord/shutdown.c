/*
 * coord/shutdown.c - controlled shutdown in cluster mode (controlled.shutdown.enable,
 * Kafka's default true): before a broker stops on SIGTERM, the controller moves its
 * leaderships to other in-sync replicas and takes it out of the ISRs, so producers
 * and consumers carry on at once instead of waiting for its session to expire, and
 * acks=all stops waiting for a replica that is about to go.
 *
 * The ask is an ephemeral node /ringbroker/controlled_shutdown/<id> (gone with the
 * session, so a broker that dies while asking leaves nothing behind); Kafka asks
 * with a ControlledShutdown request to the controller, which our brokers reach
 * through the quorum instead. Every broker watches the folder (the view's
 * `shutting` set). The controller, for each partition whose state names a
 * shutting broker (a fenced write per partition, leader epoch bumped):
 *   - leader shutting: the first replica in assignment order that is in the ISR,
 *     live and not shutting becomes leader; none: the partition stays as it is
 *     (the broker stops anyway once its wait is over, as Kafka's does);
 *   - a shutting follower leaves the ISR (never below one member).
 * The broker waits until it leads no partition another live ISR member could
 * lead, for at most controlled.shutdown.max.retries x
 * controlled.shutdown.retry.backoff.ms (Kafka's total; 3 x 5000 ms), then stops.
 */
#include "coord/cluster_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMP   "cluster"
#define CS_DIR "/ringbroker/controlled_shutdown"

bool rb_cl_shutting(const struct rb_cluster *cl, int32_t id)
{
    for (int i = 0; i < cl->n_shutting; i++)
        if (cl->shutting[i] == id)
            return true;
    return false;
}

int rb_cs_read(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, CS_DIR, true, &names, &n);
    if (r == -ENOENT) {
        /* No folder yet: watch for its creation (its first child creates it). */
        r = rb_quorum_exists(cl->q, CS_DIR, true, NULL);
        if (r == 0) {
            cl->shutdown_dirty = true;
            return 0;
        }
        if (r != -ENOENT)
            return r;
        r = 0;
    }
    if (r)
        return r;
    int32_t *ids = n ? calloc((size_t)n, sizeof(*ids)) : NULL;
    RB_ASSERT(!n || ids);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        long id = strtol(names[i], &end, 10);
        if (end && *end == 0 && id >= 0 && id <= INT32_MAX)
            ids[k++] = (int32_t)id;
    }
    free(names);
    bool same = k == cl->n_shutting;
    for (int i = 0; same && i < k; i++)
        same = rb_cl_shutting(cl, ids[i]);
    if (!same) {
        for (int i = 0; i < k; i++)
            if (!rb_cl_shutting(cl, ids[i]))
                RB_INFO(COMP, "broker %d asks for a controlled shutdown", ids[i]);
        cl->view_changed = true;
    }
    free(cl->shutting);
    cl->shutting = ids;
    cl->n_shutting = k;
    cl->shutdown_dirty = false;
    return 0;
}

/* Partitions this broker leads that another live, not shutting ISR member could
 * take over. */
static int leads_movable(const struct rb_cluster *cl)
{
    int left = 0;
    for (int i = 0; i < cl->n_topics; i++) {
        const struct rb_cl_topic *t = &cl->topics[i];
        for (int32_t p = 0; p < t->a.n_partitions; p++) {
            const struct rb_kzk_state *st = &t->st[p];
            if (t->st_version[p] < 0 || st->leader != cl->self)
                continue;
            for (int32_t q = 0; q < st->n_isr; q++)
                if (st->isr[q] != cl->self && rb_cl_broker_live(cl, st->isr[q]) &&
                    !rb_cl_shutting(cl, st->isr[q])) {
                    left++;
                    break;
                }
        }
    }
    return left;
}

void rb_cs_step(struct rb_cluster *cl)
{
    if (!atomic_load(&cl->cs_requested) || !cl->q)
        return;
    if (!cl->shutdown_dirty && !rb_cl_shutting(cl, cl->self)) {
        /* Ask (again, after a session was lost): folder nodes first. */
        char path[64];
        snprintf(path, sizeof(path), CS_DIR "/%d", cl->self);
        int r = rb_quorum_create_parents(cl->q, CS_DIR);
        if (r == 0)
            r = rb_quorum_create(cl->q, path, NULL, 0, RB_QC_EPHEMERAL, NULL, 0);
        if (r && r != -EEXIST) {
            RB_WARN(COMP, "controlled shutdown: creating %s: %s (retried)", path,
                    rb_quorum_strerror(r));
            rb_cl_quorum_error(cl, r);
            return;
        }
        cl->shutdown_dirty = true; /* the watch fires too; read it at once */
        if (rb_cs_read(cl) == 0 && !rb_cl_shutting(cl, cl->self))
            cl->shutdown_dirty = true;
    }
    bool asked = !cl->shutdown_dirty && rb_cl_shutting(cl, cl->self);
    atomic_store(&cl->cs_left, asked ? leads_movable(cl) : -1);
}

/* The new state of p when it names a shutting broker; false when it stays. */
static bool cs_state(const struct rb_cluster *cl, const struct rb_cl_topic *t, int32_t p,
                     struct rb_kzk_state *ns)
{
    const struct rb_kzk_state *st = &t->st[p];
    if (t->st_version[p] < 0 || st->leader < 0)
        return false;
    *ns = *st;
    ns->controller_epoch = cl->ctl_epoch;
    if (rb_cl_shutting(cl, st->leader)) {
        ns->leader = -1;
        for (int32_t k = 0; k < t->a.n_replicas[p] && ns->leader < 0; k++) {
            int32_t r = t->a.replicas[p][k];
            bool in_isr = false;
            for (int32_t q = 0; q < st->n_isr && !in_isr; q++)
                in_isr = st->isr[q] == r;
            if (in_isr && rb_cl_broker_live(cl, r) && !rb_cl_shutting(cl, r))
                ns->leader = r;
        }
        if (ns->leader < 0)
            return false; /* nobody to take over: it stays until the broker goes */
    }
    ns->n_isr = 0;
    for (int32_t q = 0; q < st->n_isr; q++)
        if (!rb_cl_shutting(cl, st->isr[q]) || st->isr[q] == ns->leader)
            ns->isr[ns->n_isr++] = st->isr[q];
    if (ns->leader == st->leader && ns->n_isr == st->n_isr)
        return false;
    ns->leader_epoch = st->leader_epoch + 1;
    return true;
}

bool rb_cs_ctl_run(struct rb_cluster *cl)
{
    bool wrote = false;
    for (int i = 0; i < cl->n_topics && cl->is_controller && cl->n_shutting; i++) {
        struct rb_cl_topic *t = &cl->topics[i];
        for (int32_t p = 0; p < t->a.n_partitions && cl->is_controller; p++) {
            struct rb_kzk_state ns;
            if (t->st_dirty[p] || !cs_state(cl, t, p, &ns))
                continue;
            int32_t was = t->st[p].leader;
            if (rb_ctl_update_state(cl, t, p, &ns))
                RB_INFO(COMP, "%s-%d: controlled shutdown: leader %d -> %d, ISR now %d member(s)",
                        t->name, p, was, ns.leader, ns.n_isr);
            wrote = true;
        }
    }
    return wrote;
}

int rb_coord_cluster_controlled_shutdown(struct rb_cluster *cl, const struct rb_broker_config *bc)
{
    if (!bc->controlled_shutdown_enable)
        return 0;
    int64_t tries = RB_MAX(bc->controlled_shutdown_max_retries, 1);
    int64_t step = bc->controlled_shutdown_retry_backoff_ms;
    int64_t budget = step > INT64_MAX / tries ? INT64_MAX : tries * step; /* Long.MAX: no end */
    int64_t t0 = rb_mono_ms();
    atomic_store(&cl->cs_left, -1);
    atomic_store(&cl->cs_requested, true);
    uint64_t one = 1;
    int left = -1;
    for (int turn = 0; rb_mono_ms() - t0 < budget; turn++) {
        if (turn % 20 == 0) { /* the coordination thread asks, and looks again each second */
            ssize_t w = write(cl->efd, &one, sizeof(one));
            (void)w;
        }
        left = atomic_load(&cl->cs_left);
        if (left == 0)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (left == 0) {
        RB_INFO(COMP, "controlled shutdown: leaderships moved in %lld ms",
                (long long)(rb_mono_ms() - t0));
        return 0;
    }
    RB_WARN(COMP,
            "controlled shutdown: %d partition(s) still led here after %lld ms "
            "(controlled.shutdown.max.retries x controlled.shutdown.retry.backoff.ms); "
            "stopping anyway",
            left, (long long)budget);
    return -ETIMEDOUT;
}
