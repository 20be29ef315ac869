/*
 * net/h_fetch.c - Fetch (1), versions 4-16, from consumers and from followers
 * (replica_id >= 0, or v15's replica_state: their fetch offset is their position
 * on the leader, they read up to the log end, consumers below the high
 * watermark; part/read.c). No fetch sessions:
 * session_id 0 in every response, so clients send full fetches. From v13 topics
 * are named by id (cluster metadata) in the request and the response; an unknown
 * id is UNKNOWN_TOPIC_ID. v16's node_endpoints (leader changes) are never sent.
 *
 * The partitions go to their owner shards in one group per shard; an owner
 * answers at once when it has min_bytes (or an error), else it parks the group
 * until new data is durable or max_wait_ms passes (part/read.c). When the
 * groups that came back already hold min_bytes, the others are cancelled so the
 * consumer does not wait for an idle shard's deadline.
 *
 * Response size: partitions are added in request order while they fit in
 * max_bytes, itself capped by the broker's fetch.max.bytes and by what the
 * connection's and the shard's memory budgets grant (rb_request_reserve); the
 * first non-empty one is always included whole, so a consumer makes progress
 * even with a batch larger than its limits (as Kafka does). A partition listed
 * twice is fetched once (net/fetch_dedup.c, Kafka's map semantics).
 * High watermark = last stable offset = the durable end (no transactions yet).
 * Records: bytes from the tail cache come back copied; bytes in segment files come
 * back as a descriptor and are left out of req->out, to be spliced (or read and
 * sent) into their place by the connection (net/fetch_out.c, net/resp_send.c).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/pwalk.h"

#include <stdlib.h>
#include <string.h>

struct fetch_ctx {
    struct rb_fetch_req *in;
    struct rb_pwalk w;
    uint32_t bytes_back;
    uint32_t max_bytes; /* the request's, capped by fetch.max.bytes and the budgets */
};

/* Close and free the bytes no response took. */
static void free_data(struct fetch_ctx *fc)
{
    for (int j = 0; j < fc->w.n; j++)
        if (fc->w.pops[j])
            rb_part_data_clear(&fc->w.pops[j]->u.fetch.data);
}

static void respond(struct rb_request *req, struct fetch_ctx *fc)
{
    struct rb_fetch_req *in = fc->in;
    struct rb_fetch_resp resp;
    rb_fetch_resp_init(&resp);
    resp.session_id = 0;
    resp.responses =
        rb_pwalk_array(&fc->w, in->topics_n, sizeof(*resp.responses), &resp.responses_n);
    uint32_t total = 0;
    uint32_t max_bytes = fc->max_bytes;
    struct rb_fetch_out *fo = rb_fetch_out_new(req, fc->w.n); /* net/fetch_out.c */
    int k = 0;
    for (int32_t i = 0; i < resp.responses_n; i++) {
        struct rb_fetch_req_topic *rt = &in->topics[i];
        struct rb_fetch_resp_topic *ot = &resp.responses[i];
        rb_fetch_resp_topic_init(ot);
        ot->topic = rt->topic;
        ot->topic_id = rt->topic_id;
        ot->partitions =
            rb_pwalk_array(&fc->w, rt->partitions_n, sizeof(*ot->partitions), &ot->partitions_n);
        for (int32_t j = 0; j < ot->partitions_n; j++, k++) {
            struct rb_fetch_resp_partition *op = &ot->partitions[j];
            rb_fetch_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition;
            op->high_watermark = -1;
            op->last_stable_offset = -1;
            op->log_start_offset = -1;
            op->aborted_transactions_n = in->isolation_level ? 0 : -1;
            op->records = (struct rb_bytes){(const uint8_t *)"", 0};
            struct rb_pop *pop = rb_pwalk_result(&fc->w, k, &op->error_code);
            if (!pop)
                continue; /* the owner's error still carries the watermarks */
            op->high_watermark = pop->u.fetch.high_watermark;
            op->last_stable_offset = pop->u.fetch.high_watermark;
            op->log_start_offset = pop->u.fetch.log_start_offset;
            if (pop->u.fetch.diverged) { /* v12+ only: older fetches carry no epoch */
                op->diverging_epoch.epoch = pop->u.fetch.diverging_epoch;
                op->diverging_epoch.end_offset = pop->u.fetch.diverging_end_offset;
            }
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
    free_data(fc);
    rb_request_done(req);
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
    bool by_id = req->hdr.api_version >= 13;
    rb_fetch_dedup(req, in, by_id);
    uint32_t want = in->max_bytes > 0 ? (uint32_t)in->max_bytes : 0;
    want = RB_MIN(want, (uint32_t)n->b->bc->fetch_max_bytes);
    fc->max_bytes = rb_request_reserve(req, want); /* net/conn.c */
    int np = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        np += RB_MAX(in->topics[i].partitions_n, 0);
    rb_pwalk_init(&fc->w, req, np);
    /* a follower's fetch (replication): its position goes to the leader's replica
     * state and it reads up to the log end (part/read.c) */
    int32_t replica_id = req->hdr.api_version >= 15 ? in->replica_state.replica_id : in->replica_id;
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_fetch_req_topic *rt = &in->topics[i];
        const char *tname;
        const struct rb_topic_meta *t =
            by_id ? rb_pwalk_topic(&fc->w, rb_metadata_topic_by_id(n->md, rt->topic_id.b), &tname)
                  : rb_pwalk_named(&fc->w, rt->topic, &tname);
        int16_t err = by_id && !t ? RB_KERR_UNKNOWN_TOPIC_ID : RB_KERR_NONE;
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_fetch_req_partition *rp = &rt->partitions[j];
            struct rb_pop *op = rb_pwalk_add(&fc->w, k, RB_POP_FETCH, t, tname, rp->partition, err);
            if (!op)
                continue;
            op->u.fetch.offset = rp->fetch_offset;
            op->u.fetch.max_bytes = rp->partition_max_bytes;
            op->u.fetch.replica = replica_id >= 0;
            op->u.fetch.replica_id = replica_id;
            op->u.fetch.check_epoch = req->hdr.api_version >= 9; /* KIP-320 */
            op->u.fetch.current_leader_epoch = rp->current_leader_epoch;
            op->u.fetch.last_fetched_epoch = rp->last_fetched_epoch; /* v12+, else -1 */
        }
    }
    /* errors go back at once, like Kafka */
    int64_t wait_ms = rb_pwalk_any_error(&fc->w) ? 0 : RB_MAX(in->max_wait_ms, 0);
    struct rb_part_read_set limits = {
        .deadline_ms = s->now_ms + wait_ms,
        .min_bytes = in->min_bytes,
        .max_bytes = (int32_t)fc->max_bytes,
    };
    rb_pops_start(req, fc->w.pops, fc->w.n, fc, finish, batch_back, &limits);
}
