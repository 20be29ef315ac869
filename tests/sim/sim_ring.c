/*
 * tests/sim/sim_ring.c - a simulated io_uring: an SQE interpreter behind
 * struct rb_ring_ops (core/shard.h).
 *
 * Each SQE a shard gets is kept until the shard submits; submitted ops get a
 * completion instant from the seed (a few microseconds, sometimes much later,
 * so completions are delayed and reordered) and are carried out at that instant
 * as the equivalent non-blocking syscall on the real descriptor: files are real
 * files in the run's directory, sockets are socketpair()s whose other end a
 * simulated client holds. An op that would block (recv with no data, send to a
 * full socket, accept with no pending connection, an eventfd read) waits until
 * poll() says it can go on, then gets a new completion instant. Multishot
 * ACCEPT and RECV post CQEs with IORING_CQE_F_MORE until they end; RECV with
 * IOSQE_BUFFER_SELECT takes buffers from the io_uring_buf_ring memory the
 * broker registered, exactly as the kernel does (head kept here, tail written
 * by the broker). IOSQE_IO_LINK chains run in order; a failed link cancels the
 * rest. IOSQE_CQE_SKIP_SUCCESS is honoured. MSG_RING is a no-op: simulated
 * shards never sleep, the simulator steps whichever has work.
 *
 * Faults (struct sim_faults): delayed completions, short recv/send, write EIO,
 * ENOSPC on write and fallocate, fdatasync EIO (the file's unsynced writes are
 * then lost, sim_disk.c). fdatasync itself is not called: durability is the
 * disk model's, which also makes a run fast.
 *
 * Everything here runs on the simulator's one thread (shards are stepped from
 * it, sim_world.c).
 */
#include "tests/sim/sim.h"
#include "core/rb.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct sim_op {
    struct io_uring_sqe sqe;
    struct rb_shard *s;
    int64_t due_ns; /* INT64_MAX while blocked */
    uint64_t seq;
    struct sim_op *link; /* the next op of an IO_LINK chain, started after this one */
};

struct sim_cqe {
    uint64_t user_data;
    int res;
    unsigned flags;
};

struct sim_ring {
    struct sim_op **unsub;
    int n_unsub, cap_unsub;
    struct sim_cqe *cq;
    int cq_head, n_cq, cap_cq;
    struct io_uring_buf_ring *br;
    unsigned br_entries;
    uint16_t br_head;
    int bgid;
};

static struct sim_op **inflight;
static int n_inflight, cap_inflight;
static uint64_t op_seq;
static int *pending_conns;
static int n_pending_conns, cap_pending_conns;

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = realloc((arr), (size_t)(cap) * sizeof(*(arr)));                                \
            RB_ASSERT(arr);                                                                        \
        }                                                                                          \
    } while (0)

static struct sim_ring *ring_of(struct rb_shard *s)
{
    return s->ops_ctx;
}

static int64_t pick_delay_ns(void)
{
    int64_t d = 1000 + (int64_t)sim_below(20000);
    if (sim_faults.delay_ppm && sim_chance(sim_faults.delay_ppm))
        d += (int64_t)sim_below((uint64_t)sim_faults.delay_max_us * 1000 + 1);
    return d;
}

static void schedule(struct sim_op *op)
{
    op->due_ns = sim_now_ns + pick_delay_ns();
    op->seq = ++op_seq;
    GROW(inflight, n_inflight, cap_inflight);
    inflight[n_inflight++] = op;
}

static void post_cqe(struct sim_op *op, int res, unsigned flags)
{
    uint64_t x = (uint64_t)op->sqe.opcode << 56 ^ (uint64_t)(uint32_t)res << 24 ^ flags;
    sim_stats.fingerprint = (sim_stats.fingerprint ^ x ^ (uint64_t)sim_now_ns) * 0x100000001b3ull;
    if ((op->sqe.flags & IOSQE_CQE_SKIP_SUCCESS) && res >= 0)
        return;
    struct sim_ring *r = ring_of(op->s);
    if (r->cq_head > 0 && r->cq_head == r->n_cq)
        r->cq_head = r->n_cq = 0;
    GROW(r->cq, r->n_cq, r->cap_cq);
    r->cq[r->n_cq++] = (struct sim_cqe){op->sqe.user_data, res, flags};
}

/* ---- ops table ---- */

static struct io_uring_sqe *ring_get_sqe(struct rb_shard *s)
{
    struct sim_ring *r = ring_of(s);
    struct sim_op *op = calloc(1, sizeof(*op));
    RB_ASSERT(op);
    op->s = s;
    GROW(r->unsub, r->n_unsub, r->cap_unsub);
    r->unsub[r->n_unsub++] = op;
    return &op->sqe;
}

static int ring_submit(struct rb_shard *s)
{
    struct sim_ring *r = ring_of(s);
    struct sim_op *prev = NULL;
    int n = r->n_unsub;
    for (int i = 0; i < n; i++) {
        struct sim_op *op = r->unsub[i];
        if (prev && (prev->sqe.flags & IOSQE_IO_LINK))
            prev->link = op; /* started when prev completes */
        else
            schedule(op);
        prev = op;
    }
    r->n_unsub = 0;
    return n;
}

static int ring_reap(struct rb_shard *s)
{
    struct sim_ring *r = ring_of(s);
    int n = 0;
    while (r->cq_head < r->n_cq) {
        struct sim_cqe c = r->cq[r->cq_head++];
        n++;
        struct rb_io *io = (struct rb_io *)(uintptr_t)c.user_data;
        if (io)
            io->cb(io, c.res, c.flags);
    }
    r->cq_head = r->n_cq = 0;
    return n;
}

static bool ring_cq_ready(struct rb_shard *s)
{
    struct sim_ring *r = ring_of(s);
    return r->cq_head < r->n_cq;
}

static int ring_register_buf_ring(struct rb_shard *s, struct io_uring_buf_reg *reg)
{
    struct sim_ring *r = ring_of(s);
    r->br = (struct io_uring_buf_ring *)(uintptr_t)reg->ring_addr;
    r->br_entries = reg->ring_entries;
    r->br_head = 0;
    r->bgid = reg->bgid;
    return 0;
}

static int ring_unregister_buf_ring(struct rb_shard *s, int bgid)
{
    struct sim_ring *r = ring_of(s);
    if (!r->br || r->bgid != bgid)
        return -ENOENT;
    r->br = NULL;
    return 0;
}

const struct rb_ring_ops sim_ring_ops = {
    .get_sqe = ring_get_sqe,
    .submit = ring_submit,
    .reap = ring_reap,
    .cq_ready = ring_cq_ready,
    .register_buf_ring = ring_register_buf_ring,
    .unregister_buf_ring = ring_unregister_buf_ring,
};

void sim_ring_attach(struct rb_shard *s)
{
    struct sim_ring *r = calloc(1, sizeof(*r));
    RB_ASSERT(r);
    s->ops = &sim_ring_ops;
    s->ops_ctx = r;
}

void sim_net_connect(int fd)
{
    GROW(pending_conns, n_pending_conns, cap_pending_conns);
    pending_conns[n_pending_conns++] = fd;
}

/* ---- the interpreter ---- */

enum exec_result { EX_DONE, EX_BLOCKED, EX_MORE };

static bool fd_ready(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    return poll(&p, 1, 0) > 0 && p.revents;
}

static bool is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t maybe_short(size_t len)
{
    if (len > 1 && sim_faults.short_io_ppm && sim_chance(sim_faults.short_io_ppm))
        return 1 + sim_below(len - 1);
    return len;
}

static enum exec_result ex_recv(struct sim_op *op, int *res, unsigned *flags)
{
    struct io_uring_sqe *q = &op->sqe;
    struct sim_ring *r = ring_of(op->s);
    bool multishot = q->ioprio & IORING_RECV_MULTISHOT;
    void *addr = (void *)(uintptr_t)q->addr;
    size_t len = q->len;
    int bid = -1;
    if (!fd_ready(q->fd, POLLIN | POLLRDHUP))
        return EX_BLOCKED;
    if (q->flags & IOSQE_BUFFER_SELECT) {
        if (!r->br || __atomic_load_n(&r->br->tail, __ATOMIC_ACQUIRE) == r->br_head) {
            *res = -ENOBUFS;
            return EX_DONE;
        }
        struct io_uring_buf *b = &r->br->bufs[r->br_head & (r->br_entries - 1)];
        addr = (void *)(uintptr_t)b->addr;
        len = b->len;
        bid = b->bid;
    }
    ssize_t n = recv(q->fd, addr, maybe_short(len), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return EX_BLOCKED;
    if (n <= 0) { /* EOF or error: no buffer consumed, the multishot ends */
        *res = n < 0 ? -errno : 0;
        return EX_DONE;
    }
    *res = (int)n;
    if (bid >= 0) {
        r->br_head++;
        *flags |= IORING_CQE_F_BUFFER | ((unsigned)bid << IORING_CQE_BUFFER_SHIFT);
    }
    return multishot ? EX_MORE : EX_DONE;
}

static enum exec_result ex_send(struct sim_op *op, int *res)
{
    struct io_uring_sqe *q = &op->sqe;
    if (!fd_ready(q->fd, POLLOUT))
        return EX_BLOCKED;
    ssize_t n = send(q->fd, (void *)(uintptr_t)q->addr, maybe_short(q->len),
                     (int)q->msg_flags | MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return EX_BLOCKED;
    *res = n < 0 ? -errno : (int)n;
    return EX_DONE;
}

static enum exec_result ex_splice(struct sim_op *op, int *res)
{
    struct io_uring_sqe *q = &op->sqe;
    int64_t off_in = (int64_t)q->splice_off_in;
    loff_t o = off_in;
    if (!is_regular(q->fd) && !fd_ready(q->fd, POLLOUT))
        return EX_BLOCKED;
    ssize_t n = splice(q->splice_fd_in, off_in == -1 ? NULL : &o, q->fd, NULL, q->len,
                       q->splice_flags | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EAGAIN)
        return EX_BLOCKED;
    *res = n < 0 ? -errno : (int)n;
    return EX_DONE;
}

static int ex_writev(struct sim_op *op)
{
    struct io_uring_sqe *q = &op->sqe;
    const struct iovec *iov = (const struct iovec *)(uintptr_t)q->addr;
    uint64_t total = 0;
    for (unsigned i = 0; i < q->len; i++)
        total += iov[i].iov_len;
    sim_stats.writes++;
    if (sim_faults.enospc_ppm && sim_chance(sim_faults.enospc_ppm)) {
        sim_stats.enospc++;
        return -ENOSPC;
    }
    if (sim_faults.write_eio_ppm && sim_chance(sim_faults.write_eio_ppm)) {
        sim_stats.write_err++;
        return -EIO;
    }
    sim_disk_before_write(q->fd, q->off, total);
    ssize_t n = pwritev(q->fd, iov, (int)q->len, (off_t)q->off);
    return n < 0 ? -errno : (int)n;
}

static int ex_fsync(struct sim_op *op)
{
    sim_stats.syncs++;
    if (sim_faults.fsync_eio_ppm && sim_chance(sim_faults.fsync_eio_ppm)) {
        sim_stats.sync_eio++;
        sim_disk_sync_failed(op->sqe.fd);
        return -EIO;
    }
    sim_disk_synced(op->sqe.fd);
    return 0;
}

static struct sim_op *cancel_target(struct rb_shard *s, uint64_t user_data)
{
    for (int i = 0; i < n_inflight; i++) {
        struct sim_op *t = inflight[i];
        if (t && t->s == s && t->sqe.user_data == user_data &&
            t->sqe.opcode != IORING_OP_ASYNC_CANCEL) {
            inflight[i] = NULL;
            return t;
        }
    }
    return NULL;
}

static void finish_chain(struct sim_op *op, int res);

static enum exec_result exec(struct sim_op *op, int *res, unsigned *flags)
{
    struct io_uring_sqe *q = &op->sqe;
    *res = 0;
    *flags = 0;
    switch (q->opcode) {
    case IORING_OP_NOP:
    case IORING_OP_MSG_RING:
        return EX_DONE;
    case IORING_OP_ACCEPT:
        if (!n_pending_conns)
            return EX_BLOCKED;
        *res = pending_conns[0];
        memmove(pending_conns, pending_conns + 1, (size_t)--n_pending_conns * sizeof(int));
        sim_stats.conns++;
        return (q->ioprio & IORING_ACCEPT_MULTISHOT) ? EX_MORE : EX_DONE;
    case IORING_OP_RECV:
        return ex_recv(op, res, flags);
    case IORING_OP_SEND:
        return ex_send(op, res);
    case IORING_OP_SPLICE:
        return ex_splice(op, res);
    case IORING_OP_READ: {
        if (!is_regular(q->fd) && !fd_ready(q->fd, POLLIN))
            return EX_BLOCKED;
        ssize_t n = (int64_t)q->off == -1
                        ? read(q->fd, (void *)(uintptr_t)q->addr, q->len)
                        : pread(q->fd, (void *)(uintptr_t)q->addr, q->len, (off_t)q->off);
        *res = n < 0 ? -errno : (int)n;
        return EX_DONE;
    }
    case IORING_OP_WRITEV:
        *res = ex_writev(op);
        return EX_DONE;
    case IORING_OP_FSYNC:
        *res = ex_fsync(op);
        return EX_DONE;
    case IORING_OP_FALLOCATE:
        if (sim_faults.enospc_ppm && sim_chance(sim_faults.enospc_ppm)) {
            sim_stats.enospc++;
            *res = -ENOSPC;
        } else {
            *res = fallocate(q->fd, (int)q->len, (off_t)q->off, (off_t)q->addr) ? -errno : 0;
        }
        return EX_DONE;
    case IORING_OP_OPENAT: {
        int fd =
            openat(q->fd, (const char *)(uintptr_t)q->addr, (int)q->open_flags, (mode_t)q->len);
        *res = fd < 0 ? -errno : fd;
        return EX_DONE;
    }
    case IORING_OP_RENAMEAT:
        *res = renameat2(q->fd, (const char *)(uintptr_t)q->addr, (int)q->len,
                         (const char *)(uintptr_t)q->off, q->rename_flags)
                   ? -errno
                   : 0;
        return EX_DONE;
    case RB_IORING_OP_FTRUNCATE:
        *res = ftruncate(q->fd, (off_t)q->off) ? -errno : 0;
        return EX_DONE;
    case IORING_OP_CLOSE:
        *res = close(q->fd) ? -errno : 0;
        return EX_DONE;
    case IORING_OP_ASYNC_CANCEL: {
        struct sim_op *t = cancel_target(op->s, q->addr);
        if (!t) {
            *res = -ENOENT;
            return EX_DONE;
        }
        post_cqe(t, -ECANCELED, 0);
        finish_chain(t, -ECANCELED);
        return EX_DONE;
    }
    default:
        RB_ASSERT(!"sim: opcode not modelled");
        return EX_DONE;
    }
}

/* op is done (already out of inflight): start or cancel its linked successors. */
static void finish_chain(struct sim_op *op, int res)
{
    struct sim_op *next = op->link;
    free(op);
    while (next) {
        if (res >= 0) {
            schedule(next);
            return;
        }
        post_cqe(next, -ECANCELED, 0);
        struct sim_op *after = next->link;
        free(next);
        next = after;
    }
}

static bool blocked_ready(struct sim_op *op)
{
    struct io_uring_sqe *q = &op->sqe;
    switch (q->opcode) {
    case IORING_OP_ACCEPT:
        return n_pending_conns > 0;
    case IORING_OP_RECV:
    case IORING_OP_READ:
        return fd_ready(q->fd, POLLIN | POLLRDHUP);
    case IORING_OP_SEND:
    case IORING_OP_SPLICE:
        return fd_ready(q->fd, POLLOUT);
    default:
        return true;
    }
}

int64_t sim_ring_next_due(void)
{
    int64_t due = INT64_MAX;
    for (int i = 0; i < n_inflight; i++)
        if (inflight[i] && inflight[i]->due_ns < due)
            due = inflight[i]->due_ns;
    return due;
}

int sim_ring_inflight(void)
{
    return n_inflight;
}

static int pick_due(void)
{
    int best = -1;
    for (int i = 0; i < n_inflight; i++) {
        struct sim_op *op = inflight[i];
        if (!op || op->due_ns > sim_now_ns)
            continue;
        if (best < 0 || op->due_ns < inflight[best]->due_ns ||
            (op->due_ns == inflight[best]->due_ns && op->seq < inflight[best]->seq))
            best = i;
    }
    return best;
}

static void compact(void)
{
    int j = 0;
    for (int i = 0; i < n_inflight; i++)
        if (inflight[i])
            inflight[j++] = inflight[i];
    n_inflight = j;
}

int sim_ring_run_due(void)
{
    int ran = 0;
    for (int i = 0; i < n_inflight; i++) {
        struct sim_op *op = inflight[i];
        if (op && op->due_ns == INT64_MAX && blocked_ready(op)) {
            op->due_ns = sim_now_ns + pick_delay_ns();
            op->seq = ++op_seq;
        }
    }
    for (;;) {
        int i = pick_due();
        if (i < 0)
            break;
        struct sim_op *op = inflight[i];
        int res;
        unsigned flags;
        enum exec_result er = exec(op, &res, &flags);
        sim_stats.ops++;
        ran++;
        if (inflight[i] != op) /* cancelled itself (cannot happen) */
            continue;
        if (er == EX_BLOCKED) {
            op->due_ns = INT64_MAX;
            continue;
        }
        if (er == EX_MORE) {
            post_cqe(op, res, flags | IORING_CQE_F_MORE);
            op->due_ns = blocked_ready(op) ? sim_now_ns + pick_delay_ns() : INT64_MAX;
            op->seq = ++op_seq;
            continue;
        }
        inflight[i] = NULL;
        post_cqe(op, res, flags);
        finish_chain(op, res);
    }
    compact();
    return ran;
}
