/*
 * tests/clients/rb_admin.c - librdkafka Admin API scenario for t_topics_admin.sh.
 *
 *   rb_admin HOST:PORT
 *
 * Steps (each checked, each failure counted and described on stderr):
 *  1. CreateTopics adm-a (4 partitions, retention.ms=123456, cleanup.policy=delete)
 *     and adm-b (2 partitions): both succeed; metadata shows 4 and 2 partitions.
 *  2. CreateTopics adm-a again: TOPIC_ALREADY_EXISTS (36).
 *  3. CreateTopics adm-c with retention.ms=notanumber: some error (INVALID_CONFIG
 *     40 in Kafka), and adm-c must not exist afterwards.
 *  4. DescribeConfigs adm-a: retention.ms=123456, cleanup.policy=delete.
 *  5. Produce 3 records to adm-a (acks=all); DeleteTopics adm-a: ok;
 *     DeleteTopics adm-missing: UNKNOWN_TOPIC_OR_PARTITION (3);
 *     adm-a disappears from the full metadata.
 *  6. Re-create adm-a with 2 partitions: ok; metadata shows 2 partitions; its
 *     watermarks are 0/0 (old data gone); retention.ms is no longer 123456.
 * Prints one line per step and "admin: N checks, N failed"; exit 0 iff none failed.
 * Fault model: test client; every wait is bounded.
 */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rd_kafka_t *rk;
static int checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "CHECK FAILED: %s\n", what);
    }
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
}

static rd_kafka_event_t *wait_event(rd_kafka_queue_t *q, rd_kafka_event_type_t type)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
        fprintf(stderr, "admin result did not arrive within 30 s\n");
        return NULL;
    }
    if (rd_kafka_event_type(ev) != type) {
        fprintf(stderr, "unexpected event %s: %s\n", rd_kafka_event_name(ev),
                rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_admin_op_t op)
{
    char err[256];
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(ao, 20000, err, sizeof(err));
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, err, sizeof(err));
    return ao;
}

/* Creates one topic; returns the per-topic error code (or a local error). */
static rd_kafka_resp_err_t create_topic(const char *name, int parts, const char **cfg)
{
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, parts, 1, err, sizeof(err));
    if (!nt) {
        fprintf(stderr, "NewTopic %s: %s\n", name, err);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    for (int i = 0; cfg && cfg[i]; i += 2)
        rd_kafka_NewTopic_set_config(nt, cfg[i], cfg[i + 1]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = admin_opts(RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_event_t *ev = wait_event(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    if (ev && rd_kafka_event_error(ev)) {
        e = rd_kafka_event_error(ev);
        fprintf(stderr, "CreateTopics %s request error: %s\n", name,
                rd_kafka_event_error_string(ev));
    } else if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        e = n == 1 ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        printf("create %s (%d partitions): %d %s %s\n", name, parts, e, rd_kafka_err2name(e),
               n == 1 && rd_kafka_topic_result_error_string(tr[0])
                   ? rd_kafka_topic_result_error_string(tr[0])
                   : "");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return e;
}

static rd_kafka_resp_err_t delete_topic(const char *name)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = admin_opts(RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_event_t *ev = wait_event(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
    if (ev && rd_kafka_event_error(ev)) {
        e = rd_kafka_event_error(ev);
        fprintf(stderr, "DeleteTopics %s request error: %s\n", name,
                rd_kafka_event_error_string(ev));
    } else if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        e = n == 1 ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        printf("delete %s: %d %s\n", name, e, rd_kafka_err2name(e));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    return e;
}

/* Fills out[] with NAME=VALUE lines of a topic's configs; returns the error. */
static rd_kafka_resp_err_t describe_topic(const char *name, char *out, size_t cap)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = admin_opts(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &cr, 1, ao, q);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    out[0] = 0;
    rd_kafka_event_t *ev = wait_event(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    if (ev && rd_kafka_event_error(ev)) {
        e = rd_kafka_event_error(ev);
        fprintf(stderr, "DescribeConfigs request error: %s\n", rd_kafka_event_error_string(ev));
    } else if (ev) {
        size_t n, nc, used = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        e = n == 1 ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        const rd_kafka_ConfigEntry_t **ce =
            n == 1 ? rd_kafka_ConfigResource_configs(rs[0], &nc) : NULL;
        for (size_t i = 0; ce && i < nc && used < cap; i++) {
            const char *v = rd_kafka_ConfigEntry_value(ce[i]);
            used += (size_t)snprintf(out + used, cap - used, "%s=%s\n",
                                     rd_kafka_ConfigEntry_name(ce[i]), v ? v : "(null)");
        }
        printf("describe %s: %d %s, %zu entries\n", name, e, rd_kafka_err2name(e), ce ? nc : 0);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    return e;
}

/* Partition count of a topic in the all-topics metadata (never auto-creates);
 * 0 when absent, -1 on error. */
static int topic_partitions(const char *name)
{
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000))
        return -1;
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name))
            n = md->topics[i].err ? -1 : md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Waits (bounded) until topic_partitions(name) == want; returns the last value. */
static int wait_partitions(const char *name, int want)
{
    int n = -1;
    for (int i = 0; i < 50; i++) {
        n = topic_partitions(name);
        if (n == want)
            break;
        usleep(200000);
    }
    printf("metadata %s: %d partitions (want %d)\n", name, n, want);
    return n;
}

static int produce_some(const char *topic, int count)
{
    for (int i = 0; i < count; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "old-%d", i);
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(v, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            return -1;
    }
    return rd_kafka_flush(rk, 20000) == 0 && rd_kafka_outq_len(rk) == 0 ? 0 : -1;
}

static int dr_failed;
static void dr_cb(rd_kafka_t *k, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        dr_failed++;
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static void steps_create(void)
{
    const char *cfg_a[] = {"retention.ms", "123456", "cleanup.policy", "delete", NULL};
    const char *cfg_bad[] = {"retention.ms", "notanumber", NULL};
    char msg[256];
    rd_kafka_resp_err_t e = create_topic("adm-a", 4, cfg_a);
    snprintf(msg, sizeof(msg), "create adm-a with configs: got %s (want NO_ERROR)",
             rd_kafka_err2name(e));
    check(e == 0, msg);
    e = create_topic("adm-b", 2, NULL);
    snprintf(msg, sizeof(msg), "create adm-b: got %s (want NO_ERROR)", rd_kafka_err2name(e));
    check(e == 0, msg);
    check(wait_partitions("adm-a", 4) == 4, "metadata: adm-a has 4 partitions");
    check(wait_partitions("adm-b", 2) == 2, "metadata: adm-b has 2 partitions");
    e = create_topic("adm-a", 4, NULL);
    snprintf(msg, sizeof(msg), "duplicate create adm-a: got %d %s (want 36 TOPIC_ALREADY_EXISTS)",
             e, rd_kafka_err2name(e));
    check(e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, msg);
    e = create_topic("adm-c", 1, cfg_bad);
    snprintf(msg, sizeof(msg),
             "create adm-c with retention.ms=notanumber: got %d %s (want an error, "
             "Kafka: 40 INVALID_CONFIG)",
             e, rd_kafka_err2name(e));
    check(e != 0, msg);
    check(topic_partitions("adm-c") == 0, "adm-c does not exist after the failed create");
}

static void steps_describe(void)
{
    static char cfgs[1 << 16];
    rd_kafka_resp_err_t e = describe_topic("adm-a", cfgs, sizeof(cfgs));
    check(e == 0, "describe configs adm-a: no error");
    check(strstr(cfgs, "retention.ms=123456\n") != NULL, "adm-a retention.ms=123456");
    check(strstr(cfgs, "cleanup.policy=delete\n") != NULL, "adm-a cleanup.policy=delete");
    if (!strstr(cfgs, "retention.ms=123456\n"))
        fprintf(stderr, "configs of adm-a:\n%s", cfgs);
}

static void steps_delete_recreate(void)
{
    static char cfgs[1 << 16];
    char msg[256];
    check(produce_some("adm-a", 3) == 0 && dr_failed == 0, "produce 3 records to adm-a");
    rd_kafka_resp_err_t e = delete_topic("adm-a");
    snprintf(msg, sizeof(msg), "delete adm-a: got %s (want NO_ERROR)", rd_kafka_err2name(e));
    check(e == 0, msg);
    e = delete_topic("adm-missing");
    snprintf(msg, sizeof(msg), "delete adm-missing: got %d %s (want 3 UNKNOWN_TOPIC_OR_PART)", e,
             rd_kafka_err2name(e));
    check(e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, msg);
    check(wait_partitions("adm-a", 0) == 0, "adm-a gone from metadata after delete");
    for (int i = 0; i < 20; i++) {
        e = create_topic("adm-a", 2, NULL);
        if (e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            break;
        usleep(500000); /* deletion may complete asynchronously */
    }
    snprintf(msg, sizeof(msg), "re-create adm-a: got %s (want NO_ERROR)", rd_kafka_err2name(e));
    check(e == 0, msg);
    check(wait_partitions("adm-a", 2) == 2, "metadata: re-created adm-a has 2 partitions");
    int64_t lo = -1, hi = -1;
    e = rd_kafka_query_watermark_offsets(rk, "adm-a", 0, &lo, &hi, 10000);
    snprintf(msg, sizeof(msg), "re-created adm-a p0 watermarks: %s lo=%lld hi=%lld (want 0/0)",
             rd_kafka_err2name(e), (long long)lo, (long long)hi);
    check(e == 0 && lo == 0 && hi == 0, msg);
    e = describe_topic("adm-a", cfgs, sizeof(cfgs));
    check(e == 0 && !strstr(cfgs, "retention.ms=123456\n"),
          "re-created adm-a has default retention.ms");
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc != 2) {
        fprintf(stderr, "usage: rb_admin HOST:PORT\n");
        return 2;
    }
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", argv[1], err, sizeof(err)) ||
        rd_kafka_conf_set(c, "acks", "all", err, sizeof(err)) ||
        rd_kafka_conf_set(c, "allow.auto.create.topics", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(c, "message.timeout.ms", "15000", err, sizeof(err))) {
        fprintf(stderr, "config: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 2;
    }
    steps_create();
    steps_describe();
    steps_delete_recreate();
    rd_kafka_destroy(rk);
    printf("admin: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
