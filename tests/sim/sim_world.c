/*
 * tests/sim/sim_world.c - the simulator's scheduler: randomness, simulated time,
 * the shards and the main loop of one broker lifetime.
 *
 * Shards: every runtime thread of the broker (the shards and the coordination
 * thread) is stepped from the simulator's one thread, one loop turn at a time
 * (rb_shard_boot/step/finish, core/shard.h), so a run is a function of the
 * seed. That works because shard state lives in struct rb_shard and what hangs
 * off it, never in thread-local variables (rb_self() is set by each step;
 * tools/lint.sh keeps it that way), and no shard blocks waiting for another.
 *
 * Main loop: run ring ops that are due, then step one shard with work (chosen
 * by the seed), then let the clients act; when nothing can happen at this
 * instant, time jumps to the next op completion, timer or client wake-up.
 */
#include "tests/sim/sim_world.h"
#include "core/rb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

int64_t sim_now_ns;
int sim_verbose;
int sim_failures;
struct sim_faults sim_faults;
struct sim_stats sim_stats;

/* ---- randomness ---- */

static uint64_t rng[4];
static bool rng_seeded;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng[i] = splitmix64(&seed);
    rng_seeded = true;
}

/* The broker's randomness (topic ids, cluster id: coord/metadata.c) comes from
 * the seed too: this executable's getrandom wins over libc's. Before a seed is
 * set (allocator start-up) it is the kernel's. */
ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
    if (!rng_seeded)
        return syscall(SYS_getrandom, buf, len, flags);
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)sim_rand();
    return (ssize_t)len;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rand(void)
{
    uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return r;
}

uint64_t sim_below(uint64_t n)
{
    RB_ASSERT(n > 0);
    return sim_rand() % n;
}

bool sim_chance(uint32_t ppm)
{
    return sim_below(1000000) < ppm;
}

/* ---- time ---- */

static int64_t wall_base_ms;

static int64_t clock_mono_ns(void)
{
    return sim_now_ns;
}

static int64_t clock_wall_ms(void)
{
    return wall_base_ms + sim_now_ns / 1000000;
}

static const struct rb_clock_ops sim_clock = {clock_mono_ns, clock_wall_ms};

void sim_clock_install(int64_t base_ms)
{
    wall_base_ms = base_ms;
    rb_clock_ops = &sim_clock;
}

/* ---- logging ---- */

void sim_logf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[sim %9.3f ms] ", (double)sim_now_ns / 1e6);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

char sim_first_failure[200];

void sim_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[sim %9.3f ms] INVARIANT: ", (double)sim_now_ns / 1e6);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (!sim_failures) {
        va_start(ap, fmt);
        vsnprintf(sim_first_failure, sizeof(sim_first_failure), fmt, ap);
        va_end(ap);
    }
    sim_failures++;
}

/* ---- shards ---- */

struct sim_shard {
    struct rb_shard *s;
    bool stopped; /* the loop ended (stop requested and stop_done) */
};

static struct sim_shard shards[RB_MAX_THREADS];
static int n_threads; /* the runtime's: shards and the coordination thread */

int sim_world_boot(struct rb_runtime *rt)
{
    n_threads = rt->n_threads;
    for (int i = 0; i < n_threads; i++) {
        shards[i] = (struct sim_shard){.s = rt->t[i]};
        sim_ring_attach(rt->t[i]);
    }
    for (int i = 0; i < n_threads; i++) {
        int r = rb_shard_boot(shards[i].s);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool shard_runnable(int i)
{
    struct rb_shard *s = shards[i].s;
    if (shards[i].stopped)
        return false;
    if (rb_shard_has_work(s))
        return true;
    if (rb_timers_next(&s->timers) <= sim_now_ns / 1000000)
        return true;
    /* a stop request is seen at the next turn */
    return atomic_load(&s->rt->stopping) && !s->stop_called;
}

/* Step one runnable shard (chosen by the seed). Returns false if none was. */
static bool step_one(void)
{
    int cand[RB_MAX_THREADS], n = 0;
    for (int i = 0; i < n_threads; i++)
        if (shard_runnable(i))
            cand[n++] = i;
    if (!n)
        return false;
    int i = cand[sim_below((uint64_t)n)];
    sim_stats.steps++;
    if (!rb_shard_step(shards[i].s))
        shards[i].stopped = true;
    return true;
}

static int64_t next_event_ns(int64_t client_wake_ns)
{
    int64_t t = sim_ring_next_due();
    if (client_wake_ns < t)
        t = client_wake_ns;
    for (int i = 0; i < n_threads; i++) {
        if (shards[i].stopped)
            continue;
        int64_t ms = rb_timers_next(&shards[i].s->timers);
        if (ms != INT64_MAX && ms * 1000000 < t)
            t = ms * 1000000;
    }
    return t;
}

int sim_world_run(int64_t until_ns, sim_actor_fn actor, void *arg)
{
    int64_t same_instant = 0, last_ns = -1;
    while (sim_now_ns < until_ns) {
        /* Work that never lets time pass is a livelock: report it, end the run. */
        same_instant = sim_now_ns == last_ns ? same_instant + 1 : 0;
        last_ns = sim_now_ns;
        if (same_instant > 2000000) {
            sim_fail("livelock: 2,000,000 scheduler rounds without time passing");
            return -ELOOP;
        }
        /* Power loss at the chosen instant, or a little later when writes are
         * in the air (the interesting moment for the disk model). */
        if (sim_faults.crash_at_ns && sim_now_ns >= sim_faults.crash_at_ns &&
            (sim_disk_unsynced() > 0 || sim_now_ns >= sim_faults.crash_at_ns + 500 * 1000000ll))
            return SIM_CRASHED;
        bool progress = sim_ring_run_due() > 0;
        progress |= step_one();
        int64_t wake = INT64_MAX;
        if (actor) {
            int a = actor(arg, &wake);
            if (a < 0)
                return a;
            progress |= a > 0;
        }
        if (progress)
            continue;
        if (sim_world_all_stopped())
            return SIM_STOPPED;
        int64_t next = next_event_ns(wake);
        if (next <= sim_now_ns)
            next = sim_now_ns + 1000;
        sim_now_ns = next < until_ns ? next : until_ns;
    }
    return 0;
}

bool sim_world_all_stopped(void)
{
    for (int i = 0; i < n_threads; i++)
        if (!shards[i].stopped)
            return false;
    return n_threads > 0;
}

void sim_world_finish(void)
{
    for (int i = 0; i < n_threads; i++)
        rb_shard_finish(shards[i].s);
    sim_ring_run_due();
}
