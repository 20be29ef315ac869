/*
 * tests/unit/test_ringctl_args.c - tools/ringctl_args.c: ringctl's option parsing.
 * The parser has no librdkafka dependency; it is compiled in here directly
 * because tools/ is not part of the broker library.
 */
#include "tools/ringctl_args.c"
#include "tools/ringctl_args_check.c"
#include "tools/ringctl_props.c"
#include "tools/ringctl_usage.c"
#include "tools/ringctl_zkfmt.c"

#include <criterion/criterion.h>

static char err[512];

/* Parse a NULL-terminated argument list (program name included). */
#define PARSE(a, ...)                                                                              \
    ({                                                                                             \
        char *argv_[] = {"ringctl", __VA_ARGS__, NULL};                                            \
        ctl_parse_args((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (a), err, sizeof(err)); \
    })

static void expect_usage_error(int rc, const char *want)
{
    cr_assert_eq(rc, -EINVAL, "accepted; want error '%s'", want);
    cr_assert(strstr(err, want), "want '%s' in '%s'", want, err);
}

Test(ringctl_args, topics_create_full)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--bootstrap-server", "localhost:9092", "--create", "--topic",
                       "t1", "--partitions", "3", "--replication-factor=2", "--config",
                       "retention.ms=1000", "--config=cleanup.policy=compact", "--if-not-exists"),
                 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_TOPICS);
    cr_assert_eq(a.action, CTL_TOPICS_CREATE);
    cr_assert_str_eq(a.bootstrap, "localhost:9092");
    cr_assert_str_eq(a.topic, "t1");
    cr_assert_eq(a.partitions, 3);
    cr_assert_eq(a.replication_factor, 2);
    cr_assert_eq(a.n_configs, 2);
    cr_assert_str_eq(a.configs[0], "retention.ms=1000");
    cr_assert_str_eq(a.configs[1], "cleanup.policy=compact");
    cr_assert(a.if_not_exists);
    cr_assert_eq(a.timeout_ms, 30000);
    cr_assert_eq(a.connect_timeout_ms, 10000);
}

Test(ringctl_args, topics_defaults_and_actions)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--create", "--topic", "t"), 0);
    cr_assert_eq(a.partitions, -1);
    cr_assert_eq(a.replication_factor, -1);
    cr_assert_eq(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list"), 0);
    cr_assert_eq(a.action, CTL_TOPICS_LIST);
    cr_assert_eq(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--describe"), 0);
    cr_assert_eq(a.action, CTL_TOPICS_DESCRIBE);
    cr_assert_null(a.topic);
    cr_assert_eq(
        PARSE(&a, "topics", "--bootstrap-server", "b:1", "--delete", "--topic", "x", "--if-exists"),
        0);
    cr_assert_eq(a.action, CTL_TOPICS_DELETE);
    cr_assert(a.if_exists);
}

Test(ringctl_args, topics_usage_errors)
{
    struct ctl_args a;
    expect_usage_error(PARSE(&a, "topics", "--list"), "missing required option --bootstrap-server");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1"), "one of --list");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list", "--delete"),
                       "only one of");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--create"),
                       "--create needs --topic");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--delete"),
                       "--delete needs --topic");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--create", "--topic", "t",
                             "--partitions", "0"),
                       "invalid value '0' for --partitions");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--create", "--topic", "t",
                             "--partitions", "three"),
                       "not an integer");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--create", "--topic", "t",
                             "--config", "retention.ms"),
                       "expected key=value");
    expect_usage_error(
        PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list", "--partitions", "3"),
        "go with --create");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list", "--wat"),
                       "unknown option '--wat'");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list", "--topic"),
                       "--topic needs a value");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list=yes"),
                       "--list takes no value");
    /* a flag of another subcommand is unknown here */
    expect_usage_error(
        PARSE(&a, "topics", "--bootstrap-server", "b:1", "--list", "--from-beginning"),
        "unknown option '--from-beginning'");
}

Test(ringctl_args, produce)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    cr_assert_str_eq(a.acks, "all");
    cr_assert_str_eq(a.compression, "none");
    cr_assert_null(a.key_sep);
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--acks", "1",
                       "--key-separator", ":", "--compression", "zstd", "-X", "linger.ms=0"),
                 0, "%s", err);
    cr_assert_str_eq(a.acks, "1");
    cr_assert_str_eq(a.key_sep, ":");
    cr_assert_str_eq(a.compression, "zstd");
    cr_assert_eq(a.n_client_props, 1);
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1"),
                       "missing required option --topic");
    expect_usage_error(
        PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--acks", "2"),
        "invalid value '2' for --acks");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--compression", "brotli"),
                       "--compression");
    expect_usage_error(
        PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--key-separator", ""),
        "must not be empty");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", ""),
                       "--topic must not be empty");
}

Test(ringctl_args, consume)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    cr_assert_eq(a.timeout_ms, -1);
    cr_assert_eq(a.max_messages, -1);
    cr_assert(!a.from_beginning && !a.print_key && !a.print_offset);
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                       "--from-beginning", "--max-messages", "10", "--timeout-ms", "500", "--group",
                       "g", "--print-key", "--print-offset", "--print-partition"),
                 0, "%s", err);
    cr_assert(a.from_beginning && a.print_key && a.print_offset && a.print_partition);
    cr_assert_eq(a.max_messages, 10);
    cr_assert_eq(a.timeout_ms, 500);
    cr_assert_str_eq(a.group, "g");
    expect_usage_error(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--max-messages", "0"),
        "--max-messages");
    expect_usage_error(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--acks", "1"),
        "unknown option '--acks'");
}

Test(ringctl_args, help_and_commands)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "--help"), 0);
    cr_assert(a.help);
    cr_assert_eq(a.cmd, CTL_CMD_NONE);
    cr_assert_eq(PARSE(&a, "consume", "--help"), 0); /* no required options with --help */
    cr_assert(a.help);
    cr_assert_eq(a.cmd, CTL_CMD_CONSUME);
    cr_assert(strstr(ctl_usage(CTL_CMD_CONSUME), "--from-beginning"));
    cr_assert(strstr(ctl_usage(CTL_CMD_TOPICS), "--replication-factor"));
    cr_assert(strstr(ctl_usage(CTL_CMD_PRODUCE), "--key-separator"));
    cr_assert(strstr(ctl_usage(CTL_CMD_NONE), "topics"));
    expect_usage_error(PARSE(&a, "frobnicate"), "unknown command 'frobnicate'");
    char *argv0[] = {"ringctl", NULL};
    cr_assert_eq(ctl_parse_args(1, argv0, &a, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "missing command"), "%s", err);
}

Test(ringctl_args, topics_alter)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--alter", "--topic", "t",
                       "--partitions", "6"),
                 0, "%s", err);
    cr_assert_eq(a.action, CTL_TOPICS_ALTER);
    cr_assert_eq(a.partitions, 6);
    cr_assert_str_eq(a.topic, "t");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--alter", "--topic", "t"),
                       "--alter needs --partitions");
    expect_usage_error(
        PARSE(&a, "topics", "--bootstrap-server", "b:1", "--alter", "--partitions", "3"),
        "--alter needs --topic");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--alter", "--topic", "t",
                             "--partitions", "3", "--replication-factor", "2"),
                       "go with --create");
    expect_usage_error(PARSE(&a, "topics", "--bootstrap-server", "b:1", "--alter", "--create",
                             "--topic", "t", "--partitions", "3"),
                       "only one of");
}

Test(ringctl_args, groups_actions)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--list"), 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_GROUPS);
    cr_assert_eq(a.action, CTL_TOPICS_LIST);
    cr_assert_null(a.group);
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--describe", "--group", "g"), 0,
                 "%s", err);
    cr_assert_eq(a.action, CTL_TOPICS_DESCRIBE);
    cr_assert_str_eq(a.group, "g");
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--delete", "--group=g2"), 0,
                 "%s", err);
    cr_assert_eq(a.action, CTL_TOPICS_DELETE);
    cr_assert_str_eq(a.group, "g2");
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets", "--group", "g",
                       "--topic", "t", "--to-earliest"),
                 0, "%s", err);
    cr_assert_eq(a.action, CTL_GROUPS_RESET_OFFSETS);
    cr_assert_eq(a.reset_to, CTL_RESET_EARLIEST);
    cr_assert(!a.execute && !a.run_mode_set); /* dry run by default */
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets", "--group", "g",
                       "--topic", "t", "--to-latest", "--execute"),
                 0, "%s", err);
    cr_assert_eq(a.reset_to, CTL_RESET_LATEST);
    cr_assert(a.execute && a.run_mode_set);
    cr_assert_eq(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets", "--group", "g",
                       "--topic", "t", "--to-offset", "42", "--dry-run"),
                 0, "%s", err);
    cr_assert_eq(a.reset_to, CTL_RESET_OFFSET);
    cr_assert_eq(a.reset_offset, 42);
    cr_assert(!a.execute && a.run_mode_set);
    cr_assert_eq(a.timeout_ms, 30000);
}

Test(ringctl_args, groups_usage_errors)
{
    struct ctl_args a;
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1"),
                       "one of --list, --describe, --reset-offsets or --delete is required");
    expect_usage_error(PARSE(&a, "groups", "--list"), "missing required option --bootstrap-server");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--describe"),
                       "--describe needs --group");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--delete"),
                       "--delete needs --group");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--list", "--delete"),
                       "only one of --list, --describe, --reset-offsets or --delete");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--list", "--group", "g"),
                       "--group does not go with --list");
    expect_usage_error(
        PARSE(&a, "groups", "--bootstrap-server", "b:1", "--describe", "--group", ""),
        "--group must not be empty");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets",
                             "--group", "g", "--to-earliest"),
                       "--reset-offsets needs --topic");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets",
                             "--group", "g", "--topic", "t"),
                       "needs one of --to-earliest, --to-latest, --to-offset");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets",
                             "--group", "g", "--topic", "t", "--to-earliest", "--to-latest"),
                       "only one of --to-earliest, --to-latest, --to-offset");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets",
                             "--group", "g", "--topic", "t", "--to-offset", "-1"),
                       "invalid value '-1' for --to-offset");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--reset-offsets",
                             "--group", "g", "--topic", "t", "--to-earliest", "--execute",
                             "--dry-run"),
                       "only one of --execute, --dry-run");
    expect_usage_error(
        PARSE(&a, "groups", "--bootstrap-server", "b:1", "--describe", "--group", "g", "--execute"),
        "go with --reset-offsets");
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--describe", "--group",
                             "g", "--topic", "t"),
                       "go with --reset-offsets");
    /* flags of other subcommands are unknown here and the reverse */
    expect_usage_error(PARSE(&a, "groups", "--bootstrap-server", "b:1", "--create", "--group", "g"),
                       "unknown option '--create'");
    expect_usage_error(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--reset-offsets"),
        "unknown option '--reset-offsets'");
}

Test(ringctl_args, configs)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                       "--entity-name", "t", "--describe"),
                 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_CONFIGS);
    cr_assert_eq(a.action, CTL_TOPICS_DESCRIBE);
    cr_assert_str_eq(a.entity_type, "topics");
    cr_assert_str_eq(a.entity_name, "t");
    cr_assert(!a.all);
    cr_assert_eq(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type=brokers",
                       "--entity-name=0", "--describe", "--all"),
                 0, "%s", err);
    cr_assert(a.all);
    cr_assert_eq(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                       "--entity-name", "t", "--alter", "--add-config",
                       "retention.ms=1000,cleanup.policy=[compact,delete]", "--add-config", "a=b",
                       "--delete-config", "x,y"),
                 0, "%s", err);
    cr_assert_eq(a.action, CTL_TOPICS_ALTER);
    cr_assert_eq(a.n_add_configs, 2);
    cr_assert_str_eq(a.add_configs[0], "retention.ms=1000,cleanup.policy=[compact,delete]");
    cr_assert_str_eq(a.add_configs[1], "a=b");
    cr_assert_eq(a.n_delete_configs, 1);
    cr_assert_str_eq(a.delete_configs[0], "x,y");
    cr_assert_eq(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                       "--entity-name", "t", "--alter", "--delete-config", "x"),
                 0, "%s", err);
    /* the cluster-wide default broker resource: an empty name */
    cr_assert_eq(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "brokers",
                       "--entity-default", "--alter", "--add-config", "log.retention.ms=5"),
                 0, "%s", err);
    cr_assert(a.entity_default);
    cr_assert_str_eq(a.entity_name, "");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-default", "--describe"),
                       "--entity-default goes with --entity-type brokers");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "brokers",
                             "--entity-default", "--entity-name", "0", "--describe"),
                       "only one of --entity-name, --entity-default");
}

Test(ringctl_args, configs_usage_errors)
{
    struct ctl_args a;
    expect_usage_error(
        PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-name", "t", "--describe"),
        "missing required option --entity-type");
    expect_usage_error(
        PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics", "--describe"),
        "missing required option --entity-name");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "users",
                             "--entity-name", "u", "--describe"),
                       "invalid value 'users' for --entity-type");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "brokers",
                             "--entity-name", "b0", "--describe"),
                       "not a broker id");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t"),
                       "one of --describe or --alter is required");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter"),
                       "--alter needs --add-config and/or --delete-config");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--describe", "--add-config", "a=b"),
                       "go with --alter");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--add-config", "a=1,b"),
                       "invalid --add-config item 'b'");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--add-config", "=1"),
                       "expected key=value");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--add-config", "a=[1,2"),
                       "unbalanced");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--add-config", ","),
                       "names no config");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--delete-config", "a=1"),
                       "invalid --delete-config item 'a=1'");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--alter", "--add-config", "a=1", "--all"),
                       "--all goes with --describe");
    expect_usage_error(PARSE(&a, "configs", "--bootstrap-server", "b:1", "--entity-type", "topics",
                             "--entity-name", "t", "--describe", "--topic", "t"),
                       "unknown option '--topic'");
}

Test(ringctl_args, list_next)
{
    char buf[32];
    const char *p = "a=1,,b=[x,y],c";
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), 3);
    cr_assert_str_eq(buf, "a=1");
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), 5);
    cr_assert_str_eq(buf, "b=x,y");
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "c");
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), 0);
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), 0); /* stays at the end */
    p = "a=]";
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), -EINVAL);
    p = "a=[[x]]";
    cr_assert_eq(ctl_list_next(&p, buf, sizeof(buf)), -EINVAL);
    p = "abcdef";
    cr_assert_eq(ctl_list_next(&p, buf, 6), -EINVAL); /* 6 chars need 7 bytes */
    p = "abcdef";
    cr_assert_eq(ctl_list_next(&p, buf, 7), 6);
}

Test(ringctl_args, new_help_texts)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "groups", "--help"), 0);
    cr_assert(a.help);
    cr_assert_eq(a.cmd, CTL_CMD_GROUPS);
    cr_assert_eq(PARSE(&a, "configs", "-h"), 0);
    cr_assert_eq(a.cmd, CTL_CMD_CONFIGS);
    cr_assert(strstr(ctl_usage(CTL_CMD_GROUPS), "--reset-offsets"));
    cr_assert(strstr(ctl_usage(CTL_CMD_GROUPS), "CURRENT-OFFSET LOG-END-OFFSET LAG"));
    cr_assert(strstr(ctl_usage(CTL_CMD_CONFIGS), "--add-config"));
    cr_assert(strstr(ctl_usage(CTL_CMD_TOPICS), "--alter --topic T --partitions N"));
    cr_assert(strstr(ctl_usage(CTL_CMD_NONE), "groups"));
    cr_assert(strstr(ctl_usage(CTL_CMD_NONE), "configs"));
    cr_assert_str_eq(ctl_cmd_name(CTL_CMD_CONFIGS), "configs");
}

Test(ringctl_args, produce_properties)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    cr_assert(!a.parse_key && !a.parse_headers && !a.key_sep);
    cr_assert_str_eq(a.headers_delim, "\t");
    cr_assert_str_eq(a.headers_sep, ",");
    cr_assert_str_eq(a.headers_key_sep, ":");
    cr_assert_eq(a.partition, -1);
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "parse.key=true", "--property=parse.headers=TRUE", "--partition", "2"),
                 0, "%s", err);
    cr_assert(a.parse_key && a.parse_headers);
    cr_assert_str_eq(a.key_sep, "\t", "Kafka's default key.separator");
    cr_assert_eq(a.partition, 2);
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "key.separator=|", "--property", "parse.key=true", "--property",
                       "headers.separator=;", "--property", "headers.key.separator==", "--property",
                       "null.marker=NULL", "--compression-codec", "lz4"),
                 0, "%s", err);
    cr_assert_str_eq(a.key_sep, "|");
    cr_assert_str_eq(a.headers_sep, ";");
    cr_assert_str_eq(a.headers_key_sep, "=");
    cr_assert_str_eq(a.null_marker, "NULL");
    cr_assert_str_eq(a.compression, "lz4");
    /* key.separator alone does not turn key parsing on (as in Kafka) */
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "key.separator=|"),
                 0, "%s", err);
    cr_assert_null(a.key_sep);
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "print.key=true"),
                       "unknown --property 'print.key=true'");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "parse.key=yes"),
                       "expected true or false");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "parse.key"),
                       "expected key=value");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "headers.separator=:"),
                       "headers.separator and headers.key.separator may not be equal");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "headers.delimiter=,"),
                       "headers.delimiter and headers.separator may not be equal");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "null.marker=,"),
                       "null.marker and headers.separator may not be equal");
    expect_usage_error(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "key.separator="),
                       "must not be empty");
    expect_usage_error(
        PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--partition", "-1"),
        "--partition");
    expect_usage_error(
        PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t", "--offset", "1"),
        "unknown option '--offset'");
}

Test(ringctl_args, consume_properties_and_offsets)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t"), 0, "%s", err);
    cr_assert(a.print_value && !a.print_headers && !a.print_timestamp && !a.json);
    cr_assert_str_eq(a.key_sep, "\t");
    cr_assert_str_eq(a.line_sep, "\n");
    cr_assert_str_eq(a.null_literal, "null");
    cr_assert_eq(a.start_offset, CTL_OFFSET_UNSET);
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--property",
                       "print.key=true", "--property", "print.headers=true", "--property",
                       "print.timestamp=true", "--property", "print.value=false", "--property",
                       "key.separator= | ", "--partition", "1", "--offset", "42", "--formatter",
                       "json"),
                 0, "%s", err);
    cr_assert(a.print_key && a.print_headers && a.print_timestamp && !a.print_value && a.json);
    cr_assert_str_eq(a.key_sep, " | ");
    cr_assert_eq(a.partition, 1);
    cr_assert_eq(a.start_offset, 42);
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                       "--formatter-property", "print.offset=true", "--consumer-property",
                       "fetch.wait.max.ms=10"),
                 0, "%s", err);
    cr_assert(a.print_offset);
    cr_assert_eq(a.n_client_props, 1);
    cr_assert_eq(PARSE(&a, "produce", "--bootstrap-server", "b:1", "--topic", "t",
                       "--reader-property", "parse.key=true", "--producer-property", "linger.ms=1"),
                 0, "%s", err);
    cr_assert(a.parse_key);
    cr_assert_eq(a.n_client_props, 1);
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--partition",
                       "0", "--offset", "earliest"),
                 0, "%s", err);
    cr_assert_eq(a.start_offset, CTL_OFFSET_EARLIEST);
    cr_assert_eq(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--partition",
                       "0", "--offset=latest"),
                 0, "%s", err);
    cr_assert_eq(a.start_offset, CTL_OFFSET_LATEST);
    expect_usage_error(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--offset", "5"),
        "--offset needs --partition");
    expect_usage_error(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                             "--partition", "0", "--offset", "5", "--from-beginning"),
                       "--from-beginning and --offset");
    expect_usage_error(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                             "--partition", "0", "--group", "g"),
                       "--group and --partition");
    expect_usage_error(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                             "--partition", "0", "--offset", "-3"),
                       "invalid value '-3' for --offset");
    expect_usage_error(
        PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t", "--formatter", "xml"),
        "--formatter");
    expect_usage_error(PARSE(&a, "consume", "--bootstrap-server", "b:1", "--topic", "t",
                             "--property", "parse.key=true"),
                       "unknown --property 'parse.key=true'");
    cr_assert(strstr(ctl_usage(CTL_CMD_CONSUME), "print.headers"));
    cr_assert(strstr(ctl_usage(CTL_CMD_PRODUCE), "headers.key.separator"));
}

Test(ringctl_args, leaders_preferred)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "leaders", "--preferred", "--zookeeper", "z:2181/kafka"), 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_LEADERS);
    cr_assert(a.preferred);
    cr_assert_str_eq(a.zookeeper, "z:2181/kafka");
    cr_assert_eq(PARSE(&a, "leaders", "--preferred", "--topic", "a,b", "--etcd", "http://e:2379",
                       "--timeout-ms", "5000"),
                 0, "%s", err);
    cr_assert_str_eq(a.topic, "a,b");
    cr_assert_eq(a.timeout_ms, 5000);
    expect_usage_error(PARSE(&a, "leaders", "--zookeeper", "z:1"), "missing --preferred");
    expect_usage_error(PARSE(&a, "leaders", "--preferred"), "missing required option --zookeeper");
    expect_usage_error(PARSE(&a, "leaders", "--preferred", "--bootstrap-server", "b:1"),
                       "unknown option '--bootstrap-server'");
    expect_usage_error(PARSE(&a, "leaders", "--preferred", "--zookeeper", "z:1", "--list"),
                       "--list");
}

Test(ringctl_args, reassign)
{
    struct ctl_args a;
    cr_assert_eq(
        PARSE(&a, "reassign", "--reassignment-json-file", "m.json", "--zookeeper", "z:2181/kafka"),
        0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_REASSIGN);
    cr_assert_str_eq(a.reassign_file, "m.json");
    cr_assert_not(a.verify);
    cr_assert_eq(PARSE(&a, "reassign", "--reassignment-json-file", "-", "--verify", "--etcd",
                       "http://e:2379"),
                 0, "%s", err);
    cr_assert(a.verify);
    cr_assert_eq(
        PARSE(&a, "reassign", "--reassignment-json-file", "-", "--execute", "--zookeeper", "z:1"),
        0, "%s", err);
    cr_assert(a.execute);
    expect_usage_error(PARSE(&a, "reassign", "--zookeeper", "z:1"),
                       "missing required option --reassignment-json-file");
    expect_usage_error(PARSE(&a, "reassign", "--reassignment-json-file", "m.json"),
                       "missing required option --zookeeper");
    expect_usage_error(PARSE(&a, "reassign", "--reassignment-json-file", "m.json", "--verify",
                             "--execute", "--zookeeper", "z:1"),
                       "exclusive");
    expect_usage_error(
        PARSE(&a, "reassign", "--reassignment-json-file", "m.json", "--bootstrap-server", "b:1"),
        "unknown option '--bootstrap-server'");
}
