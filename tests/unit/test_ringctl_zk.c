/*
 * tests/unit/test_ringctl_zk.c - tools/ringctl_zkfmt.c: the pure parts of
 * ringctl's --zookeeper commands (connect strings, topic names,
 * --replica-assignment, kafka-topics.sh's describe lines, the zk dump's data
 * escaping, partition status) and the argument rules of --zookeeper, cluster
 * and zk in tools/ringctl_args.c. Compiled in directly: tools/ is not part of
 * the broker library.
 */
#include "tools/ringctl_args.c"
#include "tools/ringctl_args_check.c"
#include "tools/ringctl_props.c"
#include "tools/ringctl_zkfmt.c"

#include <criterion/criterion.h>

static char err[512];

#define PARSE(a, ...)                                                                              \
    ({                                                                                             \
        char *argv_[] = {"ringctl", __VA_ARGS__, NULL};                                            \
        ctl_parse_args((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, (a), err, sizeof(err)); \
    })

static void expect_error(int rc, const char *want)
{
    cr_assert_eq(rc, -EINVAL, "accepted; want error '%s'", want);
    cr_assert(strstr(err, want), "want '%s' in '%s'", want, err);
}

/* What fn writes to a FILE, as a string (static buffer). */
#define CAPTURE(buf, call)                                                                         \
    do {                                                                                           \
        FILE *f_ = fmemopen((buf), sizeof(buf), "w");                                              \
        cr_assert(f_);                                                                             \
        FILE *out = f_;                                                                            \
        call;                                                                                      \
        fclose(f_);                                                                                \
    } while (0)

Test(ringctl_zk, split_connect)
{
    char hosts[128], root[128];
    cr_assert_eq(ctl_zk_split_connect("127.0.0.1:2181,h2:2182/kafka", hosts, sizeof(hosts), root,
                                      sizeof(root), err, sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(hosts, "127.0.0.1:2181,h2:2182");
    cr_assert_str_eq(root, "/kafka");
    cr_assert_eq(
        ctl_zk_split_connect("h:1/a/b", hosts, sizeof(hosts), root, sizeof(root), err, sizeof(err)),
        0);
    cr_assert_str_eq(root, "/a/b");
    cr_assert_eq(
        ctl_zk_split_connect("h:1/", hosts, sizeof(hosts), root, sizeof(root), err, sizeof(err)),
        0);
    cr_assert_str_eq(root, "");
    cr_assert_eq(
        ctl_zk_split_connect("h:1", hosts, sizeof(hosts), root, sizeof(root), err, sizeof(err)), 0);
    cr_assert_str_eq(hosts, "h:1");
    cr_assert_str_eq(root, "");
    static const char *const bad[] = {"",           "/kafka",  "h",        "h:",      ":1",
                                      "h:0",        "h:65536", "h:1x",     "h:1,",    "h:1,,h:2",
                                      "h:1/kafka/", "h:1//k",  "h:1/a//b", "h:1,h/k", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(ctl_zk_split_connect(bad[i], NULL, 0, NULL, 0, err, sizeof(err)), -EINVAL,
                     "accepted '%s'", bad[i]);
    cr_assert(strstr(err, "HOST:PORT"), "%s", err);
}

Test(ringctl_zk, topic_names)
{
    cr_assert_eq(ctl_topic_name_check("test", err, sizeof(err)), 0);
    cr_assert_eq(ctl_topic_name_check("a.b_c-D9", err, sizeof(err)), 0);
    cr_assert_eq(ctl_topic_name_check("", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "Topic name is illegal, it can't be empty");
    cr_assert_eq(ctl_topic_name_check("..", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "Topic name cannot be \".\" or \"..\"");
    cr_assert_eq(ctl_topic_name_check("a b", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "Topic name \"a b\" is illegal, it contains a character other than ASCII "
                          "alphanumerics, '.', '_' and '-'");
    char longname[251];
    memset(longname, 'x', 250);
    longname[250] = 0;
    cr_assert_eq(ctl_topic_name_check(longname, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "can't be longer than 249 characters"), "%s", err);
    longname[249] = 0;
    cr_assert_eq(ctl_topic_name_check(longname, err, sizeof(err)), 0);
    cr_assert(ctl_topic_collides("a.b", "a_b"));
    cr_assert(ctl_topic_collides("a_b", "a.b"));
    cr_assert(!ctl_topic_collides("a.b", "a.bc"));
    cr_assert(!ctl_topic_collides("ab", "a_b"));
    cr_assert(ctl_topic_internal("__consumer_offsets"));
    cr_assert(!ctl_topic_internal("__consumer_offsets2"));
}

Test(ringctl_zk, replica_assignment)
{
    struct rb_kzk_assignment as;
    int32_t np, rf;
    cr_assert_eq(ctl_parse_replica_assignment("1:2, 2 :3,3:1", &as, &np, &rf, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(np, 3);
    cr_assert_eq(rf, 2);
    cr_assert_eq(as.n_partitions, 3);
    cr_assert_eq(as.replicas[1][0], 2);
    cr_assert_eq(as.replicas[1][1], 3);
    cr_assert_eq(as.replicas[2][1], 1);
    rb_kzk_assignment_free(&as);
    cr_assert_eq(ctl_parse_replica_assignment("7", NULL, &np, &rf, err, sizeof(err)), 0);
    cr_assert_eq(np, 1);
    cr_assert_eq(rf, 1);
    cr_assert_eq(ctl_parse_replica_assignment("1:2,3", &as, &np, &rf, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "Partition 1 has different replication factor: 1, not 2");
    cr_assert_null(as.replicas); /* freed on error */
    cr_assert_eq(ctl_parse_replica_assignment("1:1", NULL, &np, &rf, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "Partition replica lists may not contain duplicate entries: 1");
    static const char *const bad[] = {"",     "1,",   ",1",          "1:", "a",
                                      "1:-2", "1,,2", "99999999999", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(ctl_parse_replica_assignment(bad[i], NULL, &np, &rf, err, sizeof(err)),
                     -EINVAL, "accepted '%s'", bad[i]);
}

Test(ringctl_zk, describe_lines)
{
    static char buf[1024];
    char *k[] = {"retention.ms", "cleanup.policy"}, *v[] = {"1000", "compact"};
    struct rb_kzk_config cfg = {.n = 2, .keys = k, .values = v};
    uint8_t id[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)i;
    CAPTURE(buf, ctl_zk_fmt_topic(out, "test", id, 3, 1, &cfg, false));
    cr_assert_str_eq(buf,
                     "Topic: test\tTopicId: AAECAwQFBgcICQoLDA0ODw\tPartitionCount: 3\t"
                     "ReplicationFactor: 1\tConfigs: retention.ms=1000,cleanup.policy=compact\n");
    CAPTURE(buf, ctl_zk_fmt_topic(out, "t", NULL, 1, 2, NULL, true));
    cr_assert_str_eq(buf, "Topic: t\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: "
                          "\tMarkedForDeletion: true\n");
    int32_t reps[] = {2, 3}, isr[] = {2};
    CAPTURE(buf, ctl_zk_fmt_partition(out, "test", 1, 2, reps, 2, isr, 1, false));
    cr_assert_str_eq(buf, "\tTopic: test\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2\n");
    CAPTURE(buf, ctl_zk_fmt_partition(out, "test", 0, -1, reps, 1, isr, 0, true));
    cr_assert_str_eq(buf, "\tTopic: test\tPartition: 0\tLeader: none\tReplicas: 2\tIsr: "
                          "\tMarkedForDeletion: true\n");
}

Test(ringctl_zk, dump_data)
{
    char out[64];
    ctl_zk_fmt_data(out, sizeof(out), "{\"a\":1}", 7, 300);
    cr_assert_str_eq(out, "{\"a\":1}");
    ctl_zk_fmt_data(out, sizeof(out), "a\n\\\x01\xff", 5, 300);
    cr_assert_str_eq(out, "a\\n\\\\\\x01\\xff");
    ctl_zk_fmt_data(out, sizeof(out), "abcdefgh", 8, 3);
    cr_assert_str_eq(out, "abc...(8 bytes)");
    ctl_zk_fmt_data(out, sizeof(out), "", 0, 3);
    cr_assert_str_eq(out, "");
    char tiny[6]; /* never overflows: cut at a whole escape */
    ctl_zk_fmt_data(tiny, sizeof(tiny), "ab\x01", 3, 300);
    cr_assert_str_eq(tiny, "ab");
}

Test(ringctl_zk, partition_status)
{
    int32_t live[] = {1, 2, 3};
    cr_assert_str_eq(ctl_partition_status(2, live, 3), "");
    cr_assert_str_eq(ctl_partition_status(-1, live, 3), "NO LEADER");
    cr_assert_str_eq(ctl_partition_status(4, live, 3), "LEADER DOWN");
    cr_assert_str_eq(ctl_partition_status(1, live, 0), "LEADER DOWN");
}

Test(ringctl_zk, args_zookeeper_topics)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--create", "--topic", "test", "--partitions", "3",
                       "--replication-factor", "1", "--if-not-exists", "--zookeeper",
                       "127.0.0.1:2181/kafka"),
                 0, "%s", err);
    cr_assert_str_eq(a.zookeeper, "127.0.0.1:2181/kafka");
    cr_assert_null(a.bootstrap);
    cr_assert(a.if_not_exists);
    cr_assert_eq(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t",
                       "--replica-assignment", "1:2,2:3"),
                 0, "%s", err);
    cr_assert_str_eq(a.replica_assignment, "1:2,2:3");
    cr_assert_eq(PARSE(&a, "topics", "--zookeeper", "h:1", "--describe", "--topic", "t",
                       "--if-exists", "--exclude-internal"),
                 0, "%s", err);
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t"),
                 "needs --partitions and --replication-factor");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t",
                       "--partitions", "2", "--replica-assignment", "1,2"),
                 "does not go with --partitions");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t",
                       "--replica-assignment", "1:2,3"),
                 "different replication factor");
    expect_error(PARSE(&a, "topics", "--bootstrap-server", "h:1", "--create", "--topic", "t",
                       "--replica-assignment", "1"),
                 "--replica-assignment goes with --zookeeper");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--alter", "--topic", "t",
                       "--partitions", "3", "--replica-assignment", "1,2"),
                 "must list every partition");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--bootstrap-server", "h:2", "--list"),
                 "only one of --bootstrap-server, --zookeeper, --etcd");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1/kafka/", "--list"), "--zookeeper: ");
    expect_error(PARSE(&a, "topics", "--zookeeper", "", "--list"), "must not be empty");
    expect_error(PARSE(&a, "topics", "--list"),
                 "(or --zookeeper HOST:PORT[/CHROOT], or --etcd URL[,URL...])");
    expect_error(
        PARSE(&a, "topics", "--zookeeper", "h:1", "--delete", "--topic", "t", "--exclude-internal"),
        "--exclude-internal goes with --list or --describe");
    /* --zookeeper is not an option of the client commands */
    expect_error(PARSE(&a, "produce", "--zookeeper", "h:1", "--topic", "t"), "unknown option");
}

Test(ringctl_zk, args_cluster_and_zk)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "cluster", "--bootstrap-server", "h:1"), 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_CLUSTER);
    cr_assert_eq(PARSE(&a, "cluster", "--zookeeper", "h:1/kafka", "--exclude-internal"), 0, "%s",
                 err);
    expect_error(PARSE(&a, "cluster"), "missing required option --bootstrap-server");
    expect_error(PARSE(&a, "cluster", "--bootstrap-server", "h:1", "--list"), "unknown option");
    cr_assert_eq(PARSE(&a, "zk", "--zookeeper", "h:1/kafka", "/brokers", "--max-nodes", "5",
                       "--max-data=10"),
                 0, "%s", err);
    cr_assert_eq(a.cmd, CTL_CMD_ZK);
    cr_assert_str_eq(a.zk_path, "/brokers");
    cr_assert_eq(a.max_nodes, 5);
    cr_assert_eq(a.max_data, 10);
    cr_assert_eq(PARSE(&a, "zk", "--zookeeper", "h:1"), 0, "%s", err);
    cr_assert_null(a.zk_path);
    cr_assert_eq(a.max_nodes, 1000);
    expect_error(PARSE(&a, "zk"), "missing required option --zookeeper");
    expect_error(PARSE(&a, "zk", "--bootstrap-server", "h:1"), "unknown option");
    expect_error(PARSE(&a, "zk", "--zookeeper", "h:1", "brokers"), "must be absolute");
    expect_error(PARSE(&a, "zk", "--zookeeper", "h:1", "/a/"), "must be absolute");
    expect_error(PARSE(&a, "zk", "--zookeeper", "h:1", "/a", "/b"), "only one PATH");
    expect_error(PARSE(&a, "zk", "--zookeeper", "h:1", "--max-nodes", "0"), "out of range");
    cr_assert_eq(PARSE(&a, "zk", "--help"), 0);
    cr_assert(a.help);
}

Test(ringctl_zk, args_etcd)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--etcd", "http://h:2379,http://h2:2379", "--list"), 0, "%s",
                 err);
    cr_assert_str_eq(a.etcd, "http://h:2379,http://h2:2379");
    cr_assert_null(a.etcd_prefix);
    cr_assert_eq(PARSE(&a, "topics", "--etcd", "http://h:2379", "--etcd-prefix", "/rb/x",
                       "--create", "--topic", "t", "--partitions", "1", "--replication-factor",
                       "1"),
                 0, "%s", err);
    cr_assert_str_eq(a.etcd_prefix, "/rb/x");
    cr_assert_eq(PARSE(&a, "cluster", "--etcd", "http://h:2379", "--etcd-prefix", "/"), 0, "%s",
                 err);
    cr_assert_eq(PARSE(&a, "zk", "--etcd", "http://h:2379", "/brokers"), 0, "%s", err);
    expect_error(PARSE(&a, "topics", "--etcd", "http://h:2379", "--create", "--topic", "t"),
                 "needs --partitions and --replication-factor");
    expect_error(PARSE(&a, "topics", "--etcd", "http://h:2379", "--zookeeper", "h:1", "--list"),
                 "only one of --bootstrap-server, --zookeeper, --etcd");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--etcd-prefix", "/x", "--list"),
                 "--etcd-prefix goes with --etcd");
    expect_error(PARSE(&a, "topics", "--etcd", "http://h:2379", "--etcd-prefix", "x", "--list"),
                 "must be /NAME");
    expect_error(PARSE(&a, "topics", "--etcd", "", "--list"), "--etcd must not be empty");
    expect_error(PARSE(&a, "zk"), "(or --etcd URL[,URL...])");
}

Test(ringctl_zk, args_rack_aware)
{
    struct ctl_args a;
    cr_assert_eq(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t",
                       "--partitions", "1", "--replication-factor", "1", "--disable-rack-aware"),
                 0, "%s", err);
    cr_assert(a.disable_rack_aware);
    expect_error(PARSE(&a, "topics", "--bootstrap-server", "h:1", "--create", "--topic", "t",
                       "--disable-rack-aware"),
                 "--disable-rack-aware goes with");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--list", "--disable-rack-aware"),
                 "--disable-rack-aware goes with");
    expect_error(PARSE(&a, "topics", "--zookeeper", "h:1", "--create", "--topic", "t",
                       "--replica-assignment", "1", "--disable-rack-aware"),
                 "--disable-rack-aware goes with");
}

Test(ringctl_zk, topic_filter)
{
    regex_t re;
    cr_assert_eq(ctl_topic_filter_compile("test", &re, err, sizeof(err)), 0, "%s", err);
    cr_assert(ctl_topic_filter_match(&re, "test"));
    cr_assert(!ctl_topic_filter_match(&re, "test2")); /* whole names only */
    cr_assert(!ctl_topic_filter_match(&re, "atest"));
    regfree(&re);
    cr_assert_eq(ctl_topic_filter_compile("'te.*'", &re, err, sizeof(err)), 0, "%s", err);
    cr_assert(ctl_topic_filter_match(&re, "test"));
    cr_assert(ctl_topic_filter_match(&re, "te"));
    cr_assert(!ctl_topic_filter_match(&re, "kt"));
    regfree(&re);
    cr_assert_eq(ctl_topic_filter_compile("a, b", &re, err, sizeof(err)), 0, "%s", err);
    cr_assert(ctl_topic_filter_match(&re, "a"));
    cr_assert(ctl_topic_filter_match(&re, "b"));
    cr_assert(!ctl_topic_filter_match(&re, "ab"));
    regfree(&re);
    cr_assert_eq(ctl_topic_filter_compile("a.b", &re, err, sizeof(err)), 0, "%s", err);
    cr_assert(ctl_topic_filter_match(&re, "a.b"));
    cr_assert(ctl_topic_filter_match(&re, "a_b")); /* a regex, as in Kafka */
    regfree(&re);
    cr_assert_eq(ctl_topic_filter_compile("te(st", &re, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "not a valid regular expression"), "%s", err);
}
