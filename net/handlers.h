/*
 * net/handlers.h - one handler per Kafka API. A handler gets the decoded request
 * body (in the request's arena) and must eventually call rb_request_done (after
 * rb_resp_begin + encoding), rb_request_done_silent, or rb_request_fail_close.
 */
#ifndef RB_NET_HANDLERS_H
#define RB_NET_HANDLERS_H

#include "net/net.h"

#include <string.h>

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
void rb_handle_alter_partition_reassignments(struct rb_request *req, void *msg);
void rb_handle_list_partition_reassignments(struct rb_request *req, void *msg);
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
/* The broker configuration in effect on this shard: the static one with the
 * dynamic broker configs of the current metadata snapshot applied. Valid until the
 * shard installs its next snapshot (the end of the current handler call). */
static inline const struct rb_config *rb_net_config(const struct rb_net *n)
{
    return n->md && n->md->config ? n->md->config : n->b->config;
}
/* Kafka's ConfigSource (DescribeConfigs, CreateTopics v5+) of a value whose
 * rb_config_source is src: DYNAMIC_BROKER_CONFIG 2, DYNAMIC_DEFAULT_BROKER_CONFIG
 * 3, STATIC_BROKER_CONFIG 4 (file, environment, --override), DEFAULT_CONFIG 5
 * (built in, or src NULL). */
static inline int8_t rb_kafka_config_source(const char *src)
{
    if (!src || strcmp(src, "default") == 0)
        return 5;
    if (strcmp(src, "dynamic-broker") == 0)
        return 2;
    return strcmp(src, "dynamic-default") == 0 ? 3 : 4;
}
/* NUL-terminated copy of a wire string in the request arena ("" for null). */
char *rb_req_strdup(struct rb_request *req, struct rb_str s);
/* Arena allocation of n zeroed elements; never NULL (the arena limit is far above
 * what a request of frame_len bytes can need: element counts are bounded by it). */
void *rb_req_alloc(struct rb_request *req, size_t n, size_t size);
/* An array of n zeroed elements (n < 0 counts as 0) in the arena; *count = n. */
void *rb_req_array(struct rb_request *req, int32_t n, size_t size, int32_t *count);

/* The entries of an admin request (CreateTopics, CreatePartitions) that passed the
 * local checks, copied out for the coordinator, which fills them in, and put back
 * in place when it answers. All in the request arena. */
struct rb_pick {
    void *all; /* one entry of size bytes per request entry */
    void *ok;  /* copies of the entries picked */
    int *idx;  /* ok's entry i is all's entry idx[i] */
    int n_ok;
    size_t size;
};
/* n zeroed entries of size bytes; returns all. */
void *rb_pick_init(struct rb_pick *p, struct rb_request *req, int32_t n, size_t size);
/* Entry i goes to the coordinator. */
void rb_pick_add(struct rb_pick *p, int i);
/* The coordinator filled in ok: copy each back to its place in all. */
void rb_pick_put_back(struct rb_pick *p);

#endif
