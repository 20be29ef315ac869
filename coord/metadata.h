/*
 * coord/metadata.h - immutable, reference-counted snapshots of cluster metadata.
 *
 * The coordination thread is the single writer: it builds a new snapshot for
 * every change and hands each shard its own reference. Shards read their
 * current snapshot without locks and drop their reference when a newer one
 * arrives; the last reference frees it (from whichever thread drops it).
 * Nothing in a snapshot changes after publication.
 */
#ifndef RB_COORD_METADATA_H
#define RB_COORD_METADATA_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A resolved broker address (IPv4 or IPv6, the port set); len 0: none. */
struct rb_sockaddr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

struct rb_broker_meta {
    int32_t id;
    char *host; /* as advertised (Metadata answers keep it) */
    uint16_t port;
    char *rack; /* NULL: none */
    /* host:port resolved by the coordination thread (coord/resolve.c), which may
     * block on DNS; shards connect to it and never resolve. len 0: not resolved
     * (yet) or no coordinator (standalone snapshots). */
    struct rb_sockaddr addr;
};

struct rb_partition_meta {
    int32_t index;
    int16_t shard; /* owning shard on the leader broker */
    int32_t leader;
    int32_t leader_epoch;
    int32_t n_replicas;
    int32_t *replicas;
    int32_t n_isr;
    int32_t *isr;
};

struct rb_topic_config_kv {
    char *key;
    char *value;
};

struct rb_topic_meta {
    char *name;
    size_t name_len;
    uint8_t id[16]; /* topic id (UUID) */
    bool internal;
    int32_t n_partitions;
    struct rb_partition_meta *partitions;
    int32_t n_configs; /* only the keys set explicitly for this topic */
    struct rb_topic_config_kv *configs;
};

/* A dynamic broker config (AlterConfigs on a BROKER resource). */
struct rb_dyn_config_kv {
    int32_t broker; /* -1: the cluster-wide default (resource name "") */
    char *key;
    char *value;
};

struct rb_config;

struct rb_metadata {
    atomic_int refs;
    int64_t epoch; /* increases with every change */
    char cluster_id[32];
    int32_t controller_id;
    int32_t n_brokers;
    struct rb_broker_meta *brokers;
    int32_t n_topics;
    struct rb_topic_meta *topics; /* sorted by name */
    int32_t n_dyn_configs;
    struct rb_dyn_config_kv *dyn_configs;
    /* The broker configuration in effect: the static one with dyn_configs applied
     * (rb_config_overlay). One reference per snapshot (clones share it); NULL in
     * snapshots built without a coordinator (tests): use the static config. */
    struct rb_config *config;
    /* Cluster mode: the monotonic ms until which this broker may act as a leader
     * (accept writes), kept by the coordination thread (coord/cluster.c); NULL on
     * a standalone broker (always). */
    const _Atomic int64_t *leader_lease;
    /* Cluster mode: a shard that failed to connect to a broker sets it; the
     * coordination thread then resolves the brokers' names again (at most every
     * few seconds). NULL on a standalone broker. */
    atomic_bool *resolve_again;
};

/* Whether this broker may accept writes as a leader now (now_ms: rb_mono_ms's clock). */
static inline bool rb_metadata_may_lead(const struct rb_metadata *md, int64_t now_ms)
{
    return !md->leader_lease || atomic_load(md->leader_lease) > now_ms;
}

void rb_metadata_ref(struct rb_metadata *md);
void rb_metadata_unref(struct rb_metadata *md);

/* Kafka's internal topics (Topic.isInternal): __consumer_offsets and
 * __transaction_state. Only the broker writes them: clients get
 * INVALID_TOPIC_EXCEPTION for Produce, DeleteRecords and DeleteTopics. */
static inline bool rb_topic_name_internal(const char *name, size_t len)
{
    static const char co[] = "__consumer_offsets", ts[] = "__transaction_state";
    return name && ((len == sizeof(co) - 1 && memcmp(name, co, len) == 0) ||
                    (len == sizeof(ts) - 1 && memcmp(name, ts, len) == 0));
}

/* Lookup by name (binary search); NULL when absent. */
const struct rb_topic_meta *rb_metadata_topic(const struct rb_metadata *md, const char *name,
                                              size_t len);
const struct rb_topic_meta *rb_metadata_topic_by_id(const struct rb_metadata *md,
                                                    const uint8_t id[16]);
/* The value of a topic-level config set explicitly, or NULL. */
const char *rb_topic_config(const struct rb_topic_meta *t, const char *key);

/* The dynamic broker config key set for broker (-1: cluster default), or NULL. */
const char *rb_metadata_dyn_config(const struct rb_metadata *md, int32_t broker, const char *key);
/* Replace md's effective config (takes the caller's reference to cfg). */
void rb_metadata_set_config(struct rb_metadata *md, struct rb_config *cfg);

/* Deep copy (refs = 1), for the writer to derive the next snapshot. */
struct rb_metadata *rb_metadata_clone(const struct rb_metadata *md);
/* Free a snapshot that was never published (refs ignored). */
void rb_metadata_free(struct rb_metadata *md);
/* Sort topics by name after the writer added or removed some. */
void rb_metadata_sort(struct rb_metadata *md);
/* Topic name rules (Kafka's): 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool rb_topic_name_valid(const char *name, size_t len);

/* Kafka's textual topic id: URL-safe base64 of the 16 bytes without padding. */
void rb_uuid_to_base64(const uint8_t id[16], char out[23]);
int rb_uuid_from_base64(const char *s, uint8_t id[16]);
/* A random (version 4) UUID from getrandom(2). */
void rb_uuid_random(uint8_t id[16]);

#endif
