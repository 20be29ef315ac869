/*
 * net/group_route_int.h - what the two halves of the group plumbing share:
 * net/group_route.c (group ops between shards, appends, record sets, the lazy
 * creation of __consumer_offsets) and net/group_shard.c (the owner shard's group
 * state, loading, metadata records, offset expiry). Not a public header.
 */
#ifndef RB_NET_GROUP_ROUTE_INT_H
#define RB_NET_GROUP_ROUTE_INT_H

#include "net/group_route.h"

#define RB_GROUPS_NOT_COORD_ERR 16 /* NOT_COORDINATOR */

/* __consumer_offsets in the shard's current metadata, or NULL. */
const struct rb_topic_meta *rb_groups_offsets_topic(struct rb_net *n);

/* Owner: an op arrived (its fan item's run): its partition (or the shard's
 * partitions) loaded, then op->run; else answered with the error. */
void rb_gop_on_owner(struct rb_shard *s, struct rb_fan_item *fi);

/* Append rs to part (then free it); 0 or -errno. */
int rb_recset_append_part(struct rb_shard *s, int32_t part, struct rb_recset *rs,
                          rb_append_done_fn done, void *arg);

#endif
