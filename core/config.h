/*
 * core/config.h - broker configuration: Kafka's server.properties format, Kafka's
 * key names, command-line overrides and environment variables.
 *
 * Precedence (lowest to highest): built-in defaults < the properties file <
 * environment (KAFKA_FOO_BAR -> foo.bar, RINGBROKER_FOO_BAR -> foo.bar; Kafka's
 * launcher variables KAFKA_HEAP_OPTS, KAFKA_OPTS, KAFKA_JMX_OPTS, KAFKA_LOG4J_OPTS,
 * KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_DEBUG are ignored; a double
 * underscore maps to a single '_' in the key, as Confluent images do) <
 * --override key=value.
 * Validation: a bad value for a known key fails the load with a message naming the
 * key; an unknown key is a warning (logged), so typos show but old files start.
 * The raw key/value map is kept so later subsystems (and DescribeConfigs) can read
 * any key, including ones this header does not model.
 *
 * Topic configs: rb_topic_config_* validate the per-topic keys Kafka accepts in
 * CreateTopics / AlterConfigs (retention.ms, segment.bytes, cleanup.policy, ...).
 */
#ifndef RB_CORE_CONFIG_H
#define RB_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_MAX_LOG_DIRS 16
#define RB_HOST_MAX     256

struct rb_broker_config {
    int32_t broker_id;                 /* broker.id or node.id (default 0 standalone) */
    char listener_host[RB_HOST_MAX];   /* from listeners=PLAINTEXT://host:port */
    uint16_t listener_port;            /* (default 127.0.0.1:9092; "" host = all) */
    char advertised_host[RB_HOST_MAX]; /* advertised.listeners, else listener's host */
    uint16_t advertised_port;          /* (0.0.0.0 listener -> advertise hostname) */
    char *log_dirs[RB_MAX_LOG_DIRS];   /* log.dirs (comma list) or log.dir; default ./data */
    int n_log_dirs;
    char zookeeper_connect[1024];       /* empty: standalone */
    int32_t num_partitions;             /* num.partitions (1) */
    int16_t default_replication_factor; /* default.replication.factor (1) */
    bool auto_create_topics_enable;     /* auto.create.topics.enable (true) */
    bool delete_topic_enable;           /* delete.topic.enable (true) */
    bool replication_test_enable;       /* replication.test.enable: deprecated, ignored */
    int32_t message_max_bytes;          /* message.max.bytes (1048588) */
    int32_t socket_request_max_bytes;   /* socket.request.max.bytes (104857600) */
    int32_t max_connections;            /* max.connections (2147483647) */
    int32_t max_connections_per_ip;     /* max.connections.per.ip (2147483647) */
    int32_t queued_max_requests;        /* queued.max.requests (500): per connection cap here */
    int64_t log_segment_bytes;          /* log.segment.bytes (1073741824) */
    int64_t log_roll_ms;                /* log.roll.ms, else log.roll.hours (168) */
    int64_t log_retention_ms;           /* log.retention.ms|minutes|hours (168 h); -1 = forever */
    int64_t log_retention_bytes;        /* log.retention.bytes (-1) */
    int64_t log_retention_check_interval_ms;  /* log.retention.check.interval.ms (300000) */
    int64_t log_segment_delete_delay_ms;      /* log.segment.delete.delay.ms (60000) */
    int64_t log_flush_interval_messages;      /* log.flush.interval.messages (default 1: durable) */
    int64_t log_flush_interval_ms;            /* log.flush.interval.ms (-1 = unset) */
    int32_t log_index_interval_bytes;         /* log.index.interval.bytes (4096) */
    int32_t log_segment_index_bytes;          /* log.index.size.max.bytes (10485760) */
    bool log_message_timestamp_log_append;    /* log.message.timestamp.type=LogAppendTime */
    int32_t group_initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms (3000) */
    int32_t offsets_topic_replication_factor; /* offsets.topic.replication.factor (3) */
    int32_t offsets_topic_num_partitions;     /* offsets.topic.num.partitions (50) */
    int32_t group_min_session_timeout_ms;     /* group.min.session.timeout.ms (6000) */
    int32_t group_max_session_timeout_ms;     /* group.max.session.timeout.ms (1800000) */
    int32_t group_max_size;                   /* group.max.size (2147483647) */
    int32_t max_partitions;                   /* max.partitions: on this broker (20000) */
    int32_t max_partitions_per_topic;         /* max.partitions.per.topic (10000) */
    int32_t num_shards; /* num.shards: shard threads (0 = one per online CPU) */
    int32_t broker_liveness_probe_interval_ms; /* (ringbroker) 300; 0: off (coord/liveness.c) */
    int64_t log_preallocate_step_bytes;        /* log.preallocate.step.bytes (16 MiB) */
    int32_t log_chunk_bytes;                   /* log.chunk.bytes: O_DIRECT write unit (256 KiB) */
    int64_t log_max_dirty_bytes;               /* log.max.dirty.bytes per partition (8 MiB) */
    int64_t log_tail_cache_bytes;              /* log.tail.cache.bytes per shard (-1: auto) */
    bool fetch_file_splice;                    /* fetch.file.transfer=splice (default read) */
    bool fetch_file_direct;    /* fetch.file.direct: the read path reads with O_DIRECT (false) */
    bool fetch_file_readahead; /* fetch.file.readahead: read the next stage while sending (false) */
    int64_t fetch_file_readahead_bytes; /* fetch.file.readahead.bytes: per stream (4 MiB) */
    int32_t recv_buffers;               /* socket.recv.buffers per shard (256) */
    int32_t recv_buffer_bytes;          /* socket.recv.buffer.bytes... of each (16 KiB) */
    int32_t fetch_max_bytes;            /* fetch.max.bytes (57671680): cap of a Fetch response */
    int64_t queued_max_request_bytes;   /* queued.max.request.bytes (-1: unbounded), broker-wide */
    int64_t shard_memory_budget_bytes; /* shard.memory.budget.bytes (256 MiB): frames + responses */
    int64_t connection_memory_max_bytes; /* connection.memory.max.bytes (64 MiB): per connection */
    char log_level[16];                  /* log.level (info) */
    bool controlled_shutdown_enable;     /* controlled.shutdown.enable (true) */
    int32_t controlled_shutdown_max_retries;      /* controlled.shutdown.max.retries (3) */
    int64_t controlled_shutdown_retry_backoff_ms; /* controlled.shutdown.retry.backoff.ms (5000) */
    bool auto_leader_rebalance_enable;            /* auto.leader.rebalance.enable (true) */
    int64_t
        leader_imbalance_check_interval_seconds; /* leader.imbalance.check.interval.seconds (300) */
    int32_t
        leader_imbalance_per_broker_percentage; /* leader.imbalance.per.broker.percentage (10) */
};

struct rb_config;

/* Load path (NULL: defaults only), then environment envp (NULL: none), then the
 * overrides ("key=value" strings). On failure returns -EINVAL (or -errno for I/O)
 * and writes a one-line reason naming the key (or file and line) into err. */
int rb_config_load(struct rb_config **out, const char *path, char *const *envp, int n_overrides,
                   char *const *overrides, char *err, size_t errlen);
/* A config is immutable once loaded and reference-counted: rb_config_ref adds a
 * reference (any thread), rb_config_free drops one and frees with the last. */
void rb_config_free(struct rb_config *cfg);
struct rb_config *rb_config_ref(struct rb_config *cfg);

/* Dynamic broker configs (AlterConfigs on a BROKER resource): a new config equal
 * to base with keys[i]=values[i] applied over it - cluster-wide defaults
 * (per_broker[i] false, source "dynamic-default") first, then this broker's own
 * (source "dynamic-broker") - and the typed view rebuilt with Kafka's precedence
 * (log.retention.ms over .minutes over .hours, ...). Returns 0 or -EINVAL (a value
 * fails its key's check; reason in err) / -ENOMEM. */
int rb_config_overlay(struct rb_config **out, const struct rb_config *base, int n,
                      const char *const *keys, const char *const *values, const bool *per_broker,
                      char *err, size_t errlen);
/* Where key's value came from: "default", "file", "env", "override",
 * "dynamic-default", "dynamic-broker"; NULL when unset. */
const char *rb_config_source(const struct rb_config *cfg, const char *key);

/* core/config_dynamic.c: Kafka's dynamically updatable broker keys that this broker
 * honours (read_only false in DescribeConfigs). rb_config_dynamic_check checks one
 * change (value NULL: invalid): 0, -EPERM for a known read-only key ("Cannot
 * update these configs dynamically"), -EINVAL for a bad value; reason in err.
 * Unknown keys pass, as in Kafka. rb_config_key_list: a list-typed key (APPEND and
 * SUBTRACT apply). */
bool rb_config_key_dynamic(const char *key);
int rb_config_dynamic_check(const char *key, const char *value, char *err, size_t errlen);
bool rb_config_key_list(const char *key);

/* The typed view, valid as long as cfg. */
const struct rb_broker_config *rb_config_broker(const struct rb_config *cfg);

/* Raw lookup of any key after precedence is applied (NULL when unset). */
const char *rb_config_get(const struct rb_config *cfg, const char *key);

/* Iterate every key that is set, with its value and where it came from
 * ("default", "file", "env", "override"); returns the number of entries. */
int rb_config_foreach(const struct rb_config *cfg,
                      void (*fn)(const char *key, const char *value, const char *source, void *arg),
                      void *arg);

/* Topic configs. rb_topic_config_validate returns 0 or -EINVAL (unknown key) /
 * -ERANGE (bad value) with a reason in err. rb_topic_config_default gives the
 * broker-derived default for a topic key (e.g. retention.ms from log.retention.*),
 * or NULL for an unknown key. */
int rb_topic_config_validate(const char *key, const char *value, char *err, size_t errlen);
const char *rb_topic_config_default(const struct rb_config *cfg, const char *key, char *buf,
                                    size_t buflen);
/* The source (rb_config_source) of the broker key that rb_topic_config_default
 * took key's default from; NULL when it is a fixed default. */
const char *rb_topic_config_default_source(const struct rb_config *cfg, const char *key);
/* The broker key (set in cfg) that key's default comes from, e.g. retention.ms ->
 * log.retention.ms or log.retention.hours; NULL when it is a fixed default. */
const char *rb_topic_config_broker_key(const struct rb_config *cfg, const char *key);
/* NULL-terminated list of every topic config key Kafka knows, for DescribeConfigs. */
const char *const *rb_topic_config_keys(void);

/* Parse helpers shared with topic configs: strict, whole-string, range-checked. */
int rb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int rb_parse_bool(const char *s, bool *out);

#endif
