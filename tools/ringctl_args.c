/*
 * tools/ringctl_args.c - ringctl's argument parser (the help texts are in
 * ringctl_usage.c). Pure (no I/O, no librdkafka): it fills struct ctl_args or
 * returns one clear error line.
 * Options take "--name value" or "--name=value"; flags are taken only by the
 * subcommands that list them, so a flag of another subcommand is "unknown".
 * argv strings are borrowed, not copied: they must outlive the ctl_args.
 * The checks of the options together, per subcommand: ringctl_args_check.c.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_zk.h"
#include "core/config.h"
#include "core/rb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum opt_id {
    O_HELP,
    O_VERBOSE,
    O_BOOTSTRAP,
    O_TOPIC,
    O_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_X,
    O_LIST,
    O_DESCRIBE,
    O_CREATE,
    O_DELETE,
    O_PARTITIONS,
    O_RF,
    O_CONFIG,
    O_IF_NOT_EXISTS,
    O_IF_EXISTS,
    O_ACKS,
    O_KEY_SEP,
    O_COMPRESSION,
    O_FROM_BEGINNING,
    O_MAX_MESSAGES,
    O_GROUP,
    O_PRINT_KEY,
    O_PRINT_OFFSET,
    O_PRINT_PARTITION,
    O_ALTER,
    O_RESET_OFFSETS,
    O_TO_EARLIEST,
    O_TO_LATEST,
    O_TO_OFFSET,
    O_EXECUTE,
    O_DRY_RUN,
    O_ENTITY_TYPE,
    O_ENTITY_NAME,
    O_ENTITY_DEFAULT,
    O_ADD_CONFIG,
    O_DELETE_CONFIG,
    O_ALL,
    O_PROPERTY,
    O_PARTITION,
    O_OFFSET,
    O_FORMATTER,
    O_ZOOKEEPER,
    O_REPLICA_ASSIGNMENT,
    O_EXCLUDE_INTERNAL,
    O_MAX_NODES,
    O_MAX_DATA,
    O_ETCD,
    O_ETCD_PREFIX,
    O_DISABLE_RACK_AWARE,
    O_PREFERRED,
    O_REASSIGN_FILE,
    O_VERIFY,
};

#define T   (1u << CTL_CMD_TOPICS)
#define P   (1u << CTL_CMD_PRODUCE)
#define C   (1u << CTL_CMD_CONSUME)
#define G   (1u << CTL_CMD_GROUPS)
#define F   (1u << CTL_CMD_CONFIGS)
#define K   (1u << CTL_CMD_CLUSTER)
#define Z   (1u << CTL_CMD_ZK)
#define L   (1u << CTL_CMD_LEADERS)
#define R   (1u << CTL_CMD_REASSIGN)
#define ALL (T | P | C | G | F | K)

struct opt_def {
    const char *name;
    enum opt_id id;
    unsigned cmds;
    bool has_value;
};

static const struct opt_def opts[] = {
    {"--help", O_HELP, ALL | Z | L | R, false},
    {"-h", O_HELP, ALL | Z | L | R, false},
    {"--verbose", O_VERBOSE, ALL, false},
    {"--bootstrap-server", O_BOOTSTRAP, ALL, true},
    {"--zookeeper", O_ZOOKEEPER, T | K | Z | L | R, true},
    {"--etcd", O_ETCD, T | K | Z | L | R, true},
    {"--etcd-prefix", O_ETCD_PREFIX, T | K | Z | L | R, true},
    {"--preferred", O_PREFERRED, L, false},
    {"--reassignment-json-file", O_REASSIGN_FILE, R, true},
    {"--verify", O_VERIFY, R, false},
    {"--replica-assignment", O_REPLICA_ASSIGNMENT, T, true},
    {"--disable-rack-aware", O_DISABLE_RACK_AWARE, T, false},
    {"--exclude-internal", O_EXCLUDE_INTERNAL, T | K, false},
    {"--max-nodes", O_MAX_NODES, Z, true},
    {"--max-data", O_MAX_DATA, Z, true},
    {"--topic", O_TOPIC, T | P | C | G | L, true},
    {"--timeout-ms", O_TIMEOUT, ALL | Z | L | R, true},
    {"--connect-timeout-ms", O_CONNECT_TIMEOUT, ALL | Z | L | R, true},
    {"-X", O_X, ALL, true},
    {"--list", O_LIST, T | G, false},
    {"--describe", O_DESCRIBE, T | G | F, false},
    {"--create", O_CREATE, T, false},
    {"--delete", O_DELETE, T | G, false},
    {"--alter", O_ALTER, T | F, false},
    {"--partitions", O_PARTITIONS, T, true},
    {"--replication-factor", O_RF, T, true},
    {"--config", O_CONFIG, T, true},
    {"--if-not-exists", O_IF_NOT_EXISTS, T, false},
    {"--if-exists", O_IF_EXISTS, T, false},
    {"--acks", O_ACKS, P, true},
    {"--key-separator", O_KEY_SEP, P, true},
    {"--compression", O_COMPRESSION, P, true},
    {"--compression-codec", O_COMPRESSION, P, true},
    {"--from-beginning", O_FROM_BEGINNING, C, false},
    {"--max-messages", O_MAX_MESSAGES, C, true},
    {"--group", O_GROUP, C | G, true},
    {"--print-key", O_PRINT_KEY, C, false},
    {"--print-offset", O_PRINT_OFFSET, C, false},
    {"--print-partition", O_PRINT_PARTITION, C, false},
    {"--property", O_PROPERTY, P | C, true},
    {"--reader-property", O_PROPERTY, P, true},    /* Kafka 4's name for produce */
    {"--formatter-property", O_PROPERTY, C, true}, /* and for consume */
    {"--producer-property", O_X, P, true},         /* client settings: same as -X */
    {"--consumer-property", O_X, C, true},
    {"--partition", O_PARTITION, P | C, true},
    {"--offset", O_OFFSET, C, true},
    {"--formatter", O_FORMATTER, C, true},
    {"--reset-offsets", O_RESET_OFFSETS, G, false},
    {"--to-earliest", O_TO_EARLIEST, G, false},
    {"--to-latest", O_TO_LATEST, G, false},
    {"--to-offset", O_TO_OFFSET, G, true},
    {"--execute", O_EXECUTE, G | R, false},
    {"--dry-run", O_DRY_RUN, G, false},
    {"--entity-type", O_ENTITY_TYPE, F, true},
    {"--entity-name", O_ENTITY_NAME, F, true},
    {"--entity-default", O_ENTITY_DEFAULT, F, false},
    {"--add-config", O_ADD_CONFIG, F, true},
    {"--delete-config", O_DELETE_CONFIG, F, true},
    {"--all", O_ALL, F, false},
};

static const char *const cmd_names[] = {"",        "topics",  "produce", "consume", "groups",
                                        "configs", "cluster", "zk",      "leaders", "reassign"};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
    return cmd_names[cmd];
}

int ctl_arg_fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return -EINVAL;
}

static int parse_num(const char *cmd, const char *name, const char *v, int64_t min, int64_t max,
                     int64_t *out, char *err, size_t errlen)
{
    int rc = rb_parse_i64(v, min, max, out);
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "%s: invalid value '%s' for %s: %s", cmd, v, name,
             rc == -ERANGE ? "out of range" : "not an integer");
    return -EINVAL;
}

/* The action flags of a subcommand, for messages. */
const char *ctl_action_names(enum ctl_cmd cmd)
{
    switch (cmd) {
    case CTL_CMD_GROUPS:
        return "--list, --describe, --reset-offsets or --delete";
    case CTL_CMD_CONFIGS:
        return "--describe or --alter";
    default:
        return "--list, --describe, --create, --delete or --alter";
    }
}

static int set_action(struct ctl_args *a, enum ctl_topics_action act, char *err, size_t errlen)
{
    if (a->action != CTL_TOPICS_NONE && a->action != act)
        return ctl_arg_fail(err, errlen, "%s: only one of %s", cmd_names[a->cmd],
                            ctl_action_names(a->cmd));
    a->action = act;
    return 0;
}

static int set_reset(struct ctl_args *a, enum ctl_reset_to to, char *err, size_t errlen)
{
    if (a->reset_to != CTL_RESET_NONE && a->reset_to != to)
        return ctl_arg_fail(
            err, errlen, "groups: only one of --to-earliest, --to-latest, --to-offset%s%s", "", "");
    a->reset_to = to;
    return 0;
}

int ctl_list_next(const char **p, char *buf, size_t buflen)
{
    const char *s = *p;
    while (*s == ',')
        s++;
    size_t n = 0;
    int depth = 0;
    for (; *s && (depth || *s != ','); s++) {
        if (*s == '[' || *s == ']') {
            depth += *s == '[' ? 1 : -1;
            if (depth < 0 || depth > 1)
                return -EINVAL;
            continue;
        }
        if (n + 1 >= buflen)
            return -EINVAL;
        buf[n++] = *s;
    }
    if (depth)
        return -EINVAL;
    buf[n] = 0;
    *p = s;
    return (int)n;
}

/* --add-config / --delete-config: check every item of the list, keep the list. */
static int add_list(struct ctl_args *a, bool kv, const char *v, char *err, size_t errlen)
{
    const char *what = kv ? "--add-config" : "--delete-config";
    const char **arr = kv ? a->add_configs : a->delete_configs;
    int *n = kv ? &a->n_add_configs : &a->n_delete_configs;
    char item[1024];
    const char *p = v;
    int len, items = 0;
    while ((len = ctl_list_next(&p, item, sizeof(item))) > 0) {
        const char *eq = strchr(item, '=');
        items++;
        if (kv && (!eq || eq == item))
            return ctl_arg_fail(err, errlen,
                                "configs: invalid --add-config item '%s' in '%s': expected "
                                "key=value",
                                item, v);
        if (!kv && eq)
            return ctl_arg_fail(err, errlen,
                                "configs: invalid --delete-config item '%s' in '%s': expected "
                                "a config name",
                                item, v);
    }
    if (len < 0)
        return ctl_arg_fail(err, errlen,
                            "configs: cannot parse %s '%s' (unbalanced [ ] or item too long)", what,
                            v);
    if (!items)
        return ctl_arg_fail(err, errlen, "configs: %s '%s' names no config", what, v);
    if (*n == CTL_MAX_KV)
        return ctl_arg_fail(err, errlen, "too many %s options (max 64)%s", what, "");
    arr[(*n)++] = v;
    return 0;
}

static int add_kv(const char **arr, int *n, const char *v, const char *what, char *err,
                  size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return ctl_arg_fail(err, errlen, "invalid %s '%s': expected key=value", what, v);
    if (*n == CTL_MAX_KV)
        return ctl_arg_fail(err, errlen, "too many %s options (max 64)%s", what, "");
    arr[(*n)++] = v;
    return 0;
}

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return true;
    return false;
}

/* The options of groups and configs. */
static int apply_opt2(struct ctl_args *a, const struct opt_def *d, const char *v, char *err,
                      size_t errlen)
{
    static const char *const entity_types[] = {"topics", "brokers", NULL};
    int64_t x;
    int rc = 0;
    switch (d->id) {
    case O_ALTER:
        return set_action(a, CTL_TOPICS_ALTER, err, errlen);
    case O_RESET_OFFSETS:
        return set_action(a, CTL_GROUPS_RESET_OFFSETS, err, errlen);
    case O_TO_EARLIEST:
        return set_reset(a, CTL_RESET_EARLIEST, err, errlen);
    case O_TO_LATEST:
        return set_reset(a, CTL_RESET_LATEST, err, errlen);
    case O_TO_OFFSET:
        rc = parse_num("groups", d->name, v, 0, INT64_MAX, &x, err, errlen);
        a->reset_offset = x;
        return rc < 0 ? rc : set_reset(a, CTL_RESET_OFFSET, err, errlen);
    case O_EXECUTE:
    case O_DRY_RUN:
        if (a->execute != (d->id == O_EXECUTE) && a->run_mode_set)
            return ctl_arg_fail(err, errlen, "groups: only one of --execute, --dry-run%s%s", "",
                                "");
        a->execute = d->id == O_EXECUTE;
        a->run_mode_set = true;
        return 0;
    case O_ENTITY_TYPE:
        if (!in_list(v, entity_types))
            return ctl_arg_fail(err, errlen,
                                "configs: invalid value '%s' for --entity-type: expected %s", v,
                                "topics or brokers");
        a->entity_type = v;
        return 0;
    case O_ENTITY_NAME:
        a->entity_name = v;
        return 0;
    case O_ENTITY_DEFAULT:
        a->entity_default = true;
        return 0;
    case O_ADD_CONFIG:
    case O_DELETE_CONFIG:
        return add_list(a, d->id == O_ADD_CONFIG, v, err, errlen);
    case O_ALL:
        a->all = true;
        return 0;
    case O_PROPERTY:
        return ctl_apply_property(a, v, err, errlen);
    case O_PARTITION:
        rc = parse_num(cmd_names[a->cmd], d->name, v, 0, INT32_MAX, &x, err, errlen);
        a->partition = (int32_t)x;
        return rc;
    case O_OFFSET:
        if (strcmp(v, "earliest") == 0)
            a->start_offset = CTL_OFFSET_EARLIEST;
        else if (strcmp(v, "latest") == 0)
            a->start_offset = CTL_OFFSET_LATEST;
        else if (rb_parse_i64(v, 0, INT64_MAX, &x) == 0)
            a->start_offset = x;
        else
            return ctl_arg_fail(
                err, errlen,
                "consume: invalid value '%s' for --offset: expected earliest, latest or "
                "a non-negative number%s",
                v, "");
        return 0;
    case O_ZOOKEEPER:
        a->zookeeper = v;
        return 0;
    case O_ETCD:
        a->etcd = v;
        return 0;
    case O_ETCD_PREFIX:
        a->etcd_prefix = v;
        return 0;
    case O_DISABLE_RACK_AWARE:
        a->disable_rack_aware = true;
        return 0;
    case O_PREFERRED:
        a->preferred = true;
        return 0;
    case O_REASSIGN_FILE:
        a->reassign_file = v;
        return 0;
    case O_VERIFY:
        a->verify = true;
        return 0;
    case O_REPLICA_ASSIGNMENT:
        a->replica_assignment = v;
        return 0;
    case O_EXCLUDE_INTERNAL:
        a->exclude_internal = true;
        return 0;
    case O_MAX_NODES:
        rc = parse_num(cmd_names[a->cmd], d->name, v, 1, INT32_MAX, &a->max_nodes, err, errlen);
        return rc;
    case O_MAX_DATA:
        rc = parse_num(cmd_names[a->cmd], d->name, v, 0, INT32_MAX, &a->max_data, err, errlen);
        return rc;
    case O_FORMATTER:
        if (strcmp(v, "json") && strcmp(v, "default"))
            return ctl_arg_fail(err, errlen,
                                "consume: invalid value '%s' for --formatter: expected %s", v,
                                "default or json");
        a->json = strcmp(v, "json") == 0;
        return 0;
    default:
        RB_ASSERT(!"option without a handler");
    }
    return rc;
}

static int apply_opt(struct ctl_args *a, const struct opt_def *d, const char *v, char *err,
                     size_t errlen)
{
    static const char *const acks[] = {"all", "-1", "1", "0", NULL};
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
    const char *cmd = cmd_names[a->cmd];
    int64_t x;
    int rc = 0;
    switch (d->id) {
    case O_HELP:
        a->help = true;
        break;
    case O_VERBOSE:
        a->verbose = true;
        break;
    case O_BOOTSTRAP:
        a->bootstrap = v;
        break;
    case O_TOPIC:
        a->topic = v;
        break;
    case O_TIMEOUT:
        rc = parse_num(cmd, d->name, v, a->cmd == CTL_CMD_CONSUME ? -1 : 1, INT32_MAX, &x, err,
                       errlen);
        a->timeout_ms = x;
        break;
    case O_CONNECT_TIMEOUT:
        rc = parse_num(cmd, d->name, v, 1, INT32_MAX, &x, err, errlen);
        a->connect_timeout_ms = x;
        break;
    case O_X:
        rc = add_kv(a->client_props, &a->n_client_props, v, "-X", err, errlen);
        break;
    case O_LIST:
        rc = set_action(a, CTL_TOPICS_LIST, err, errlen);
        break;
    case O_DESCRIBE:
        rc = set_action(a, CTL_TOPICS_DESCRIBE, err, errlen);
        break;
    case O_CREATE:
        rc = set_action(a, CTL_TOPICS_CREATE, err, errlen);
        break;
    case O_DELETE:
        rc = set_action(a, CTL_TOPICS_DELETE, err, errlen);
        break;
    case O_PARTITIONS:
        rc = parse_num(cmd, d->name, v, 1, INT32_MAX, &x, err, errlen);
        a->partitions = (int32_t)x;
        break;
    case O_RF:
        rc = parse_num(cmd, d->name, v, 1, INT16_MAX, &x, err, errlen);
        a->replication_factor = (int32_t)x;
        break;
    case O_CONFIG:
        rc = add_kv(a->configs, &a->n_configs, v, "--config", err, errlen);
        break;
    case O_IF_NOT_EXISTS:
        a->if_not_exists = true;
        break;
    case O_IF_EXISTS:
        a->if_exists = true;
        break;
    case O_ACKS:
        if (!in_list(v, acks))
            rc = ctl_arg_fail(err, errlen, "produce: invalid value '%s' for --acks: expected %s", v,
                              "all, -1, 1 or 0");
        a->acks = v;
        break;
    case O_KEY_SEP:
        if (!*v)
            rc =
                ctl_arg_fail(err, errlen, "produce: --key-separator must not be empty%s%s", "", "");
        a->prop_key_sep = v; /* = --property parse.key=true --property key.separator=v */
        a->parse_key = true;
        break;
    case O_COMPRESSION:
        if (!in_list(v, codecs))
            rc = ctl_arg_fail(err, errlen,
                              "produce: invalid value '%s' for --compression: expected %s", v,
                              "none, gzip, snappy, lz4 or zstd");
        a->compression = v;
        break;
    case O_FROM_BEGINNING:
        a->from_beginning = true;
        break;
    case O_MAX_MESSAGES:
        rc = parse_num(cmd, d->name, v, 1, INT64_MAX, &x, err, errlen);
        a->max_messages = x;
        break;
    case O_GROUP:
        a->group = v;
        break;
    case O_PRINT_KEY:
        a->print_key = true;
        break;
    case O_PRINT_OFFSET:
        a->print_offset = true;
        break;
    case O_PRINT_PARTITION:
        a->print_partition = true;
        break;
    default:
        rc = apply_opt2(a, d, v, err, errlen);
        break;
    }
    return rc;
}

static enum ctl_cmd find_cmd(const char *s)
{
    for (int i = 1; i < (int)(sizeof(cmd_names) / sizeof(cmd_names[0])); i++)
        if (strcmp(s, cmd_names[i]) == 0)
            return (enum ctl_cmd)i;
    return CTL_CMD_NONE;
}

int ctl_parse_args(int argc, char **argv, struct ctl_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->partitions = a->replication_factor = -1;
    a->max_messages = -1;
    a->partition = -1;
    a->start_offset = CTL_OFFSET_UNSET;
    a->print_value = true;
    a->timeout_ms = -2; /* per-command default, filled below */
    a->connect_timeout_ms = 10000;
    a->acks = "all";
    a->compression = "none";
    a->max_nodes = 1000;
    a->max_data = 300;
    if (argc < 2)
        return ctl_arg_fail(
            err, errlen,
            "missing command (topics, produce, consume, groups, configs, cluster or "
            "zk)%s%s",
            "", "");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        a->help = true;
        return 0;
    }
    a->cmd = find_cmd(argv[1]);
    if (a->cmd == CTL_CMD_NONE)
        return ctl_arg_fail(
            err, errlen,
            "unknown command '%s' (commands: topics, produce, consume, groups, configs, "
            "cluster, zk)%s",
            argv[1], "");
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *v = NULL;
        if (a->cmd == CTL_CMD_ZK && arg[0] != '-') { /* zk [PATH] */
            if (a->zk_path)
                return ctl_arg_fail(err, errlen, "zk: only one PATH ('%s', then '%s')", a->zk_path,
                                    arg);
            a->zk_path = arg;
            continue;
        }
        size_t nl = arg[0] == '-' && eq ? (size_t)(eq - arg) : strlen(arg);
        const struct opt_def *d = NULL;
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, arg, nl) == 0 &&
                (opts[k].cmds & (1u << a->cmd)))
                d = &opts[k];
        if (!d)
            return ctl_arg_fail(err, errlen, "%s: unknown option '%s' (see --help)",
                                cmd_names[a->cmd], arg);
        if (d->has_value && nl < strlen(arg)) {
            v = arg + nl + 1;
        } else if (d->has_value) {
            if (i + 1 >= argc)
                return ctl_arg_fail(err, errlen, "%s: option %s needs a value", cmd_names[a->cmd],
                                    d->name);
            v = argv[++i];
        } else if (nl < strlen(arg)) {
            return ctl_arg_fail(err, errlen, "%s: option %s takes no value", cmd_names[a->cmd],
                                d->name);
        }
        int rc = apply_opt(a, d, v, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (a->timeout_ms == -2)
        a->timeout_ms = a->cmd == CTL_CMD_CONSUME ? -1 : 30000;
    return a->help ? 0 : ctl_check_args(a, err, errlen);
}
