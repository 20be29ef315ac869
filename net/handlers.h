/*
 * net/handlers.h - one handler per Kafka API. A handler gets the decoded request
 * body (in the request's arena) and must eventually call rb_request_done (after
 * rb_resp_begin + encoding), rb_request_done_silent, or rb_request_fail_close.
 */
#ifndef RB_NET_HANDLERS_H
#define RB_NET_HANDLERS_H

#include "net/net.h"

void rb_handle_api_versions(struct rb_request *req, void *msg);
void rb_handle_metadata(struct rb_request *req, void *msg);
void rb_handle_produce(struct rb_request *req, void *msg);
void rb_handle_fetch(struct rb_request *req, void *msg);
void rb_handle_list_offsets(struct rb_request *req, void *msg);
void rb_handle_create_topics(struct rb_request *req, void *msg);
void rb_handle_delete_topics(struct rb_request *req, void *msg);
void rb_handle_describe_configs(struct rb_request *req, void *msg);
void rb_handle_find_coordinator(struct rb_request *req, void *msg);
void rb_handle_init_producer_id(struct rb_request *req, void *msg);
void rb_handle_delete_records(struct rb_request *req, void *msg);
/* admin (net/h_admin_configs.c, net/h_cluster.c) */
void rb_handle_create_partitions(struct rb_request *req, void *msg);
void rb_handle_alter_configs(struct rb_request *req, void *msg);
void rb_handle_incremental_alter_configs(struct rb_request *req, void *msg);
void rb_handle_describe_cluster(struct rb_request *req, void *msg);
void rb_handle_describe_log_dirs(struct rb_request *req, void *msg);
void rb_handle_offset_for_leader_epoch(struct rb_request *req, void *msg);

/* The API versions this broker advertises (net/dispatch.c). */
struct rb_api_support {
    int16_t key;
    int16_t min_version;  /* advertised */
    int16_t max_version;  /* advertised */
    int16_t min_accepted; /* below this: UNSUPPORTED_VERSION in the normal response */
    void (*handle)(struct rb_request *req, void *msg);
};
extern const struct rb_api_support rb_api_support[];
extern const int rb_api_support_n;

/* Helpers shared by handlers. */
static inline struct rb_shard *rb_req_shard(struct rb_request *req)
{
    return req->conn->net->shard;
}
static inline struct rb_net *rb_req_net(struct rb_request *req)
{
    return req->conn->net;
}
/* NUL-terminated copy of a wire string in the request arena ("" for null). */
char *rb_req_strdup(struct rb_request *req, struct rb_str s);
/* Arena allocation of n zeroed elements; never NULL (the arena limit is far above
 * what a request of frame_len bytes can need: element counts are bounded by it). */
void *rb_req_alloc(struct rb_request *req, size_t n, size_t size);

#endif
