/*
 * net/h_find_coordinator.c - FindCoordinator (10). A group's coordinator is the
 * leader of its __consumer_offsets partition (Kafka's hash of the group id): on a
 * standalone broker that is always this broker; in a cluster, the broker the
 * metadata names (the topic is created first when it does not exist yet, as
 * Kafka does). Transaction coordinators do not exist yet (COORDINATOR_NOT_AVAILABLE).
 * v0-3 ask for one key (answered in the top-level fields); v4+ batch them in
 * coordinator_keys, answered one entry per key in `coordinators`, in request order.
 * Fault model: an unknown key_type is INVALID_REQUEST (per key at v4+), never a
 * closed connection; keys are not otherwise interpreted here.
 */
#include "coord/group.h"
#include "coord/offsets_log.h"
#include "core/kerr.h"
#include "net/group_route.h"
#include "net/handlers.h"

#include <string.h>

/* The answer for one key: the group's coordinator, or the error for key_type. */
static int16_t coordinator_for(const struct rb_net *n, int8_t key_type, struct rb_str key,
                               int32_t *node, struct rb_str *host, int32_t *port)
{
    const struct rb_broker_config *bc = n->b->bc;
    const struct rb_metadata *md = n->md;
    *node = -1;
    *host = rb_str_c("");
    *port = -1;
    if (key_type != 0)
        return key_type == 1 ? RB_KERR_COORDINATOR_NOT_AVAILABLE : RB_KERR_INVALID_REQUEST;
    const struct rb_topic_meta *t =
        rb_metadata_topic(md, RB_CONSUMER_OFFSETS, sizeof(RB_CONSUMER_OFFSETS) - 1);
    int32_t leader = bc->broker_id;
    if (t && t->n_partitions > 0) {
        int32_t p = rb_group_partition_for(key.ptr ? key.ptr : "", (size_t)RB_MAX(key.len, 0),
                                           t->n_partitions);
        leader = t->partitions[p].leader;
    } else if (md->leader_lease) {
        return RB_KERR_COORDINATOR_NOT_AVAILABLE; /* a cluster without the topic yet */
    }
    if (leader == bc->broker_id) {
        *node = bc->broker_id;
        *host = rb_str_c(bc->advertised_host);
        *port = bc->advertised_port;
        return 0;
    }
    for (int32_t i = 0; i < md->n_brokers; i++)
        if (md->brokers[i].id == leader) {
            *node = leader;
            *host = rb_str_c(md->brokers[i].host);
            *port = md->brokers[i].port;
            return 0;
        }
    return RB_KERR_COORDINATOR_NOT_AVAILABLE;
}

static void respond(struct rb_request *req, void *msg)
{
    struct rb_find_coordinator_req *in = msg;
    struct rb_net *n = rb_req_net(req);
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
            c->error_code =
                coordinator_for(n, in->key_type, c->key, &c->node_id, &c->host, &c->port);
        }
    } else {
        resp.error_code =
            coordinator_for(n, in->key_type, in->key, &resp.node_id, &resp.host, &resp.port);
    }
    rb_resp_begin(req);
    rb_find_coordinator_resp_encode(&req->out, req->hdr.api_version, &resp);
    rb_request_done(req);
}

void rb_handle_find_coordinator(struct rb_request *req, void *msg)
{
    struct rb_find_coordinator_req *in = msg;
    struct rb_net *n = rb_req_net(req);
    /* A cluster broker makes sure the offsets topic exists (it has leaders then). */
    if (n->md->leader_lease && in->key_type == 0 &&
        !rb_metadata_topic(n->md, RB_CONSUMER_OFFSETS, sizeof(RB_CONSUMER_OFFSETS) - 1)) {
        rb_groups_with_topic(req, msg, respond);
        return;
    }
    respond(req, msg);
}
