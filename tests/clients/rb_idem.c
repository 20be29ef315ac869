/*
 * tests/clients/rb_idem.c - librdkafka idempotent producer for t_idempotent.sh.
 *
 *   rb_idem -b HOST:PORT -t TOPIC -n N [-s FIRST_SEQ] [-a ACKFILE] [-r MSGS_PER_SEC]
 *           [-T MESSAGE_TIMEOUT_MS]
 *
 * Produces records in rb_roundtrip's format (key "k<seq>", headers seq/len, value
 * "v<seq>:" + filler; maxval 200) with enable.idempotence=true (acks=all, up to 5
 * requests in flight, retries forever within message.timeout.ms), so
 * `rb_roundtrip consume` checks the result: content, order, no duplicates, every
 * acknowledged record at its offset. Appends "partition offset seq" per acked
 * record to ACKFILE. Prints the producer id and epoch the broker assigned
 * (statistics "eos" section) and counts; exit 0 only when every record was acked
 * and librdkafka raised no fatal (idempotence) error.
 * Fault model: a test client; every wait is bounded.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXVAL 200

static const char *brokers, *topic, *ackpath;
static long long n = -1, first, rate;
static int timeout_ms = 60000;
static long long dr_ok, dr_fail, errors;
static FILE *ackf;
static char stats[1 << 16];

static void die(const char *msg)
{
    fprintf(stderr, "rb_idem: %s\n", msg);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Same as rb_roundtrip's make_value with -S 200. */
static size_t make_value(long long seq, char *buf)
{
    static const char pat[] = "ringbroker-roundtrip-payload-0123456789-";
    int k = snprintf(buf, 64, "v%lld:", seq);
    size_t fill = (size_t)((seq * 37) % MAXVAL);
    for (size_t i = 0; i < fill; i++)
        buf[k + i] = pat[(i + (size_t)seq) % (sizeof(pat) - 1)];
    return (size_t)k + fill;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long long seq = (long long)(intptr_t)m->_private;
    if (m->err || m->offset < 0) {
        if (dr_fail < 5)
            fprintf(stderr, "delivery failed seq %lld: %s\n", seq, rd_kafka_err2str(m->err));
        dr_fail++;
        return;
    }
    dr_ok++;
    if (ackf)
        fprintf(ackf, "%d %" PRId64 " %lld\n", (int)m->partition, m->offset, seq);
}

static void err_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (errors++ < 10)
        fprintf(stderr, "error: %s: %s\n", rd_kafka_err2name(err), reason);
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    size_t k = len < sizeof(stats) - 1 ? len : sizeof(stats) - 1;
    memcpy(stats, json, k);
    stats[k] = 0;
    return 0;
}

static long long stat_field(const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(stats, key);
    return p ? atoll(p + strlen(key)) : -2;
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static rd_kafka_t *new_producer(void)
{
    char err[512], tmo[32];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    conf_set(c, "bootstrap.servers", brokers);
    conf_set(c, "enable.idempotence", "true");
    conf_set(c, "linger.ms", "5");
    conf_set(c, "batch.num.messages", "200");
    conf_set(c, "statistics.interval.ms", "100");
    conf_set(c, "reconnect.backoff.max.ms", "200");
    snprintf(tmo, sizeof(tmo), "%d", timeout_ms);
    conf_set(c, "message.timeout.ms", tmo);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_error_cb(c, err_cb);
    rd_kafka_conf_set_stats_cb(c, stats_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        die(err);
    return rk;
}

static int produce_one(rd_kafka_t *rk, long long seq, char *val)
{
    char key[32], hseq[32], hlen[32];
    size_t vlen = make_value(seq, val);
    int klen = snprintf(key, sizeof(key), "k%lld", seq);
    snprintf(hseq, sizeof(hseq), "%lld", seq);
    snprintf(hlen, sizeof(hlen), "%zu", vlen);
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "seq", -1, hseq, -1);
        rd_kafka_header_add(h, "len", -1, hlen, -1);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)klen),
            RD_KAFKA_V_VALUE(val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq), RD_KAFKA_V_END);
        if (!e)
            return 0;
        rd_kafka_headers_destroy(h);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "produce seq %lld: %s\n", seq, rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 10);
    }
}

static void parse_args(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "b:t:n:s:a:r:T:")) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'n':
            n = atoll(optarg);
            break;
        case 's':
            first = atoll(optarg);
            break;
        case 'a':
            ackpath = optarg;
            break;
        case 'r':
            rate = atoll(optarg);
            break;
        case 'T':
            timeout_ms = atoi(optarg);
            break;
        default:
            die("bad arguments");
        }
    }
    if (!brokers || !topic || n < 0)
        die("need -b -t -n");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    if (ackpath && !(ackf = fopen(ackpath, "a")))
        die("cannot open ackfile");
    rd_kafka_t *rk = new_producer();
    char val[64 + MAXVAL];
    double t0 = now_s();
    long long sent = 0;
    for (long long i = 0; i < n; i++) {
        if (produce_one(rk, first + i, val) != 0)
            break;
        sent++;
        rd_kafka_poll(rk, 0);
        if (rate > 0 && i % 50 == 49) {
            double d = t0 + (double)(i + 1) / (double)rate - now_s();
            if (d > 0)
                usleep((useconds_t)(d * 1e6));
        }
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, timeout_ms + 10000);
    int outq = rd_kafka_outq_len(rk);
    for (int i = 0; i < 3; i++)
        rd_kafka_poll(rk, 100);
    char fatal[512] = "";
    rd_kafka_resp_err_t fatal_err = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    long long pid = stat_field("producer_id"), epoch = stat_field("producer_epoch");
    rd_kafka_destroy(rk);
    if (ackf)
        fclose(ackf);
    printf("idempotent produced topic=%s sent=%lld acked=%lld failed=%lld outq=%d "
           "producer_id=%lld epoch=%lld errors=%lld fatal=%s\n",
           topic, sent, dr_ok, dr_fail, outq, pid, epoch, errors,
           fatal_err ? rd_kafka_err2name(fatal_err) : "none");
    if (fatal_err)
        fprintf(stderr, "fatal: %s\n", fatal);
    return (sent == n && dr_ok == n && dr_fail == 0 && !fe && !outq && !fatal_err) ? 0 : 1;
}
