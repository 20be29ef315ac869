/*
 * net/h_delete_records.c - DeleteRecords (21), versions 0-2: moves each named
 * partition's log start offset (offset -1 means the high watermark) and lets go of
 * the segments wholly below it; the files are unlinked by the coordination thread.
 * Routed like ListOffsets: one group per owner shard, answered at once.
 * Errors: OFFSET_OUT_OF_RANGE beyond the high watermark (or below -1),
 * KAFKA_STORAGE_ERROR when the log is offline, NOT_LEADER_OR_FOLLOWER when the
 * partition is not on its shard (being created or deleted).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "core/timer.h"
#include "net/handlers.h"
#include "net/fanout.h"

#include <errno.h>
#include <string.h>

struct dr_ctx {
    struct rb_delete_records_req *in;
    struct rb_pop **pops;
    int16_t *errors;
    int n;
};

static void respond(struct rb_request *req, struct dr_ctx *dc)
{
    struct rb_delete_records_req *in = dc->in;
    struct rb_delete_records_resp resp;
    rb_delete_records_resp_init(&resp);
    int32_t nt = RB_MAX(in->topics_n, 0);
    resp.topics = rb_req_alloc(req, (size_t)nt, sizeof(*resp.topics));
    resp.topics_n = nt;
    int k = 0;
    for (int32_t i = 0; i < nt; i++) {
        struct rb_delete_records_req_topic *rt = &in->topics[i];
        struct rb_delete_records_resp_topic *ot = &resp.topics[i];
        rb_delete_records_resp_topic_init(ot);
        ot->name = rt->name;
        int32_t np = RB_MAX(rt->partitions_n, 0);
        ot->partitions = rb_req_alloc(req, (size_t)np, sizeof(*ot->partitions));
        ot->partitions_n = np;
        for (int32_t j = 0; j < np; j++, k++) {
            struct rb_delete_records_resp_partition *op = &ot->partitions[j];
            rb_delete_records_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition_index;
            op->error_code = dc->errors[k];
            op->low_watermark = -1;
            struct rb_pop *pop = dc->pops[k];
            if (!pop || op->error_code)
                continue;
            op->error_code = pop->u.it.error;
            op->low_watermark = pop->u.dr.low_watermark;
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

/* One pop per known partition; unknown ones get their error now. */
static void make_pops(struct rb_request *req, struct dr_ctx *dc)
{
    struct rb_net *n = rb_req_net(req);
    int k = 0;
    for (int32_t i = 0; i < dc->in->topics_n; i++) {
        struct rb_delete_records_req_topic *rt = &dc->in->topics[i];
        const struct rb_topic_meta *t =
            rt->name.len > 0 ? rb_metadata_topic(n->md, rt->name.ptr, (size_t)rt->name.len) : NULL;
        char *tname = NULL;
        if (t) {
            tname = rb_req_alloc(req, t->name_len + 1, 1);
            memcpy(tname, t->name, t->name_len);
        }
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_delete_records_req_partition *rp = &rt->partitions[j];
            if (!t || rp->partition_index < 0 || rp->partition_index >= t->n_partitions) {
                dc->errors[k] = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            struct rb_pop *op =
                rb_pop_new(req, RB_POP_DELETE_RECORDS, tname, t->name_len, rp->partition_index,
                           t->partitions[rp->partition_index].shard);
            op->u.dr.offset = rp->offset;
            dc->pops[k] = op;
        }
    }
}

void rb_handle_delete_records(struct rb_request *req, void *msg)
{
    struct rb_delete_records_req *in = msg;
    struct dr_ctx *dc = rb_req_alloc(req, 1, sizeof(*dc));
    dc->in = in;
    req->ctx = dc;
    for (int32_t i = 0; i < in->topics_n; i++)
        dc->n += RB_MAX(in->topics[i].partitions_n, 0);
    dc->pops = rb_req_alloc(req, (size_t)dc->n, sizeof(*dc->pops));
    dc->errors = rb_req_alloc(req, (size_t)dc->n, sizeof(*dc->errors));
    make_pops(req, dc);
    rb_pops_start(req, dc->pops, dc->n, dc, finish, NULL, NULL);
}
