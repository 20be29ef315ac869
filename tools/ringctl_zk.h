/*
 * tools/ringctl_zk.h - ringctl's direct access to the cluster's quorum
 * (--zookeeper): the session (tools/ringctl_zk_session.c), and the pure
 * parsing and formatting the ZooKeeper-era commands share
 * (tools/ringctl_zkfmt.c, unit-tested without a quorum). The layout and JSON
 * are coord/kafka_zk.h's, read and written as Kafka 2.8's TopicCommand does.
 */
#ifndef RB_TOOLS_RINGCTL_ZK_H
#define RB_TOOLS_RINGCTL_ZK_H

#include "tools/ringctl.h"
#include "coord/kafka_zk.h"
#include "coord/quorum.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- pure (tools/ringctl_zkfmt.c) ---- */

/* Split a zookeeper.connect string "h1:p1,h2:p2[/chroot]" into its hosts and its
 * chroot ("" when none or "/"). Either output may be NULL. 0, or -EINVAL with the
 * reason in err (no host, a host without a port, a bad chroot). */
int ctl_zk_split_connect(const char *connect, char *hosts, size_t hcap, char *chroot, size_t ccap,
                         char *err, size_t errlen);
/* An absolute node path: "/" or "/a/b", no trailing or double '/'. */
bool ctl_zk_path_ok(const char *path);

/* Kafka's topic name rules (Topic.validate): 0, or -EINVAL with Kafka's message. */
int ctl_topic_name_check(const char *name, char *err, size_t errlen);
/* Two names that differ only by '.' against '_' (Kafka refuses the second). */
bool ctl_topic_collides(const char *a, const char *b);
/* __consumer_offsets and __transaction_state. */
bool ctl_topic_internal(const char *name);

/* --topic of --list/--describe/--delete with --zookeeper, as Kafka 2.8's
 * TopicCommand reads it (IncludeList): a regular expression matching whole names,
 * ',' meaning '|', spaces and surrounding quotes dropped ("a,b", "te.*"). POSIX
 * extended syntax (Java's for the usual patterns). 0, or -EINVAL with the reason. */
int ctl_topic_filter_compile(const char *raw, regex_t *re, char *err, size_t errlen);
bool ctl_topic_filter_match(const regex_t *re, const char *topic);

/* TopicCommand's --replica-assignment "b1:b2,b3:b4,...": one replica list per
 * partition, from partition 0, every list as long as the first, no broker twice
 * in a list. out (may be NULL: only checked) is allocated; free with
 * rb_kzk_assignment_free. 0, or -EINVAL / -ENOMEM with the reason in err. */
int ctl_parse_replica_assignment(const char *s, struct rb_kzk_assignment *out,
                                 int32_t *n_partitions, int32_t *rf, char *err, size_t errlen);

/* kafka-topics.sh --describe lines (Kafka 2.8's TopicDescription and
 * PartitionDescription): topic_id NULL when the topic has none; leader -1: none. */
void ctl_zk_fmt_topic(FILE *out, const char *topic, const uint8_t *topic_id, int32_t n_partitions,
                      int32_t rf, const struct rb_kzk_config *cfg, bool marked_for_deletion);
void ctl_zk_fmt_partition(FILE *out, const char *topic, int32_t partition, int32_t leader,
                          const int32_t *replicas, int32_t n_replicas, const int32_t *isr,
                          int32_t n_isr, bool marked_for_deletion);
/* "1,2,3" of ids into buf ("" for none). */
const char *ctl_fmt_ids(char *buf, size_t cap, const int32_t *ids, int32_t n);

/* A node's data for `ringctl zk`: printable ASCII kept, '\\' and other bytes as
 * \\xNN, newlines as \\n; cut at max bytes of data with "...(N bytes)" after.
 * Always NUL-terminated within cap. */
void ctl_zk_fmt_data(char *out, size_t cap, const char *data, size_t len, size_t max);

/* The health of one partition as `ringctl cluster` shows it: "" when led by a
 * live broker, else "NO LEADER" or "LEADER DOWN" (the leader is not registered). */
const char *ctl_partition_status(int32_t leader, const int32_t *live, int n_live);

/* ---- the session (tools/ringctl_zk_session.c) ---- */

struct ctl_zk {
    struct rb_quorum *q;
    const char *what; /* "ZooKeeper" or "etcd", for messages */
    char chroot[512]; /* "" or "/kafka": prefixed to every path by ctl_zk_path */
    char hosts[1024];
};

/* Open a session on a->zookeeper's hosts (or a->etcd's endpoints, the chroot
 * being --etcd-prefix, /ringbroker by default) and check that the chroot exists
 * (a missing one is an error naming it: nothing is created). Prints the reason
 * and returns CTL_EXIT_FAIL (or CTL_EXIT_USAGE) on failure, 0 when open. */
int ctl_zk_open(struct ctl_zk *z, const struct ctl_args *a);
void ctl_zk_close(struct ctl_zk *z);
/* The full path of a cluster path ("/brokers/ids") under the chroot. */
const char *ctl_zk_path(const struct ctl_zk *z, char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Thin wrappers over coord/quorum.h with the chroot prefixed. */
int ctl_zk_get(struct ctl_zk *z, const char *path, char **data, int64_t *version);
int ctl_zk_children(struct ctl_zk *z, const char *path, char ***names, int *n);

/* The registered brokers (/brokers/ids), sorted by id; *out malloc'd. 0 or -errno
 * (a broker node that does not parse is skipped with a warning). */
int ctl_zk_brokers(struct ctl_zk *z, struct rb_kzk_broker **out, int *n);
/* The controller's broker id (-1: none elected) and the cluster id ("" when none). */
int ctl_zk_controller(struct ctl_zk *z, int32_t *id);
void ctl_zk_cluster_id(struct ctl_zk *z, char *id, size_t cap);
/* A topic's assignment (/brokers/topics/<t>; free with rb_kzk_assignment_free): 0,
 * -ENOENT (no such topic), -EINVAL (does not parse) or the quorum's error. */
int ctl_zk_assignment(struct ctl_zk *z, const char *topic, struct rb_kzk_assignment *as);
/* A topic's partition state: 0, -ENOENT (no state yet: leader -1, isr empty). */
int ctl_zk_state(struct ctl_zk *z, const char *topic, int32_t p, struct rb_kzk_state *st);
/* Print "ringctl CMD: what: the quorum's error" and return CTL_EXIT_FAIL. */
int ctl_zk_fail(const struct ctl_args *a, const char *what, int err);

#endif
