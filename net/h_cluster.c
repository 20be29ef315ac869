/*
 * net/h_cluster.c - read-only cluster and log views: DescribeCluster (60) v0-1,
 * DescribeLogDirs (35) v1-4 and OffsetForLeaderEpoch (23) v2-4.
 *
 * DescribeLogDirs reports every configured log dir; the partitions (all in the
 * first dir, where the standalone coordinator places them) with their sizes,
 * which the owner shards read from their logs (rb_part_size_bytes), fanned out
 * per owner shard (net/fanout.h), answered when all came back.
 * OffsetForLeaderEpoch: each partition's owner answers from its log's epoch
 * cache (part/epoch.c): the end of the requested epoch (the start of the next
 * higher one, the log end offset for the latest), UNDEFINED (-1/-1, no error)
 * when unknown; current_leader_epoch fenced first (FENCED_LEADER_EPOCH older,
 * UNKNOWN_LEADER_EPOCH newer), then a non-leader is NOT_LEADER_OR_FOLLOWER -
 * the same for clients and for brokers (replica_id).
 * Fault model: requests are input; unknown topics and partitions are per-entry
 * errors or omissions, never a failure of the request.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/pwalk.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Kafka error codes not (yet) in core/kerr.h */
#define KERR_MISMATCHED_ENDPOINT_TYPE  114
#define KERR_UNSUPPORTED_ENDPOINT_TYPE 115

/* AclOperation bits a cluster resource supports (no authorizer: all allowed):
 * CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
 * ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
#define CLUSTER_OPS ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12))

/* ---- DescribeCluster ---- */

void rb_handle_describe_cluster(struct rb_request *req, void *msg)
{
    struct rb_describe_cluster_req *in = msg;
    const struct rb_metadata *md = rb_req_net(req)->md;
    struct rb_describe_cluster_resp resp;
    rb_describe_cluster_resp_init(&resp);
    resp.endpoint_type = 1; /* BROKER */
    resp.cluster_id = rb_str_c(md->cluster_id);
    resp.controller_id = md->controller_id;
    resp.cluster_authorized_operations =
        in->include_cluster_authorized_operations ? CLUSTER_OPS : INT32_MIN;
    if (req->hdr.api_version >= 1 && in->endpoint_type != 1) {
        resp.error_code =
            in->endpoint_type == 2 ? KERR_MISMATCHED_ENDPOINT_TYPE : KERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp.error_message =
            rb_str_c(in->endpoint_type == 2 ? "The request was sent to an endpoint of type BROKER, "
                                              "but we wanted an endpoint of type CONTROLLER"
                                            : "Unsupported endpoint type");
        resp.brokers_n = 0;
    } else {
        resp.brokers = rb_req_alloc(req, (size_t)md->n_brokers, sizeof(*resp.brokers));
        resp.brokers_n = md->n_brokers;
        for (int32_t i = 0; i < md->n_brokers; i++) {
            struct rb_describe_cluster_resp_broker *b = &resp.brokers[i];
            rb_describe_cluster_resp_broker_init(b);
            b->broker_id = md->brokers[i].id;
            b->host = rb_str_c(md->brokers[i].host);
            b->port = md->brokers[i].port;
            b->rack = md->brokers[i].rack ? rb_str_c(md->brokers[i].rack) : RB_STR_NULL;
        }
    }
    rb_resp_begin(req);
    rb_describe_cluster_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

/* ---- DescribeLogDirs ---- */

struct dl_item {
    struct rb_fan_item fi; /* fi.shard: the owner */
    const char *topic;     /* the snapshot's name: the snapshot outlives the request */
    size_t topic_len;
    int32_t partition;
    bool found;
    int64_t size_bytes;
};

struct dl_ctx {
    struct rb_describe_log_dirs_req *in;
    struct rb_metadata *md; /* referenced until the answer: items point into it */
    struct dl_item *items;
    int n;
};

static void dl_add_topic(struct rb_describe_log_dirs_resp_result *res, struct rb_request *req,
                         struct dl_item *it, int n)
{
    struct rb_describe_log_dirs_resp_topic *ot = &res->topics[res->topics_n++];
    rb_describe_log_dirs_resp_topic_init(ot);
    ot->name = (struct rb_str){it[0].topic, (int32_t)it[0].topic_len};
    ot->partitions = rb_req_alloc(req, (size_t)n, sizeof(*ot->partitions));
    ot->partitions_n = 0;
    for (int i = 0; i < n; i++) {
        if (!it[i].found)
            continue;
        struct rb_describe_log_dirs_resp_partition *op = &ot->partitions[ot->partitions_n++];
        rb_describe_log_dirs_resp_partition_init(op);
        op->partition_index = it[i].partition;
        op->partition_size = it[i].size_bytes;
        op->offset_lag = 0;
        op->is_future_key = false;
    }
    if (ot->partitions_n == 0)
        res->topics_n--;
}

static void dl_fill_dir(struct rb_request *req, struct rb_describe_log_dirs_resp_result *res,
                        const char *dir)
{
    rb_describe_log_dirs_resp_result_init(res);
    char *abs = realpath(dir, NULL);
    res->log_dir = rb_str_c(rb_req_strdup(req, rb_str_c(abs ? abs : dir)));
    free(abs);
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0) {
        res->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        res->usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    } else {
        res->error_code = RB_KERR_KAFKA_STORAGE_ERROR;
        res->total_bytes = res->usable_bytes = -1;
    }
    res->topics_n = 0;
}

static void dl_respond(struct rb_request *req, struct dl_ctx *dc)
{
    const struct rb_broker_config *bc = rb_req_net(req)->b->bc;
    struct rb_describe_log_dirs_resp resp;
    rb_describe_log_dirs_resp_init(&resp);
    int nd = RB_MAX(bc->n_log_dirs, 1);
    resp.results = rb_req_alloc(req, (size_t)nd, sizeof(*resp.results));
    resp.results_n = nd;
    for (int d = 0; d < nd; d++)
        dl_fill_dir(req, &resp.results[d], bc->n_log_dirs ? bc->log_dirs[d] : ".");
    /* Partitions live in the first dir; items are grouped by topic. */
    struct rb_describe_log_dirs_resp_result *first = &resp.results[0];
    first->topics = rb_req_alloc(req, (size_t)dc->n, sizeof(*first->topics));
    for (int i = 0; i < dc->n;) {
        int j = i + 1;
        while (j < dc->n && dc->items[j].topic == dc->items[i].topic)
            j++;
        dl_add_topic(first, req, &dc->items[i], j - i);
        i = j;
    }
    rb_resp_begin(req);
    rb_describe_log_dirs_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void dl_finish(struct rb_request *req, struct rb_fan *f)
{
    struct dl_ctx *dc = f->ctx;
    if (rb_fan_answerable(req))
        dl_respond(req, dc);
    rb_metadata_unref(dc->md);
    dc->md = NULL;
}

/* On the owner shard: the size of one partition's log. */
static void dl_run(struct rb_shard *s, struct rb_fan_item *fi)
{
    struct dl_item *it = RB_CONTAINER_OF(fi, struct dl_item, fi);
    struct rb_part_key k = {it->topic, it->topic_len, it->partition};
    it->found = rb_part_size_bytes(rb_part_of(s), &k, &it->size_bytes) == 0;
    rb_fan_item_done(s, fi);
}

static void dl_add_item(struct dl_ctx *dc, const struct rb_topic_meta *t, int32_t p)
{
    if (p < 0 || p >= t->n_partitions)
        return;
    struct dl_item *it = &dc->items[dc->n++];
    it->topic = t->name;
    it->topic_len = t->name_len;
    it->partition = p;
    it->fi.shard = t->partitions[p].shard;
    it->fi.run = dl_run;
}

static void dl_collect(struct rb_request *req, struct dl_ctx *dc)
{
    const struct rb_metadata *md = dc->md;
    struct rb_describe_log_dirs_req *in = dc->in;
    size_t cap = 0;
    if (in->topics_n < 0) {
        for (int32_t i = 0; i < md->n_topics; i++)
            cap += (size_t)md->topics[i].n_partitions;
    } else {
        for (int32_t i = 0; i < in->topics_n; i++)
            cap += (size_t)RB_MAX(in->topics[i].partitions_n, 0);
    }
    dc->items = rb_req_alloc(req, cap, sizeof(*dc->items));
    if (in->topics_n < 0) {
        for (int32_t i = 0; i < md->n_topics; i++)
            for (int32_t p = 0; p < md->topics[i].n_partitions; p++)
                dl_add_item(dc, &md->topics[i], p);
        return;
    }
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_describe_log_dirs_req_topic *rt = &in->topics[i];
        const struct rb_topic_meta *t =
            rt->topic.len > 0 ? rb_metadata_topic(md, rt->topic.ptr, (size_t)rt->topic.len) : NULL;
        for (int32_t j = 0; t && j < rt->partitions_n; j++)
            dl_add_item(dc, t, rt->partitions[j]);
    }
}

void rb_handle_describe_log_dirs(struct rb_request *req, void *msg)
{
    struct dl_ctx *dc = rb_req_alloc(req, 1, sizeof(*dc));
    dc->in = msg;
    dc->md = rb_req_net(req)->md;
    rb_metadata_ref(dc->md);
    req->ctx = dc;
    dl_collect(req, dc);
    struct rb_fan_item **items = rb_req_alloc(req, (size_t)RB_MAX(dc->n, 1), sizeof(*items));
    for (int i = 0; i < dc->n; i++)
        items[i] = &dc->items[i].fi;
    rb_fan_start(rb_fan_new(req, NULL, dl_finish, dc), items, dc->n);
}

/* ---- OffsetForLeaderEpoch ---- */

struct ole_ctx {
    struct rb_offset_for_leader_epoch_req *in;
    struct rb_pwalk w;
};

static void ole_respond(struct rb_request *req, struct ole_ctx *oc)
{
    struct rb_offset_for_leader_epoch_req *in = oc->in;
    struct rb_offset_for_leader_epoch_resp resp;
    rb_offset_for_leader_epoch_resp_init(&resp);
    resp.topics = rb_pwalk_array(&oc->w, in->topics_n, sizeof(*resp.topics), &resp.topics_n);
    int k = 0;
    for (int32_t i = 0; i < resp.topics_n; i++) {
        struct rb_offset_for_leader_epoch_req_topic *rt = &in->topics[i];
        struct rb_offset_for_leader_epoch_resp_topic *ot = &resp.topics[i];
        rb_offset_for_leader_epoch_resp_topic_init(ot);
        ot->topic = rt->topic;
        ot->partitions =
            rb_pwalk_array(&oc->w, rt->partitions_n, sizeof(*ot->partitions), &ot->partitions_n);
        for (int32_t j = 0; j < ot->partitions_n; j++, k++) {
            struct rb_offset_for_leader_epoch_resp_partition *op = &ot->partitions[j];
            rb_offset_for_leader_epoch_resp_partition_init(op);
            op->partition = rt->partitions[j].partition;
            struct rb_pop *pop = rb_pwalk_result(&oc->w, k, &op->error_code);
            bool ok = pop && !op->error_code;
            op->leader_epoch = ok ? pop->u.ep.end_epoch : -1;
            op->end_offset = ok ? pop->u.ep.end_offset : -1;
        }
    }
    rb_resp_begin(req);
    rb_offset_for_leader_epoch_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void ole_finish(struct rb_request *req, struct rb_fan *f)
{
    if (rb_fan_answerable(req))
        ole_respond(req, f->ctx);
}

void rb_handle_offset_for_leader_epoch(struct rb_request *req, void *msg)
{
    struct rb_offset_for_leader_epoch_req *in = msg;
    struct ole_ctx *oc = rb_req_alloc(req, 1, sizeof(*oc));
    oc->in = in;
    req->ctx = oc;
    int np = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        np += RB_MAX(in->topics[i].partitions_n, 0);
    rb_pwalk_init(&oc->w, req, np);
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_offset_for_leader_epoch_req_topic *rt = &in->topics[i];
        const char *tname;
        const struct rb_topic_meta *t = rb_pwalk_named(&oc->w, rt->topic, &tname);
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_offset_for_leader_epoch_req_partition *rp = &rt->partitions[j];
            struct rb_pop *op =
                rb_pwalk_add(&oc->w, k, RB_POP_EPOCH_END, t, tname, rp->partition, 0);
            if (!op)
                continue;
            op->u.ep.current_leader_epoch = rp->current_leader_epoch;
            op->u.ep.leader_epoch = rp->leader_epoch;
        }
    }
    rb_pops_start(req, oc->w.pops, oc->w.n, oc, ole_finish, NULL, NULL);
}
