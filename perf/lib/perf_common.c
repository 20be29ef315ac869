/*
 * perf/lib/perf_common.c - histogram, clocks, option and librdkafka helpers
 * shared by the perf drivers. See perf_common.h for conventions.
 *
 * Fault model: the drivers are measurement tools; a setup error (bad
 * option, broker unreachable, topic creation failure) exits with a message
 * rather than producing numbers that would be misread.
 */
#include "perf_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile int g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

void install_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---- histogram ---------------------------------------------------------- */

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

size_t hist_index(uint64_t v)
{
    if (v < (2u << HIST_SUB_BITS))
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - HIST_SUB_BITS;
    uint64_t sub = v >> shift; /* in [2^S, 2^(S+1)) */
    return ((size_t)shift << HIST_SUB_BITS) + (size_t)sub;
}

uint64_t hist_bucket_high(size_t idx)
{
    if (idx < (2u << HIST_SUB_BITS))
        return idx;
    size_t shift = (idx >> HIST_SUB_BITS) - 1;
    uint64_t sub = idx - (shift << HIST_SUB_BITS);
    return ((sub + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->count && src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (want == 0)
        want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = hist_bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

int hist_json(const struct hist *h, char *buf, size_t len)
{
    double us = 1000.0;
    return snprintf(buf, len,
                    "\"count\":%llu,\"mean_us\":%.1f,\"min_us\":%.1f,\"p50_us\":%.1f,"
                    "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"p9999_us\":%.1f,"
                    "\"max_us\":%.1f",
                    (unsigned long long)h->count, h->count ? h->sum / (double)h->count / us : 0.0,
                    h->count ? (double)h->min / us : 0.0, (double)hist_percentile(h, 50) / us,
                    (double)hist_percentile(h, 90) / us, (double)hist_percentile(h, 99) / us,
                    (double)hist_percentile(h, 99.9) / us, (double)hist_percentile(h, 99.99) / us,
                    (double)h->max / us);
}

/* ---- clocks and parsing ------------------------------------------------- */

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
                          .tv_nsec = (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !g_stop)
        ;
}

uint64_t parse_size(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        die("%s: bad number '%s'", opt, s);
    switch (*end) {
    case 'k':
    case 'K':
        v *= 1024;
        end++;
        break;
    case 'm':
    case 'M':
        v *= 1024 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        v *= 1024.0 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (*end)
        die("%s: bad size '%s'", opt, s);
    return (uint64_t)v;
}

double parse_double(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        die("%s: bad number '%s'", opt, s);
    return v;
}

void kv_add(struct kv_list *l, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        die("-X expects key=value, got '%s'", kv);
    if (l->n >= 64)
        die("too many -X options");
    l->k[l->n] = strndup(kv, (size_t)(eq - kv));
    l->v[l->n] = strdup(eq + 1);
    l->n++;
}

void conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", k, v, err);
}

rd_kafka_conf_t *make_conf(const char *brokers, const struct kv_list *extra)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    conf_set(c, "bootstrap.servers", brokers);
    conf_set(c, "client.id", "rb-perf");
    if (extra)
        for (int i = 0; i < extra->n; i++)
            conf_set(c, extra->k[i], extra->v[i]);
    return c;
}

/* ---- topics ------------------------------------------------------------- */

static int topic_ready(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ok = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt >= partitions) {
            ok = 1;
            /* Ready = every partition has a leader and a full ISR (a
             * replicated topic is measured only once every replica has
             * caught up). */
            for (int i = 0; i < md->topics[0].partition_cnt; i++) {
                const rd_kafka_metadata_partition_t *mp = &md->topics[0].partitions[i];
                if (mp->leader < 0 || mp->err || mp->isr_cnt < mp->replica_cnt)
                    ok = 0;
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return ok;
}

/* The topic's partition count from Metadata, -1 when it does not exist (yet). */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == 0)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, const char *configs,
                        int timeout_ms)
{
    char err[512];
    /* RB_PERF_REPLICATION: replication factor of created topics (perf/run
     * sets 3 for the 3-node Kafka cluster); 1 otherwise. */
    const char *rfs = getenv("RB_PERF_REPLICATION");
    int rf = rfs && atoi(rfs) > 0 ? atoi(rfs) : 1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, err, sizeof(err));
    if (!nt)
        die("NewTopic: %s", err);
    char *cfg = configs ? strdup(configs) : NULL, *save = NULL;
    for (char *tok = cfg ? strtok_r(cfg, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            die("topic config '%s' is not key=value", tok);
        *eq = 0;
        rd_kafka_NewTopic_set_config(nt, tok, eq + 1);
    }
    free(cfg);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
    int rc = -1;
    if (ev) {
        size_t n = 0;
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        else if (n == 1 &&
                 (rd_kafka_topic_result_error(tr[0]) == 0 ||
                  rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "CreateTopics %s: %s\n", topic,
                    rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
    } else {
        fprintf(stderr, "CreateTopics %s: no answer within %d ms\n", topic, timeout_ms);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/* Grows a topic to `total` partitions with CreatePartitions. */
static int grow_topic(rd_kafka_t *rk, const char *topic, int total, int timeout_ms)
{
    char err[512];
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(topic, (size_t)total, err, sizeof(err));
    if (!np)
        die("NewPartitions: %s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms);
    int rc = -1;
    if (ev) {
        size_t n = 0;
        const rd_kafka_CreatePartitions_result_t *res = rd_kafka_event_CreatePartitions_result(ev);
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreatePartitions_result_topics(res, &n) : NULL;
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "CreatePartitions: %s\n", rd_kafka_event_error_string(ev));
        else if (n == 1 && rd_kafka_topic_result_error(tr[0]) == 0)
            rc = 0;
        else if (n == 1)
            fprintf(stderr, "CreatePartitions %s: %s\n", topic,
                    rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
    } else {
        fprintf(stderr, "CreatePartitions %s: no answer within %d ms\n", topic, timeout_ms);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewPartitions_destroy(np);
    return rc;
}

/* Kafka's controller refuses one operation of more than 10,000 records
 * ("excessively large batch"): a very large topic is created with
 * PART_STEP partitions and grown by PART_STEP at a time. */
#define PART_STEP 5000

static int create_big_topic(rd_kafka_t *rk, const char *topic, int partitions, const char *configs,
                            int timeout_ms)
{
    if (create_topic(rk, topic, partitions, configs, timeout_ms) == 0)
        return 0;
    /* A create that timed out on our side may still have been carried out. */
    if (topic_partitions(rk, topic) >= partitions)
        return 0;
    if (partitions <= PART_STEP)
        return -1;
    fprintf(stderr, "creating %s in steps of %d partitions\n", topic, PART_STEP);
    if (create_topic(rk, topic, PART_STEP, configs, timeout_ms))
        return -1;
    for (int n = 2 * PART_STEP; n < partitions + PART_STEP; n += PART_STEP) {
        int want = n < partitions ? n : partitions;
        if (topic_partitions(rk, topic) >= want)
            continue; /* already there (an earlier, slow create finished) */
        if (grow_topic(rk, topic, want, timeout_ms))
            return -1;
    }
    return 0;
}

int ensure_topic(const char *brokers, const struct kv_list *extra, const char *topic,
                 int partitions, const char *configs, int timeout_ms)
{
    char err[512];
    rd_kafka_conf_t *c = make_conf(brokers, extra);
    conf_set(c, "allow.auto.create.topics", "false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    int rc = 0;
    /* RB_PERF_CREATE_TIMEOUT_MS: longer bound for many-partition topics. */
    const char *tos = getenv("RB_PERF_CREATE_TIMEOUT_MS");
    if (tos && atoi(tos) > timeout_ms)
        timeout_ms = atoi(tos);
    if (!topic_ready(rk, topic, partitions, 2000))
        rc = create_big_topic(rk, topic, partitions, configs, timeout_ms);
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (rc == 0 && !topic_ready(rk, topic, partitions, 2000)) {
        if (now_ns() > deadline || g_stop) {
            fprintf(stderr, "topic %s: partitions have no leader or a short ISR after %d ms\n",
                    topic, timeout_ms);
            rc = -1;
            break;
        }
        usleep(100 * 1000);
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- idle connections --------------------------------------------------- */

static int *g_idle_fds;
static int g_idle_n;

static int connect_first_broker(const char *brokers)
{
    char host[256];
    const char *comma = strchr(brokers, ',');
    size_t len = comma ? (size_t)(comma - brokers) : strlen(brokers);
    if (len >= sizeof(host))
        return -1;
    memcpy(host, brokers, len);
    host[len] = 0;
    char *colon = strrchr(host, ':');
    if (!colon)
        return -1;
    *colon = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* ApiVersions v0: size, api_key 18, version 0, correlation id, client id. */
static int api_versions_roundtrip(int fd, int32_t corr)
{
    static const char cid[] = "rb-perf-idle";
    unsigned char req[64];
    size_t n = 4;
    req[n++] = 0, req[n++] = 18, req[n++] = 0, req[n++] = 0;
    uint32_t c = htonl((uint32_t)corr);
    memcpy(req + n, &c, 4), n += 4;
    req[n++] = 0, req[n++] = (unsigned char)(sizeof(cid) - 1);
    memcpy(req + n, cid, sizeof(cid) - 1), n += sizeof(cid) - 1;
    uint32_t sz = htonl((uint32_t)(n - 4));
    memcpy(req, &sz, 4);
    if (write(fd, req, n) != (ssize_t)n)
        return -1;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint32_t rsz;
    if (recv(fd, &rsz, 4, MSG_WAITALL) != 4)
        return -1;
    rsz = ntohl(rsz);
    if (rsz < 4 || rsz > (1u << 20))
        return -1;
    char *buf = malloc(rsz);
    ssize_t got = recv(fd, buf, rsz, MSG_WAITALL);
    free(buf);
    return got == (ssize_t)rsz ? 0 : -1;
}

int idle_conns_open(const char *brokers, int n)
{
    g_idle_fds = calloc((size_t)n, sizeof(int));
    int ok = 0;
    for (int i = 0; i < n && !g_stop; i++) {
        int fd = connect_first_broker(brokers);
        if (fd < 0) {
            fprintf(stderr, "idle connection %d: connect failed: %s\n", i, strerror(errno));
            break;
        }
        g_idle_fds[g_idle_n++] = fd;
        if (api_versions_roundtrip(fd, i + 1) == 0)
            ok++;
    }
    return ok;
}

void idle_conns_close(void)
{
    for (int i = 0; i < g_idle_n; i++)
        close(g_idle_fds[i]);
    free(g_idle_fds);
    g_idle_fds = NULL;
    g_idle_n = 0;
}

bool perf_opts_apply(struct perf_opts *po, int c, const char *arg)
{
    const char name[3] = {'-', (char)c, 0};
    const char **str = c == 'b'   ? &po->brokers
                       : c == 't' ? &po->topic
                       : c == 'T' ? &po->topic_config
                       : c == 'a' ? &po->acks
                       : c == 'z' ? &po->compression
                                  : NULL;
    int *num = c == 'P' ? &po->partitions : c == 'c' ? &po->idle_conns : NULL;
    double *secs = c == 'r' ? &po->rate : c == 'd' ? &po->duration : c == 'w' ? &po->warmup : NULL;
    if (str)
        *str = arg;
    else if (num)
        *num = atoi(arg);
    else if (secs)
        *secs = parse_double(name, arg);
    else if (c == 's')
        po->record_size = parse_size(name, arg);
    else if (c == 'l')
        po->linger_ms = atol(arg);
    else if (c == 'X')
        kv_add(&po->extra, arg);
    else
        return false;
    return true;
}
