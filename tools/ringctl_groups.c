/*
 * tools/ringctl_groups.c - `ringctl groups`: --list, --describe, --reset-offsets and
 * --delete of consumer groups, like kafka-consumer-groups.sh, through librdkafka's
 * Admin API (ListConsumerGroups, DescribeConsumerGroups, ListConsumerGroupOffsets,
 * AlterConsumerGroupOffsets, DeleteGroups) plus ListOffsets via
 * rd_kafka_query_watermark_offsets for log start/end offsets.
 * Invariants: --reset-offsets changes nothing unless --execute is given, and only
 * when the group has no members (state Empty, or Dead = no group yet), as Kafka
 * requires; the offsets printed are exactly the ones committed.
 * Fault model: every broker error (request-level, per group or per partition)
 * is printed on stderr and gives exit status 1; stdout carries only tables and
 * group ids.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_kafka.h"
#include "core/rb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of --describe: a partition the group has an offset for or consumes. */
struct grow {
    char *topic;
    int32_t partition;
    int64_t current; /* -1: none committed */
    const char *consumer_id, *host, *client_id;
};

struct gtable {
    struct grow *rows;
    size_t n, cap;
};

static struct grow *gt_get(struct gtable *t, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].partition == partition && strcmp(t->rows[i].topic, topic) == 0)
            return &t->rows[i];
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
        RB_ASSERT(t->rows);
    }
    struct grow *r = &t->rows[t->n++];
    memset(r, 0, sizeof(*r));
    r->topic = strdup(topic);
    r->partition = partition;
    r->current = -1;
    return r;
}

static void gt_free(struct gtable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].topic);
    free(t->rows);
}

static int cmp_row(const void *x, const void *y)
{
    const struct grow *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void print_error(const struct ctl_args *a, const char *what, const rd_kafka_error_t *e)
{
    fprintf(stderr, "ringctl groups: %s: %s\n", what, rd_kafka_error_string(e));
}

/* ListGroups through librdkafka's classic rd_kafka_list_groups (ListGroups v0 +
 * DescribeGroups on every broker): its admin ListConsumerGroups sends a v4 request
 * with stray trailing bytes, which a strict broker rejects. Consumer groups are
 * the ones with protocol type "consumer" or none (offsets only). */
static int list_groups(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, NULL, &gl, (int)a->timeout_ms);
    if (e) {
        fprintf(stderr, "ringctl groups: listing groups failed: %s\n", rd_kafka_err2str(e));
        return CTL_EXIT_FAIL;
    }
    const char **names = calloc((size_t)gl->group_cnt + 1, sizeof(*names));
    size_t n = 0;
    int rc = CTL_EXIT_OK;
    for (int i = 0; i < gl->group_cnt; i++) {
        const struct rd_kafka_group_info *g = &gl->groups[i];
        if (g->err) {
            fprintf(stderr, "ringctl groups: group '%s': %s\n", g->group, rd_kafka_err2str(g->err));
            rc = CTL_EXIT_FAIL;
        } else if (!g->protocol_type || !*g->protocol_type ||
                   strcmp(g->protocol_type, "consumer") == 0) {
            names[n++] = g->group;
        }
    }
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", names[i]);
    free(names);
    rd_kafka_group_list_destroy(gl);
    return rc;
}

/* DescribeConsumerGroups of a->group; the event (owner: caller) and its one
 * description, or NULL (printed). */
static rd_kafka_event_t *describe_group(rd_kafka_t *rk, const struct ctl_args *a,
                                        const rd_kafka_ConsumerGroupDescription_t **out)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    const char *g = a->group;
    rd_kafka_DescribeConsumerGroups(rk, &g, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "DescribeConsumerGroups");
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    if (!ev)
        return NULL;
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **d = rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    const rd_kafka_error_t *e = n == 1 ? rd_kafka_ConsumerGroupDescription_error(d[0]) : NULL;
    if (n != 1 || e) {
        if (e)
            print_error(a, "DescribeGroups", e);
        else
            fprintf(stderr, "ringctl groups: broker returned %zu descriptions for one group\n", n);
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    *out = d[0];
    return ev;
}

/* Every partition of every topic but the internal ones; NULL (printed) when no
 * broker answers. */
static rd_kafka_topic_partition_list_t *all_partitions(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, true);
    if (!md)
        return NULL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (t->err || strncmp(t->topic, "__", 2) == 0)
            continue;
        for (int p = 0; p < t->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(l, t->topic, t->partitions[p].id);
    }
    rd_kafka_metadata_destroy(md);
    return l;
}

/* Committed offsets of a->group into t; -1 (printed) on error. The partitions are
 * named explicitly: librdkafka 2.0.2 encodes the "all partitions" OffsetFetch v7
 * with stray trailing bytes, which a strict broker rejects. */
static int group_offsets(rd_kafka_t *rk, const struct ctl_args *a, struct gtable *t)
{
    rd_kafka_topic_partition_list_t *parts = all_partitions(rk, a);
    if (!parts)
        return -1;
    if (parts->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(parts);
        return 0;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o =
        ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets_t *req =
        rd_kafka_ListConsumerGroupOffsets_new(a->group, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "ListConsumerGroupOffsets");
    int rc = -1;
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
        if (n == 1 && rd_kafka_group_result_error(gr[0])) {
            print_error(a, "OffsetFetch", rd_kafka_group_result_error(gr[0]));
        } else if (n == 1) {
            const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(gr[0]);
            rc = 0;
            for (int i = 0; l && i < l->cnt; i++) {
                if (l->elems[i].err) {
                    fprintf(stderr, "ringctl groups: offset of %s [%d]: %s\n", l->elems[i].topic,
                            l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
                    rc = -1;
                }
                if (l->elems[i].offset >= 0)
                    gt_get(t, l->elems[i].topic, l->elems[i].partition)->current =
                        l->elems[i].offset;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

static void add_members(const rd_kafka_ConsumerGroupDescription_t *d, struct gtable *t)
{
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t i = 0; i < nm; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
        const rd_kafka_topic_partition_list_t *l =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
        for (int k = 0; l && k < l->cnt; k++) {
            struct grow *r = gt_get(t, l->elems[k].topic, l->elems[k].partition);
            r->consumer_id = rd_kafka_MemberDescription_consumer_id(m);
            r->host = rd_kafka_MemberDescription_host(m);
            r->client_id = rd_kafka_MemberDescription_client_id(m);
        }
    }
}

static void print_describe(const struct ctl_args *a, rd_kafka_t *rk, struct gtable *t)
{
    static const char *const hdr[] = {"GROUP",          "TOPIC",          "PARTITION",
                                      "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                      "CONSUMER-ID",    "HOST",           "CLIENT-ID"};
    enum { NC = 9 };
    const char **cells = calloc(t->n * NC + 1, sizeof(*cells));
    char(*num)[4][24] = calloc(t->n + 1, sizeof(*num));
    qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
    for (size_t i = 0; i < t->n; i++) {
        struct grow *r = &t->rows[i];
        int64_t lo = -1, hi = -1;
        if (rd_kafka_query_watermark_offsets(rk, r->topic, r->partition, &lo, &hi,
                                             (int)a->timeout_ms))
            hi = -1;
        snprintf(num[i][0], 24, "%" PRId32, r->partition);
        snprintf(num[i][1], 24, "%" PRId64, r->current);
        snprintf(num[i][2], 24, "%" PRId64, hi);
        snprintf(num[i][3], 24, "%" PRId64, hi - r->current);
        const char **c = &cells[i * NC];
        c[0] = a->group;
        c[1] = r->topic;
        c[2] = num[i][0];
        c[3] = r->current >= 0 ? num[i][1] : NULL;
        c[4] = hi >= 0 ? num[i][2] : NULL;
        c[5] = r->current >= 0 && hi >= 0 ? num[i][3] : NULL;
        c[6] = r->consumer_id;
        c[7] = r->host;
        c[8] = r->client_id;
    }
    ctl_print_table(hdr, NC, cells, t->n);
    free(num);
    free(cells);
}

static int describe(rd_kafka_t *rk, const struct ctl_args *a)
{
    const rd_kafka_ConsumerGroupDescription_t *d;
    rd_kafka_event_t *ev = describe_group(rk, a, &d);
    if (!ev)
        return CTL_EXIT_FAIL;
    struct gtable t = {0};
    int rc = CTL_EXIT_FAIL;
    rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d);
    if (group_offsets(rk, a, &t) < 0)
        goto out;
    add_members(d, &t);
    if (st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD && t.n == 0) {
        fprintf(stderr, "ringctl groups: consumer group '%s' does not exist\n", a->group);
        goto out;
    }
    if (rd_kafka_ConsumerGroupDescription_member_count(d) == 0)
        fprintf(stderr, "ringctl groups: consumer group '%s' has no active members\n", a->group);
    print_describe(a, rk, &t);
    rc = CTL_EXIT_OK;
out:
    gt_free(&t);
    rd_kafka_event_destroy(ev);
    return rc;
}

/* Partition count of a->topic from metadata; -1 (printed) when it does not exist. */
static int topic_partitions(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, true);
    if (!md)
        return -1;
    int n = -1;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, a->topic) == 0 && !md->topics[i].err)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    if (n <= 0)
        fprintf(stderr, "ringctl groups: topic '%s' does not exist\n", a->topic);
    return n;
}

/* The new offsets of every partition of a->topic into l; -1 (printed) on error. */
static int reset_targets(rd_kafka_t *rk, const struct ctl_args *a, int nparts,
                         rd_kafka_topic_partition_list_t *l)
{
    for (int p = 0; p < nparts; p++) {
        int64_t lo, hi, off;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, a->topic, p, &lo, &hi, (int)a->timeout_ms);
        if (e) {
            fprintf(stderr, "ringctl groups: offsets of %s [%d]: %s\n", a->topic, p,
                    rd_kafka_err2str(e));
            return -1;
        }
        off = a->reset_to == CTL_RESET_EARLIEST ? lo
              : a->reset_to == CTL_RESET_LATEST ? hi
                                                : a->reset_offset;
        if (off < lo || off > hi) {
            fprintf(stderr,
                    "ringctl groups: warning: offset %" PRId64 " of %s [%d] is outside [%" PRId64
                    ", %" PRId64 "]: using %" PRId64 "\n",
                    off, a->topic, p, lo, hi, off < lo ? lo : hi);
            off = off < lo ? lo : hi;
        }
        rd_kafka_topic_partition_list_add(l, a->topic, p)->offset = off;
    }
    return 0;
}

static int commit_offsets(rd_kafka_t *rk, const struct ctl_args *a,
                          const rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o =
        ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
    rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(a->group, l);
    rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "AlterConsumerGroupOffsets");
    int rc = CTL_EXIT_FAIL;
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
            rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
        if (n == 1 && rd_kafka_group_result_error(gr[0])) {
            print_error(a, "OffsetCommit", rd_kafka_group_result_error(gr[0]));
        } else if (n == 1) {
            const rd_kafka_topic_partition_list_t *r = rd_kafka_group_result_partitions(gr[0]);
            rc = CTL_EXIT_OK;
            for (int i = 0; r && i < r->cnt; i++) {
                if (!r->elems[i].err)
                    continue;
                fprintf(stderr, "ringctl groups: committing %s [%d]: %s\n", r->elems[i].topic,
                        r->elems[i].partition, rd_kafka_err2str(r->elems[i].err));
                rc = CTL_EXIT_FAIL;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

static void print_reset(const struct ctl_args *a, const rd_kafka_topic_partition_list_t *l)
{
    static const char *const hdr[] = {"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"};
    const char **cells = calloc((size_t)l->cnt * 4 + 1, sizeof(*cells));
    char(*num)[2][24] = calloc((size_t)l->cnt + 1, sizeof(*num));
    for (int i = 0; i < l->cnt; i++) {
        snprintf(num[i][0], 24, "%" PRId32, l->elems[i].partition);
        snprintf(num[i][1], 24, "%" PRId64, l->elems[i].offset);
        const char **c = &cells[i * 4];
        c[0] = a->group;
        c[1] = l->elems[i].topic;
        c[2] = num[i][0];
        c[3] = num[i][1];
    }
    ctl_print_table(hdr, 4, cells, (size_t)l->cnt);
    free(num);
    free(cells);
}

static int reset_offsets(rd_kafka_t *rk, const struct ctl_args *a)
{
    const rd_kafka_ConsumerGroupDescription_t *d;
    rd_kafka_event_t *ev = describe_group(rk, a, &d);
    if (!ev)
        return CTL_EXIT_FAIL;
    rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(d);
    int rc = CTL_EXIT_FAIL;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (st != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY && st != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
        fprintf(stderr,
                "ringctl groups: cannot reset the offsets of group '%s': it is %s with %zu "
                "member(s); stop its consumers first\n",
                a->group, rd_kafka_consumer_group_state_name(st),
                rd_kafka_ConsumerGroupDescription_member_count(d));
        goto out;
    }
    int nparts = topic_partitions(rk, a);
    if (nparts <= 0)
        goto out;
    l = rd_kafka_topic_partition_list_new(nparts);
    if (reset_targets(rk, a, nparts, l) < 0)
        goto out;
    print_reset(a, l);
    if (a->execute)
        rc = commit_offsets(rk, a, l);
    else {
        fprintf(stderr, "ringctl groups: %s: nothing changed (add --execute to commit)\n",
                a->run_mode_set ? "dry run" : "no --execute, so this was a dry run");
        rc = CTL_EXIT_OK;
    }
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_event_destroy(ev);
    return rc;
}

static int delete_group(rd_kafka_t *rk, const struct ctl_args *a)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = ctl_admin_options(rk, a, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(a->group);
    rd_kafka_DeleteGroups(rk, &dg, 1, o, q);
    rd_kafka_event_t *ev = ctl_admin_wait(q, a, "DeleteGroups");
    int rc = CTL_EXIT_FAIL;
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **gr =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
        const rd_kafka_error_t *e = n == 1 ? rd_kafka_group_result_error(gr[0]) : NULL;
        if (e) {
            fprintf(stderr, "ringctl groups: deleting group '%s' failed: %s\n", a->group,
                    rd_kafka_error_string(e));
        } else if (n == 1) {
            printf("Deletion of requested consumer groups ('%s') was successful.\n", a->group);
            rc = CTL_EXIT_OK;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_DeleteGroup_destroy(dg);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return rc;
}

static int groups_run(rd_kafka_t *rk, const struct ctl_args *a)
{
    switch (a->action) {
    case CTL_TOPICS_LIST:
        return list_groups(rk, a);
    case CTL_TOPICS_DESCRIBE:
        return describe(rk, a);
    case CTL_GROUPS_RESET_OFFSETS:
        return reset_offsets(rk, a);
    case CTL_TOPICS_DELETE:
        return delete_group(rk, a);
    default:
        RB_ASSERT(!"groups: action not checked by the parser");
    }
    return CTL_EXIT_FAIL;
}

int ctl_groups(const struct ctl_args *a)
{
    return ctl_with_admin(a, true, groups_run);
}
