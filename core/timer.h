/*
 * core/timer.h - per-shard timers: a binary min-heap of deadlines in milliseconds
 * of the monotonic clock. Owned by one thread; no locks. A timer struct is embedded
 * in its owner, which must cancel it before freeing it.
 */
#ifndef RB_CORE_TIMER_H
#define RB_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct rb_timer {
    int64_t deadline_ms;
    void (*fire)(struct rb_timer *t);
    int32_t heap_idx; /* -1 when not armed */
};

struct rb_timers {
    struct rb_timer **heap;
    int32_t n;
    int32_t cap;
};

void rb_timers_init(struct rb_timers *ts);
void rb_timers_free(struct rb_timers *ts);
static inline void rb_timer_init(struct rb_timer *t, void (*fire)(struct rb_timer *t))
{
    t->deadline_ms = 0;
    t->fire = fire;
    t->heap_idx = -1;
}
static inline bool rb_timer_armed(const struct rb_timer *t)
{
    return t->heap_idx >= 0;
}
/* now_ms + delay_ms without overflow: a delay past the end of time (Kafka's
 * Long.MAX_VALUE, "never") gives INT64_MAX, a deadline that never comes. A
 * negative delay counts as 0. now_ms is a clock reading (>= 0). */
static inline int64_t rb_deadline_after(int64_t now_ms, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    return delay_ms > INT64_MAX - now_ms ? INT64_MAX : now_ms + delay_ms;
}
/* Arm (or re-arm) t for deadline_ms. Returns 0 or -ENOMEM. */
int rb_timer_arm(struct rb_timers *ts, struct rb_timer *t, int64_t deadline_ms);
void rb_timer_cancel(struct rb_timers *ts, struct rb_timer *t);
/* Earliest deadline, or INT64_MAX when none. */
int64_t rb_timers_next(const struct rb_timers *ts);
/* Fire every timer whose deadline is <= now_ms (each is disarmed before its callback,
 * which may re-arm it). Returns how many fired. */
int rb_timers_run(struct rb_timers *ts, int64_t now_ms);

/* Monotonic and wall clocks. They read the kernel's clocks unless rb_clock_ops
 * is set (before any shard starts): the simulator's clock, where time only moves
 * when the simulator advances it. */
struct rb_clock_ops {
    int64_t (*mono_ns)(void);
    int64_t (*wall_ms)(void);
};
extern const struct rb_clock_ops *rb_clock_ops;
int64_t rb_mono_ms(void);
int64_t rb_mono_ns(void);
int64_t rb_wall_ms(void);

#endif
