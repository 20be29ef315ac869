/*
 * core/shard.h - thread-per-core runtime: shards, their io_uring rings, and the
 * messages threads send each other.
 *
 * A runtime has n shard threads (ids 0..n-1, each pinned to a CPU) and one
 * coordination thread (id n). Each owns one io_uring ring created inside the
 * thread with SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN, its timers and its
 * objects; nothing a thread owns is touched by another thread.
 *
 * Messages: every ordered pair of threads has a bounded SPSC ring of closures
 * (fn, arg). rb_post() pushes; when the ring is full the message waits in the
 * sender's own overflow list and is pushed on a later loop turn, so a send never
 * blocks and never fails. A sleeping receiver is woken with IORING_OP_MSG_RING;
 * wake-ups are batched: at most one per receiver per loop turn. Posting to
 * oneself queues the closure for this loop turn (never runs inline).
 *
 * Completions: user_data of every SQE points at a struct rb_io whose cb gets the
 * CQE's result and flags; MSG_RING wake-ups carry user_data 0.
 *
 * Loop turn: reap CQEs -> run expired timers -> drain inboxes -> run the hooks
 * (flush cycles) -> push overflow, send wake-ups -> submit and wait.
 *
 * Ring ops: a shard talks to the kernel's io_uring unless s->ops is set (before
 * the shard starts); then SQEs, submission, completions and buffer-ring
 * registration go through that table (the deterministic simulator's ring,
 * tests/sim/). The real ring costs one pointer test per call. A simulated shard
 * has no thread of its own: the simulator calls rb_shard_boot, then
 * rb_shard_step for one loop turn at a time (never waiting), then
 * rb_shard_finish, from whichever thread it chooses.
 */
#ifndef RB_CORE_SHARD_H
#define RB_CORE_SHARD_H

#include "core/metrics.h"
#include "core/timer.h"

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define RB_MAX_THREADS 65
/* Opcodes Debian's liburing 2.3 has no name for (the probe checks them). */
#define RB_IORING_OP_FTRUNCATE 55

struct rb_shard;

struct rb_io {
    void (*cb)(struct rb_io *io, int res, unsigned cqe_flags);
};

typedef void (*rb_msg_fn)(struct rb_shard *self, void *arg);

struct rb_spsc;
struct rb_overflow;

/* A substitute for the kernel ring (see the note at the top). get_sqe never
 * returns NULL; the SQE stays valid until the next submit. submit hands the
 * SQEs got so far to the ring; reap delivers every completion ready now (calls
 * each rb_io's cb) and returns how many; cq_ready says whether any is ready. */
struct rb_ring_ops {
    struct io_uring_sqe *(*get_sqe)(struct rb_shard *s);
    int (*submit)(struct rb_shard *s);
    int (*reap)(struct rb_shard *s);
    bool (*cq_ready)(struct rb_shard *s);
    int (*register_buf_ring)(struct rb_shard *s, struct io_uring_buf_reg *reg);
    int (*unregister_buf_ring)(struct rb_shard *s, int bgid);
};

struct rb_shard_hooks {
    /* Called once in the thread after its ring exists, before the loop. */
    int (*start)(struct rb_shard *s);
    /* Called every loop turn before waiting (e.g. start flush cycles). */
    void (*turn)(struct rb_shard *s);
    /* Called once in the thread when the runtime stops; the loop keeps turning
     * until stop_done returns true (in-flight I/O drained). */
    void (*stop)(struct rb_shard *s);
    bool (*stop_done)(struct rb_shard *s);
    /* Called after the loop, in the thread (close files, free). */
    void (*finish)(struct rb_shard *s);
};

struct rb_runtime {
    int n_shards;  /* shard threads; the coordination thread has id n_shards */
    int n_threads; /* n_shards + 1 */
    struct rb_shard *t[RB_MAX_THREADS];
    atomic_bool stopping;
    pthread_barrier_t ready;
    atomic_int start_errors;
};

struct rb_shard {
    int id;
    bool is_coord;
    int cpu; /* -1: not pinned */
    struct rb_runtime *rt;
    struct io_uring ring;
    int ring_fd;
    const struct rb_ring_ops *ops; /* NULL: the kernel's io_uring (ring) */
    void *ops_ctx;                 /* the ops' per-shard state */
    pthread_t thread;
    int64_t now_ms; /* monotonic, refreshed every loop turn */
    struct rb_timers timers;
    struct rb_shard_hooks hooks;
    void *net;   /* the network layer's per-shard state */
    void *part;  /* the partition layer's per-shard state (part/part.h) */
    void *coord; /* the coordination layer's state (coord thread) */
    void *app;   /* broker-wide context (set before start) */

    /* messaging */
    struct rb_spsc *inbox[RB_MAX_THREADS]; /* inbox[j]: written by thread j */
    struct rb_overflow *overflow[RB_MAX_THREADS];
    uint64_t wake_mask[2]; /* receivers posted to this turn */
    struct rb_selfq_item *self_head, *self_tail;
    atomic_int sleeping;
    int stop_efd; /* written by rb_runtime_request_stop */
    bool stop_called;
    int unsubmitted;
    uint64_t stat_msgs_in, stat_wakeups_sent;
    /* for the metrics thread (core/metrics.h): the thread's kernel id, its
     * io_uring_enter calls from the loop and the SQEs they submitted */
    _Atomic int tid;
    rb_counter stat_ring_enters, stat_sqes;
};

/* Create the runtime's thread objects (rings are created by each thread). */
int rb_runtime_init(struct rb_runtime *rt, int n_shards, uint32_t ring_entries);
/* Start every thread; returns when all rings exist and start hooks ran (0), or
 * -errno if any failed (the runtime is then stopped and joined). */
int rb_runtime_start(struct rb_runtime *rt);
/* Ask every thread to stop (async-signal-safe store + wake-up through an eventfd). */
void rb_runtime_request_stop(struct rb_runtime *rt);
void rb_runtime_join(struct rb_runtime *rt);
void rb_runtime_free(struct rb_runtime *rt);

/* The calling thread's shard (NULL outside runtime threads). */
struct rb_shard *rb_self(void);

/* Step API (simulated shards, s->ops set; see the note at the top).
 * rb_shard_boot: run the start hook and arm the stop read; 0 or -errno.
 * rb_shard_step: one loop turn without waiting, as the calling thread's shard;
 *   returns false once the shard has stopped (rt->stopping and stop_done).
 * rb_shard_has_work: something to do without a new completion or time passing
 *   (inbox, self-posted or overflowed messages, ready CQEs).
 * rb_shard_finish: the finish hook. */
int rb_shard_boot(struct rb_shard *s);
bool rb_shard_step(struct rb_shard *s);
bool rb_shard_has_work(struct rb_shard *s);
void rb_shard_finish(struct rb_shard *s);

/* Buffer rings through the shard's ring ops (net/conn.c). 0 or -errno. */
int rb_ring_register_buf_ring(struct rb_shard *s, struct io_uring_buf_reg *reg);
int rb_ring_unregister_buf_ring(struct rb_shard *s, int bgid);

/* Get an SQE, submitting queued ones when the SQ is full. Never NULL. */
struct io_uring_sqe *rb_sqe(struct rb_shard *s);
static inline void rb_sqe_set_io(struct io_uring_sqe *sqe, struct rb_io *io)
{
    io_uring_sqe_set_data(sqe, io);
}

/* Send fn(arg) to run on thread `to` (may be the sender itself). Never fails. */
void rb_post(struct rb_shard *from, int to, rb_msg_fn fn, void *arg);

/* Probe the kernel for what the runtime needs. Returns 0 or -errno with a
 * human-readable explanation in why. */
int rb_uring_probe(char *why, size_t whylen);

#endif
