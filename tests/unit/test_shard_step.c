/*
 * tests/unit/test_shard_step.c - core/shard.[ch]'s step API and ring ops, and
 * core/timer.h's clock ops: shards without threads, stepped one loop turn at a
 * time from the test's thread on a fake ring (SQEs are kept until submit, reap
 * completes each with res = its opcode), the way tests/sim/ drives the broker.
 */
#include "core/logging.h"
#include "core/shard.h"
#include "core/timer.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX 16

struct fake_ring {
    struct io_uring_sqe sqe[FAKE_MAX];
    int n_got, n_submitted;
    int bufreg;
};

static struct fake_ring fr[3];

static struct io_uring_sqe *fake_get_sqe(struct rb_shard *s)
{
    struct fake_ring *f = s->ops_ctx;
    cr_assert_lt(f->n_got, FAKE_MAX);
    memset(&f->sqe[f->n_got], 0, sizeof(f->sqe[0]));
    return &f->sqe[f->n_got++];
}

static int fake_submit(struct rb_shard *s)
{
    struct fake_ring *f = s->ops_ctx;
    f->n_submitted = f->n_got;
    return f->n_got;
}

static int fake_reap(struct rb_shard *s)
{
    struct fake_ring *f = s->ops_ctx;
    int n = f->n_submitted;
    struct io_uring_sqe done[FAKE_MAX];
    memcpy(done, f->sqe, sizeof(done[0]) * (size_t)n);
    memmove(f->sqe, f->sqe + n, sizeof(f->sqe[0]) * (size_t)(f->n_got - n));
    f->n_got -= n;
    f->n_submitted = 0;
    for (int i = 0; i < n; i++) {
        struct rb_io *io = (struct rb_io *)(uintptr_t)done[i].user_data;
        if (io)
            io->cb(io, done[i].opcode, 0);
    }
    return n;
}

static bool fake_cq_ready(struct rb_shard *s)
{
    return ((struct fake_ring *)s->ops_ctx)->n_submitted > 0;
}

static int fake_reg(struct rb_shard *s, struct io_uring_buf_reg *reg)
{
    ((struct fake_ring *)s->ops_ctx)->bufreg = reg->bgid + 1;
    return 0;
}

static int fake_unreg(struct rb_shard *s, int bgid)
{
    ((struct fake_ring *)s->ops_ctx)->bufreg = 0;
    return 0;
}

static const struct rb_ring_ops fake_ops = {fake_get_sqe,  fake_submit, fake_reap,
                                            fake_cq_ready, fake_reg,    fake_unreg};

static struct rb_runtime rt;

static void setup(void)
{
    rb_loglevel_max = RB_LL_ERROR;
    memset(fr, 0, sizeof(fr));
    cr_assert_eq(rb_runtime_init(&rt, 2, 64), 0);
    for (int i = 0; i < rt.n_threads; i++) {
        rt.t[i]->ops = &fake_ops;
        rt.t[i]->ops_ctx = &fr[i];
    }
}

static void teardown(void)
{
    rb_clock_ops = NULL;
    rb_runtime_free(&rt);
}

TestSuite(shard_step, .init = setup, .fini = teardown, .timeout = 30);

static int ran_on;
static int completed_res;
static struct rb_io nop_io;

static void nop_done(struct rb_io *io, int res, unsigned flags)
{
    completed_res = res;
}

static void on_msg(struct rb_shard *self, void *arg)
{
    ran_on = self->id;
    cr_assert_eq(rb_self(), self);
    struct io_uring_sqe *sqe = rb_sqe(self);
    io_uring_prep_nop(sqe);
    nop_io.cb = nop_done;
    rb_sqe_set_io(sqe, &nop_io);
}

Test(shard_step, message_then_completion_one_turn_at_a_time)
{
    for (int i = 0; i < rt.n_threads; i++)
        cr_assert_eq(rb_shard_boot(rt.t[i]), 0);
    for (int i = 0; i < rt.n_threads; i++) { /* the stop reads are armed, nothing else */
        cr_assert(rb_shard_has_work(rt.t[i]));
        cr_assert(rb_shard_step(rt.t[i]));
    }
    ran_on = -1;
    completed_res = -1;
    rb_post(rt.t[0], 1, on_msg, NULL);
    cr_assert(rb_shard_has_work(rt.t[1]));
    cr_assert(rb_shard_has_work(rt.t[0]), "the sender has a wake-up to send");
    cr_assert(rb_shard_step(rt.t[0]));
    cr_assert_not(rb_shard_has_work(rt.t[0]), "a simulated shard never sleeps: no MSG_RING");
    cr_assert_eq(fr[0].n_got, 0);
    cr_assert(rb_shard_step(rt.t[1]));
    cr_assert_eq(ran_on, 1);
    cr_assert_eq(completed_res, -1, "a completion is never delivered inline");
    cr_assert(rb_shard_has_work(rt.t[1]));
    cr_assert(rb_shard_step(rt.t[1]));
    cr_assert_eq(completed_res, IORING_OP_NOP);
    cr_assert_not(rb_shard_has_work(rt.t[1]));
}

Test(shard_step, stop_ends_the_steps)
{
    for (int i = 0; i < rt.n_threads; i++)
        cr_assert_eq(rb_shard_boot(rt.t[i]), 0);
    atomic_store(&rt.stopping, true);
    for (int i = 0; i < rt.n_threads; i++) {
        cr_assert_not(rb_shard_step(rt.t[i]));
        rb_shard_finish(rt.t[i]);
    }
}

Test(shard_step, buf_ring_registration_goes_through_the_ops)
{
    struct io_uring_buf_reg reg = {.bgid = 7};
    cr_assert_eq(rb_ring_register_buf_ring(rt.t[0], &reg), 0);
    cr_assert_eq(fr[0].bufreg, 8);
    cr_assert_eq(rb_ring_unregister_buf_ring(rt.t[0], 7), 0);
    cr_assert_eq(fr[0].bufreg, 0);
}

static int64_t fake_now_ns = 5000000000;
static int64_t fake_mono(void)
{
    return fake_now_ns;
}
static int64_t fake_wall(void)
{
    return 1700000000000 + fake_now_ns / 1000000;
}
static const struct rb_clock_ops fake_clock = {fake_mono, fake_wall};

static int fired;
static void on_timer(struct rb_timer *t)
{
    fired++;
}

Test(shard_step, timers_follow_the_clock_ops)
{
    rb_clock_ops = &fake_clock;
    cr_assert_eq(rb_mono_ms(), 5000);
    cr_assert_eq(rb_wall_ms(), 1700000005000);
    struct rb_shard *s = rt.t[0];
    cr_assert_eq(rb_shard_boot(s), 0);
    struct rb_timer t;
    rb_timer_init(&t, on_timer);
    cr_assert_eq(rb_timer_arm(&s->timers, &t, 5010), 0);
    fired = 0;
    rb_shard_step(s);
    cr_assert_eq(fired, 0);
    fake_now_ns += 10 * 1000000;
    rb_shard_step(s);
    cr_assert_eq(fired, 1);
}
