/*
 * tools/ringctl_cluster.c - `ringctl cluster`: the cluster at a glance, from the
 * brokers (--bootstrap-server: Metadata through librdkafka) or from the quorum
 * (--zookeeper: /brokers/ids, /controller, /brokers/topics and the partition
 * states): the cluster id, the controller, the live brokers (id, host:port,
 * rack), every partition's leader, replicas and ISR with the ones without a live
 * leader flagged, and a summary line. Limits (librdkafka 2.0.2): its metadata
 * carries no racks, so racks show only with --zookeeper.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_kafka.h"
#include "tools/ringctl_zk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cl_part {
    char *topic; /* owned by the view's topic list */
    int32_t partition, leader;
    int32_t n_replicas, n_isr;
    int32_t replicas[RB_KZK_MAX_REPLICAS], isr[RB_KZK_MAX_REPLICAS];
};

struct cl_view {
    char cluster_id[64];
    int32_t controller; /* -1: none */
    struct rb_kzk_broker *brokers;
    int n_brokers;
    char **topics;
    int n_topics;
    struct cl_part *parts;
    size_t n_parts, cap_parts;
};

static void view_free(struct cl_view *v)
{
    for (int i = 0; i < v->n_topics; i++)
        free(v->topics[i]);
    free(v->topics);
    free(v->brokers);
    free(v->parts);
}

static struct cl_part *add_part(struct cl_view *v)
{
    if (v->n_parts == v->cap_parts) {
        size_t cap = v->cap_parts ? v->cap_parts * 2 : 64;
        struct cl_part *p = realloc(v->parts, cap * sizeof(*p));
        if (!p)
            return NULL;
        v->parts = p;
        v->cap_parts = cap;
    }
    struct cl_part *p = &v->parts[v->n_parts++];
    memset(p, 0, sizeof(*p));
    p->leader = -1;
    return p;
}

static char *add_topic(struct cl_view *v, const char *name)
{
    char **t = realloc(v->topics, sizeof(char *) * (size_t)(v->n_topics + 1));
    if (!t)
        return NULL;
    v->topics = t;
    return (t[v->n_topics++] = strdup(name));
}

/* A malloc'd formatted string (NULL when out of memory: printed as "-"). */
__attribute__((format(printf, 1, 2))) static char *dupf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
}

static int print_view(const struct cl_view *v)
{
    int32_t *live = calloc((size_t)v->n_brokers + 1, sizeof(int32_t));
    char **cells = calloc(v->n_parts * 6 + (size_t)v->n_brokers * 3 + 1, sizeof(char *));
    if (!live || !cells) {
        free(live);
        free(cells);
        fprintf(stderr, "ringctl cluster: out of memory\n");
        return CTL_EXIT_FAIL;
    }
    printf("Cluster id: %s\n", v->cluster_id[0] ? v->cluster_id : "(none)");
    const struct rb_kzk_broker *ctrl = NULL;
    for (int i = 0; i < v->n_brokers; i++) {
        live[i] = v->brokers[i].id;
        if (v->brokers[i].id == v->controller)
            ctrl = &v->brokers[i];
    }
    if (v->controller < 0)
        printf("Controller: none\n");
    else if (ctrl)
        printf("Controller: %d (%s:%u)\n", v->controller, ctrl->host, ctrl->port);
    else
        printf("Controller: %d (not a live broker)\n", v->controller);
    printf("\n");
    size_t c = 0;
    for (int i = 0; i < v->n_brokers; i++) {
        const struct rb_kzk_broker *b = &v->brokers[i];
        cells[c++] = dupf("%d", b->id);
        cells[c++] = dupf("%s:%u", b->host, b->port);
        cells[c++] = b->rack[0] ? strdup(b->rack) : NULL;
    }
    static const char *const bh[] = {"BROKER", "HOST:PORT", "RACK"};
    ctl_print_table(bh, 3, (const char *const *)cells, (size_t)v->n_brokers);
    for (size_t i = 0; i < c; i++)
        free(cells[i]);
    size_t offline = 0;
    c = 0;
    for (size_t i = 0; i < v->n_parts; i++) {
        const struct cl_part *p = &v->parts[i];
        char ids[16 * RB_KZK_MAX_REPLICAS];
        const char *st = ctl_partition_status(p->leader, live, v->n_brokers);
        offline += *st != 0;
        cells[c++] = strdup(p->topic);
        cells[c++] = dupf("%d", p->partition);
        if (p->leader >= 0)
            cells[c++] = dupf("%d", p->leader);
        else
            cells[c++] = strdup("none");
        cells[c++] = strdup(ctl_fmt_ids(ids, sizeof(ids), p->replicas, p->n_replicas));
        cells[c++] = p->n_isr ? strdup(ctl_fmt_ids(ids, sizeof(ids), p->isr, p->n_isr)) : NULL;
        cells[c++] = strdup(*st ? st : "ok");
    }
    if (v->n_parts) {
        static const char *const ph[] = {"TOPIC",    "PARTITION", "LEADER",
                                         "REPLICAS", "ISR",       "STATUS"};
        printf("\n");
        ctl_print_table(ph, 6, (const char *const *)cells, v->n_parts);
    }
    for (size_t i = 0; i < c; i++)
        free(cells[i]);
    printf("\n%d brokers, %d topics, %zu partitions, %zu offline partitions\n", v->n_brokers,
           v->n_topics, v->n_parts, offline);
    free(cells);
    free(live);
    return CTL_EXIT_OK;
}

/* ---- from the quorum ---- */

static int zk_view(struct ctl_zk *z, const struct ctl_args *a, struct cl_view *v)
{
    int rc = ctl_zk_brokers(z, &v->brokers, &v->n_brokers);
    if (rc == 0)
        rc = ctl_zk_controller(z, &v->controller);
    if (rc < 0)
        return ctl_zk_fail(a, "reading the brokers and the controller", rc);
    ctl_zk_cluster_id(z, v->cluster_id, sizeof(v->cluster_id));
    char **names = NULL;
    int n = 0;
    rc = ctl_zk_children(z, "/brokers/topics", &names, &n);
    if (rc == -ENOENT)
        rc = n = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (a->exclude_internal && ctl_topic_internal(names[i]))
            continue;
        struct rb_kzk_assignment as;
        rc = ctl_zk_assignment(z, names[i], &as);
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc == -EINVAL) {
            fprintf(stderr,
                    "ringctl cluster: warning: %s/brokers/topics/%s does not parse as an "
                    "assignment\n",
                    z->chroot, names[i]);
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        char *t = add_topic(v, names[i]);
        for (int32_t p = 0; t && p < as.n_partitions && rc == 0; p++) {
            struct cl_part *cp = add_part(v);
            struct rb_kzk_state st;
            if (!cp) {
                rc = -ENOMEM;
                break;
            }
            cp->topic = t;
            cp->partition = p;
            cp->n_replicas = as.n_replicas[p];
            memcpy(cp->replicas, as.replicas[p], sizeof(cp->replicas));
            rc = ctl_zk_state(z, names[i], p, &st);
            if (rc == -ENOENT || rc == -EINVAL)
                rc = 0;
            cp->leader = st.leader;
            cp->n_isr = st.n_isr;
            memcpy(cp->isr, st.isr, sizeof(cp->isr));
        }
        if (!t)
            rc = -ENOMEM;
        rb_kzk_assignment_free(&as);
    }
    free(names);
    return rc < 0 ? ctl_zk_fail(a, "reading the topics", rc) : 0;
}

static int cluster_zk(const struct ctl_args *a)
{
    struct ctl_zk z;
    struct cl_view v = {.controller = -1};
    int rc = ctl_zk_open(&z, a);
    if (rc)
        return rc;
    rc = zk_view(&z, a, &v);
    ctl_zk_close(&z);
    if (rc == 0)
        rc = print_view(&v);
    view_free(&v);
    return rc;
}

/* ---- from the brokers ---- */

static int cmp_mtopic(const void *x, const void *y)
{
    const rd_kafka_metadata_topic_t *a = x, *b = y;
    return strcmp(a->topic, b->topic);
}

static int cmp_mpart(const void *x, const void *y)
{
    const rd_kafka_metadata_partition_t *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_broker(const void *x, const void *y)
{
    const struct rb_kzk_broker *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static int md_view(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, true);
    if (!md)
        return CTL_EXIT_FAIL;
    struct cl_view v = {.controller = rd_kafka_controllerid(rk, (int)a->timeout_ms)};
    char *cid = rd_kafka_clusterid(rk, (int)a->timeout_ms);
    snprintf(v.cluster_id, sizeof(v.cluster_id), "%s", cid ? cid : "");
    rd_kafka_mem_free(rk, cid);
    int rc = CTL_EXIT_FAIL;
    v.brokers = calloc((size_t)md->broker_cnt + 1, sizeof(*v.brokers));
    if (!v.brokers)
        goto oom;
    for (int i = 0; i < md->broker_cnt; i++) {
        v.brokers[i].id = md->brokers[i].id;
        snprintf(v.brokers[i].host, sizeof(v.brokers[i].host), "%s", md->brokers[i].host);
        v.brokers[i].port = (uint16_t)md->brokers[i].port;
    }
    v.n_brokers = md->broker_cnt;
    qsort(v.brokers, (size_t)v.n_brokers, sizeof(*v.brokers), cmp_broker);
    rd_kafka_metadata_topic_t *ts = md->topics;
    qsort(ts, (size_t)md->topic_cnt, sizeof(*ts), cmp_mtopic);
    for (int i = 0; i < md->topic_cnt; i++) {
        if (ts[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            (a->exclude_internal && ctl_topic_internal(ts[i].topic)))
            continue;
        char *t = add_topic(&v, ts[i].topic);
        if (!t)
            goto oom;
        rd_kafka_metadata_partition_t *ps = ts[i].partitions;
        qsort(ps, (size_t)ts[i].partition_cnt, sizeof(*ps), cmp_mpart);
        for (int p = 0; p < ts[i].partition_cnt; p++) {
            struct cl_part *cp = add_part(&v);
            if (!cp)
                goto oom;
            cp->topic = t;
            cp->partition = ps[p].id;
            cp->leader = ps[p].leader;
            cp->n_replicas =
                ps[p].replica_cnt < RB_KZK_MAX_REPLICAS ? ps[p].replica_cnt : RB_KZK_MAX_REPLICAS;
            memcpy(cp->replicas, ps[p].replicas, sizeof(int32_t) * (size_t)cp->n_replicas);
            cp->n_isr = ps[p].isr_cnt < RB_KZK_MAX_REPLICAS ? ps[p].isr_cnt : RB_KZK_MAX_REPLICAS;
            memcpy(cp->isr, ps[p].isrs, sizeof(int32_t) * (size_t)cp->n_isr);
        }
    }
    rc = print_view(&v);
    if (0) {
    oom:
        fprintf(stderr, "ringctl cluster: out of memory\n");
    }
    view_free(&v);
    rd_kafka_metadata_destroy(md);
    return rc;
}

int ctl_cluster(const struct ctl_args *a)
{
    if (a->zookeeper || a->etcd)
        return cluster_zk(a);
    return ctl_with_admin(a, false, md_view);
}
