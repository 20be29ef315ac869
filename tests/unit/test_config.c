/*
 * tests/unit/test_config.c - core/config.[ch] and the broker keys of
 * core/config_keys.c: .properties syntax, defaults, precedence (default < file <
 * env < override), environment mapping, validation errors naming the key,
 * listeners, retention precedence, offsets retention keys. Topic configs are in
 * test_config_topic.c, dynamic configs in test_config_dynamic.c.
 */
#include "config_test_fixture.h"

#include <errno.h>
#include <fcntl.h>

TestSuite(config, .init = quiet_logs, .fini = cleanup_props);

/* Load that must fail; returns err so the caller can check the named key. */
static int load_fail(const char *text, char *const *envp, int n, char *const *ov, char *err,
                     size_t errlen)
{
    struct rb_config *cfg = (struct rb_config *)1;
    int rc = rb_config_load(&cfg, text ? write_props(text) : NULL, envp, n, ov, err, errlen);
    cr_assert_lt(rc, 0, "load unexpectedly succeeded");
    cr_assert_null(cfg);
    return rc;
}

Test(config, properties_separators_and_comments)
{
    struct rb_config *cfg = load_ok("# comment\n"
                                    "! also a comment\n"
                                    "\n"
                                    "   a.eq=1\n"
                                    "a.colon: 2\n"
                                    "a.space   3\n"
                                    "a.tab\t4\n"
                                    "a.empty=\n"
                                    "a.bare\n"
                                    "a.eqsp = x = y\n"
                                    "a.later=first\n"
                                    "a.later=second\n",
                                    NULL, 0, NULL);
    cr_assert_str_eq(rb_config_get(cfg, "a.eq"), "1");
    cr_assert_str_eq(rb_config_get(cfg, "a.colon"), "2");
    cr_assert_str_eq(rb_config_get(cfg, "a.space"), "3");
    cr_assert_str_eq(rb_config_get(cfg, "a.tab"), "4");
    cr_assert_str_eq(rb_config_get(cfg, "a.empty"), "");
    cr_assert_str_eq(rb_config_get(cfg, "a.bare"), "");
    cr_assert_str_eq(rb_config_get(cfg, "a.eqsp"), "x = y");
    cr_assert_str_eq(rb_config_get(cfg, "a.later"), "second");
    cr_assert_null(rb_config_get(cfg, "# comment"));
    rb_config_free(cfg);
}

Test(config, properties_escapes)
{
    struct rb_config *cfg = load_ok("e.tab=a\\tb\n"
                                    "e.nl=a\\nb\n"
                                    "e.bs=C:\\\\dir\n"
                                    "e.u=caf\\u00e9 \\u0041\n"
                                    "e.pair=\\ud83d\\ude00\n"
                                    "e.other=\\q\\#\n"
                                    "e\\=k\\:x=v\n"
                                    "e\\ sp=w\n",
                                    NULL, 0, NULL);
    cr_assert_str_eq(rb_config_get(cfg, "e.tab"), "a\tb");
    cr_assert_str_eq(rb_config_get(cfg, "e.nl"), "a\nb");
    cr_assert_str_eq(rb_config_get(cfg, "e.bs"), "C:\\dir");
    cr_assert_str_eq(rb_config_get(cfg, "e.u"), "caf\xc3\xa9 A");
    cr_assert_str_eq(rb_config_get(cfg, "e.pair"), "\xf0\x9f\x98\x80");
    cr_assert_str_eq(rb_config_get(cfg, "e.other"), "q#");
    cr_assert_str_eq(rb_config_get(cfg, "e=k:x"), "v");
    cr_assert_str_eq(rb_config_get(cfg, "e sp"), "w");
    rb_config_free(cfg);
}

Test(config, properties_continuation_and_line_ends)
{
    struct rb_config *cfg = load_ok("c.list=a,\\\n"
                                    "        b,\\\n"
                                    "   c\n"
                                    "c.even=x\\\\\n"
                                    "c.next=y\n"
                                    "# comment \\\n"
                                    "c.after.comment=z\n"
                                    "c.crlf=1\r\n"
                                    "c.cr=2\r"
                                    "c.eof=3\\",
                                    NULL, 0, NULL);
    cr_assert_str_eq(rb_config_get(cfg, "c.list"), "a,b,c");
    cr_assert_str_eq(rb_config_get(cfg, "c.even"), "x\\");
    cr_assert_str_eq(rb_config_get(cfg, "c.next"), "y");
    cr_assert_str_eq(rb_config_get(cfg, "c.after.comment"), "z");
    cr_assert_str_eq(rb_config_get(cfg, "c.crlf"), "1");
    cr_assert_str_eq(rb_config_get(cfg, "c.cr"), "2");
    cr_assert_str_eq(rb_config_get(cfg, "c.eof"), "3");
    rb_config_free(cfg);
}

Test(config, syntax_error_reports_file_and_line)
{
    char err[512], want[128];
    load_fail("a=1\n# x\nb=\\u12G4\n", NULL, 0, NULL, err, sizeof(err));
    snprintf(want, sizeof(want), "%s:3:", tmp_path);
    cr_assert(strstr(err, want), "err: %s", err);
    load_fail("a=1\n=value\n", NULL, 0, NULL, err, sizeof(err));
    snprintf(want, sizeof(want), "%s:2: syntax error: empty key", tmp_path);
    cr_assert(strstr(err, want), "err: %s", err);
    load_fail("x=\\ud800\n", NULL, 0, NULL, err, sizeof(err)); /* unpaired surrogate */
}

Test(config, missing_file)
{
    char err[256];
    struct rb_config *cfg;
    int rc = rb_config_load(&cfg, "/nonexistent/rb.properties", NULL, 0, NULL, err, sizeof(err));
    cr_assert_eq(rc, -ENOENT);
    cr_assert(strstr(err, "/nonexistent/rb.properties"), "err: %s", err);
}

Test(config, defaults)
{
    struct rb_config *cfg = load_ok(NULL, NULL, 0, NULL);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->broker_id, 0);
    cr_assert_str_eq(b->listener_host, "127.0.0.1");
    cr_assert_eq(b->listener_port, 9092);
    cr_assert_str_eq(b->advertised_host, "127.0.0.1");
    cr_assert_eq(b->advertised_port, 9092);
    cr_assert_eq(b->n_log_dirs, 1);
    cr_assert_str_eq(b->log_dirs[0], "./data");
    cr_assert_str_eq(b->zookeeper_connect, "");
    cr_assert_eq(b->num_partitions, 1);
    cr_assert_eq(b->default_replication_factor, 1);
    cr_assert(b->auto_create_topics_enable && b->delete_topic_enable);
    cr_assert_eq(b->message_max_bytes, 1048588);
    cr_assert_eq(b->socket_request_max_bytes, 104857600);
    cr_assert_eq(b->max_connections, INT32_MAX);
    cr_assert_eq(b->queued_max_requests, 500);
    cr_assert_eq(b->log_segment_bytes, 1073741824);
    cr_assert_eq(b->log_roll_ms, 168LL * 3600000);
    cr_assert_eq(b->log_retention_ms, 168LL * 3600000);
    cr_assert_eq(b->log_retention_bytes, -1);
    cr_assert_eq(b->log_retention_check_interval_ms, 300000);
    cr_assert_eq(b->log_flush_interval_messages, 1);
    cr_assert_eq(b->log_flush_interval_ms, -1);
    cr_assert_eq(b->log_index_interval_bytes, 4096);
    cr_assert_eq(b->log_segment_index_bytes, 10485760);
    cr_assert(!b->log_message_timestamp_log_append);
    cr_assert_eq(b->group_initial_rebalance_delay_ms, 3000);
    cr_assert_eq(b->offsets_topic_num_partitions, 50);
    cr_assert_eq(b->num_shards, 0);
    cr_assert_eq(b->log_preallocate_step_bytes, 16 << 20);
    cr_assert_eq(b->log_chunk_bytes, 256 << 10);
    cr_assert_eq(b->log_max_dirty_bytes, 8 << 20);
    cr_assert_eq(b->recv_buffers, 256);
    cr_assert_eq(b->recv_buffer_bytes, 16384);
    cr_assert_eq(b->log_tail_cache_bytes, -1); /* auto: part/part.h */
    cr_assert(!b->fetch_file_splice);          /* read: faster here (perf/scenarios/j-fetch-*) */
    /* opt-in until they beat buffered reads everywhere (perf/RESULTS.md) */
    cr_assert(!b->fetch_file_direct);
    cr_assert(!b->fetch_file_readahead);
    cr_assert_str_eq(b->log_level, "info");
    rb_config_free(cfg);
}

Test(config, typed_values_from_file)
{
    struct rb_config *cfg = load_ok("broker.id=7\nnum.partitions=12\n"
                                    "default.replication.factor=3\n"
                                    "auto.create.topics.enable=FALSE\n"
                                    "log.segment.bytes=536870912\n"
                                    "log.message.timestamp.type=LogAppendTime\n"
                                    "num.shards=2\nlog.chunk.bytes=65536\n"
                                    "log.dirs= /d1 , /d2,/d3 \n"
                                    "zookeeper.connect=zk1:2181,zk2:2181/rb\n"
                                    "log.level=DEBUG\n",
                                    NULL, 0, NULL);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->broker_id, 7);
    cr_assert_eq(b->num_partitions, 12);
    cr_assert_eq(b->default_replication_factor, 3);
    cr_assert(!b->auto_create_topics_enable);
    cr_assert_eq(b->log_segment_bytes, 536870912);
    cr_assert(b->log_message_timestamp_log_append);
    cr_assert_eq(b->num_shards, 2);
    cr_assert_eq(b->log_chunk_bytes, 65536);
    cr_assert_eq(b->n_log_dirs, 3);
    cr_assert_str_eq(b->log_dirs[0], "/d1");
    cr_assert_str_eq(b->log_dirs[1], "/d2");
    cr_assert_str_eq(b->log_dirs[2], "/d3");
    cr_assert_str_eq(b->zookeeper_connect, "zk1:2181,zk2:2181/rb");
    cr_assert_str_eq(b->log_level, "DEBUG");
    rb_config_free(cfg);
}

Test(config, node_id_and_log_dir)
{
    struct rb_config *cfg = load_ok("node.id=3\nlog.dir=/one\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->broker_id, 3);
    cr_assert_eq(rb_config_broker(cfg)->n_log_dirs, 1);
    cr_assert_str_eq(rb_config_broker(cfg)->log_dirs[0], "/one");
    rb_config_free(cfg);
    char err[256];
    load_fail("broker.id=1\nnode.id=2\n", NULL, 0, NULL, err, sizeof(err));
    cr_assert(strstr(err, "node.id"), "err: %s", err);
}

struct seen {
    char src_num_partitions[16], src_num_shards[16], src_log_dirs[16], src_broker_id[16];
    int n;
};

static void record(const char *key, const char *value, const char *source, void *arg)
{
    struct seen *s = arg;
    s->n++;
    if (strcmp(key, "num.partitions") == 0)
        snprintf(s->src_num_partitions, 16, "%s", source);
    if (strcmp(key, "num.shards") == 0)
        snprintf(s->src_num_shards, 16, "%s", source);
    if (strcmp(key, "log.dirs") == 0)
        snprintf(s->src_log_dirs, 16, "%s", source);
    if (strcmp(key, "broker.id") == 0)
        snprintf(s->src_broker_id, 16, "%s", source);
}

Test(config, precedence_file_env_override_and_sources)
{
    char *envp[] = {"KAFKA_NUM_PARTITIONS=5", "RINGBROKER_NUM_SHARDS=4", "PATH=/usr/bin", NULL};
    char *ov[] = {"num.shards=8"};
    struct rb_config *cfg =
        load_ok("num.partitions=2\nnum.shards=1\nlog.dirs=/f\nbroker.id=9\n", envp, 1, ov);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->num_partitions, 5);
    cr_assert_eq(b->num_shards, 8);
    cr_assert_str_eq(b->log_dirs[0], "/f");
    struct seen s = {0};
    int n = rb_config_foreach(cfg, record, &s);
    cr_assert_eq(n, s.n);
    cr_assert_gt(n, 20);
    cr_assert_str_eq(s.src_num_partitions, "env");
    cr_assert_str_eq(s.src_num_shards, "override");
    cr_assert_str_eq(s.src_log_dirs, "file");
    cr_assert_str_eq(s.src_broker_id, "file");
    rb_config_free(cfg);
    cfg = load_ok(NULL, NULL, 0, NULL);
    memset(&s, 0, sizeof(s));
    rb_config_foreach(cfg, record, &s);
    cr_assert_str_eq(s.src_num_partitions, "default");
    cr_assert_eq(s.src_broker_id[0], 0); /* broker.id has no stored default */
    rb_config_free(cfg);
}

Test(config, env_mapping_and_launcher_vars)
{
    char *envp[] = {"KAFKA_ZOOKEEPER_CONNECT=zk:2181",
                    "KAFKA_LOG_RETENTION_MS=1000",
                    "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://broker1:19092",
                    "KAFKA_MY__CUSTOM_KEY=u",
                    "KAFKA_A___B_C=d",
                    "KAFKA_HEAP_OPTS=-Xmx1G",
                    "KAFKA_OPTS=-Dx=y",
                    "KAFKA_JMX_OPTS=j",
                    "KAFKA_LOG4J_OPTS=l",
                    "KAFKA_JVM_PERFORMANCE_OPTS=p",
                    "KAFKA_GC_LOG_OPTS=g",
                    "KAFKA_DEBUG=y",
                    "KAFKA_HOME=/opt/kafka",
                    "KAFKA_VERSION=3.6.0",
                    "KAFKA_=x",
                    "RINGBROKER_LOG_LEVEL=warn",
                    "HOME=/root",
                    NULL};
    struct rb_config *cfg = load_ok(NULL, envp, 0, NULL);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_str_eq(b->zookeeper_connect, "zk:2181");
    cr_assert_eq(b->log_retention_ms, 1000);
    cr_assert_str_eq(b->advertised_host, "broker1");
    cr_assert_eq(b->advertised_port, 19092);
    cr_assert_str_eq(rb_config_get(cfg, "my_custom.key"), "u");
    cr_assert_str_eq(rb_config_get(cfg, "a-b.c"), "d");
    cr_assert_str_eq(b->log_level, "warn");
    const char *gone[] = {"heap.opts",   "opts",  "jmx.opts", "log4j.opts", "jvm.performance.opts",
                          "gc.log.opts", "debug", "home",     "version",    ""};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        cr_assert_null(rb_config_get(cfg, gone[i]), "%s should be ignored", gone[i]);
    rb_config_free(cfg);
}

static void expect_bad(const char *text, const char *want)
{
    char err[512];
    int rc = load_fail(text, NULL, 0, NULL, err, sizeof(err));
    cr_assert_eq(rc, -EINVAL);
    cr_assert(strstr(err, want), "want '%s' in err: %s", want, err);
}

Test(config, fetch_path_keys)
{
    struct rb_config *cfg =
        load_ok("log.tail.cache.bytes=0\nfetch.file.transfer=splice\n", NULL, 0, NULL);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->log_tail_cache_bytes, 0);
    cr_assert(b->fetch_file_splice);
    rb_config_free(cfg);
    expect_bad("fetch.file.transfer=sendfile\n", "fetch.file.transfer");
    expect_bad("log.tail.cache.bytes=-2\n", "log.tail.cache.bytes");
}

Test(config, bad_values_name_the_key)
{
    expect_bad("num.partitions=abc\n", "invalid value 'abc' for num.partitions: not an integer");
    expect_bad("num.partitions=0\n", "invalid value '0' for num.partitions: must be at least 1");
    expect_bad("num.partitions=12x\n", "num.partitions: not an integer");
    expect_bad("num.partitions= \n", "num.partitions: not an integer");
    expect_bad("message.max.bytes=3000000000\n", "message.max.bytes");
    expect_bad("log.retention.ms=99999999999999999999\n", "log.retention.ms");
    expect_bad("default.replication.factor=40000\n", "default.replication.factor");
    expect_bad("auto.create.topics.enable=yes\n", "auto.create.topics.enable: not a boolean");
    expect_bad("log.dirs=\n", "log.dirs: must not be empty");
    expect_bad("log.dirs=/a,,/b\n", "log.dirs: empty directory");
    expect_bad("log.chunk.bytes=5000\n", "log.chunk.bytes: must be a multiple of 4096");
    expect_bad("socket.recv.buffers=100\n", "socket.recv.buffers: must be a power of two");
    expect_bad("compression.type=brotli\n", "compression.type");
    expect_bad("log.cleanup.policy=delete,delete\n", "log.cleanup.policy");
    expect_bad("log.level=loud\n", "log.level");
    expect_bad("num.io.threads=0\n", "num.io.threads");
    expect_bad("log.message.timestamp.type=Now\n", "log.message.timestamp.type");
    /* the file and line are named too */
    char err[512], want[128];
    load_fail("a.b=1\nnum.shards=x\n", NULL, 0, NULL, err, sizeof(err));
    snprintf(want, sizeof(want), "%s:2", tmp_path);
    cr_assert(strstr(err, want), "err: %s", err);
}

Test(config, bad_values_from_env_and_overrides)
{
    char err[512];
    char *envp[] = {"KAFKA_NUM_PARTITIONS=many", NULL};
    load_fail(NULL, envp, 0, NULL, err, sizeof(err));
    cr_assert(strstr(err, "num.partitions") && strstr(err, "KAFKA_NUM_PARTITIONS"), "err: %s", err);
    char *ov[] = {"num.shards=2", "log.dirs"};
    load_fail(NULL, NULL, 2, ov, err, sizeof(err));
    cr_assert(strstr(err, "'log.dirs'") && strstr(err, "key=value"), "err: %s", err);
    char *ov2[] = {"=5"};
    load_fail(NULL, NULL, 1, ov2, err, sizeof(err));
    cr_assert(strstr(err, "'=5'"), "err: %s", err);
    char *ov3[] = {"delete.topic.enable=maybe"};
    load_fail(NULL, NULL, 1, ov3, err, sizeof(err));
    cr_assert(strstr(err, "delete.topic.enable"), "err: %s", err);
}

Test(config, unknown_key_is_kept_and_warned)
{
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    int saved = dup(2);
    dup2(pipefd[1], 2);
    rb_loglevel_max = RB_LL_WARN;
    struct rb_config *cfg = load_ok("foo.bar=baz\n", NULL, 0, NULL);
    dup2(saved, 2);
    close(saved);
    close(pipefd[1]);
    char buf[4096] = {0};
    ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
    close(pipefd[0]);
    cr_assert_gt(n, 0);
    cr_assert(strstr(buf, "WARN unknown configuration key 'foo.bar' (ignored)"), "log: %s", buf);
    cr_assert_str_eq(rb_config_get(cfg, "foo.bar"), "baz");
    rb_config_free(cfg);
}

Test(config, listeners)
{
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    struct rb_config *cfg = load_ok("listeners=PLAINTEXT://:9093\n", NULL, 0, NULL);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_str_eq(b->listener_host, "");
    cr_assert_eq(b->listener_port, 9093);
    cr_assert_str_eq(b->advertised_host, host);
    cr_assert_eq(b->advertised_port, 9093);
    rb_config_free(cfg);

    cfg = load_ok("listeners=PLAINTEXT://0.0.0.0:9094\n"
                  "advertised.listeners=PLAINTEXT://kafka.example:29094\n",
                  NULL, 0, NULL);
    b = rb_config_broker(cfg);
    cr_assert_str_eq(b->listener_host, "");
    cr_assert_eq(b->listener_port, 9094);
    cr_assert_str_eq(b->advertised_host, "kafka.example");
    cr_assert_eq(b->advertised_port, 29094);
    rb_config_free(cfg);

    cfg = load_ok("listeners=PLAINTEXT://[::1]:9095\n", NULL, 0, NULL);
    cr_assert_str_eq(rb_config_broker(cfg)->listener_host, "::1");
    cr_assert_str_eq(rb_config_broker(cfg)->advertised_host, "::1");
    rb_config_free(cfg);

    cfg = load_ok("listeners=INTERNAL://10.0.0.1:9092,EXTERNAL://0.0.0.0:9093\n"
                  "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n"
                  "advertised.listeners=EXTERNAL://pub:9093,INTERNAL://priv:9092\n",
                  NULL, 0, NULL);
    b = rb_config_broker(cfg);
    cr_assert_str_eq(b->listener_host, "10.0.0.1");
    cr_assert_str_eq(b->advertised_host, "priv"); /* same listener name as the bound one */
    cr_assert_eq(b->advertised_port, 9092);
    rb_config_free(cfg);

    expect_bad("listeners=SSL://:9093\n", "listeners");
    expect_bad("listeners=SSL://:9093\n", "only PLAINTEXT is supported");
    expect_bad("listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\n", "SASL_PLAINTEXT");
    expect_bad("listeners=localhost:9092\n", "invalid value 'localhost:9092' for listeners");
    expect_bad("listeners=PLAINTEXT://host:99999\n", "listeners: bad port");
    expect_bad("listeners=PLAINTEXT://host\n", "listeners");
    expect_bad("listeners=PLAINTEXT://:9092\nadvertised.listeners=SSL://h:1\n",
               "advertised.listeners");
    expect_bad("listeners=PLAINTEXT://:9092\nadvertised.listeners=PLAINTEXT://:1\n",
               "advertised.listeners");
}

Test(config, retention_and_roll_precedence)
{
    struct rb_config *cfg = load_ok("log.retention.hours=2\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_retention_ms, 2 * 3600000LL);
    rb_config_free(cfg);
    cfg = load_ok("log.retention.hours=2\nlog.retention.minutes=3\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_retention_ms, 3 * 60000LL);
    rb_config_free(cfg);
    cfg = load_ok("log.retention.ms=1234\nlog.retention.hours=2\nlog.retention.minutes=3\n", NULL,
                  0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_retention_ms, 1234);
    rb_config_free(cfg);
    cfg = load_ok("log.retention.hours=-1\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_retention_ms, -1);
    rb_config_free(cfg);
    cfg = load_ok("log.roll.hours=1\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_roll_ms, 3600000);
    rb_config_free(cfg);
    cfg = load_ok("log.roll.hours=1\nlog.roll.ms=500\nlog.flush.interval.ms=20\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->log_roll_ms, 500);
    cr_assert_eq(rb_config_broker(cfg)->log_flush_interval_ms, 20);
    rb_config_free(cfg);
}

Test(config, parse_helpers)
{
    int64_t x;
    cr_assert_eq(rb_parse_i64("42", 0, 100, &x), 0);
    cr_assert_eq(x, 42);
    cr_assert_eq(rb_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &x), 0);
    cr_assert_eq(x, INT64_MIN);
    cr_assert_eq(rb_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &x), -ERANGE);
    cr_assert_eq(rb_parse_i64("101", 0, 100, &x), -ERANGE);
    cr_assert_eq(rb_parse_i64("", 0, 100, &x), -EINVAL);
    cr_assert_eq(rb_parse_i64("-", 0, 100, &x), -EINVAL);
    cr_assert_eq(rb_parse_i64(" 1", 0, 100, &x), -EINVAL);
    cr_assert_eq(rb_parse_i64("1.0", 0, 100, &x), -EINVAL);
    cr_assert_eq(rb_parse_i64("0x10", 0, 100, &x), -EINVAL);
    bool b = false;
    cr_assert_eq(rb_parse_bool("True", &b), 0);
    cr_assert(b);
    cr_assert_eq(rb_parse_bool("false", &b), 0);
    cr_assert(!b);
    cr_assert_eq(rb_parse_bool("1", &b), -EINVAL);
    cr_assert_eq(rb_parse_bool("", &b), -EINVAL);
}

/* The shipped examples must load (make run uses config/server.properties). */
Test(config, example_files_load)
{
    struct rb_config *cfg;
    char err[512];
    cr_assert_eq(rb_config_load(&cfg, "config/server.properties", NULL, 0, NULL, err, sizeof(err)),
                 0, "%s", err);
    const struct rb_broker_config *b = rb_config_broker(cfg);
    cr_assert_eq(b->broker_id, 0);
    cr_assert_str_eq(b->listener_host, "127.0.0.1");
    cr_assert_eq(b->listener_port, 9092);
    cr_assert_str_eq(b->log_dirs[0], "./data");
    cr_assert_eq(b->log_flush_interval_messages, 1);
    cr_assert_str_eq(b->zookeeper_connect, "");
    rb_config_free(cfg);
    cr_assert_eq(
        rb_config_load(&cfg, "config/server-cluster.properties", NULL, 0, NULL, err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(rb_config_broker(cfg)->broker_id, 1);
    cr_assert_neq(rb_config_broker(cfg)->zookeeper_connect[0], 0);
    rb_config_free(cfg);
}

/* (ringbroker) the listener probes: on by default (300 ms), 0 turns them off. */
Test(config, liveness_probe_interval)
{
    struct rb_config *cfg = load_ok(NULL, NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->broker_liveness_probe_interval_ms, 300);
    rb_config_free(cfg);
    cfg = load_ok("broker.liveness.probe.interval.ms=0\n", NULL, 0, NULL);
    cr_assert_eq(rb_config_broker(cfg)->broker_liveness_probe_interval_ms, 0);
    rb_config_free(cfg);
    expect_bad("broker.liveness.probe.interval.ms=-1\n", "broker.liveness.probe.interval.ms");
}

Test(config, offsets_retention_keys)
{
    struct rb_config *cfg = load_ok("offsets.retention.minutes=1\n"
                                    "offsets.retention.check.interval.ms=1000\n"
                                    "test.offsets.retention.ms=3000\n",
                                    NULL, 0, NULL);
    cr_assert_str_eq(rb_config_get(cfg, "offsets.retention.minutes"), "1");
    cr_assert_str_eq(rb_config_get(cfg, "offsets.retention.check.interval.ms"), "1000");
    cr_assert_str_eq(rb_config_get(cfg, "test.offsets.retention.ms"), "3000");
    rb_config_free(cfg);
    cfg = load_ok(NULL, NULL, 0, NULL);
    cr_assert_str_eq(rb_config_get(cfg, "test.offsets.retention.ms"), "-1", "off by default");
    rb_config_free(cfg);
    expect_bad("offsets.retention.minutes=0\n", "offsets.retention.minutes");
    expect_bad("offsets.retention.check.interval.ms=0\n", "offsets.retention.check.interval.ms");
    expect_bad("test.offsets.retention.ms=-2\n", "test.offsets.retention.ms");
}
