/*
 * net/h_find_coordinator.c - FindCoordinator (10): on a standalone broker every
 * group is coordinated by this broker. Transaction coordinators do not exist yet
 * (COORDINATOR_NOT_AVAILABLE).
 */
#include "core/kerr.h"
#include "net/handlers.h"

void rb_handle_find_coordinator(struct rb_request *req, void *msg)
{
    struct rb_find_coordinator_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    const struct rb_broker_config *bc = n->b->bc;
    struct rb_find_coordinator_resp resp;
    rb_find_coordinator_resp_init(&resp);
    if (in->key_type == 0) {
        resp.node_id = bc->broker_id;
        resp.host = rb_str_c(bc->advertised_host);
        resp.port = bc->advertised_port;
    } else {
        resp.error_code =
            in->key_type == 1 ? RB_KERR_COORDINATOR_NOT_AVAILABLE : RB_KERR_INVALID_REQUEST;
        resp.node_id = -1;
        resp.host = rb_str_c("");
        resp.port = -1;
    }
    rb_resp_begin(req);
    rb_find_coordinator_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}
