/*
 * tests/clients/rb_roundtrip.c - librdkafka producer and checking consumer
 * used by the integration tests (t_rdkafka_roundtrip.sh, t_restart.sh).
 *
 *   rb_roundtrip produce -b HOST:PORT -t TOPIC -n N [-s FIRST_SEQ] [-z CODEC]
 *                [-S MAXVAL] [-a ACKFILE] [-r MSGS_PER_SEC] [-F] [-T TIMEOUT_MS]
 *   rb_roundtrip consume -b HOST:PORT -t TOPIC [-n EXPECTED] [-a ACKFILE]...
 *                [-p PARTITIONS] [-w WAIT_SECS]
 *
 * Record i (seq) is fully determined by its seq: key "k<seq>", header
 * "seq"=<seq>, header "crc"=<value length>, value "v<seq>:" + a compressible
 * filler whose length depends on seq. The producer (acks=all, no idempotence)
 * checks every delivery report and appends "partition offset seq" per acked
 * record to ACKFILE. The consumer uses the legacy per-partition API (no consumer
 * group), reads every partition from the beginning up to the high watermark and
 * checks: content matches seq, offsets contiguous from the log start (no gap),
 * seq increasing within a partition (order), no seq twice (duplicates), total ==
 * EXPECTED, and every record in each ACKFILE is at its acknowledged
 * (partition, offset) (0 lost). It prints counts; exit 0 only when all hold.
 * Invariants/fault model: a test client; every wait is bounded, any broker
 * misbehaviour becomes a non-zero exit with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ACKFILES 8
#define MAX_PARTS    1024

struct opts {
    const char *mode;
    const char *brokers;
    const char *topic;
    const char *codec;
    const char *ackfiles[MAX_ACKFILES];
    int nackfiles;
    long long n;
    long long first;
    int maxval;
    long rate;
    bool allow_fail;
    int timeout_ms;
    int partitions;
    int wait_secs;
};

static struct opts o = {.codec = "none",
                        .n = -1,
                        .maxval = 200,
                        .timeout_ms = 30000,
                        .partitions = -1,
                        .wait_secs = 60};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "rb_roundtrip: %s\n", msg);
    exit(2);
}

/* Value for seq: "v<seq>:" + filler; returns its length. buf >= 64 + maxval. */
static size_t make_value(long long seq, char *buf)
{
    static const char pat[] = "ringbroker-roundtrip-payload-0123456789-";
    int n = snprintf(buf, 64, "v%lld:", seq);
    size_t fill = (size_t)((seq * 37) % o.maxval);
    for (size_t i = 0; i < fill; i++)
        buf[n + i] = pat[(i + (size_t)seq) % (sizeof(pat) - 1)];
    return (size_t)n + fill;
}

/* ---------------------------------------------------------------- produce */

static long long dr_ok, dr_fail;
static FILE *ackf;
static char last_stats[1 << 16];

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long long seq = (long long)(intptr_t)m->_private;
    if (m->err) {
        if (dr_fail < 5)
            fprintf(stderr, "delivery failed seq %lld: %s\n", seq, rd_kafka_err2str(m->err));
        dr_fail++;
        return;
    }
    if (m->offset < 0) {
        fprintf(stderr, "delivery ok but no offset for seq %lld\n", seq);
        dr_fail++;
        return;
    }
    dr_ok++;
    if (ackf)
        fprintf(ackf, "%d %" PRId64 " %lld\n", (int)m->partition, m->offset, seq);
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    size_t n = len < sizeof(last_stats) - 1 ? len : sizeof(last_stats) - 1;
    memcpy(last_stats, json, n);
    last_stats[n] = 0;
    return 0;
}

static long long stat_field(const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(last_stats, key);
    return p ? atoll(p + strlen(key)) : -1;
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
    conf_set(c, "bootstrap.servers", o.brokers);
    conf_set(c, "acks", "all");
    conf_set(c, "enable.idempotence", "false");
    conf_set(c, "compression.codec", o.codec);
    conf_set(c, "linger.ms", "5");
    conf_set(c, "statistics.interval.ms", "100");
    snprintf(tmo, sizeof(tmo), "%d", o.timeout_ms);
    conf_set(c, "message.timeout.ms", tmo);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
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
            rk, RD_KAFKA_V_TOPIC(o.topic), RD_KAFKA_V_KEY(key, (size_t)klen),
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

static int do_produce(void)
{
    if (o.n < 0)
        die("produce needs -n");
    if (o.nackfiles > 0 && !(ackf = fopen(o.ackfiles[0], "a")))
        die("cannot open ackfile");
    rd_kafka_t *rk = new_producer();
    char *val = malloc(64 + (size_t)o.maxval);
    double t0 = now_s();
    long long sent = 0;
    for (long long i = 0; i < o.n; i++) {
        if (produce_one(rk, o.first + i, val) != 0)
            break;
        sent++;
        rd_kafka_poll(rk, 0);
        if (o.rate > 0 && i % 50 == 49) {
            double due = t0 + (double)(i + 1) / (double)o.rate;
            double d = due - now_s();
            if (d > 0)
                usleep((useconds_t)(d * 1e6));
        }
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, o.timeout_ms + 10000);
    int outq = rd_kafka_outq_len(rk);
    /* one more statistics emission so tx_bytes covers everything sent */
    for (int i = 0; i < 4; i++)
        rd_kafka_poll(rk, 100);
    long long txb = stat_field("tx_bytes"), txmb = stat_field("txmsg_bytes");
    rd_kafka_destroy(rk);
    free(val);
    if (ackf)
        fclose(ackf);
    printf("produced topic=%s codec=%s sent=%lld acked=%lld failed=%lld outq=%d tx_bytes=%lld "
           "txmsg_bytes=%lld\n",
           o.topic, o.codec, sent, dr_ok, dr_fail, outq, txb, txmb);
    if (fe || outq)
        fprintf(stderr, "flush: %s, %d still queued\n", rd_kafka_err2str(fe), outq);
    if (o.allow_fail)
        return dr_ok > 0 ? 0 : 1;
    return (sent == o.n && dr_ok == o.n && dr_fail == 0 && !fe && !outq) ? 0 : 1;
}

/* ---------------------------------------------------------------- consume */

struct part {
    int64_t lo, hi, next; /* watermarks; next offset expected */
    long long *seqs;      /* seq at offset lo + i, -1 = not read */
    long long last_seq;
    bool done;
};

static struct part parts[MAX_PARTS];
static int nparts;
static unsigned char *seen;
static long long seen_cap;
static long long c_total, c_bad, c_gap, c_order, c_dup;

static void bad(const rd_kafka_message_t *m, const char *why)
{
    if (c_bad < 10)
        fprintf(stderr, "bad record p%d@%" PRId64 ": %s\n", (int)m->partition, m->offset, why);
    c_bad++;
}

static bool mark_seen(long long seq)
{
    if (seq >= seen_cap) {
        long long nc = seen_cap ? seen_cap : 1024;
        while (nc <= seq)
            nc *= 2;
        seen = realloc(seen, (size_t)nc);
        memset(seen + seen_cap, 0, (size_t)(nc - seen_cap));
        seen_cap = nc;
    }
    if (seen[seq])
        return false;
    seen[seq] = 1;
    return true;
}

/* Returns the record's seq after checking its content, or -1. */
static long long check_content(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    const void *hv;
    size_t hs;
    char buf[64], want[64];
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_cnt(h) != 2 ||
        rd_kafka_header_get(h, 0, "seq", &hv, &hs) || hs == 0 || hs >= sizeof(buf))
        return bad(m, "missing/extra headers"), -1;
    memcpy(buf, hv, hs);
    buf[hs] = 0;
    char *end;
    long long seq = strtoll(buf, &end, 10);
    if (*end || seq < 0)
        return bad(m, "bad seq header"), -1;
    char *val = malloc(64 + (size_t)o.maxval);
    size_t vlen = make_value(seq, val);
    int klen = snprintf(want, sizeof(want), "k%lld", seq);
    bool ok = m->key_len == (size_t)klen && !memcmp(m->key, want, (size_t)klen) && m->len == vlen &&
              !memcmp(m->payload, val, vlen);
    free(val);
    snprintf(want, sizeof(want), "%zu", vlen);
    if (!ok)
        return bad(m, "key/value do not match seq"), -1;
    if (rd_kafka_header_get(h, 0, "len", &hv, &hs) || hs != strlen(want) || memcmp(hv, want, hs))
        return bad(m, "len header mismatch"), -1;
    return seq;
}

static void on_message(const rd_kafka_message_t *m)
{
    if (m->partition < 0 || m->partition >= nparts)
        return bad(m, "unknown partition");
    struct part *p = &parts[m->partition];
    if (m->offset >= p->hi)
        return; /* appended after the watermark snapshot: not ours to check */
    if (m->offset != p->next) {
        if (c_gap < 10)
            fprintf(stderr, "p%d: got offset %" PRId64 ", expected %" PRId64 "\n",
                    (int)m->partition, m->offset, p->next);
        c_gap++;
        if (m->offset < p->next)
            return;
    }
    p->next = m->offset + 1;
    c_total++;
    long long seq = check_content(m);
    if (seq < 0)
        return;
    p->seqs[m->offset - p->lo] = seq;
    if (!mark_seen(seq)) {
        if (c_dup < 10)
            fprintf(stderr, "duplicate seq %lld at p%d@%" PRId64 "\n", seq, (int)m->partition,
                    m->offset);
        c_dup++;
    }
    if (seq <= p->last_seq) {
        if (c_order < 10)
            fprintf(stderr, "order: seq %lld after %lld in p%d\n", seq, p->last_seq,
                    (int)m->partition);
        c_order++;
    }
    p->last_seq = seq;
}

static long long check_ackfile(const char *path, long long *missing)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot read ackfile");
    int pn;
    long long off, seq, n = 0;
    while (fscanf(f, "%d %lld %lld", &pn, &off, &seq) == 3) {
        n++;
        struct part *p = pn >= 0 && pn < nparts ? &parts[pn] : NULL;
        if (!p || off < p->lo || off >= p->hi || p->seqs[off - p->lo] != seq) {
            if (*missing < 10)
                fprintf(stderr, "acked seq %lld at p%d@%lld not read back (found %lld)\n", seq, pn,
                        off, p && off >= p->lo && off < p->hi ? p->seqs[off - p->lo] : -2LL);
            (*missing)++;
        }
    }
    fclose(f);
    return n;
}

static rd_kafka_t *new_consumer(void)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    conf_set(c, "bootstrap.servers", o.brokers);
    conf_set(c, "enable.partition.eof", "true");
    conf_set(c, "check.crcs", "true");
    conf_set(c, "fetch.wait.max.ms", "100");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        die(err);
    return rk;
}

static int get_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
    const struct rd_kafka_metadata *md = NULL;
    double deadline = now_s() + 15;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (!e && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
            break;
        fprintf(stderr, "metadata: %s\n",
                e ? rd_kafka_err2str(e) : rd_kafka_err2str(md->topics[0].err));
        if (!e)
            rd_kafka_metadata_destroy(md);
        if (now_s() > deadline)
            die("no metadata for topic");
        usleep(200000);
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n > MAX_PARTS ? MAX_PARTS : n;
}

static int setup_parts(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
    nparts = get_partitions(rk, rkt);
    long long expect = 0;
    for (int i = 0; i < nparts; i++) {
        struct part *p = &parts[i];
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, o.topic, i, &p->lo, &p->hi, 10000);
        if (e) {
            fprintf(stderr, "watermarks p%d: %s\n", i, rd_kafka_err2str(e));
            return -1;
        }
        if (p->lo < 0 || p->hi < p->lo) {
            fprintf(stderr, "bad watermarks p%d: lo %" PRId64 " hi %" PRId64 "\n", i, p->lo, p->hi);
            return -1;
        }
        p->next = p->lo;
        p->last_seq = -1;
        p->done = p->hi == p->lo;
        p->seqs = malloc(sizeof(long long) * (size_t)(p->hi - p->lo + 1));
        for (int64_t k = 0; k <= p->hi - p->lo; k++)
            p->seqs[k] = -1;
        expect += p->hi - p->lo;
    }
    printf("topic %s: %d partitions, %lld records by watermarks\n", o.topic, nparts, expect);
    return 0;
}

static void consume_loop(rd_kafka_t *rk, rd_kafka_queue_t *q)
{
    double deadline = now_s() + o.wait_secs;
    int left = 0;
    for (int i = 0; i < nparts; i++)
        left += !parts[i].done;
    while (left > 0 && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 200);
        if (!m)
            continue;
        struct part *p = m->partition >= 0 && m->partition < nparts ? &parts[m->partition] : NULL;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (p && !p->done && p->next >= p->hi) {
                p->done = true;
                left--;
            }
        } else if (m->err) {
            fprintf(stderr, "consume error p%d: %s\n", (int)m->partition,
                    rd_kafka_message_errstr(m));
            if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT)
                c_bad++;
        } else {
            on_message(m);
            if (p && !p->done && p->next >= p->hi) {
                p->done = true;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    for (int i = 0; i < nparts; i++)
        if (!parts[i].done)
            fprintf(stderr, "p%d: read up to %" PRId64 " of %" PRId64 " before the deadline\n", i,
                    parts[i].next, parts[i].hi);
}

static int do_consume(void)
{
    rd_kafka_t *rk = new_consumer();
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o.topic, NULL);
    if (setup_parts(rk, rkt) != 0)
        return 1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    for (int i = 0; i < nparts; i++)
        if (rd_kafka_consume_start_queue(rkt, i, RD_KAFKA_OFFSET_BEGINNING, q) == -1)
            die("consume_start_queue failed");
    consume_loop(rk, q);
    for (int i = 0; i < nparts; i++)
        rd_kafka_consume_stop(rkt, i);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);

    long long expect = 0, unread = 0, nonempty = 0, acked = 0, missing = 0;
    for (int i = 0; i < nparts; i++) {
        expect += parts[i].hi - parts[i].lo;
        unread += parts[i].hi - (parts[i].next > parts[i].hi ? parts[i].hi : parts[i].next);
        nonempty += parts[i].hi > parts[i].lo;
    }
    for (int i = 0; i < o.nackfiles; i++)
        acked += check_ackfile(o.ackfiles[i], &missing);
    printf("consumed topic=%s records=%lld watermark_total=%lld unread=%lld partitions=%d "
           "nonempty=%lld bad=%lld gaps=%lld order=%lld dup=%lld acked=%lld lost=%lld\n",
           o.topic, c_total, expect, unread, nparts, nonempty, c_bad, c_gap, c_order, c_dup, acked,
           missing);
    bool ok = c_bad == 0 && c_gap == 0 && c_order == 0 && c_dup == 0 && unread == 0 &&
              missing == 0 && c_total == expect;
    if (o.n >= 0 && c_total != o.n) {
        fprintf(stderr, "expected exactly %lld records, read %lld\n", o.n, c_total);
        ok = false;
    }
    if (o.partitions >= 0 && nparts != o.partitions) {
        fprintf(stderr, "expected %d partitions, metadata says %d\n", o.partitions, nparts);
        ok = false;
    }
    return ok ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rb_roundtrip produce|consume -b BROKERS -t TOPIC [-n N] [-s FIRST] "
            "[-z CODEC] [-S MAXVAL] [-a ACKFILE] [-r RATE] [-F] [-T MS] [-p PARTS] [-w SECS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    o.mode = argv[1];
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "b:t:n:s:z:S:a:r:FT:p:w:")) != -1) {
        switch (c) {
        case 'b':
            o.brokers = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'n':
            o.n = atoll(optarg);
            break;
        case 's':
            o.first = atoll(optarg);
            break;
        case 'z':
            o.codec = optarg;
            break;
        case 'S':
            o.maxval = atoi(optarg) > 0 ? atoi(optarg) : 1;
            break;
        case 'a':
            if (o.nackfiles < MAX_ACKFILES)
                o.ackfiles[o.nackfiles++] = optarg;
            break;
        case 'r':
            o.rate = atol(optarg);
            break;
        case 'F':
            o.allow_fail = true;
            break;
        case 'T':
            o.timeout_ms = atoi(optarg);
            break;
        case 'p':
            o.partitions = atoi(optarg);
            break;
        case 'w':
            o.wait_secs = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!o.brokers || !o.topic)
        usage();
    if (!strcmp(o.mode, "produce"))
        return do_produce();
    if (!strcmp(o.mode, "consume"))
        return do_consume();
    usage();
    return 2;
}
