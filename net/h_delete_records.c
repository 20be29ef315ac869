/*
 * net/h_delete_records.c - DeleteRecords (21), versions 0-2: moves each named
 * partition's log start offset (offset -1 means the high watermark) and lets go of
 * the segments wholly below it; the files are unlinked by the coordination thread.
 * Routed like ListOffsets: one group per owner shard, answered at once.
 * Errors: OFFSET_OUT_OF_RANGE beyond the high watermark (or below -1),
 * KAFKA_STORAGE_ERROR when the log is offline, NOT_LEADER_OR_FOLLOWER when the
 * partition is not on its shard (being created or deleted), INVALID_TOPIC_EXCEPTION
 * on an internal topic (__consumer_offsets: only the broker moves its log, as Kafka).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/pwalk.h"

struct dr_ctx {
    struct rb_delete_records_req *in;
    struct rb_pwalk w;
};

static void respond(struct rb_request *req, struct dr_ctx *dc)
{
    struct rb_delete_records_req *in = dc->in;
    struct rb_delete_records_resp resp;
    rb_delete_records_resp_init(&resp);
    resp.topics = rb_pwalk_array(&dc->w, in->topics_n, sizeof(*resp.topics), &resp.topics_n);
    int k = 0;
    for (int32_t i = 0; i < resp.topics_n; i++) {
        struct rb_delete_records_req_topic *rt = &in->topics[i];
        struct rb_delete_records_resp_topic *ot = &resp.topics[i];
        rb_delete_records_resp_topic_init(ot);
        ot->name = rt->name;
        ot->partitions =
            rb_pwalk_array(&dc->w, rt->partitions_n, sizeof(*ot->partitions), &ot->partitions_n);
        for (int32_t j = 0; j < ot->partitions_n; j++, k++) {
            struct rb_delete_records_resp_partition *op = &ot->partitions[j];
            rb_delete_records_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition_index;
            struct rb_pop *pop = rb_pwalk_result(&dc->w, k, &op->error_code);
            op->low_watermark = pop && !op->error_code ? pop->u.dr.low_watermark : -1;
        }
    }
    rb_resp_begin(req);
    rb_delete_records_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void finish(struct rb_request *req, struct rb_fan *f)
{
    if (rb_fan_answerable(req))
        respond(req, f->ctx);
}

void rb_handle_delete_records(struct rb_request *req, void *msg)
{
    struct rb_delete_records_req *in = msg;
    struct dr_ctx *dc = rb_req_alloc(req, 1, sizeof(*dc));
    dc->in = in;
    req->ctx = dc;
    int n = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        n += RB_MAX(in->topics[i].partitions_n, 0);
    rb_pwalk_init(&dc->w, req, n);
    /* One pop per known partition; unknown ones get their error now. */
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_delete_records_req_topic *rt = &in->topics[i];
        const char *tname;
        const struct rb_topic_meta *t = rb_pwalk_named(&dc->w, rt->name, &tname);
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_delete_records_req_partition *rp = &rt->partitions[j];
            int16_t err = rb_topic_name_internal(rt->name.ptr, (size_t)RB_MAX(rt->name.len, 0))
                              ? RB_KERR_INVALID_TOPIC_EXCEPTION /* as Kafka */
                              : RB_KERR_NONE;
            struct rb_pop *op =
                rb_pwalk_add(&dc->w, k, RB_POP_DELETE_RECORDS, t, tname, rp->partition_index, err);
            if (op)
                op->u.dr.offset = rp->offset;
        }
    }
    rb_pops_start(req, dc->w.pops, dc->w.n, dc, finish, NULL, NULL);
}
