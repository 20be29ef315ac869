/*
 * perf/drivers/rb-perf-produce.c - producer load generator on librdkafka.
 *
 * N producer threads, each with its own rd_kafka_t (its own connections),
 * send records of a fixed size at the maximum rate or at a fixed total rate,
 * for a duration or a record count. Throughput counts ACKNOWLEDGED records
 * (delivery reports without error), so the figure includes the broker's
 * durability work for the chosen acks. Ack latency (send call -> delivery
 * report) goes into a log-linear histogram.
 *
 * Output: one line per second on stdout
 *   produce sec=N rec_s=.. mb_s=.. acked=.. errors=.. p50_ms=.. p99_ms=..
 * and a final "SUMMARY {json}". MB means MiB (as Kafka's tools print it).
 * With -M each SIGUSR1 starts a new phase (after the warm-up, which is phase
 * 0's start): ack latencies are also kept per phase of their SEND time, the
 * per-second line says phase=N and the summary lists each phase's percentiles
 * (perf/run's produce-catchup scenario marks "before / during / after" a
 * consumer's catch-up read this way).
 * Payloads are random upper-case letters (as Kafka's ProducerPerformance
 * makes them) so compression has something realistic to chew on.
 */
#include "perf/lib/perf_common.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts {
    struct perf_opts c; /* the options every driver takes */
    const char *keys;
    int producers, key_space, idempotence, create_only, marks;
    long batch_size;
    uint64_t count;
};

struct prod {
    pthread_t th;
    int id;
    rd_kafka_t *rk;
    pthread_mutex_t mu; /* guards win (read by the reporter) */
    struct hist win, total;
    struct hist *phase; /* -M: PHASES histograms, by the send time's phase */
    uint64_t sent;
};

static struct opts o = {
    .c = {.brokers = "127.0.0.1:9092",
          .topic = "rb-perf",
          .acks = "all",
          .compression = "none",
          .partitions = 1,
          .linger_ms = -1,
          .record_size = 1024,
          .duration = 15},
    .keys = "none",
    .producers = 1,
    .batch_size = -1,
};
static _Atomic uint64_t g_acked, g_acked_bytes, g_errors, g_sent;
static _Atomic int g_done;
static char *g_payload;
static uint64_t g_t0;

/* -M phase marks: g_phase_t[i] = start of phase i (now_ns); phase 0 starts at
 * the end of the warm-up, each SIGUSR1 starts the next (the handler only reads
 * the clock and stores: async-signal-safe). */
#define PHASES 8
static _Atomic uint64_t g_phase_t[PHASES];
static _Atomic int g_nphase;

static void on_mark(int sig)
{
    (void)sig;
    int n = atomic_load(&g_nphase);
    if (n > 0 && n < PHASES) {
        atomic_store(&g_phase_t[n], now_ns());
        atomic_store(&g_nphase, n + 1);
    }
}

/* The phase a record sent at t belongs to, -1 = none (warm-up, or no -M). */
static int phase_of(uint64_t t)
{
    for (int i = atomic_load(&g_nphase) - 1; i >= 0; i--)
        if (t >= atomic_load(&g_phase_t[i]))
            return i;
    return -1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rb-perf-produce [options]\n"
            "  -b HOST:PORT   bootstrap servers (127.0.0.1:9092)\n"
            "  -t TOPIC       topic (rb-perf); created if missing\n"
            "  -P N           partitions when creating (1)\n"
            "  -T k=v,...     topic configs when creating\n"
            "  -s BYTES       record size (1024; k/m suffixes)\n"
            "  -r REC_S       total rate in records/s, 0 = max (0)\n"
            "  -d SEC  duration (15; none with -n alone)  -n N  record count; both: first wins\n"
            "  -a ACKS        0, 1, all (all)   -z CODEC  none|gzip|snappy|lz4|zstd\n"
            "  -i             idempotent producer\n"
            "  -l MS          linger.ms         -S BYTES batch.size\n"
            "  -k KEYS        none (sticky), rr (partition round-robin), random:N\n"
            "  -p N           producer threads, each its own client (1)\n"
            "  -c N           extra idle connections held during the run (0)\n"
            "  -X k=v         any librdkafka property (repeatable)\n"
            "  -w SEC         warm-up: the summary counts from then on (0)\n"
            "  -C             only create the topic (and wait for leaders), then exit\n"
            "  -M             phase marks: each SIGUSR1 starts a new phase (at most %d);\n"
            "                 ack latency percentiles per phase of the send time\n",
            PHASES);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    int c, d_set = 0;
    while ((c = getopt(argc, argv, PERF_OPTS_GETOPT "n:iS:k:p:CMh")) != -1) {
        d_set |= c == 'd';
        if (perf_opts_apply(&o.c, c, optarg))
            continue;
        switch (c) {
        case 'n':
            o.count = parse_size("-n", optarg);
            break;
        case 'i':
            o.idempotence = 1;
            break;
        case 'S':
            o.batch_size = (long)parse_size("-S", optarg);
            break;
        case 'k':
            o.keys = optarg;
            break;
        case 'p':
            o.producers = atoi(optarg);
            break;
        case 'C':
            o.create_only = 1;
            break;
        case 'M':
            o.marks = 1;
            break;
        default:
            usage();
        }
    }
    if (o.count && !d_set)
        o.c.duration = 1e9; /* -n alone: no time bound */
    if (o.c.partitions < 1 || o.producers < 1 || o.c.record_size < 1)
        usage();
    if (!strncmp(o.keys, "random:", 7))
        o.key_space = atoi(o.keys + 7);
    else if (strcmp(o.keys, "none") && strcmp(o.keys, "rr"))
        usage();
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct prod *p = opaque;
    if (m->err) {
        if (atomic_fetch_add(&g_errors, 1) < 5)
            fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    uint64_t sent = (uint64_t)(uintptr_t)m->_private, lat = now_ns() - sent;
    int ph = p->phase ? phase_of(sent) : -1;
    atomic_fetch_add(&g_acked, 1);
    atomic_fetch_add(&g_acked_bytes, m->len + m->key_len);
    pthread_mutex_lock(&p->mu);
    hist_record(&p->win, lat);
    hist_record(&p->total, lat);
    if (ph >= 0)
        hist_record(&p->phase[ph], lat);
    pthread_mutex_unlock(&p->mu);
}

static rd_kafka_t *make_producer(struct prod *p)
{
    char buf[64], err[512];
    rd_kafka_conf_t *c = make_conf(o.c.brokers, NULL);
    conf_set(c, "acks", o.c.acks);
    conf_set(c, "compression.codec", o.c.compression);
    conf_set(c, "enable.idempotence", o.idempotence ? "true" : "false");
    if (o.c.linger_ms >= 0) {
        snprintf(buf, sizeof(buf), "%ld", o.c.linger_ms);
        conf_set(c, "linger.ms", buf);
    }
    if (o.batch_size > 0) {
        snprintf(buf, sizeof(buf), "%ld", o.batch_size);
        conf_set(c, "batch.size", buf);
    }
    for (int i = 0; i < o.c.extra.n; i++)
        conf_set(c, o.c.extra.k[i], o.c.extra.v[i]);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, p);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    return rk;
}

static void send_one(struct prod *p, uint64_t seq, unsigned *rnd)
{
    char key[32];
    int32_t part = RD_KAFKA_PARTITION_UA;
    size_t klen = 0;
    if (o.key_space > 0)
        klen = (size_t)snprintf(key, sizeof(key), "k%d", (int)(rand_r(rnd) % o.key_space));
    else if (o.keys[0] == 'r')
        part =
            (int32_t)((seq * (uint64_t)o.producers + (uint64_t)p->id) % (uint64_t)o.c.partitions);
    for (;;) {
        /* The payload buffer is shared and never changes: no copy needed. */
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(o.c.topic), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_VALUE(g_payload, o.c.record_size), RD_KAFKA_V_KEY(klen ? key : NULL, klen),
            RD_KAFKA_V_MSGFLAGS(klen ? RD_KAFKA_MSG_F_COPY : 0),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now_ns()), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            die("produce: %s", rd_kafka_err2str(e));
        rd_kafka_poll(p->rk, 1);
        if (g_stop)
            return;
    }
    p->sent++;
    atomic_fetch_add(&g_sent, 1);
}

static void *producer_main(void *arg)
{
    struct prod *p = arg;
    unsigned rnd = (unsigned)p->id * 7919u + 1;
    double rate = o.c.rate / o.producers;
    uint64_t quota =
        o.count ? (o.count + (uint64_t)o.producers - 1 - (uint64_t)p->id) / (uint64_t)o.producers
                : UINT64_MAX;
    uint64_t end = g_t0 + (uint64_t)(o.c.duration * 1e9);
    for (uint64_t i = 0; i < quota && !g_stop; i++) {
        if ((i & 63) == 0) {
            rd_kafka_poll(p->rk, 0);
            if (now_ns() >= end)
                break;
        }
        if (rate > 0) {
            uint64_t due = g_t0 + (uint64_t)((double)i * 1e9 / rate);
            uint64_t now = now_ns();
            if (due >= end)
                break;
            while (now < due && !g_stop) {
                rd_kafka_poll(p->rk, 0);
                uint64_t step = due - now > 1000000 ? now + 1000000 : due;
                sleep_until_ns(step);
                now = now_ns();
            }
        }
        send_one(p, i, &rnd);
    }
    rd_kafka_flush(p->rk, 60000);
    atomic_fetch_add(&g_done, 1);
    return NULL;
}

static void report_second(struct prod *ps, int sec, uint64_t *last_acked, uint64_t *last_bytes,
                          double dt)
{
    struct hist w;
    hist_reset(&w);
    for (int i = 0; i < o.producers; i++) {
        pthread_mutex_lock(&ps[i].mu);
        hist_merge(&w, &ps[i].win);
        hist_reset(&ps[i].win);
        pthread_mutex_unlock(&ps[i].mu);
    }
    uint64_t a = atomic_load(&g_acked), b = atomic_load(&g_acked_bytes);
    char ph[24] = "";
    if (o.marks)
        snprintf(ph, sizeof(ph), " phase=%d", phase_of(now_ns()));
    printf("produce sec=%d rec_s=%.0f mb_s=%.2f acked=%llu errors=%llu p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f%s\n",
           sec, (double)(a - *last_acked) / dt, (double)(b - *last_bytes) / dt / 1048576.0,
           (unsigned long long)a, (unsigned long long)atomic_load(&g_errors),
           (double)hist_percentile(&w, 50) / 1e6, (double)hist_percentile(&w, 99) / 1e6,
           (double)w.max / 1e6, ph);
    fflush(stdout);
    *last_acked = a;
    *last_bytes = b;
}

/* -M: ',"phases":[{"start_s":..,"end_s":..,<hist_json>},...]' (seconds since
 * the start of sending; the last phase ends now), or "" without -M. */
static void phases_json(struct prod *ps, char *buf, size_t len)
{
    static struct hist h;
    size_t n = 0;
    buf[0] = 0;
    if (!o.marks)
        return;
    int np = atomic_load(&g_nphase);
    uint64_t end = now_ns();
    n += (size_t)snprintf(buf + n, len - n, ",\"phases\":[");
    for (int k = 0; k < np && n < len; k++) {
        hist_reset(&h);
        for (int i = 0; i < o.producers; i++) {
            pthread_mutex_lock(&ps[i].mu);
            hist_merge(&h, &ps[i].phase[k]);
            pthread_mutex_unlock(&ps[i].mu);
        }
        uint64_t t0 = atomic_load(&g_phase_t[k]);
        uint64_t t1 = k + 1 < np ? atomic_load(&g_phase_t[k + 1]) : end;
        n += (size_t)snprintf(buf + n, len - n, "%s{\"start_s\":%.3f,\"end_s\":%.3f,", k ? "," : "",
                              (double)(t0 - g_t0) / 1e9, (double)(t1 - g_t0) / 1e9);
        if (n < len)
            n += (size_t)hist_json(&h, buf + n, len - n);
        if (n < len)
            n += (size_t)snprintf(buf + n, len - n, "}");
    }
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static void print_summary(struct prod *ps, double secs, int idle_ok, uint64_t base_recs,
                          uint64_t base_bytes)
{
    static struct hist all;
    char lat[512], phases[PHASES * 320];
    hist_reset(&all);
    for (int i = 0; i < o.producers; i++)
        hist_merge(&all, &ps[i].total);
    hist_json(&all, lat, sizeof(lat));
    phases_json(ps, phases, sizeof(phases));
    uint64_t a = atomic_load(&g_acked) - base_recs, b = atomic_load(&g_acked_bytes) - base_bytes;
    printf("SUMMARY {\"tool\":\"rb-perf-produce\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"record_size\":%llu,\"acks\":\"%s\",\"compression\":\"%s\",\"idempotence\":%s,"
           "\"producers\":%d,\"keys\":\"%s\",\"target_rate\":%.0f,\"warmup_s\":%.1f,\"idle_"
           "connections\":%d,"
           "\"sent\":%llu,\"records\":%llu,\"bytes\":%llu,\"errors\":%llu,\"seconds\":%.3f,"
           "\"rec_per_s\":%.1f,\"mb_per_s\":%.3f,\"ack_latency\":{%s}%s}\n",
           o.c.topic, o.c.partitions, (unsigned long long)o.c.record_size, o.c.acks,
           o.c.compression, o.idempotence ? "true" : "false", o.producers, o.keys, o.c.rate,
           o.c.warmup, idle_ok, (unsigned long long)atomic_load(&g_sent), (unsigned long long)a,
           (unsigned long long)b, (unsigned long long)atomic_load(&g_errors), secs,
           (double)a / secs, (double)b / secs / 1048576.0, lat, phases);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    install_stop_signals();
    if (o.marks) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_mark;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
    }
    if (ensure_topic(o.c.brokers, &o.c.extra, o.c.topic, o.c.partitions, o.c.topic_config, 30000))
        die("topic %s not usable", o.c.topic);
    if (o.create_only)
        return 0;
    int idle_ok = o.c.idle_conns ? idle_conns_open(o.c.brokers, o.c.idle_conns) : 0;
    if (o.c.idle_conns)
        fprintf(stderr, "idle connections: %d of %d answered ApiVersions\n", idle_ok,
                o.c.idle_conns);
    g_payload = malloc(o.c.record_size);
    unsigned seed = 42;
    for (uint64_t i = 0; i < o.c.record_size; i++)
        g_payload[i] = (char)('A' + rand_r(&seed) % 26);

    struct prod *ps = calloc((size_t)o.producers, sizeof(*ps));
    for (int i = 0; i < o.producers; i++) {
        ps[i].id = i;
        pthread_mutex_init(&ps[i].mu, NULL);
        hist_reset(&ps[i].win);
        hist_reset(&ps[i].total);
        if (o.marks) {
            ps[i].phase = calloc(PHASES, sizeof(struct hist));
            if (!ps[i].phase)
                die("out of memory");
            for (int k = 0; k < PHASES; k++)
                hist_reset(&ps[i].phase[k]);
        }
        ps[i].rk = make_producer(&ps[i]);
    }
    g_t0 = now_ns();
    if (o.marks) {
        atomic_store(&g_phase_t[0], g_t0 + (uint64_t)(o.c.warmup * 1e9));
        atomic_store(&g_nphase, 1);
    }
    for (int i = 0; i < o.producers; i++)
        pthread_create(&ps[i].th, NULL, producer_main, &ps[i]);

    uint64_t la = 0, lb = 0, last = g_t0;
    uint64_t base_t = g_t0, base_recs = 0, base_bytes = 0;
    int sec = 0, warm = o.c.warmup <= 0;
    while (atomic_load(&g_done) < o.producers) {
        uint64_t next = last + 1000000000ull;
        while (now_ns() < next && atomic_load(&g_done) < o.producers)
            sleep_until_ns(now_ns() + 10000000ull);
        uint64_t now = now_ns();
        if (now >= next)
            report_second(ps, ++sec, &la, &lb, (double)(now - last) / 1e9);
        if (!warm && now >= g_t0 + (uint64_t)(o.c.warmup * 1e9)) {
            /* Warm-up over: the summary counts from here (JIT, page cache). */
            warm = 1;
            base_t = now, base_recs = la, base_bytes = lb;
            for (int i = 0; i < o.producers; i++) {
                pthread_mutex_lock(&ps[i].mu);
                hist_reset(&ps[i].total);
                pthread_mutex_unlock(&ps[i].mu);
            }
        }
        last = now >= next ? now : last;
    }
    for (int i = 0; i < o.producers; i++)
        pthread_join(ps[i].th, NULL);
    /* Includes the final flush: every counted record was acknowledged. */
    double secs = (double)(now_ns() - base_t) / 1e9;
    print_summary(ps, secs, idle_ok, base_recs, base_bytes);
    for (int i = 0; i < o.producers; i++) {
        rd_kafka_destroy(ps[i].rk);
        free(ps[i].phase);
    }
    idle_conns_close();
    return atomic_load(&g_errors) ? 1 : 0;
}
