/*
 * tests/sim/sim_client.c - simulated Kafka client connections (see sim_client.h).
 *
 * Faults: with sim_faults.conn_drop_ppm a connection is closed in the middle of
 * sending a frame (part of it reached the broker), or while answers are due
 * (the client cannot know whether its request was carried out: an idempotent
 * producer's retry must then be recognised as a duplicate); writes go out in
 * pieces of random size so the broker sees frames split anywhere.
 */
#include "tests/sim/sim_client.h"
#include "core/rb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sim_conn_open(struct sim_conn *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->name = name;
    c->next_corr = 1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
        return -errno;
    c->fd = sv[0];
    int bfd = sv[1]; /* the broker's end: the simulated ring never blocks on it */
    sim_net_connect(bfd);
    rb_arena_init(&c->arena, 0);
    SIM_LOG("%s: connect (fd %d, broker fd %d)", name, c->fd, bfd);
    return 0;
}

bool sim_conn_is_open(const struct sim_conn *c)
{
    return c->fd >= 0;
}

int sim_conn_send(struct sim_conn *c, int16_t key, int16_t ver, const void *req, sim_resp_fn fn,
                  void *ctx, int64_t deadline_ns)
{
    if (c->fd < 0 || c->n_pend == SIM_MAX_PENDING)
        return -EAGAIN;
    struct rb_writer w;
    rb_writer_init(&w, 256);
    rb_write_i32(&w, 0);
    struct rb_req_header h = {key, ver, c->next_corr, rb_str_c("ringsim")};
    rb_req_header_encode(&w, &h);
    rb_req_encode_any(&w, key, ver, req);
    RB_ASSERT(!w.err);
    rb_write_patch_i32(&w, 0, (int32_t)(w.len - 4));
    if (c->out_len + w.len > c->out_cap) {
        c->out_cap = (c->out_len + w.len) * 2;
        c->out = realloc(c->out, c->out_cap);
        RB_ASSERT(c->out);
    }
    memcpy(c->out + c->out_len, w.buf, w.len);
    c->out_len += w.len;
    rb_writer_free(&w);
    c->pend[c->n_pend++] = (struct sim_pending){c->next_corr, key, ver, fn, ctx, deadline_ns};
    c->next_corr++;
    return 0;
}

void sim_conn_close(struct sim_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->out_len = c->out_off = c->in_len = 0;
    /* callbacks may send on c again (it is closed: they get -EAGAIN) */
    int n = c->n_pend;
    struct sim_pending p[SIM_MAX_PENDING];
    memcpy(p, c->pend, sizeof(p[0]) * (size_t)n);
    c->n_pend = 0;
    for (int i = 0; i < n; i++)
        p[i].fn(c, p[i].ctx, NULL);
}

static int deliver(struct sim_conn *c, const uint8_t *frame, uint32_t len)
{
    struct rb_reader r;
    rb_reader_init(&r, frame, len);
    int32_t corr = rb_read_i32(&r);
    if (!c->n_pend || c->pend[0].corr != corr) {
        sim_fail("%s: response with correlation id %d, expected %d", c->name, corr,
                 c->n_pend ? c->pend[0].corr : -1);
        return -EBADMSG;
    }
    struct sim_pending p = c->pend[0];
    memmove(c->pend, c->pend + 1, sizeof(c->pend[0]) * (size_t)--c->n_pend);
    rb_reader_init(&r, frame, len);
    int32_t corr2;
    void *resp = NULL;
    rb_arena_reset(&c->arena);
    if (rb_resp_header_decode(&r, p.key, p.ver, &corr2) ||
        rb_resp_decode_any(&r, &c->arena, p.key, p.ver, &resp)) {
        sim_fail("%s: cannot decode the response to api %d v%d", c->name, p.key, p.ver);
        p.fn(c, p.ctx, NULL);
        return -EBADMSG;
    }
    p.fn(c, p.ctx, resp);
    return 0;
}

static int pump_out(struct sim_conn *c)
{
    if (c->out_off == c->out_len)
        return 0;
    size_t n = c->out_len - c->out_off;
    if (n > 1 && sim_chance(200000))
        n = 1 + sim_below(n - 1);
    ssize_t w = send(c->fd, c->out + c->out_off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    c->out_off += (size_t)w;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    else if (sim_faults.conn_drop_ppm && sim_chance(sim_faults.conn_drop_ppm)) {
        sim_stats.drops++;
        SIM_LOG("%s: dropping the connection mid-frame", c->name);
        return -ECONNABORTED;
    }
    return 1;
}

static int pump_in(struct sim_conn *c)
{
    int progress = 0;
    for (;;) {
        if (c->in_cap - c->in_len < 65536) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 131072;
            c->in = realloc(c->in, c->in_cap);
            RB_ASSERT(c->in);
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? progress : -errno;
        c->in_len += (size_t)n;
        progress = 1;
        size_t off = 0;
        while (c->in_len - off >= 4) {
            const uint8_t *p = c->in + off;
            uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (c->in_len - off - 4 < len)
                break;
            int r = deliver(c, p + 4, len);
            if (c->fd < 0)
                return progress;
            if (r)
                return r;
            off += 4 + len;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

int sim_conn_pump(struct sim_conn *c)
{
    if (c->fd < 0)
        return 0;
    int a = pump_out(c);
    if (a >= 0 && c->out_len == 0 && c->n_pend && sim_faults.conn_drop_ppm &&
        sim_chance(sim_faults.conn_drop_ppm / 4)) {
        sim_stats.drops++; /* requests sent, answers not read: was it done or not? */
        a = -ECONNABORTED;
    }
    int b = a < 0 ? a : pump_in(c);
    if (a < 0 || b < 0) {
        SIM_LOG("%s: connection closed (%s)", c->name, strerror(-(a < 0 ? a : b)));
        sim_conn_close(c);
        return 1;
    }
    return a + b;
}

const struct sim_pending *sim_conn_overdue(const struct sim_conn *c)
{
    for (int i = 0; i < c->n_pend; i++)
        if (c->pend[i].deadline_ns < sim_now_ns)
            return &c->pend[i];
    return NULL;
}
