/*
 * net/conn.c - listeners, connections, framing and ordered responses on a shard.
 *
 * Each shard has its own SO_REUSEPORT listening socket with a multishot accept;
 * the kernel spreads new connections over the shards. Each connection has one
 * multishot recv that picks buffers from the shard's provided-buffer ring; every
 * received buffer is copied out at once - into the frame being assembled - and
 * handed straight back to the ring, so a request that waits (for a flush, a long
 * poll) never holds ring buffers.
 *
 * Framing: a 4-byte big-endian size, then the frame. The size is checked against
 * socket.request.max.bytes before anything is allocated, and the frame buffer
 * grows with the bytes actually received (a peer that announces 100 MiB and sends
 * nothing costs nothing).
 * Limits: at most MAX_QUEUED requests or MAX_QUEUED_BYTES of frames per
 * connection; past that the recv is cancelled (TCP pushes back) and re-armed
 * when the queue drains.
 * At the fd limit (EMFILE/ENFILE) the accept backs off: the multishot accept is
 * off for ACCEPT_PAUSE_MS (new connections wait in the listen backlog) and one
 * message per ACCEPT_LOG_MS says how many accepts failed meanwhile.
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
#include "net/net.h"
#include "net/fanout.h"
#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP             "network"
#define BGID             1
#define MAX_QUEUED       128
#define MAX_QUEUED_BYTES (128u << 20)
#define FRAME_INITIAL    (64u << 10)

static void conn_arm_recv(struct rb_conn *c);
static void conn_maybe_free(struct rb_conn *c);
static void conn_try_send(struct rb_conn *c);
static void conn_close(struct rb_conn *c, const char *why);

/* ---- listening ---- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        memset(in, 0, sizeof(*in));
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(*in);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ports[8];
    snprintf(ports, sizeof(ports), "%u", port);
    int r = getaddrinfo(host, ports, &hints, &res);
    if (r || !res)
        return -EADDRNOTAVAIL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int open_listener(const struct rb_broker_config *bc, uint16_t port, bool do_listen,
                         uint16_t *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r = resolve(bc->listener_host, port, &ss, &len);
    if (r)
        return r;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (do_listen && listen(fd, 1024) < 0)) {
        r = -errno;
        close(fd);
        return r;
    }
    if (bound) {
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        getsockname(fd, (struct sockaddr *)&got, &gl);
        *bound = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    }
    return fd;
}

static int prebound_fd = -1;

int rb_net_prebind(struct rb_broker *b, char *err, size_t errlen)
{
    uint16_t port = 0;
    int fd = open_listener(b->bc, b->bc->listener_port, false, &port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot bind listener %s:%u: %s", b->bc->listener_host,
                 b->bc->listener_port, strerror(-fd));
        return fd;
    }
    prebound_fd = fd; /* bound, not listening: holds the port until the shards listen */
    b->bound_port = port;
    return 0;
}

static void on_accept(struct rb_io *io, int res, unsigned flags);
static void accept_resume(struct rb_timer *t);

/* Accept back-off: at the fd limit a re-armed multishot accept fails again at
 * once, so the shard would spin (and log) as fast as the ring turns. Keep it off
 * for ACCEPT_PAUSE_MS and log once per ACCEPT_LOG_MS with the count meanwhile. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_MS   10000

static void arm_accept(struct rb_net *n)
{
    struct io_uring_sqe *sqe = rb_sqe(n->shard);
    io_uring_prep_multishot_accept(sqe, n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    rb_sqe_set_io(sqe, &n->accept_io);
    n->accept_armed = true;
}

static int setup_buf_ring(struct rb_net *n)
{
    size_t ring_bytes = n->nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)mem, .ring_entries = n->nbufs, .bgid = BGID};
    int r = rb_ring_register_buf_ring(n->shard, &reg);
    if (r) {
        munmap(mem, ring_bytes);
        return r;
    }
    n->br = mem;
    io_uring_buf_ring_init(n->br);
    if (posix_memalign((void **)&n->bufs, 4096, (size_t)n->nbufs * n->buf_bytes))
        return -ENOMEM;
    int mask = io_uring_buf_ring_mask(n->nbufs);
    for (uint32_t i = 0; i < n->nbufs; i++)
        io_uring_buf_ring_add(n->br, n->bufs + (size_t)i * n->buf_bytes, n->buf_bytes,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(n->br, (int)n->nbufs);
    return 0;
}

static void buf_return(struct rb_net *n, unsigned bid)
{
    io_uring_buf_ring_add(n->br, n->bufs + (size_t)bid * n->buf_bytes, n->buf_bytes,
                          (unsigned short)bid, io_uring_buf_ring_mask(n->nbufs), 0);
    io_uring_buf_ring_advance(n->br, 1);
}

/* connections.max.idle.ms: how often the sweep looks (a tenth of the limit,
 * 100 ms to 10 s), so a connection is closed within ~10% after its limit. */
static int64_t idle_period_ms(int64_t idle_ms)
{
    return RB_MAX((int64_t)100, RB_MIN(idle_ms / 10, (int64_t)10000));
}

/* Close the connections with nothing received or sent for idle_ms and no request
 * in progress (a parked long poll is not idle), as Kafka's selector does. */
static void idle_sweep(struct rb_timer *t)
{
    struct rb_net *n = RB_CONTAINER_OF(t, struct rb_net, idle_timer);
    struct rb_shard *s = n->shard;
    if (atomic_load(&s->rt->stopping))
        return;
    for (struct rb_conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == RB_CONN_OPEN && !c->q_head && !c->send_in_flight && !c->busy &&
            s->now_ms - c->last_active_ms >= n->idle_ms)
            conn_close(c, "idle longer than connections.max.idle.ms");
    }
    (void)rb_timer_arm(&s->timers, t, rb_deadline_after(s->now_ms, idle_period_ms(n->idle_ms)));
}

static void idle_start(struct rb_net *n)
{
    const char *v = rb_config_get(n->b->config, "connections.max.idle.ms");
    int64_t ms = 600000; /* Kafka's default */
    if (v && rb_parse_i64(v, -1, INT64_MAX, &ms) != 0)
        ms = 600000;
    n->idle_ms = ms;
    if (ms >= 0)
        (void)rb_timer_arm(&n->shard->timers, &n->idle_timer,
                           rb_deadline_after(n->shard->now_ms, idle_period_ms(ms)));
}

int rb_net_listen_on_shard(struct rb_net *n);
int rb_net_listen_on_shard(struct rb_net *n)
{
    uint16_t nb = 1;
    while (nb < n->b->bc->recv_buffers && nb < 32768)
        nb <<= 1;
    n->nbufs = nb;
    n->buf_bytes = (uint32_t)n->b->bc->recv_buffer_bytes;
    int r = setup_buf_ring(n);
    if (r) {
        RB_ERROR(COMP, "shard %d: cannot register the receive buffer ring: %s", n->shard->id,
                 strerror(-r));
        return r;
    }
    int fd = open_listener(n->b->bc, n->b->bound_port, true, NULL);
    if (fd < 0) {
        RB_ERROR(COMP, "shard %d: cannot listen on port %u: %s", n->shard->id, n->b->bound_port,
                 strerror(-fd));
        return fd;
    }
    n->listen_fd = fd;
    n->accept_io.cb = on_accept;
    idle_start(n);
    arm_accept(n);
    return 0;
}

void rb_net_close_prebound(void);
void rb_net_close_prebound(void)
{
    if (prebound_fd >= 0)
        close(prebound_fd);
    prebound_fd = -1;
}

/* ---- connections ---- */

static void on_recv(struct rb_io *io, int res, unsigned flags);
static void on_send(struct rb_io *io, int res, unsigned flags);
static void on_fill(struct rb_io *io, int res, unsigned flags);

static void accept_resume(struct rb_timer *t)
{
    struct rb_net *n = RB_CONTAINER_OF(t, struct rb_net, accept_timer);
    n->accept_paused = false;
    if (!n->accept_armed && !atomic_load(&n->shard->rt->stopping))
        arm_accept(n);
}

static bool accept_fd_limit(int res)
{
    return res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
}

/* Count one event of r; true when its message is due (the first, then one per
 * ACCEPT_LOG_MS): log r->count, the events since the last message, then reset it. */
static bool ratelog_due(struct rb_ratelog *r, int64_t now_ms)
{
    r->count++;
    if (r->logged_ms && now_ms - r->logged_ms < ACCEPT_LOG_MS)
        return false;
    r->logged_ms = now_ms;
    return true;
}

/* The accept failed for lack of descriptors or memory: stop accepting for a while
 * (cancel the multishot if it is still armed), log at most once per interval. */
static void accept_pause(struct rb_net *n, int res)
{
    struct rb_shard *s = n->shard;
    if (ratelog_due(&n->accept_log, s->now_ms)) {
        RB_WARN(COMP,
                "shard %d: accept: %s: not accepting for %d ms at a time (%llu failed accepts "
                "since the last message)",
                s->id, strerror(-res), ACCEPT_PAUSE_MS, (unsigned long long)n->accept_log.count);
        n->accept_log.count = 0;
    }
    if (n->accept_paused)
        return;
    if (n->accept_armed) {
        struct io_uring_sqe *sqe = rb_sqe(s);
        io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)&n->accept_io, 0);
        rb_sqe_set_io(sqe, NULL);
    }
    n->accept_paused = true;
    if (rb_timer_arm(&s->timers, &n->accept_timer, s->now_ms + ACCEPT_PAUSE_MS))
        n->accept_paused = false; /* no timer (out of memory): retry on the next CQE */
}

/* A new connection on fd: admitted against the connection limits (else closed at
 * once, as Kafka closes one over max.connections.per.ip), then reading. */
static void conn_new(struct rb_net *n, int fd)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        ss.ss_family = AF_UNSPEC;
    int32_t slot;
    const char *over = rb_conn_admit(n->b, &ss, &slot);
    if (over) {
        if (ratelog_due(&n->refused_log, n->shard->now_ms)) {
            RB_WARN(COMP,
                    "shard %d: closing a new connection over %s (%llu since the last message)",
                    n->shard->id, over, (unsigned long long)n->refused_log.count);
            n->refused_log.count = 0;
        }
        close(fd);
        return;
    }
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
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
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

static void on_accept(struct rb_io *io, int res, unsigned flags)
{
    struct rb_net *n = RB_CONTAINER_OF(io, struct rb_net, accept_io);
    if (!(flags & IORING_CQE_F_MORE))
        n->accept_armed = false;
    if (res < 0) {
        if (accept_fd_limit(res))
            accept_pause(n, res);
        else if (res != -ECANCELED && res != -EINVAL)
            RB_WARN(COMP, "shard %d: accept: %s", n->shard->id, strerror(-res));
    } else if (atomic_load(&n->shard->rt->stopping)) {
        close(res);
    } else {
        conn_new(n, res);
    }
    if (!n->accept_armed && !n->accept_paused && !atomic_load(&n->shard->rt->stopping))
        arm_accept(n);
}

static void conn_arm_recv(struct rb_conn *c)
{
    if (c->recv_armed || c->state != RB_CONN_OPEN || c->paused)
        return;
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
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
    bool over = c->n_queued >= MAX_QUEUED || c->queued_bytes >= MAX_QUEUED_BYTES;
    if (over && !c->paused) {
        c->paused = true;
        conn_cancel_recv(c);
    } else if (c->paused && c->n_queued <= MAX_QUEUED / 2 &&
               c->queued_bytes <= MAX_QUEUED_BYTES / 2) {
        c->paused = false;
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
        free(c->cur->frame);
        rb_arena_free(&c->cur->arena);
        free(c->cur);
        c->cur = NULL;
    }
}

static void conn_close(struct rb_conn *c, const char *why)
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
}

static void conn_try_send(struct rb_conn *c);

static void conn_drain_check(struct rb_conn *c)
{
    if (c->state != RB_CONN_DRAINING)
        return;
    conn_try_send(c); /* pops finished requests that need no response */
    if (!c->send_in_flight && !c->q_head)
        conn_close(c, "drained after bad input");
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
    if (c->state != RB_CONN_CLOSING || c->recv_armed || c->send_in_flight || c->busy)
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
    c->q_head = c->q_tail = NULL;
    struct rb_net *n = c->net;
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
    return req;
}

static void enqueue_and_dispatch(struct rb_conn *c, struct rb_request *req)
{
    req->state = RB_REQ_DISPATCHED;
    req->respond = true;
    req->start_ms = c->net->shard->now_ms;
    if (c->q_tail)
        c->q_tail->next = req;
    else
        c->q_head = req;
    c->q_tail = req;
    c->n_queued++;
    c->queued_bytes += req->frame_len;
    rb_reader_init(&req->body, req->frame, req->frame_len);
    if (rb_req_header_decode(&req->body, &req->hdr) != 0 || req->body.err) {
        rb_request_fail_close(req, "malformed request header");
        return;
    }
    rb_dispatch(req);
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
            int32_t size =
                (int32_t)((uint32_t)c->size_buf[0] << 24 | (uint32_t)c->size_buf[1] << 16 |
                          (uint32_t)c->size_buf[2] << 8 | c->size_buf[3]);
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
            uint32_t ncap = req->frame_cap;
            while (ncap < req->frame_have + take)
                ncap = ncap > req->frame_len / 2 ? req->frame_len : ncap * 2;
            uint8_t *nf = realloc(req->frame, ncap);
            if (!nf)
                return false;
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
        buf_return(c->net, bid);
        if (!ok)
            conn_drain(c, "bad frame");
    } else if (res == 0) {
        conn_close(c, "peer closed");
    } else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
        conn_close(c, strerror(-res));
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
    conn_update_pause(c);
}

static void conn_after_send(struct rb_conn *c)
{
    conn_try_send(c);
    conn_drain_check(c); /* may free c */
}

static void send_cqe(struct rb_conn *c, bool fill, int res)
{
    struct rb_request *req = c->q_head;
    RB_ASSERT(req && req->state == RB_REQ_DONE && c->send_in_flight);
    int r = rb_resp_send_cqe(c, req, fill, res);
    if (r == 0)
        return; /* the other CQE of a linked pair is still due */
    c->send_in_flight = false;
    c->last_active_ms = c->net->shard->now_ms;
    if (r < 0 && c->state != RB_CONN_CLOSING) {
        conn_close(c, strerror(-r)); /* may free c */
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
    send_cqe(RB_CONTAINER_OF(io, struct rb_conn, send_io), false, res);
}

static void on_fill(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    send_cqe(RB_CONTAINER_OF(io, struct rb_conn, fill_io), true, res);
}

void rb_request_done(struct rb_request *req)
{
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
    conn_try_send(c); /* may free req */
    if (!c->busy)
        conn_drain_check(c); /* may free c */
}

void rb_request_done_silent(struct rb_request *req)
{
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

/* ---- shard hooks ---- */

int rb_net_shard_start(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    n->shard = s;
    /* before anything can fail: rb_net_shard_stop cancels them */
    rb_timer_init(&n->accept_timer, accept_resume);
    rb_timer_init(&n->idle_timer, idle_sweep);
    return rb_net_listen_on_shard(n);
}

void rb_net_shard_turn(struct rb_shard *s)
{
    rb_net_partitions_turn(s->net);
}

void rb_net_shard_stop(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    rb_timer_cancel(&s->timers, &n->accept_timer);
    rb_timer_cancel(&s->timers, &n->idle_timer);
    n->accept_paused = false;
    if (n->listen_fd >= 0) {
        if (n->accept_armed) {
            struct io_uring_sqe *sqe = rb_sqe(s);
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)&n->accept_io, 0);
            rb_sqe_set_io(sqe, NULL);
        }
        shutdown(n->listen_fd, SHUT_RDWR);
    }
    for (struct rb_conn *c = n->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c, "broker shutting down");
    }
}

bool rb_net_shard_stop_done(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    /* Keep turning until in-flight flushes are back, so acknowledged data is durable
     * and no write is outstanding when the logs close. */
    rb_net_partitions_turn(n);
    return n->conns == NULL && !n->accept_armed && rb_part_idle(rb_part_of(s)) &&
           rb_net_partitions_quiet(n);
}

void rb_net_shard_finish(struct rb_shard *s)
{
    struct rb_net *n = s->net;
    rb_net_partitions_finish(n);
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->br)
        rb_ring_unregister_buf_ring(s, BGID);
    free(n->bufs);
    n->bufs = NULL;
}
