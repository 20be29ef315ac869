/*
 * net/h_topics.c - CreateTopics (19) and DeleteTopics (20), through the
 * coordinator (coord/coord.h), which answers once every shard serves the change.
 * Replica assignments may only name this broker (standalone).
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"

#include <stdio.h>
#include <string.h>

struct create_ctx {
    struct rb_create_topics_req *in;
    struct rb_topic_spec *specs; /* one per request topic (pick.all) */
    struct rb_pick pick;         /* the ones that passed local checks, for the coord */
};

/* v5+: every topic config Kafka knows with its value, as DescribeConfigs reports
 * them: TOPIC_CONFIG (1) when the request set it, else the source of the broker
 * key its default comes from (rb_kafka_config_source). */
static void create_resp_configs(struct rb_request *req, const struct rb_topic_spec *sp,
                                struct rb_create_topics_resp_topic *ot)
{
    const char *const *keys = rb_topic_config_keys();
    int nk = 0;
    while (keys[nk])
        nk++;
    ot->configs = rb_req_alloc(req, (size_t)nk, sizeof(*ot->configs));
    ot->configs_n = nk;
    for (int i = 0; i < nk; i++) {
        struct rb_create_topics_resp_config *c = &ot->configs[i];
        c->name = rb_str_c(keys[i]);
        c->config_source = 5;
        for (int32_t k = 0; k < sp->n_configs; k++)
            if (strcmp(sp->config_keys[k], keys[i]) == 0) {
                c->value = rb_str_c(sp->config_values[k]);
                c->config_source = 1;
            }
        if (c->config_source == 5) {
            char buf[256];
            const struct rb_config *cfg = rb_net_config(rb_req_net(req));
            const char *v = rb_topic_config_default(cfg, keys[i], buf, sizeof(buf));
            c->value = v ? rb_str_c(rb_req_strdup(req, rb_str_c(v))) : RB_STR_NULL;
            c->config_source = rb_kafka_config_source(rb_topic_config_default_source(cfg, keys[i]));
        }
    }
}

static void create_respond(struct rb_request *req, struct create_ctx *cc)
{
    struct rb_create_topics_req *in = cc->in;
    struct rb_create_topics_resp resp;
    rb_create_topics_resp_init(&resp);
    resp.topics = rb_req_array(req, in->topics_n, sizeof(*resp.topics), &resp.topics_n);
    for (int32_t i = 0; i < resp.topics_n; i++) {
        struct rb_topic_spec *sp = &cc->specs[i];
        struct rb_create_topics_resp_topic *ot = &resp.topics[i];
        rb_create_topics_resp_topic_init(ot);
        ot->name = in->topics[i].name;
        ot->error_code = sp->error;
        if (sp->error && sp->error_message[0]) {
            ot->error_message = rb_str_c(rb_req_strdup(req, rb_str_c(sp->error_message)));
        }
        if (!sp->error) {
            memcpy(ot->topic_id.b, sp->topic_id, 16);
            ot->num_partitions = sp->n_partitions_out;
            ot->replication_factor = sp->replication_factor_out;
            if (req->hdr.api_version >= 5)
                create_resp_configs(req, sp, ot);
        }
    }
    rb_resp_begin(req);
    rb_create_topics_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void create_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    struct create_ctx *cc = req->ctx;
    rb_pick_put_back(&cc->pick);
    if (req->conn)
        create_respond(req, cc);
    rb_request_release(req);
}

/* Explicit assignments: every replica list must be exactly this broker. */
static int16_t check_assignments(struct rb_request *req, struct rb_create_topics_req_topic *t,
                                 struct rb_topic_spec *sp)
{
    int32_t self = rb_req_net(req)->b->bc->broker_id;
    if (t->num_partitions != -1 || t->replication_factor != -1) {
        snprintf(sp->error_message, sizeof(sp->error_message),
                 "Both numPartitions or replicationFactor and replicasAssignments were set. "
                 "Both cannot be used at the same time.");
        return RB_KERR_INVALID_REQUEST;
    }
    for (int32_t a = 0; a < t->assignments_n; a++) {
        struct rb_create_topics_req_assignment *as = &t->assignments[a];
        if (as->partition_index != a || as->broker_ids_n != 1 || as->broker_ids[0] != self) {
            snprintf(sp->error_message, sizeof(sp->error_message),
                     "Replica assignment for partition %d must be exactly [%d] on this "
                     "standalone broker",
                     as->partition_index, self);
            return RB_KERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    sp->n_partitions = t->assignments_n;
    sp->replication_factor = 1;
    return RB_KERR_NONE;
}

void rb_handle_create_topics(struct rb_request *req, void *msg)
{
    struct rb_create_topics_req *in = msg;
    struct create_ctx *cc = rb_req_alloc(req, 1, sizeof(*cc));
    cc->in = in;
    req->ctx = cc;
    int32_t nt = RB_MAX(in->topics_n, 0);
    cc->specs = rb_pick_init(&cc->pick, req, nt, sizeof(*cc->specs));
    for (int32_t i = 0; i < nt; i++) {
        struct rb_create_topics_req_topic *t = &in->topics[i];
        struct rb_topic_spec *sp = &cc->specs[i];
        sp->name = rb_req_strdup(req, t->name);
        sp->n_partitions = t->num_partitions;
        sp->replication_factor = t->replication_factor;
        if (t->assignments_n > 0)
            sp->error = check_assignments(req, t, sp);
        int32_t nc = RB_MAX(t->configs_n, 0);
        sp->config_keys = rb_req_alloc(req, (size_t)nc, sizeof(char *));
        sp->config_values = rb_req_alloc(req, (size_t)nc, sizeof(char *));
        sp->n_configs = nc;
        for (int32_t c = 0; c < nc; c++) {
            sp->config_keys[c] = rb_req_strdup(req, t->configs[c].name);
            sp->config_values[c] =
                t->configs[c].value.len >= 0 ? rb_req_strdup(req, t->configs[c].value) : NULL;
        }
        if (!sp->error) {
            rb_pick_add(&cc->pick, i);
        }
    }
    if (cc->pick.n_ok == 0) {
        create_respond(req, cc);
        return;
    }
    rb_request_hold(req);
    rb_coord_create_topics(rb_req_shard(req), cc->pick.ok, cc->pick.n_ok, in->validate_only,
                           create_done, req);
}

struct delete_ctx {
    struct rb_delete_topics_req *in;
    struct rb_topic_delete *dels;
    int n;
};

static void delete_respond(struct rb_request *req, struct delete_ctx *dc)
{
    struct rb_delete_topics_resp resp;
    rb_delete_topics_resp_init(&resp);
    resp.responses = rb_req_alloc(req, (size_t)dc->n, sizeof(*resp.responses));
    resp.responses_n = dc->n;
    for (int i = 0; i < dc->n; i++) {
        struct rb_topic_delete *d = &dc->dels[i];
        struct rb_delete_topics_resp_topic *ot = &resp.responses[i];
        rb_delete_topics_resp_topic_init(ot);
        if (d->name_out)
            ot->name = rb_str_c(rb_req_strdup(req, rb_str_c(d->name_out)));
        else
            ot->name = d->name ? rb_str_c(d->name) : RB_STR_NULL;
        memcpy(ot->topic_id.b, d->topic_id, 16);
        ot->error_code = d->error;
    }
    rb_resp_begin(req);
    rb_delete_topics_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void delete_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    if (req->conn)
        delete_respond(req, req->ctx);
    rb_request_release(req);
}

void rb_handle_delete_topics(struct rb_request *req, void *msg)
{
    struct rb_delete_topics_req *in = msg;
    struct delete_ctx *dc = rb_req_alloc(req, 1, sizeof(*dc));
    dc->in = in;
    req->ctx = dc;
    if (req->hdr.api_version >= 6) {
        dc->n = RB_MAX(in->topics_n, 0);
        dc->dels = rb_req_alloc(req, (size_t)dc->n, sizeof(*dc->dels));
        for (int i = 0; i < dc->n; i++) {
            struct rb_delete_topics_req_topic *t = &in->topics[i];
            if (t->name.len >= 0)
                dc->dels[i].name = rb_req_strdup(req, t->name);
            memcpy(dc->dels[i].topic_id, t->topic_id.b, 16);
        }
    } else {
        dc->n = RB_MAX(in->topic_names_n, 0);
        dc->dels = rb_req_alloc(req, (size_t)dc->n, sizeof(*dc->dels));
        for (int i = 0; i < dc->n; i++)
            dc->dels[i].name = rb_req_strdup(req, in->topic_names[i]);
    }
    if (dc->n == 0) {
        delete_respond(req, dc);
        return;
    }
    rb_request_hold(req);
    rb_coord_delete_topics(rb_req_shard(req), dc->dels, dc->n, delete_done, req);
}
