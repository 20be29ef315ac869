/*
 * perf/drivers/rb-perf-consume.c - consumer throughput on librdkafka.
 *
 * Assigns every partition of a topic directly (no group rebalance, no
 * commits) and reads:
 *   catchup: from the beginning until every partition reached its end
 *            (or -n records / -d seconds), i.e. reading a backlog;
 *   tail:    from the end for -d seconds, i.e. keeping up with producers.
 * Output: "consume sec=N rec_s=.. mb_s=.. records=.." each second and a
 * final "SUMMARY {json}"; MB means MiB. The measured time runs from the
 * first record received to the last, so connection setup and the final
 * end-of-partition wait are not counted.
 */
#include "perf/lib/perf_common.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *g_brokers = "127.0.0.1:9092", *g_topic = "rb-perf", *g_mode = "catchup";
static double g_duration = 15;
static uint64_t g_count;
static int g_idle_conns;
static struct kv_list g_extra;

static void usage(void)
{
    fprintf(stderr, "usage: rb-perf-consume [-b HOST:PORT] [-t TOPIC] [-m catchup|tail]\n"
                    "         [-d SEC (15)] [-n RECORDS] [-c IDLE_CONNS] [-X k=v]...\n");
    exit(2);
}

static int partition_count(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, g_topic, NULL);
    int n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
        if (md->topic_cnt == 1 && md->topics[0].err == 0)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static rd_kafka_t *make_consumer(void)
{
    char err[512], gid[64];
    rd_kafka_conf_t *c = make_conf(g_brokers, &g_extra);
    snprintf(gid, sizeof(gid), "rb-perf-%d", (int)getpid());
    conf_set(c, "group.id", gid);
    conf_set(c, "enable.auto.commit", "false");
    conf_set(c, "enable.partition.eof", "true");
    conf_set(c, "auto.offset.reset", "earliest");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "b:t:m:d:n:c:X:h")) != -1) {
        switch (c) {
        case 'b':
            g_brokers = optarg;
            break;
        case 't':
            g_topic = optarg;
            break;
        case 'm':
            g_mode = optarg;
            break;
        case 'd':
            g_duration = parse_double("-d", optarg);
            break;
        case 'n':
            g_count = parse_size("-n", optarg);
            break;
        case 'c':
            g_idle_conns = atoi(optarg);
            break;
        case 'X':
            kv_add(&g_extra, optarg);
            break;
        default:
            usage();
        }
    }
    int tail = !strcmp(g_mode, "tail");
    if (!tail && strcmp(g_mode, "catchup"))
        usage();
    install_stop_signals();
    int idle_ok = g_idle_conns ? idle_conns_open(g_brokers, g_idle_conns) : 0;
    rd_kafka_t *rk = make_consumer();
    int np = partition_count(rk);
    if (np <= 0)
        die("topic %s not found", g_topic);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(tp, g_topic, i)->offset =
            tail ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, tp))
        die("assign failed");
    rd_kafka_topic_partition_list_destroy(tp);

    uint64_t recs = 0, bytes = 0, lrecs = 0, lbytes = 0, first = 0, lastmsg = 0, errors = 0;
    uint64_t t0 = now_ns(), tick = t0 + 1000000000ull;
    uint64_t end = t0 + (uint64_t)(g_duration * 1e9);
    int eofs = 0, sec = 0;
    char *eof_seen = calloc((size_t)np, 1);
    while (!g_stop && now_ns() < end && (!g_count || recs < g_count) && (tail || eofs < np)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        uint64_t now = now_ns();
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (!tail && m->partition < np && !eof_seen[m->partition]) {
                    eof_seen[m->partition] = 1;
                    eofs++;
                }
            } else if (m->err) {
                if (errors++ < 5)
                    fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            } else {
                if (!first)
                    first = now;
                lastmsg = now;
                recs++;
                bytes += m->len + m->key_len;
            }
            rd_kafka_message_destroy(m);
        }
        if (now >= tick) {
            double dt = (double)(now - tick + 1000000000ull) / 1e9;
            printf("consume sec=%d rec_s=%.0f mb_s=%.2f records=%llu\n", ++sec,
                   (double)(recs - lrecs) / dt, (double)(bytes - lbytes) / dt / 1048576.0,
                   (unsigned long long)recs);
            fflush(stdout);
            lrecs = recs, lbytes = bytes, tick = now + 1000000000ull;
        }
    }
    double secs = first && lastmsg > first ? (double)(lastmsg - first) / 1e9 : 1e-9;
    printf("SUMMARY {\"tool\":\"rb-perf-consume\",\"topic\":\"%s\",\"mode\":\"%s\","
           "\"partitions\":%d,\"idle_connections\":%d,\"records\":%llu,\"bytes\":%llu,"
           "\"errors\":%llu,\"seconds\":%.3f,\"rec_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"reached_end\":%s}\n",
           g_topic, g_mode, np, idle_ok, (unsigned long long)recs, (unsigned long long)bytes,
           (unsigned long long)errors, secs, (double)recs / secs, (double)bytes / secs / 1048576.0,
           (!tail && eofs == np) ? "true" : "false");
    fflush(stdout);
    free(eof_seen);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    idle_conns_close();
    return errors ? 1 : 0;
}
