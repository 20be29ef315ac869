/*
 * net/h_fetch.c - Fetch (1), versions 4-16, consumers only (no fetch sessions:
 * session_id 0 in every response, so clients send full fetches). From v13 topics
 * are named by id (cluster metadata) in the request and the response; an unknown
 * id is UNKNOWN_TOPIC_ID. v15's replica_state and v16's node_endpoints concern
 * followers and leader changes: ignored and never sent by a standalone broker.
 *
 * The partitions go to their owner shards in one group per shard; an owner
 * answers at once when it has min_bytes (or an error), else it parks the group
 * until new data is durable or max_wait_ms passes (net/partition.c). When the
 * groups that came back already hold min_bytes, the others are cancelled so the
 * consumer does not wait for an idle shard's deadline.
 *
 * Response size: partitions are added in request order while they fit in
 * max_bytes; the first non-empty one is always included whole, so a consumer
 * makes progress even with a batch larger than its limits (as Kafka does).
 * High watermark = last stable offset = the durable end (no transactions yet).
 * Records: bytes from the tail cache come back copied; bytes in segment files come
 * back as a descriptor and are left out of req->out, to be spliced (or read and
 * sent) into their place by the connection (net/fetch_out.c, net/resp_send.c).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"
#include "net/fanout.h"

#include <stdlib.h>
#include <string.h>

struct fetch_ctx {
    struct rb_fetch_req *in;
    struct rb_pop **pops; /* flattened [topic][partition]; NULL when answered locally */
    int16_t *errors;
    int n;
    uint32_t bytes_back;
};

static void respond(struct rb_request *req, struct fetch_ctx *fc)
{
    struct rb_fetch_req *in = fc->in;
    struct rb_fetch_resp resp;
    rb_fetch_resp_init(&resp);
    resp.session_id = 0;
    int32_t nt = RB_MAX(in->topics_n, 0);
    resp.responses = rb_req_alloc(req, (size_t)nt, sizeof(*resp.responses));
    resp.responses_n = nt;
    uint32_t total = 0;
    uint32_t max_bytes = in->max_bytes > 0 ? (uint32_t)in->max_bytes : 0;
    struct rb_fetch_out *fo = rb_fetch_out_new(req, fc->n); /* net/fetch_out.c */
    int k = 0;
    for (int32_t i = 0; i < nt; i++) {
        struct rb_fetch_req_topic *rt = &in->topics[i];
        struct rb_fetch_resp_topic *ot = &resp.responses[i];
        rb_fetch_resp_topic_init(ot);
        ot->topic = rt->topic;
        ot->topic_id = rt->topic_id;
        int32_t np = RB_MAX(rt->partitions_n, 0);
        ot->partitions = rb_req_alloc(req, (size_t)np, sizeof(*ot->partitions));
        ot->partitions_n = np;
        for (int32_t j = 0; j < np; j++, k++) {
            struct rb_fetch_resp_partition *op = &ot->partitions[j];
            rb_fetch_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition;
            op->error_code = fc->errors[k];
            op->high_watermark = -1;
            op->last_stable_offset = -1;
            op->log_start_offset = -1;
            op->aborted_transactions_n = in->isolation_level ? 0 : -1;
            op->records = (struct rb_bytes){(const uint8_t *)"", 0};
            struct rb_pop *pop = fc->pops[k];
            if (!pop || op->error_code)
                continue;
            op->error_code = pop->u.it.error;
            op->high_watermark = pop->u.fetch.high_watermark;
            op->last_stable_offset = pop->u.fetch.high_watermark;
            op->log_start_offset = pop->u.fetch.log_start_offset;
            uint32_t len = pop->u.fetch.data.len;
            if (len && (total == 0 || total + len <= max_bytes)) {
                op->records = rb_fetch_out_records(fo, pop);
                total += len;
            }
        }
    }
    rb_resp_begin(req);
    rb_fetch_out_encode_begin(fo);
    rb_fetch_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_fetch_out_encode_end(fo);
    for (int j = 0; j < fc->n; j++)
        if (fc->pops[j])
            rb_part_data_clear(&fc->pops[j]->u.fetch.data);
    rb_request_done(req);
}

static void free_data(struct fetch_ctx *fc)
{
    for (int j = 0; j < fc->n; j++)
        if (fc->pops[j])
            rb_part_data_clear(&fc->pops[j]->u.fetch.data);
}

static void finish(struct rb_request *req, struct rb_fan *f)
{
    struct fetch_ctx *fc = f->ctx;
    if (rb_fan_answerable(req))
        respond(req, fc);
    else
        free_data(fc);
}

/* A shard's reads are back: once the request holds min_bytes (or an error, or the
 * consumer left), the shards still waiting answer now. */
static void batch_back(struct rb_shard *s, struct rb_fan_batch *b)
{
    struct rb_fan *f = b->fan;
    struct fetch_ctx *fc = f->ctx;
    fc->bytes_back += b->rs.bytes;
    if (f->pending <= 1)
        return; /* the last one: finish answers */
    bool errors = false;
    for (int i = 0; i < b->rs.n; i++)
        errors |= b->rs.items[i]->it.error != 0;
    if ((int32_t)fc->bytes_back >= fc->in->min_bytes || errors || !f->req->conn)
        rb_fan_cancel(s, f);
}

void rb_handle_fetch(struct rb_request *req, void *msg)
{
    struct rb_fetch_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    struct rb_shard *s = rb_req_shard(req);
    struct fetch_ctx *fc = rb_req_alloc(req, 1, sizeof(*fc));
    fc->in = in;
    req->ctx = fc;
    for (int32_t i = 0; i < in->topics_n; i++)
        fc->n += RB_MAX(in->topics[i].partitions_n, 0);
    fc->pops = rb_req_alloc(req, (size_t)fc->n, sizeof(*fc->pops));
    fc->errors = rb_req_alloc(req, (size_t)fc->n, sizeof(*fc->errors));
    bool any_error = false;
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_fetch_req_topic *rt = &in->topics[i];
        const struct rb_topic_meta *t =
            req->hdr.api_version >= 13
                ? rb_metadata_topic_by_id(n->md, rt->topic_id.b)
                : (rt->topic.len > 0
                       ? rb_metadata_topic(n->md, rt->topic.ptr, (size_t)rt->topic.len)
                       : NULL);
        char *tname = NULL;
        if (t) {
            tname = rb_req_alloc(req, t->name_len + 1, 1);
            memcpy(tname, t->name, t->name_len);
        }
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_fetch_req_partition *rp = &rt->partitions[j];
            if (!t || rp->partition < 0 || rp->partition >= t->n_partitions) {
                fc->errors[k] = req->hdr.api_version >= 13 && !t
                                    ? RB_KERR_UNKNOWN_TOPIC_ID
                                    : RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                any_error = true;
                continue;
            }
            struct rb_pop *op = rb_pop_new(req, RB_POP_FETCH, tname, t->name_len, rp->partition,
                                           t->partitions[rp->partition].shard);
            op->u.fetch.offset = rp->fetch_offset;
            op->u.fetch.max_bytes = rp->partition_max_bytes;
            fc->pops[k] = op;
        }
    }
    int64_t wait_ms = any_error ? 0 : RB_MAX(in->max_wait_ms, 0);
    struct rb_part_read_set limits = {
        .deadline_ms = s->now_ms + wait_ms,
        .min_bytes = in->min_bytes,
        .max_bytes = in->max_bytes > 0 ? in->max_bytes : 0,
    };
    rb_pops_start(req, fc->pops, fc->n, fc, finish, batch_back, &limits);
}
