/*
 * net/h_reassign.c - AlterPartitionReassignments (45) v0 and
 * ListPartitionReassignments (46) v0 (KIP-455), the APIs behind Kafka 3+'s
 * kafka-reassign-partitions.sh --bootstrap-server. Both go to the coordination
 * thread (coord/reassign_api.c): Alter merges the request into
 * /admin/reassign_partitions, where the controller runs it like Kafka 2.8's
 * --zookeeper tool's (coord/reassign.c); List answers from the cluster view.
 * Per-partition errors are Kafka's; the request's own error stays 0. The specs
 * live in the request's arena, the list in malloc'd memory freed once encoded.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"

#include <stdlib.h>
#include <string.h>

/* ---- AlterPartitionReassignments ---- */

struct apr_ctx {
    struct rb_alter_partition_reassignments_req *in;
    struct rb_reassign_spec *specs; /* the partitions in request order */
    int n;
};

static void apr_respond(struct rb_request *req, struct apr_ctx *ac)
{
    struct rb_alter_partition_reassignments_req *in = ac->in;
    struct rb_alter_partition_reassignments_resp resp;
    rb_alter_partition_reassignments_resp_init(&resp);
    resp.responses = rb_req_array(req, in->topics_n, sizeof(*resp.responses), &resp.responses_n);
    int k = 0;
    for (int32_t i = 0; i < resp.responses_n; i++) {
        struct rb_alter_partition_reassignments_req_topic *t = &in->topics[i];
        struct rb_alter_partition_reassignments_resp_topic *o = &resp.responses[i];
        rb_alter_partition_reassignments_resp_topic_init(o);
        o->name = t->name;
        o->partitions =
            rb_req_array(req, t->partitions_n, sizeof(*o->partitions), &o->partitions_n);
        for (int32_t j = 0; j < o->partitions_n; j++, k++) {
            struct rb_alter_partition_reassignments_resp_partition *op = &o->partitions[j];
            rb_alter_partition_reassignments_resp_partition_init(op);
            op->partition_index = t->partitions[j].partition_index;
            op->error_code = ac->specs[k].error;
            if (op->error_code && ac->specs[k].error_message[0])
                op->error_message =
                    rb_str_c(rb_req_strdup(req, rb_str_c(ac->specs[k].error_message)));
        }
    }
    rb_resp_begin(req);
    rb_alter_partition_reassignments_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void apr_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        apr_respond(req, req->ctx);
    rb_request_release(req);
}

void rb_handle_alter_partition_reassignments(struct rb_request *req, void *msg)
{
    struct rb_alter_partition_reassignments_req *in = msg;
    struct apr_ctx *ac = rb_req_alloc(req, 1, sizeof(*ac));
    ac->in = in;
    req->ctx = ac;
    int n = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        n += RB_MAX(in->topics[i].partitions_n, 0);
    ac->specs = rb_req_alloc(req, (size_t)n, sizeof(*ac->specs));
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_alter_partition_reassignments_req_topic *t = &in->topics[i];
        const char *name = rb_req_strdup(req, t->name);
        for (int32_t j = 0; j < t->partitions_n; j++) {
            struct rb_reassign_spec *sp = &ac->specs[ac->n++];
            memset(sp, 0, sizeof(*sp));
            sp->topic = name;
            sp->partition = t->partitions[j].partition_index;
            sp->n_replicas = t->partitions[j].replicas_n;
            sp->replicas = t->partitions[j].replicas;
        }
    }
    if (ac->n == 0) {
        apr_respond(req, ac);
        return;
    }
    rb_request_hold(req);
    rb_coord_alter_reassignments(rb_req_shard(req), ac->specs, ac->n, apr_done, req);
}

/* ---- ListPartitionReassignments ---- */

/* Whether the request asks for topic/partition (all when its list is null). */
static bool lpr_wanted(const struct rb_list_partition_reassignments_req *in,
                       const struct rb_reassign_ongoing *o)
{
    if (in->topics_n < 0)
        return true;
    for (int32_t i = 0; i < in->topics_n; i++) {
        if (!rb_str_eq(in->topics[i].name, o->topic))
            continue;
        for (int32_t j = 0; j < in->topics[i].partition_indexes_n; j++)
            if (in->topics[i].partition_indexes[j] == o->partition)
                return true;
    }
    return false;
}

static int32_t *ids_copy(struct rb_request *req, const int32_t *ids, int32_t n)
{
    int32_t *out = rb_req_alloc(req, (size_t)n, sizeof(int32_t));
    if (n)
        memcpy(out, ids, sizeof(int32_t) * (size_t)n);
    return out;
}

static void lpr_respond(struct rb_request *req, struct rb_list_partition_reassignments_req *in,
                        const struct rb_reassign_list *l)
{
    struct rb_list_partition_reassignments_resp resp;
    rb_list_partition_reassignments_resp_init(&resp);
    resp.error_code = l->error;
    /* topics in first-seen order; l is grouped by topic (the view's order) */
    resp.topics = rb_req_alloc(req, (size_t)l->n, sizeof(*resp.topics));
    resp.topics_n = 0;
    for (int i = 0; i < l->n; i++) {
        const struct rb_reassign_ongoing *o = &l->v[i];
        if (!lpr_wanted(in, o))
            continue;
        struct rb_list_partition_reassignments_resp_topic *t =
            resp.topics_n ? &resp.topics[resp.topics_n - 1] : NULL;
        if (!t || !rb_str_eq(t->name, o->topic)) {
            t = &resp.topics[resp.topics_n++];
            rb_list_partition_reassignments_resp_topic_init(t);
            t->name = rb_str_c(rb_req_strdup(req, rb_str_c(o->topic)));
            t->partitions = rb_req_alloc(req, (size_t)l->n, sizeof(*t->partitions));
            t->partitions_n = 0;
        }
        struct rb_list_partition_reassignments_resp_partition *p =
            &t->partitions[t->partitions_n++];
        rb_list_partition_reassignments_resp_partition_init(p);
        p->partition_index = o->partition;
        p->replicas = ids_copy(req, o->replicas, o->n_replicas);
        p->replicas_n = o->n_replicas;
        p->adding_replicas = ids_copy(req, o->adding, o->n_adding);
        p->adding_replicas_n = o->n_adding;
        p->removing_replicas = ids_copy(req, o->removing, o->n_removing);
        p->removing_replicas_n = o->n_removing;
    }
    rb_resp_begin(req);
    rb_list_partition_reassignments_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

struct lpr_ctx {
    struct rb_list_partition_reassignments_req *in;
    struct rb_reassign_list l;
};

static void lpr_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    struct lpr_ctx *lc = req->ctx;
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        lpr_respond(req, lc->in, &lc->l);
    free(lc->l.v);
    lc->l.v = NULL;
    rb_request_release(req);
}

void rb_handle_list_partition_reassignments(struct rb_request *req, void *msg)
{
    struct lpr_ctx *lc = rb_req_alloc(req, 1, sizeof(*lc));
    lc->in = msg;
    req->ctx = lc;
    rb_request_hold(req);
    rb_coord_list_reassignments(rb_req_shard(req), &lc->l, lpr_done, req);
}
