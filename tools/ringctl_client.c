/*
 * tools/ringctl_client.c - `ringctl produce` (stdin lines -> records) and
 * `ringctl consume` (records -> stdout lines) on librdkafka; the line and output
 * formats themselves are in tools/ringctl_format.c.
 * Fault model: produce counts every record that was not acknowledged (delivery
 * report error, local rejection, or still queued when the flush deadline passes)
 * and exits 1 if there is any; consume stops on a non-retriable error with exit 1.
 * SIGINT/SIGTERM stop consume cleanly.
 */
#include "tools/ringctl.h"
#include "tools/ringctl_kafka.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct produce_stats {
    long delivered, failed;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct produce_stats *st = rd_kafka_opaque(rk);
    if (!m->err) {
        st->delivered++;
        return;
    }
    if (st->failed++ < 10)
        fprintf(stderr, "ringctl produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Queue one record, waiting while the local queue is full. */
static int produce_one(rd_kafka_t *rk, const struct ctl_args *a, const struct ctl_line *l)
{
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (l->n_headers) {
            hdrs = rd_kafka_headers_new((size_t)l->n_headers);
            for (int i = 0; i < l->n_headers; i++)
                rd_kafka_header_add(hdrs, l->headers[i].name, (ssize_t)l->headers[i].name_len,
                                    l->headers[i].value, (ssize_t)l->headers[i].value_len);
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(a->topic),
            RD_KAFKA_V_PARTITION(a->partition >= 0 ? a->partition : RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(l->key, l->key_len),
            RD_KAFKA_V_VALUE((void *)l->value, l->value_len), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_END);
        if (e && hdrs) /* on success librdkafka owns them */
            rd_kafka_headers_destroy(hdrs);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        if (e)
            fprintf(stderr, "ringctl produce: cannot send record: %s\n", rd_kafka_err2str(e));
        return e ? -1 : 0;
    }
}

/* Read stdin until EOF; returns records handed to librdkafka, or -1 on a bad line. */
static long produce_lines(rd_kafka_t *rk, const struct ctl_args *a, struct produce_stats *st)
{
    char *line = NULL, err[256];
    size_t cap = 0;
    ssize_t n;
    long sent = 0, lineno = 0;
    static struct ctl_line l; /* CTL_MAX_HEADERS entries: keep it off the stack */
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        if (n && line[n - 1] == '\r')
            line[--n] = 0;
        if (ctl_parse_line(a, line, (size_t)n, &l, err, sizeof(err)) < 0) {
            fprintf(stderr, "ringctl produce: line %ld: %s: '%s'\n", lineno, err, line);
            free(line);
            return -1;
        }
        if (produce_one(rk, a, &l) < 0)
            st->failed++;
        else
            sent++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    return sent;
}

int ctl_produce(const struct ctl_args *a)
{
    struct produce_stats st = {0, 0};
    char tmo[32];
    snprintf(tmo, sizeof(tmo), "%lld", (long long)a->timeout_ms);
    rd_kafka_conf_t *conf = ctl_conf(a);
    if (!conf)
        return CTL_EXIT_USAGE;
    if (!ctl_conf_set(conf, "acks", a->acks) ||
        !ctl_conf_set(conf, "compression.codec", a->compression) ||
        !ctl_conf_set(conf, "message.timeout.ms", tmo) || !ctl_conf_set(conf, "linger.ms", "5")) {
        rd_kafka_conf_destroy(conf);
        return CTL_EXIT_USAGE;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = ctl_client(a, RD_KAFKA_PRODUCER, conf);
    if (!rk)
        return CTL_EXIT_FAIL;
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, false);
    if (!md) {
        rd_kafka_destroy(rk);
        return CTL_EXIT_FAIL;
    }
    rd_kafka_metadata_destroy(md);
    long sent = produce_lines(rk, a, &st);
    rd_kafka_flush(rk, (int)a->timeout_ms + 10000);
    int left = rd_kafka_outq_len(rk);
    rd_kafka_destroy(rk);
    if (left > 0)
        fprintf(stderr, "ringctl produce: %d records still unacknowledged at exit\n", left);
    long bad = st.failed + (left > 0 ? left : 0);
    if (sent < 0 || bad) {
        if (bad)
            fprintf(stderr, "ringctl produce: %ld records failed, %ld acknowledged\n", bad,
                    st.delivered);
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_record(const struct ctl_args *a, const rd_kafka_message_t *m)
{
    static struct ctl_header hs[CTL_MAX_HEADERS];
    struct ctl_record r = {.partition = m->partition,
                           .offset = m->offset,
                           .key = m->key,
                           .key_len = m->key_len,
                           .value = m->payload,
                           .value_len = m->len,
                           .headers = hs};
    rd_kafka_timestamp_type_t tt;
    r.timestamp = rd_kafka_message_timestamp(m, &tt);
    r.ts_type = tt == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? 1
                : tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? 2
                                                           : 0;
    rd_kafka_headers_t *hdrs;
    if ((a->print_headers || a->json) && rd_kafka_message_headers(m, &hdrs) == 0) {
        const char *name;
        const void *val;
        size_t size;
        while (r.n_headers < CTL_MAX_HEADERS &&
               rd_kafka_header_get_all(hdrs, (size_t)r.n_headers, &name, &val, &size) == 0) {
            hs[r.n_headers] = (struct ctl_header){name, val, strlen(name), val ? size : 0};
            r.n_headers++;
        }
    }
    ctl_format_record(stdout, a, &r);
}

/* The start of an assigned partition: --offset, else --from-beginning. */
static int64_t start_offset(const struct ctl_args *a)
{
    if (a->start_offset == CTL_OFFSET_EARLIEST ||
        (a->start_offset == CTL_OFFSET_UNSET && a->from_beginning))
        return RD_KAFKA_OFFSET_BEGINNING;
    if (a->start_offset >= 0)
        return a->start_offset;
    return RD_KAFKA_OFFSET_END;
}

/* Without a group: assign every partition of the topic (or only --partition) at
 * its start offset. */
static int assign_all(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, true);
    if (!md)
        return -1;
    const rd_kafka_metadata_topic_t *t = NULL;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, a->topic) == 0 && !md->topics[i].err)
            t = &md->topics[i];
    int rc = -1;
    if (!t || t->partition_cnt == 0) {
        fprintf(stderr, "ringctl consume: topic '%s' does not exist\n", a->topic);
        goto out;
    }
    bool found = a->partition < 0;
    for (int i = 0; i < t->partition_cnt; i++)
        found |= t->partitions[i].id == a->partition;
    if (!found) {
        fprintf(stderr, "ringctl consume: topic '%s' has no partition %d\n", a->topic,
                (int)a->partition);
        goto out;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++)
        if (a->partition < 0 || t->partitions[i].id == a->partition)
            rd_kafka_topic_partition_list_add(l, a->topic, t->partitions[i].id)->offset =
                start_offset(a);
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        fprintf(stderr, "ringctl consume: assign failed: %s\n", rd_kafka_err2str(e));
    rc = e ? -1 : 0;
out:
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int subscribe(rd_kafka_t *rk, const struct ctl_args *a)
{
    const struct rd_kafka_metadata *md = ctl_metadata(rk, a, false);
    if (!md)
        return -1;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, a->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        fprintf(stderr, "ringctl consume: subscribe failed: %s\n", rd_kafka_err2str(e));
    return e ? -1 : 0;
}

/* A consumer error worth stopping for (others are retried by librdkafka). */
static bool fatal_consume_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || e == RD_KAFKA_RESP_ERR__FATAL ||
           e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
           e == RD_KAFKA_RESP_ERR_INVALID_GROUP_ID;
}

/* Poll until max-messages, idle timeout, a fatal error or a signal. */
static int consume_loop(rd_kafka_t *rk, const struct ctl_args *a, long *count)
{
    int64_t last = now_ms();
    while (!stop_requested) {
        if (a->max_messages > 0 && *count >= a->max_messages)
            return CTL_EXIT_OK;
        if (a->timeout_ms >= 0 && now_ms() - last >= a->timeout_ms) {
            if (a->max_messages > 0) {
                fprintf(stderr, "ringctl consume: timed out after %ld of %lld messages\n", *count,
                        (long long)a->max_messages);
                return CTL_EXIT_FAIL;
            }
            return CTL_EXIT_OK;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            fflush(stdout);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            bool fatal = fatal_consume_error(m->err);
            fprintf(stderr, "ringctl consume: %s: %s\n", fatal ? "error" : "warning",
                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal)
                return CTL_EXIT_FAIL;
            continue;
        }
        print_record(a, m);
        rd_kafka_message_destroy(m);
        (*count)++;
        last = now_ms();
    }
    return CTL_EXIT_OK;
}

int ctl_consume(const struct ctl_args *a)
{
    rd_kafka_conf_t *conf = ctl_conf(a);
    if (!conf)
        return CTL_EXIT_USAGE;
    bool ok = ctl_conf_set(conf, "enable.partition.eof", "false") &&
              ctl_conf_set(conf, "auto.offset.reset", a->from_beginning ? "earliest" : "latest");
    if (ok && a->group)
        ok = ctl_conf_set(conf, "group.id", a->group);
    else if (ok) {
        /* librdkafka's assign() wants a group.id even though no group is joined and
         * nothing is committed; a per-process name keeps runs apart. */
        char gid[64];
        snprintf(gid, sizeof(gid), "ringctl-consume-%ld", (long)getpid());
        ok = ctl_conf_set(conf, "group.id", gid) &&
             ctl_conf_set(conf, "enable.auto.commit", "false") &&
             ctl_conf_set(conf, "enable.auto.offset.store", "false");
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return CTL_EXIT_USAGE;
    }
    rd_kafka_t *rk = ctl_client(a, RD_KAFKA_CONSUMER, conf);
    if (!rk)
        return CTL_EXIT_FAIL;
    rd_kafka_poll_set_consumer(rk);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long count = 0;
    int rc = (a->group ? subscribe(rk, a) : assign_all(rk, a)) < 0 ? CTL_EXIT_FAIL
                                                                   : consume_loop(rk, a, &count);
    fflush(stdout);
    fprintf(stderr, "Processed a total of %ld messages\n", count);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
