/*
 * net/peer.c - outgoing broker-to-broker connections on a shard's io_uring (see
 * net/peer.h): IORING_OP_CONNECT, SEND of the whole frame (short sends continue),
 * RECV until the response frame is complete.
 *
 * States: DOWN --send--> CONNECTING --connected--> UP (idle or one request out)
 *   any --error/timeout--> FAILING (ops cancelled, socket shut down) --all ops
 *   back--> DOWN (socket closed, callback with the error).
 * Invariants: at most one operation of each kind in flight; the socket is closed
 * only when none is; a request's callback runs exactly once (unless closed for
 * stop).
 */
#include "net/peer.h"

#include "core/endian.h"
#include "core/logging.h"
#include "core/rb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMP "peer"

enum peer_state { P_DOWN = 0, P_CONNECTING, P_UP, P_FAILING };

struct rb_peer {
    struct rb_shard *s;
    int32_t broker_id;
    rb_peer_resp_fn fn;
    void *arg;
    struct rb_sockaddr addr;
    bool have_addr;
    enum peer_state state;
    int fd;
    int err;     /* FAILING: what to report */
    bool closed; /* stopping: no callbacks */
    bool out;    /* a request is out (its callback is due) */
    struct rb_io connect_io, send_io, recv_io;
    bool connect_pending, send_pending, recv_pending;
    struct rb_timer timer;
    /* the request */
    uint8_t *sbuf;
    uint32_t slen, soff, scap;
    /* the response */
    uint8_t *rbuf;
    uint32_t rlen, rcap, rmax;
};

static void peer_settle(struct rb_peer *p);

static void cancel_io(struct rb_peer *p, struct rb_io *io, bool pending)
{
    if (!pending)
        return;
    struct io_uring_sqe *sqe = rb_sqe(p->s);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)io, 0);
    rb_sqe_set_io(sqe, NULL);
}

static void peer_fail(struct rb_peer *p, int err)
{
    if (p->state == P_FAILING || p->state == P_DOWN)
        return;
    p->state = P_FAILING;
    p->err = err;
    rb_timer_cancel(&p->s->timers, &p->timer);
    cancel_io(p, &p->connect_io, p->connect_pending);
    cancel_io(p, &p->send_io, p->send_pending);
    cancel_io(p, &p->recv_io, p->recv_pending);
    if (p->fd >= 0)
        shutdown(p->fd, SHUT_RDWR);
    peer_settle(p);
}

/* FAILING with nothing in flight: close and report. */
static void peer_settle(struct rb_peer *p)
{
    if (p->state != P_FAILING || p->connect_pending || p->send_pending || p->recv_pending)
        return;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->state = P_DOWN;
    if (p->out && !p->closed) {
        p->out = false;
        p->fn(p, p->err, NULL, 0, p->arg);
    }
    p->out = false;
}

static void on_timeout(struct rb_timer *t)
{
    struct rb_peer *p = RB_CONTAINER_OF(t, struct rb_peer, timer);
    peer_fail(p, -ETIMEDOUT);
}

static void arm_send(struct rb_peer *p)
{
    struct io_uring_sqe *sqe = rb_sqe(p->s);
    io_uring_prep_send(sqe, p->fd, p->sbuf + p->soff, p->slen - p->soff, MSG_NOSIGNAL);
    rb_sqe_set_io(sqe, &p->send_io);
    p->send_pending = true;
}

static void arm_recv(struct rb_peer *p)
{
    struct io_uring_sqe *sqe = rb_sqe(p->s);
    io_uring_prep_recv(sqe, p->fd, p->rbuf + p->rlen, p->rcap - p->rlen, 0);
    rb_sqe_set_io(sqe, &p->recv_io);
    p->recv_pending = true;
}

static void on_connect(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    struct rb_peer *p = RB_CONTAINER_OF(io, struct rb_peer, connect_io);
    p->connect_pending = false;
    if (p->state == P_FAILING) {
        peer_settle(p);
        return;
    }
    if (res < 0) {
        peer_fail(p, res);
        return;
    }
    p->state = P_UP;
    RB_DEBUG(COMP, "shard %d connected to broker %d", p->s->id, p->broker_id);
    arm_send(p);
}

/* A send or receive completed on a failing connection (it settles) or with an
 * error or end of stream (it fails): true when the completion ends here. */
static bool io_ended(struct rb_peer *p, int res)
{
    if (p->state == P_FAILING) {
        peer_settle(p);
        return true;
    }
    if (res <= 0) {
        peer_fail(p, res < 0 ? res : -ECONNRESET);
        return true;
    }
    return false;
}

static void on_send(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    struct rb_peer *p = RB_CONTAINER_OF(io, struct rb_peer, send_io);
    p->send_pending = false;
    if (io_ended(p, res))
        return;
    p->soff += (uint32_t)res;
    if (p->soff < p->slen) {
        arm_send(p);
        return;
    }
    p->rlen = 0;
    arm_recv(p);
}

static void on_recv(struct rb_io *io, int res, unsigned flags)
{
    (void)flags;
    struct rb_peer *p = RB_CONTAINER_OF(io, struct rb_peer, recv_io);
    p->recv_pending = false;
    if (io_ended(p, res))
        return;
    p->rlen += (uint32_t)res;
    if (p->rlen < 4) {
        arm_recv(p);
        return;
    }
    int32_t size = (int32_t)rb_get_be32(p->rbuf);
    if (size < 4 || (uint32_t)size > p->rmax) {
        RB_WARN(COMP, "shard %d: broker %d sent a frame of %d bytes", p->s->id, p->broker_id, size);
        peer_fail(p, -EMSGSIZE);
        return;
    }
    uint32_t want = 4 + (uint32_t)size;
    if (p->rlen > want) {
        peer_fail(p, -EPROTO); /* bytes after the one response */
        return;
    }
    if (p->rlen < want) {
        if (p->rcap < want) {
            uint8_t *nb = realloc(p->rbuf, want);
            if (!nb) {
                peer_fail(p, -ENOMEM);
                return;
            }
            p->rbuf = nb;
            p->rcap = want;
        }
        arm_recv(p);
        return;
    }
    rb_timer_cancel(&p->s->timers, &p->timer);
    p->out = false;
    if (!p->closed)
        p->fn(p, 0, p->rbuf + 4, (uint32_t)size, p->arg);
}

struct rb_peer *rb_peer_new(struct rb_shard *s, int32_t broker_id, rb_peer_resp_fn fn, void *arg)
{
    struct rb_peer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = s;
    p->broker_id = broker_id;
    p->fn = fn;
    p->arg = arg;
    p->fd = -1;
    p->connect_io.cb = on_connect;
    p->send_io.cb = on_send;
    p->recv_io.cb = on_recv;
    rb_timer_init(&p->timer, on_timeout);
    return p;
}

int rb_peer_set_addr(struct rb_peer *p, const struct rb_sockaddr *a)
{
    bool ok = (a->len == sizeof(a->u.in4) && a->u.sa.sa_family == AF_INET) ||
              (a->len == sizeof(a->u.in6) && a->u.sa.sa_family == AF_INET6);
    if (!ok) {
        p->have_addr = false;
        return -EINVAL;
    }
    if (p->have_addr && p->addr.len == a->len && memcmp(&p->addr.u, &a->u, a->len) == 0)
        return 0;
    p->addr = *a;
    p->have_addr = true;
    peer_fail(p, -ECONNRESET); /* the old connection goes (nothing when down) */
    return 0;
}

bool rb_peer_busy(const struct rb_peer *p)
{
    return p->out || p->state == P_FAILING;
}

int rb_peer_send(struct rb_peer *p, const uint8_t *frame, uint32_t len, uint32_t max_resp,
                 int64_t timeout_ms)
{
    if (rb_peer_busy(p) || p->closed)
        return -EBUSY;
    if (!p->have_addr)
        return -EINVAL;
    if (p->scap < len) {
        uint8_t *nb = realloc(p->sbuf, len);
        if (!nb)
            return -ENOMEM;
        p->sbuf = nb;
        p->scap = len;
    }
    memcpy(p->sbuf, frame, len);
    p->slen = len;
    p->soff = 0;
    p->rmax = max_resp;
    if (p->rcap < 64 * 1024) {
        uint8_t *nb = realloc(p->rbuf, 64 * 1024);
        if (!nb)
            return -ENOMEM;
        p->rbuf = nb;
        p->rcap = 64 * 1024;
    }
    if (p->state == P_DOWN) {
        int fd = socket(p->addr.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        p->fd = fd;
        p->state = P_CONNECTING;
        struct io_uring_sqe *sqe = rb_sqe(p->s);
        io_uring_prep_connect(sqe, fd, &p->addr.u.sa, p->addr.len);
        rb_sqe_set_io(sqe, &p->connect_io);
        p->connect_pending = true;
    } else {
        RB_ASSERT(p->state == P_UP);
        arm_send(p);
    }
    p->out = true;
    (void)rb_timer_arm(&p->s->timers, &p->timer, rb_deadline_after(p->s->now_ms, timeout_ms));
    return 0;
}

void rb_peer_close(struct rb_peer *p)
{
    p->closed = true;
    rb_timer_cancel(&p->s->timers, &p->timer);
    if (p->state == P_UP && !p->out) {
        close(p->fd);
        p->fd = -1;
        p->state = P_DOWN;
        return;
    }
    peer_fail(p, -ECANCELED);
}

bool rb_peer_quiet(const struct rb_peer *p)
{
    return p->state == P_DOWN || (p->state == P_UP && !p->out);
}

void rb_peer_free(struct rb_peer *p)
{
    if (!p)
        return;
    RB_ASSERT(!p->connect_pending && !p->send_pending && !p->recv_pending);
    if (p->fd >= 0)
        close(p->fd);
    free(p->sbuf);
    free(p->rbuf);
    free(p);
}
