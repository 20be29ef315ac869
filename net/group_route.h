/*
 * net/group_route.h - plumbing of the group coordinator APIs (net/h_groups.c):
 * routing a group to the shard that owns its __consumer_offsets partition, the
 * per-shard group state (coord/group.h) and its loading from the log, and the
 * creation of __consumer_offsets itself.
 *
 * A request is split into group operations (struct rb_gop), one per group (or per
 * shard for ListGroups), gathered under one struct rb_gparent in the request's
 * arena on the connection's shard (the origin). The ops are fan items
 * (net/fanout.h): sent to their owner shards, one message per shard, run there
 * (possibly parking in the group state until a rebalance step or a durable
 * append), and gathered back; once all are back the parent's finish encodes the
 * response on the origin - if the connection is still there.
 * Memory: everything the origin needs the owner to read (decoded input, result
 * arrays sized from the input) is allocated in the arena BEFORE the ops leave; an
 * owner never allocates from the arena (ops of one request run on several shards
 * at once): what it must allocate goes in the op's heap (rb_gop_alloc), freed by
 * the origin once the response is encoded.
 *
 * __consumer_offsets is created lazily, as Kafka does: by the first group request
 * that finds it missing (through rb_coord_create_topics, the normal path), with
 * offsets.topic.num.partitions partitions and cleanup.policy=compact. Each
 * partition is loaded into its owner's group state by the first op that needs it
 * (COORDINATOR_LOAD_IN_PROGRESS while a large log loads in steps).
 */
#ifndef RB_NET_GROUP_ROUTE_H
#define RB_NET_GROUP_ROUTE_H

#include "coord/group.h"
#include "coord/offsets_log.h"
#include "net/handlers.h"
#include "net/fanout.h"

struct rb_gparent;
struct rb_oblk;

struct rb_gop {
    struct rb_fan_item fi; /* fi.shard: the owner; -1: not routed (err is the answer) */
    struct rb_gparent *parent;
    int32_t part; /* __consumer_offsets partition; -1: the whole owner shard */
    const char *group;
    /* Runs on the owner once its partition is loaded; must end in rb_gop_return
     * (now or later). */
    void (*run)(struct rb_shard *s, struct rb_gop *op, struct rb_group_mgr *mgr);
    int16_t err;
    struct rb_gwait w;
    void *in, *out;
    int idx;
    uint32_t load_gen; /* the owner's unload generation of part when the op ran */
    struct rb_oblk *heap;
};

struct rb_gparent {
    struct rb_request *req;
    void *msg;
    struct rb_gop *ops;
    int n_ops;
    void (*finish)(struct rb_request *req, struct rb_gparent *p);
    void *ctx;
};

/* Origin: a parent with n zeroed ops (not routed). */
struct rb_gparent *rb_gparent_new(struct rb_request *req, void *msg, int n_ops,
                                  void (*finish)(struct rb_request *req, struct rb_gparent *p));
/* Origin: route op to group's owner (sets part, owner, group); on failure sets
 * op->err = COORDINATOR_NOT_AVAILABLE and owner -1. */
void rb_gop_route(struct rb_net *n, struct rb_gop *op, const char *group);
/* Origin: send every routed op; finish runs once all are back. */
void rb_gparent_start(struct rb_shard *s, struct rb_gparent *p);
/* Owner: the op is finished, send it back. */
void rb_gop_return(struct rb_shard *s, struct rb_gop *op);
/* Owner, in an append's completion: the op's partition is still loaded as when
 * the op ran. False once the broker stopped leading it in between (its groups were
 * unloaded): the completion answers but leaves the group state alone. */
bool rb_gop_current(struct rb_shard *s, const struct rb_gop *op);
/* Owner: zeroed memory / copies living until the response is encoded. */
void *rb_gop_alloc(struct rb_gop *op, size_t n);
struct rb_str rb_gop_str(struct rb_gop *op, const char *s);
struct rb_bytes rb_gop_bytes(struct rb_gop *op, const uint8_t *p, int32_t len);

/* Origin: run cont(req, msg) once __consumer_offsets exists (creating it). */
void rb_groups_with_topic(struct rb_request *req, void *msg,
                          void (*cont)(struct rb_request *req, void *msg));

/* Owner: append a batch of records to __consumer_offsets-part; done later. */
int rb_groups_append(struct rb_shard *s, int32_t part, const struct rb_orec *recs, int n,
                     rb_append_done_fn done, void *arg);

/* Records being appended for an op: built in a writer, addressed by position. */
struct rb_recset {
    struct rb_writer w;
    int n, cap;
    struct {
        size_t k, kl, v, vl;
        bool tomb;
    } * r;
};
/* Add an offset record (topic NULL: the group metadata key, version 2); tomb: null
 * value. */
void rb_recset_add(struct rb_recset *rs, const char *group, const char *topic, int32_t p, bool tomb,
                   int64_t off, int32_t epoch, const char *meta, int64_t ts);
/* Append rs to op's partition as one batch (and free rs); done(s, err, base, op)
 * runs once durable. Returns 0 or the error to answer now. */
int16_t rb_recset_append(struct rb_shard *s, struct rb_gop *op, struct rb_recset *rs,
                         rb_append_done_fn done);

/* Every loop turn of a shard (cheap): arms the offset expiry timer once; once the
 * runtime is stopping, answers every parked op and refuses new ones. */
void rb_groups_turn(struct rb_net *n);
/* Owner, after a new metadata view is applied on the shard: unloads the groups of
 * every __consumer_offsets partition the broker no longer leads here. */
void rb_groups_roles(struct rb_shard *s);
/* Shard thread, after its loop: cancels the timers, frees the group state. */
void rb_groups_finish(struct rb_net *n);

/* Map an append error to OffsetCommit's error codes (as Kafka does). */
int16_t rb_groups_commit_error(int16_t append_err);

#endif
