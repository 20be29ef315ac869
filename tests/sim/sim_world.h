/*
 * tests/sim/sim_world.h - the simulator's scheduler (sim_world.c) and the broker
 * it runs (sim_broker.c): boot a broker from a directory, run it for a while
 * of simulated time with an actor (the clients) taking turns, stop it.
 */
#ifndef RB_SIM_SIM_WORLD_H
#define RB_SIM_SIM_WORLD_H

#include "tests/sim/sim.h"

/* sim_world_run's results besides 0 (reached until_ns) and -errno. */
#define SIM_CRASHED 1 /* sim_faults.crash_at_ns reached: stop everything now */
#define SIM_STOPPED 2 /* every shard's loop ended */

/* The clients: act at the current instant; return > 0 if anything happened
 * (bytes moved, requests issued), 0 if not, < 0 to end the run. *wake_ns: the
 * earliest instant they want to act again (left alone if none). */
typedef int (*sim_actor_fn)(void *arg, int64_t *wake_ns);

int sim_world_boot(struct rb_runtime *rt);
int sim_world_run(int64_t until_ns, sim_actor_fn actor, void *arg);
bool sim_world_all_stopped(void);
void sim_world_finish(void);

/* One broker in this process (sim_broker.c). */
struct sim_broker;
/* Write dir/server.properties (with extra "key=value\n" lines), open the log
 * dirs (recovery), boot the shards on the simulated ring. */
int sim_broker_start(struct sim_broker **out, const char *dir, int n_shards, const char *extra);
/* Clean stop: request, run until every shard stopped (bounded), finish. 0 or
 * -ETIMEDOUT when a shard never finished stopping. */
int sim_broker_stop(struct sim_broker *b, sim_actor_fn actor, void *arg);

#endif
