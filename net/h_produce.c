/*
 * net/h_produce.c - Produce (0), versions 3-8 (0-2 are answered with
 * UNSUPPORTED_VERSION).
 *
 * On the connection's shard: look up each partition in the snapshot, validate
 * every RecordBatch in place (length, magic 2, CRC-32C, counts, size against
 * max.message.bytes) and deeply (every inner record, decompressing compressed
 * batches under a cap: storage/compress.h) - spreading that work over the shards
 * that received the bytes - then send each owner shard its partitions in one
 * group (net/fanout.c). Owners append through part/ (part/append.c) and, for
 * acks=1/all, answer once the data is fdatasync'd (part/flush.c). acks=0 gets no
 * response at all, as in Kafka.
 *
 * Topic compression.type (else broker compression.type; "producer" keeps what
 * the producer sent): a batch of another codec is rebuilt by the owner shard just
 * before its append (part/append.c: decompress, deep-validate, recompress,
 * new CRC), in that shard's codec scratch. Errors: malformed inner records
 * INVALID_RECORD (87), records that do not decompress CORRUPT_MESSAGE (2; Kafka
 * answers UNKNOWN_SERVER_ERROR there), decompressed size over rb_decomp_cap or a
 * rebuilt batch over max.message.bytes MESSAGE_TOO_LARGE (10), more than one batch
 * in a partition that needs a rebuild INVALID_RECORD (Kafka refuses that always),
 * zstd before Produce v7 UNSUPPORTED_COMPRESSION_TYPE (76). CreateTime topics also
 * get Kafka's timestamp rule (struct rb_part_ts_rule): INVALID_TIMESTAMP (32).
 * An internal topic (__consumer_offsets) gets INVALID_TOPIC_EXCEPTION (17), as in
 * Kafka: only the broker writes it (the group coordinator appends through part/).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/pwalk.h"

#include <stdlib.h>
#include <string.h>

struct produce_ctx {
    struct rb_produce_req *in;
    struct rb_pwalk w;
};

static int32_t max_message_bytes(struct rb_net *n, const struct rb_topic_meta *t)
{
    const char *v = rb_topic_config(t, "max.message.bytes");
    int64_t x;
    if (v && rb_parse_i64(v, 0, INT32_MAX, &x) == 0)
        return (int32_t)x;
    return rb_config_broker(rb_net_config(n))->message_max_bytes;
}

/* A topic key's integer value, else its broker key's, else dflt. */
static int64_t topic_i64(struct rb_net *n, const struct rb_topic_meta *t, const char *key,
                         const char *broker_key, int64_t dflt)
{
    const char *v = rb_topic_config(t, key);
    int64_t x;
    if (!v)
        v = rb_config_get(rb_net_config(n), broker_key);
    return v && rb_parse_i64(v, 0, INT64_MAX, &x) == 0 ? x : dflt;
}

static void ts_rule(struct rb_net *n, const struct rb_topic_meta *t, struct rb_part_ts_rule *r)
{
    const char *v = rb_topic_config(t, "message.timestamp.type");
    r->check = v ? strcmp(v, "CreateTime") == 0
                 : !rb_config_broker(rb_net_config(n))->log_message_timestamp_log_append;
    r->before_ms = topic_i64(n, t, "message.timestamp.before.max.ms",
                             "log.message.timestamp.before.max.ms", INT64_MAX);
    r->after_ms = topic_i64(n, t, "message.timestamp.after.max.ms",
                            "log.message.timestamp.after.max.ms", 3600000);
}

/* The topic's compression.type (else the broker's) as a codec, -1 = "producer". */
static int target_codec(struct rb_net *n, const struct rb_topic_meta *t)
{
    const char *v = rb_topic_config(t, "compression.type");
    if (!v)
        v = rb_config_get(rb_net_config(n), "compression.type"); /* dynamic too */
    return rb_part_codec_from_config(v);
}

static void respond(struct rb_request *req, struct produce_ctx *pc)
{
    struct rb_produce_req *in = pc->in;
    struct rb_produce_resp resp;
    rb_produce_resp_init(&resp);
    resp.responses =
        rb_pwalk_array(&pc->w, in->topic_data_n, sizeof(*resp.responses), &resp.responses_n);
    int k = 0;
    for (int32_t i = 0; i < resp.responses_n; i++) {
        struct rb_produce_req_topic *rt = &in->topic_data[i];
        struct rb_produce_resp_topic *ot = &resp.responses[i];
        rb_produce_resp_topic_init(ot);
        ot->name = rt->name;
        ot->partition_responses =
            rb_pwalk_array(&pc->w, rt->partition_data_n, sizeof(*ot->partition_responses),
                           &ot->partition_responses_n);
        for (int32_t j = 0; j < ot->partition_responses_n; j++, k++) {
            struct rb_produce_resp_partition *op = &ot->partition_responses[j];
            rb_produce_resp_partition_init(op);
            op->index = rt->partition_data[j].index;
            op->base_offset = -1;
            struct rb_pop *pop = rb_pwalk_result(&pc->w, k, &op->error_code);
            if (pop && !op->error_code) {
                op->base_offset = pop->u.produce.base_offset;
                op->log_append_time_ms = pop->u.produce.log_append_time;
                op->log_start_offset = pop->u.produce.log_start_offset;
            }
        }
    }
    rb_resp_begin(req);
    rb_produce_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void finish(struct rb_request *req, struct rb_fan *f)
{
    struct produce_ctx *pc = f->ctx;
    if (pc->in->acks != 0 && rb_fan_answerable(req))
        respond(req, pc);
}

/* The request-wide error, if any (every partition gets it). */
static int16_t request_error(const struct rb_request *req, const struct rb_produce_req *in)
{
    if (req->hdr.api_version < 3)
        return RB_KERR_UNSUPPORTED_VERSION;
    if (in->acks != 0 && in->acks != 1 && in->acks != -1)
        return RB_KERR_INVALID_REQUIRED_ACKS;
    if (in->transactional_id.len >= 0)
        return RB_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return RB_KERR_NONE;
}

void rb_handle_produce(struct rb_request *req, void *msg)
{
    struct rb_produce_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    struct rb_part_shard *ps = rb_part_of(rb_req_shard(req));
    struct produce_ctx *pc = rb_req_alloc(req, 1, sizeof(*pc));
    pc->in = in;
    req->ctx = pc;
    int np = 0;
    for (int32_t i = 0; i < in->topic_data_n; i++)
        np += RB_MAX(in->topic_data[i].partition_data_n, 0);
    rb_pwalk_init(&pc->w, req, np);
    int16_t all_err = request_error(req, in);
    int k = 0;
    for (int32_t i = 0; i < in->topic_data_n; i++) {
        struct rb_produce_req_topic *rt = &in->topic_data[i];
        const char *tname;
        const struct rb_topic_meta *t = rb_pwalk_named(&pc->w, rt->name, &tname);
        int32_t max_bytes = t ? max_message_bytes(n, t) : 0;
        int target = t ? target_codec(n, t) : -1;
        struct rb_part_ts_rule tsr = {0};
        if (t)
            ts_rule(n, t, &tsr);
        for (int32_t j = 0; j < rt->partition_data_n; j++, k++) {
            struct rb_produce_req_partition *rp = &rt->partition_data[j];
            int16_t err = all_err;
            bool recompress = false;
            if (!err && rb_topic_name_internal(rt->name.ptr, (size_t)RB_MAX(rt->name.len, 0)))
                err = RB_KERR_INVALID_TOPIC_EXCEPTION; /* Kafka: only the broker appends */
            if (!err && t && rp->index >= 0 && rp->index < t->n_partitions)
                err = rb_part_validate(ps, rp->records.ptr, rp->records.len, max_bytes, target,
                                       &tsr, req->hdr.api_version >= 7, &recompress);
            struct rb_pop *op = rb_pwalk_add(&pc->w, k, RB_POP_PRODUCE, t, tname, rp->index, err);
            if (!op)
                continue;
            op->u.produce.records = rp->records.ptr;
            op->u.produce.len = (uint32_t)rp->records.len;
            op->u.produce.acks = in->acks;
            op->u.produce.timeout_ms = in->timeout_ms;
            op->u.produce.recompress = recompress;
            op->u.produce.codec = (uint8_t)RB_MAX(target, 0);
            op->u.produce.max_bytes = max_bytes;
            op->u.produce.ts = tsr;
        }
    }
    rb_request_hold(req); /* acks=0: the request is done before the owners answer */
    rb_pops_start(req, pc->w.pops, pc->w.n, pc, finish, NULL, NULL);
    if (in->acks == 0)
        rb_request_done_silent(req);
    rb_request_release(req);
}
