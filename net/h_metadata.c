/*
 * net/h_metadata.c - Metadata (3): brokers, controller, cluster id and topics
 * from the shard's current snapshot.
 *
 * Auto-creation (auto.create.topics.enable, and for v4+ only when the request
 * allows it): unknown, valid names are created through the coordinator with
 * num.partitions; the answer waits until every shard serves them, so the client
 * can produce at once; a creation refused by a limit answers the refusal's error.
 * v0 with an empty list and v1+ with a null list mean all
 * topics.
 */
#include "core/kerr.h"
#include "net/handlers.h"

#include <string.h>

struct md_ctx {
    struct rb_metadata_req *in;
    struct rb_topic_spec *specs;
    int n_specs;
};

static void fill_topic(struct rb_request *req, const struct rb_topic_meta *t,
                       struct rb_metadata_resp_topic *out)
{
    rb_metadata_resp_topic_init(out);
    out->name = (struct rb_str){t->name, (int32_t)t->name_len};
    memcpy(out->topic_id.b, t->id, 16);
    out->is_internal = t->internal;
    out->partitions = rb_req_alloc(req, (size_t)t->n_partitions, sizeof(*out->partitions));
    out->partitions_n = t->n_partitions;
    for (int32_t p = 0; p < t->n_partitions; p++) {
        const struct rb_partition_meta *pm = &t->partitions[p];
        struct rb_metadata_resp_partition *rp = &out->partitions[p];
        rb_metadata_resp_partition_init(rp);
        rp->partition_index = pm->index;
        rp->error_code = pm->leader < 0 ? RB_KERR_LEADER_NOT_AVAILABLE : RB_KERR_NONE;
        rp->leader_id = pm->leader;
        rp->leader_epoch = pm->leader_epoch;
        rp->replica_nodes = pm->replicas;
        rp->replica_nodes_n = pm->n_replicas;
        rp->isr_nodes = pm->isr;
        rp->isr_nodes_n = pm->n_isr;
        rp->offline_replicas_n = 0;
    }
}

/* What a topic whose auto-creation failed answers: a refusal that retrying cannot
 * change (a partition limit, a bad name or replication factor) is passed on, as
 * Kafka 2.8's KafkaApis does; anything else is LEADER_NOT_AVAILABLE, which clients
 * retry. */
static int16_t auto_create_error(int16_t err)
{
    switch (err) {
    case RB_KERR_INVALID_TOPIC_EXCEPTION:
    case RB_KERR_POLICY_VIOLATION:
    case RB_KERR_INVALID_PARTITIONS:
    case RB_KERR_INVALID_REPLICATION_FACTOR:
        return err;
    default:
        return RB_KERR_LEADER_NOT_AVAILABLE;
    }
}

static void respond(struct rb_request *req, struct md_ctx *mc)
{
    struct rb_net *n = rb_req_net(req);
    const struct rb_metadata *md = n->md;
    struct rb_metadata_req *in = mc->in;
    struct rb_metadata_resp resp;
    rb_metadata_resp_init(&resp);
    resp.brokers = rb_req_alloc(req, (size_t)md->n_brokers, sizeof(*resp.brokers));
    resp.brokers_n = md->n_brokers;
    for (int32_t i = 0; i < md->n_brokers; i++) {
        rb_metadata_resp_broker_init(&resp.brokers[i]);
        resp.brokers[i].node_id = md->brokers[i].id;
        resp.brokers[i].host = rb_str_c(md->brokers[i].host);
        resp.brokers[i].port = md->brokers[i].port;
        resp.brokers[i].rack = md->brokers[i].rack ? rb_str_c(md->brokers[i].rack) : RB_STR_NULL;
    }
    resp.cluster_id = rb_str_c(md->cluster_id);
    resp.controller_id = md->controller_id;
    bool all = in->topics_n < 0 || (req->hdr.api_version == 0 && in->topics_n == 0);
    if (all) {
        resp.topics = rb_req_alloc(req, (size_t)md->n_topics, sizeof(*resp.topics));
        resp.topics_n = md->n_topics;
        for (int32_t i = 0; i < md->n_topics; i++)
            fill_topic(req, &md->topics[i], &resp.topics[i]);
    } else {
        resp.topics = rb_req_alloc(req, (size_t)in->topics_n, sizeof(*resp.topics));
        resp.topics_n = in->topics_n;
        for (int32_t i = 0; i < in->topics_n; i++) {
            struct rb_metadata_req_topic *rt = &in->topics[i];
            const struct rb_topic_meta *t =
                rt->name.len >= 0 ? rb_metadata_topic(md, rt->name.ptr, (size_t)rt->name.len)
                                  : rb_metadata_topic_by_id(md, rt->topic_id.b);
            if (t) {
                fill_topic(req, t, &resp.topics[i]);
                continue;
            }
            struct rb_metadata_resp_topic *ot = &resp.topics[i];
            rb_metadata_resp_topic_init(ot);
            ot->name = rt->name;
            ot->topic_id = rt->topic_id;
            ot->partitions_n = 0;
            /* v10+: a topic asked for by id alone (null name, v12) is UNKNOWN_TOPIC_ID. */
            ot->error_code =
                rt->name.len >= 0 ? RB_KERR_UNKNOWN_TOPIC_OR_PARTITION : RB_KERR_UNKNOWN_TOPIC_ID;
            if (rt->name.len >= 0 && !rb_topic_name_valid(rt->name.ptr, (size_t)rt->name.len))
                ot->error_code = RB_KERR_INVALID_TOPIC_EXCEPTION;
            for (int k = 0; k < mc->n_specs; k++)
                if (rb_str_eq(rt->name, mc->specs[k].name) && mc->specs[k].error &&
                    mc->specs[k].error != RB_KERR_TOPIC_ALREADY_EXISTS)
                    ot->error_code = auto_create_error(mc->specs[k].error);
        }
    }
    rb_resp_begin(req);
    rb_metadata_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void created(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    if (req->conn)
        respond(req, req->ctx);
    rb_request_release(req);
}

void rb_handle_metadata(struct rb_request *req, void *msg)
{
    struct rb_metadata_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    struct md_ctx *mc = rb_req_alloc(req, 1, sizeof(*mc));
    mc->in = in;
    req->ctx = mc;
    bool allow = n->b->bc->auto_create_topics_enable &&
                 (req->hdr.api_version < 4 || in->allow_auto_topic_creation);
    if (allow && in->topics_n > 0) {
        mc->specs = rb_req_alloc(req, (size_t)in->topics_n, sizeof(*mc->specs));
        for (int32_t i = 0; i < in->topics_n; i++) {
            struct rb_str name = in->topics[i].name;
            if (name.len <= 0 || !rb_topic_name_valid(name.ptr, (size_t)name.len) ||
                rb_metadata_topic(n->md, name.ptr, (size_t)name.len))
                continue;
            struct rb_topic_spec *sp = &mc->specs[mc->n_specs++];
            sp->name = rb_req_strdup(req, name);
            sp->n_partitions = -1;
            sp->replication_factor = -1;
        }
    }
    if (mc->n_specs == 0) {
        respond(req, mc);
        return;
    }
    rb_request_hold(req);
    rb_coord_create_topics(rb_req_shard(req), mc->specs, mc->n_specs, false, created, req);
}
