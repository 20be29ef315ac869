/*
 * coord/cluster_open.c - a cluster broker's session with the quorum and its life:
 * connecting (the backend from zookeeper.connect or etcd.endpoints), the base
 * nodes, /cluster/id, registration in /brokers/ids, the leader lease's renewal,
 * reconnection after an expiry, the first view and the local replicas' logs at
 * startup, detached nodes for the simulator, and closing.
 */
#include "coord/cluster_int.h"
#include "coord/coord.h"
#include "core/defect.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define COMP "cluster"

/* ---- session: connect, cluster id, registration ---- */

static int ensure_base(struct rb_cluster *cl, char *err, size_t errlen)
{
    for (int i = 0; rb_kzk_base_paths[i]; i++) {
        int r = rb_quorum_create_parents(cl->q, rb_kzk_base_paths[i]);
        if (r) {
            snprintf(err, errlen, "cannot create %s: %s", rb_kzk_base_paths[i],
                     rb_quorum_strerror(r));
            return r;
        }
    }
    return 0;
}

/* The cluster id from /cluster/id, created from want (meta.properties') or a new
 * one when missing. */
static int cluster_id(struct rb_cluster *cl, const char *want, char *out, size_t cap, char *err,
                      size_t errlen)
{
    for (int tries = 0; tries < 3; tries++) {
        char *data = NULL;
        int r = rb_quorum_get(cl->q, "/cluster/id", false, &data, NULL, NULL);
        if (r == 0) {
            r = rb_kzk_parse_cluster_id(data, out, cap);
            free(data);
            if (r)
                snprintf(err, errlen, "/cluster/id holds no valid cluster id");
            return r;
        }
        if (r != -ENOENT) {
            snprintf(err, errlen, "cannot read /cluster/id: %s", rb_quorum_strerror(r));
            return r;
        }
        char id[32];
        if (want && *want) {
            snprintf(id, sizeof(id), "%s", want);
        } else {
            uint8_t u[16];
            rb_uuid_random(u);
            rb_uuid_to_base64(u, id);
        }
        char *js = rb_kzk_cluster_id_json(id);
        if (!js)
            return -ENOMEM;
        r = rb_quorum_create_parents(cl->q, "/cluster");
        if (!r)
            r = rb_quorum_create(cl->q, "/cluster/id", js, strlen(js), 0, NULL, 0);
        free(js);
        if (r && r != -EEXIST) {
            snprintf(err, errlen, "cannot create /cluster/id: %s", rb_quorum_strerror(r));
            return r;
        }
    }
    snprintf(err, errlen, "cannot agree on /cluster/id");
    return -EIO;
}

/* A member that stops answering (the client moves to another one and the session
 * lives on) fails the call in flight with -ETIMEDOUT, or -ECONNABORTED: no reason
 * to give up a start. True, after a short pause, while give_up (monotonic ms) is
 * ahead: the caller tries the step again (each step is idempotent). */
static bool start_retry(int r, int64_t give_up, const char *what)
{
    if ((r != -ETIMEDOUT && r != -ECONNABORTED) || rb_mono_ms() >= give_up)
        return false;
    RB_WARN(COMP, "%s: %s; trying again", what, rb_quorum_strerror(r));
    usleep(200 * 1000);
    return true;
}

/* Our own registration made by a create whose answer was lost: the node holds
 * exactly what we wrote (its timestamp makes it ours, not a previous run's). */
static bool registration_is(struct rb_cluster *cl, const char *path, const char *js)
{
    char *data = NULL;
    bool same = rb_quorum_get(cl->q, path, false, &data, NULL, NULL) == 0 && strcmp(data, js) == 0;
    free(data);
    return same;
}

/* Create /brokers/ids/<self>; an old session's node of the same id (a restart
 * after kill -9) goes when that session expires: wait for it up to `wait_ms`.
 * At startup (retry_until > 0) a member gone silent is retried until then. */
static int register_broker(struct rb_cluster *cl, int64_t wait_ms, int64_t retry_until, char *err,
                           size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", cl->self);
    char *js = rb_kzk_broker_json(&cl->me, rb_wall_ms());
    if (!js)
        return -ENOMEM;
    int64_t deadline = rb_mono_ms() + wait_ms;
    int r;
    bool told = false, lost = false;
    for (;;) {
        r = rb_quorum_create(cl->q, path, js, strlen(js), RB_QC_EPHEMERAL, NULL, 0);
        if (r == -EEXIST && lost && registration_is(cl, path, js)) {
            r = 0;
            break;
        }
        if (start_retry(r, retry_until, "registering")) {
            lost = true;
            continue;
        }
        if (r != -EEXIST || rb_mono_ms() >= deadline)
            break;
        if (!told) {
            RB_WARN(COMP,
                    "%s exists (a previous run's session, or another broker with broker.id %d): "
                    "waiting up to %lld ms for it to go",
                    path, cl->self, (long long)wait_ms);
            told = true;
        }
        usleep(250 * 1000);
    }
    free(js);
    if (r == -EEXIST)
        snprintf(err, errlen,
                 "cannot register as broker %d: %s exists (another live broker has broker.id %d)",
                 cl->self, path, cl->self);
    else if (r)
        snprintf(err, errlen, "cannot register as broker %d: %s: %s", cl->self, path,
                 rb_quorum_strerror(r));
    return r;
}

void rb_cl_renew_lease(struct rb_cluster *cl)
{
    if (!cl->q || cl->session_lost)
        return;
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", cl->self);
    int64_t t0 = rb_mono_ms();
    cl->next_renew_ms = t0 + RB_MAX(cl->session_ms / 6, 100);
    int r = rb_quorum_exists(cl->q, path, false, NULL);
    if (r == 0 && cl->lease_hold) {
        atomic_store(&cl->lease_until, 0); /* the new session's view is not out yet */
    } else if (r == 0) {
        atomic_store(&cl->lease_until,
                     RB_DEFECT(NO_LEADER_LEASE) ? INT64_MAX : t0 + cl->session_ms / 2);
    } else if (r == -ENOENT) { /* our registration vanished: make it again */
        char err[256] = "";
        RB_WARN(COMP, "%s is gone: registering again", path);
        if (register_broker(cl, 0, 0, err, sizeof(err)))
            RB_WARN(COMP, "%s", err);
    } else {
        rb_cl_quorum_error(cl, r);
    }
}

void rb_cl_lease_hold(struct rb_cluster *cl)
{
    cl->lease_hold = true;
    cl->hold_release_seq = 0;
    atomic_store(&cl->lease_until, 0);
}

void rb_cl_lease_published(struct rb_cluster *cl, bool complete)
{
    cl->pub_seq++;
    if (cl->lease_hold && complete && !cl->hold_release_seq)
        cl->hold_release_seq = cl->pub_seq;
}

void rb_cl_lease_applied(struct rb_cluster *cl)
{
    cl->pub_done_seq++;
    if (cl->lease_hold && cl->hold_release_seq && cl->pub_done_seq >= cl->hold_release_seq) {
        cl->lease_hold = false;
        RB_INFO(COMP, "the view of the new session is applied: writes accepted again");
        rb_cl_renew_lease(cl);
    }
}

/* Long work on the coordination thread (reading a big view, opening many logs)
 * keeps the lease by renewing it on the way when it is due. */
void rb_cl_lease_tick(struct rb_cluster *cl)
{
    if (cl->q && !cl->session_lost && rb_mono_ms() >= cl->next_renew_ms)
        rb_cl_renew_lease(cl);
}

static int open_session(struct rb_cluster *cl, char *err, size_t errlen)
{
    int r = rb_quorum_open(&cl->q, &cl->qcfg, err, errlen);
    if (r)
        return r;
    cl->session_ms = rb_quorum_session_timeout_ms(cl->q);
    RB_INFO(COMP, "%s session 0x%llx with %s (session timeout %d ms)", cl->backend,
            (unsigned long long)rb_quorum_session_id(cl->q), cl->qcfg.connect, cl->session_ms);
    return 0;
}

/* After an expiry: a new session, registered again; false when it failed (retried). */
bool rb_cl_reconnect(struct rb_cluster *cl)
{
    rb_cl_lease_hold(cl);
    if (cl->is_controller)
        RB_WARN(COMP, "session expired: no longer the controller");
    cl->is_controller = false;
    cl->session_lost = true;
    rb_quorum_close(cl->q);
    cl->q = NULL;
    char err[512] = "";
    int r = open_session(cl, err, sizeof(err));
    if (!r) /* our old node went with the old session: another one is another broker's */
        r = register_broker(cl, 0, 0, err, sizeof(err));
    if (r) {
        RB_WARN(COMP, "reconnecting to %s: %s (retrying)", cl->qcfg.connect, err);
        rb_quorum_close(cl->q);
        cl->q = NULL;
        return false;
    }
    cl->session_lost = false;
    rb_cl_renew_lease(cl); /* the registration's round trip; no lease while held */
    rb_cl_mark_all_dirty(cl);
    cl->view_changed = true; /* published even when nothing changed: releases the hold */
    RB_INFO(COMP, "registered again as broker %d after the session expired", cl->self);
    return true;
}

/* ---- open and close ---- */

static int parse_backend(struct rb_cluster *cl, const struct rb_broker_config *bc,
                         struct rb_config *config, char *err, size_t errlen)
{
    const char *etcd = rb_config_get(config, "etcd.endpoints");
    const char *zk = bc->zookeeper_connect;
    if (etcd && *etcd && zk && *zk) {
        snprintf(err, errlen, "both zookeeper.connect and etcd.endpoints are set: choose one");
        return -EINVAL;
    }
    if (etcd && *etcd) {
        snprintf(cl->backend, sizeof(cl->backend), "etcd");
        cl->qcfg.connect = etcd;
        const char *prefix = rb_config_get(config, "etcd.prefix");
        cl->qcfg.root = prefix ? prefix : "/ringbroker";
    } else {
        snprintf(cl->backend, sizeof(cl->backend), "zookeeper");
        cl->qcfg.connect = zk;
    }
    cl->qcfg.backend = cl->backend;
    int64_t v;
    const char *s = rb_config_get(config, "zookeeper.session.timeout.ms");
    cl->qcfg.session_timeout_ms = s && !rb_parse_i64(s, 1, INT32_MAX, &v) ? (int32_t)v : 18000;
    s = rb_config_get(config, "zookeeper.connection.timeout.ms");
    cl->qcfg.connection_timeout_ms =
        s && !rb_parse_i64(s, 1, INT32_MAX, &v) ? (int32_t)v : cl->qcfg.session_timeout_ms;
    cl->qcfg.on_event = rb_cl_on_event;
    cl->qcfg.ctx = cl;
    return 0;
}

bool rb_coord_cluster_configured(struct rb_config *config)
{
    const struct rb_broker_config *bc = rb_config_broker(config);
    const char *etcd = rb_config_get(config, "etcd.endpoints");
    return (bc->zookeeper_connect[0]) || (etcd && *etcd);
}

/* Open the local replicas at startup: those the view says are here. The local
 * file names those hosted before: one that the quorum no longer places here (its
 * topic deleted while this broker was down) has its files deleted. */
static int open_initial(struct rb_cluster *cl, char *err, size_t errlen)
{
    struct rb_coord *c = cl->c;
    struct rb_cl_local *loc = NULL;
    int n_loc = 0;
    int r = rb_cl_local_load(c->dir, &loc, &n_loc, err, errlen);
    if (r)
        return r;
    struct rb_metadata *md = rb_cl_build_md(cl, NULL, loc, n_loc);
    snprintf(md->cluster_id, sizeof(md->cluster_id), "%s", c->md->cluster_id);
    md->epoch = 1;
    rb_metadata_unref(c->md);
    c->md = md;
    int n_parts = 0;
    for (int32_t i = 0; i < md->n_topics; i++) {
        const struct rb_topic_meta *t = &md->topics[i];
        for (int32_t p = 0; p < t->n_partitions; p++) {
            if (t->partitions[p].shard < 0)
                continue;
            struct rb_log *log = NULL;
            r = rb_cl_open_local(c, t, p, &log);
            if (r) {
                snprintf(err, errlen, "cannot open partition %s-%d: %s", t->name, p, strerror(-r));
                free(loc);
                return r;
            }
            c->hooks.adopt_initial(c->hooks.ctx, t->partitions[p].shard, t, p, log);
            n_parts++;
        }
    }
    for (int i = 0; i < n_loc; i++) {
        const struct rb_topic_meta *t = rb_metadata_topic(md, loc[i].topic, strlen(loc[i].topic));
        if (t && memcmp(t->id, loc[i].id, 16) == 0 && loc[i].partition < t->n_partitions &&
            t->partitions[loc[i].partition].shard >= 0)
            continue;
        if (t == NULL && rb_cl_topic_find(cl, loc[i].topic))
            continue; /* known but without an id yet: keep */
        char dir[4400];
        snprintf(dir, sizeof(dir), "%s/%s-%d", c->dir, loc[i].topic, loc[i].partition);
        struct rb_log *log = NULL;
        struct rb_log_config lc;
        rb_coord_log_config(rb_config_broker(c->config), NULL, &lc);
        if (rb_log_open_offline(&log, dir, &lc) == 0) {
            RB_INFO(COMP, "%s-%d was deleted while this broker was down: deleting its log",
                    loc[i].topic, loc[i].partition);
            rb_log_destroy(log);
        }
    }
    free(loc);
    rb_coord_sync_logs(c);
    if (rb_cl_local_save(c->dir, md))
        RB_ERROR(COMP, "cannot write the local replicas file in %s", c->dir);
    for (int i = 0; i < c->rt->n_shards; i++) {
        rb_metadata_ref(md);
        c->hooks.install_initial(c->hooks.ctx, i, md);
    }
    RB_INFO(COMP,
            "cluster %s via %s %s: broker %d, %d live brokers, %d topics, %d local partitions",
            md->cluster_id, cl->backend, cl->qcfg.connect, cl->self, cl->n_brokers, md->n_topics,
            n_parts);
    return 0;
}

/* Connect, make the base nodes, learn the cluster id, register and read the
 * view: what every node of a cluster does first (registration waits up to
 * wait_ms for a previous run's node of the same id to go). */
static int session_start(struct rb_cluster *cl, char *id, size_t id_cap, int64_t wait_ms, char *err,
                         size_t errlen)
{
    int r = open_session(cl, err, errlen);
    if (r)
        return r;
    /* Each step goes on through a member that stops answering, for up to
     * zookeeper.connection.timeout.ms. Seen in CI: one ZooKeeper member silent
     * under load made all three brokers exit 4.5 s into their start. */
    int64_t patience = cl->qcfg.connection_timeout_ms;
    int64_t give_up = rb_mono_ms() + patience;
    while ((r = ensure_base(cl, err, errlen)) && start_retry(r, give_up, "creating the base nodes"))
        ;
    give_up = rb_mono_ms() + patience;
    if (!r)
        while ((r = cluster_id(cl, NULL, id, id_cap, err, errlen)) &&
               start_retry(r, give_up, "reading /cluster/id"))
            ;
    if (!r)
        r = register_broker(cl, wait_ms, rb_mono_ms() + patience, err, errlen);
    if (r)
        return r;
    rb_cl_renew_lease(cl);
    rb_cl_mark_all_dirty(cl);
    /* the read goes on where it stopped (the dirty flags) */
    give_up = rb_mono_ms() + patience;
    while ((r = rb_cl_read_dirty(cl)) && start_retry(r, give_up, "reading the cluster's metadata"))
        ;
    if (r)
        snprintf(err, errlen, "cannot read the cluster's metadata: %s", rb_quorum_strerror(r));
    return r;
}

static void cluster_init(struct rb_cluster *cl, int32_t self)
{
    cl->efd = -1;
    cl->self = self;
    rb_resolver_init(&cl->res, NULL, RB_RESOLVE_INTERVAL_MS);
    cl->controller_id = -1;
    cl->shutdown_dirty = cl->pe_dirty = cl->ra_dirty = true;
    atomic_store(&cl->cs_left, -1);
    pthread_mutex_init(&cl->mu, NULL);
    uint8_t seed[16];
    rb_uuid_random(seed);
    memcpy(&cl->rnd_state, seed, sizeof(cl->rnd_state));
}

struct rb_cluster *rb_cl_detached_open(int32_t self, const struct rb_kzk_broker *me,
                                       const struct rb_quorum_config *qc, char *err, size_t errlen)
{
    struct rb_cluster *cl = calloc(1, sizeof(*cl));
    RB_ASSERT(cl);
    cluster_init(cl, self);
    cl->me = *me;
    cl->qcfg = *qc;
    snprintf(cl->backend, sizeof(cl->backend), "%s", qc->backend);
    cl->qcfg.backend = cl->backend;
    cl->qcfg.on_event = rb_cl_on_event;
    cl->qcfg.ctx = cl;
    char id[64];
    if (session_start(cl, id, sizeof(id), 0, err, errlen)) {
        rb_cl_detached_close(cl);
        return NULL;
    }
    return cl;
}

void rb_cl_tick(struct rb_cluster *cl)
{
    rb_cl_renew_lease(cl);
    pthread_mutex_lock(&cl->mu);
    bool expired = cl->ev_expired || !cl->q;
    if (!cl->q)
        cl->ev_expired = true;
    pthread_mutex_unlock(&cl->mu);
    if (expired)
        rb_cl_sync(NULL, cl);
}

static void cluster_free(struct rb_cluster *cl)
{
    rb_quorum_close(cl->q); /* ephemerals go now: the controller moves on at once */
    if (cl->efd >= 0)
        close(cl->efd);
    for (int i = 0; i < cl->n_topics; i++)
        rb_cl_topic_free(&cl->topics[i]);
    free(cl->topics);
    free(cl->brokers);
    rb_live_free(&cl->live);
    rb_resolver_free(&cl->res);
    free(cl->shutting);
    free(cl->pe_data);
    free(cl->ra_data);
    rb_cl_dyn_free(cl->dyn, cl->n_dyn);
    while (cl->waits) {
        struct rb_cl_wait *w = cl->waits;
        cl->waits = w->next;
        free(w->op);
        free(w);
    }
    pthread_mutex_lock(&cl->mu);
    for (int i = 0; i < cl->n_ev; i++)
        free(cl->ev_paths[i]);
    pthread_mutex_unlock(&cl->mu);
    pthread_mutex_destroy(&cl->mu);
    free(cl);
}

void rb_cl_detached_close(struct rb_cluster *cl)
{
    if (cl)
        cluster_free(cl);
}

int rb_coord_cluster_open(struct rb_coord *c, char *err, size_t errlen)
{
    struct rb_cluster *cl = calloc(1, sizeof(*cl));
    RB_ASSERT(cl);
    c->cl = cl;
    cl->c = c;
    cluster_init(cl, c->bc->broker_id);
    int r = parse_backend(cl, c->bc, c->config, err, errlen);
    if (r)
        return r;
    cl->me.id = cl->self;
    snprintf(cl->me.host, sizeof(cl->me.host), "%s", c->bc->advertised_host);
    cl->me.port = c->bc->advertised_port;
    const char *rack = rb_config_get(c->config, "broker.rack");
    if (rack)
        snprintf(cl->me.rack, sizeof(cl->me.rack), "%s", rack);
    cl->efd = eventfd(0, EFD_CLOEXEC);
    if (cl->efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        return -errno;
    }
    /* The cluster id is the quorum's; meta.properties must agree (or is written). */
    char id[64];
    r = session_start(cl, id, sizeof(id), 2LL * cl->qcfg.session_timeout_ms, err, errlen);
    if (r)
        return r;
    snprintf(c->md->cluster_id, sizeof(c->md->cluster_id), "%s", id);
    r = rb_coord_ensure_cluster_id(c, c->md, err, errlen);
    if (r)
        return r;
    return open_initial(cl, err, errlen);
}

int rb_coord_controlled_shutdown(struct rb_coord *c)
{
    if (!c || !c->cl || !c->cl->started)
        return 0;
    return rb_coord_cluster_controlled_shutdown(c->cl, c->bc);
}

void rb_coord_cluster_close(struct rb_coord *c)
{
    if (!c->cl)
        return;
    cluster_free(c->cl);
    c->cl = NULL;
}
