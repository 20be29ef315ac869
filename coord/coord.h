/*
 * coord/coord.h - the coordination layer's interface: cluster metadata changes
 * (topic creation and deletion, partition placement) and their publication to
 * the shards. One backend today: standalone (metadata in a file in the first
 * log dir, this broker is the controller), or cluster (coord/cluster*.c: a quorum,
 * ZooKeeper or etcd, in ZooKeeper-era Kafka's layout; chosen by zookeeper.connect or
 * etcd.endpoints). rb_coord_standalone_open opens whichever the config names.
 *
 * Threads: the coord state lives on the coordination thread. Shards call
 * rb_coord_create_topics / rb_coord_delete_topics, which post the work there;
 * the result arrays (owned by the caller, e.g. in a request arena) are filled on
 * the coord thread and `done` runs back on the calling shard once every shard
 * has applied the new metadata - so a client that sees the answer can use the
 * topic on any connection.
 *
 * Partition logs are opened (created, recovered) on the coord thread or at
 * startup - both may block - and handed to their owning shard in a struct
 * rb_md_update; a dropped partition's log is handed back for destruction.
 */
#ifndef RB_COORD_COORD_H
#define RB_COORD_COORD_H

#include "coord/metadata.h"
#include "core/config.h"
#include "core/shard.h"
#include "storage/log.h"

struct rb_coord;

struct rb_partition_handoff {
    const struct rb_topic_meta *topic; /* in the update's snapshot */
    int32_t index;
    struct rb_log *log; /* adopt: the opened log; drop: filled by the shard */
};

struct rb_md_update {
    struct rb_metadata *md; /* one reference for the receiving shard */
    struct rb_partition_handoff *adopt;
    int n_adopt;
    struct rb_partition_handoff *drop;
    int n_drop;
    /* Topic or broker configs changed: the shard gives every log it owns its new
     * settings (rb_coord_log_config on md, rb_log_reconfigure). */
    bool reconfigure;
    void *op; /* coord-private: the change this update belongs to */
};

struct rb_coord_hooks {
    /* At startup (main thread, before the shards run): give shard `shard` its log. */
    void (*adopt_initial)(void *ctx, int shard, const struct rb_topic_meta *t, int32_t index,
                          struct rb_log *log);
    /* At startup: the first snapshot for shard `shard` (one reference). */
    void (*install_initial)(void *ctx, int shard, struct rb_metadata *md);
    /* On a shard: apply u (install md, adopt and drop partitions), then call
     * rb_coord_update_applied(s, u) - possibly later, once dropped logs are idle. */
    void (*apply)(struct rb_shard *s, struct rb_md_update *u);
    void *ctx;
};

/* Open the standalone backend: load or create the metadata in the first log dir,
 * write meta.properties, open and recover every partition log. Main thread,
 * before rb_runtime_start. Returns 0 or -errno with a reason in err. */
int rb_coord_standalone_open(struct rb_coord **out, struct rb_config *config, struct rb_runtime *rt,
                             const struct rb_coord_hooks *hooks, char *err, size_t errlen);
/* The coordination thread's start hook (cmd/broker.c sets it): in cluster mode it
 * starts watching the quorum, keeping the leader lease and running elections. */
int rb_coord_thread_start(struct rb_shard *s);
/* Main thread, on SIGTERM while the runtime still runs: in cluster mode with
 * controlled.shutdown.enable, ask the controller to move this broker's leaderships
 * and ISR places away and wait for it (bounded by controlled.shutdown.max.retries x
 * controlled.shutdown.retry.backoff.ms). 0 (also standalone) or -ETIMEDOUT. */
int rb_coord_controlled_shutdown(struct rb_coord *c);
/* Close after the runtime stopped (logs were closed by their shards). */
void rb_coord_close(struct rb_coord *c);

/* Log settings for a topic: broker defaults overridden by the topic's configs.
 * bc is the configuration in effect (rb_config_broker(md->config) when set). */
void rb_coord_log_config(const struct rb_broker_config *bc, const struct rb_topic_meta *t,
                         struct rb_log_config *out);

/* replication_factor of __consumer_offsets: offsets.topic.replication.factor (3),
 * capped at the live brokers with a warning (1 until replication is enabled). */
#define RB_RF_OFFSETS_TOPIC (-2)

struct rb_topic_spec {
    const char *name;           /* NUL-terminated */
    int32_t n_partitions;       /* -1: num.partitions */
    int16_t replication_factor; /* -1: default.replication.factor; RB_RF_OFFSETS_TOPIC */
    int32_t n_configs;
    const char **config_keys;
    const char **config_values;
    /* results */
    int16_t error;
    char error_message[160];
    uint8_t topic_id[16];
    int32_t n_partitions_out;
    int16_t replication_factor_out;
};

struct rb_topic_delete {
    const char *name; /* NUL-terminated, or NULL to delete by id */
    uint8_t topic_id[16];
    /* results */
    int16_t error;
    const char *name_out; /* the deleted topic's name (static for the call's life) */
    char name_buf[256];
};

typedef void (*rb_coord_done_fn)(struct rb_shard *s, void *arg);

void rb_coord_create_topics(struct rb_shard *from, struct rb_topic_spec *specs, int n,
                            bool validate_only, rb_coord_done_fn done, void *arg);
void rb_coord_delete_topics(struct rb_shard *from, struct rb_topic_delete *dels, int n,
                            rb_coord_done_fn done, void *arg);

/* CreatePartitions: grow topic `name` to `count` partitions (new logs are opened
 * and handed to their shards like a create). Growing only: a count not above the
 * current one is INVALID_PARTITIONS. */
struct rb_partitions_spec {
    const char *name; /* NUL-terminated */
    int32_t count;    /* the new total */
    /* results */
    int16_t error;
    char error_message[160];
};

void rb_coord_create_partitions(struct rb_shard *from, struct rb_partitions_spec *specs, int n,
                                bool validate_only, rb_coord_done_fn done, void *arg);

/* Partition reassignment requests (KIP-455's AlterPartitionReassignments), merged
 * into /admin/reassign_partitions for the controller (coord/reassign.c): replicas
 * NULL (n_replicas -1) cancels the partition's reassignment (it goes back to its
 * original replicas). A cluster only: standalone answers INVALID_REQUEST (not retriable). */
struct rb_reassign_spec {
    const char *topic; /* NUL-terminated */
    int32_t partition;
    int32_t n_replicas; /* -1: cancel */
    const int32_t *replicas;
    /* results */
    int16_t error;
    char error_message[160];
};
void rb_coord_alter_reassignments(struct rb_shard *from, struct rb_reassign_spec *specs, int n,
                                  rb_coord_done_fn done, void *arg);

/* The reassignments in progress (ListPartitionReassignments): every partition
 * with adding or removing replicas, or asked for and not started yet. v is
 * malloc'd on the coordination thread; the caller frees it once done ran. */
struct rb_reassign_ongoing {
    char topic[256];
    int32_t partition;
    int32_t n_replicas, n_adding, n_removing;
    int32_t replicas[64], adding[32], removing[32];
};
struct rb_reassign_list {
    struct rb_reassign_ongoing *v;
    int n;
    int16_t error;
};
void rb_coord_list_reassignments(struct rb_shard *from, struct rb_reassign_list *out,
                                 rb_coord_done_fn done, void *arg);

/* Config changes (AlterConfigs / IncrementalAlterConfigs) of topics and of the
 * dynamic broker configs. With `replace` the entries become the resource's whole
 * explicit config set (AlterConfigs); otherwise each entry is an operation on one
 * key. Topic values are validated with rb_topic_config_validate, broker ones with
 * rb_config_dynamic_check and by building the resulting configuration
 * (rb_config_overlay); a failing resource changes nothing. The new configs are
 * persisted in the metadata file and published in a new snapshot marked
 * `reconfigure`, and `done` runs once every shard gave its logs the new settings
 * - so a client that sees the answer already gets the new behaviour. */
enum rb_config_op {
    RB_CFG_SET = 0,
    RB_CFG_DELETE = 1,
    RB_CFG_APPEND = 2,  /* list configs only */
    RB_CFG_SUBTRACT = 3 /* list configs only */
};

struct rb_config_change {
    const char *topic; /* NUL-terminated; unused for a broker resource */
    /* A BROKER resource (dynamic broker configs, core/config_dynamic.c): broker_id
     * is this broker's id or -1 for the cluster-wide default. */
    bool broker;
    int32_t broker_id;
    bool replace;
    int32_t n;
    const char **keys;
    const char **values; /* NULL for DELETE */
    int8_t *ops;         /* enum rb_config_op; ignored with replace */
    /* results */
    int16_t error;
    char error_message[160];
};

void rb_coord_alter_configs(struct rb_shard *from, struct rb_config_change *chs, int n,
                            bool validate_only, rb_coord_done_fn done, void *arg);

/* part/'s ISR sink (rb_part_set_isr_sink(ps, rb_coord_isr_sink, shard)): on the
 * shard, hands a leader's ISR change to the coordination thread, which writes it
 * through the quorum (coord/isr_change.c); nothing in standalone mode. */
struct rb_part_isr_change;
void rb_coord_isr_sink(void *arg, const struct rb_part_isr_change *ch);

/* On a shard whose connection to broker_id failed (a follower's fetch): the
 * coordination thread probes the brokers' listeners now (coord/liveness.h), so a
 * dead leader is found at once; nothing in standalone mode or with
 * broker.liveness.probe.interval.ms=0. */
void rb_coord_liveness_hint(struct rb_shard *s, int32_t broker_id);

/* Called on the shard that applied u. */
void rb_coord_update_applied(struct rb_shard *s, struct rb_md_update *u);

#endif
