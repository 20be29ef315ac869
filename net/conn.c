/*
 * net/conn.c - connections, framing and ordered responses on a shard.
 *
 * A connection comes from net/listen.c's accept (rb_conn_new) and has one
 * multishot recv that picks buffers from the shard's provided-buffer ring; every
 * received buffer is copied out at once - into the frame being assembled - and
 * handed straight back to the ring, so a request that waits (for a flush, a long
 * poll) never holds ring buffers.
 *
 * Framing: a 4-byte big-endian size, then the frame. The size is checked against
 * socket.request.max.bytes before anything is allocated, and the frame buffer
 * grows with the bytes actually received, to at most FRAME_GROW times them (a peer
 * that announces 100 MiB and sends nothing costs nothing).
 * Memory budget and back-pressure: every frame buffer (as it grows) and every
 * response (once done: req->out plus fetch bytes in memory; before that, what a
 * fetch reserved with rb_request_reserve) is charged to its connection (c->mem)
 * and its shard (n->mem; frames also to n->frame_mem) until it leaves the queue.
 * The shard's figure also holds its connections' send stages and its tail cache
 * up to the cache's floor; above that the cache yields in the shard's turn,
 * before anyone waits (net/conn_mem.c, which holds the budget code).
 * A fetch reserves min(its max_bytes, fetch.max.bytes, the connection's room,
 * the shard's room but at least RESERVE_FLOOR_BYTES) before it is routed.
 * A connection stops being read (its recv is cancelled, TCP pushes back) when
 *   - it has MAX_QUEUED requests or MAX_QUEUED_BYTES of frames queued, or
 *   - its responses, reservations and complete frames reach
 *     connection.memory.max.bytes, or
 *   - the shard is over shard.memory.budget.bytes (or its share of Kafka's
 *     queued.max.request.bytes) and the connection holds more than
 *     CONN_SMALL_BYTES (a big frame in progress, big responses): small requests
 *     keep flowing, big ones wait for memory to come back;
 * and is read again when it is under 3/4 of what stopped it. A complete request
 * is dispatched at once unless its connection is over its budget: then it waits,
 * RECEIVED, until responses drain (the queue head is always dispatched, so every
 * connection progresses). Memory coming back triggers a scan of the waiting and
 * paused connections in the shard's turn (rb_net_conn_turn). No request is
 * refused; a peer that never reads its responses only stalls itself, and
 * connections.max.idle.ms closes it.
 * Responses leave strictly in request order: only the queue head is sent
 * (net/resp_send.c puts it on the wire, fetch data from files included).
 *
 * Connection states (enum rb_conn_state, one writer: conn_set_state, which
 * asserts the transition):
 *
 *   OPEN --bad frame--> DRAINING --earlier responses sent--> CLOSING --> freed
 *     +--peer closed, I/O error, shutdown-------------------^
 *
 * DRAINING stops reading and answers what came before the bad input, as Kafka
 * does. CLOSING cancels the recv and shutdown(2)s the socket; the connection is
 * freed when no recv, no send, no callback and no request remains. paused (too
 * much queued: the recv is cancelled until the queue drains) is apart from them.
 */
#include "net/conn_int.h"
#include "net/net.h"
#include "core/endian.h"
#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP          "network"
#define FRAME_INITIAL (64u << 10)
#define FRAME_GROW    8 /* a frame buffer grows to at most 8x the bytes received */

static void conn_arm_recv(struct rb_conn *c);
static void conn_maybe_free(struct rb_conn *c);
static void conn_try_send(struct rb_conn *c);
static void conn_dispatch_more(struct rb_conn *c);
static void set_gated(struct rb_conn *c, bool gated);

/* ---- connections ---- */

static void on_recv(struct rb_io *io, int res, unsigned flags);
static void on_send(struct rb_io *io, int res, unsigned flags);
static void on_fill(struct rb_io *io, int res, unsigned flags);

void rb_conn_new(struct rb_net *n, int fd, int32_t slot, const struct sockaddr_storage *ss)
{
    struct rb_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        rb_conn_leave(n->b, slot, true);
        close(fd);
        return;
    }
    c->net = n;
    c->fd = fd;
    c->id = ++n->next_conn_id;
    c->ip_slot = slot;
    c->last_active_ms = n->shard->now_ms;
    c->recv_io.cb = on_recv;
    c->send_io.cb = on_send;
    c->fill_io.cb = on_fill;
    rb_ahead_init(c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        char a[32];
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", a, ntohs(in->sin_port));
    }
    c->next = n->conns;
    if (n->conns)
        n->conns->prev = c;
    n->conns = c;
    n->n_conns++;
    conn_arm_recv(c);
}

static void conn_arm_recv(struct rb_conn *c)
{
    if (c->recv_armed || c->state != RB_CONN_OPEN || c->paused)
        return;
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RB_NET_BGID;
    rb_sqe_set_io(sqe, &c->recv_io);
    c->recv_armed = true;
}

static void conn_cancel_recv(struct rb_conn *c)
{
    if (!c->recv_armed)
        return;
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)&c->recv_io, 0);
    /* No completion target: the connection may be gone when the cancel's own CQE
     * arrives (the recv's final CQE is what conn_maybe_free waits for). */
    rb_sqe_set_io(sqe, NULL);
}

static void conn_update_pause(struct rb_conn *c)
{
    if (!c->paused && c->state == RB_CONN_OPEN && rb_conn_over(c, 1, 1)) {
        c->paused = true;
        c->net->n_paused++;
        conn_cancel_recv(c);
    } else if (c->paused && (c->state != RB_CONN_OPEN || !rb_conn_over(c, 3, 4))) {
        c->paused = false;
        c->net->n_paused--;
        conn_arm_recv(c);
    }
}

/* The one writer of c->state: OPEN -> DRAINING -> CLOSING, or OPEN -> CLOSING. */
static void conn_set_state(struct rb_conn *c, enum rb_conn_state to)
{
    RB_ASSERT(to > c->state); /* never back, never in place */
    RB_ASSERT(to == RB_CONN_DRAINING || to == RB_CONN_CLOSING);
    c->state = to;
}

/* Stop reading and drop the partial frame (nobody else refers to it). */
static void conn_stop_reading(struct rb_conn *c)
{
    conn_cancel_recv(c);
    if (c->cur) {
        rb_conn_charge(c, -c->cur->frame_charged, true);
        free(c->cur->frame);
        rb_arena_free(&c->cur->arena);
        free(c->cur);
        c->cur = NULL;
    }
}

void rb_conn_close(struct rb_conn *c, const char *why)
{
    if (c->state == RB_CONN_CLOSING)
        return;
    if (why)
        RB_DEBUG(COMP, "closing connection %llu from %s: %s", (unsigned long long)c->id, c->peer,
                 why);
    conn_set_state(c, RB_CONN_CLOSING);
    shutdown(c->fd, SHUT_RDWR);
    conn_stop_reading(c);
    conn_maybe_free(c);
}

/* Stop reading; close once the responses to earlier requests are out (Kafka
 * answers what preceded a bad frame before it drops the connection). */
static void conn_drain(struct rb_conn *c, const char *why)
{
    if (c->state != RB_CONN_OPEN)
        return;
    RB_DEBUG(COMP, "draining connection %llu from %s: %s", (unsigned long long)c->id, c->peer, why);
    conn_set_state(c, RB_CONN_DRAINING);
    conn_stop_reading(c);
    /* requests received after the bad one are not answered */
    for (struct rb_request *r = c->q_undispatched; r; r = r->next) {
        r->state = RB_REQ_DONE;
        r->respond = false;
    }
    c->q_undispatched = NULL;
    set_gated(c, false);
}

static void conn_try_send(struct rb_conn *c);

static void conn_drain_check(struct rb_conn *c)
{
    if (c->state != RB_CONN_DRAINING)
        return;
    conn_try_send(c); /* pops finished requests that need no response */
    if (!c->send_in_flight && !c->q_head)
        rb_conn_close(c, "drained after bad input");
}

static void request_free(struct rb_request *req)
{
    rb_resp_ext_release(req);
    free(req->frame);
    rb_arena_free(&req->arena);
    rb_writer_free(&req->out);
    free(req);
}

static void conn_maybe_free(struct rb_conn *c)
{
    if (c->state != RB_CONN_CLOSING || c->recv_armed || c->send_in_flight || c->busy ||
        rb_ahead_busy(c))
        return;
    /* Requests still out on other shards keep their memory: unlink them; each is
     * freed when its last part comes back (rb_request_release). */
    struct rb_request *r = c->q_head;
    while (r) {
        struct rb_request *next = r->next;
        r->next = NULL;
        r->conn = NULL;
        rb_request_release(r); /* drop the queue's reference */
        r = next;
    }
    c->q_head = c->q_tail = c->q_undispatched = NULL;
    struct rb_net *n = c->net;
    rb_conn_charge(c, -c->frame_mem, true);
    rb_conn_charge(c, -c->mem, false);
    if (c->paused)
        n->n_paused--;
    if (c->gated)
        n->n_gated--;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n->n_conns--;
    rb_conn_leave(n->b, c->ip_slot, true);
    close(c->fd);
    rb_resp_send_free(c);
    free(c);
}

void rb_request_release(struct rb_request *req)
{
    RB_ASSERT(req->refs > 0);
    if (--req->refs == 0) {
        RB_ASSERT(req->conn == NULL);
        request_free(req);
    }
}

/* ---- framing ---- */

static struct rb_request *request_new(struct rb_conn *c, uint32_t size)
{
    struct rb_request *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->frame_len = size;
    uint32_t cap = size < FRAME_INITIAL ? size : FRAME_INITIAL;
    req->frame = malloc(cap ? cap : 1);
    if (!req->frame) {
        free(req);
        return NULL;
    }
    req->frame_cap = cap ? cap : 1;
    req->conn = c;
    req->refs = 1;
    rb_arena_init(&req->arena, 0);
    req->frame_charged = req->frame_cap;
    rb_conn_charge(c, req->frame_charged, true);
    return req;
}

static void set_gated(struct rb_conn *c, bool gated)
{
    if (gated != c->gated) {
        c->gated = gated;
        c->net->n_gated += gated ? 1 : -1;
    }
}

static void dispatch_one(struct rb_request *req)
{
    RB_ASSERT(req->state == RB_REQ_RECEIVED);
    req->state = RB_REQ_DISPATCHED;
    req->respond = true;
    req->start_ms = req->conn->net->shard->now_ms;
    rb_reader_init(&req->body, req->frame, req->frame_len);
    if (rb_req_header_decode(&req->body, &req->hdr) != 0 || req->body.err) {
        rb_request_fail_close(req, "malformed request header");
        return;
    }
    rb_dispatch(req);
}

/* Dispatch the waiting requests in order while the budget allows. The caller
 * holds c (c->busy) or runs in its recv callback. */
static void conn_dispatch_more(struct rb_conn *c)
{
    if (c->dispatching)
        return; /* a handler answered at once: the outer loop goes on */
    c->dispatching = true;
    while (c->q_undispatched && c->state != RB_CONN_CLOSING && rb_conn_may_dispatch(c)) {
        struct rb_request *req = c->q_undispatched;
        c->q_undispatched = req->next;
        dispatch_one(req);
    }
    c->dispatching = false;
    set_gated(c, c->q_undispatched && c->state != RB_CONN_CLOSING);
}

static void enqueue_and_dispatch(struct rb_conn *c, struct rb_request *req)
{
    if (c->q_tail)
        c->q_tail->next = req;
    else
        c->q_head = req;
    c->q_tail = req;
    if (!c->q_undispatched)
        c->q_undispatched = req;
    c->n_queued++;
    c->queued_bytes += req->frame_len;
    conn_dispatch_more(c);
    conn_update_pause(c);
}

/* Consume len received bytes; returns false when the connection must close. */
static bool conn_feed(struct rb_conn *c, const uint8_t *p, uint32_t len)
{
    const uint32_t max = (uint32_t)c->net->b->bc->socket_request_max_bytes;
    while (len > 0 && c->state == RB_CONN_OPEN) {
        if (!c->cur) {
            uint32_t take = RB_MIN(4 - c->size_have, len);
            memcpy(c->size_buf + c->size_have, p, take);
            c->size_have += take;
            p += take;
            len -= take;
            if (c->size_have < 4)
                return true;
            c->size_have = 0;
            int32_t size = (int32_t)rb_get_be32(c->size_buf);
            if (size < 8 || (uint32_t)size > max) {
                RB_WARN(COMP,
                        "closing connection from %s: frame size %d outside [8, %u] "
                        "(socket.request.max.bytes)",
                        c->peer, size, max);
                return false;
            }
            c->cur = request_new(c, (uint32_t)size);
            if (!c->cur)
                return false;
        }
        struct rb_request *req = c->cur;
        uint32_t take = RB_MIN(req->frame_len - req->frame_have, len);
        if (req->frame_have + take > req->frame_cap) {
            /* Up to 8x what has arrived (at least double): a 1 MiB frame is
             * copied once on growth instead of at every doubling. */
            uint64_t want = RB_MAX((uint64_t)(req->frame_have + take) * FRAME_GROW,
                                   (uint64_t)req->frame_cap * 2);
            uint32_t ncap = (uint32_t)RB_MIN(want, (uint64_t)req->frame_len);
            uint8_t *nf = realloc(req->frame, ncap);
            if (!nf)
                return false;
            rb_conn_charge(c, (int64_t)ncap - req->frame_cap, true);
            req->frame_charged += (int64_t)ncap - req->frame_cap;
            req->frame = nf;
            req->frame_cap = ncap;
        }
        memcpy(req->frame + req->frame_have, p, take);
        req->frame_have += take;
        p += take;
        len -= take;
        if (req->frame_have == req->frame_len) {
            c->cur = NULL;
            enqueue_and_dispatch(c, req);
        }
    }
    return c->state == RB_CONN_OPEN;
}

static void on_recv(struct rb_io *io, int res, unsigned flags)
{
    struct rb_conn *c = RB_CONTAINER_OF(io, struct rb_conn, recv_io);
    if (!(flags & IORING_CQE_F_MORE))
        c->recv_armed = false;
    c->busy++;
    if (flags & IORING_CQE_F_BUFFER) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        bool ok = true;
        if (res > 0)
            c->last_active_ms = c->net->shard->now_ms;
        if (res > 0 && c->state == RB_CONN_OPEN)
            ok = conn_feed(c, c->net->bufs + (size_t)bid * c->net->buf_bytes, (uint32_t)res);
        rb_net_buf_return(c->net, bid);
        if (ok)
            conn_update_pause(c);
        if (!ok)
            conn_drain(c, "bad frame");
    } else if (res == 0) {
        rb_conn_close(c, "peer closed");
    } else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
        rb_conn_close(c, strerror(-res));
    }
    c->busy--;
    if (c->state != RB_CONN_CLOSING)
        conn_drain_check(c);
    if (c->state == RB_CONN_CLOSING)
        conn_maybe_free(c); /* may free c */
    else if (!c->recv_armed)
        conn_arm_recv(c);
}

/* ---- responses ---- */

void rb_resp_begin(struct rb_request *req)
{
    if (!req->out.buf)
        rb_writer_init(&req->out, 256);
    req->out.len = 0;
    rb_write_i32(&req->out, 0); /* size, patched in rb_request_done */
    rb_resp_header_encode(&req->out, req->hdr.api_key, req->hdr.api_version,
                          req->hdr.correlation_id);
}

static void conn_pop_head(struct rb_conn *c)
{
    struct rb_request *req = c->q_head;
    c->q_head = req->next;
    if (!c->q_head)
        c->q_tail = NULL;
    c->n_queued--;
    c->queued_bytes -= req->frame_len;
    rb_conn_charge(c, -req->frame_charged, true);
    rb_conn_charge(c, -(req->resp_charged + req->reserved), false);
    req->frame_charged = req->resp_charged = req->reserved = 0;
    req->next = NULL;
    req->conn = NULL;
    rb_request_release(req);
}

static void conn_try_send(struct rb_conn *c)
{
    while (!c->send_in_flight && c->state != RB_CONN_CLOSING && c->q_head &&
           c->q_head->state == RB_REQ_DONE) {
        struct rb_request *req = c->q_head;
        if (!req->respond) {
            conn_pop_head(c);
            continue;
        }
        int r = rb_resp_send_issue(c, req); /* the bytes, with fetch data (resp_send.c) */
        if (r == 0) {
            rb_resp_send_reset(c);
            conn_pop_head(c);
            continue;
        }
        RB_ASSERT(r == 1);
        c->send_in_flight = true;
    }
    if (c->q_undispatched && !c->dispatching) {
        c->busy++; /* a handler answering at once must not free c */
        conn_dispatch_more(c);
        c->busy--;
    }
    conn_update_pause(c);
}

void rb_request_step_begin(struct rb_request *req)
{
    struct rb_conn *c = req->conn;
    req->stepping = true;
    if (c)
        c->stepping++;
}

void rb_request_step_end(struct rb_request *req, void (*then)(struct rb_request *req))
{
    struct rb_conn *c = req->conn;
    RB_ASSERT(req->stepping);
    req->stepping = false;
    if (!c)
        return; /* closed meanwhile: its count went with it, req is dropped */
    RB_ASSERT(c->stepping > 0);
    c->busy++; /* then may answer req (and pop it): c stays */
    c->stepping--;
    then(req); /* before any later request of c is dispatched: their order */
    if (c->stepping == 0 && c->q_undispatched && !c->dispatching && c->state != RB_CONN_CLOSING)
        conn_dispatch_more(c);
    c->busy--;
    conn_update_pause(c);
    conn_maybe_free(c); /* closed by then or by a request dispatched now */
}

/* The response of req is complete: its reservation becomes what it holds. */
static void charge_response(struct rb_conn *c, struct rb_request *req)
{
    int64_t bytes = (int64_t)req->out.cap;
    for (int i = 0; i < req->n_ext; i++)
        bytes += req->ext[i].mem_len;
    rb_conn_charge(c, bytes - req->reserved, false);
    req->resp_charged = bytes;
    req->reserved = 0;
}

static void conn_after_send(struct rb_conn *c)
{
    conn_try_send(c);
    conn_drain_check(c); /* may free c */
}

static void send_cqe(struct rb_conn *c, int which, int res)
{
    struct rb_request *req = c->q_head;
    RB_ASSERT(req && req->state == RB_REQ_DONE && c->send_in_flight);
    int r = rb_resp_send_cqe(c, req, which, res);
    if (r == 0)
        return; /* the other CQE of a linked pair is still due */
    c->send_in_flight = false;
    c->last_active_ms = c->net->shard->now_ms;
    if (r < 0 && c->state != RB_CONN_CLOSING) {
        rb_conn_close(c, strerror(-r)); /* may free c */
        return;
    }
    if (c->state == RB_CONN_CLOSING)
        conn_maybe_free(c);
    else
        conn_after_send(c);
}

static void on_send(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    send_cqe(RB_CONTAINER_OF(io, struct rb_conn, send_io), RB_SEND_CQE_DRAIN, res);
}

static void on_fill(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    send_cqe(RB_CONTAINER_OF(io, struct rb_conn, fill_io), RB_SEND_CQE_FILL, res);
}

void rb_conn_ahead_done(struct rb_conn *c, bool waited, int res)
{
    if (waited)
        send_cqe(c, RB_SEND_CQE_AHEAD, res); /* may free c */
    else if (c->state == RB_CONN_CLOSING)
        conn_maybe_free(c);
}

void rb_request_done(struct rb_request *req)
{
    rb_request_metered_end(req);
    RB_ASSERT(req->state == RB_REQ_DISPATCHED);
    req->state = RB_REQ_DONE;
    struct rb_conn *c = req->conn;
    if (!c)
        return;
    if (req->out.err) {
        rb_request_fail_close(req, "response too large");
        return;
    }
    if (req->out.len - 4 + req->ext_bytes > INT32_MAX) {
        rb_request_fail_close(req, "response too large");
        return;
    }
    rb_write_patch_i32(&req->out, 0, (int32_t)(req->out.len - 4 + req->ext_bytes));
    charge_response(c, req);
    conn_try_send(c); /* may free req */
    if (!c->busy)
        conn_drain_check(c); /* may free c */
}

void rb_request_done_silent(struct rb_request *req)
{
    rb_request_metered_end(req);
    RB_ASSERT(req->state == RB_REQ_DISPATCHED);
    req->state = RB_REQ_DONE;
    req->respond = false;
    struct rb_conn *c = req->conn;
    if (c) {
        conn_try_send(c); /* may free req */
        if (!c->busy)
            conn_drain_check(c); /* may free c */
    }
}

void rb_request_fail_close(struct rb_request *req, const char *why)
{
    rb_request_metered_end(req);
    struct rb_conn *c = req->conn;
    if (req->state != RB_REQ_DONE) {
        req->state = RB_REQ_DONE;
        req->respond = false;
    }
    if (!c)
        return;
    RB_INFO(COMP, "closing connection from %s: %s (api %d v%d)", c->peer, why, req->hdr.api_key,
            req->hdr.api_version);
    conn_drain(c, why);
    if (!c->busy) {
        conn_try_send(c);
        conn_drain_check(c); /* may free c */
    }
}

void rb_net_conn_turn(struct rb_net *n)
{
    rb_net_mem_turn(n);
    if (!n->mem_freed)
        return;
    n->mem_freed = false;
    if (!n->n_paused && !n->n_gated)
        return;
    for (struct rb_conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == RB_CONN_CLOSING || (!c->paused && !c->gated))
            continue;
        c->busy++;
        conn_dispatch_more(c);
        conn_update_pause(c);
        c->busy--;
        conn_drain_check(c); /* may free c */
    }
}
