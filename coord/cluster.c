/*
 * coord/cluster.c - the cluster backend of coord/coord.h: a broker of a cluster
 * that coordinates through a quorum (ZooKeeper or etcd, coord/quorum.h) in
 * ZooKeeper-era Kafka's layout (coord/kafka_zk.h). This file opens it (connect,
 * cluster id, registration, the first view, the local replicas' logs), keeps the
 * view current from the quorum's watches, publishes snapshots with the local
 * replicas to adopt and drop, and keeps the leader lease.
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
#include "core/defect.h"
#include "core/kerr.h"
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

static void on_event(void *ctx, enum rb_qevent ev, const char *path)
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

static void mark_all_dirty(struct rb_cluster *cl)
{
    cl->brokers_dirty = cl->controller_dirty = cl->topics_dirty = cl->configs_dirty = true;
    cl->deletes_dirty = true;
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
        mark_all_dirty(cl);
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

/* Create /brokers/ids/<self>; an old session's node of the same id (a restart
 * after kill -9) goes when that session expires: wait for it up to `wait_ms`. */
static int register_broker(struct rb_cluster *cl, int64_t wait_ms, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", cl->self);
    char *js = rb_kzk_broker_json(&cl->me, rb_wall_ms());
    if (!js)
        return -ENOMEM;
    int64_t deadline = rb_mono_ms() + wait_ms;
    int r;
    bool told = false;
    for (;;) {
        r = rb_quorum_create(cl->q, path, js, strlen(js), RB_QC_EPHEMERAL, NULL, 0);
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

static void renew_lease(struct rb_cluster *cl)
{
    if (!cl->q || cl->session_lost)
        return;
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", cl->self);
    int64_t t0 = rb_mono_ms();
    cl->next_renew_ms = t0 + RB_MAX(cl->session_ms / 6, 100);
    int r = rb_quorum_exists(cl->q, path, false, NULL);
    if (r == 0) {
        atomic_store(&cl->lease_until,
                     RB_DEFECT(NO_LEADER_LEASE) ? INT64_MAX : t0 + cl->session_ms / 2);
    } else if (r == -ENOENT) { /* our registration vanished: make it again */
        char err[256] = "";
        RB_WARN(COMP, "%s is gone: registering again", path);
        if (register_broker(cl, 0, err, sizeof(err)))
            RB_WARN(COMP, "%s", err);
    } else {
        rb_cl_quorum_error(cl, r);
    }
}

/* Long work on the coordination thread (reading a big view, opening many logs)
 * keeps the lease by renewing it on the way when it is due. */
static void lease_tick(struct rb_cluster *cl)
{
    if (cl->q && !cl->session_lost && rb_mono_ms() >= cl->next_renew_ms)
        renew_lease(cl);
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
static bool reconnect(struct rb_cluster *cl)
{
    atomic_store(&cl->lease_until, 0);
    if (cl->is_controller)
        RB_WARN(COMP, "session expired: no longer the controller");
    cl->is_controller = false;
    cl->session_lost = true;
    rb_quorum_close(cl->q);
    cl->q = NULL;
    char err[512] = "";
    int r = open_session(cl, err, sizeof(err));
    if (!r) /* our old node went with the old session: another one is another broker's */
        r = register_broker(cl, 0, err, sizeof(err));
    if (r) {
        RB_WARN(COMP, "reconnecting to %s: %s (retrying)", cl->qcfg.connect, err);
        rb_quorum_close(cl->q);
        cl->q = NULL;
        return false;
    }
    cl->session_lost = false;
    renew_lease(cl);
    mark_all_dirty(cl);
    RB_INFO(COMP, "registered again as broker %d after the session expired", cl->self);
    return true;
}

/* ---- reading the view ---- */

static int read_brokers(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, "/brokers/ids", true, &names, &n);
    if (r)
        return r;
    struct rb_kzk_broker *b = calloc((size_t)RB_MAX(n, 1), sizeof(*b));
    RB_ASSERT(b);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char path[300], *end;
        long id = strtol(names[i], &end, 10);
        if (*end || id < 0 || id > INT32_MAX)
            continue;
        snprintf(path, sizeof(path), "/brokers/ids/%s", names[i]);
        char *data = NULL;
        r = rb_quorum_get(cl->q, path, false, &data, NULL, NULL);
        if (r == -ENOENT)
            continue;
        if (r) {
            free(data);
            free(names);
            free(b);
            return r;
        }
        if (rb_kzk_parse_broker(data, (int32_t)id, &b[k]) == 0)
            k++;
        else
            RB_WARN(COMP, "%s: not a broker registration Kafka would read: ignored", path);
        free(data);
    }
    free(names);
    for (int i = 1; i < k; i++) /* sort by id */
        for (int j = i; j > 0 && b[j].id < b[j - 1].id; j--) {
            struct rb_kzk_broker tmp = b[j];
            b[j] = b[j - 1];
            b[j - 1] = tmp;
        }
    bool same = k == cl->n_brokers;
    for (int i = 0; same && i < k; i++)
        same = b[i].id == cl->brokers[i].id && b[i].port == cl->brokers[i].port &&
               strcmp(b[i].host, cl->brokers[i].host) == 0 &&
               strcmp(b[i].rack, cl->brokers[i].rack) == 0;
    if (!same) {
        RB_INFO(COMP, "live brokers: %d", k);
        cl->view_changed = true;
    }
    free(cl->brokers);
    cl->brokers = b;
    cl->n_brokers = k;
    return 0;
}

static int read_controller(struct rb_cluster *cl)
{
    char *data = NULL;
    int32_t id = -1;
    int r = rb_quorum_get(cl->q, "/controller", true, &data, NULL, NULL);
    if (r == -ENOENT) {
        r = rb_quorum_exists(cl->q, "/controller", true, NULL);
        if (r == 0) { /* created in between: read again next time */
            cl->controller_dirty = true;
            return 0;
        }
        if (r != -ENOENT)
            return r;
        r = 0;
    } else if (r == 0) {
        if (rb_kzk_parse_controller(data, &id))
            id = -1;
    }
    free(data);
    if (r)
        return r;
    if (id != cl->controller_id) {
        RB_INFO(COMP, "controller: %d", id);
        cl->view_changed = true;
    }
    if (cl->is_controller && id != cl->self) {
        RB_WARN(COMP, "/controller names broker %d: no longer the controller", id);
        cl->is_controller = false;
    }
    if (id == cl->self && !cl->is_controller) {
        /* Ours without our knowing: an election whose answer was lost, or a previous
         * run's session. Nobody acts as controller while it stands: remove it and
         * elect again (its watch brings everyone to the election). */
        RB_WARN(COMP, "/controller names this broker, which does not act as controller: "
                      "removing it for a new election");
        int d = rb_quorum_delete(cl->q, "/controller", -1);
        if (d && d != -ENOENT)
            rb_cl_quorum_error(cl, d);
        id = -1;
        cl->controller_dirty = true;
    }
    cl->controller_id = id;
    return 0;
}

static void topic_free(struct rb_cl_topic *t)
{
    free(t->name);
    rb_kzk_assignment_free(&t->a);
    free(t->st);
    free(t->st_version);
    free(t->st_dirty);
    rb_kzk_config_free(&t->cfg);
    memset(t, 0, sizeof(*t));
}

static int read_topics(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, "/brokers/topics", true, &names, &n);
    if (r)
        return r;
    /* drop topics that are gone */
    for (int i = 0; i < cl->n_topics;) {
        bool found = false;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(names[k], cl->topics[i].name) == 0;
        if (found) {
            i++;
            continue;
        }
        RB_INFO(COMP, "topic %s is gone", cl->topics[i].name);
        topic_free(&cl->topics[i]);
        cl->topics[i] = cl->topics[--cl->n_topics];
        cl->view_changed = true;
    }
    for (int k = 0; k < n; k++) {
        if (rb_cl_topic_find(cl, names[k]) || !rb_topic_name_valid(names[k], strlen(names[k])))
            continue;
        struct rb_cl_topic *nt = realloc(cl->topics, sizeof(*nt) * (size_t)(cl->n_topics + 1));
        RB_ASSERT(nt);
        cl->topics = nt;
        struct rb_cl_topic *t = &cl->topics[cl->n_topics++];
        memset(t, 0, sizeof(*t));
        t->name = strdup(names[k]);
        RB_ASSERT(t->name);
        t->assign_dirty = t->config_dirty = true;
        t->assign_version = -1;
    }
    free(names);
    return 0;
}

static int read_assignment(struct rb_cluster *cl, struct rb_cl_topic *t, bool *gone)
{
    char path[300], *data = NULL;
    int64_t version = -1;
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    int r = rb_quorum_get(cl->q, path, true, &data, NULL, &version);
    if (r == -ENOENT) {
        *gone = true;
        return 0;
    }
    if (r)
        return r;
    t->assign_dirty = false;
    /* (No shortcut on an unchanged version: a node deleted and created again starts
     * over at version 0.) */
    struct rb_kzk_assignment a;
    if (rb_kzk_parse_assignment(data, &a)) {
        RB_WARN(COMP, "%s: not a topic assignment Kafka would read: topic ignored", path);
        free(data);
        t->assign_version = version;
        return 0;
    }
    free(data);
    int32_t old_n = t->a.n_partitions;
    t->id_unwritten = false;
    if (!a.has_id && t->a.has_id) { /* rewritten without it: the topic keeps its id */
        a.has_id = true;
        memcpy(a.topic_id, t->a.topic_id, 16);
        t->id_unwritten = true;
    }
    bool recreated = a.has_id && t->a.has_id && memcmp(a.topic_id, t->a.topic_id, 16) != 0;
    if (!recreated && a.n_partitions < old_n) {
        RB_WARN(COMP,
                "%s: %d partitions where there were %d: partitions are never removed, "
                "the change is ignored",
                path, a.n_partitions, old_n);
        rb_kzk_assignment_free(&a);
        t->assign_version = version;
        return 0;
    }
    bool same = !recreated && a.has_id == t->a.has_id && a.n_partitions == old_n;
    for (int32_t p = 0; same && p < old_n; p++)
        same =
            a.n_replicas[p] == t->a.n_replicas[p] &&
            memcmp(a.replicas[p], t->a.replicas[p], sizeof(int32_t) * (size_t)a.n_replicas[p]) == 0;
    if (same) {
        rb_kzk_assignment_free(&a);
        t->assign_version = version;
        return 0;
    }
    if (recreated) { /* a new incarnation: its partition states are its own */
        for (int32_t p = 0; p < old_n; p++) {
            t->st_dirty[p] = true;
            t->st_version[p] = -1;
        }
    }
    if (a.n_partitions != old_n) {
        int32_t n = a.n_partitions;
        struct rb_kzk_state *st = calloc((size_t)n, sizeof(*st));
        int64_t *sv = calloc((size_t)n, sizeof(*sv));
        bool *sd = calloc((size_t)n, sizeof(*sd));
        RB_ASSERT(st && sv && sd);
        for (int32_t p = 0; p < n; p++) {
            if (p < old_n) {
                st[p] = t->st[p];
                sv[p] = t->st_version[p];
                sd[p] = t->st_dirty[p];
            } else {
                st[p].leader = -1;
                sv[p] = -1;
                sd[p] = true;
            }
        }
        free(t->st);
        free(t->st_version);
        free(t->st_dirty);
        t->st = st;
        t->st_version = sv;
        t->st_dirty = sd;
    }
    rb_kzk_assignment_free(&t->a);
    t->a = a;
    t->assign_version = version;
    cl->view_changed = true;
    return 0;
}

static int read_state(struct rb_cluster *cl, struct rb_cl_topic *t, int32_t p)
{
    char path[320], *data = NULL;
    int64_t version = -1;
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", t->name, p);
    int r = rb_quorum_get(cl->q, path, true, &data, NULL, &version);
    if (r == -ENOENT) {
        r = rb_quorum_exists(cl->q, path, true, NULL);
        if (r == 0)
            return 0; /* created in between: st_dirty stays set */
        if (r != -ENOENT)
            return r;
        t->st_dirty[p] = false;
        if (t->st_version[p] != -1)
            cl->view_changed = true;
        t->st_version[p] = -1;
        memset(&t->st[p], 0, sizeof(t->st[p]));
        t->st[p].leader = -1;
        return 0;
    }
    if (r)
        return r;
    t->st_dirty[p] = false;
    struct rb_kzk_state s;
    if (rb_kzk_parse_state(data, &s)) {
        /* Someone else's bytes: no leader here, and no election over it (the epoch
         * it held is unknown); fixing the node is the operator's. */
        RB_WARN(COMP, "%s: not a partition state Kafka would read: partition has no leader", path);
        free(data);
        memset(&t->st[p], 0, sizeof(t->st[p]));
        t->st[p].leader = -1;
        if (t->st_version[p] != -2)
            cl->view_changed = true;
        t->st_version[p] = -2;
        return 0;
    }
    free(data);
    if (version != t->st_version[p] || memcmp(&s, &t->st[p], sizeof(s)) != 0)
        cl->view_changed = true;
    t->st[p] = s;
    t->st_version[p] = version;
    return 0;
}

static int read_config(struct rb_cluster *cl, struct rb_cl_topic *t)
{
    char path[300], *data = NULL;
    snprintf(path, sizeof(path), "/config/topics/%s", t->name);
    int r = rb_quorum_get(cl->q, path, false, &data, NULL, NULL);
    struct rb_kzk_config cfg = {0};
    if (r == 0 && rb_kzk_parse_config(data, &cfg))
        RB_WARN(COMP, "%s: not a topic config Kafka would read: ignored", path);
    free(data);
    if (r && r != -ENOENT)
        return r;
    t->config_dirty = false;
    bool same = cfg.n == t->cfg.n;
    for (int32_t i = 0; same && i < cfg.n; i++)
        same = strcmp(cfg.keys[i], t->cfg.keys[i]) == 0 &&
               strcmp(cfg.values[i], t->cfg.values[i]) == 0;
    if (!same)
        cl->view_changed = cl->configs_changed = true;
    rb_kzk_config_free(&t->cfg);
    t->cfg = cfg;
    return 0;
}

static void dyn_free(struct rb_dyn_config_kv *d, int n)
{
    for (int i = 0; i < n; i++) {
        free(d[i].key);
        free(d[i].value);
    }
    free(d);
}

/* The dynamic broker configs: /config/brokers/<default> (every broker) and
 * /config/brokers/<id>, as Kafka 2.8's kafka-configs.sh --zookeeper writes them. */
static int read_broker_configs(struct rb_cluster *cl)
{
    char **names = NULL;
    int n = 0;
    int r = rb_quorum_children(cl->q, "/config/brokers", false, &names, &n);
    if (r == -ENOENT)
        r = n = 0;
    if (r)
        return r;
    struct rb_dyn_config_kv *d = NULL;
    int nd = 0;
    for (int i = 0; i < n && !r; i++) {
        int32_t broker;
        char *end;
        if (strcmp(names[i], "<default>") == 0) {
            broker = -1;
        } else {
            long v = strtol(names[i], &end, 10);
            if (*end || v < 0 || v > INT32_MAX)
                continue;
            broker = (int32_t)v;
        }
        char path[300], *data = NULL;
        snprintf(path, sizeof(path), "/config/brokers/%s", names[i]);
        r = rb_quorum_get(cl->q, path, false, &data, NULL, NULL);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        struct rb_kzk_config cfg;
        if (!r && rb_kzk_parse_config(data, &cfg) == 0) {
            d = realloc(d, sizeof(*d) * (size_t)(nd + cfg.n + 1));
            RB_ASSERT(d);
            for (int32_t k = 0; k < cfg.n; k++) {
                d[nd].broker = broker;
                d[nd].key = cfg.keys[k];
                d[nd++].value = cfg.values[k];
            }
            free(cfg.keys);
            free(cfg.values);
        } else if (!r) {
            RB_WARN(COMP, "%s: not a config Kafka would read: ignored", path);
        }
        free(data);
    }
    free(names);
    if (r) {
        dyn_free(d, nd);
        return r;
    }
    bool same = nd == cl->n_dyn;
    for (int i = 0; same && i < nd; i++)
        same = d[i].broker == cl->dyn[i].broker && strcmp(d[i].key, cl->dyn[i].key) == 0 &&
               strcmp(d[i].value, cl->dyn[i].value) == 0;
    if (!same)
        cl->view_changed = cl->configs_changed = true;
    dyn_free(cl->dyn, cl->n_dyn);
    cl->dyn = d;
    cl->n_dyn = nd;
    return 0;
}

/* Re-read everything marked dirty; 0 or the quorum's error. */
static int read_dirty(struct rb_cluster *cl)
{
    int r = 0;
    if (cl->brokers_dirty && !(r = read_brokers(cl)))
        cl->brokers_dirty = false;
    if (!r && cl->controller_dirty && !(r = read_controller(cl)))
        cl->controller_dirty = false;
    if (!r && cl->topics_dirty && !(r = read_topics(cl)))
        cl->topics_dirty = false;
    if (!r && cl->configs_dirty) {
        char **names = NULL;
        int n = 0;
        r = rb_quorum_children(cl->q, "/config/changes", true, &names, &n);
        free(names);
        if (!r)
            r = read_broker_configs(cl);
        if (!r) {
            cl->configs_dirty = false;
            for (int i = 0; i < cl->n_topics; i++)
                cl->topics[i].config_dirty = true;
        }
    }
    for (int i = 0; !r && i < cl->n_topics; i++) {
        struct rb_cl_topic *t = &cl->topics[i];
        bool gone = false;
        lease_tick(cl);
        if (t->assign_dirty)
            r = read_assignment(cl, t, &gone);
        if (gone) {
            topic_free(t);
            cl->topics[i--] = cl->topics[--cl->n_topics];
            cl->view_changed = true;
            continue;
        }
        if (!r && t->config_dirty)
            r = read_config(cl, t);
        for (int32_t p = 0; !r && p < t->a.n_partitions; p++)
            if (t->st_dirty[p])
                r = read_state(cl, t, p);
    }
    if (r)
        rb_cl_quorum_error(cl, r);
    return r;
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

static struct rb_metadata *build_md(struct rb_cluster *cl, const struct rb_metadata *old,
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
    for (int i = 0; i < cl->n_brokers; i++) {
        md->brokers[i].id = cl->brokers[i].id;
        md->brokers[i].host = strdup(cl->brokers[i].host);
        md->brokers[i].port = cl->brokers[i].port;
        md->brokers[i].rack = cl->brokers[i].rack[0] ? strdup(cl->brokers[i].rack) : NULL;
    }
    md->leader_lease = &cl->lease_until;
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

static int open_local(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
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

/* Publish the view as a new snapshot: open the partitions that became local,
 * hand them to their shards, drop those that are no longer here. */
static void publish(struct rb_shard *cs, struct rb_cluster *cl)
{
    struct rb_coord *c = cl->c;
    cl->view_changed = false;
    struct rb_metadata *next = build_md(cl, c->md, NULL, 0);
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
            lease_tick(cl);
            if (open_local(c, t, p, &log)) {
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
    if (take_events(cl) && !reconnect(cl)) {
        if (cs)
            rb_timer_arm(&cs->timers, &cl->retry_timer, rb_mono_ms() + 1000);
        return;
    }
    if (!cl->q)
        return;
    for (int round = 0; round < 16; round++) {
        if (read_dirty(cl))
            break;
        if (cl->controller_id < 0 && !cl->controller_dirty)
            rb_ctl_elect(cl);
        if (cl->controller_dirty)
            continue;
        if (!cl->is_controller || !rb_ctl_run(cl))
            break;
    }
    if (cl->view_changed && cs)
        publish(cs, cl);
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
    renew_lease(cl);
    int64_t step = RB_MAX(cl->session_ms / 6, 100);
    rb_timer_arm(&cs->timers, &cl->lease_timer, rb_mono_ms() + step);
    pthread_mutex_lock(&cl->mu);
    bool expired = cl->ev_expired;
    pthread_mutex_unlock(&cl->mu);
    if (expired || cl_pending(cl)) /* or reads that failed earlier: again */
        rb_cl_sync(cs, cl);
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
    arm_efd(cl);
    rb_timer_arm(&s->timers, &cl->lease_timer, rb_mono_ms() + RB_MAX(cl->session_ms / 6, 100));
    rb_cl_sync(s, cl); /* election, and anything that changed since open */
    return 0;
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
    cl->qcfg.on_event = on_event;
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
    struct rb_metadata *md = build_md(cl, NULL, loc, n_loc);
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
            r = open_local(c, t, p, &log);
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
    if (!r)
        r = ensure_base(cl, err, errlen);
    if (!r)
        r = cluster_id(cl, NULL, id, id_cap, err, errlen);
    if (!r)
        r = register_broker(cl, wait_ms, err, errlen);
    if (r)
        return r;
    renew_lease(cl);
    mark_all_dirty(cl);
    r = read_dirty(cl);
    if (r)
        snprintf(err, errlen, "cannot read the cluster's metadata: %s", rb_quorum_strerror(r));
    return r;
}

static void cluster_init(struct rb_cluster *cl, int32_t self)
{
    cl->efd = -1;
    cl->self = self;
    cl->controller_id = -1;
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
    cl->qcfg.on_event = on_event;
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
    renew_lease(cl);
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
        topic_free(&cl->topics[i]);
    free(cl->topics);
    free(cl->brokers);
    dyn_free(cl->dyn, cl->n_dyn);
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

void rb_coord_cluster_close(struct rb_coord *c)
{
    if (!c->cl)
        return;
    cluster_free(c->cl);
    c->cl = NULL;
}
