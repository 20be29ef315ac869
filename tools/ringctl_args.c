/*
 * tools/ringctl_args.c - ringctl's argument parser and help texts. Pure (no I/O,
 * no librdkafka): it fills struct ctl_args or returns one clear error line.
 * Options take "--name value" or "--name=value"; flags are taken only by the
 * subcommands that list them, so a flag of another subcommand is "unknown".
 * argv strings are borrowed, not copied: they must outlive the ctl_args.
 */
#include "tools/ringctl.h"
#include "core/config.h"

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
};

#define T (1u << CTL_CMD_TOPICS)
#define P (1u << CTL_CMD_PRODUCE)
#define C (1u << CTL_CMD_CONSUME)

struct opt_def {
    const char *name;
    enum opt_id id;
    unsigned cmds;
    bool has_value;
};

static const struct opt_def opts[] = {
    {"--help", O_HELP, T | P | C, false},
    {"-h", O_HELP, T | P | C, false},
    {"--verbose", O_VERBOSE, T | P | C, false},
    {"--bootstrap-server", O_BOOTSTRAP, T | P | C, true},
    {"--topic", O_TOPIC, T | P | C, true},
    {"--timeout-ms", O_TIMEOUT, T | P | C, true},
    {"--connect-timeout-ms", O_CONNECT_TIMEOUT, T | P | C, true},
    {"-X", O_X, T | P | C, true},
    {"--list", O_LIST, T, false},
    {"--describe", O_DESCRIBE, T, false},
    {"--create", O_CREATE, T, false},
    {"--delete", O_DELETE, T, false},
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
    {"--group", O_GROUP, C, true},
    {"--print-key", O_PRINT_KEY, C, false},
    {"--print-offset", O_PRINT_OFFSET, C, false},
    {"--print-partition", O_PRINT_PARTITION, C, false},
};

static const char *const cmd_names[] = {"", "topics", "produce", "consume"};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
    return cmd_names[cmd];
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
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

static int set_action(struct ctl_args *a, enum ctl_topics_action act, char *err, size_t errlen)
{
    if (a->action != CTL_TOPICS_NONE && a->action != act)
        return fail(err, errlen, "topics: only one of --list, --describe, --create, --delete%s%s",
                    "", "");
    a->action = act;
    return 0;
}

static int add_kv(const char **arr, int *n, const char *v, const char *what, char *err,
                  size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return fail(err, errlen, "invalid %s '%s': expected key=value", what, v);
    if (*n == CTL_MAX_KV)
        return fail(err, errlen, "too many %s options (max 64)%s", what, "");
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
            rc = fail(err, errlen, "produce: invalid value '%s' for --acks: expected %s", v,
                      "all, -1, 1 or 0");
        a->acks = v;
        break;
    case O_KEY_SEP:
        if (!*v)
            rc = fail(err, errlen, "produce: --key-separator must not be empty%s%s", "", "");
        a->key_sep = v;
        break;
    case O_COMPRESSION:
        if (!in_list(v, codecs))
            rc = fail(err, errlen, "produce: invalid value '%s' for --compression: expected %s", v,
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
    }
    return rc;
}

/* Cross-option rules, once every option is read. */
static int check_args(struct ctl_args *a, char *err, size_t errlen)
{
    const char *cmd = cmd_names[a->cmd];
    if (!a->bootstrap || !*a->bootstrap)
        return fail(err, errlen, "%s: missing required option --bootstrap-server HOST:PORT%s", cmd,
                    "");
    if (a->topic && !*a->topic)
        return fail(err, errlen, "%s: --topic must not be empty%s", cmd, "");
    if (a->cmd != CTL_CMD_TOPICS) {
        if (!a->topic)
            return fail(err, errlen, "%s: missing required option --topic%s", cmd, "");
        return 0;
    }
    if (a->action == CTL_TOPICS_NONE)
        return fail(err, errlen,
                    "topics: one of --list, --describe, --create or --delete is required%s%s", "",
                    "");
    if ((a->action == CTL_TOPICS_CREATE || a->action == CTL_TOPICS_DELETE) && !a->topic)
        return fail(err, errlen, "topics: %s needs --topic%s",
                    a->action == CTL_TOPICS_CREATE ? "--create" : "--delete", "");
    if (a->action != CTL_TOPICS_CREATE &&
        (a->partitions > 0 || a->replication_factor > 0 || a->n_configs || a->if_not_exists))
        return fail(err, errlen,
                    "topics: --partitions, --replication-factor, --config and --if-not-exists "
                    "go with --create%s%s",
                    "", "");
    if (a->if_exists && a->action != CTL_TOPICS_DELETE)
        return fail(err, errlen, "topics: --if-exists goes with --delete%s%s", "", "");
    return 0;
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
    a->timeout_ms = -2; /* per-command default, filled below */
    a->connect_timeout_ms = 10000;
    a->acks = "all";
    a->compression = "none";
    if (argc < 2)
        return fail(err, errlen, "missing command (topics, produce or consume)%s%s", "", "");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        a->help = true;
        return 0;
    }
    a->cmd = find_cmd(argv[1]);
    if (a->cmd == CTL_CMD_NONE)
        return fail(err, errlen, "unknown command '%s' (commands: topics, produce, consume)%s",
                    argv[1], "");
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *v = NULL;
        size_t nl = arg[0] == '-' && eq ? (size_t)(eq - arg) : strlen(arg);
        const struct opt_def *d = NULL;
        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, arg, nl) == 0 &&
                (opts[k].cmds & (1u << a->cmd)))
                d = &opts[k];
        if (!d)
            return fail(err, errlen, "%s: unknown option '%s' (see --help)", cmd_names[a->cmd],
                        arg);
        if (d->has_value && nl < strlen(arg)) {
            v = arg + nl + 1;
        } else if (d->has_value) {
            if (i + 1 >= argc)
                return fail(err, errlen, "%s: option %s needs a value", cmd_names[a->cmd], d->name);
            v = argv[++i];
        } else if (nl < strlen(arg)) {
            return fail(err, errlen, "%s: option %s takes no value", cmd_names[a->cmd], d->name);
        }
        int rc = apply_opt(a, d, v, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (a->timeout_ms == -2)
        a->timeout_ms = a->cmd == CTL_CMD_CONSUME ? -1 : 30000;
    return a->help ? 0 : check_args(a, err, errlen);
}

static const char usage_main[] =
    "usage: ringctl COMMAND [OPTIONS]\n"
    "\n"
    "Commands (each takes --help):\n"
    "  topics    list, describe, create and delete topics (flags of kafka-topics.sh)\n"
    "  produce   send lines from stdin to a topic\n"
    "  consume   print a topic's records, one per line\n"
    "\n"
    "Works against ringbroker or any Kafka broker (librdkafka). Exit status: 0 success,\n"
    "1 the operation failed, 2 bad usage.\n";

#define COMMON_OPTS                                                                                \
    "  --bootstrap-server HOST:PORT[,...]  broker(s) to contact (required)\n"                      \
    "  --connect-timeout-ms N      give up when no broker answers within N ms (10000)\n"           \
    "  -X KEY=VALUE                set a librdkafka client property (repeatable)\n"                \
    "  --verbose                   show librdkafka's log lines\n"                                  \
    "  --help                      this text\n"

static const char usage_topics[] =
    "usage: ringctl topics --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
    "\n"
    "Actions (exactly one):\n"
    "  --list                      print every topic name, sorted\n"
    "  --describe [--topic T]      partitions, leaders, replicas, ISR and non-default configs\n"
    "                              of T (default: every topic)\n"
    "  --create --topic T          create T\n"
    "      [--partitions N]        partition count (default: the broker's num.partitions)\n"
    "      [--replication-factor R] (default: the broker's default.replication.factor)\n"
    "      [--config KEY=VALUE]    topic config, repeatable (e.g. retention.ms=60000)\n"
    "      [--if-not-exists]       succeed when T already exists\n"
    "  --delete --topic T [--if-exists]   delete T\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N              request timeout (30000)\n" COMMON_OPTS;

static const char usage_produce[] =
    "usage: ringctl produce --bootstrap-server HOST:PORT --topic T [OPTIONS] < lines\n"
    "\n"
    "Each line of stdin becomes one record value (the newline is not sent). Exits 1 when\n"
    "any record was not acknowledged.\n"
    "\n"
    "Options:\n"
    "  --topic T                   topic to write to (required)\n"
    "  --acks all|-1|1|0           acknowledgement required from the broker (all)\n"
    "  --key-separator SEP         split each line at the first SEP into key and value; a\n"
    "                              line without SEP is an error\n"
    "  --compression none|gzip|snappy|lz4|zstd   batch compression (none)\n"
    "  --timeout-ms N              delivery timeout per record (30000)\n" COMMON_OPTS;

static const char usage_consume[] =
    "usage: ringctl consume --bootstrap-server HOST:PORT --topic T [OPTIONS]\n"
    "\n"
    "Prints record values, one per line (a null value prints as \"null\"). Without --group\n"
    "every partition is read directly (no consumer group, no committed offsets).\n"
    "\n"
    "Options:\n"
    "  --topic T                   topic to read (required)\n"
    "  --from-beginning            start at the oldest record (default: only new records)\n"
    "  --max-messages N            exit after N records; exit 1 if the --timeout-ms idle\n"
    "                              limit ends the run first\n"
    "  --timeout-ms N              exit when no record arrives for N ms (default: wait)\n"
    "  --group G                   consume as member of group G (commits offsets)\n"
    "  --print-key                 print KEY<TAB>VALUE\n"
    "  --print-offset              prefix Offset:N<TAB>\n"
    "  --print-partition           prefix Partition:N<TAB>\n" COMMON_OPTS;

const char *ctl_usage(enum ctl_cmd cmd)
{
    switch (cmd) {
    case CTL_CMD_TOPICS:
        return usage_topics;
    case CTL_CMD_PRODUCE:
        return usage_produce;
    case CTL_CMD_CONSUME:
        return usage_consume;
    case CTL_CMD_NONE:
        break;
    }
    return usage_main;
}
