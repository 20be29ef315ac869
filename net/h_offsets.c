/*
 * net/h_offsets.c - committed offsets and group administration: OffsetCommit (8),
 * OffsetFetch (9, with the v8+ multi-group form), ListGroups (16), DescribeGroups
 * (15), DeleteGroups (42), OffsetDelete (47). One group op per group (per shard
 * for ListGroups), see net/group_route.h. Commits, deletions and offset deletions
 * are appended to __consumer_offsets and applied in memory only once durable;
 * the answer leaves after that.
 * Fault model: unknown topics/partitions, oversized metadata, unknown members and
 * generations get Kafka's error codes per partition; a failed append answers the
 * mapped error (COORDINATOR_NOT_AVAILABLE for storage errors) and changes nothing.
 * Expiry of old offsets (offsets.retention.minutes) runs on a timer of each shard
 * (net/group_shard.c, rules in coord/group.h).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/group_route.h"
#include "net/h_groups.h"

#include <stdlib.h>
#include <string.h>

#define METADATA_MAX 4096 /* offset.metadata.max.bytes */

static const char *opt_str(struct rb_request *req, struct rb_str s)
{
    return s.len < 0 ? NULL : rb_req_strdup(req, s);
}

static bool partition_exists(struct rb_net *n, struct rb_str topic, int32_t p)
{
    const struct rb_topic_meta *t =
        topic.len > 0 ? rb_metadata_topic(n->md, topic.ptr, (size_t)topic.len) : NULL;
    return t && p >= 0 && p < t->n_partitions;
}

/* ---- OffsetCommit ---- */

struct commit_in {
    struct rb_offset_commit_req *req;
    const char *member, *instance;
    struct rb_offset_commit_resp *resp; /* error codes filled by the owner */
    char **topics;                      /* NUL-terminated names */
    uint8_t **valid;                    /* per partition: part of the append */
    int64_t now;
    int16_t version;
};

static void commit_set_all(struct commit_in *c, int16_t err)
{
    for (int t = 0; t < c->resp->topics_n; t++)
        for (int p = 0; p < c->resp->topics[t].partitions_n; p++)
            c->resp->topics[t].partitions[p].error_code = err;
}

static void commit_done(struct rb_shard *s, int16_t err, int64_t base, void *arg)
{
    struct rb_gop *op = arg;
    struct commit_in *c = op->in;
    int16_t e = rb_groups_commit_error(err);
    struct rb_group_mgr *mgr = rb_gop_current(s, op) ? op->out : NULL;
    struct rb_group *g = mgr && !e ? rb_group_get_or_create(mgr, op->group) : NULL;
    for (int t = 0; t < c->req->topics_n; t++) {
        struct rb_offset_commit_req_topic *rt = &c->req->topics[t];
        for (int p = 0; p < rt->partitions_n; p++) {
            if (!c->valid[t][p])
                continue;
            struct rb_offset_commit_req_partition *rp = &rt->partitions[p];
            c->resp->topics[t].partitions[p].error_code = e;
            if (g) {
                char *meta = strndup(rp->committed_metadata.ptr ? rp->committed_metadata.ptr : "",
                                     (size_t)RB_MAX(rp->committed_metadata.len, 0));
                RB_ASSERT(meta);
                rb_group_offset_put(g, c->topics[t], rp->partition_index, rp->committed_offset,
                                    rp->committed_leader_epoch, meta, c->now);
                free(meta);
            }
        }
    }
    if (mgr)
        rb_group_gc(mgr, rb_group_find(mgr, op->group));
    rb_gop_return(s, op);
}

static void commit_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct commit_in *c = op->in;
    struct rb_group *g;
    int32_t gen = c->req->generation_id_or_member_epoch; /* classic groups: a generation */
    int16_t err = rb_group_commit_check(mgr, op->group, gen, c->member, c->instance, &g);
    /* v9+ answers a generation for a group that does not exist as Kafka does. */
    if (err == RB_KERR_ILLEGAL_GENERATION && c->version >= 9 && !rb_group_find(mgr, op->group))
        err = RB_KERR_GROUP_ID_NOT_FOUND;
    if (err) {
        commit_set_all(c, err);
        rb_gop_return(s, op);
        return;
    }
    op->out = mgr; /* commit_done finds the group again: it may be gone by then */
    struct rb_recset rs = {0};
    rb_writer_init(&rs.w, 1024);
    for (int t = 0; t < c->req->topics_n; t++) {
        struct rb_offset_commit_req_topic *rt = &c->req->topics[t];
        for (int p = 0; p < rt->partitions_n; p++) {
            struct rb_offset_commit_req_partition *rp = &rt->partitions[p];
            int16_t *pe = &c->resp->topics[t].partitions[p].error_code;
            if (!partition_exists(s->net, rt->name, rp->partition_index)) {
                *pe = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (rp->committed_metadata.len > METADATA_MAX) {
                *pe = RB_KERR_OFFSET_METADATA_TOO_LARGE;
            } else {
                char *meta = strndup(rp->committed_metadata.ptr ? rp->committed_metadata.ptr : "",
                                     (size_t)RB_MAX(rp->committed_metadata.len, 0));
                RB_ASSERT(meta);
                rb_recset_add(&rs, op->group, c->topics[t], rp->partition_index, false,
                              rp->committed_offset, rp->committed_leader_epoch, meta, c->now);
                free(meta);
                c->valid[t][p] = 1;
            }
        }
    }
    if (rs.n == 0) {
        free(rs.r);
        rb_writer_free(&rs.w);
        rb_group_gc(mgr, g);
        rb_gop_return(s, op);
        return;
    }
    err = rb_recset_append(s, op, &rs, commit_done);
    if (err) {
        commit_done(s, RB_KERR_KAFKA_STORAGE_ERROR, -1, op);
    }
}

static void commit_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct commit_in *c = p->ops[0].in;
    if (p->ops[0].err)
        commit_set_all(c, p->ops[0].err);
    rb_resp_begin(req);
    rb_offset_commit_resp_encode(&req->out, req->hdr.api_version, c->resp);
    rb_request_done(req);
}

static void commit_go(struct rb_request *req, void *msg)
{
    struct rb_offset_commit_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, commit_finish);
    struct rb_gop *op = &p->ops[0];
    struct commit_in *c = rb_req_alloc(req, 1, sizeof(*c));
    c->req = in;
    c->member = rb_req_strdup(req, in->member_id);
    c->instance = opt_str(req, in->group_instance_id);
    c->now = rb_wall_ms();
    c->version = req->hdr.api_version;
    in->topics_n = RB_MAX(in->topics_n, 0);
    c->resp = rb_req_alloc(req, 1, sizeof(*c->resp));
    rb_offset_commit_resp_init(c->resp);
    c->resp->topics_n = in->topics_n;
    c->resp->topics = rb_req_alloc(req, (size_t)RB_MAX(in->topics_n, 1), sizeof(*c->resp->topics));
    c->topics = rb_req_alloc(req, (size_t)RB_MAX(in->topics_n, 1), sizeof(char *));
    c->valid = rb_req_alloc(req, (size_t)RB_MAX(in->topics_n, 1), sizeof(uint8_t *));
    for (int t = 0; t < in->topics_n; t++) {
        struct rb_offset_commit_req_topic *rt = &in->topics[t];
        rt->partitions_n = RB_MAX(rt->partitions_n, 0);
        c->topics[t] = rb_req_strdup(req, rt->name);
        c->valid[t] = rb_req_alloc(req, (size_t)RB_MAX(rt->partitions_n, 1), 1);
        c->resp->topics[t].name = rt->name;
        c->resp->topics[t].partitions_n = rt->partitions_n;
        c->resp->topics[t].partitions = rb_req_alloc(req, (size_t)RB_MAX(rt->partitions_n, 1),
                                                     sizeof(*c->resp->topics[t].partitions));
        for (int q = 0; q < rt->partitions_n; q++)
            c->resp->topics[t].partitions[q].partition_index = rt->partitions[q].partition_index;
    }
    op->in = c;
    op->run = commit_run;
    rb_gop_route(rb_req_net(req), op, rb_req_strdup(req, in->group_id));
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_offset_commit(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, commit_go);
}

/* ---- OffsetFetch ---- */

struct fetch_in {
    struct rb_offset_fetch_req_group_topic *topics; /* topics_n < 0: all */
    int32_t topics_n;
    struct rb_offset_fetch_resp_group *out; /* topics filled by the owner (op heap) */
};

static void fetch_part(struct rb_gop *op, struct rb_offset_fetch_resp_group_partition *rp,
                       struct rb_goffset *o, int32_t index)
{
    rp->partition_index = index;
    rp->committed_offset = o ? o->offset : -1;
    rp->committed_leader_epoch = o ? o->leader_epoch : -1;
    rp->metadata = rb_gop_str(op, o ? o->metadata : "");
    rp->error_code = 0;
}

static void fetch_all(struct rb_gop *op, struct rb_group *g, struct rb_offset_fetch_resp_group *r)
{
    int n = g ? g->n_offsets : 0, nt = 0;
    struct rb_goffset **os = rb_gop_alloc(op, sizeof(*os) * (size_t)RB_MAX(n, 1));
    int k = 0;
    for (struct rb_goffset *o = g ? g->offsets : NULL; o; o = o->next)
        os[k++] = o;
    r->topics = rb_gop_alloc(op, sizeof(*r->topics) * (size_t)RB_MAX(n, 1));
    uint8_t *done = rb_gop_alloc(op, (size_t)RB_MAX(n, 1));
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        struct rb_offset_fetch_resp_group_topic *t = &r->topics[nt++];
        t->name = rb_gop_str(op, os[i]->topic);
        t->partitions = rb_gop_alloc(op, sizeof(*t->partitions) * (size_t)n);
        for (int j = i; j < n; j++) {
            if (done[j] || strcmp(os[j]->topic, os[i]->topic))
                continue;
            done[j] = 1;
            fetch_part(op, &t->partitions[t->partitions_n++], os[j], os[j]->partition);
        }
    }
    r->topics_n = nt;
}

static void fetch_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct fetch_in *f = op->in;
    struct rb_offset_fetch_resp_group *r = f->out;
    struct rb_group *g = rb_group_find(mgr, op->group);
    if (f->topics_n < 0) {
        fetch_all(op, g, r);
    } else {
        r->topics_n = f->topics_n;
        r->topics = rb_gop_alloc(op, sizeof(*r->topics) * (size_t)RB_MAX(f->topics_n, 1));
        for (int t = 0; t < f->topics_n; t++) {
            struct rb_offset_fetch_req_group_topic *qt = &f->topics[t];
            char *name = strndup(qt->name.ptr ? qt->name.ptr : "", (size_t)RB_MAX(qt->name.len, 0));
            RB_ASSERT(name);
            int np = RB_MAX(qt->partition_indexes_n, 0);
            r->topics[t].name = rb_gop_str(op, name);
            r->topics[t].partitions_n = np;
            r->topics[t].partitions =
                rb_gop_alloc(op, sizeof(*r->topics[t].partitions) * (size_t)RB_MAX(np, 1));
            for (int q = 0; q < np; q++) {
                int32_t idx = qt->partition_indexes[q];
                fetch_part(op, &r->topics[t].partitions[q],
                           g ? rb_group_offset_get(g, name, idx) : NULL, idx);
            }
            free(name);
        }
    }
    rb_gop_return(s, op);
}

/* A v1-v7 answer from the v8+ group form. */
static void fetch_single(struct rb_request *req, struct rb_offset_fetch_resp *resp,
                         struct rb_offset_fetch_resp_group *gr, struct fetch_in *f)
{
    resp->error_code = gr->error_code;
    if (gr->error_code && f->topics_n >= 0 && !gr->topics_n) { /* v1: errors per partition */
        gr->topics_n = f->topics_n;
        gr->topics = rb_req_alloc(req, (size_t)RB_MAX(f->topics_n, 1), sizeof(*gr->topics));
        for (int t = 0; t < f->topics_n; t++) {
            int np = RB_MAX(f->topics[t].partition_indexes_n, 0);
            gr->topics[t].name = f->topics[t].name;
            gr->topics[t].partitions_n = np;
            gr->topics[t].partitions =
                rb_req_alloc(req, (size_t)RB_MAX(np, 1), sizeof(*gr->topics[t].partitions));
            for (int q = 0; q < np; q++) {
                gr->topics[t].partitions[q].partition_index = f->topics[t].partition_indexes[q];
                gr->topics[t].partitions[q].committed_offset = -1;
                gr->topics[t].partitions[q].committed_leader_epoch = -1;
                gr->topics[t].partitions[q].metadata = rb_str_c("");
                gr->topics[t].partitions[q].error_code = gr->error_code;
            }
        }
    }
    resp->topics_n = gr->topics_n;
    resp->topics = rb_req_alloc(req, (size_t)RB_MAX(gr->topics_n, 1), sizeof(*resp->topics));
    for (int t = 0; t < gr->topics_n; t++) {
        struct rb_offset_fetch_resp_group_topic *gt = &gr->topics[t];
        resp->topics[t].name = gt->name;
        resp->topics[t].partitions_n = gt->partitions_n;
        resp->topics[t].partitions = rb_req_alloc(req, (size_t)RB_MAX(gt->partitions_n, 1),
                                                  sizeof(*resp->topics[t].partitions));
        for (int q = 0; q < gt->partitions_n; q++) {
            struct rb_offset_fetch_resp_partition *d = &resp->topics[t].partitions[q];
            const struct rb_offset_fetch_resp_group_partition *sp = &gt->partitions[q];
            d->partition_index = sp->partition_index;
            d->committed_offset = sp->committed_offset;
            d->committed_leader_epoch = sp->committed_leader_epoch;
            d->metadata = sp->metadata;
            d->error_code = sp->error_code;
        }
    }
}

static void fetch_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_offset_fetch_resp resp;
    rb_offset_fetch_resp_init(&resp);
    for (int i = 0; i < p->n_ops; i++) {
        struct fetch_in *f = p->ops[i].in;
        f->out->error_code = p->ops[i].err;
        if (p->ops[i].err)
            f->out->topics_n = 0;
    }
    if (req->hdr.api_version >= 8) {
        resp.groups_n = p->n_ops;
        resp.groups = rb_req_alloc(req, (size_t)RB_MAX(p->n_ops, 1), sizeof(*resp.groups));
        for (int i = 0; i < p->n_ops; i++)
            resp.groups[i] = *((struct fetch_in *)p->ops[i].in)->out;
    } else {
        struct fetch_in *f = p->ops[0].in;
        fetch_single(req, &resp, f->out, f);
    }
    rb_resp_begin(req);
    rb_offset_fetch_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void fetch_op(struct rb_request *req, struct rb_gop *op, struct rb_str group,
                     struct rb_offset_fetch_req_group_topic *topics, int32_t n)
{
    struct fetch_in *f = rb_req_alloc(req, 1, sizeof(*f));
    f->topics = topics;
    f->topics_n = n;
    f->out = rb_req_alloc(req, 1, sizeof(*f->out));
    rb_offset_fetch_resp_group_init(f->out);
    f->out->group_id = group;
    op->in = f;
    op->run = fetch_run;
    rb_gop_route(rb_req_net(req), op, rb_req_strdup(req, group));
}

static void fetch_go(struct rb_request *req, void *msg)
{
    struct rb_offset_fetch_req *in = msg;
    if (req->hdr.api_version >= 8) {
        int n = RB_MAX(in->groups_n, 0);
        struct rb_gparent *p = rb_gparent_new(req, msg, n, fetch_finish);
        for (int i = 0; i < n; i++)
            fetch_op(req, &p->ops[i], in->groups[i].group_id, in->groups[i].topics,
                     in->groups[i].topics_n);
        rb_gparent_start(rb_req_shard(req), p);
        return;
    }
    /* The single-group form has the same topic layout as the group form. */
    int32_t n = in->topics_n;
    struct rb_offset_fetch_req_group_topic *ts =
        rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(*ts));
    for (int t = 0; t < n; t++) {
        ts[t].name = in->topics[t].name;
        ts[t].partition_indexes = in->topics[t].partition_indexes;
        ts[t].partition_indexes_n = in->topics[t].partition_indexes_n;
    }
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, fetch_finish);
    fetch_op(req, &p->ops[0], in->group_id, ts, req->hdr.api_version < 2 ? RB_MAX(n, 0) : n);
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_offset_fetch(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, fetch_go);
}
