/*
 * cmd/metrics_render.c - what a scrape of the metrics endpoint says
 * (cmd/metrics.h), from the shards' published counters and /proc.
 *
 * Kafka's names as the Prometheus JMX exporter renders them (lower case,
 * kafka_<domain>_<type>_<name>, counters with _total) where Kafka has the
 * metric; Kafka's timers (TotalTimeMs, LogFlushRateAndTimeMs) are rendered as
 * Prometheus histograms rather than the JMX exporter's quantile summaries.
 * ringbroker's own metrics are named ringbroker_*; process_* follow Prometheus'
 * client conventions. Values are summed over the shards (topics by name: a
 * topic's partitions may live on several shards).
 */
#include "cmd/metrics.h"
#include "core/config.h"
#include "core/rb.h"
#include "part/part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *api_name(int key)
{
    static const char *const names[RB_API_KEYS] = {
        [0] = "Produce",
        [1] = "Fetch",
        [2] = "ListOffsets",
        [3] = "Metadata",
        [8] = "OffsetCommit",
        [9] = "OffsetFetch",
        [10] = "FindCoordinator",
        [11] = "JoinGroup",
        [12] = "Heartbeat",
        [13] = "LeaveGroup",
        [14] = "SyncGroup",
        [15] = "DescribeGroups",
        [16] = "ListGroups",
        [18] = "ApiVersions",
        [19] = "CreateTopics",
        [20] = "DeleteTopics",
        [21] = "DeleteRecords",
        [22] = "InitProducerId",
        [23] = "OffsetForLeaderEpoch",
        [32] = "DescribeConfigs",
        [33] = "AlterConfigs",
        [35] = "DescribeLogDirs",
        [37] = "CreatePartitions",
        [42] = "DeleteGroups",
        [44] = "IncrementalAlterConfigs",
        [47] = "OffsetDelete",
        [60] = "DescribeCluster",
    };
    return key >= 0 && key < RB_API_KEYS ? names[key] : NULL;
}

struct topic_sum {
    const char *name;
    uint64_t v[RB_MNAMES_VALUES];
};

/* Per-topic counters summed over the shards, in first-seen order. */
static struct topic_sum *sum_topics(struct rb_broker *b, int *n_out)
{
    int cap = 0, n = 0;
    for (int i = 0; i < b->rt.n_shards; i++)
        cap += (int)rb_mnames_count(rb_part_metrics(rb_part_of(b->rt.t[i]))->topics);
    struct topic_sum *t = calloc((size_t)(cap ? cap : 1), sizeof(*t));
    if (!t)
        return NULL;
    for (int i = 0; i < b->rt.n_shards; i++) {
        const struct rb_mnames *m = rb_part_metrics(rb_part_of(b->rt.t[i]))->topics;
        uint32_t cnt = rb_mnames_count(m);
        for (uint32_t j = 0; j < cnt; j++) {
            const struct rb_mname *s = &m->slot[j];
            int k = 0;
            while (k < n && strcmp(t[k].name, s->name) != 0)
                k++;
            if (k == n)
                t[n++].name = s->name;
            for (int v = 0; v < RB_MNAMES_VALUES; v++)
                t[k].v[v] += rb_counter_get(&s->v[v]);
        }
    }
    *n_out = n;
    return t;
}

static void topic_labels(struct rb_mbuf *lb, const char *name)
{
    lb->len = 0;
    rb_mbuf_printf(lb, "topic=\"");
    rb_metric_label_value(lb, name[0] ? name : "__overflow");
    rb_mbuf_printf(lb, "\"");
}

static void render_topics(struct rb_broker *b, struct rb_mbuf *out)
{
    static const struct {
        const char *name, *help;
        int v;
    } tm[] = {
        {"kafka_server_brokertopicmetrics_messagesin_total", "Records appended", RB_PT_MESSAGES_IN},
        {"kafka_server_brokertopicmetrics_bytesin_total", "Record-batch bytes appended",
         RB_PT_BYTES_IN},
        {"kafka_server_brokertopicmetrics_bytesout_total", "Record-batch bytes fetched",
         RB_PT_BYTES_OUT},
        {"kafka_server_brokertopicmetrics_totalproducerequests_total",
         "Partition entries of produce requests", RB_PT_PRODUCE_REQUESTS},
    };
    int n = 0;
    struct topic_sum *t = sum_topics(b, &n);
    if (!t) {
        out->oom = true;
        return;
    }
    struct rb_mbuf lb = {0};
    for (size_t i = 0; i < RB_ARRAY_LEN(tm); i++) {
        rb_metric_head(out, tm[i].name, "counter", tm[i].help);
        uint64_t all = 0;
        for (int k = 0; k < n; k++) {
            topic_labels(&lb, t[k].name);
            rb_metric_u64(out, tm[i].name, lb.oom ? "" : lb.p, t[k].v[tm[i].v]);
            all += t[k].v[tm[i].v];
        }
        rb_metric_u64(out, tm[i].name, "", all); /* the broker-wide series, no topic */
    }
    out->oom |= lb.oom;
    rb_mbuf_free(&lb);
    free(t);
}

static void render_requests(struct rb_broker *b, struct rb_mbuf *out)
{
    const char *cnt = "kafka_network_requestmetrics_requests_total";
    const char *tt = "kafka_network_requestmetrics_totaltimems";
    rb_metric_head(out, cnt, "counter", "Requests answered (or ended), by API");
    uint64_t handled = 0, ended = 0;
    struct rb_hist *h = calloc(RB_API_KEYS, sizeof(*h));
    if (!h) {
        out->oom = true;
        return;
    }
    for (int k = 0; k < RB_API_KEYS; k++) {
        if (!api_name(k))
            continue;
        uint64_t v = 0;
        for (int i = 0; i < b->rt.n_shards; i++) {
            const struct rb_net *n = b->rt.t[i]->net;
            v += rb_counter_get(&n->m.requests[k]);
            rb_hist_merge(&h[k], &n->m.total_ms[k]);
        }
        char lb[64];
        snprintf(lb, sizeof(lb), "request=\"%s\"", api_name(k));
        rb_metric_u64(out, cnt, lb, v);
    }
    rb_metric_head(out, tt, "histogram", "Request time from receipt to answer, ms, by API");
    for (int k = 0; k < RB_API_KEYS; k++) {
        if (!api_name(k))
            continue;
        char lb[64];
        snprintf(lb, sizeof(lb), "request=\"%s\"", api_name(k));
        rb_metric_hist(out, tt, lb, &h[k], 1);
    }
    free(h);
    for (int i = 0; i < b->rt.n_shards; i++) {
        const struct rb_net *n = b->rt.t[i]->net;
        ended += rb_counter_get(&n->m.ended);
        handled += rb_counter_get(&n->m.handled);
    }
    const char *q = "kafka_network_requestchannel_requestqueuesize";
    rb_metric_head(out, q, "gauge", "Requests handed to a handler and not answered yet");
    rb_metric_u64(out, q, "", handled >= ended ? handled - ended : 0);
}

static void gauge(struct rb_mbuf *out, const char *name, const char *help, uint64_t v)
{
    rb_metric_head(out, name, "gauge", help);
    rb_metric_u64(out, name, "", v);
}

static void render_partitions(struct rb_broker *b, struct rb_mbuf *out)
{
    uint64_t online = 0, offline = 0, mem = 0, file = 0;
    struct rb_hist flush = {0}, sync = {0};
    for (int i = 0; i < b->rt.n_shards; i++) {
        const struct rb_part_metrics *m = rb_part_metrics(rb_part_of(b->rt.t[i]));
        online += rb_counter_get(&m->online);
        offline += rb_counter_get(&m->offline);
        mem += rb_counter_get(&m->read_mem_bytes);
        file += rb_counter_get(&m->read_file_bytes);
        rb_hist_merge(&flush, &m->flush_ms);
        rb_hist_merge(&sync, &m->fsync_us);
    }
    /* Standalone: every partition is hosted and led here and the broker is its
     * own controller. A cluster: the figures of the latest snapshot (cmd/broker.c)
     * plus the partitions offline here after a storage error. */
    uint64_t hosted = online + offline, led = hosted, under = 0, ctrl = 1, global = hosted;
    uint64_t no_leader = offline;
    const struct rb_cluster_gauges *cl = &b->cl;
    if (atomic_load_explicit((rb_counter *)&cl->v[RB_CLG_VALID], memory_order_acquire)) {
        hosted = rb_counter_get(&cl->v[RB_CLG_HOSTED]);
        led = rb_counter_get(&cl->v[RB_CLG_LEADER]);
        under = rb_counter_get(&cl->v[RB_CLG_UNDER_REPLICATED]);
        ctrl = rb_counter_get(&cl->v[RB_CLG_CONTROLLER]);
        global = rb_counter_get(&cl->v[RB_CLG_GLOBAL]);
        no_leader = rb_counter_get(&cl->v[RB_CLG_OFFLINE]);
    }
    gauge(out, "kafka_server_replicamanager_partitioncount", "Partitions with a replica here",
          hosted);
    gauge(out, "kafka_server_replicamanager_leadercount", "Partitions this broker leads", led);
    gauge(out, "kafka_server_replicamanager_underreplicatedpartitions",
          "Partitions led here whose ISR is smaller than their replica set", under);
    gauge(out, "kafka_server_replicamanager_offlinereplicacount",
          "Partitions offline here after a storage error", offline);
    gauge(out, "kafka_controller_kafkacontroller_offlinepartitionscount",
          "Partitions without a live leader (reported by the controller only)", no_leader);
    gauge(out, "kafka_controller_kafkacontroller_activecontrollercount",
          "1 on the controller, 0 elsewhere (a standalone broker is its own controller)", ctrl);
    gauge(out, "kafka_controller_kafkacontroller_globalpartitioncount",
          "Partitions in the cluster (reported by the controller only)", global);
    const char *lf = "kafka_log_logflushstats_logflushrateandtimems";
    rb_metric_head(out, lf, "histogram", "Partition flushes (write out, fdatasync when due), ms");
    rb_metric_hist(out, lf, "", &flush, 1);
    const char *fs = "ringbroker_log_sync_flush_seconds";
    rb_metric_head(out, fs, "histogram", "Partition flushes that end with fdatasync, seconds");
    rb_metric_hist(out, fs, "", &sync, 1e6);
    const char *fb = "ringbroker_fetch_bytes_total";
    rb_metric_head(out, fb, "counter", "Fetched bytes by where they came from");
    rb_metric_u64(out, fb, "source=\"memory\"", mem);
    rb_metric_u64(out, fb, "source=\"file\"", file);
    uint64_t fill = 0, ahead = 0;
    for (int i = 0; i < b->rt.n_shards; i++) {
        const struct rb_net *n = b->rt.t[i]->net;
        fill += rb_counter_get(&n->m.file_fill_bytes);
        ahead += rb_counter_get(&n->m.file_ahead_bytes);
    }
    const char *ff = "ringbroker_fetch_file_read_bytes_total";
    rb_metric_head(out, ff, "counter",
                   "File bytes of fetches (read path) read when sent, or read ahead before");
    rb_metric_u64(out, ff, "when=\"sent\"", fill);
    rb_metric_u64(out, ff, "when=\"ahead\"", ahead);
    const char *hr = "ringbroker_tail_cache_hit_ratio";
    rb_metric_head(out, hr, "gauge", "Share of fetched bytes served from the tail cache");
    rb_metric_double(out, hr, "", mem + file ? (double)mem / (double)(mem + file) : 0);
}

/* utime + stime of a thread, in clock ticks; -1 when unreadable. */
static long long thread_ticks(int tid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut, st;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     */
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void render_shards(struct rb_broker *b, struct rb_mbuf *out)
{
    double tick = (double)sysconf(_SC_CLK_TCK);
    const char *names[] = {"ringbroker_io_uring_enter_total", "ringbroker_io_uring_sqes_total",
                           "ringbroker_shard_cpu_seconds_total"};
    const char *helps[] = {"io_uring_enter calls from the shard's loop",
                           "SQEs submitted by the shard's loop",
                           "CPU time of the shard's thread (user + system)"};
    for (int m = 0; m < 3; m++) {
        rb_metric_head(out, names[m], "counter", helps[m]);
        for (int i = 0; i < b->rt.n_threads; i++) {
            struct rb_shard *s = b->rt.t[i];
            char lb[48];
            if (s->is_coord)
                snprintf(lb, sizeof(lb), "shard=\"coord\"");
            else
                snprintf(lb, sizeof(lb), "shard=\"%d\"", s->id);
            if (m == 0)
                rb_metric_u64(out, names[m], lb, rb_counter_get(&s->stat_ring_enters));
            else if (m == 1)
                rb_metric_u64(out, names[m], lb, rb_counter_get(&s->stat_sqes));
            else {
                long long t = thread_ticks(atomic_load(&s->tid));
                if (t >= 0)
                    rb_metric_double(out, names[m], lb, (double)t / tick);
            }
        }
    }
    const char *vm = "ringbroker_validator_memory_bytes";
    rb_metric_head(out, vm, "gauge",
                   "Validator thread memory charged to the shard's budget (scratch of its "
                   "running job, rebuilt batches not released yet)");
    for (int i = 0; i < b->rt.n_shards; i++) {
        char lb[32];
        snprintf(lb, sizeof(lb), "shard=\"%d\"", i);
        int64_t v = rb_part_vt_mem(rb_part_of(b->rt.t[i]));
        rb_metric_u64(out, vm, lb, (uint64_t)RB_MAX(v, (int64_t)0));
    }
    const char *tb = "ringbroker_tail_cache_budget_bytes";
    rb_metric_head(out, tb, "gauge", "log.tail.cache.bytes: each shard's tail cache budget");
    rb_metric_u64(
        out, tb, "",
        (uint64_t)(b->rt.n_shards ? rb_part_tail_cache_bytes(rb_part_of(b->rt.t[0])) : 0));
    const char *ns = "ringbroker_shards";
    rb_metric_head(out, ns, "gauge", "Shard threads");
    rb_metric_u64(out, ns, "", (uint64_t)b->rt.n_shards);
}

static void render_process(struct rb_mbuf *out)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &rss) != 2)
            size = rss = 0;
        fclose(f);
    }
    gauge(out, "process_resident_memory_bytes", "Resident memory", rss * (uint64_t)page);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory", size * (uint64_t)page);
    f = fopen("/proc/self/stat", "re");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        unsigned long long ut, st;
        if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                        &st) == 2) {
            rb_metric_head(out, "process_cpu_seconds_total", "counter", "CPU time (user + system)");
            rb_metric_double(out, "process_cpu_seconds_total", "",
                             (double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
        }
    }
}

void rb_metrics_render(struct rb_broker *b, struct rb_mbuf *out)
{
    render_topics(b, out);
    render_requests(b, out);
    render_partitions(b, out);
    render_shards(b, out);
    render_process(out);
}
