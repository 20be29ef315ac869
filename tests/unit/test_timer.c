/*
 * tests/unit/test_timer.c - core/timer.[ch]: min-heap order over many random
 * deadlines, cancel of armed and unarmed timers, re-arm (also from inside a
 * callback), rb_timers_next, equal deadlines, the heap_idx invariant.
 */
#include "core/timer.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#define N_MANY 5000

struct rec_timer {
    struct rb_timer t;
    int id;
};

static int fired_ids[N_MANY * 2];
static int64_t fired_deadlines[N_MANY * 2];
static int n_fired;

static void record_fire(struct rb_timer *t)
{
    struct rec_timer *r = (struct rec_timer *)t;
    cr_assert(!rb_timer_armed(t), "timer still armed inside its callback");
    fired_ids[n_fired] = r->id;
    fired_deadlines[n_fired] = t->deadline_ms;
    n_fired++;
}

static void reset(void)
{
    n_fired = 0;
}

TestSuite(timer, .init = reset);

/* Every armed timer sits at its own heap_idx and no child is earlier than its parent. */
static void check_heap(const struct rb_timers *ts)
{
    for (int32_t i = 0; i < ts->n; i++) {
        cr_assert_eq(ts->heap[i]->heap_idx, i, "heap_idx of slot %d is %d", i,
                     ts->heap[i]->heap_idx);
        if (i > 0)
            cr_assert_leq(ts->heap[(i - 1) / 2]->deadline_ms, ts->heap[i]->deadline_ms);
    }
}

Test(timer, empty_next_is_max_and_run_fires_nothing)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    cr_assert_eq(rb_timers_next(&ts), INT64_MAX);
    cr_assert_eq(rb_timers_run(&ts, INT64_MAX), 0);
    rb_timers_free(&ts);
    rb_timers_free(&ts); /* twice is harmless */
}

Test(timer, init_is_unarmed)
{
    struct rb_timer t;
    rb_timer_init(&t, record_fire);
    cr_assert(!rb_timer_armed(&t));
    cr_assert_eq(t.heap_idx, -1);
}

Test(timer, many_random_deadlines_fire_in_order)
{
    static struct rec_timer tm[N_MANY];
    struct rb_timers ts;
    rb_timers_init(&ts);
    srand(12345);
    int64_t min = INT64_MAX;
    for (int i = 0; i < N_MANY; i++) {
        rb_timer_init(&tm[i].t, record_fire);
        tm[i].id = i;
        int64_t d = rand() % 1000; /* many duplicates too */
        if (d < min)
            min = d;
        cr_assert_eq(rb_timer_arm(&ts, &tm[i].t, d), 0);
        cr_assert(rb_timer_armed(&tm[i].t));
        cr_assert_eq(rb_timers_next(&ts), min);
    }
    check_heap(&ts);
    cr_assert_eq(ts.n, N_MANY);
    /* Nothing fires before the earliest deadline. */
    cr_assert_eq(rb_timers_run(&ts, min - 1), 0);
    /* Fire in a few steps; each step fires exactly the timers <= now. */
    int total = 0;
    for (int64_t now = 100; now <= 1000; now += 100) {
        int expect = 0;
        for (int i = 0; i < N_MANY; i++)
            if (rb_timer_armed(&tm[i].t) && tm[i].t.deadline_ms <= now)
                expect++;
        int got = rb_timers_run(&ts, now);
        cr_assert_eq(got, expect, "now=%lld fired %d expected %d", (long long)now, got, expect);
        total += got;
        check_heap(&ts);
        cr_assert(rb_timers_next(&ts) > now);
    }
    cr_assert_eq(total, N_MANY);
    cr_assert_eq(n_fired, N_MANY);
    for (int i = 1; i < n_fired; i++)
        cr_assert_leq(fired_deadlines[i - 1], fired_deadlines[i], "out of order at %d", i);
    cr_assert_eq(rb_timers_next(&ts), INT64_MAX);
    rb_timers_free(&ts);
}

Test(timer, random_cancels_keep_heap_valid)
{
    static struct rec_timer tm[N_MANY];
    struct rb_timers ts;
    rb_timers_init(&ts);
    srand(777);
    for (int i = 0; i < N_MANY; i++) {
        rb_timer_init(&tm[i].t, record_fire);
        tm[i].id = i;
        cr_assert_eq(rb_timer_arm(&ts, &tm[i].t, rand() % 100000), 0);
    }
    /* Cancel every third (from all heap positions), re-arm every seventh. */
    for (int i = 0; i < N_MANY; i++) {
        if (i % 3 == 0) {
            rb_timer_cancel(&ts, &tm[i].t);
            cr_assert(!rb_timer_armed(&tm[i].t));
        } else if (i % 7 == 0) {
            cr_assert_eq(rb_timer_arm(&ts, &tm[i].t, rand() % 100000), 0);
        }
    }
    check_heap(&ts);
    int live = N_MANY - (N_MANY + 2) / 3;
    cr_assert_eq(ts.n, live);
    cr_assert_eq(rb_timers_run(&ts, 100000), live);
    cr_assert_eq(n_fired, live);
    for (int i = 0; i < n_fired; i++)
        cr_assert_neq(fired_ids[i] % 3, 0, "cancelled timer %d fired", fired_ids[i]);
    for (int i = 1; i < n_fired; i++)
        cr_assert_leq(fired_deadlines[i - 1], fired_deadlines[i]);
    rb_timers_free(&ts);
}

Test(timer, cancel_unarmed_and_twice_is_noop)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    struct rec_timer a, b;
    rb_timer_init(&a.t, record_fire);
    rb_timer_init(&b.t, record_fire);
    a.id = 1;
    b.id = 2;
    rb_timer_cancel(&ts, &a.t); /* never armed, empty heap */
    cr_assert_eq(rb_timer_arm(&ts, &b.t, 10), 0);
    rb_timer_cancel(&ts, &a.t); /* never armed, non-empty heap */
    cr_assert_eq(ts.n, 1);
    cr_assert(rb_timer_armed(&b.t));
    rb_timer_cancel(&ts, &b.t);
    rb_timer_cancel(&ts, &b.t);
    cr_assert_eq(ts.n, 0);
    cr_assert_eq(rb_timers_next(&ts), INT64_MAX);
    cr_assert_eq(rb_timers_run(&ts, 100), 0);
    cr_assert_eq(n_fired, 0);
    rb_timers_free(&ts);
}

Test(timer, cancel_head_and_last_updates_next)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    struct rec_timer t[3];
    int64_t d[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        rb_timer_init(&t[i].t, record_fire);
        t[i].id = i;
        cr_assert_eq(rb_timer_arm(&ts, &t[i].t, d[i]), 0);
    }
    cr_assert_eq(rb_timers_next(&ts), 10);
    rb_timer_cancel(&ts, &t[1].t);
    cr_assert_eq(rb_timers_next(&ts), 20);
    check_heap(&ts);
    rb_timer_cancel(&ts, &t[0].t);
    cr_assert_eq(rb_timers_next(&ts), 20);
    cr_assert_eq(rb_timers_run(&ts, 1000), 1);
    cr_assert_eq(fired_ids[0], 2);
    rb_timers_free(&ts);
}

Test(timer, rearm_armed_timer_moves_it_without_duplicate)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    struct rec_timer a, b;
    rb_timer_init(&a.t, record_fire);
    rb_timer_init(&b.t, record_fire);
    a.id = 1;
    b.id = 2;
    cr_assert_eq(rb_timer_arm(&ts, &a.t, 5), 0);
    cr_assert_eq(rb_timer_arm(&ts, &b.t, 50), 0);
    cr_assert_eq(rb_timer_arm(&ts, &a.t, 100), 0); /* later */
    cr_assert_eq(ts.n, 2);
    cr_assert_eq(rb_timers_next(&ts), 50);
    cr_assert_eq(rb_timer_arm(&ts, &a.t, 1), 0); /* earlier */
    cr_assert_eq(ts.n, 2);
    cr_assert_eq(rb_timers_next(&ts), 1);
    check_heap(&ts);
    cr_assert_eq(rb_timers_run(&ts, 1000), 2);
    cr_assert_eq(n_fired, 2);
    cr_assert_eq(fired_ids[0], 1);
    cr_assert_eq(fired_ids[1], 2);
    rb_timers_free(&ts);
}

Test(timer, equal_deadlines_all_fire)
{
    static struct rec_timer tm[200];
    struct rb_timers ts;
    rb_timers_init(&ts);
    for (int i = 0; i < 200; i++) {
        rb_timer_init(&tm[i].t, record_fire);
        tm[i].id = i;
        cr_assert_eq(rb_timer_arm(&ts, &tm[i].t, 42), 0);
    }
    check_heap(&ts);
    cr_assert_eq(rb_timers_next(&ts), 42);
    cr_assert_eq(rb_timers_run(&ts, 41), 0);
    cr_assert_eq(rb_timers_run(&ts, 42), 200); /* deadline == now fires */
    bool seen[200] = {false};
    for (int i = 0; i < n_fired; i++) {
        cr_assert(!seen[fired_ids[i]], "timer %d fired twice", fired_ids[i]);
        seen[fired_ids[i]] = true;
    }
    cr_assert_eq(ts.n, 0);
    rb_timers_free(&ts);
}

/* A periodic timer re-arms itself from its callback. */
static struct rb_timers *cb_ts;
static int periodic_count;
static void periodic_fire(struct rb_timer *t)
{
    periodic_count++;
    cr_assert(!rb_timer_armed(t));
    if (periodic_count < 5)
        cr_assert_eq(rb_timer_arm(cb_ts, t, t->deadline_ms + 10), 0);
}

Test(timer, rearm_inside_callback)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    cb_ts = &ts;
    periodic_count = 0;
    struct rb_timer t;
    rb_timer_init(&t, periodic_fire);
    cr_assert_eq(rb_timer_arm(&ts, &t, 10), 0);
    /* At 25: fires at 10 (re-arms 20), fires at 20 (re-arms 30), stops. */
    cr_assert_eq(rb_timers_run(&ts, 25), 2);
    cr_assert(rb_timer_armed(&t));
    cr_assert_eq(rb_timers_next(&ts), 30);
    cr_assert_eq(rb_timers_run(&ts, 1000), 3);
    cr_assert_eq(periodic_count, 5);
    cr_assert(!rb_timer_armed(&t));
    cr_assert_eq(rb_timers_next(&ts), INT64_MAX);
    rb_timers_free(&ts);
}

/* A callback may cancel another timer that is also due. */
static struct rec_timer *victim;
static void cancel_other(struct rb_timer *t)
{
    record_fire(t);
    rb_timer_cancel(cb_ts, &victim->t);
}

Test(timer, callback_cancels_other_due_timer)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    cb_ts = &ts;
    struct rec_timer a, b;
    rb_timer_init(&a.t, cancel_other);
    rb_timer_init(&b.t, record_fire);
    a.id = 1;
    b.id = 2;
    victim = &b;
    cr_assert_eq(rb_timer_arm(&ts, &a.t, 1), 0);
    cr_assert_eq(rb_timer_arm(&ts, &b.t, 2), 0);
    cr_assert_eq(rb_timers_run(&ts, 10), 1);
    cr_assert_eq(n_fired, 1);
    cr_assert_eq(fired_ids[0], 1);
    cr_assert(!rb_timer_armed(&b.t));
    rb_timers_free(&ts);
}

Test(timer, negative_and_extreme_deadlines)
{
    struct rb_timers ts;
    rb_timers_init(&ts);
    struct rec_timer a, b;
    rb_timer_init(&a.t, record_fire);
    rb_timer_init(&b.t, record_fire);
    a.id = 1;
    b.id = 2;
    cr_assert_eq(rb_timer_arm(&ts, &a.t, INT64_MAX - 1), 0);
    cr_assert_eq(rb_timer_arm(&ts, &b.t, -5), 0);
    cr_assert_eq(rb_timers_next(&ts), -5);
    cr_assert_eq(rb_timers_run(&ts, 0), 1);
    cr_assert_eq(fired_ids[0], 2);
    cr_assert_eq(rb_timers_next(&ts), INT64_MAX - 1);
    rb_timers_free(&ts);
}

Test(timer, clocks_are_sane)
{
    int64_t a = rb_mono_ns(), b = rb_mono_ns();
    cr_assert_geq(b, a);
    int64_t ms = rb_mono_ms();
    cr_assert_geq(ms, a / 1000000);
    /* Wall clock after 2020-01-01. */
    cr_assert_gt(rb_wall_ms(), 1577836800000LL);
}

Test(timer, deadline_after_saturates_at_never)
{
    /* Kafka's Long.MAX_VALUE delays ("never") must not wrap into the past. */
    cr_assert_eq(rb_deadline_after(1000, 500), 1500);
    cr_assert_eq(rb_deadline_after(1000, INT64_MAX), INT64_MAX);
    cr_assert_eq(rb_deadline_after(1000, INT64_MAX - 1000), INT64_MAX);
    cr_assert_eq(rb_deadline_after(1000, INT64_MAX - 1001), INT64_MAX - 1);
    cr_assert_eq(rb_deadline_after(1000, -7), 1000);
    cr_assert_eq(rb_deadline_after(0, INT64_MAX), INT64_MAX);
}
