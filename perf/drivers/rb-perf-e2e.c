/*
 * perf/drivers/rb-perf-e2e.c - end-to-end latency: producer -> broker ->
 * consumer, in one process so both ends read the same monotonic clock.
 *
 * The producer sends at a fixed rate; each payload starts with a magic, a
 * sequence number and the send time (CLOCK_MONOTONIC ns). A consumer thread,
 * assigned to every partition at the log end before the first send, records
 * (receive time - send time) in a log-linear histogram. Records received
 * during the warm-up (-w seconds) are not counted. The producer's linger
 * defaults to 0 so the figure is the broker's, not the client's batching.
 *
 * Output: "e2e sec=N rec_s=.. p50_ms=.. p99_ms=.. max_ms=.." each second and
 * a final "SUMMARY {json}" with p50/p90/p99/p99.9/p99.99/max (microseconds).
 */
#include "perf/lib/perf_common.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define E2E_MAGIC 0x52424532u /* "RBE2" */
#define HDR_LEN   20

static struct perf_opts o = {
    .brokers = "127.0.0.1:9092",
    .topic = "rb-perf-e2e",
    .acks = "all",
    .compression = "none",
    .partitions = 1,
    .linger_ms = 0,
    .record_size = 1024,
    .rate = 1000,
    .duration = 15,
    .warmup = 2,
};
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* guards the hists */
static struct hist g_win, g_total;
static _Atomic uint64_t g_received, g_sent, g_errors, g_measure_from;
static _Atomic int g_assigned;
static _Atomic uint64_t g_producer_done; /* ns when the producer finished */

static void usage(void)
{
    fprintf(stderr,
            "usage: rb-perf-e2e [options]\n"
            "  -b HOST:PORT  -t TOPIC (rb-perf-e2e)  -P PARTITIONS (1)  -T k=v,... topic configs\n"
            "  -s BYTES record size (1024, >= %d)  -r REC_S rate (1000)  -d SEC (15)\n"
            "  -w SEC warm-up not counted (2)  -a ACKS (all)  -z CODEC (none)\n"
            "  -l MS linger.ms (0)  -c N idle connections  -X k=v librdkafka property\n",
            HDR_LEN);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, PERF_OPTS_GETOPT "h")) != -1)
        if (!perf_opts_apply(&o, c, optarg))
            usage();
    if (o.record_size < HDR_LEN || o.rate <= 0 || o.partitions < 1)
        usage();
}

static void assign_at_end(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1)
        die("metadata for %s failed", o.topic);
    int np = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++) {
        /* Explicit high watermarks: every record sent afterwards is seen. */
        int64_t lo, hi;
        rd_kafka_resp_err_t e;
        uint64_t deadline = now_ns() + 20000000000ull;
        /* A fresh partition can refuse ListOffsets for a moment. */
        while ((e = rd_kafka_query_watermark_offsets(rk, o.topic, i, &lo, &hi, 5000)) &&
               now_ns() < deadline && !g_stop)
            usleep(200 * 1000);
        if (e)
            die("watermarks of %s/%d: %s", o.topic, i, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_add(tp, o.topic, i)->offset = hi;
    }
    if (rd_kafka_assign(rk, tp))
        die("assign failed");
    rd_kafka_topic_partition_list_destroy(tp);
}

static void handle_record(const rd_kafka_message_t *m, uint64_t now)
{
    uint32_t magic;
    uint64_t ts;
    if (m->len < HDR_LEN)
        return;
    memcpy(&magic, m->payload, 4);
    memcpy(&ts, (const char *)m->payload + 12, 8);
    if (magic != E2E_MAGIC || ts > now)
        return;
    atomic_fetch_add(&g_received, 1);
    if (ts < atomic_load(&g_measure_from))
        return;
    pthread_mutex_lock(&g_mu);
    hist_record(&g_win, now - ts);
    hist_record(&g_total, now - ts);
    pthread_mutex_unlock(&g_mu);
}

static void *consumer_main(void *arg)
{
    char err[512], gid[64];
    rd_kafka_conf_t *c = make_conf(o.brokers, &o.extra);
    snprintf(gid, sizeof(gid), "rb-perf-e2e-%d", (int)getpid());
    conf_set(c, "group.id", gid);
    conf_set(c, "enable.auto.commit", "false");
    conf_set(c, "fetch.wait.max.ms", "100");
    conf_set(c, "fetch.error.backoff.ms", "10");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    rd_kafka_poll_set_consumer(rk);
    assign_at_end(rk);
    atomic_store(&g_assigned, 1);
    while (!g_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 20);
        uint64_t now = now_ns(), done_at = atomic_load(&g_producer_done);
        if (m) {
            if (!m->err)
                handle_record(m, now);
            rd_kafka_message_destroy(m);
        }
        /* Drain what was sent, for at most 10 s after the producer ended. */
        if (done_at &&
            (atomic_load(&g_received) >= atomic_load(&g_sent) || now > done_at + 10000000000ull))
            break;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err && atomic_fetch_add(&g_errors, 1) < 5)
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
}

static rd_kafka_t *make_producer(void)
{
    char buf[32], err[512];
    rd_kafka_conf_t *c = make_conf(o.brokers, &o.extra);
    conf_set(c, "acks", o.acks);
    conf_set(c, "compression.codec", o.compression);
    snprintf(buf, sizeof(buf), "%ld", o.linger_ms);
    conf_set(c, "linger.ms", buf);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    return rk;
}

static void produce_loop(rd_kafka_t *rk, char *payload, uint64_t t0, uint64_t end)
{
    uint32_t magic = E2E_MAGIC;
    memcpy(payload, &magic, 4);
    for (uint64_t i = 0; !g_stop; i++) {
        uint64_t due = t0 + (uint64_t)((double)i * 1e9 / o.rate), now;
        if (due >= end)
            break;
        while ((now = now_ns()) < due && !g_stop) {
            rd_kafka_poll(rk, 0);
            sleep_until_ns(due - now > 1000000 ? now + 1000000 : due);
        }
        memcpy(payload + 4, &i, 8);
        uint64_t ts = now_ns();
        memcpy(payload + 12, &ts, 8);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic),
                                      RD_KAFKA_V_VALUE(payload, o.record_size),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL &&
               !g_stop)
            rd_kafka_poll(rk, 1);
        if (e)
            die("produce: %s", rd_kafka_err2str(e));
        atomic_fetch_add(&g_sent, 1);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 30000);
}

static void *reporter_main(void *arg)
{
    uint64_t last = now_ns(), lrecv = 0;
    int sec = 0;
    while (!g_stop && !atomic_load(&g_producer_done)) {
        sleep_until_ns(last + 1000000000ull);
        uint64_t now = now_ns(), r = atomic_load(&g_received);
        struct hist *w = malloc(sizeof(*w));
        pthread_mutex_lock(&g_mu);
        *w = g_win;
        hist_reset(&g_win);
        pthread_mutex_unlock(&g_mu);
        printf("e2e sec=%d rec_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n", ++sec,
               (double)(r - lrecv) / ((double)(now - last) / 1e9),
               (double)hist_percentile(w, 50) / 1e6, (double)hist_percentile(w, 99) / 1e6,
               (double)hist_percentile(w, 99.9) / 1e6, (double)w->max / 1e6);
        fflush(stdout);
        free(w);
        lrecv = r, last = now;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    install_stop_signals();
    hist_reset(&g_win);
    hist_reset(&g_total);
    if (ensure_topic(o.brokers, &o.extra, o.topic, o.partitions, o.topic_config, 30000))
        die("topic %s not usable", o.topic);
    int idle_ok = o.idle_conns ? idle_conns_open(o.brokers, o.idle_conns) : 0;
    pthread_t ct, rt;
    pthread_create(&ct, NULL, consumer_main, NULL);
    while (!atomic_load(&g_assigned) && !g_stop)
        usleep(10000);
    rd_kafka_t *rk = make_producer();
    char *payload = calloc(1, o.record_size);
    unsigned seed = 7;
    for (uint64_t i = HDR_LEN; i < o.record_size; i++)
        payload[i] = (char)('A' + rand_r(&seed) % 26);
    uint64_t t0 = now_ns();
    atomic_store(&g_measure_from, t0 + (uint64_t)(o.warmup * 1e9));
    pthread_create(&rt, NULL, reporter_main, NULL);
    produce_loop(rk, payload, t0, t0 + (uint64_t)((o.warmup + o.duration) * 1e9));
    atomic_store(&g_producer_done, now_ns());
    pthread_join(rt, NULL);
    pthread_join(ct, NULL);
    char lat[512];
    hist_json(&g_total, lat, sizeof(lat));
    printf("SUMMARY {\"tool\":\"rb-perf-e2e\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"record_size\":%llu,\"acks\":\"%s\",\"compression\":\"%s\",\"rate\":%.0f,"
           "\"idle_connections\":%d,\"sent\":%llu,\"received\":%llu,\"errors\":%llu,"
           "\"latency\":{%s}}\n",
           o.topic, o.partitions, (unsigned long long)o.record_size, o.acks, o.compression, o.rate,
           idle_ok, (unsigned long long)atomic_load(&g_sent),
           (unsigned long long)atomic_load(&g_received), (unsigned long long)atomic_load(&g_errors),
           lat);
    free(payload);
    rd_kafka_destroy(rk);
    idle_conns_close();
    if (atomic_load(&g_received) < atomic_load(&g_sent))
        fprintf(stderr, "e2e: %llu of %llu records not received within 10 s of the end\n",
                (unsigned long long)(atomic_load(&g_sent) - atomic_load(&g_received)),
                (unsigned long long)atomic_load(&g_sent));
    return atomic_load(&g_errors) ? 1 : 0;
}
