/*
 * net/h_produce.c - Produce (0), versions 3-8 (0-2 are answered with
 * UNSUPPORTED_VERSION).
 *
 * On the connection's shard: look up each partition in the snapshot, validate
 * every RecordBatch in place (length, magic 2, CRC-32C, counts, size against
 * max.message.bytes) - spreading the CRC work over the shards that received the
 * bytes - then send each owner shard its partitions in one group. Owners append
 * and, for acks=1/all, answer once the data is fdatasync'd (net/partition.c).
 * acks=0 gets no response at all, as in Kafka.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"
#include "net/partition.h"
#include "storage/batch.h"

#include <stdlib.h>
#include <string.h>

struct produce_ctx {
    struct rb_produce_req *in;
    struct rb_pop **pops; /* [topic][partition] flattened, NULL when answered locally */
    int16_t *errors;      /* local errors, same indexing */
    int n;
    int groups_out;
};

static int16_t batch_error(enum rb_batch_status st)
{
    switch (st) {
    case RB_BATCH_OK:
        return RB_KERR_NONE;
    case RB_BATCH_BAD_MAGIC:
        return RB_KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case RB_BATCH_INVALID:
        return RB_KERR_INVALID_RECORD;
    default:
        return RB_KERR_CORRUPT_MESSAGE;
    }
}

static int32_t max_message_bytes(struct rb_net *n, const struct rb_topic_meta *t)
{
    const char *v = rb_topic_config(t, "max.message.bytes");
    int64_t x;
    if (v && rb_parse_i64(v, 0, INT32_MAX, &x) == 0)
        return (int32_t)x;
    return n->b->bc->message_max_bytes;
}

/* Validate every batch of one partition's records; returns a Kafka error. */
static int16_t validate_records(struct rb_bytes rec, int32_t max_bytes)
{
    if (rec.len <= 0)
        return RB_KERR_CORRUPT_MESSAGE;
    uint32_t off = 0, len = (uint32_t)rec.len;
    while (off < len) {
        struct rb_batch_info bi;
        enum rb_batch_status st = rb_batch_validate(rec.ptr + off, len - off, &bi);
        if (st == RB_BATCH_OK && rb_batch_total_bytes(&bi) > (uint32_t)max_bytes)
            return RB_KERR_MESSAGE_TOO_LARGE;
        if (st == RB_BATCH_OK && (bi.attributes & RB_BATCH_ATTR_COMPRESSION_MASK) > 4)
            return RB_KERR_UNSUPPORTED_COMPRESSION_TYPE;
        if (st != RB_BATCH_OK)
            return batch_error(st);
        off += rb_batch_total_bytes(&bi);
    }
    return RB_KERR_NONE;
}

static void respond(struct rb_request *req, struct produce_ctx *pc)
{
    struct rb_produce_req *in = pc->in;
    struct rb_produce_resp resp;
    rb_produce_resp_init(&resp);
    resp.responses =
        rb_req_alloc(req, (size_t)RB_MAX(in->topic_data_n, 0), sizeof(*resp.responses));
    resp.responses_n = RB_MAX(in->topic_data_n, 0);
    int k = 0;
    for (int32_t i = 0; i < resp.responses_n; i++) {
        struct rb_produce_req_topic *rt = &in->topic_data[i];
        struct rb_produce_resp_topic *ot = &resp.responses[i];
        rb_produce_resp_topic_init(ot);
        ot->name = rt->name;
        int32_t np = RB_MAX(rt->partition_data_n, 0);
        ot->partition_responses = rb_req_alloc(req, (size_t)np, sizeof(*ot->partition_responses));
        ot->partition_responses_n = np;
        for (int32_t j = 0; j < np; j++, k++) {
            struct rb_produce_resp_partition *op = &ot->partition_responses[j];
            rb_produce_resp_partition_init(op);
            op->index = rt->partition_data[j].index;
            op->error_code = pc->errors[k];
            op->base_offset = -1;
            struct rb_pop *pop = pc->pops[k];
            if (pop && !op->error_code) {
                op->error_code = pop->error;
                if (!pop->error) {
                    op->base_offset = pop->u.produce.base_offset;
                    op->log_append_time_ms = pop->u.produce.log_append_time;
                    op->log_start_offset = pop->u.produce.log_start_offset;
                }
            }
        }
    }
    rb_resp_begin(req);
    rb_produce_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void part_back(struct rb_request *req)
{
    struct produce_ctx *pc = req->ctx;
    if (--pc->groups_out > 0)
        return;
    if (pc->in->acks != 0 && req->conn && req->state == RB_REQ_DISPATCHED)
        respond(req, pc);
}

static void group_back(struct rb_shard *s, struct rb_pgroup *g)
{
    (void)s;
    part_back(g->req);
}

/* Build one group per owner shard from the pops that go remote. */
static void send_groups(struct rb_request *req, struct produce_ctx *pc)
{
    struct rb_shard *s = rb_req_shard(req);
    struct rb_pgroup **groups;
    int ng = rb_pgroups_split(req, pc->pops, pc->n, group_back, &groups);
    pc->groups_out += ng;
    for (int i = 0; i < ng; i++)
        rb_pgroup_send(s, groups[i]);
}

void rb_handle_produce(struct rb_request *req, void *msg)
{
    struct rb_produce_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    struct produce_ctx *pc = rb_req_alloc(req, 1, sizeof(*pc));
    pc->in = in;
    req->ctx = pc;
    for (int32_t i = 0; i < in->topic_data_n; i++)
        pc->n += RB_MAX(in->topic_data[i].partition_data_n, 0);
    pc->pops = rb_req_alloc(req, (size_t)pc->n, sizeof(*pc->pops));
    pc->errors = rb_req_alloc(req, (size_t)pc->n, sizeof(*pc->errors));
    int16_t all_err = RB_KERR_NONE;
    if (req->hdr.api_version < 3)
        all_err = RB_KERR_UNSUPPORTED_VERSION;
    else if (in->acks != 0 && in->acks != 1 && in->acks != -1)
        all_err = RB_KERR_INVALID_REQUIRED_ACKS;
    else if (in->transactional_id.len >= 0)
        all_err = RB_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    int k = 0;
    for (int32_t i = 0; i < in->topic_data_n; i++) {
        struct rb_produce_req_topic *rt = &in->topic_data[i];
        const struct rb_topic_meta *t =
            rt->name.len > 0 ? rb_metadata_topic(n->md, rt->name.ptr, (size_t)rt->name.len) : NULL;
        int32_t max_bytes = t ? max_message_bytes(n, t) : 0;
        const char *tname = t ? t->name : NULL;
        for (int32_t j = 0; j < rt->partition_data_n; j++, k++) {
            struct rb_produce_req_partition *rp = &rt->partition_data[j];
            int16_t err = all_err;
            if (!err && (!t || rp->index < 0 || rp->index >= t->n_partitions))
                err = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!err)
                err = validate_records(rp->records, max_bytes);
            pc->errors[k] = err;
            if (err)
                continue;
            struct rb_pop *op = rb_req_alloc(req, 1, sizeof(*op));
            op->kind = RB_POP_PRODUCE;
            op->topic = tname; /* the snapshot outlives the request: see below */
            op->topic_len = t->name_len;
            op->partition = rp->index;
            op->shard = t->partitions[rp->index].shard;
            op->u.produce.records = rp->records.ptr;
            op->u.produce.len = (uint32_t)rp->records.len;
            op->u.produce.acks = in->acks;
            pc->pops[k] = op;
        }
    }
    /* Topic names in pops point into the snapshot; copy them into the arena, since
     * a metadata update may free the snapshot while the owner works. */
    for (int j = 0; j < pc->n; j++)
        if (pc->pops[j]) {
            char *nm = rb_req_alloc(req, pc->pops[j]->topic_len + 1, 1);
            memcpy(nm, pc->pops[j]->topic, pc->pops[j]->topic_len);
            pc->pops[j]->topic = nm;
        }
    rb_request_hold(req); /* until the groups are sent and counted */
    pc->groups_out = 1;
    send_groups(req, pc);
    if (in->acks == 0)
        rb_request_done_silent(req);
    part_back(req);
    rb_request_release(req);
}
