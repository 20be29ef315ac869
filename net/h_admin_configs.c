/*
 * net/h_admin_configs.c - CreatePartitions (37) v0-3, AlterConfigs (33) v0-2 and
 * IncrementalAlterConfigs (44) v0-1, through the coordinator (coord/coord.h),
 * which validates against its current metadata, persists, and answers once every
 * shard serves the new snapshot.
 *
 * Standalone rules: replica assignments for new partitions may only name this
 * broker; configs are topic configs (resource type 2) or dynamic broker configs
 * (resource type 4, name "" for the cluster-wide default or this broker's id, as
 * Kafka: another id or a non-number is INVALID_REQUEST). Other resource types get
 * INVALID_REQUEST.
 * Fault model: everything here is input; bad input is a per-resource error code.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "net/handlers.h"

#include <stdio.h>
#include <string.h>

#define RES_TOPIC  2
#define RES_BROKER 4

/* ---- CreatePartitions ---- */

struct cp_ctx {
    struct rb_create_partitions_req *in;
    struct rb_partitions_spec *specs; /* one per request topic (pick.all) */
    struct rb_pick pick;              /* passed local checks: sent to the coord */
};

static void cp_respond(struct rb_request *req, struct cp_ctx *cc)
{
    struct rb_create_partitions_resp resp;
    rb_create_partitions_resp_init(&resp);
    resp.results = rb_req_array(req, cc->in->topics_n, sizeof(*resp.results), &resp.results_n);
    for (int32_t i = 0; i < resp.results_n; i++) {
        struct rb_create_partitions_resp_result *o = &resp.results[i];
        rb_create_partitions_resp_result_init(o);
        o->name = cc->in->topics[i].name;
        o->error_code = cc->specs[i].error;
        if (o->error_code && cc->specs[i].error_message[0])
            o->error_message = rb_str_c(rb_req_strdup(req, rb_str_c(cc->specs[i].error_message)));
    }
    rb_resp_begin(req);
    rb_create_partitions_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void cp_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    struct cp_ctx *cc = req->ctx;
    rb_pick_put_back(&cc->pick);
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        cp_respond(req, cc);
    rb_request_release(req);
}

/* Explicit assignments for the new partitions: each must be exactly [this broker]. */
static int16_t cp_check_assignments(struct rb_request *req,
                                    struct rb_create_partitions_req_topic *t,
                                    struct rb_partitions_spec *sp)
{
    int32_t self = rb_req_net(req)->b->bc->broker_id;
    for (int32_t a = 0; a < t->assignments_n; a++) {
        struct rb_create_partitions_req_assignment *as = &t->assignments[a];
        if (as->broker_ids_n != 1 || as->broker_ids[0] != self) {
            snprintf(sp->error_message, sizeof(sp->error_message),
                     "Replica assignment %d must be exactly [%d] on this standalone broker", a,
                     self);
            return RB_KERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    return RB_KERR_NONE;
}

void rb_handle_create_partitions(struct rb_request *req, void *msg)
{
    struct rb_create_partitions_req *in = msg;
    struct cp_ctx *cc = rb_req_alloc(req, 1, sizeof(*cc));
    cc->in = in;
    req->ctx = cc;
    int32_t nt = RB_MAX(in->topics_n, 0);
    cc->specs = rb_pick_init(&cc->pick, req, nt, sizeof(*cc->specs));
    for (int32_t i = 0; i < nt; i++) {
        struct rb_create_partitions_req_topic *t = &in->topics[i];
        struct rb_partitions_spec *sp = &cc->specs[i];
        sp->name = rb_req_strdup(req, t->name);
        sp->count = t->count;
        if (t->assignments_n > 0)
            sp->error = cp_check_assignments(req, t, sp);
        if (!sp->error) {
            rb_pick_add(&cc->pick, i);
        }
    }
    if (cc->pick.n_ok == 0) {
        cp_respond(req, cc);
        return;
    }
    rb_request_hold(req);
    rb_coord_create_partitions(rb_req_shard(req), cc->pick.ok, cc->pick.n_ok, in->validate_only,
                               cp_done, req);
}

/* ---- AlterConfigs and IncrementalAlterConfigs ---- */

/* One resource of either request, normalized. */
struct ac_res {
    int8_t type;
    struct rb_str name;
    int16_t error;
    const char *message;
    int32_t broker_id; /* a BROKER resource: -1 for the cluster default */
};

struct ac_ctx {
    bool incremental;
    struct ac_res *res;
    int n_res;
    struct rb_config_change *chs; /* the topic resources, for the coord */
    int *ch_idx;
    int n_chs;
};

static void ac_respond(struct rb_request *req, struct ac_ctx *ac)
{
    /* Both responses have the same shape; encode through the matching codec. */
    if (ac->incremental) {
        struct rb_incremental_alter_configs_resp resp;
        rb_incremental_alter_configs_resp_init(&resp);
        resp.responses = rb_req_alloc(req, (size_t)ac->n_res, sizeof(*resp.responses));
        resp.responses_n = ac->n_res;
        for (int i = 0; i < ac->n_res; i++) {
            struct rb_incremental_alter_configs_resp_response *o = &resp.responses[i];
            rb_incremental_alter_configs_resp_response_init(o);
            o->error_code = ac->res[i].error;
            o->error_message = ac->res[i].message ? rb_str_c(ac->res[i].message) : RB_STR_NULL;
            o->resource_type = ac->res[i].type;
            o->resource_name = ac->res[i].name;
        }
        rb_resp_begin(req);
        rb_incremental_alter_configs_resp_encode(&req->out, req->hdr.api_version, &resp);
    } else {
        struct rb_alter_configs_resp resp;
        rb_alter_configs_resp_init(&resp);
        resp.responses = rb_req_alloc(req, (size_t)ac->n_res, sizeof(*resp.responses));
        resp.responses_n = ac->n_res;
        for (int i = 0; i < ac->n_res; i++) {
            struct rb_alter_configs_resp_response *o = &resp.responses[i];
            rb_alter_configs_resp_response_init(o);
            o->error_code = ac->res[i].error;
            o->error_message = ac->res[i].message ? rb_str_c(ac->res[i].message) : RB_STR_NULL;
            o->resource_type = ac->res[i].type;
            o->resource_name = ac->res[i].name;
        }
        rb_resp_begin(req);
        rb_alter_configs_resp_encode(&req->out, req->hdr.api_version, &resp);
    }
    rb_request_done(req);
}

static void ac_collect(struct rb_request *req, struct ac_ctx *ac)
{
    for (int i = 0; i < ac->n_chs; i++) {
        struct rb_config_change *ch = &ac->chs[i];
        struct ac_res *r = &ac->res[ac->ch_idx[i]];
        r->error = ch->error;
        if (ch->error && ch->error_message[0])
            r->message = rb_req_strdup(req, rb_str_c(ch->error_message));
    }
}

static void ac_done(struct rb_shard *s, void *arg)
{
    (void)s;
    struct rb_request *req = arg;
    struct ac_ctx *ac = req->ctx;
    ac_collect(req, ac);
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        ac_respond(req, ac);
    rb_request_release(req);
}

/* A BROKER resource's name: "" (cluster default, -1) or this broker's id. */
static bool ac_broker_name(struct rb_request *req, struct ac_res *r)
{
    int32_t self = rb_req_net(req)->b->bc->broker_id;
    char name[64], msg[160];
    int64_t id;
    r->broker_id = -1;
    if (r->name.len <= 0)
        return true;
    snprintf(name, sizeof(name), "%.*s", (int)RB_MIN(r->name.len, 60), r->name.ptr);
    r->error = RB_KERR_INVALID_REQUEST;
    if (rb_parse_i64(name, INT32_MIN, INT32_MAX, &id)) {
        snprintf(msg, sizeof(msg), "Node id must be an integer, but it is: %s", name);
        r->message = rb_req_strdup(req, rb_str_c(msg));
        return false;
    }
    if (id != self) {
        snprintf(msg, sizeof(msg), "Unexpected broker id, expected %d, but received %s", self,
                 name);
        r->message = rb_req_strdup(req, rb_str_c(msg));
        return false;
    }
    r->error = RB_KERR_NONE;
    r->broker_id = self;
    return true;
}

/* Checks that do not need the coord; true when r goes on to it as a change. */
static bool ac_check_resource(struct rb_request *req, struct ac_res *r)
{
    if (r->type == RES_TOPIC && r->name.len > 0)
        return true;
    if (r->type == RES_BROKER)
        return ac_broker_name(req, r);
    r->error = RB_KERR_INVALID_REQUEST;
    r->message = r->type == RES_TOPIC ? "Empty topic name" : "Unsupported resource type";
    return false;
}

static struct rb_config_change *ac_add_change(struct rb_request *req, struct ac_ctx *ac, int i,
                                              int32_t n_cfg)
{
    struct rb_config_change *ch = &ac->chs[ac->n_chs];
    ac->ch_idx[ac->n_chs++] = i;
    ch->topic = rb_req_strdup(req, ac->res[i].name);
    ch->broker = ac->res[i].type == RES_BROKER;
    ch->broker_id = ac->res[i].broker_id;
    ch->n = RB_MAX(n_cfg, 0);
    ch->keys = rb_req_alloc(req, (size_t)ch->n, sizeof(char *));
    ch->values = rb_req_alloc(req, (size_t)ch->n, sizeof(char *));
    ch->ops = rb_req_alloc(req, (size_t)ch->n, sizeof(int8_t));
    return ch;
}

static void ac_start(struct rb_request *req, struct ac_ctx *ac, bool validate_only)
{
    if (ac->n_chs == 0) {
        ac_respond(req, ac);
        return;
    }
    rb_request_hold(req);
    rb_coord_alter_configs(rb_req_shard(req), ac->chs, ac->n_chs, validate_only, ac_done, req);
}

static struct ac_ctx *ac_new(struct rb_request *req, int32_t n, bool incremental)
{
    struct ac_ctx *ac = rb_req_alloc(req, 1, sizeof(*ac));
    ac->incremental = incremental;
    ac->n_res = RB_MAX(n, 0);
    ac->res = rb_req_alloc(req, (size_t)ac->n_res, sizeof(*ac->res));
    ac->chs = rb_req_alloc(req, (size_t)ac->n_res, sizeof(*ac->chs));
    ac->ch_idx = rb_req_alloc(req, (size_t)ac->n_res, sizeof(int));
    req->ctx = ac;
    return ac;
}

static const char *opt_strdup(struct rb_request *req, struct rb_str s)
{
    return s.len >= 0 ? rb_req_strdup(req, s) : NULL;
}

void rb_handle_alter_configs(struct rb_request *req, void *msg)
{
    struct rb_alter_configs_req *in = msg;
    struct ac_ctx *ac = ac_new(req, in->resources_n, false);
    for (int i = 0; i < ac->n_res; i++) {
        struct rb_alter_configs_req_resource *r = &in->resources[i];
        ac->res[i].type = r->resource_type;
        ac->res[i].name = r->resource_name;
        if (!ac_check_resource(req, &ac->res[i]))
            continue;
        struct rb_config_change *ch = ac_add_change(req, ac, i, r->configs_n);
        ch->replace = true;
        for (int32_t k = 0; k < ch->n; k++) {
            ch->keys[k] = rb_req_strdup(req, r->configs[k].name);
            ch->values[k] = opt_strdup(req, r->configs[k].value);
        }
    }
    ac_start(req, ac, in->validate_only);
}

void rb_handle_incremental_alter_configs(struct rb_request *req, void *msg)
{
    struct rb_incremental_alter_configs_req *in = msg;
    struct ac_ctx *ac = ac_new(req, in->resources_n, true);
    for (int i = 0; i < ac->n_res; i++) {
        struct rb_incremental_alter_configs_req_resource *r = &in->resources[i];
        ac->res[i].type = r->resource_type;
        ac->res[i].name = r->resource_name;
        if (!ac_check_resource(req, &ac->res[i]))
            continue;
        struct rb_config_change *ch = ac_add_change(req, ac, i, r->configs_n);
        for (int32_t k = 0; k < ch->n; k++) {
            ch->keys[k] = rb_req_strdup(req, r->configs[k].name);
            ch->values[k] = opt_strdup(req, r->configs[k].value);
            ch->ops[k] = r->configs[k].config_operation;
        }
    }
    ac_start(req, ac, in->validate_only);
}
