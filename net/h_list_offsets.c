/*
 * net/h_list_offsets.c - ListOffsets (2), versions 1-8: latest (-1) is the high
 * watermark, earliest (-2) the log start offset, max timestamp (-3, v7+) the
 * first record carrying the largest timestamp (storage/log_maxts.c; -1/-1 for an
 * empty log), earliest-local (-4, v8+) the log start offset (no tiered storage),
 * any other timestamp >= 0 the first offset whose batch max timestamp is at or
 * after it (time index). A special timestamp the request version does not know
 * (or any other negative one) gets UNSUPPORTED_VERSION for that partition, as
 * Kafka answers. Owners answer at once; one group per owner shard.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"
#include "net/fanout.h"

#include <string.h>

struct lo_ctx {
    struct rb_list_offsets_req *in;
    struct rb_pop **pops;
    int16_t *errors;
    int n;
};

static void respond(struct rb_request *req, struct lo_ctx *lc)
{
    struct rb_list_offsets_req *in = lc->in;
    struct rb_list_offsets_resp resp;
    rb_list_offsets_resp_init(&resp);
    int32_t nt = RB_MAX(in->topics_n, 0);
    resp.topics = rb_req_alloc(req, (size_t)nt, sizeof(*resp.topics));
    resp.topics_n = nt;
    int k = 0;
    for (int32_t i = 0; i < nt; i++) {
        struct rb_list_offsets_req_topic *rt = &in->topics[i];
        struct rb_list_offsets_resp_topic *ot = &resp.topics[i];
        rb_list_offsets_resp_topic_init(ot);
        ot->name = rt->name;
        int32_t np = RB_MAX(rt->partitions_n, 0);
        ot->partitions = rb_req_alloc(req, (size_t)np, sizeof(*ot->partitions));
        ot->partitions_n = np;
        for (int32_t j = 0; j < np; j++, k++) {
            struct rb_list_offsets_resp_partition *op = &ot->partitions[j];
            rb_list_offsets_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition_index;
            op->error_code = lc->errors[k];
            op->timestamp = -1;
            op->offset = -1;
            op->leader_epoch = -1;
            struct rb_pop *pop = lc->pops[k];
            if (!pop || op->error_code)
                continue;
            op->error_code = pop->u.it.error;
            if (!pop->u.it.error) {
                op->offset = pop->u.lo.offset;
                op->timestamp = pop->u.lo.found_timestamp;
                op->leader_epoch = op->offset >= 0 ? 0 : -1;
            }
        }
    }
    rb_resp_begin(req);
    rb_list_offsets_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

/* Kafka's minimum version for each special timestamp (-1 latest, -2 earliest,
 * -3 max timestamp, -4 earliest local); others (-5 latest tiered is v9+) are
 * unsupported here. */
static bool timestamp_supported(int64_t ts, int16_t version)
{
    static const int16_t min_version[] = {1, 1, 7, 8};
    if (ts >= 0)
        return true;
    if (ts < -4)
        return false;
    return version >= min_version[-ts - 1];
}

static void finish(struct rb_request *req, struct rb_fan *f)
{
    if (rb_fan_answerable(req))
        respond(req, f->ctx);
}

void rb_handle_list_offsets(struct rb_request *req, void *msg)
{
    struct rb_list_offsets_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    struct lo_ctx *lc = rb_req_alloc(req, 1, sizeof(*lc));
    lc->in = in;
    req->ctx = lc;
    for (int32_t i = 0; i < in->topics_n; i++)
        lc->n += RB_MAX(in->topics[i].partitions_n, 0);
    lc->pops = rb_req_alloc(req, (size_t)lc->n, sizeof(*lc->pops));
    lc->errors = rb_req_alloc(req, (size_t)lc->n, sizeof(*lc->errors));
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_list_offsets_req_topic *rt = &in->topics[i];
        const struct rb_topic_meta *t =
            rt->name.len > 0 ? rb_metadata_topic(n->md, rt->name.ptr, (size_t)rt->name.len) : NULL;
        char *tname = NULL;
        if (t) {
            tname = rb_req_alloc(req, t->name_len + 1, 1);
            memcpy(tname, t->name, t->name_len);
        }
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_list_offsets_req_partition *rp = &rt->partitions[j];
            if (!timestamp_supported(rp->timestamp, req->hdr.api_version)) {
                lc->errors[k] = RB_KERR_UNSUPPORTED_VERSION;
                continue;
            }
            if (!t || rp->partition_index < 0 || rp->partition_index >= t->n_partitions) {
                lc->errors[k] = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            struct rb_pop *op =
                rb_pop_new(req, RB_POP_LIST_OFFSETS, tname, t->name_len, rp->partition_index,
                           t->partitions[rp->partition_index].shard);
            op->u.lo.timestamp = rp->timestamp;
            lc->pops[k] = op;
        }
    }
    rb_pops_start(req, lc->pops, lc->n, lc, finish, NULL, NULL);
}
