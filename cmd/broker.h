/*
 * cmd/broker.h - the broker's assembly, shared by the daemon (cmd/ringbroker.c)
 * and the simulator (tests/sim/sim_broker.c), so the simulation always runs the
 * wiring the daemon runs: configuration -> runtime -> each shard's part/ and net/
 * state and hooks -> the listening socket -> the coordination backend (which
 * recovers the logs and hands each shard its partitions).
 *
 * Neither function starts a thread: the caller starts the runtime
 * (rb_runtime_start, or the simulator's scheduler), then calls
 * rb_broker_close_prebound().
 */
#ifndef RB_CMD_BROKER_H
#define RB_CMD_BROKER_H

#include "net/net.h"

#include <stddef.h>

struct rb_broker_args {
    const char *config_path; /* server.properties */
    char **env;              /* KAFKA_* / RINGBROKER_* overrides; NULL-terminated */
    int n_over;              /* --override key=value, winning over env */
    char **over;
    uint32_t ring_entries; /* per shard ring */
};

/* Load the configuration (sets the log level) and assemble b. 0 or -errno; err
 * says why (configuration errors, shards, bind, log dirs). On failure b is left
 * as it is: the process is expected to exit. */
int rb_broker_open(struct rb_broker *b, const struct rb_broker_args *args, char *err,
                   size_t errlen);
/* After the runtime started: the socket bound before the shards took it. */
void rb_broker_close_prebound(void);
/* After every shard stopped (rb_runtime_join, or the simulator's loop ended):
 * recovery-point checkpoints, the coordination backend, per-shard state, the
 * runtime and the configuration. */
void rb_broker_close(struct rb_broker *b);

#endif
