/*
 * net/net.h - the broker's network layer: process-wide broker context, the
 * per-shard network state, connections and requests.
 *
 * Request lifecycle (per connection, responses leave in request order):
 *
 *   RECEIVING --frame complete--> DISPATCHED --handler done--> DONE --sent--> freed
 *                                     |  (async parts: req->pending > 0)
 *                                     +--acks=0 produce--> DONE (no response)
 *
 * A request and its frame buffer live until its response has been sent AND every
 * asynchronous part (cross-shard work, flush waits, coord calls) has come back,
 * even if the connection closed meanwhile: req->refs counts those.
 *
 * Ownership: a connection, its requests and its buffers belong to the shard that
 * accepted it; other shards only see the pointers they were handed in messages
 * and give them back (rb_post) without touching connection state.
 */
#ifndef RB_NET_NET_H
#define RB_NET_NET_H

#include "coord/coord.h"
#include "coord/metadata.h"
#include "core/config.h"
#include "core/shard.h"
#include "net/proto_gen.h"
#include "net/wire.h"

#include <stdbool.h>
#include <stdint.h>

struct rb_partition;
struct rb_ptable {
    struct rb_partition **buckets;
    uint32_t mask;
    uint32_t n;
};

struct rb_broker {
    struct rb_config *config;
    const struct rb_broker_config *bc;
    struct rb_runtime rt;
    struct rb_coord *coord;
    uint16_t bound_port; /* actual listening port */
};

struct rb_net {
    struct rb_shard *shard;
    struct rb_broker *b;
    int listen_fd;
    struct rb_io accept_io;
    bool accept_armed;
    /* provided receive buffers */
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    uint32_t nbufs;
    uint32_t buf_bytes;
    /* state */
    struct rb_metadata *md;
    struct rb_ptable parts;
    struct rb_partition *dirty_head; /* partitions appended to since their last flush */
    struct rb_conn *conns;
    int n_conns;
    int flushes_in_flight;
    int closing_partitions; /* dropped partitions waiting for their flush */
    uint64_t next_conn_id;
};

enum rb_req_state { RB_REQ_DISPATCHED = 1, RB_REQ_DONE };

struct rb_request {
    struct rb_request *next;
    struct rb_conn *conn;
    uint8_t *frame; /* body of the frame (after the size) */
    uint32_t frame_len;
    uint32_t frame_have; /* bytes received so far (while receiving) */
    uint32_t frame_cap;  /* allocated bytes of frame */
    struct rb_req_header hdr;
    struct rb_reader body;
    struct rb_arena arena;
    struct rb_writer out; /* size + response header + body */
    enum rb_req_state state;
    bool respond;
    int refs; /* 1 for the connection queue + 1 per outstanding async part */
    int64_t start_ms;
    void *ctx; /* handler state */
};

struct rb_conn {
    struct rb_conn *next, *prev;
    struct rb_net *net;
    int fd;
    uint64_t id;
    char peer[64];
    struct rb_io recv_io;
    struct rb_io send_io;
    bool recv_armed;
    bool paused;
    bool closing;
    bool draining; /* bad input seen: answer what came before it, then close */
    bool send_in_flight;
    int busy; /* > 0 while a callback works on the connection: do not free it */
    size_t send_off;
    /* framing */
    uint8_t size_buf[4];
    uint32_t size_have;
    struct rb_request *cur; /* frame being received */
    /* in-order queue of requests */
    struct rb_request *q_head, *q_tail;
    int n_queued;
    size_t queued_bytes;
};

/* Start/stop hooks for the shard runtime (net/conn.c). */
int rb_net_shard_start(struct rb_shard *s);
void rb_net_shard_turn(struct rb_shard *s);
void rb_net_shard_stop(struct rb_shard *s);
bool rb_net_shard_stop_done(struct rb_shard *s);
void rb_net_shard_finish(struct rb_shard *s);
/* Create the listening socket before the shards start (to report bind errors and
 * learn the port); each shard then opens its own SO_REUSEPORT socket on it. */
int rb_net_prebind(struct rb_broker *b, char *err, size_t errlen);

static inline struct rb_net *rb_net_of(struct rb_shard *s)
{
    return s->net;
}

/* ---- requests (net/conn.c) ---- */

/* Begin the response: writes the size placeholder and the response header. */
void rb_resp_begin(struct rb_request *req);
/* The response in req->out is complete: patch its size and let it go out. */
void rb_request_done(struct rb_request *req);
/* Finish without a response (acks=0 produce). */
void rb_request_done_silent(struct rb_request *req);
/* Close the connection because of this request (bad input). */
void rb_request_fail_close(struct rb_request *req, const char *why);
/* Async parts: hold before handing req to another thread or a callback, release
 * when it comes back. */
static inline void rb_request_hold(struct rb_request *req)
{
    req->refs++;
}
void rb_request_release(struct rb_request *req);

/* ---- dispatch (net/dispatch.c) ---- */
void rb_dispatch(struct rb_request *req);

#endif
