/*
 * tools/ringctl_topics.c - `ringctl topics`: --list, --describe, --create, --delete
 * and --alter --partitions through librdkafka's metadata and Admin API
 * (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs), printing what kafka-topics.sh
 * prints. Limits (librdkafka 2.0.2): its metadata API carries no topic ids, so --describe prints no
 * TopicId field rather than a made-up one.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_topic(const void *x, const void *y)
{
    const rd_kafka_metadata_topic_t *a = x, *b = y;
    return strcmp(a->topic, b->topic);
}

static int cmp_part(const void *x, const void *y)
{
    const rd_kafka_metadata_partition_t *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static void print_ids(const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", ids[i]);
}

/* "k=v,k=v" of the topic's dynamic (non-default) configs into out; false when
 * DescribeConfigs failed (a warning is printed). */
static bool topic_configs(rd_kafka_t *rk, const struct ctl_args *a, const char *topic, char *out,
                          size_t outlen)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "DescribeConfigs");
    bool ok = false;
    size_t n = 0;
    out[0] = 0;
    if (ev) {
        size_t nres;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres == 1 && rd_kafka_ConfigResource_error(rs[0]) == 0) {
            size_t ncfg;
            const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rs[0], &ncfg);
            for (size_t i = 0; i < ncfg && n < outlen; i++) {
                if (rd_kafka_ConfigEntry_source(ce[i]) !=
                    RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
                    continue;
                const char *v = rd_kafka_ConfigEntry_value(ce[i]);
                n += (size_t)snprintf(out + n, outlen - n, "%s%s=%s", n ? "," : "",
                                      rd_kafka_ConfigEntry_name(ce[i]), v ? v : "null");
            }
            ok = true;
        } else if (nres == 1) {
            fprintf(stderr, "ringctl topics: DescribeConfigs for %s: %s\n", topic,
                    rd_kafka_ConfigResource_error_string(rs[0]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return ok;
}

static void describe_topic(rd_kafka_t *rk, const struct ctl_args *a,
                           const rd_kafka_metadata_topic_t *t)
{
    static char cfgs[16384];
    int rf = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
    bool have_cfg = topic_configs(rk, a, t->topic, cfgs, sizeof(cfgs));
    printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d", t->topic, t->partition_cnt, rf);
    if (have_cfg)
        printf("\tConfigs: %s", cfgs);
    if (t->err)
        printf("\tError: %s", rd_kafka_err2str(t->err));
    printf("\n");
    rd_kafka_metadata_partition_t *ps = t->partitions;
    qsort(ps, (size_t)t->partition_cnt, sizeof(*ps), cmp_part);
    for (int i = 0; i < t->partition_cnt; i++) {
        printf("\tTopic: %s\tPartition: %d\tLeader: ", t->topic, ps[i].id);
        if (ps[i].leader >= 0)
            printf("%d", ps[i].leader);
        else
            printf("none");
        printf("\tReplicas: ");
        print_ids(ps[i].replicas, ps[i].replica_cnt);
        printf("\tIsr: ");
        print_ids(ps[i].isrs, ps[i].isr_cnt);
        if (ps[i].err)
            printf("\tError: %s", rd_kafka_err2str(ps[i].err));
        printf("\n");
    }
}

static int list_or_describe(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, true);
    if (!md)
        return CTL_EXIT_FAIL;
    /* The metadata is ours until destroyed; sorting it in place is fine. */
    rd_kafka_metadata_topic_t *ts = md->topics;
    qsort(ts, (size_t)md->topic_cnt, sizeof(*ts), cmp_topic);
    int rc = CTL_EXIT_OK, shown = 0;
    for (int i = 0; i < md->topic_cnt; i++) {
        if (a->topic && strcmp(a->topic, ts[i].topic) != 0)
            continue;
        if (ts[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        shown++;
        if (a->action == CTL_TOPICS_LIST)
            printf("%s\n", ts[i].topic);
        else
            describe_topic(rk, a, &ts[i]);
    }
    if (a->topic && !shown) {
        fprintf(stderr, "ringctl topics: topic '%s' does not exist\n", a->topic);
        rc = CTL_EXIT_FAIL;
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int topic_result(const rd_kafka_topic_result_t *r, const struct ctl_args *a)
{
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r);
    const char *name = rd_kafka_topic_result_name(r);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (a->action == CTL_TOPICS_CREATE)
            printf("Created topic %s.\n", name);
        return CTL_EXIT_OK;
    }
    if ((e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && a->if_not_exists) ||
        (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && a->if_exists))
        return CTL_EXIT_OK;
    const char *msg = rd_kafka_topic_result_error_string(r);
    if (msg && strcmp(msg, rd_kafka_err2str(e)) == 0)
        msg = NULL; /* librdkafka fills in the generic text when the broker sent none */
    fprintf(stderr, "ringctl topics: %s topic '%s' failed: %s%s%s\n",
            a->action == CTL_TOPICS_CREATE  ? "creating"
            : a->action == CTL_TOPICS_ALTER ? "altering"
                                            : "deleting",
            name, rd_kafka_err2str(e), msg && *msg ? ": " : "", msg && *msg ? msg : "");
    return CTL_EXIT_FAIL;
}

static int create_or_delete(rd_kafka_t *rk, const struct ctl_args *a)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_DeleteTopic_t *dt = NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    bool create = a->action == CTL_TOPICS_CREATE;
    rd_kafka_AdminOptions_t *o = ctl_admin_options(
        rk, a, create ? RD_KAFKA_ADMIN_OP_CREATETOPICS : RD_KAFKA_ADMIN_OP_DELETETOPICS);
    int rc = CTL_EXIT_FAIL;
    if (create) {
        nt = rd_kafka_NewTopic_new(a->topic, a->partitions, a->replication_factor, errstr,
                                   sizeof(errstr));
        if (!nt) {
            fprintf(stderr, "ringctl topics: %s\n", errstr);
            goto out;
        }
        for (int i = 0; i < a->n_configs; i++) {
            char key[256];
            const char *eq = strchr(a->configs[i], '=');
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a->configs[i]), a->configs[i]);
            rd_kafka_NewTopic_set_config(nt, key, eq + 1);
        }
        rd_kafka_CreateTopics(rk, &nt, 1, o, q);
    } else {
        dt = rd_kafka_DeleteTopic_new(a->topic);
        rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
    }
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, create ? "CreateTopics" : "DeleteTopics");
    if (!ev)
        goto out;
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        create ? rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n)
               : rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    if (n == 1)
        rc = topic_result(res[0], a);
    else
        fprintf(stderr, "ringctl topics: broker returned %zu results for one topic\n", n);
    rd_kafka_event_destroy(ev);
out:
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    if (dt)
        rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* --alter --partitions N: CreatePartitions (the count can only grow). */
static int alter_partitions(rd_kafka_t *rk, const struct ctl_args *a)
{
    char errstr[512];
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(a->topic, (size_t)a->partitions, errstr, sizeof(errstr));
    if (!np) {
        fprintf(stderr, "ringctl topics: %s\n", errstr);
        return CTL_EXIT_FAIL;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_CreatePartitions(rk, &np, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "CreatePartitions");
    int rc = CTL_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        if (n == 1)
            rc = topic_result(res[0], a);
        else
            fprintf(stderr, "ringctl topics: broker returned %zu results for one topic\n", n);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewPartitions_destroy(np);
    return rc;
}

static int topics_change(rd_kafka_t *rk, const struct ctl_args *a)
{
    return a->action == CTL_TOPICS_ALTER ? alter_partitions(rk, a) : create_or_delete(rk, a);
}

int ctl_topics(const struct ctl_args *a)
{
    /* --list and --describe fetch the metadata themselves */
    if (a->action == CTL_TOPICS_LIST || a->action == CTL_TOPICS_DESCRIBE)
        return ctl_with_admin(a, false, list_or_describe);
    return ctl_with_admin(a, true, topics_change);
}
