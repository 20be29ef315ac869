/*
 * net/h_find_coordinator.c - FindCoordinator (10): on a standalone broker every
 * group is coordinated by this broker. Transaction coordinators do not exist yet
 * (COORDINATOR_NOT_AVAILABLE). v0-3 ask for one key (answered in the top-level
 * fields); v4+ batch them in coordinator_keys, answered one entry per key in
 * `coordinators`, in request order.
 * Fault model: an unknown key_type is INVALID_REQUEST (per key at v4+), never a
 * closed connection; keys are not otherwise interpreted here.
 */
#include "core/kerr.h"
#include "net/handlers.h"

/* The answer for one key: this broker, or the error for key_type. */
static int16_t coordinator_for(const struct rb_broker_config *bc, int8_t key_type, int32_t *node,
                               struct rb_str *host, int32_t *port)
{
    if (key_type == 0) {
        *node = bc->broker_id;
        *host = rb_str_c(bc->advertised_host);
        *port = bc->advertised_port;
        return 0;
    }
    *node = -1;
    *host = rb_str_c("");
    *port = -1;
    return key_type == 1 ? RB_KERR_COORDINATOR_NOT_AVAILABLE : RB_KERR_INVALID_REQUEST;
}

void rb_handle_find_coordinator(struct rb_request *req, void *msg)
{
    struct rb_find_coordinator_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    const struct rb_broker_config *bc = n->b->bc;
    struct rb_find_coordinator_resp resp;
    rb_find_coordinator_resp_init(&resp);
    if (req->hdr.api_version >= 4) {
        int k = in->coordinator_keys_n > 0 ? in->coordinator_keys_n : 0;
        resp.coordinators = rb_req_alloc(req, (size_t)(k ? k : 1), sizeof(*resp.coordinators));
        resp.coordinators_n = k;
        for (int i = 0; i < k; i++) {
            struct rb_find_coordinator_resp_coordinator *c = &resp.coordinators[i];
            rb_find_coordinator_resp_coordinator_init(c);
            c->key = in->coordinator_keys[i];
            c->error_code = coordinator_for(bc, in->key_type, &c->node_id, &c->host, &c->port);
        }
    } else {
        resp.error_code = coordinator_for(bc, in->key_type, &resp.node_id, &resp.host, &resp.port);
    }
    rb_resp_begin(req);
    rb_find_coordinator_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}
