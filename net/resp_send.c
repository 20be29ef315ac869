/*
 * net/resp_send.c - puts the head response of a connection on the wire: the bytes
 * of req->out, with the fetch data of req->ext inserted at their positions.
 *
 * A response is a list of regions: OUT[0, ext0.at) FILE(ext0) MEM(ext0)
 * OUT[ext0.at, ext1.at) ... OUT[last.at, out.len); empty ones are skipped. One
 * operation is in flight per connection (conn.c): a send for OUT and MEM regions;
 * for a FILE region a linked pair "fill the stage, drain it to the socket":
 *
 *   splice (fetch.file.transfer=splice): SPLICE file -> pipe, SPLICE pipe -> socket
 *   read   (fetch.file.transfer=read, the default): READ file -> buffer, SEND buffer -> socket
 *
 * at most stage_cap bytes at a time (the pipe's size or the buffer's). A segment
 * descriptor opened with O_DIRECT (fetch.file.direct, opt-in, part/fdcache.c) is read in
 * whole 4 KiB blocks around the wanted bytes, which then start fill_head bytes
 * into the buffer: segments are written with O_DIRECT and not in the page cache,
 * and buffered reads of them run at a third of the disk's speed here.
 *
 * Read-ahead (O_DIRECT path, fetch.file.readahead, opt-in: perf/RESULTS.md): beside each
 * fill+drain (or drain) of file bytes, net/readahead.c queues reads of the bytes the
 * consumer's streams will want next into the connection's read-ahead slots; they
 * are not part of the operation. A fill whose first bytes a slot holds only drains,
 * from the slot's buffer; one whose slot is still reading
 * waits for that read (an RS_WAIT operation, over when the slot's CQE comes) and is
 * issued again.
 *
 * An operation is over when all its CQEs are back. A short fill cancels the
 * linked drain (-ECANCELED) and a short drain leaves bytes in the stage: `staged`
 * counts them, and the next operation drains them alone before filling again. So
 * the stream stays exact whatever the split.
 *
 * The descriptors are lent by the partition owner's descriptor cache
 * (part/fdcache.c) until the request is freed: the file stays readable even if
 * retention or a topic deletion unlinks it.
 * Faults: a failed or empty fill means the log could not give back bytes it
 * handed out: the owner is told (the partition goes offline) and the connection is
 * closed (the response is already partly sent; the client retries elsewhere or
 * later and then gets KAFKA_STORAGE_ERROR). A failed drain closes the connection.
 * The stage (pipe or 1 MiB buffer) is per connection, made on first use, kept
 * until the connection closes: no allocation per response. The buffer counts in
 * the shard's memory budget (rb_net_mem_charge) while it exists.
 */
#include "net/net.h"
#include "net/fanout.h"
#include "core/logging.h"
#include "core/rb.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RS_OUT, RS_FILE, RS_MEM, RS_ERR, RS_WAIT };

struct region {
    int kind;
    const uint8_t *mem; /* OUT, MEM */
    uint64_t len;
    struct rb_resp_ext *e; /* FILE, MEM */
};

static void region_get(struct rb_request *req, int r, struct region *rg)
{
    int k = r / 3;
    rg->kind = r % 3;
    rg->e = k < req->n_ext ? &req->ext[k] : NULL;
    if (rg->kind == RS_OUT) {
        size_t from = k == 0 ? 0 : req->ext[k - 1].at;
        size_t to = k < req->n_ext ? req->ext[k].at : req->out.len;
        rg->mem = req->out.buf + from;
        rg->len = to - from;
    } else if (rg->kind == RS_FILE) {
        rg->mem = NULL;
        rg->len = rg->e->file_len;
    } else {
        rg->mem = rg->e->mem;
        rg->len = rg->e->mem_len;
    }
}

static int stage_setup(struct rb_conn *c, bool splice)
{
    if (splice && !c->pipe_open) {
        if (pipe2(c->pipe_fd, O_CLOEXEC) < 0)
            return -errno;
        c->pipe_open = true;
        (void)fcntl(c->pipe_fd[1], F_SETPIPE_SZ, RB_STAGE_BYTES); /* else the default */
        int sz = fcntl(c->pipe_fd[1], F_GETPIPE_SZ);
        c->stage_cap = sz > 0 ? (uint32_t)sz : 65536;
    } else if (!splice && !c->stage_buf) {
        void *b;
        if (posix_memalign(&b, RB_DIO_ALIGN, RB_STAGE_ALLOC))
            return -ENOMEM;
        c->stage_buf = b;
        c->stage_cap = RB_STAGE_BYTES;
        rb_net_mem_charge(c->net, RB_STAGE_ALLOC);
    }
    return 0;
}

static void issue_drain(struct rb_conn *c, bool splice, uint32_t n, bool more)
{
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    uint8_t *stage = c->ra.sending ? c->ra.sending->buf : c->stage_buf;
    if (splice)
        io_uring_prep_splice(sqe, c->pipe_fd[0], -1, c->fd, -1, n, more ? SPLICE_F_MORE : 0);
    else
        io_uring_prep_send(sqe, c->fd, stage + c->stage_off, n,
                           MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    rb_sqe_set_io(sqe, &c->send_io);
}

static int file_issue(struct rb_conn *c, struct rb_request *req, struct rb_resp_ext *e)
{
    bool splice = c->net->b->bc->fetch_file_splice;
    uint64_t total = req->out.len + req->ext_bytes;
    int err = stage_setup(c, splice);
    if (err) { /* reported through a CQE, where closing the connection is safe */
        struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
        io_uring_prep_nop(sqe);
        rb_sqe_set_io(sqe, &c->send_io);
        c->send_kind = RS_ERR;
        c->drain_res = err;
        c->send_filled = false;
        c->send_cqes = 1;
        return 1;
    }
    c->send_kind = RS_FILE;
    c->fill_res = c->drain_res = 0;
    if (c->staged) {
        c->send_filled = false;
        c->send_cqes = 1;
        issue_drain(c, splice, c->staged, c->send_done + c->staged < total);
        return 1;
    }
    uint32_t n = (uint32_t)RB_MIN((uint64_t)(e->file_len - c->send_off), (uint64_t)c->stage_cap);
    uint64_t at = e->file_pos + c->send_off;
    struct rb_ahead_slot *ra = splice ? NULL : rb_ahead_find(c, e, at);
    if (ra && ra->state == RB_AHEAD_PENDING) { /* being read ahead: wait for it */
        c->ra.wait = ra;
        c->send_kind = RS_WAIT;
        c->send_filled = false;
        c->send_cqes = 1;
        return 1;
    }
    if (ra) { /* read ahead already: drain from the slot */
        c->staged = rb_ahead_take(c, ra, at, n);
        rb_counter_add(&c->net->m.file_ahead_bytes, c->staged);
        c->send_filled = false;
        c->send_cqes = 1;
        issue_drain(c, false, c->staged, c->send_done + c->staged < total);
        rb_ahead_plan(c, req, e, at + c->staged);
        return 1;
    }
    struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
    c->fill_head = 0;
    if (splice) {
        io_uring_prep_splice(sqe, e->fd, (int64_t)at, c->pipe_fd[1], -1, n, 0);
    } else if (e->direct) {
        /* whole blocks around [at, at + n): the bytes handed out are written and
         * final; the rest of the first and last block is read and not sent */
        uint64_t from = at & ~(uint64_t)(RB_DIO_ALIGN - 1);
        c->fill_head = (uint32_t)(at - from);
        uint32_t len = (c->fill_head + n + RB_DIO_ALIGN - 1) & ~(RB_DIO_ALIGN - 1);
        RB_ASSERT(len <= RB_STAGE_ALLOC); /* the buffer has a block more than the stage */
        io_uring_prep_read(sqe, e->fd, c->stage_buf, len, from);
    } else {
        io_uring_prep_read(sqe, e->fd, c->stage_buf, n, at);
    }
    sqe->flags |= IOSQE_IO_LINK;
    rb_sqe_set_io(sqe, &c->fill_io);
    c->fill_want = n;
    c->stage_off = c->fill_head;
    issue_drain(c, splice, n, c->send_done + n < total);
    c->send_filled = true;
    c->send_cqes = 2;
    if (!splice) {
        rb_counter_add(&c->net->m.file_fill_bytes, n);
        rb_ahead_plan(c, req, e, at + n);
    }
    return 1;
}

int rb_resp_send_issue(struct rb_conn *c, struct rb_request *req)
{
    uint64_t total = req->out.len + req->ext_bytes;
    for (;;) {
        if (c->send_region > 3 * req->n_ext)
            return 0;
        struct region rg;
        region_get(req, c->send_region, &rg);
        if (c->send_off >= rg.len) {
            RB_ASSERT(c->staged == 0);
            c->send_region++;
            c->send_off = 0;
            continue;
        }
        if (rg.kind == RS_FILE)
            return file_issue(c, req, rg.e);
        uint64_t n = rg.len - c->send_off;
        struct io_uring_sqe *sqe = rb_sqe(c->net->shard);
        io_uring_prep_send(sqe, c->fd, rg.mem + c->send_off, (size_t)n,
                           MSG_NOSIGNAL | (c->send_done + n < total ? MSG_MORE : 0));
        rb_sqe_set_io(sqe, &c->send_io);
        c->send_kind = (uint8_t)rg.kind;
        c->send_filled = false;
        c->send_cqes = 1;
        c->drain_res = 0;
        return 1;
    }
}

static void advance(struct rb_conn *c, uint32_t n)
{
    c->send_off += n;
    c->send_done += n;
}

/* Both CQEs of a FILE operation are back. */
static int file_done(struct rb_conn *c, struct rb_request *req)
{
    struct rb_resp_ext *e = &req->ext[c->send_region / 3];
    int read_err = 0;
    if (c->send_filled) {
        if (c->fill_res < 0)
            read_err = c->fill_res;
        else if ((uint32_t)c->fill_res <= c->fill_head)
            read_err = -EIO; /* the file ends before the bytes the log handed out */
        else                 /* an O_DIRECT fill reads whole blocks: only the wanted bytes count */
            c->staged += RB_MIN((uint32_t)c->fill_res - c->fill_head, c->fill_want);
    }
    if (c->drain_res > 0) {
        RB_ASSERT((uint32_t)c->drain_res <= c->staged);
        c->staged -= (uint32_t)c->drain_res;
        c->stage_off = c->staged ? c->stage_off + (uint32_t)c->drain_res : 0;
        advance(c, (uint32_t)c->drain_res);
        if (!c->staged && c->ra.sending)
            rb_ahead_sent(c);
    }
    if (read_err) {
        rb_fetch_read_failed(c->net->shard, e, read_err);
        return read_err;
    }
    if (c->drain_res == -ECANCELED && c->send_filled)
        return 1; /* short fill: the staged bytes go out next */
    if (c->drain_res < 0)
        return c->drain_res;
    if (c->drain_res == 0 && c->staged)
        return -EPIPE;
    return 1;
}

int rb_resp_send_cqe(struct rb_conn *c, struct rb_request *req, int which, int res)
{
    RB_ASSERT(c->send_cqes > 0);
    if (c->send_kind == RS_ERR) {
        c->send_cqes = 0;
        return c->drain_res;
    }
    if (c->send_kind == RS_WAIT) {             /* the slot waited for is read (or failed): */
        RB_ASSERT(which == RB_SEND_CQE_AHEAD); /* the next issue takes or reads it */
        (void)res;
        c->send_cqes = 0;
        return 1;
    }
    RB_ASSERT(which != RB_SEND_CQE_AHEAD); /* only a waited slot's read is part of one */
    if (which == RB_SEND_CQE_FILL) {
        c->fill_res = res;
    } else {
        c->drain_res = res;
    }
    if (--c->send_cqes)
        return 0;
    if (c->send_kind == RS_FILE)
        return file_done(c, req);
    if (c->drain_res < 0)
        return c->drain_res;
    advance(c, (uint32_t)c->drain_res);
    return 1;
}

void rb_resp_send_reset(struct rb_conn *c)
{
    RB_ASSERT(c->send_cqes == 0);
    c->send_region = 0;
    c->send_off = 0;
    c->send_done = 0;
    c->staged = 0;
    c->stage_off = 0;
    rb_ahead_response_done(c);
}

void rb_resp_send_free(struct rb_conn *c)
{
    rb_ahead_free(c);
    if (c->pipe_open) {
        close(c->pipe_fd[0]);
        close(c->pipe_fd[1]);
        c->pipe_open = false;
    }
    if (c->stage_buf)
        rb_net_mem_charge(c->net, -(int64_t)RB_STAGE_ALLOC);
    free(c->stage_buf);
    c->stage_buf = NULL;
}

void rb_resp_ext_release(struct rb_request *req)
{
    for (int i = 0; i < req->n_ext; i++) {
        struct rb_resp_ext *e = &req->ext[i];
        if (e->file_len)
            rb_part_fd_unref(e->fd_ref); /* the owner may close or reuse the fd now */
        free(e->mem);
        e->fd = -1;
        e->fd_ref = NULL;
        e->mem = NULL;
    }
    req->n_ext = 0;
    req->ext_bytes = 0;
}
