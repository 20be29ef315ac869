/*
 * net/h_group_admin.c - group administration APIs: ListGroups (16, one op per
 * shard), DescribeGroups (15), DeleteGroups (42), OffsetDelete (47) (one op per
 * group; see net/group_route.h). Deletions append tombstones to
 * __consumer_offsets and change the in-memory state once they are durable.
 * Fault model: unknown groups get Kafka's answers (DescribeGroups: state Dead;
 * DeleteGroups / OffsetDelete: GROUP_ID_NOT_FOUND), non-empty groups
 * NON_EMPTY_GROUP, subscribed topics GROUP_SUBSCRIBED_TO_TOPIC.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/group_route.h"
#include "net/h_groups.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* DescribeGroups v3+ authorized_operations without an authorizer: everything a
 * group supports (Kafka's AclOperation codes READ 3, DELETE 6, DESCRIBE 8). */
#define GROUP_OPS ((1 << 3) | (1 << 6) | (1 << 8))

/* ---- ListGroups ---- */

struct list_out {
    struct rb_list_groups_resp_group *groups;
    int n;
};

/* Kafka matches the v4+ states filter without regard to case. */
static bool state_name_eq(struct rb_str s, const char *name)
{
    size_t n = strlen(name);
    return s.len >= 0 && (size_t)s.len == n && strncasecmp(s.ptr, name, n) == 0;
}

static bool state_wanted(const struct rb_list_groups_req *in, enum rb_gstate st)
{
    if (in->states_filter_n <= 0)
        return true;
    for (int i = 0; i < in->states_filter_n; i++)
        if (state_name_eq(in->states_filter[i], rb_gstate_name(st)))
            return true;
    return false;
}

static void list_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    const struct rb_list_groups_req *in = op->parent->msg;
    struct list_out *o = op->out;
    o->groups = rb_gop_alloc(op, sizeof(*o->groups) * (size_t)RB_MAX(mgr->n_groups, 1));
    for (struct rb_group *g = mgr->groups; g; g = g->next) {
        if (g->state == RB_GS_DEAD || !state_wanted(in, g->state))
            continue;
        struct rb_list_groups_resp_group *r = &o->groups[o->n++];
        r->group_id = rb_gop_str(op, g->id);
        r->protocol_type = rb_gop_str(op, g->protocol_type ? g->protocol_type : "");
        r->group_state = rb_gop_str(op, rb_gstate_name(g->state));
    }
    rb_gop_return(s, op);
}

static void list_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_list_groups_resp r;
    rb_list_groups_resp_init(&r);
    int total = 0;
    for (int i = 0; i < p->n_ops; i++) {
        if (p->ops[i].err)
            r.error_code = p->ops[i].err;
        total += ((struct list_out *)p->ops[i].out)->n;
    }
    r.groups = rb_req_alloc(req, (size_t)RB_MAX(total, 1), sizeof(*r.groups));
    for (int i = 0; i < p->n_ops && !r.error_code; i++) {
        struct list_out *o = p->ops[i].out;
        for (int k = 0; k < o->n; k++)
            r.groups[r.groups_n++] = o->groups[k];
    }
    rb_resp_begin(req);
    rb_list_groups_resp_encode(&req->out, req->hdr.api_version, &r);
    rb_request_done(req);
}

void rb_handle_list_groups(struct rb_request *req, void *msg)
{
    struct rb_net *n = rb_req_net(req);
    bool have = rb_metadata_topic(n->md, RB_CONSUMER_OFFSETS, strlen(RB_CONSUMER_OFFSETS));
    int shards = have ? n->b->rt.n_shards : 0;
    struct rb_gparent *p = rb_gparent_new(req, msg, shards, list_finish);
    for (int i = 0; i < shards; i++) {
        p->ops[i].fi.shard = (int16_t)i;
        p->ops[i].group = "";
        p->ops[i].run = list_run;
        p->ops[i].out = rb_req_alloc(req, 1, sizeof(struct list_out));
    }
    rb_gparent_start(rb_req_shard(req), p);
}

/* ---- DescribeGroups ---- */

static void describe_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct rb_describe_groups_resp_group *r = op->out;
    struct rb_group *g = rb_group_find(mgr, op->group);
    if (!g) {
        r->group_state = rb_str_c("Dead");
        rb_gop_return(s, op);
        return;
    }
    bool stable = g->state == RB_GS_STABLE;
    r->group_state = rb_gop_str(op, rb_gstate_name(g->state));
    r->protocol_type = rb_gop_str(op, g->protocol_type ? g->protocol_type : "");
    r->protocol_data = rb_gop_str(op, stable && g->protocol ? g->protocol : "");
    r->members = rb_gop_alloc(op, sizeof(*r->members) * (size_t)RB_MAX(g->n_members, 1));
    for (struct rb_gmember *m = g->members; m; m = m->next) {
        struct rb_describe_groups_resp_member *d = &r->members[r->members_n++];
        int32_t len = 0;
        const uint8_t *meta = stable ? rb_group_member_meta(g, m, &len) : NULL;
        d->member_id = rb_gop_str(op, m->id);
        d->group_instance_id = rb_gop_str(op, m->instance_id);
        d->client_id = rb_gop_str(op, m->client_id);
        d->client_host = rb_gop_str(op, m->client_host);
        d->member_metadata = rb_gop_bytes(op, meta, len);
        d->member_assignment = rb_gop_bytes(op, stable ? m->assignment : NULL, m->assignment_len);
    }
    rb_gop_return(s, op);
}

static void describe_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_describe_groups_resp r;
    rb_describe_groups_resp_init(&r);
    r.groups_n = p->n_ops;
    r.groups = rb_req_alloc(req, (size_t)RB_MAX(p->n_ops, 1), sizeof(*r.groups));
    for (int i = 0; i < p->n_ops; i++) {
        r.groups[i] = *(struct rb_describe_groups_resp_group *)p->ops[i].out;
        if (p->ops[i].err)
            r.groups[i].error_code = p->ops[i].err;
    }
    rb_resp_begin(req);
    rb_describe_groups_resp_encode(&req->out, req->hdr.api_version, &r);
    rb_request_done(req);
}

static void describe_go(struct rb_request *req, void *msg)
{
    struct rb_describe_groups_req *in = msg;
    int n = RB_MAX(in->groups_n, 0);
    struct rb_gparent *p = rb_gparent_new(req, msg, n, describe_finish);
    for (int i = 0; i < n; i++) {
        struct rb_describe_groups_resp_group *r = rb_req_alloc(req, 1, sizeof(*r));
        rb_describe_groups_resp_group_init(r);
        r->group_id = in->groups[i];
        r->group_state = rb_str_c("");
        r->protocol_type = rb_str_c("");
        r->protocol_data = rb_str_c("");
        r->authorized_operations = in->include_authorized_operations ? GROUP_OPS : INT32_MIN;
        p->ops[i].out = r;
        p->ops[i].run = describe_run;
        rb_gop_route(rb_req_net(req), &p->ops[i], rb_req_strdup(req, in->groups[i]));
    }
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_describe_groups(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, describe_go);
}

/* ---- DeleteGroups ---- */

static void delete_done(struct rb_shard *s, int16_t err, int64_t base, void *arg)
{
    struct rb_gop *op = arg;
    struct rb_group_mgr *mgr = op->out;
    struct rb_group *g = rb_gop_current(s, op) ? rb_group_find(mgr, op->group) : NULL;
    op->err = rb_groups_commit_error(err);
    if (g && !op->err)
        rb_group_remove(mgr, g);
    else if (g && g->state == RB_GS_DEAD)
        rb_group_delete_abort(g);
    rb_gop_return(s, op);
}

static void delete_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    op->err = rb_group_delete_check(mgr, op->group);
    if (op->err) {
        rb_gop_return(s, op);
        return;
    }
    struct rb_group *g = rb_group_find(mgr, op->group);
    struct rb_recset rs = {0};
    rb_writer_init(&rs.w, 512);
    for (struct rb_goffset *o = g->offsets; o; o = o->next)
        rb_recset_add(&rs, g->id, o->topic, o->partition, true, 0, 0, NULL, 0);
    rb_recset_add(&rs, g->id, NULL, 0, true, 0, 0, NULL, 0);
    rb_group_delete_begin(g); /* joins and commits wait for the deletion */
    op->out = mgr;
    int16_t err = rb_recset_append(s, op, &rs, delete_done);
    if (err)
        delete_done(s, RB_KERR_KAFKA_STORAGE_ERROR, -1, op);
}

static void delete_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_delete_groups_resp r;
    rb_delete_groups_resp_init(&r);
    r.results_n = p->n_ops;
    r.results = rb_req_alloc(req, (size_t)RB_MAX(p->n_ops, 1), sizeof(*r.results));
    for (int i = 0; i < p->n_ops; i++) {
        r.results[i].group_id = rb_str_c(p->ops[i].group);
        r.results[i].error_code = p->ops[i].err;
    }
    rb_resp_begin(req);
    rb_delete_groups_resp_encode(&req->out, req->hdr.api_version, &r);
    rb_request_done(req);
}

static void delete_go(struct rb_request *req, void *msg)
{
    struct rb_delete_groups_req *in = msg;
    int n = RB_MAX(in->groups_names_n, 0);
    struct rb_gparent *p = rb_gparent_new(req, msg, n, delete_finish);
    for (int i = 0; i < n; i++) {
        p->ops[i].run = delete_run;
        rb_gop_route(rb_req_net(req), &p->ops[i], rb_req_strdup(req, in->groups_names[i]));
    }
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_delete_groups(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, delete_go);
}

/* ---- OffsetDelete ---- */

struct odel {
    struct rb_offset_delete_req *in;
    struct rb_offset_delete_resp *resp;
    char **topics;
    uint8_t **del; /* per partition: a tombstone was written */
    struct rb_group_mgr *mgr;
};

static void odel_done(struct rb_shard *s, int16_t err, int64_t base, void *arg)
{
    struct rb_gop *op = arg;
    struct odel *d = op->in;
    int16_t e = rb_groups_commit_error(err);
    struct rb_group *g = rb_gop_current(s, op) ? rb_group_find(d->mgr, op->group) : NULL;
    for (int t = 0; t < d->resp->topics_n; t++)
        for (int q = 0; q < d->resp->topics[t].partitions_n; q++) {
            if (!d->del[t][q])
                continue;
            d->resp->topics[t].partitions[q].error_code = e;
            if (!e && g)
                rb_group_offset_del(g, d->topics[t],
                                    d->resp->topics[t].partitions[q].partition_index);
        }
    rb_group_gc(d->mgr, g);
    rb_gop_return(s, op);
}

static void odel_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct odel *d = op->in;
    struct rb_group *g = rb_group_find(mgr, op->group);
    d->mgr = mgr;
    if (!g || g->state == RB_GS_DEAD)
        d->resp->error_code = RB_KERR_GROUP_ID_NOT_FOUND;
    else if (g->state != RB_GS_EMPTY && (!g->protocol_type || strcmp(g->protocol_type, "consumer")))
        d->resp->error_code = RB_KERR_NON_EMPTY_GROUP;
    if (d->resp->error_code) {
        rb_gop_return(s, op);
        return;
    }
    struct rb_recset rs = {0};
    rb_writer_init(&rs.w, 512);
    for (int t = 0; t < d->resp->topics_n; t++) {
        bool subscribed = g->state != RB_GS_EMPTY && rb_group_subscribed(g, d->topics[t]);
        for (int q = 0; q < d->resp->topics[t].partitions_n; q++) {
            struct rb_offset_delete_resp_partition *rp = &d->resp->topics[t].partitions[q];
            if (subscribed) {
                rp->error_code = RB_KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            } else if (rb_group_offset_get(g, d->topics[t], rp->partition_index)) {
                rb_recset_add(&rs, g->id, d->topics[t], rp->partition_index, true, 0, 0, NULL, 0);
                d->del[t][q] = 1;
            }
        }
    }
    if (rs.n == 0) {
        free(rs.r);
        rb_writer_free(&rs.w);
        rb_gop_return(s, op);
        return;
    }
    int16_t err = rb_recset_append(s, op, &rs, odel_done);
    if (err)
        odel_done(s, RB_KERR_KAFKA_STORAGE_ERROR, -1, op);
}

static void odel_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct odel *d = p->ops[0].in;
    if (p->ops[0].err)
        d->resp->error_code = p->ops[0].err;
    if (d->resp->error_code)
        d->resp->topics_n = 0;
    rb_resp_begin(req);
    rb_offset_delete_resp_encode(&req->out, req->hdr.api_version, d->resp);
    rb_request_done(req);
}

static void odel_go(struct rb_request *req, void *msg)
{
    struct rb_offset_delete_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, odel_finish);
    struct odel *d = rb_req_alloc(req, 1, sizeof(*d));
    int nt = RB_MAX(in->topics_n, 0);
    d->in = in;
    d->resp = rb_req_alloc(req, 1, sizeof(*d->resp));
    rb_offset_delete_resp_init(d->resp);
    d->resp->topics_n = nt;
    d->resp->topics = rb_req_alloc(req, (size_t)RB_MAX(nt, 1), sizeof(*d->resp->topics));
    d->topics = rb_req_alloc(req, (size_t)RB_MAX(nt, 1), sizeof(char *));
    d->del = rb_req_alloc(req, (size_t)RB_MAX(nt, 1), sizeof(uint8_t *));
    for (int t = 0; t < nt; t++) {
        int np = RB_MAX(in->topics[t].partitions_n, 0);
        d->topics[t] = rb_req_strdup(req, in->topics[t].name);
        d->del[t] = rb_req_alloc(req, (size_t)RB_MAX(np, 1), 1);
        d->resp->topics[t].name = in->topics[t].name;
        d->resp->topics[t].partitions_n = np;
        d->resp->topics[t].partitions =
            rb_req_alloc(req, (size_t)RB_MAX(np, 1), sizeof(*d->resp->topics[t].partitions));
        for (int q = 0; q < np; q++)
            d->resp->topics[t].partitions[q].partition_index =
                in->topics[t].partitions[q].partition_index;
    }
    p->ops[0].in = d;
    p->ops[0].run = odel_run;
    rb_gop_route(rb_req_net(req), &p->ops[0], rb_req_strdup(req, in->group_id));
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_offset_delete(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, odel_go);
}
