/*
 * tools/ringctl_leaders.c - `ringctl leaders --preferred [--topic T]
 * (--zookeeper Z | --etcd E)`: ask the controller for a preferred leader election,
 * as Kafka 2.8's kafka-preferred-replica-election.sh --zookeeper does: every
 * partition (or those of the topics --topic matches, TopicCommand's IncludeList)
 * goes into /admin/preferred_replica_election ({"version":1,"partitions":[...]}).
 * Refused while an election is in progress (the node exists). Then waits (at most
 * --timeout-ms, 30 s) until the controller has run it (deleted the node) and prints
 * each partition's leader against its preferred replica; exit 0 when every listed
 * partition is led by its preferred replica.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_zk.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PE "/admin/preferred_replica_election"

struct pe_part {
    char topic[256];
    int32_t partition, preferred;
};

struct pe_list {
    struct pe_part *v;
    int n, cap;
};

static int add(struct pe_list *l, const char *topic, int32_t p, int32_t preferred)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        struct pe_part *v = realloc(l->v, sizeof(*v) * (size_t)cap);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct pe_part *e = &l->v[l->n++];
    snprintf(e->topic, sizeof(e->topic), "%s", topic);
    e->partition = p;
    e->preferred = preferred;
    return 0;
}

/* The partitions to elect: every topic's (or the matching ones'). */
static int collect(struct ctl_zk *z, const regex_t *re, struct pe_list *l)
{
    char **names = NULL;
    int n = 0;
    int rc = ctl_zk_children(z, "/brokers/topics", &names, &n);
    if (rc == -ENOENT)
        rc = n = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (re && !ctl_topic_filter_match(re, names[i]))
            continue;
        struct rb_kzk_assignment as;
        rc = ctl_zk_assignment(z, names[i], &as);
        if (rc == -ENOENT || rc == -EINVAL) {
            rc = 0; /* gone, or not an assignment: nothing to elect */
            continue;
        }
        if (rc < 0)
            break;
        for (int32_t p = 0; p < as.n_partitions && rc == 0; p++)
            if (as.n_replicas[p] > 0)
                rc = add(l, names[i], p, as.replicas[p][0]);
        rb_kzk_assignment_free(&as);
    }
    free(names);
    return rc;
}

static char *request_json(const struct pe_list *l)
{
    json_t *parts = json_array();
    for (int i = 0; i < l->n; i++)
        json_array_append_new(parts, json_pack("{s:s,s:i}", "topic", l->v[i].topic, "partition",
                                               (json_int_t)l->v[i].partition));
    json_t *j = json_pack("{s:i,s:o}", "version", 1, "partitions", parts);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int ctl_leaders(const struct ctl_args *a)
{
    regex_t re;
    char why[256];
    bool have_re = false;
    if (a->topic) {
        if (ctl_topic_filter_compile(a->topic, &re, why, sizeof(why)) < 0) {
            fprintf(stderr, "ringctl leaders: --topic: %s\n", why);
            return CTL_EXIT_USAGE;
        }
        have_re = true;
    }
    struct ctl_zk z;
    int rc = ctl_zk_open(&z, a);
    if (rc) {
        if (have_re)
            regfree(&re);
        return rc;
    }
    struct pe_list l = {0};
    int err = collect(&z, have_re ? &re : NULL, &l);
    if (have_re)
        regfree(&re);
    if (err < 0) {
        rc = ctl_zk_fail(a, "reading the topics", err);
        goto out;
    }
    if (l.n == 0) {
        fprintf(stderr, "ringctl leaders: no partition %s\n",
                a->topic ? "of a matching topic" : "in the cluster");
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    char *js = request_json(&l);
    char path[512];
    ctl_zk_path(&z, path, sizeof(path), PE);
    err = js ? rb_quorum_create(z.q, path, js, strlen(js), 0, NULL, 0) : -ENOMEM;
    free(js);
    if (err == -EEXIST) {
        fprintf(stderr,
                "ringctl leaders: a preferred replica election is already in progress "
                "(%s exists)\n",
                path);
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    if (err < 0) {
        rc = ctl_zk_fail(a, "writing " PE, err);
        goto out;
    }
    printf("Created preferred replica election request for %d partition(s)\n", l.n);
    int64_t wait_ms = a->timeout_ms > 0 ? a->timeout_ms : 30000;
    struct timespec step = {0, 100 * 1000 * 1000};
    for (int64_t waited = 0;; waited += 100) {
        char *d = NULL;
        err = ctl_zk_get(&z, PE, &d, NULL);
        free(d);
        if (err == -ENOENT)
            break;
        if (waited >= wait_ms) {
            fprintf(stderr,
                    "ringctl leaders: the controller has not run the election within %lld "
                    "ms (%s still exists)\n",
                    (long long)wait_ms, path);
            rc = CTL_EXIT_FAIL;
            goto out;
        }
        nanosleep(&step, NULL);
    }
    int off = 0;
    for (int i = 0; i < l.n; i++) {
        struct rb_kzk_state st;
        if (ctl_zk_state(&z, l.v[i].topic, l.v[i].partition, &st) < 0)
            st.leader = -1;
        bool ok = st.leader == l.v[i].preferred;
        off += !ok;
        printf("%s-%d\tleader %d\tpreferred %d%s\n", l.v[i].topic, l.v[i].partition, st.leader,
               l.v[i].preferred, ok ? "" : "\tNOT PREFERRED (not live or not in the ISR)");
    }
    printf("%d of %d partition(s) led by their preferred replica\n", l.n - off, l.n);
    rc = off ? CTL_EXIT_FAIL : CTL_EXIT_OK;
out:
    free(l.v);
    ctl_zk_close(&z);
    return rc;
}
