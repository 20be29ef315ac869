/*
 * core/timer.c - binary min-heap of timers (see core/timer.h).
 * Invariant: heap[i]->heap_idx == i for every armed timer; parent deadline <= child.
 */
#include "core/timer.h"
#include "core/rb.h"

#include <stdlib.h>
#include <time.h>

void rb_timers_init(struct rb_timers *ts)
{
    ts->heap = NULL;
    ts->n = 0;
    ts->cap = 0;
}

void rb_timers_free(struct rb_timers *ts)
{
    free(ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
}

static void heap_set(struct rb_timers *ts, int32_t i, struct rb_timer *t)
{
    ts->heap[i] = t;
    t->heap_idx = i;
}

static void sift_up(struct rb_timers *ts, int32_t i)
{
    struct rb_timer *t = ts->heap[i];
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (ts->heap[p]->deadline_ms <= t->deadline_ms)
            break;
        heap_set(ts, i, ts->heap[p]);
        i = p;
    }
    heap_set(ts, i, t);
}

static void sift_down(struct rb_timers *ts, int32_t i)
{
    struct rb_timer *t = ts->heap[i];
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= ts->n)
            break;
        if (c + 1 < ts->n && ts->heap[c + 1]->deadline_ms < ts->heap[c]->deadline_ms)
            c++;
        if (t->deadline_ms <= ts->heap[c]->deadline_ms)
            break;
        heap_set(ts, i, ts->heap[c]);
        i = c;
    }
    heap_set(ts, i, t);
}

int rb_timer_arm(struct rb_timers *ts, struct rb_timer *t, int64_t deadline_ms)
{
    if (rb_timer_armed(t))
        rb_timer_cancel(ts, t);
    if (ts->n == ts->cap) {
        int32_t cap = ts->cap ? ts->cap * 2 : 64;
        struct rb_timer **h = realloc(ts->heap, sizeof(*h) * (size_t)cap);
        if (!h)
            return -ENOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    t->deadline_ms = deadline_ms;
    heap_set(ts, ts->n++, t);
    sift_up(ts, t->heap_idx);
    return 0;
}

void rb_timer_cancel(struct rb_timers *ts, struct rb_timer *t)
{
    int32_t i = t->heap_idx;
    if (i < 0)
        return;
    RB_ASSERT(i < ts->n && ts->heap[i] == t);
    t->heap_idx = -1;
    ts->n--;
    if (i == ts->n)
        return;
    heap_set(ts, i, ts->heap[ts->n]);
    sift_down(ts, i);
    sift_up(ts, ts->heap[i]->heap_idx);
}

int64_t rb_timers_next(const struct rb_timers *ts)
{
    return ts->n ? ts->heap[0]->deadline_ms : INT64_MAX;
}

int rb_timers_run(struct rb_timers *ts, int64_t now_ms)
{
    int fired = 0;
    while (ts->n && ts->heap[0]->deadline_ms <= now_ms) {
        struct rb_timer *t = ts->heap[0];
        rb_timer_cancel(ts, t);
        t->fire(t);
        fired++;
    }
    return fired;
}

const struct rb_clock_ops *rb_clock_ops;

int64_t rb_mono_ns(void)
{
    if (__builtin_expect(rb_clock_ops != NULL, 0))
        return rb_clock_ops->mono_ns();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t rb_mono_ms(void)
{
    return rb_mono_ns() / 1000000;
}

int64_t rb_wall_ms(void)
{
    if (__builtin_expect(rb_clock_ops != NULL, 0))
        return rb_clock_ops->wall_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
