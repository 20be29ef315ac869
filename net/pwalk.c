/*
 * net/pwalk.c - the per-partition request/response skeleton (see net/pwalk.h).
 * Owns nothing beyond the request's arena. Invariant: k runs over the request's
 * partitions in order, the same on the request and the response side, so every
 * partition is answered exactly once. Fault model: counts and indexes come from
 * the wire: negative counts are 0, out-of-range indexes are per-partition errors.
 */
#include "net/pwalk.h"
#include "core/kerr.h"
#include "core/rb.h"

#include <string.h>

void rb_pwalk_init(struct rb_pwalk *w, struct rb_request *req, int n)
{
    w->req = req;
    w->n = RB_MAX(n, 0);
    w->pops = rb_req_alloc(req, (size_t)RB_MAX(w->n, 1), sizeof(*w->pops));
    w->errors = rb_req_alloc(req, (size_t)RB_MAX(w->n, 1), sizeof(*w->errors));
}

const struct rb_topic_meta *rb_pwalk_topic(struct rb_pwalk *w, const struct rb_topic_meta *t,
                                           const char **tname)
{
    *tname = NULL;
    if (t) {
        char *nm = rb_req_alloc(w->req, t->name_len + 1, 1);
        memcpy(nm, t->name, t->name_len);
        *tname = nm;
    }
    return t;
}

const struct rb_topic_meta *rb_pwalk_named(struct rb_pwalk *w, struct rb_str name,
                                           const char **tname)
{
    const struct rb_metadata *md = rb_req_net(w->req)->md;
    return rb_pwalk_topic(
        w, name.len > 0 ? rb_metadata_topic(md, name.ptr, (size_t)name.len) : NULL, tname);
}

struct rb_pop *rb_pwalk_add(struct rb_pwalk *w, int k, enum rb_pop_kind kind,
                            const struct rb_topic_meta *t, const char *tname, int32_t index,
                            int16_t err)
{
    RB_ASSERT(k >= 0 && k < w->n);
    if (!err && (!t || index < 0 || index >= t->n_partitions))
        err = RB_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!err) { /* a cluster: only the leader answers (clients then refresh metadata) */
        const struct rb_net *n = rb_req_net(w->req);
        const struct rb_partition_meta *pm = &t->partitions[index];
        bool writes = kind == RB_POP_PRODUCE || kind == RB_POP_DELETE_RECORDS;
        if (pm->leader != n->b->bc->broker_id || pm->shard < 0 ||
            (writes && !rb_metadata_may_lead(n->md, n->shard->now_ms)))
            err = RB_KERR_NOT_LEADER_OR_FOLLOWER;
    }
    if (err) {
        w->errors[k] = err;
        return NULL;
    }
    RB_ASSERT(tname);
    w->pops[k] = rb_pop_new(w->req, kind, tname, t->name_len, index, t->partitions[index].shard);
    return w->pops[k];
}

struct rb_pop *rb_pwalk_result(const struct rb_pwalk *w, int k, int16_t *error)
{
    RB_ASSERT(k >= 0 && k < w->n);
    struct rb_pop *pop = w->pops[k];
    *error = w->errors[k];
    if (!*error && pop)
        *error = pop->u.it.error;
    return w->errors[k] ? NULL : pop;
}

void *rb_pwalk_array(struct rb_pwalk *w, int32_t n, size_t size, int32_t *count)
{
    return rb_req_array(w->req, n, size, count);
}

bool rb_pwalk_any_error(const struct rb_pwalk *w)
{
    for (int k = 0; k < w->n; k++)
        if (w->errors[k])
            return true;
    return false;
}
