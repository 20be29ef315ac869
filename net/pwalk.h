/*
 * net/pwalk.h - the per-partition skeleton shared by the multi-partition
 * handlers (Produce, Fetch, ListOffsets, DeleteRecords, OffsetForLeaderEpoch):
 * the request's partitions in one flat order (topic by topic), each answered
 * either on the connection's shard (errors[k]: unknown topic or partition, a bad
 * argument) or by its owner through a pop (pops[k], net/fanout.h); the response
 * walks the same order and takes each partition's error and answer from here.
 *
 * Everything lives in the request's arena. Topic names the pops carry are copied
 * there too: a metadata update may free the snapshot while owners work.
 */
#ifndef RB_NET_PWALK_H
#define RB_NET_PWALK_H

#include "net/fanout.h"
#include "net/handlers.h"

struct rb_pwalk {
    struct rb_request *req;
    int n;                /* the request's partitions, all topics */
    struct rb_pop **pops; /* [k]: NULL when answered with errors[k] */
    int16_t *errors;
};

/* A topic named by the request: rb_pwalk_topic of its snapshot entry. */
const struct rb_topic_meta *rb_pwalk_named(struct rb_pwalk *w, struct rb_str name,
                                           const char **tname);
/* n partitions in all (negative counts count as 0). */
void rb_pwalk_init(struct rb_pwalk *w, struct rb_request *req, int n);
/* A topic of the request by name: its snapshot entry (NULL: unknown) and, in
 * *tname, its name copied into the request arena (NULL when unknown). */
const struct rb_topic_meta *rb_pwalk_topic(struct rb_pwalk *w, const struct rb_topic_meta *t,
                                           const char **tname);
/* Partition k (index of topic t, named tname by rb_pwalk_topic): with err != 0
 * answered locally with err; unknown topic or index out of range: answered
 * UNKNOWN_TOPIC_OR_PARTITION; else a pop of kind for its owner (returned). */
struct rb_pop *rb_pwalk_add(struct rb_pwalk *w, int k, enum rb_pop_kind kind,
                            const struct rb_topic_meta *t, const char *tname, int32_t index,
                            int16_t err);
/* Response side: partition k's error (local, else the owner's) and its pop when
 * its owner answered it (NULL when answered locally). */
struct rb_pop *rb_pwalk_result(const struct rb_pwalk *w, int k, int16_t *error);
/* An array of n (>= 0) zeroed elements of size bytes in the arena; *count = n. */
void *rb_pwalk_array(struct rb_pwalk *w, int32_t n, size_t size, int32_t *count);
/* Some partition was answered locally with an error. */
bool rb_pwalk_any_error(const struct rb_pwalk *w);

#endif
