/*
 * tests/sim/sim_quorum.h - the simulated quorum (sim_quorum.c): an in-memory
 * ZooKeeper behind coord/quorum.h, opened with backend "test".
 */
#ifndef RB_SIM_QUORUM_H
#define RB_SIM_QUORUM_H

#include "coord/quorum.h"

#include <stdbool.h>
#include <stdint.h>

void sim_quorum_install(void);
void sim_quorum_reset(void);
/* Expire every session not heard from for its timeout (run as time passes). */
void sim_quorum_expire_due(void);
/* Cut (or heal) the network between a session's client and the quorum. */
void sim_quorum_set_cut(struct rb_quorum *q, bool cut);
/* A crash: drop the handle without ending the session (it expires later). */
void sim_quorum_abandon(struct rb_quorum *q);
/* The checker's direct view (no session): 0 or -ENOENT. */
int sim_quorum_read(const char *path, char **data, int64_t *version);
int sim_quorum_owner_is(const char *path, struct rb_quorum *q);
int sim_quorum_count_children(const char *path);

/* The cluster simulation (sim_cluster.c): one seed; 0 when every invariant held,
 * else 1 with the first failure in why. */
int sim_cluster_run(uint64_t seed, char *why, size_t whylen);

#endif
