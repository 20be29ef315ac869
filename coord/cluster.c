/*
 * coord/cluster.c - the cluster backend of coord/coord.h: a broker of a cluster
 * that coordinates through a quorum (ZooKeeper or etcd, coord/quorum.h) in
 * ZooKeeper-era Kafka's layout (coord/kafka_zk.h). This file takes the quorum's
 * events, keeps the view current from its watches (the reads: cluster_view.c),
 * publishes snapshots with the local replicas to adopt and drop, answers admin
 * waits, and runs the coordination thread's timers (the session itself, the
 * lease's renewal and startup: cluster_open.c).
 *
 * Events: the quorum's thread only queues the watched path and writes an eventfd;
 * the coordination thread reads it and re-reads what changed (rb_cl_sync), with
 * watches re-armed by the reads themselves. Everything else runs on the
 * coordination thread, which may block on the quorum (never a shard).
 *
 * Leader lease (fencing): every session_timeout/6 the coordination thread checks
 * its registration with a quorum round trip; when it succeeds, the broker may act
 * as leader until (send time + session_timeout/2). The quorum cannot have expired
 * the session before send time + session_timeout, and no other broker is made
 * leader of this broker's partitions before the controller saw the expiry, so two
 * brokers never accept writes for one partition at once: a paused or cut-off
 * broker stops accepting writes before anyone else may start (net/ checks the lease
 * with rb_metadata_may_lead). After an expiry the broker reconnects with a new
 * session and registers again; the controller then makes it leader again.
 */
#include "coord/cluster_int.h"
#include "coord/coord.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMP "cluster"

static struct rb_shard *coord_shard(const struct rb_cluster *cl)
{
    return cl->c->rt->t[cl->c->rt->n_shards];
}

uint32_t rb_cl_rand(void *arg)
{
    struct rb_cluster *cl = arg;
    cl->rnd_state = cl->rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(cl->rnd_state >> 33);
}

/* ---- events from the quorum's thread ---- */

void rb_cl_on_event(void *ctx, enum rb_qevent ev, const char *path)
{
    struct rb_cluster *cl = ctx;
    pthread_mutex_lock(&cl->mu);
    switch (ev) {
    case RB_QEV_EXPIRED:
        cl->ev_expired = true;
        break;
    case RB_QEV_NODE:
    case RB_QEV_CHILDREN:
        if (cl->n_ev < RB_CL_MAX_EVENTS && path && (cl->ev_paths[cl->n_ev] = strdup(path))) {
            cl->ev_children[cl->n_ev++] = ev == RB_QEV_CHILDREN;
        } else {
            cl->ev_all = true;
        }
        break;
    case RB_QEV_CONNECTED:
        /* the same session: its watches stay armed and fire for what changed */
        break;
    case RB_QEV_DISCONNECTED:
        break;
    }
    pthread_mutex_unlock(&cl->mu);
    if (cl->efd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(cl->efd, &one, sizeof(one));
        (void)w;
    }
}

struct rb_cl_topic *rb_cl_topic_find(struct rb_cluster *cl, const char *name)
{
    for (int i = 0; i < cl->n_topics; i++)
        if (strcmp(cl->topics[i].name, name) == 0)
            return &cl->topics[i];
    return NULL;
}

bool rb_cl_broker_live(const struct rb_cluster *cl, int32_t id)
{
    for (int i = 0; i < cl->n_brokers; i++)
        if (cl->brokers[i].id == id)
            return true;
    return false;
}

void rb_cl_mark_all_dirty(struct rb_cluster *cl)
{
    cl->brokers_dirty = cl->controller_dirty = cl->topics_dirty = cl->configs_dirty = true;
    cl->deletes_dirty = cl->isr_notes_dirty = cl->shutdown_dirty = cl->pe_dirty = true;
    cl->ra_dirty = true;
    for (int i = 0; i < cl->n_topics; i++) {
        struct rb_cl_topic *t = &cl->topics[i];
        t->assign_dirty = t->config_dirty = true;
        for (int32_t p = 0; p < t->a.n_partitions; p++)
            t->st_dirty[p] = true;
    }
}

/* Map one fired watch to what must be re-read. */
static void note_path(struct rb_cluster *cl, const char *path)
{
    static const char tp[] = "/brokers/topics/";
    if (strcmp(path, "/brokers/ids") == 0) {
        cl->brokers_dirty = true;
    } else if (strcmp(path, "/controller") == 0) {
        cl->controller_dirty = true;
    } else if (strcmp(path, "/brokers/topics") == 0) {
        cl->topics_dirty = true;
    } else if (strcmp(path, "/config/changes") == 0) {
        cl->configs_dirty = true;
    } else if (strcmp(path, "/admin/delete_topics") == 0) {
        cl->deletes_dirty = true;
    } else if (strcmp(path, "/isr_change_notification") == 0) {
        cl->isr_notes_dirty = true;
    } else if (strcmp(path, "/ringbroker/controlled_shutdown") == 0) {
        cl->shutdown_dirty = true;
    } else if (strcmp(path, "/admin/preferred_replica_election") == 0) {
        cl->pe_dirty = true;
    } else if (strcmp(path, "/admin/reassign_partitions") == 0) {
        cl->ra_dirty = true;
    } else if (strncmp(path, tp, sizeof(tp) - 1) == 0) {
        const char *name = path + sizeof(tp) - 1;
        const char *slash = strchr(name, '/');
        char t[256];
        size_t nl = slash ? (size_t)(slash - name) : strlen(name);
        if (nl == 0 || nl >= sizeof(t))
            return;
        memcpy(t, name, nl);
        t[nl] = 0;
        struct rb_cl_topic *ct = rb_cl_topic_find(cl, t);
        if (!ct) {
            cl->topics_dirty = true;
            return;
        }
        int32_t p;
        if (!slash) {
            ct->assign_dirty = true;
        } else if (sscanf(slash, "/partitions/%d/state", &p) == 1 && p >= 0 &&
                   p < ct->a.n_partitions) {
            ct->st_dirty[p] = true;
        } else {
            ct->assign_dirty = true;
        }
    }
}

static bool take_events(struct rb_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    bool expired = cl->ev_expired, all = cl->ev_all;
    int n = cl->n_ev;
    char *paths[RB_CL_MAX_EVENTS];
    memcpy(paths, cl->ev_paths, sizeof(char *) * (size_t)n);
    cl->n_ev = 0;
    cl->ev_expired = cl->ev_all = false;
    pthread_mutex_unlock(&cl->mu);
    for (int i = 0; i < n; i++) {
        note_path(cl, paths[i]);
        free(paths[i]);
    }
    if (all)
        rb_cl_mark_all_dirty(cl);
    return expired;
}

void rb_cl_quorum_error(struct rb_cluster *cl, int err)
{
    if (err == -ENOTCONN) {
        pthread_mutex_lock(&cl->mu);
        cl->ev_expired = true;
        pthread_mutex_unlock(&cl->mu);
    }
}

/* ---- snapshots ---- */

/* The shard of a local partition: where it is now (old md), where the local file
 * put it (startup), or the least loaded shard. */
static int16_t local_shard(struct rb_coord *c, const struct rb_metadata *old,
                           const struct rb_cl_local *loc, int n_loc, const char *topic,
                           const uint8_t id[16], int32_t p, bool *is_new)
{
    *is_new = false;
    const struct rb_topic_meta *ot = old ? rb_metadata_topic(old, topic, strlen(topic)) : NULL;
    if (ot && memcmp(ot->id, id, 16) == 0 && p < ot->n_partitions && ot->partitions[p].shard >= 0)
        return ot->partitions[p].shard;
    *is_new = true;
    for (int i = 0; i < n_loc; i++)
        if (loc[i].partition == p && memcmp(loc[i].id, id, 16) == 0 &&
            strcmp(loc[i].topic, topic) == 0 && loc[i].shard >= 0)
            return (int16_t)(loc[i].shard % c->rt->n_shards);
    return rb_coord_least_loaded_shard(c);
}

struct rb_metadata *rb_cl_build_md(struct rb_cluster *cl, const struct rb_metadata *old,
                                   const struct rb_cl_local *loc, int n_loc)
{
    struct rb_coord *c = cl->c;
    struct rb_metadata *md = calloc(1, sizeof(*md));
    RB_ASSERT(md);
    atomic_init(&md->refs, 1);
    snprintf(md->cluster_id, sizeof(md->cluster_id), "%s", old ? old->cluster_id : "");
    md->controller_id = cl->controller_id;
    md->n_brokers = cl->n_brokers;
    md->brokers = calloc((size_t)RB_MAX(cl->n_brokers, 1), sizeof(*md->brokers));
    RB_ASSERT(md->brokers);
    /* New or changed names are looked up now (this thread may block on DNS). */
    (void)rb_resolver_sync(&cl->res, cl->brokers, cl->n_brokers, rb_mono_ms(), cl->res.interval_ms);
    for (int i = 0; i < cl->n_brokers; i++) {
        md->brokers[i].id = cl->brokers[i].id;
        md->brokers[i].host = strdup(cl->brokers[i].host);
        md->brokers[i].port = cl->brokers[i].port;
        md->brokers[i].rack = cl->brokers[i].rack[0] ? strdup(cl->brokers[i].rack) : NULL;
        const struct rb_sockaddr *a =
            rb_resolver_addr(&cl->res, cl->brokers[i].host, cl->brokers[i].port);
        if (a)
            md->brokers[i].addr = *a;
    }
    md->leader_lease = &cl->lease_until;
    md->resolve_again = &cl->resolve_again;
    for (int i = 0; i < cl->n_topics; i++) {
        const struct rb_cl_topic *ct = &cl->topics[i];
        if (!ct->a.has_id || ct->a.n_partitions <= 0)
            continue; /* the controller gives it an id first */
        struct rb_topic_meta *t = rb_coord_topic_append(md, ct->name);
        memcpy(t->id, ct->a.topic_id, 16);
        t->n_partitions = ct->a.n_partitions;
        t->partitions = calloc((size_t)t->n_partitions, sizeof(*t->partitions));
        RB_ASSERT(t->partitions);
        for (int32_t p = 0; p < t->n_partitions; p++) {
            struct rb_partition_meta *pm = &t->partitions[p];
            const struct rb_kzk_state *st = &ct->st[p];
            pm->index = p;
            pm->shard = -1;
            pm->leader = ct->st_version[p] >= 0 ? st->leader : -1;
            pm->leader_epoch = st->leader_epoch;
            pm->n_replicas = ct->a.n_replicas[p];
            pm->replicas = malloc(sizeof(int32_t) * (size_t)RB_MAX(pm->n_replicas, 1));
            pm->n_isr = ct->st_version[p] >= 0 ? st->n_isr : 0;
            pm->isr = malloc(sizeof(int32_t) * (size_t)RB_MAX(pm->n_isr, 1));
            RB_ASSERT(pm->replicas && pm->isr);
            memcpy(pm->replicas, ct->a.replicas[p], sizeof(int32_t) * (size_t)pm->n_replicas);
            memcpy(pm->isr, st->isr, sizeof(int32_t) * (size_t)pm->n_isr);
            bool local = false;
            for (int32_t k = 0; k < pm->n_replicas; k++)
                local |= pm->replicas[k] == cl->self;
            if (local) {
                bool is_new;
                pm->shard = local_shard(c, old, loc, n_loc, t->name, t->id, p, &is_new);
                if (is_new)
                    c->shard_load[pm->shard]++;
            }
        }
        for (int32_t k = 0; k < ct->cfg.n; k++)
            rb_coord_topic_add_config(t, ct->cfg.keys[k], ct->cfg.values[k]);
    }
    rb_metadata_sort(md);
    for (int i = 0; i < cl->n_dyn; i++)
        rb_coord_dyn_config_set(md, cl->dyn[i].broker, cl->dyn[i].key, cl->dyn[i].value);
    char err[256];
    struct rb_config *cfg = NULL;
    if (rb_coord_effective_config(c, md, &cfg, err, sizeof(err))) {
        /* written by another tool and not valid here: the static config stands */
        RB_WARN(COMP, "dynamic broker configs in %s ignored: %s", cl->backend, err);
        cfg = rb_config_ref(c->config);
    }
    rb_metadata_set_config(md, cfg);
    return md;
}

static bool was_local(const struct rb_metadata *old, const struct rb_topic_meta *t, int32_t p)
{
    const struct rb_topic_meta *ot = old ? rb_metadata_topic(old, t->name, t->name_len) : NULL;
    return ot && memcmp(ot->id, t->id, 16) == 0 && p < ot->n_partitions &&
           ot->partitions[p].shard >= 0;
}

int rb_cl_open_local(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                     struct rb_log **log)
{
    char dir[4400], pm[4500], line[128], want[23];
    struct stat sb;
    snprintf(dir, sizeof(dir), "%s/%s-%d", c->dir, t->name, p);
    bool create = stat(dir, &sb) != 0;
    snprintf(pm, sizeof(pm), "%s/partition.metadata", dir);
    rb_uuid_to_base64(t->id, want);
    FILE *f = create ? NULL : fopen(pm, "re");
    bool other = false;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "topic_id: ", 10) == 0 && strncmp(line + 10, want, 22) != 0)
            other = true;
    if (f)
        fclose(f);
    if (other) { /* an older incarnation of the topic (deleted and recreated) */
        struct rb_log *old = NULL;
        struct rb_log_config lc;
        rb_coord_log_config(rb_config_broker(c->config), NULL, &lc);
        RB_INFO(COMP, "%s holds an older topic %s: deleting it first", dir, t->name);
        if (rb_log_open_offline(&old, dir, &lc) == 0)
            rb_log_destroy(old);
        create = stat(dir, &sb) != 0;
        if (!create)
            return -EEXIST;
    }
    return rb_coord_open_partition(c, t, p, create, log);
}

/* Every shard applied a publication (its dropped logs are deleted): adopt what
 * waited for them. */
static void publish_done(struct rb_shard *s, void *arg)
{
    struct rb_cluster *cl = arg;
    rb_cl_lease_applied(cl);
    if (!cl->deferred || atomic_load(&s->rt->stopping))
        return;
    cl->deferred = false;
    cl->view_changed = true;
    rb_cl_sync(s, cl);
}

static void check_waits(struct rb_shard *cs, struct rb_cluster *cl, bool expire)
{
    int64_t now = rb_mono_ms(), next = INT64_MAX;
    for (struct rb_cl_wait **pw = &cl->waits; *pw;) {
        struct rb_cl_wait *w = *pw;
        bool ready = w->ready(cl->c, w->op);
        if (!ready && expire && now >= w->deadline_ms) {
            w->timeout(cl->c, w->op);
            ready = true;
        }
        if (!ready) {
            next = RB_MIN(next, w->deadline_ms);
            pw = &w->next;
            continue;
        }
        *pw = w->next;
        rb_coord_op_finish(cs, w->op);
        free(w);
    }
    if (next != INT64_MAX && cs)
        rb_timer_arm(&cs->timers, &cl->wait_timer, next);
}

static void wait_timer_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, wait_timer);
    check_waits(coord_shard(cl), cl, true);
}

void rb_cl_wait_add(struct rb_shard *cs, struct rb_cluster *cl, struct rb_coord_op *op,
                    int64_t timeout_ms, bool (*ready)(struct rb_coord *, struct rb_coord_op *),
                    void (*timeout)(struct rb_coord *, struct rb_coord_op *))
{
    struct rb_cl_wait *w = calloc(1, sizeof(*w));
    RB_ASSERT(w);
    w->op = op;
    w->deadline_ms = rb_mono_ms() + timeout_ms;
    w->ready = ready;
    w->timeout = timeout;
    w->next = cl->waits;
    cl->waits = w;
    check_waits(cs, cl, false);
}

static bool cl_pending(const struct rb_cluster *cl);

/* Publish the view as a new snapshot: open the partitions that became local,
 * hand them to their shards, drop those that are no longer here. */
static void publish(struct rb_shard *cs, struct rb_cluster *cl)
{
    struct rb_coord *c = cl->c;
    cl->view_changed = false;
    rb_cl_lease_published(cl, !cl_pending(cl));
    struct rb_metadata *next = rb_cl_build_md(cl, c->md, NULL, 0);
    snprintf(next->cluster_id, sizeof(next->cluster_id), "%s", c->md->cluster_id);
    struct rb_partition_handoff *adopt = NULL, *drop = NULL;
    int n_adopt = 0, n_drop = 0;
    for (int32_t i = 0; i < next->n_topics; i++) {
        const struct rb_topic_meta *t = &next->topics[i];
        const struct rb_topic_meta *older = rb_metadata_topic(c->md, t->name, t->name_len);
        if (older && memcmp(older->id, t->id, 16) == 0)
            older = NULL; /* the same incarnation */
        for (int32_t p = 0; p < t->n_partitions; p++) {
            if (t->partitions[p].shard < 0 || was_local(c->md, t, p))
                continue;
            if (older && p < older->n_partitions && older->partitions[p].shard >= 0) {
                /* The topic was recreated: its old log still holds the directory.
                 * Adopt the new one once the old one is deleted (publish_done). */
                c->shard_load[t->partitions[p].shard]--;
                ((struct rb_partition_meta *)&t->partitions[p])->shard = -1;
                cl->deferred = true;
                continue;
            }
            struct rb_log *log = NULL;
            rb_cl_lease_tick(cl);
            if (rb_cl_open_local(c, t, p, &log)) {
                RB_ERROR(COMP, "cannot open local replica %s-%d: not served here", t->name, p);
                c->shard_load[t->partitions[p].shard]--;
                ((struct rb_partition_meta *)&t->partitions[p])->shard = -1;
                continue;
            }
            adopt = realloc(adopt, sizeof(*adopt) * (size_t)(n_adopt + 1));
            RB_ASSERT(adopt);
            adopt[n_adopt++] = (struct rb_partition_handoff){t, p, log};
        }
    }
    for (int32_t i = 0; i < c->md->n_topics; i++) {
        const struct rb_topic_meta *ot = &c->md->topics[i];
        const struct rb_topic_meta *nt = rb_metadata_topic(next, ot->name, ot->name_len);
        for (int32_t p = 0; p < ot->n_partitions; p++) {
            if (ot->partitions[p].shard < 0)
                continue;
            if (nt && memcmp(nt->id, ot->id, 16) == 0 && p < nt->n_partitions &&
                nt->partitions[p].shard >= 0)
                continue;
            RB_INFO(COMP, "%s-%d is no longer hosted here: deleting its log", ot->name, p);
            drop = realloc(drop, sizeof(*drop) * (size_t)(n_drop + 1));
            RB_ASSERT(drop);
            drop[n_drop++] = (struct rb_partition_handoff){ot, p, NULL};
        }
    }
    if (n_adopt && rb_coord_sync_logs(c))
        RB_ERROR(COMP, "cannot sync the new partitions' files");
    if ((n_adopt || n_drop) && rb_cl_local_save(c->dir, next))
        RB_ERROR(COMP, "cannot write the local replicas file in %s", c->dir);
    struct rb_coord_op *op = rb_coord_op_new(cs, 0, false, publish_done, cl);
    op->reconfigure = cl->configs_changed;
    cl->configs_changed = false;
    rb_coord_publish(cs, c, next, op, adopt, n_adopt, drop, n_drop);
    free(adopt);
    free(drop);
}

void rb_cl_sync(struct rb_shard *cs, struct rb_cluster *cl)
{
    if (take_events(cl) && !rb_cl_reconnect(cl)) {
        if (cs)
            rb_timer_arm(&cs->timers, &cl->retry_timer, rb_mono_ms() + 1000);
        return;
    }
    if (!cl->q)
        return;
    for (int round = 0; round < 16; round++) {
        if (rb_cl_read_dirty(cl))
            break;
        if (cl->controller_id < 0 && !cl->controller_dirty)
            rb_ctl_elect(cl);
        if (cl->controller_dirty)
            continue;
        if (!cl->is_controller || !rb_ctl_run(cl))
            break;
    }
    if (cs && cl->q && !cl->session_lost && !cl->brokers_dirty &&
        !rb_cl_broker_live(cl, cl->self)) {
        /* our registration vanished with the session alive (a prober took this
         * broker for dead, an operator): register again now, not at the next renewal */
        rb_cl_renew_lease(cl);
        cl->brokers_dirty = true;
    }
    rb_cs_step(cl);
    if (cl->view_changed && cs) {
        publish(cs, cl);
    } else if (cl->view_changed && cl->lease_hold) {
        /* detached (no shards: the simulator, tools): the view read is all there is */
        rb_cl_lease_published(cl, !cl_pending(cl));
        rb_cl_lease_applied(cl);
    }
    if (cs)
        check_waits(cs, cl, false);
    bool again;
    pthread_mutex_lock(&cl->mu);
    again = cl->ev_expired;
    pthread_mutex_unlock(&cl->mu);
    if (again && cs)
        rb_timer_arm(&cs->timers, &cl->retry_timer, rb_mono_ms());
}

/* ---- the coordination thread ---- */

static void efd_cb(struct rb_io *io, int res, unsigned flags);

static void arm_efd(struct rb_cluster *cl)
{
    struct rb_shard *cs = coord_shard(cl);
    struct io_uring_sqe *sqe = rb_sqe(cs);
    io_uring_prep_read(sqe, cl->efd, &cl->efd_buf, sizeof(cl->efd_buf), 0);
    rb_sqe_set_io(sqe, &cl->efd_io);
    cl->efd_armed = true;
}

static void efd_cb(struct rb_io *io, int res, unsigned flags)
{
    (void)res;
    (void)flags;
    struct rb_cluster *cl = RB_CONTAINER_OF(io, struct rb_cluster, efd_io);
    cl->efd_armed = false;
    if (atomic_load(&cl->c->rt->stopping))
        return;
    rb_cl_sync(coord_shard(cl), cl);
    arm_efd(cl);
}

/* Something is still to be read (a read failed on a lost connection). */
static bool cl_pending(const struct rb_cluster *cl)
{
    if (cl->brokers_dirty || cl->controller_dirty || cl->topics_dirty || cl->configs_dirty ||
        cl->shutdown_dirty || cl->pe_dirty || cl->ra_dirty ||
        (cl->is_controller && cl->deletes_dirty))
        return true;
    for (int i = 0; i < cl->n_topics; i++) {
        const struct rb_cl_topic *t = &cl->topics[i];
        if (t->assign_dirty || t->config_dirty)
            return true;
        for (int32_t p = 0; p < t->a.n_partitions; p++)
            if (t->st_dirty[p])
                return true;
    }
    return false;
}

static void lease_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, lease_timer);
    struct rb_shard *cs = coord_shard(cl);
    if (atomic_load(&cl->c->rt->stopping))
        return;
    rb_cl_renew_lease(cl);
    int64_t step = RB_MAX(cl->session_ms / 6, 100);
    rb_timer_arm(&cs->timers, &cl->lease_timer, rb_mono_ms() + step);
    pthread_mutex_lock(&cl->mu);
    bool expired = cl->ev_expired;
    pthread_mutex_unlock(&cl->mu);
    if (expired || cl_pending(cl)) /* or reads that failed earlier: again */
        rb_cl_sync(cs, cl);
}

/* auto.leader.rebalance.enable: the controller checks the balance every
 * leader.imbalance.check.interval.seconds. */
static void rebalance_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, rebalance_timer);
    struct rb_shard *cs = coord_shard(cl);
    if (atomic_load(&cl->c->rt->stopping))
        return;
    int64_t secs = cl->c->bc->leader_imbalance_check_interval_seconds;
    int64_t step = secs > INT64_MAX / 1000 ? INT64_MAX / 2 : secs * 1000;
    rb_timer_arm(&cs->timers, &cl->rebalance_timer, rb_deadline_after(rb_mono_ms(), step));
    if (!cl->is_controller)
        return;
    cl->rebalance_due = true;
    rb_cl_sync(cs, cl);
}

/* Every RB_RESOLVE_AGAIN_MS: names due (RB_RESOLVE_INTERVAL_MS old, or
 * RB_RESOLVE_AGAIN_MS after a shard's failed connect) are looked up again; a
 * changed address is published. */
static void resolve_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, resolve_timer);
    struct rb_shard *cs = coord_shard(cl);
    if (atomic_load(&cl->c->rt->stopping))
        return;
    bool again = atomic_exchange(&cl->resolve_again, false);
    int64_t now = rb_mono_ms();
    if (rb_resolver_sync(&cl->res, cl->brokers, cl->n_brokers, now,
                         again ? RB_RESOLVE_AGAIN_MS : cl->res.interval_ms)) {
        cl->view_changed = true;
        rb_cl_sync(cs, cl);
    }
    rb_timer_arm(&cs->timers, &cl->resolve_timer, rb_mono_ms() + RB_RESOLVE_AGAIN_MS);
}

/* broker.liveness.probe.interval.ms: probe the other brokers' listeners; a dead
 * one's registration removed is re-read at once (coord/liveness.c). */
static void probe_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, probe_timer);
    struct rb_shard *cs = coord_shard(cl);
    int32_t iv = cl->c->bc->broker_liveness_probe_interval_ms;
    if (atomic_load(&cl->c->rt->stopping) || iv <= 0)
        return;
    rb_cl_live_round(cs, cl);
    rb_timer_arm(&cs->timers, &cl->probe_timer, rb_mono_ms() + iv);
}

static void retry_fire(struct rb_timer *tm)
{
    struct rb_cluster *cl = RB_CONTAINER_OF(tm, struct rb_cluster, retry_timer);
    if (atomic_load(&cl->c->rt->stopping))
        return;
    pthread_mutex_lock(&cl->mu);
    if (!cl->q)
        cl->ev_expired = true;
    pthread_mutex_unlock(&cl->mu);
    rb_cl_sync(coord_shard(cl), cl);
}

int rb_coord_thread_start(struct rb_shard *s)
{
    struct rb_coord *c = s->coord;
    if (!c || !c->cl)
        return 0;
    struct rb_cluster *cl = c->cl;
    cl->started = true;
    cl->efd_io.cb = efd_cb;
    rb_timer_init(&cl->lease_timer, lease_fire);
    rb_timer_init(&cl->retry_timer, retry_fire);
    rb_timer_init(&cl->wait_timer, wait_timer_fire);
    rb_timer_init(&cl->rebalance_timer, rebalance_fire);
    rb_timer_init(&cl->resolve_timer, resolve_fire);
    rb_timer_init(&cl->probe_timer, probe_fire);
    arm_efd(cl);
    if (c->bc->broker_liveness_probe_interval_ms > 0)
        rb_timer_arm(&s->timers, &cl->probe_timer,
                     rb_mono_ms() + c->bc->broker_liveness_probe_interval_ms);
    rb_timer_arm(&s->timers, &cl->resolve_timer, rb_mono_ms() + RB_RESOLVE_AGAIN_MS);
    rb_timer_arm(&s->timers, &cl->lease_timer, rb_mono_ms() + RB_MAX(cl->session_ms / 6, 100));
    rebalance_fire(&cl->rebalance_timer); /* arms it (a new controller checks at once) */
    rb_cl_sync(s, cl);                    /* election, and anything that changed since open */
    return 0;
}
