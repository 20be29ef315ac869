/*
 * coord/kafka_zk.h - ZooKeeper-era Kafka's cluster layout: the node paths and the
 * JSON each node holds, as Kafka 2.8 writes and reads them, so Kafka 2.8's own
 * `kafka-topics.sh --zookeeper` / `kafka-configs.sh --zookeeper` and ZooKeeper's
 * CLI see a Kafka cluster. The same layout is kept in etcd (coord/quorum.h maps
 * the tree onto keys). Pure functions: no quorum calls here (coord/cluster*.c).
 *
 *   /cluster/id                              {"version":"1","id":"<22-char base64>"}
 *   /brokers/ids/<id>            ephemeral   {"features":{},"listener_security_protocol_map":
 *                                             {"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://h:p"],
 *                                             "jmx_port":-1,"port":p,"host":"h","version":5,
 *                                             "timestamp":"<ms>"} (+ "rack" when set)
 *   /brokers/topics/<t>                      {"partitions":{"0":[2,3]},"topic_id":"...",
 *                                             "adding_replicas":{},"removing_replicas":{},"version":3}
 *                                            (during a reassignment "adding_replicas":{"0":[3]}
 * ...) /brokers/topics/<t>/partitions/<p>/state {"controller_epoch":1,"leader":3,"version":1,
 *                                             "leader_epoch":0,"isr":[3]}
 *   /brokers/seqid                           (empty; Kafka's broker id sequence)
 *   /controller                  ephemeral   {"version":1,"brokerid":1,"timestamp":"<ms>"}
 *   /controller_epoch                        "1" (bumped with every election, in the same multi)
 *   /config/topics/<t>                       {"version":1,"config":{"retention.ms":"1000"}}
 *   /config/brokers/<id>|<default>           the same shape, dynamic broker configs
 *   /config/changes/config_change_<seq>      {"version":2,"entity_path":"topics/<t>"}
 *   /admin/delete_topics/<t>                 (empty: a deletion request for the controller)
 *   /admin/reassign_partitions               {"version":1,"partitions":[{"topic":"t",
 *                                             "partition":0,"replicas":[2,3]}]}
 * Parsers take untrusted bytes (an operator or another tool may have written
 * them): anything malformed is -EINVAL, never an assertion.
 */
#ifndef RB_COORD_KAFKA_ZK_H
#define RB_COORD_KAFKA_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_KZK_MAX_REPLICAS 32
#define RB_KZK_HOST_MAX     256
#define RB_KZK_RACK_MAX     128

/* The persistent nodes a cluster needs before anything else (created at startup). */
extern const char *const rb_kzk_base_paths[];

struct rb_kzk_broker {
    int32_t id;
    char host[RB_KZK_HOST_MAX]; /* of the PLAINTEXT endpoint */
    uint16_t port;
    char rack[RB_KZK_RACK_MAX]; /* "" when none */
    /* the registration node's incarnation (coord/liveness.c), not part of the JSON */
    int64_t reg_version;
    uint64_t reg_hash;
};

struct rb_kzk_state {
    int32_t controller_epoch;
    int32_t leader; /* -1: none */
    int32_t leader_epoch;
    int32_t n_isr;
    int32_t isr[RB_KZK_MAX_REPLICAS];
};

/* One topic's /brokers/topics/<t>: partitions -> replica lists. */
struct rb_kzk_assignment {
    bool has_id;
    uint8_t topic_id[16];
    int32_t n_partitions;
    int32_t *n_replicas;                      /* [n_partitions] */
    int32_t (*replicas)[RB_KZK_MAX_REPLICAS]; /* [n_partitions] */
    /* A reassignment in progress (Kafka 2.8's "adding_replicas" /
     * "removing_replicas"): the replicas being added and removed; both empty
     * otherwise. */
    int32_t *n_adding, *n_removing;         /* [n_partitions] */
    int32_t (*adding)[RB_KZK_MAX_REPLICAS]; /* [n_partitions] */
    int32_t (*removing)[RB_KZK_MAX_REPLICAS];
};

struct rb_kzk_config {
    int32_t n;
    char **keys;
    char **values;
};

/* ---- parsing (0 or -EINVAL / -ENOMEM) ---- */
int rb_kzk_parse_broker(const char *json, int32_t id, struct rb_kzk_broker *out);
int rb_kzk_parse_state(const char *json, struct rb_kzk_state *out);
/* out is zeroed first; free with rb_kzk_assignment_free. Partitions must be
 * 0..n-1, each with 1..RB_KZK_MAX_REPLICAS distinct non-negative broker ids. */
int rb_kzk_parse_assignment(const char *json, struct rb_kzk_assignment *out);
void rb_kzk_assignment_free(struct rb_kzk_assignment *a);
int rb_kzk_parse_controller(const char *json, int32_t *broker_id);
int rb_kzk_parse_cluster_id(const char *json, char *id, size_t cap);
/* /config/topics/<t> or /config/brokers/<x>; free with rb_kzk_config_free. */
int rb_kzk_parse_config(const char *json, struct rb_kzk_config *out);
void rb_kzk_config_free(struct rb_kzk_config *c);
/* A config change notification: its entity path ("topics/<t>", "brokers/<id>"). */
int rb_kzk_parse_change(const char *json, char *entity, size_t cap);

/* One entry of /admin/reassign_partitions (or of `ringctl reassign`'s file). */
struct rb_kzk_move {
    char topic[256];
    int32_t partition;
    int32_t n_replicas;
    int32_t replicas[RB_KZK_MAX_REPLICAS];
};
/* {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]},..]}:
 * *out malloc'd (free it), *n entries. -EINVAL when it is not that shape, an
 * entry has no topic, a negative partition, no replicas, a negative or repeated
 * replica, or a partition named twice; err says which. */
int rb_kzk_parse_moves(const char *json, struct rb_kzk_move **out, int *n, char *err,
                       size_t errlen);
char *rb_kzk_moves_json(const struct rb_kzk_move *m, int n);

/* ---- encoding (malloc'd NUL-terminated JSON, or NULL on ENOMEM) ---- */
char *rb_kzk_broker_json(const struct rb_kzk_broker *b, int64_t timestamp_ms);
char *rb_kzk_state_json(const struct rb_kzk_state *s);
/* The assignment of a topic; with_id adds "topic_id" as the controller does. */
char *rb_kzk_assignment_json(const struct rb_kzk_assignment *a, bool with_id);
char *rb_kzk_controller_json(int32_t broker_id, int64_t timestamp_ms);
char *rb_kzk_cluster_id_json(const char *id);
char *rb_kzk_config_json(const struct rb_kzk_config *c);
char *rb_kzk_change_json(const char *entity);

/* Allocate an assignment of n partitions (replica, adding and removing lists
 * empty). 0 or -ENOMEM. */
int rb_kzk_assignment_alloc(struct rb_kzk_assignment *a, int32_t n);

/* Kafka's replica assignment (AdminUtils.assignReplicasToBrokers): brokers
 * [0..n_brokers) sorted by id; without racks (or when some broker has none):
 * round robin from a random start with a random shift for the followers; with racks:
 * brokers interleaved by rack so each partition's replicas span racks. Partitions
 * [first, first+count) of a get rf replicas each. rnd: random numbers (tests pass a
 * fixed function). -EINVAL when rf exceeds the brokers (the caller says so first). */
int rb_kzk_assign(const struct rb_kzk_broker *brokers, int n_brokers, int32_t rf, int32_t first,
                  int32_t count, struct rb_kzk_assignment *a, uint32_t (*rnd)(void *),
                  void *rnd_ctx);

#endif
