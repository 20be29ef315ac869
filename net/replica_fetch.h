/*
 * net/replica_fetch.h - the follower side of replication on a shard (see
 * net/replica_fetch.c): fetchers per leader broker, kicked by metadata updates.
 */
#ifndef RB_NET_REPLICA_FETCH_H
#define RB_NET_REPLICA_FETCH_H

#include "net/net.h"

#include <stdbool.h>

/* A new metadata snapshot is in place (roles applied): start or kick the fetchers
 * of the partitions this shard follows (cluster mode). */
void rb_rfetch_update(struct rb_net *n);
/* Stopping: abort the fetches in flight; quiet once none is; free after the loop. */
void rb_rfetch_stop(struct rb_net *n);
bool rb_rfetch_quiet(const struct rb_net *n);
void rb_rfetch_free(struct rb_net *n);

#endif
