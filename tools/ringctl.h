/*
 * tools/ringctl.h - the ringctl command-line tool: parsed arguments shared by the
 * subcommands. Argument parsing (tools/ringctl_args.c) has no librdkafka
 * dependency so it can be unit-tested; the subcommands (tools/ringctl_topics.c,
 * tools/ringctl_client.c, tools/ringctl_groups.c, tools/ringctl_configs.c) talk to brokers through
 * librdkafka. Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#ifndef RB_TOOLS_RINGCTL_H
#define RB_TOOLS_RINGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2
#define CTL_MAX_KV     64
/* consume --offset: unset (from --from-beginning), earliest, latest, or N >= 0 */
#define CTL_OFFSET_UNSET    (-3)
#define CTL_OFFSET_EARLIEST (-2)
#define CTL_OFFSET_LATEST   (-1)
#define CTL_MAX_HEADERS     128

enum ctl_cmd {
    CTL_CMD_NONE = 0,
    CTL_CMD_TOPICS,
    CTL_CMD_PRODUCE,
    CTL_CMD_CONSUME,
    CTL_CMD_GROUPS,
    CTL_CMD_CONFIGS,
    CTL_CMD_CLUSTER,  /* brokers, controller, partition leadership */
    CTL_CMD_ZK,       /* dump the znodes (--zookeeper only) */
    CTL_CMD_LEADERS,  /* preferred leader election (--zookeeper / --etcd) */
    CTL_CMD_REASSIGN, /* partition reassignment (--zookeeper / --etcd) */
};
/* The action of topics, groups and configs (LIST/DESCRIBE/DELETE/ALTER are shared). */
enum ctl_topics_action {
    CTL_TOPICS_NONE = 0,
    CTL_TOPICS_LIST,
    CTL_TOPICS_DESCRIBE,
    CTL_TOPICS_CREATE,
    CTL_TOPICS_DELETE,
    CTL_TOPICS_ALTER,         /* topics: --partitions N; configs: --add/--delete-config */
    CTL_GROUPS_RESET_OFFSETS, /* groups --reset-offsets */
};
enum ctl_reset_to { CTL_RESET_NONE = 0, CTL_RESET_EARLIEST, CTL_RESET_LATEST, CTL_RESET_OFFSET };

struct ctl_args {
    enum ctl_cmd cmd;
    bool help;
    bool verbose;
    const char *bootstrap;
    const char *topic;
    int64_t timeout_ms;         /* topics: request; produce: delivery; consume: idle (-1 none) */
    int64_t connect_timeout_ms; /* broker reachability check */
    const char *client_props[CTL_MAX_KV]; /* -X key=value, passed to librdkafka */
    int n_client_props;
    /* topics */
    enum ctl_topics_action action;
    int32_t partitions;              /* -1: broker default */
    int32_t replication_factor;      /* -1: broker default */
    const char *configs[CTL_MAX_KV]; /* --config key=value */
    int n_configs;
    bool if_not_exists, if_exists;
    /* --zookeeper h:p[,h:p][/chroot]: topics, cluster and zk read and write the
     * quorum directly (tools/ringctl_zk.c), as Kafka 2.8's TopicCommand did */
    const char *zookeeper;
    const char *etcd;               /* --etcd http://h:p,...: the same through the etcd backend */
    const char *etcd_prefix;        /* --etcd-prefix (the brokers' etcd.prefix, /ringbroker) */
    const char *replica_assignment; /* --replica-assignment "1:2,2:3" (with --zookeeper) */
    bool exclude_internal;          /* --exclude-internal (list/describe) */
    bool disable_rack_aware;        /* --disable-rack-aware (assignment ignores racks) */
    bool preferred;                 /* leaders --preferred */
    const char *reassign_file;      /* reassign --reassignment-json-file (- = stdin) */
    bool verify;                    /* reassign --verify */
    /* zk */
    const char *zk_path; /* the subtree to dump ("/" = the chroot) */
    int64_t max_nodes;   /* --max-nodes: the dump stops after this many nodes */
    int64_t max_data;    /* --max-data: bytes of a node's data shown */
    /* produce */
    const char *acks;        /* all | -1 | 1 | 0 */
    const char *key_sep;     /* produce: NULL = whole line is the value (see parse.key);
                                consume: the column separator (key.separator, "\t") */
    const char *compression; /* none | gzip | snappy | lz4 | zstd */
    int32_t partition;       /* --partition (-1: any / every partition) */
    /* produce --property (kafka-console-producer's LineMessageReader): headers
     * "k1:v1,k2:v2" then headers_delim, then key key_sep value */
    bool parse_key, parse_headers, ignore_error;
    const char *prop_key_sep; /* key.separator as given (resolved into key_sep) */
    const char *headers_delim, *headers_sep, *headers_key_sep; /* "\t" "," ":" */
    const char *null_marker;                                   /* NULL: none */
    /* consume */
    bool from_beginning;
    int64_t max_messages; /* -1: unlimited */
    const char *group;
    bool print_key, print_offset, print_partition;
    bool print_headers, print_timestamp, print_value; /* print_value defaults on */
    int64_t start_offset;                             /* --offset: CTL_OFFSET_* or N >= 0 */
    const char *line_sep, *null_literal;              /* consume: "\n", "null"; headers_sep: "," */
    bool json;                                        /* --formatter json: one JSON object a line */
    /* groups (--group is shared with consume) */
    enum ctl_reset_to reset_to;
    int64_t reset_offset; /* --to-offset N */
    bool execute;         /* --execute (default: dry run) */
    bool run_mode_set;    /* --execute or --dry-run was given */
    /* configs */
    const char *entity_type;             /* "topics" or "brokers" */
    const char *entity_name;             /* "" with --entity-default */
    bool entity_default;                 /* brokers: the cluster-wide default */
    const char *add_configs[CTL_MAX_KV]; /* --add-config k=v[,k=v...], validated */
    int n_add_configs;
    const char *delete_configs[CTL_MAX_KV]; /* --delete-config k[,k...] */
    int n_delete_configs;
    bool all; /* configs --describe --all: defaults too */
};

/* Iterate the items of a kafka-configs style list "a=1,b=[x,y],c": copies the
 * next item into buf (square brackets removed, so "b=[x,y]" gives "b=x,y") and
 * advances *p. Returns the item length, 0 at the end, -EINVAL on an unbalanced
 * bracket or an item longer than buflen-1. Empty items are skipped. */
int ctl_list_next(const char **p, char *buf, size_t buflen);

/* Parse argv (argv[0] is the program, argv[1] the subcommand). Returns 0, or
 * -EINVAL with a one-line reason in err. On "--help" sets a->help and returns 0
 * without checking required options. */
int ctl_parse_args(int argc, char **argv, struct ctl_args *a, char *err, size_t errlen);

/* tools/ringctl_props.c: one --property KEY=VALUE of produce (parse.key,
 * key.separator, parse.headers, headers.delimiter, headers.separator,
 * headers.key.separator, null.marker, ignore.error) or consume (print.key,
 * print.value, print.headers, print.timestamp, print.offset, print.partition,
 * key.separator, headers.separator, line.separator, null.literal). Returns 0 or
 * -EINVAL with a reason in err. */
int ctl_apply_property(struct ctl_args *a, const char *kv, char *err, size_t errlen);
/* Defaults and cross-checks of the produce/consume options once all are read. */
int ctl_check_console(struct ctl_args *a, char *err, size_t errlen);

/* tools/ringctl_args.c, for ringctl_args_check.c: an error line from fmt (two
 * %s) into err, -EINVAL; the action flags of a subcommand, for messages. */
int ctl_arg_fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b);
const char *ctl_action_names(enum ctl_cmd cmd);
/* tools/ringctl_args_check.c: the options of a->cmd checked together. */
int ctl_check_args(struct ctl_args *a, char *err, size_t errlen);

/* tools/ringctl_format.c: one stdin line of produce, split into its parts. The
 * pointers point into the line. A NULL key/value (len 0) is a null one. */
struct ctl_header {
    const char *name, *value; /* value NULL: a null header value */
    size_t name_len, value_len;
};
struct ctl_line {
    const char *key, *value;
    size_t key_len, value_len;
    struct ctl_header headers[CTL_MAX_HEADERS];
    int n_headers;
};
/* Returns 0 or -EINVAL with a reason in err (as kafka-console-producer words it). */
int ctl_parse_line(const struct ctl_args *a, const char *line, size_t n, struct ctl_line *out,
                   char *err, size_t errlen);

/* One consumed record, as consume prints it. */
struct ctl_record {
    int32_t partition;
    int64_t offset;
    int ts_type; /* 0 none, 1 CreateTime, 2 LogAppendTime */
    int64_t timestamp;
    const void *key, *value; /* NULL: null */
    size_t key_len, value_len;
    const struct ctl_header *headers;
    int n_headers;
};
/* Print r the way kafka-console-consumer's DefaultMessageFormatter does with
 * the print.* properties, or as one JSON object (a->json). */
void ctl_format_record(FILE *out, const struct ctl_args *a, const struct ctl_record *r);

/* Help text of a subcommand (CTL_CMD_NONE: the overview). */
const char *ctl_usage(enum ctl_cmd cmd);
const char *ctl_cmd_name(enum ctl_cmd cmd);

/* Subcommands (librdkafka); each returns an exit code. */
int ctl_topics(const struct ctl_args *a);
int ctl_produce(const struct ctl_args *a);
int ctl_consume(const struct ctl_args *a);
int ctl_groups(const struct ctl_args *a);
int ctl_configs(const struct ctl_args *a);
/* tools/ringctl_broker_configs.c: configs of --entity-type brokers. */
int ctl_broker_configs(const struct ctl_args *a);
/* tools/ringctl_zk.c: topics --zookeeper (Kafka 2.8 TopicCommand's writes). */
int ctl_zk_topics(const struct ctl_args *a);
/* tools/ringctl_zk_dump.c: `ringctl zk`. */
int ctl_zk_dump(const struct ctl_args *a);
/* tools/ringctl_leaders.c: `ringctl leaders --preferred` (--zookeeper / --etcd). */
int ctl_leaders(const struct ctl_args *a);
/* tools/ringctl_reassign.c: `ringctl reassign` (--zookeeper / --etcd). */
int ctl_reassign(const struct ctl_args *a);
/* tools/ringctl_cluster.c: `ringctl cluster` (--bootstrap-server or --zookeeper). */
int ctl_cluster(const struct ctl_args *a);

#endif
