/*
 * coord/cluster_view.c - a cluster broker's view of the quorum, read again where
 * a watch fired (coord/cluster.c marks what is dirty): live brokers, the
 * controller, topics with their assignments, partition states and configs, and
 * the dynamic broker configs. Every read re-arms its watch. Nodes written by
 * another tool that Kafka would not read are logged and left out, never asserted
 * on; an assignment rewritten without its topic_id keeps the id, partitions never
 * shrink, a recreated topic (a new id) starts its partition states over.
 */
#include "coord/cluster_int.h"
#include "core/logging.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "cluster"

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
        size_t len = 0;
        int64_t ver = -1;
        r = rb_quorum_get(cl->q, path, false, &data, &len, &ver);
        if (r == -ENOENT)
            continue;
        if (r) {
            free(data);
            free(names);
            free(b);
            return r;
        }
        if (rb_kzk_parse_broker(data, (int32_t)id, &b[k]) == 0) {
            b[k].reg_version = ver;
            b[k].reg_hash = rb_live_hash(data, len);
            k++;
        } else
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

void rb_cl_topic_free(struct rb_cl_topic *t)
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
        rb_cl_topic_free(&cl->topics[i]);
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
    if (same) { /* a reassignment's adding/removing lists may have changed */
        struct rb_kzk_assignment old = t->a;
        t->a.n_adding = a.n_adding;
        t->a.adding = a.adding;
        t->a.n_removing = a.n_removing;
        t->a.removing = a.removing;
        a.n_adding = old.n_adding;
        a.adding = old.adding;
        a.n_removing = old.n_removing;
        a.removing = old.removing;
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

void rb_cl_dyn_free(struct rb_dyn_config_kv *d, int n)
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
        rb_cl_dyn_free(d, nd);
        return r;
    }
    bool same = nd == cl->n_dyn;
    for (int i = 0; same && i < nd; i++)
        same = d[i].broker == cl->dyn[i].broker && strcmp(d[i].key, cl->dyn[i].key) == 0 &&
               strcmp(d[i].value, cl->dyn[i].value) == 0;
    if (!same)
        cl->view_changed = cl->configs_changed = true;
    rb_cl_dyn_free(cl->dyn, cl->n_dyn);
    cl->dyn = d;
    cl->n_dyn = nd;
    return 0;
}

int rb_cl_read_request(struct rb_cluster *cl, const char *path, char **data, int64_t *version,
                       bool *pending, bool *dirty)
{
    char *d = NULL;
    int64_t ver = -1;
    int r = rb_quorum_get(cl->q, path, true, &d, NULL, &ver);
    if (r == -ENOENT) {
        r = rb_quorum_exists(cl->q, path, true, NULL);
        if (r == 0) { /* created in between: read it next time */
            *dirty = true;
            return 0;
        }
        *pending = *dirty = false;
        return r == -ENOENT ? 0 : r;
    }
    if (r)
        return r;
    free(*data);
    *data = d;
    *version = ver;
    *pending = true;
    *dirty = false;
    return 0;
}

/* Re-read everything marked dirty; 0 or the quorum's error. */
int rb_cl_read_dirty(struct rb_cluster *cl)
{
    int r = 0;
    if (cl->brokers_dirty && !(r = read_brokers(cl)))
        cl->brokers_dirty = false;
    if (!r && cl->controller_dirty && !(r = read_controller(cl)))
        cl->controller_dirty = false;
    if (!r && cl->topics_dirty && !(r = read_topics(cl)))
        cl->topics_dirty = false;
    if (!r && cl->shutdown_dirty)
        r = rb_cs_read(cl);
    if (!r && cl->pe_dirty)
        r = rb_cl_read_request(cl, "/admin/preferred_replica_election", &cl->pe_data,
                               &cl->pe_version, &cl->pe_pending, &cl->pe_dirty);
    if (!r && cl->ra_dirty)
        r = rb_cl_read_request(cl, "/admin/reassign_partitions", &cl->ra_data, &cl->ra_version,
                               &cl->ra_pending, &cl->ra_dirty);
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
        rb_cl_lease_tick(cl);
        if (t->assign_dirty)
            r = read_assignment(cl, t, &gone);
        if (gone) {
            rb_cl_topic_free(t);
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
