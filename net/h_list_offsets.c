/*
 * net/h_list_offsets.c - ListOffsets (2), versions 1-8: latest (-1) is the high
 * watermark, earliest (-2) the log start offset, max timestamp (-3, v7+) the
 * first record carrying the largest timestamp (storage/log_maxts.c; -1/-1 for an
 * empty log), earliest-local (-4, v8+) the log start offset (no tiered storage),
 * any other timestamp >= 0 the first offset whose batch max timestamp is at or
 * after it (time index). A special timestamp the request version does not know
 * (or any other negative one) gets UNSUPPORTED_VERSION for that partition, as
 * Kafka answers. A partition listed more than once gets INVALID_REQUEST at every
 * occurrence and is not looked up, as in Kafka (net/fetch_dedup.c). Owners answer
 * at once; one group per owner shard.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/pwalk.h"

struct lo_ctx {
    struct rb_list_offsets_req *in;
    struct rb_pwalk w;
};

static void respond(struct rb_request *req, struct lo_ctx *lc)
{
    struct rb_list_offsets_req *in = lc->in;
    struct rb_list_offsets_resp resp;
    rb_list_offsets_resp_init(&resp);
    resp.topics = rb_pwalk_array(&lc->w, in->topics_n, sizeof(*resp.topics), &resp.topics_n);
    int k = 0;
    for (int32_t i = 0; i < resp.topics_n; i++) {
        struct rb_list_offsets_req_topic *rt = &in->topics[i];
        struct rb_list_offsets_resp_topic *ot = &resp.topics[i];
        rb_list_offsets_resp_topic_init(ot);
        ot->name = rt->name;
        ot->partitions =
            rb_pwalk_array(&lc->w, rt->partitions_n, sizeof(*ot->partitions), &ot->partitions_n);
        for (int32_t j = 0; j < ot->partitions_n; j++, k++) {
            struct rb_list_offsets_resp_partition *op = &ot->partitions[j];
            rb_list_offsets_resp_partition_init(op);
            op->partition_index = rt->partitions[j].partition_index;
            struct rb_pop *pop = rb_pwalk_result(&lc->w, k, &op->error_code);
            pop = op->error_code ? NULL : pop;
            op->offset = pop ? pop->u.lo.offset : -1;
            op->timestamp = pop ? pop->u.lo.found_timestamp : -1;
            op->leader_epoch = pop && op->offset >= 0 ? pop->u.lo.found_epoch : -1;
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
    struct lo_ctx *lc = rb_req_alloc(req, 1, sizeof(*lc));
    lc->in = in;
    req->ctx = lc;
    int n = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        n += RB_MAX(in->topics[i].partitions_n, 0);
    rb_pwalk_init(&lc->w, req, n);
    struct rb_str *names = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(*names));
    int32_t *parts = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(*parts));
    bool *dup = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(*dup));
    int k = 0;
    for (int32_t i = 0; i < in->topics_n; i++)
        for (int32_t j = 0; j < in->topics[i].partitions_n; j++, k++) {
            names[k] = in->topics[i].name;
            parts[k] = in->topics[i].partitions[j].partition_index;
        }
    rb_part_dups(req, n, names, parts, dup);
    k = 0;
    for (int32_t i = 0; i < in->topics_n; i++) {
        struct rb_list_offsets_req_topic *rt = &in->topics[i];
        const char *tname;
        const struct rb_topic_meta *t = rb_pwalk_named(&lc->w, rt->name, &tname);
        for (int32_t j = 0; j < rt->partitions_n; j++, k++) {
            struct rb_list_offsets_req_partition *rp = &rt->partitions[j];
            int16_t err = dup[k] ? RB_KERR_INVALID_REQUEST
                          : timestamp_supported(rp->timestamp, req->hdr.api_version)
                              ? RB_KERR_NONE
                              : RB_KERR_UNSUPPORTED_VERSION;
            struct rb_pop *op =
                rb_pwalk_add(&lc->w, k, RB_POP_LIST_OFFSETS, t, tname, rp->partition_index, err);
            if (!op)
                continue;
            op->u.lo.timestamp = rp->timestamp;
            op->u.lo.check_epoch = req->hdr.api_version >= 4; /* KIP-320 */
            op->u.lo.current_leader_epoch = rp->current_leader_epoch;
            op->u.lo.leader_only = in->replica_id != -2; /* Kafka's debugging replica */
        }
    }
    rb_pops_start(req, lc->w.pops, lc->w.n, lc, finish, NULL, NULL);
}
