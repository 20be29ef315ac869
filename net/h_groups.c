/*
 * net/h_groups.c - the classic group membership APIs: JoinGroup (11), SyncGroup
 * (14), Heartbeat (12), LeaveGroup (13). Each request becomes one group op
 * (net/group_route.h) run on the shard that owns the group's __consumer_offsets
 * partition against the state machine of coord/group.h; Join and Sync may park
 * there until the rebalance step they wait for. Responses are encoded on the
 * connection's shard.
 * Versions: JoinGroup 0-9 (v7+ protocol_type in the answer, v8 reason, v9
 * skip_assignment), SyncGroup 0-5 (v5 protocol_type/name checked against the
 * group's), Heartbeat 0-4, LeaveGroup 0-5 (v5 reason per member); reasons are
 * only logged.
 * Fault model: the request was decoded by the generated codecs; every value is
 * still untrusted and checked by the state machine (Kafka error codes).
 */
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"
#include "net/group_route.h"
#include "net/h_groups.h"

#include <string.h>

#define COMP "group"

static const char *opt_str(struct rb_request *req, struct rb_str s)
{
    return s.len < 0 ? NULL : rb_req_strdup(req, s);
}

static int16_t req_version(const struct rb_gop *op)
{
    return op->parent->req->hdr.api_version;
}

/* ---- JoinGroup ---- */

static void join_done(struct rb_gwait *w)
{
    struct rb_gop *op = RB_CONTAINER_OF(w, struct rb_gop, w);
    struct rb_join_group_resp *r = op->out;
    r->error_code = w->err;
    r->skip_assignment = w->skip_assignment && req_version(op) >= 9;
    if (w->member_id)
        r->member_id = rb_gop_str(op, w->member_id);
    if (!w->err && w->g && w->m) {
        struct rb_group *g = w->g;
        r->generation_id = g->generation;
        r->protocol_type = rb_gop_str(op, g->protocol_type);
        r->protocol_name = rb_gop_str(op, g->protocol ? g->protocol : "");
        r->leader = rb_gop_str(op, g->leader ? g->leader : "");
        if (g->leader && strcmp(g->leader, w->m->id) == 0) {
            r->members = rb_gop_alloc(op, sizeof(*r->members) * (size_t)RB_MAX(g->n_members, 1));
            int k = 0;
            for (struct rb_gmember *m = g->members; m; m = m->next, k++) {
                int32_t len;
                const uint8_t *meta = rb_group_member_meta(g, m, &len);
                r->members[k].member_id = rb_gop_str(op, m->id);
                r->members[k].group_instance_id = rb_gop_str(op, m->instance_id);
                r->members[k].metadata = rb_gop_bytes(op, meta, len);
            }
            r->members_n = k;
        }
    }
    rb_gop_return(op->fi.batch->owner, op);
}

static void join_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    rb_group_join(mgr, op->in, &op->w);
}

static void join_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_join_group_resp *r = p->ops[0].out;
    if (p->ops[0].err)
        r->error_code = p->ops[0].err;
    rb_resp_begin(req);
    rb_join_group_resp_encode(&req->out, req->hdr.api_version, r);
    rb_request_done(req);
}

static void join_go(struct rb_request *req, void *msg)
{
    struct rb_join_group_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, join_finish);
    struct rb_gop *op = &p->ops[0];
    struct rb_gjoin *j = rb_req_alloc(req, 1, sizeof(*j));
    j->group_id = rb_req_strdup(req, in->group_id);
    j->member_id = rb_req_strdup(req, in->member_id);
    j->instance_id = opt_str(req, in->group_instance_id);
    j->client_id = rb_req_strdup(req, req->hdr.client_id);
    j->client_host = rb_req_strdup(req, rb_str_c(req->conn->peer));
    j->protocol_type = rb_req_strdup(req, in->protocol_type);
    j->session_timeout_ms = in->session_timeout_ms;
    j->rebalance_timeout_ms =
        req->hdr.api_version >= 1 ? in->rebalance_timeout_ms : in->session_timeout_ms;
    j->require_known_member_id = req->hdr.api_version >= 4;
    j->supports_skip_assignment = req->hdr.api_version >= 9;
    if (in->reason.len > 0) /* v8+: why the client (re)joins, for the log only */
        RB_DEBUG(COMP, "member '%s' joins group %s: %.*s", j->member_id, j->group_id,
                 (int)in->reason.len, in->reason.ptr);
    int n = RB_MAX(in->protocols_n, 0);
    const char **names = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(char *));
    const uint8_t **metas = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(uint8_t *));
    int32_t *lens = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        names[i] = rb_req_strdup(req, in->protocols[i].name);
        metas[i] = in->protocols[i].metadata.ptr;
        lens[i] = in->protocols[i].metadata.len;
    }
    j->n_protocols = n;
    j->proto_names = names;
    j->proto_meta = metas;
    j->proto_meta_len = lens;
    struct rb_join_group_resp *r = rb_req_alloc(req, 1, sizeof(*r));
    rb_join_group_resp_init(r);
    r->member_id = in->member_id.len >= 0 ? in->member_id : rb_str_c("");
    op->in = j;
    op->out = r;
    op->run = join_run;
    op->w.done = join_done;
    rb_gop_route(rb_req_net(req), op, j->group_id);
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_join_group(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, join_go);
}

/* ---- SyncGroup ---- */

static void sync_done(struct rb_gwait *w)
{
    struct rb_gop *op = RB_CONTAINER_OF(w, struct rb_gop, w);
    struct rb_sync_group_resp *r = op->out;
    r->error_code = w->err;
    if (!w->err && w->g && w->m) {
        r->assignment = rb_gop_bytes(op, w->m->assignment, w->m->assignment_len);
        if (req_version(op) >= 5) {
            r->protocol_type = rb_gop_str(op, w->g->protocol_type);
            r->protocol_name = rb_gop_str(op, w->g->protocol);
        }
    }
    rb_gop_return(op->fi.batch->owner, op);
}

static void sync_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    rb_group_sync(mgr, op->in, &op->w);
}

static void sync_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_sync_group_resp *r = p->ops[0].out;
    if (p->ops[0].err)
        r->error_code = p->ops[0].err;
    rb_resp_begin(req);
    rb_sync_group_resp_encode(&req->out, req->hdr.api_version, r);
    rb_request_done(req);
}

static void sync_go(struct rb_request *req, void *msg)
{
    struct rb_sync_group_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, sync_finish);
    struct rb_gop *op = &p->ops[0];
    struct rb_gsync *y = rb_req_alloc(req, 1, sizeof(*y));
    y->group_id = rb_req_strdup(req, in->group_id);
    y->member_id = rb_req_strdup(req, in->member_id);
    y->instance_id = opt_str(req, in->group_instance_id);
    y->protocol_type = opt_str(req, in->protocol_type);
    y->protocol_name = opt_str(req, in->protocol_name);
    y->generation = in->generation_id;
    int n = RB_MAX(in->assignments_n, 0);
    const char **mem = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(char *));
    const uint8_t **as = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(uint8_t *));
    int32_t *lens = rb_req_alloc(req, (size_t)RB_MAX(n, 1), sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        mem[i] = rb_req_strdup(req, in->assignments[i].member_id);
        as[i] = in->assignments[i].assignment.ptr;
        lens[i] = in->assignments[i].assignment.len;
    }
    y->n_assign = n;
    y->assign_member = mem;
    y->assign = as;
    y->assign_len = lens;
    struct rb_sync_group_resp *r = rb_req_alloc(req, 1, sizeof(*r));
    rb_sync_group_resp_init(r);
    r->assignment = (struct rb_bytes){(const uint8_t *)"", 0};
    op->in = y;
    op->out = r;
    op->run = sync_run;
    op->w.done = sync_done;
    rb_gop_route(rb_req_net(req), op, y->group_id);
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_sync_group(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, sync_go);
}

/* ---- Heartbeat ---- */

static void hb_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct rb_heartbeat_req *in = op->in;
    const char *member = op->out, *instance = op->w.member_id;
    op->err = rb_group_heartbeat(mgr, op->group, in->generation_id, member, instance);
    rb_gop_return(s, op);
}

static void hb_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_heartbeat_resp r;
    rb_heartbeat_resp_init(&r);
    r.error_code = p->ops[0].err;
    rb_resp_begin(req);
    rb_heartbeat_resp_encode(&req->out, req->hdr.api_version, &r);
    rb_request_done(req);
}

static void hb_go(struct rb_request *req, void *msg)
{
    struct rb_heartbeat_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, hb_finish);
    struct rb_gop *op = &p->ops[0];
    op->in = in;
    op->out = rb_req_strdup(req, in->member_id);
    op->w.member_id = opt_str(req, in->group_instance_id);
    op->run = hb_run;
    rb_gop_route(rb_req_net(req), op, rb_req_strdup(req, in->group_id));
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_heartbeat(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, hb_go);
}

/* ---- LeaveGroup ---- */

struct leave_in {
    int n;
    const char **member;
    const char **instance;
    int16_t *err; /* per member, written by the owner */
};

static void leave_run(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr)
{
    struct leave_in *l = op->in;
    for (int i = 0; i < l->n; i++)
        l->err[i] = rb_group_leave(mgr, op->group, l->member[i], l->instance[i]);
    rb_gop_return(s, op);
}

static void leave_finish(struct rb_request *req, struct rb_gparent *p)
{
    struct rb_leave_group_req *in = p->msg;
    struct leave_in *l = p->ops[0].in;
    struct rb_leave_group_resp r;
    rb_leave_group_resp_init(&r);
    r.error_code = p->ops[0].err;
    if (req->hdr.api_version < 3) {
        if (!r.error_code)
            r.error_code = l->err[0];
    } else if (!r.error_code) {
        r.members = rb_req_alloc(req, (size_t)RB_MAX(l->n, 1), sizeof(*r.members));
        r.members_n = l->n;
        for (int i = 0; i < l->n; i++) {
            r.members[i].member_id = in->members[i].member_id;
            r.members[i].group_instance_id = in->members[i].group_instance_id;
            r.members[i].error_code = l->err[i];
        }
    }
    rb_resp_begin(req);
    rb_leave_group_resp_encode(&req->out, req->hdr.api_version, &r);
    rb_request_done(req);
}

static void leave_go(struct rb_request *req, void *msg)
{
    struct rb_leave_group_req *in = msg;
    struct rb_gparent *p = rb_gparent_new(req, msg, 1, leave_finish);
    struct rb_gop *op = &p->ops[0];
    struct leave_in *l = rb_req_alloc(req, 1, sizeof(*l));
    const char *group = rb_req_strdup(req, in->group_id);
    bool batched = req->hdr.api_version >= 3;
    l->n = batched ? RB_MAX(in->members_n, 0) : 1;
    l->member = rb_req_alloc(req, (size_t)RB_MAX(l->n, 1), sizeof(char *));
    l->instance = rb_req_alloc(req, (size_t)RB_MAX(l->n, 1), sizeof(char *));
    l->err = rb_req_alloc(req, (size_t)RB_MAX(l->n, 1), sizeof(int16_t));
    for (int i = 0; i < l->n; i++) {
        l->member[i] = rb_req_strdup(req, batched ? in->members[i].member_id : in->member_id);
        l->instance[i] = batched ? opt_str(req, in->members[i].group_instance_id) : NULL;
        if (batched && in->members[i].reason.len > 0) /* v5+: for the log only */
            RB_INFO(COMP, "member %s leaves group %s: %.*s", l->member[i], group,
                    (int)in->members[i].reason.len, in->members[i].reason.ptr);
    }
    op->in = l;
    op->run = leave_run;
    rb_gop_route(rb_req_net(req), op, group);
    rb_gparent_start(rb_req_shard(req), p);
}

void rb_handle_leave_group(struct rb_request *req, void *msg)
{
    rb_groups_with_topic(req, msg, leave_go);
}
