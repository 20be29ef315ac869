/*
 * core/shard.c - shard threads, their loop, and inter-thread messages
 * (see core/shard.h for the model).
 *
 * SPSC ring: a power-of-two array of (fn, arg) slots; the producer owns `tail`,
 * the consumer owns `head`, each on its own cache line; release/acquire on the
 * indexes publishes the slots.
 *
 * Sleep/wake (no lost wake-ups): the receiver stores sleeping=1, issues a full
 * fence, re-checks its inboxes, and only then waits in io_uring_enter; a sender
 * pushes, issues a full fence, and sends MSG_RING if it sees sleeping=1. Either
 * the receiver sees the message or the sender sees the flag.
 *
 * Stop: rb_runtime_request_stop (from the main thread, after sigwait) sets
 * `stopping` and writes each thread's eventfd, whose read is armed in its ring.
 *
 * Loop turn (loop_turn) is shared by the thread loop (shard_main: turn, then
 * submit and wait) and the step API (rb_shard_step: turn, then submit through
 * the ring ops, never wait). A simulated shard (s->ops set) never sleeps, so it
 * never needs a MSG_RING wake-up: the simulator steps whichever shard has work.
 */
#include "core/shard.h"
#include "core/logging.h"
#include "core/rb.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SPSC_SLOTS 4096u
#define COMP       "runtime"

struct rb_msg {
    rb_msg_fn fn;
    void *arg;
};

struct rb_spsc {
    _Alignas(64) atomic_uint head;
    _Alignas(64) atomic_uint tail;
    _Alignas(64) struct rb_msg slot[SPSC_SLOTS];
};

struct rb_overflow {
    struct rb_overflow *next;
    struct rb_msg m;
};

struct rb_selfq_item {
    struct rb_selfq_item *next;
    struct rb_msg m;
};

struct shard_priv {
    uint64_t stop_buf;
    struct rb_io stop_io;
};

/* The stop read's buffer outlives shard_main's frame only for simulated shards,
 * which have no thread: theirs lives here, one per thread id. */
static struct shard_priv sim_priv[RB_MAX_THREADS];

static __thread struct rb_shard *self_shard;
static uint32_t ring_entries_cfg = 1024;

struct rb_shard *rb_self(void)
{
    return self_shard;
}

static bool spsc_push(struct rb_spsc *q, struct rb_msg m)
{
    unsigned t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    unsigned h = atomic_load_explicit(&q->head, memory_order_acquire);
    if (t - h >= SPSC_SLOTS)
        return false;
    q->slot[t & (SPSC_SLOTS - 1)] = m;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return true;
}

static bool spsc_empty(struct rb_spsc *q)
{
    return atomic_load_explicit(&q->head, memory_order_relaxed) ==
           atomic_load_explicit(&q->tail, memory_order_acquire);
}

static int spsc_drain(struct rb_shard *s, struct rb_spsc *q, int budget)
{
    unsigned h = atomic_load_explicit(&q->head, memory_order_relaxed);
    unsigned t = atomic_load_explicit(&q->tail, memory_order_acquire);
    int n = 0;
    while (h != t && n < budget) {
        struct rb_msg m = q->slot[h & (SPSC_SLOTS - 1)];
        h++;
        atomic_store_explicit(&q->head, h, memory_order_release);
        m.fn(s, m.arg);
        n++;
    }
    return n;
}

struct io_uring_sqe *rb_sqe(struct rb_shard *s)
{
    if (__builtin_expect(s->ops != NULL, 0)) {
        s->unsubmitted++;
        return s->ops->get_sqe(s);
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    while (!sqe) {
        int r = io_uring_submit(&s->ring);
        if (r < 0 && r != -EAGAIN && r != -EBUSY && r != -EINTR)
            RB_ERROR(COMP, "shard %d: io_uring_submit: %s", s->id, strerror(-r));
        sqe = io_uring_get_sqe(&s->ring);
    }
    s->unsubmitted++;
    return sqe;
}

static void mark_wake(struct rb_shard *from, int to)
{
    from->wake_mask[to / 64] |= 1ull << (to % 64);
}

void rb_post(struct rb_shard *from, int to, rb_msg_fn fn, void *arg)
{
    RB_ASSERT(from && to >= 0 && to < from->rt->n_threads);
    struct rb_msg m = {fn, arg};
    if (to == from->id) {
        struct rb_selfq_item *it = malloc(sizeof(*it));
        RB_ASSERT(it); /* out of memory for a closure: nothing sane to do */
        it->next = NULL;
        it->m = m;
        if (from->self_tail)
            from->self_tail->next = it;
        else
            from->self_head = it;
        from->self_tail = it;
        return;
    }
    struct rb_shard *dst = from->rt->t[to];
    struct rb_spsc *q = dst->inbox[from->id];
    /* Keep FIFO order: once something overflowed, later messages queue behind it. */
    if (!from->overflow[to] && spsc_push(q, m)) {
        mark_wake(from, to);
        return;
    }
    struct rb_overflow *o = malloc(sizeof(*o));
    RB_ASSERT(o);
    o->next = NULL;
    o->m = m;
    struct rb_overflow **pp = &from->overflow[to];
    while (*pp)
        pp = &(*pp)->next;
    *pp = o;
}

static void push_overflow(struct rb_shard *s)
{
    for (int to = 0; to < s->rt->n_threads; to++) {
        struct rb_overflow *o = s->overflow[to];
        if (!o)
            continue;
        struct rb_spsc *q = s->rt->t[to]->inbox[s->id];
        while (o && spsc_push(q, o->m)) {
            struct rb_overflow *next = o->next;
            free(o);
            o = next;
            mark_wake(s, to);
        }
        s->overflow[to] = o;
    }
}

static void send_wakeups(struct rb_shard *s)
{
    atomic_thread_fence(memory_order_seq_cst);
    for (int w = 0; w < 2; w++) {
        uint64_t m = s->wake_mask[w];
        while (m) {
            int bit = __builtin_ctzll(m);
            m &= m - 1;
            struct rb_shard *dst = s->rt->t[w * 64 + bit];
            if (atomic_load_explicit(&dst->sleeping, memory_order_seq_cst)) {
                struct io_uring_sqe *sqe = rb_sqe(s);
                io_uring_prep_msg_ring(sqe, dst->ring_fd, 0, 0, 0);
                io_uring_sqe_set_data(sqe, NULL);
                sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
                s->stat_wakeups_sent++;
            }
        }
        s->wake_mask[w] = 0;
    }
}

static bool inboxes_pending(struct rb_shard *s)
{
    if (s->self_head)
        return true;
    for (int j = 0; j < s->rt->n_threads; j++)
        if (j != s->id && !spsc_empty(s->inbox[j]))
            return true;
    return false;
}

static int drain_inboxes(struct rb_shard *s)
{
    int n = 0;
    for (int j = 0; j < s->rt->n_threads; j++)
        if (j != s->id)
            n += spsc_drain(s, s->inbox[j], 256);
    /* Self-posted closures queued during this drain run next turn. */
    struct rb_selfq_item *it = s->self_head;
    s->self_head = s->self_tail = NULL;
    while (it) {
        struct rb_selfq_item *next = it->next;
        it->m.fn(s, it->m.arg);
        free(it);
        it = next;
        n++;
    }
    s->stat_msgs_in += (uint64_t)n;
    return n;
}

static void stop_read_done(struct rb_io *io, int res, unsigned flags)
{
    (void)io;
    (void)res;
    (void)flags;
    /* Nothing to do: the loop checks rt->stopping every turn. */
}

static void arm_stop_read(struct rb_shard *s, struct shard_priv *p)
{
    struct io_uring_sqe *sqe = rb_sqe(s);
    io_uring_prep_read(sqe, s->stop_efd, &p->stop_buf, sizeof(p->stop_buf), 0);
    rb_sqe_set_io(sqe, &p->stop_io);
}

static int reap(struct rb_shard *s)
{
    if (s->ops)
        return s->ops->reap(s);
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&s->ring, head, cqe)
    {
        struct rb_io *io = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        unsigned flags = cqe->flags;
        n++;
        if (io)
            io->cb(io, res, flags);
    }
    io_uring_cq_advance(&s->ring, n);
    return (int)n;
}

static bool overflow_pending(const struct rb_shard *s)
{
    for (int j = 0; j < s->rt->n_threads; j++)
        if (s->overflow[j])
            return true;
    return false;
}

static void wait_for_work(struct rb_shard *s)
{
    int64_t next = rb_timers_next(&s->timers);
    /* Nobody wakes a sender when its receiver frees ring slots: while messages
     * wait in an overflow list, sleep at most 1 ms so push_overflow retries. */
    if (overflow_pending(s))
        next = RB_MIN(next, rb_mono_ms() + 1);
    atomic_store_explicit(&s->sleeping, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    bool busy =
        inboxes_pending(s) || io_uring_cq_ready(&s->ring) > 0 || s->wake_mask[0] || s->wake_mask[1];
    struct io_uring_cqe *cqe = NULL;
    rb_counter_add(&s->stat_ring_enters, 1);
    rb_counter_add(&s->stat_sqes, (uint64_t)s->unsubmitted);
    if (busy || next <= rb_mono_ms()) {
        atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
        /* Do not wait, but do run the ring's deferred task work (DEFER_TASKRUN
         * completes I/O only when the task asks for events): a plain submit
         * here starved every socket while work stayed pending turn after turn
         * (stepped validation, a busy inbox). */
        io_uring_submit_and_get_events(&s->ring);
    } else if (next == INT64_MAX) {
        io_uring_submit_and_wait(&s->ring, 1);
    } else {
        int64_t wait_ms = next - rb_mono_ms();
        if (wait_ms < 0)
            wait_ms = 0;
        struct __kernel_timespec ts = {.tv_sec = wait_ms / 1000,
                                       .tv_nsec = (wait_ms % 1000) * 1000000};
        io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
    }
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
    s->unsubmitted = 0;
}

/* One loop turn up to (not including) the wait. Returns false once stopped. */
static bool loop_turn(struct rb_shard *s)
{
    reap(s);
    s->now_ms = rb_mono_ms();
    rb_timers_run(&s->timers, s->now_ms);
    drain_inboxes(s);
    if (atomic_load_explicit(&s->rt->stopping, memory_order_relaxed)) {
        if (!s->stop_called) {
            s->stop_called = true;
            if (s->hooks.stop)
                s->hooks.stop(s);
        }
        if (!s->hooks.stop_done || s->hooks.stop_done(s))
            return false;
    }
    if (s->hooks.turn)
        s->hooks.turn(s);
    push_overflow(s);
    send_wakeups(s);
    return true;
}

int rb_shard_boot(struct rb_shard *s)
{
    RB_ASSERT(s->ops);
    self_shard = s;
    struct shard_priv *p = &sim_priv[s->id];
    p->stop_io.cb = stop_read_done;
    s->now_ms = rb_mono_ms();
    int r = s->hooks.start ? s->hooks.start(s) : 0;
    if (r < 0)
        return r;
    arm_stop_read(s, p);
    s->ops->submit(s);
    s->unsubmitted = 0;
    return 0;
}

bool rb_shard_step(struct rb_shard *s)
{
    RB_ASSERT(s->ops);
    self_shard = s;
    bool more = loop_turn(s);
    s->ops->submit(s);
    s->unsubmitted = 0;
    return more;
}

bool rb_shard_has_work(struct rb_shard *s)
{
    return inboxes_pending(s) || overflow_pending(s) || (s->ops && s->ops->cq_ready(s)) ||
           s->wake_mask[0] || s->wake_mask[1];
}

void rb_shard_finish(struct rb_shard *s)
{
    self_shard = s;
    if (s->hooks.finish)
        s->hooks.finish(s);
    s->ops->submit(s);
}

int rb_ring_register_buf_ring(struct rb_shard *s, struct io_uring_buf_reg *reg)
{
    if (s->ops)
        return s->ops->register_buf_ring(s, reg);
    return io_uring_register_buf_ring(&s->ring, reg, 0);
}

int rb_ring_unregister_buf_ring(struct rb_shard *s, int bgid)
{
    if (s->ops)
        return s->ops->unregister_buf_ring(s, bgid);
    return io_uring_unregister_buf_ring(&s->ring, bgid);
}

static void pin_cpu(struct rb_shard *s)
{
    if (s->cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(s->cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (r)
        RB_WARN(COMP, "shard %d: cannot pin to cpu %d: %s", s->id, s->cpu, strerror(r));
}

static int ring_setup(struct rb_shard *s)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN |
              IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    p.cq_entries = ring_entries_cfg * 8;
    int r = io_uring_queue_init_params(ring_entries_cfg, &s->ring, &p);
    if (r < 0)
        return r;
    s->ring_fd = s->ring.ring_fd;
    return 0;
}

static void *shard_main(void *arg)
{
    struct rb_shard *s = arg;
    struct shard_priv priv;
    self_shard = s;
    atomic_store(&s->tid, (int)gettid());
    pin_cpu(s);
    char name[16];
    snprintf(name, sizeof(name), s->is_coord ? "rb-coord" : "rb-shard-%d", s->id);
    pthread_setname_np(pthread_self(), name);

    int r = ring_setup(s);
    if (r < 0) {
        RB_ERROR(COMP, "thread %d: io_uring_queue_init: %s", s->id, strerror(-r));
        atomic_fetch_add(&s->rt->start_errors, 1);
        pthread_barrier_wait(&s->rt->ready);
        return NULL;
    }
    priv.stop_io.cb = stop_read_done;
    s->now_ms = rb_mono_ms();
    r = s->hooks.start ? s->hooks.start(s) : 0;
    if (r < 0)
        atomic_fetch_add(&s->rt->start_errors, 1);
    pthread_barrier_wait(&s->rt->ready);
    if (atomic_load(&s->rt->start_errors))
        goto out;
    arm_stop_read(s, &priv);

    while (loop_turn(s))
        wait_for_work(s);
out:
    if (s->hooks.finish)
        s->hooks.finish(s);
    /* The eventfd read may still be pending: the ring's exit cancels it. */
    io_uring_queue_exit(&s->ring);
    return NULL;
}

int rb_runtime_init(struct rb_runtime *rt, int n_shards, uint32_t ring_entries)
{
    RB_ASSERT(n_shards >= 1 && n_shards < RB_MAX_THREADS);
    memset(rt, 0, sizeof(*rt));
    rt->n_shards = n_shards;
    rt->n_threads = n_shards + 1;
    /* here, not in rb_runtime_start: a simulated runtime is never started */
    pthread_barrier_init(&rt->ready, NULL, (unsigned)rt->n_threads + 1);
    ring_entries_cfg = ring_entries;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < rt->n_threads; i++) {
        struct rb_shard *s = calloc(1, sizeof(*s));
        if (!s)
            return -ENOMEM;
        rt->t[i] = s;
        s->id = i;
        s->rt = rt;
        s->is_coord = (i == n_shards);
        s->cpu = (!s->is_coord && n_shards <= ncpu) ? i : -1;
        rb_timers_init(&s->timers);
        int efd = eventfd(0, EFD_CLOEXEC);
        if (efd < 0)
            return -errno;
        s->stop_efd = efd;
    }
    for (int i = 0; i < rt->n_threads; i++) {
        for (int j = 0; j < rt->n_threads; j++) {
            if (i == j)
                continue;
            struct rb_spsc *q = aligned_alloc(64, sizeof(struct rb_spsc));
            if (!q)
                return -ENOMEM;
            atomic_init(&q->head, 0);
            atomic_init(&q->tail, 0);
            rt->t[i]->inbox[j] = q;
        }
    }
    return 0;
}

int rb_runtime_start(struct rb_runtime *rt)
{
    for (int i = 0; i < rt->n_threads; i++) {
        int r = pthread_create(&rt->t[i]->thread, NULL, shard_main, rt->t[i]);
        if (r)
            return -r;
    }
    pthread_barrier_wait(&rt->ready);
    if (atomic_load(&rt->start_errors)) {
        rb_runtime_request_stop(rt);
        rb_runtime_join(rt);
        return -EIO;
    }
    return 0;
}

void rb_runtime_request_stop(struct rb_runtime *rt)
{
    atomic_store(&rt->stopping, true);
    for (int i = 0; i < rt->n_threads; i++) {
        uint64_t one = 1;
        ssize_t w RB_UNUSED = write(rt->t[i]->stop_efd, &one, sizeof(one));
    }
}

void rb_runtime_join(struct rb_runtime *rt)
{
    for (int i = 0; i < rt->n_threads; i++)
        pthread_join(rt->t[i]->thread, NULL);
}

void rb_runtime_free(struct rb_runtime *rt)
{
    for (int i = 0; i < rt->n_threads; i++) {
        struct rb_shard *s = rt->t[i];
        if (!s)
            continue;
        for (int j = 0; j < rt->n_threads; j++) {
            free(s->inbox[j]);
            struct rb_overflow *o = s->overflow[j];
            while (o) {
                struct rb_overflow *n = o->next;
                free(o);
                o = n;
            }
        }
        rb_timers_free(&s->timers);
        close(s->stop_efd);
        free(s);
        rt->t[i] = NULL;
    }
    pthread_barrier_destroy(&rt->ready);
}

int rb_uring_probe(char *why, size_t whylen)
{
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = io_uring_queue_init_params(8, &ring, &p);
    if (r < 0) {
        if (r == -ENOSYS || r == -EPERM)
            snprintf(why, whylen,
                     "io_uring is unavailable (%s): the kernel has it disabled "
                     "(sysctl kernel.io_uring_disabled) or a seccomp profile blocks "
                     "io_uring_setup; in a container run with --privileged or a seccomp "
                     "profile that allows io_uring_setup/io_uring_enter/io_uring_register",
                     strerror(-r));
        else if (r == -EINVAL)
            snprintf(why, whylen,
                     "io_uring lacks SINGLE_ISSUER/DEFER_TASKRUN (%s): Linux 6.1 or newer is "
                     "required",
                     strerror(-r));
        else
            snprintf(why, whylen, "io_uring_setup failed: %s", strerror(-r));
        return r;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    static const struct {
        int op;
        const char *name;
    } need[] = {{IORING_OP_ACCEPT, "ACCEPT"},
                {IORING_OP_RECV, "RECV"},
                {IORING_OP_SEND, "SEND"},
                {IORING_OP_WRITEV, "WRITEV"},
                {IORING_OP_FSYNC, "FSYNC"},
                {IORING_OP_READ, "READ"},
                {IORING_OP_SPLICE, "SPLICE"},
                {IORING_OP_NOP, "NOP"},
                {IORING_OP_MSG_RING, "MSG_RING"},
                {IORING_OP_CLOSE, "CLOSE"},
                {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
                {IORING_OP_FALLOCATE, "FALLOCATE"},
                {IORING_OP_OPENAT, "OPENAT"},
                {IORING_OP_RENAMEAT, "RENAMEAT"},
                {RB_IORING_OP_FTRUNCATE, "FTRUNCATE (Linux 6.9+)"}};
    r = 0;
    for (size_t i = 0; probe && i < RB_ARRAY_LEN(need); i++) {
        if (!io_uring_opcode_supported(probe, need[i].op)) {
            snprintf(why, whylen, "io_uring lacks opcode %s: a newer kernel is required",
                     need[i].name);
            r = -ENOTSUP;
            break;
        }
    }
    if (!probe) {
        snprintf(why, whylen, "io_uring probe failed");
        r = -ENOTSUP;
    }
    if (!r && !(p.features & IORING_FEAT_EXT_ARG)) {
        snprintf(why, whylen, "io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11+ required)");
        r = -ENOTSUP;
    }
    if (probe)
        io_uring_free_probe(probe);
    io_uring_queue_exit(&ring);
    return r;
}
