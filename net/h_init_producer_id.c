/*
 * net/h_init_producer_id.c - InitProducerId (22) for idempotent producers.
 *
 * As Kafka does for a null transactional_id: every call gets a fresh producer id
 * (coord/producer_ids.c, allocated on the coordination thread) with epoch 0; a
 * v3+ request that names its current (producer_id, epoch) - the client's epoch
 * bump after an unresolved sequence - also gets a fresh id, which starts every
 * partition's sequence at 0 again. Both fields must be -1 or both set
 * (INVALID_REQUEST otherwise).
 * Transactions are not implemented: a non-null transactional_id is answered
 * COORDINATOR_NOT_AVAILABLE, as FindCoordinator answers for transaction keys.
 * Allocation failures (the id block file cannot be written) are answered
 * COORDINATOR_NOT_AVAILABLE too, which clients retry.
 */
#include "coord/producer_ids.h"
#include "core/kerr.h"
#include "net/handlers.h"

static void respond(struct rb_request *req, int16_t err, int64_t id)
{
    struct rb_init_producer_id_resp resp;
    rb_init_producer_id_resp_init(&resp);
    resp.error_code = err;
    resp.producer_id = err ? -1 : id;
    resp.producer_epoch = err ? -1 : 0;
    rb_resp_begin(req);
    rb_init_producer_id_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

static void allocated(struct rb_shard *s, int err, int64_t id, void *arg)
{
    struct rb_request *req = arg;
    if (req->conn && req->state == RB_REQ_DISPATCHED)
        respond(req, err ? RB_KERR_COORDINATOR_NOT_AVAILABLE : RB_KERR_NONE, id);
    rb_request_release(req);
}

void rb_handle_init_producer_id(struct rb_request *req, void *msg)
{
    struct rb_init_producer_id_req *in = msg;
    if (in->transactional_id.len >= 0) {
        respond(req, RB_KERR_COORDINATOR_NOT_AVAILABLE, -1);
        return;
    }
    if ((in->producer_id < 0) != (in->producer_epoch < 0)) {
        respond(req, RB_KERR_INVALID_REQUEST, -1);
        return;
    }
    struct rb_net *n = rb_req_net(req);
    rb_request_hold(req);
    rb_coord_alloc_producer_id(rb_req_shard(req), n->b->bc->log_dirs[0], allocated, req);
}
