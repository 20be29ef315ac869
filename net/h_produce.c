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
 * new CRC), in that shard's codec scratch, or on the validator thread when it
 * decompresses to more than 1 MiB (net/fanout.c waits for it). Errors: malformed inner records
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

/* What validation found for one partition, with the topic settings it used. */
struct pval {
    int16_t err;
    bool recompress;
    int target;
    int32_t max_bytes;
    struct rb_part_ts_rule tsr;
};

struct produce_ctx {
    struct rb_produce_req *in;
    struct rb_pwalk w;
    struct pval *pv; /* [k] */
    int16_t all_err;
    /* validation cursor: topic i, its partition j, flat index k, progress in it */
    int32_t i, j;
    int k;
    struct rb_part_vstate vs;
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

/* Topic i's settings into pv (topic unknown: max_bytes 0). */
static const struct rb_topic_meta *
topic_settings(struct rb_request *req, const struct rb_produce_req_topic *rt, struct pval *pv)
{
    struct rb_net *n = rb_req_net(req);
    const struct rb_topic_meta *t =
        rt->name.len > 0 ? rb_metadata_topic(n->md, rt->name.ptr, (size_t)rt->name.len) : NULL;
    pv->target = -1;
    if (t) {
        pv->max_bytes = max_message_bytes(n, t);
        pv->target = target_codec(n, t);
        ts_rule(n, t, &pv->tsr);
    }
    return t;
}

/* Validate from the cursor while the budget lasts: true when every partition is
 * done. A partition's settings are taken when its validation starts and kept. */
static bool validate_more(struct rb_request *req, struct produce_ctx *pc, int64_t budget)
{
    struct rb_produce_req *in = pc->in;
    struct rb_part_shard *ps = rb_part_of(rb_req_shard(req));
    bool stepped = false; /* every call makes progress, whatever the budget */
    for (; pc->i < in->topic_data_n; pc->i++, pc->j = 0) {
        struct rb_produce_req_topic *rt = &in->topic_data[pc->i];
        for (; pc->j < rt->partition_data_n; pc->j++, pc->k++) {
            struct rb_produce_req_partition *rp = &rt->partition_data[pc->j];
            struct pval *pv = &pc->pv[pc->k];
            if (pc->vs.off == 0 && pc->vs.job.state == RB_VJOB_IDLE) { /* starting it */
                const struct rb_topic_meta *t = topic_settings(req, rt, pv);
                pv->err = pc->all_err;
                if (!pv->err &&
                    rb_topic_name_internal(rt->name.ptr, (size_t)RB_MAX(rt->name.len, 0)))
                    pv->err = RB_KERR_INVALID_TOPIC_EXCEPTION; /* Kafka: only the broker appends */
                if (pv->err || !t || rp->index < 0 || rp->index >= t->n_partitions)
                    continue; /* answered without validation */
            } else if (pv->err) {
                continue;
            }
            if (stepped && budget <= 0)
                return false;
            stepped = true;
            int16_t err = rb_part_validate_step(ps, rp->records.ptr, rp->records.len, pv->max_bytes,
                                                pv->target, &pv->tsr, req->hdr.api_version >= 7,
                                                &pc->vs, &budget);
            if (!err && pc->vs.off < (uint32_t)rp->records.len)
                return false; /* more of this partition next turn */
            pv->err = err;
            pv->recompress = pc->vs.recompress;
            pc->vs = (struct rb_part_vstate){0};
        }
    }
    return true;
}

/* Validation done: hand each partition to its owner (or answer it here). */
static void launch(struct rb_request *req, struct produce_ctx *pc)
{
    struct rb_produce_req *in = pc->in;
    int k = 0;
    for (int32_t i = 0; i < in->topic_data_n; i++) {
        struct rb_produce_req_topic *rt = &in->topic_data[i];
        const char *tname;
        const struct rb_topic_meta *t = rb_pwalk_named(&pc->w, rt->name, &tname);
        for (int32_t j = 0; j < rt->partition_data_n; j++, k++) {
            struct rb_produce_req_partition *rp = &rt->partition_data[j];
            struct pval *pv = &pc->pv[k];
            struct rb_pop *op =
                rb_pwalk_add(&pc->w, k, RB_POP_PRODUCE, t, tname, rp->index, pv->err);
            if (!op)
                continue;
            op->u.produce.records = rp->records.ptr;
            op->u.produce.len = (uint32_t)rp->records.len;
            op->u.produce.acks = in->acks;
            op->u.produce.timeout_ms = in->timeout_ms;
            op->u.produce.recompress = pv->recompress;
            op->u.produce.codec = (uint8_t)RB_MAX(pv->target, 0);
            op->u.produce.max_bytes = pv->max_bytes;
            op->u.produce.ts = pv->tsr;
        }
    }
    rb_request_hold(req); /* acks=0: the request is done before the owners answer */
    rb_pops_start(req, pc->w.pops, pc->w.n, pc, finish, NULL, NULL);
    if (in->acks == 0)
        rb_request_done_silent(req);
    rb_request_release(req);
}

static void launch_stepped(struct rb_request *req)
{
    launch(req, req->ctx);
}

static void resume(struct rb_shard *s, void *arg);

static void job_done(struct rb_part_vjob *j)
{
    struct rb_request *req = j->arg;
    resume(rb_self(), req); /* req->conn may be gone: not rb_req_shard */
}

/* Validation goes on later: when the batch handed to the validator thread is
 * back, else next turn (also when the thread's queue is full: this producer
 * waits, the shard does not). */
static void wait_more(struct rb_request *req, struct produce_ctx *pc)
{
    struct rb_shard *s = rb_req_shard(req);
    if (pc->vs.job.state == RB_VJOB_WANTED) {
        pc->vs.job.done = job_done;
        pc->vs.job.arg = req;
        if (rb_part_vjob_submit(rb_part_of(s), &pc->vs.job) == 0)
            return;
    }
    rb_post(s, s->id, resume, req);
}

/* A later loop turn or a batch back from the validator thread: validate some
 * more (the connection dispatches nothing after this request meanwhile); a
 * closed connection drops the request. */
static void resume(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    struct produce_ctx *pc = req->ctx;
    if (req->conn && (pc->vs.job.state == RB_VJOB_WANTED ||
                      !validate_more(req, pc, rb_part_validate_turn_bytes))) {
        wait_more(req, pc);
        return;
    }
    rb_request_step_end(req, launch_stepped); /* before the connection's later requests */
    rb_request_release(req);                  /* the steps' hold */
}

void rb_handle_produce(struct rb_request *req, void *msg)
{
    struct rb_produce_req *in = msg;
    struct produce_ctx *pc = rb_req_alloc(req, 1, sizeof(*pc));
    pc->in = in;
    req->ctx = pc;
    int np = 0;
    for (int32_t i = 0; i < in->topic_data_n; i++)
        np += RB_MAX(in->topic_data[i].partition_data_n, 0);
    rb_pwalk_init(&pc->w, req, np);
    pc->pv = rb_req_alloc(req, (size_t)RB_MAX(np, 1), sizeof(*pc->pv));
    pc->all_err = request_error(req, in);
    if (validate_more(req, pc, rb_part_validate_first_bytes)) {
        launch(req, pc);
        return;
    }
    /* Big or many compressed batches: the rest on later turns or, for a batch
     * that decompresses to more than rb_part_validate_inline_bytes, on the
     * validator thread (part/vthread.c), so the shard's other connections are
     * served in between (issue 13 row 7). */
    rb_request_hold(req);
    rb_request_step_begin(req);
    wait_more(req, pc);
}
