/*
 * tests/unit/test_shard.c - core/shard.[ch]: a real runtime (2 shards + the
 * coordination thread) with trivial hooks. Messages between threads (per-pair
 * FIFO, overflow beyond the 4096-slot ring, posting to oneself never inline and
 * never starving the loop), wake-up of a sleeping thread through MSG_RING,
 * completions through struct rb_io, start failures, stop + join.
 *
 * Every wait is bounded (wait_for) and every test has a Criterion timeout, so a
 * lost message or a hung thread fails the test instead of hanging it.
 */
#include "core/logging.h"
#include "core/shard.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

static struct rb_runtime rt;
static atomic_int errors;
static char first_error[256];

static void quiet(void)
{
    rb_loglevel_max = RB_LL_ERROR;
}

TestSuite(shard, .init = quiet, .timeout = 60);

static void note_error(const char *what, long a, long b)
{
    if (atomic_fetch_add(&errors, 1) == 0)
        snprintf(first_error, sizeof(first_error), "%s (%ld, %ld)", what, a, b);
}

/* Poll an atomic until it reaches want or timeout_ms passes. */
static bool wait_for(atomic_long *v, long want, int timeout_ms)
{
    int64_t end = rb_mono_ms() + timeout_ms;
    while (atomic_load(v) < want) {
        if (rb_mono_ms() > end)
            return false;
        usleep(1000);
    }
    return true;
}

struct join_arg {
    struct rb_runtime *rt;
    atomic_int done;
};

static void *joiner(void *arg)
{
    struct join_arg *j = arg;
    rb_runtime_join(j->rt);
    atomic_store(&j->done, 1);
    return NULL;
}

/* Stop and join with a bound; fails the test if the threads do not exit. */
static void stop_and_join(void)
{
    static struct join_arg j;
    j.rt = &rt;
    atomic_store(&j.done, 0);
    pthread_t th;
    rb_runtime_request_stop(&rt);
    cr_assert_eq(pthread_create(&th, NULL, joiner, &j), 0);
    int64_t end = rb_mono_ms() + WAIT_MS;
    while (!atomic_load(&j.done) && rb_mono_ms() < end)
        usleep(1000);
    cr_assert(atomic_load(&j.done), "runtime threads did not exit after request_stop");
    pthread_join(th, NULL);
}

static void start_rt(int n_shards, const struct rb_shard_hooks *hooks)
{
    cr_assert_eq(rb_runtime_init(&rt, n_shards, 256), 0);
    for (int i = 0; i < rt.n_threads; i++)
        if (hooks)
            rt.t[i]->hooks = hooks[i];
    cr_assert_eq(rb_runtime_start(&rt), 0);
}

static void check_no_errors(void)
{
    cr_assert_eq(atomic_load(&errors), 0, "%d errors, first: %s", atomic_load(&errors),
                 first_error);
}

/* ---- probe, rb_self ---- */

Test(shard, uring_probe_ok)
{
    char why[512] = "";
    int r = rb_uring_probe(why, sizeof(why));
    cr_assert_eq(r, 0, "rb_uring_probe: %d %s", r, why);
}

static struct rb_shard *seen_self[RB_MAX_THREADS];
static int record_self(struct rb_shard *s)
{
    seen_self[s->id] = rb_self();
    return 0;
}

Test(shard, self_is_own_shard_and_null_outside)
{
    cr_assert_null(rb_self());
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 3; i++)
        h[i].start = record_self;
    start_rt(2, h);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(seen_self[i], rt.t[i], "thread %d", i);
    cr_assert(rt.t[2]->is_coord);
    cr_assert(!rt.t[0]->is_coord && !rt.t[1]->is_coord);
    cr_assert_null(rb_self());
    stop_and_join();
    rb_runtime_free(&rt);
}

/* ---- FIFO per pair, all pairs at once ---- */

#define FIFO_N 3000
static long fifo_next[RB_MAX_THREADS][RB_MAX_THREADS]; /* [to][from], touched by `to` only */
static atomic_long fifo_got;

static void fifo_recv(struct rb_shard *self, void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    int from = (int)(v >> 32);
    long seq = (long)(v & 0xffffffffu);
    if (rb_self() != self)
        note_error("closure ran on another thread", self->id, -1);
    if (seq != fifo_next[self->id][from])
        note_error("out of order", seq, fifo_next[self->id][from]);
    fifo_next[self->id][from] = seq + 1;
    atomic_fetch_add(&fifo_got, 1);
}

static int fifo_start(struct rb_shard *s)
{
    for (long k = 0; k < FIFO_N; k++)
        for (int to = 0; to < s->rt->n_threads; to++)
            if (to != s->id)
                rb_post(s, to, fifo_recv, (void *)(((uintptr_t)s->id << 32) | (uintptr_t)k));
    return 0;
}

Test(shard, post_fifo_per_pair)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 3; i++)
        h[i].start = fifo_start;
    start_rt(2, h);
    long want = 3L * 2 * FIFO_N;
    bool ok = wait_for(&fifo_got, want, WAIT_MS);
    stop_and_join();
    cr_assert(ok, "got %ld of %ld messages", atomic_load(&fifo_got), want);
    check_no_errors();
    for (int to = 0; to < 3; to++)
        for (int from = 0; from < 3; from++)
            if (to != from)
                cr_assert_eq(fifo_next[to][from], FIFO_N, "%d->%d", from, to);
    rb_runtime_free(&rt);
}

/* ---- overflow beyond the ring ---- */

#define OVF_N 20000 /* ~5 rings' worth */
static int ovf_start(struct rb_shard *s)
{
    for (long k = 0; k < OVF_N; k++)
        rb_post(s, 1, fifo_recv, (void *)(uintptr_t)k);
    return 0;
}

Test(shard, post_overflow_delivers_all_in_order)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = ovf_start;
    start_rt(2, h);
    bool ok = wait_for(&fifo_got, OVF_N, WAIT_MS);
    long got = atomic_load(&fifo_got);
    stop_and_join();
    cr_assert(ok, "got %ld of %d messages (the rest stuck in the overflow list)", got, OVF_N);
    check_no_errors();
    cr_assert_eq(fifo_next[1][0], OVF_N);
    rb_runtime_free(&rt);
}

/* Overflow while the sender keeps posting from inside message handlers. */
static atomic_long ovf2_sent;
static void ovf2_burst(struct rb_shard *self, void *arg)
{
    long base = (long)(uintptr_t)arg;
    for (long k = 0; k < 2500; k++)
        rb_post(self, 1, fifo_recv, (void *)(uintptr_t)(base + k));
    atomic_fetch_add(&ovf2_sent, 2500);
    if (base + 2500 < OVF_N)
        rb_post(self, 0, ovf2_burst, (void *)(uintptr_t)(base + 2500));
}
static int ovf2_start(struct rb_shard *s)
{
    rb_post(s, 0, ovf2_burst, (void *)(uintptr_t)0);
    return 0;
}

Test(shard, post_overflow_from_handlers)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = ovf2_start;
    start_rt(2, h);
    bool ok = wait_for(&fifo_got, OVF_N, WAIT_MS);
    long got = atomic_load(&fifo_got);
    stop_and_join();
    cr_assert(ok, "got %ld of %d messages (%ld sent)", got, OVF_N, atomic_load(&ovf2_sent));
    check_no_errors();
    cr_assert_eq(fifo_next[1][0], OVF_N);
    rb_runtime_free(&rt);
}

/* ---- posting to oneself ---- */

static atomic_long turns[RB_MAX_THREADS];
static void count_turn(struct rb_shard *s)
{
    atomic_fetch_add(&turns[s->id], 1);
}

static atomic_int in_closure;
static atomic_long self_ran, self_chain_done;
static long chain_len;

static void self_second(struct rb_shard *self, void *arg)
{
    long posted_turn = (long)(uintptr_t)arg;
    if (atomic_load(&in_closure))
        note_error("self-post ran inline", 0, 0);
    if (rb_self() != self || self->id != 0)
        note_error("self-post ran on another thread", self->id, 0);
    if (atomic_load(&turns[0]) <= posted_turn)
        note_error("self-post from a self-posted closure ran in the same turn", posted_turn,
                   atomic_load(&turns[0]));
    atomic_fetch_add(&self_ran, 1);
    if (++chain_len < 50) {
        atomic_store(&in_closure, 1);
        rb_post(self, 0, self_second, (void *)(uintptr_t)atomic_load(&turns[0]));
        if (atomic_load(&self_ran) != chain_len)
            note_error("self-post ran inline", chain_len, 0);
        atomic_store(&in_closure, 0);
    } else {
        atomic_store(&self_chain_done, 1);
    }
}

static void self_first(struct rb_shard *self, void *arg)
{
    atomic_store(&in_closure, 1);
    rb_post(self, 0, self_second, (void *)(uintptr_t)atomic_load(&turns[0]));
    if (atomic_load(&self_ran) != 0)
        note_error("self-post ran inline", 0, 0);
    atomic_store(&in_closure, 0);
}

static int self_start(struct rb_shard *s)
{
    rb_post(s, 0, self_first, NULL); /* before the loop: runs on its first turn */
    return 0;
}

Test(shard, post_to_self_not_inline_and_later_turn)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = self_start;
    h[0].turn = count_turn;
    start_rt(2, h);
    bool ok = wait_for(&self_chain_done, 1, WAIT_MS);
    stop_and_join();
    cr_assert(ok, "self-post chain stalled after %ld", atomic_load(&self_ran));
    check_no_errors();
    cr_assert_eq(atomic_load(&self_ran), 50);
    rb_runtime_free(&rt);
}

/* An endless self-posting closure must not starve timers or other inboxes. */
static atomic_int spin_stop;
static atomic_long spin_count, spin_timer_fired, spin_msg_seen;
static struct rb_timer spin_timer;

static void spin(struct rb_shard *self, void *arg)
{
    atomic_fetch_add(&spin_count, 1);
    if (!atomic_load(&spin_stop))
        rb_post(self, 0, spin, NULL);
}
static void spin_timer_fire(struct rb_timer *t)
{
    atomic_store(&spin_timer_fired, 1);
}
static void spin_msg(struct rb_shard *self, void *arg)
{
    atomic_store(&spin_msg_seen, 1);
    atomic_store(&spin_stop, 1);
}
static int spin_start0(struct rb_shard *s)
{
    rb_timer_init(&spin_timer, spin_timer_fire);
    rb_timer_arm(&s->timers, &spin_timer, s->now_ms + 20);
    rb_post(s, 0, spin, NULL);
    return 0;
}
static struct rb_timer late_post_timer;
static void late_post_fire(struct rb_timer *t)
{
    rb_post(rb_self(), 0, spin_msg, NULL);
}
static int spin_start1(struct rb_shard *s)
{
    rb_timer_init(&late_post_timer, late_post_fire);
    rb_timer_arm(&s->timers, &late_post_timer, s->now_ms + 50);
    return 0;
}

Test(shard, self_post_loop_does_not_starve)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = spin_start0;
    h[1].start = spin_start1;
    start_rt(2, h);
    bool t_ok = wait_for(&spin_timer_fired, 1, WAIT_MS);
    bool m_ok = wait_for(&spin_msg_seen, 1, WAIT_MS);
    stop_and_join();
    cr_assert(t_ok, "timer starved by a self-posting closure");
    cr_assert(m_ok, "inbox starved by a self-posting closure");
    cr_assert_gt(atomic_load(&spin_count), 1);
    rb_runtime_free(&rt);
}

/* ---- wake-up of a sleeping thread ---- */

#define PINGS 200
static atomic_long pongs;
static struct rb_timer wake_timer;
static atomic_int saw_sleeping;

static void ping(struct rb_shard *self, void *arg);
static void pong(struct rb_shard *self, void *arg)
{
    long n = atomic_fetch_add(&pongs, 1) + 1;
    if (n < PINGS)
        rb_post(self, 1, ping, NULL);
}
static void ping(struct rb_shard *self, void *arg)
{
    rb_post(self, 0, pong, NULL);
}

/* Shard 1 has no timers and no work: it sleeps with no deadline. Only MSG_RING
 * can wake it. Post once it is seen asleep; then ping-pong between the two. */
static void wake_fire(struct rb_timer *t)
{
    struct rb_shard *s = rb_self();
    if (!atomic_load(&rt.t[1]->sleeping)) {
        rb_timer_arm(&s->timers, t, s->now_ms + 5);
        return;
    }
    atomic_store(&saw_sleeping, 1);
    rb_post(s, 1, ping, NULL);
}
static int wake_start(struct rb_shard *s)
{
    rb_timer_init(&wake_timer, wake_fire);
    rb_timer_arm(&s->timers, &wake_timer, s->now_ms + 50);
    return 0;
}

Test(shard, msg_ring_wakes_sleeping_thread)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = wake_start;
    start_rt(2, h);
    bool ok = wait_for(&pongs, PINGS, WAIT_MS);
    long got = atomic_load(&pongs);
    stop_and_join();
    cr_assert(atomic_load(&saw_sleeping), "shard 1 never went to sleep");
    cr_assert(ok, "only %ld of %d ping-pongs: a sleeping thread was not woken", got, PINGS);
    cr_assert_gt(rt.t[0]->stat_wakeups_sent, 0);
    cr_assert_gt(rt.t[1]->stat_wakeups_sent, 0);
    rb_runtime_free(&rt);
}

/* The test thread cannot post; the coordination thread (asleep) can be woken too. */
static atomic_long coord_seen;
static void coord_msg(struct rb_shard *self, void *arg)
{
    if (!self->is_coord)
        note_error("coord message on a shard", self->id, 0);
    atomic_fetch_add(&coord_seen, 1);
}
static struct rb_timer coord_timer;
static void coord_fire(struct rb_timer *t)
{
    rb_post(rb_self(), 2, coord_msg, NULL);
}
static int coord_start(struct rb_shard *s)
{
    rb_timer_init(&coord_timer, coord_fire);
    rb_timer_arm(&s->timers, &coord_timer, s->now_ms + 100);
    return 0;
}

Test(shard, post_to_sleeping_coord_thread)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[1].start = coord_start;
    start_rt(2, h);
    bool ok = wait_for(&coord_seen, 1, WAIT_MS);
    stop_and_join();
    cr_assert(ok);
    check_no_errors();
    rb_runtime_free(&rt);
}

/* ---- completions ---- */

static atomic_long nop_done;
static atomic_int nop_res = -1;
static pthread_t nop_thread;
static pthread_t shard0_thread;
static struct rb_io nop_io;
static void nop_cb(struct rb_io *io, int res, unsigned flags)
{
    atomic_store(&nop_res, res);
    nop_thread = pthread_self();
    atomic_fetch_add(&nop_done, 1);
}
static int nop_start(struct rb_shard *s)
{
    shard0_thread = pthread_self();
    nop_io.cb = nop_cb;
    struct io_uring_sqe *sqe = rb_sqe(s);
    cr_assert_not_null(sqe);
    io_uring_prep_nop(sqe);
    rb_sqe_set_io(sqe, &nop_io);
    return 0;
}

Test(shard, sqe_completion_calls_io_cb)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    h[0].start = nop_start;
    start_rt(2, h);
    bool ok = wait_for(&nop_done, 1, WAIT_MS);
    stop_and_join();
    cr_assert(ok, "NOP completion never reaped");
    cr_assert_eq(atomic_load(&nop_res), 0);
    cr_assert(pthread_equal(nop_thread, shard0_thread));
    cr_assert_eq(atomic_load(&nop_done), 1);
    rb_runtime_free(&rt);
}

/* ---- start failure, stop hooks ---- */

static atomic_long finish_calls;
static int fail_start(struct rb_shard *s)
{
    return -EINVAL;
}
static void count_finish(struct rb_shard *s)
{
    atomic_fetch_add(&finish_calls, 1);
}

Test(shard, start_hook_failure_fails_start)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 3; i++)
        h[i].finish = count_finish;
    h[1].start = fail_start;
    cr_assert_eq(rb_runtime_init(&rt, 2, 256), 0);
    for (int i = 0; i < 3; i++)
        rt.t[i]->hooks = h[i];
    cr_assert_lt(rb_runtime_start(&rt), 0);
    /* Returned only after the threads were joined: every finish hook ran. */
    cr_assert_eq(atomic_load(&finish_calls), 3);
    rb_runtime_free(&rt);
}

static atomic_long stop_calls, stop_done_calls;
static void on_stop(struct rb_shard *s)
{
    atomic_fetch_add(&stop_calls, 1);
}
/* Shard 0 needs a few turns to drain; stop_done must be polled until true. */
static long stop_polls0;
static void noop(struct rb_shard *self, void *arg)
{
}
static bool on_stop_done(struct rb_shard *s)
{
    atomic_fetch_add(&stop_done_calls, 1);
    if (s->id != 0)
        return true;
    if (++stop_polls0 < 5) {
        rb_post(s, 0, noop, NULL); /* keep turning */
        return false;
    }
    return true;
}
static void finish_after_stop(struct rb_shard *s)
{
    if (atomic_load(&stop_calls) == 0)
        note_error("finish before stop", s->id, 0);
    if (s->id == 0 && stop_polls0 < 5)
        note_error("finish before stop_done returned true", stop_polls0, 0);
    atomic_fetch_add(&finish_calls, 1);
}

Test(shard, stop_runs_hooks_and_join_returns)
{
    struct rb_shard_hooks h[3];
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 3; i++) {
        h[i].stop = on_stop;
        h[i].stop_done = on_stop_done;
        h[i].finish = finish_after_stop;
    }
    start_rt(2, h);
    usleep(20000); /* let every thread go to sleep */
    stop_and_join();
    cr_assert_eq(atomic_load(&stop_calls), 3, "stop hook must run exactly once per thread");
    cr_assert_eq(atomic_load(&finish_calls), 3);
    cr_assert_geq(atomic_load(&stop_done_calls), 3 + 4);
    cr_assert_eq(stop_polls0, 5);
    rb_runtime_free(&rt);
}

Test(shard, stop_with_one_shard_and_busy_traffic)
{
    struct rb_shard_hooks h[2];
    memset(h, 0, sizeof(h));
    h[0].start = fifo_start;
    h[1].start = fifo_start;
    start_rt(1, h);
    /* Stop right away, with messages possibly still in flight. */
    stop_and_join();
    check_no_errors();
    rb_runtime_free(&rt);
}
