/*
 * net/dispatch.c - from a decoded request header to the handler: the table of
 * advertised API versions, version checks, body decoding.
 *
 * Policy for input we cannot serve (as Kafka does): an API key we do not serve or
 * a version outside the advertised range closes the connection, except
 * ApiVersions, which answers UNSUPPORTED_VERSION (35) with a v0 body so the
 * client can pick a version. A body that does not decode closes the connection.
 * Produce v0-2 are advertised (librdkafka only compresses when Produce v0 is
 * advertised) and answered with UNSUPPORTED_VERSION, never processed.
 */
#include "core/kerr.h"
#include "core/logging.h"
#include "core/rb.h"
#include "net/h_groups.h"
#include "net/handlers.h"

#include <string.h>

/* Advertised ranges: COMPAT.md's "first target", raised toward the "later target"
 * where a real client or a wire test exercises the version (t_admin_java.sh). */
const struct rb_api_support rb_api_support[] = {
    {0, 0, 11, 3, rb_handle_produce},
    {1, 4, 16, 4, rb_handle_fetch},
    {2, 1, 8, 1, rb_handle_list_offsets},
    {3, 0, 12, 0, rb_handle_metadata},
    {10, 0, 4, 0, rb_handle_find_coordinator},
    {18, 0, 4, 0, rb_handle_api_versions},
    {19, 2, 7, 2, rb_handle_create_topics},
    {20, 1, 6, 1, rb_handle_delete_topics},
    {32, 1, 4, 1, rb_handle_describe_configs},
    /* idempotent producer (net/h_init_producer_id.c) */
    {22, 0, 5, 0, rb_handle_init_producer_id},
    /* consumer groups (net/h_groups.c, net/h_offsets.c, net/h_group_admin.c) */
    {8, 2, 9, 2, rb_handle_offset_commit},
    {9, 1, 9, 1, rb_handle_offset_fetch},
    {11, 0, 9, 0, rb_handle_join_group},
    {12, 0, 4, 0, rb_handle_heartbeat},
    {13, 0, 5, 0, rb_handle_leave_group},
    {14, 0, 5, 0, rb_handle_sync_group},
    {15, 0, 5, 0, rb_handle_describe_groups},
    {16, 0, 4, 0, rb_handle_list_groups},
    {42, 0, 2, 0, rb_handle_delete_groups},
    {47, 0, 0, 0, rb_handle_offset_delete},
    /* log start offset (net/h_delete_records.c) */
    {21, 0, 2, 0, rb_handle_delete_records},
    /* admin (net/h_admin_configs.c, net/h_cluster.c) */
    {37, 0, 3, 0, rb_handle_create_partitions},
    {45, 0, 0, 0, rb_handle_alter_partition_reassignments},
    {46, 0, 0, 0, rb_handle_list_partition_reassignments},
    {33, 0, 2, 0, rb_handle_alter_configs},
    {44, 0, 1, 0, rb_handle_incremental_alter_configs},
    {60, 0, 1, 0, rb_handle_describe_cluster},
    {35, 1, 4, 1, rb_handle_describe_log_dirs},
    {23, 2, 4, 2, rb_handle_offset_for_leader_epoch},
};
const int rb_api_support_n = (int)RB_ARRAY_LEN(rb_api_support);

char *rb_req_strdup(struct rb_request *req, struct rb_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = rb_req_alloc(req, n + 1, 1);
    if (n)
        memcpy(p, s.ptr, n);
    p[n] = 0;
    return p;
}

void *rb_req_array(struct rb_request *req, int32_t n, size_t size, int32_t *count)
{
    *count = RB_MAX(n, 0);
    return rb_req_alloc(req, (size_t)*count, size);
}

void *rb_pick_init(struct rb_pick *p, struct rb_request *req, int32_t n, size_t size)
{
    int32_t cnt;
    p->size = size;
    p->n_ok = 0;
    p->all = rb_req_array(req, n, size, &cnt);
    p->ok = rb_req_alloc(req, (size_t)cnt, size);
    p->idx = rb_req_alloc(req, (size_t)cnt, sizeof(int));
    return p->all;
}

void rb_pick_add(struct rb_pick *p, int i)
{
    memcpy((char *)p->ok + (size_t)p->n_ok * p->size, (char *)p->all + (size_t)i * p->size,
           p->size);
    p->idx[p->n_ok++] = i;
}

void rb_pick_put_back(struct rb_pick *p)
{
    for (int i = 0; i < p->n_ok; i++)
        memcpy((char *)p->all + (size_t)p->idx[i] * p->size, (char *)p->ok + (size_t)i * p->size,
               p->size);
}

void *rb_req_alloc(struct rb_request *req, size_t n, size_t size)
{
    size_t bytes = n * size;
    if (size && bytes / size != n)
        bytes = SIZE_MAX;
    void *p = rb_arena_alloc(&req->arena, bytes ? bytes : 1);
    RB_ASSERT(p); /* see net/handlers.h: bounded by the frame size */
    return p;
}

static const struct rb_api_support *find_support(int16_t key)
{
    for (int i = 0; i < rb_api_support_n; i++)
        if (rb_api_support[i].key == key)
            return &rb_api_support[i];
    return NULL;
}

/* ApiVersions at a version we do not know: error 35 and a v0 body. */
static void api_versions_unsupported(struct rb_request *req)
{
    rb_resp_begin(req);
    rb_write_i16(&req->out, RB_KERR_UNSUPPORTED_VERSION);
    rb_write_array_len(&req->out, rb_api_support_n, false);
    for (int i = 0; i < rb_api_support_n; i++) {
        rb_write_i16(&req->out, rb_api_support[i].key);
        rb_write_i16(&req->out, rb_api_support[i].min_version);
        rb_write_i16(&req->out, rb_api_support[i].max_version);
    }
    rb_request_done(req);
}

void rb_dispatch(struct rb_request *req)
{
    const struct rb_req_header *h = &req->hdr;
    const struct rb_api_support *sup = find_support(h->api_key);
    if (!sup) {
        rb_request_fail_close(req, "unsupported API key");
        return;
    }
    if (h->api_version < sup->min_version || h->api_version > sup->max_version) {
        if (h->api_key == 18) {
            /* The response header of ApiVersions is always v0. */
            req->hdr.api_version = 0;
            api_versions_unsupported(req);
        } else {
            rb_request_fail_close(req, "unsupported API version");
        }
        return;
    }
    /* Bound the arena by the frame: decoded structures never need more than a
     * small multiple of the bytes they came from. */
    req->arena.limit_bytes = 16 * (size_t)req->frame_len + (1u << 20);
    void *msg = NULL;
    req->body.allow_trailing = true; /* as Kafka: see core/wire.h */
    int r = rb_req_decode_any(&req->body, &req->arena, h->api_key, h->api_version, &msg);
    if (r) {
        rb_request_fail_close(req, r == -ENOMEM ? "request too complex" : "malformed request");
        return;
    }
    /* Handlers allocate their response structures from the arena as well; those
     * are bounded by the broker's own state (topics, partitions), not by input. */
    req->arena.limit_bytes = (size_t)1 << 40;
    RB_ASSERT(h->api_key >= 0 && h->api_key < RB_API_KEYS);
    req->metered = req->conn->net;
    rb_counter_add(&req->metered->m.handled, 1);
    sup->handle(req, msg);
}

void rb_request_metered_end(struct rb_request *req)
{
    if (!req->metered || req->state == RB_REQ_DONE)
        return;
    struct rb_net *n = req->metered;
    struct rb_net_metrics *m = &n->m;
    req->metered = NULL;
    int k = req->hdr.api_key;
    int64_t ms = n->shard->now_ms - req->start_ms;
    rb_counter_add(&m->ended, 1);
    rb_counter_add(&m->requests[k], 1);
    rb_hist_add(&m->total_ms[k], ms > 0 ? (uint64_t)ms : 0);
}
