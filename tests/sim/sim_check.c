/*
 * tests/sim/sim_check.c - one lifetime of the broker with clients
 * (sim_work_run) and the final, fault-free lifetime that reads everything back
 * (sim_check_run).
 *
 * A lifetime: start the broker on the directory (recovery runs), let the
 * clients work for the lifetime's span, then stop issuing requests and wait
 * for every answer (no parked waiter may remain), then stop the broker cleanly
 * (every shard must finish stopping). An injected crash ends it anywhere: the
 * disk model drops the unsynced writes and the process exits.
 *
 * The check: per partition, ListOffsets earliest/latest, then fetch every
 * record in between, then for each lifetime's group OffsetFetch. Invariants:
 * offsets dense from earliest to latest; every acknowledged record (ledger) at
 * its offset with its contents unless DeleteRecords removed it; no record of
 * an idempotent producer id twice; the committed offset of each group is its
 * last acknowledged commit or a later attempt.
 */
#include "core/rb.h"
#include "tests/sim/sim_work_int.h"
#include "tests/sim/sim_world.h"

#include <stdlib.h>
#include <string.h>

static int quiesce_act(void *arg, int64_t *wake)
{
    int r = sim_work_act(arg, wake);
    return sim_work_idle() ? -1 : r;
}

int sim_work_run(const char *dir, int lifetime, int n_shards, int64_t run_ns)
{
    sim_ledger_open(dir);
    struct sim_broker *b;
    if (sim_broker_start(&b, dir, n_shards, sim_broker_props)) {
        sim_fail("the broker did not start");
        return 0;
    }
    sim_work_setup(lifetime);
    int r = sim_world_run(run_ns, sim_work_act, NULL);
    if (r != SIM_CRASHED) {
        W.quiesce = true;
        r = sim_world_run(sim_now_ns + sim_ms(60000), quiesce_act, NULL);
    }
    if (r == SIM_CRASHED) {
        SIM_LOG("power loss: %llu unsynced writes at stake",
                (unsigned long long)sim_disk_unsynced());
        sim_disk_crash();
        return SIM_CRASHED;
    }
    if (!sim_work_idle())
        sim_fail("requests still unanswered after the quiet period");
    if (sim_broker_stop(b, sim_work_act, NULL))
        sim_fail("the broker did not finish stopping");
    return 0;
}

/* ---- the check ---- */

struct rec {
    bool have;
    int64_t pid;
    uint32_t tag, n;
};

struct checker {
    struct sim_conn c;
    int phase; /* 0 metadata, 1 earliest, 2 latest, 3 fetch, 4 offsets, 5 done */
    bool busy;
    int64_t earliest[SIM_PARTITIONS], latest[SIM_PARTITIONS], pos[SIM_PARTITIONS];
    struct rec *recs[SIM_PARTITIONS];
    int part, group, n_groups, tries;
    int64_t committed[64][SIM_PARTITIONS];
};

static struct checker K;
static const struct rb_str topic_name = {SIM_TOPIC, sizeof(SIM_TOPIC) - 1};

static void next_phase(void)
{
    K.phase++;
    K.tries = 0;
}

static void retry_or_fail(const char *what)
{
    if (++K.tries > 50) {
        sim_fail("check: %s keeps failing", what);
        K.phase = 5;
    }
}

static void md_done(struct sim_conn *c, void *ctx, const void *resp)
{
    const struct rb_metadata_resp *r = resp;
    K.busy = false;
    if (r && r->topics_n == 1 && r->topics[0].partitions_n == SIM_PARTITIONS)
        next_phase();
    else
        retry_or_fail("Metadata");
}

static void lo_done(struct sim_conn *c, void *ctx, const void *resp)
{
    const struct rb_list_offsets_resp *r = resp;
    K.busy = false;
    int got = 0;
    for (int i = 0; r && i < r->topics_n; i++)
        for (int j = 0; j < r->topics[i].partitions_n; j++) {
            const struct rb_list_offsets_resp_partition *lp = &r->topics[i].partitions[j];
            int p = lp->partition_index;
            if (lp->error_code || p < 0 || p >= SIM_PARTITIONS) {
                sim_fail("check: ListOffsets p%d: error %d", p, lp->error_code);
                continue;
            }
            (K.phase == 1 ? K.earliest : K.latest)[p] = lp->offset;
            got++;
        }
    if (got == SIM_PARTITIONS)
        next_phase();
    else
        retry_or_fail("ListOffsets");
}

static void check_record(void *arg, int64_t off, int64_t pid, uint32_t tag, uint32_t n)
{
    int p = K.part;
    if (off < K.pos[p] || off >= K.latest[p])
        return;
    if (off != K.pos[p])
        sim_fail("check p%d: offset %lld follows %lld (not dense)", p, (long long)off,
                 (long long)K.pos[p] - 1);
    K.recs[p][off - K.earliest[p]] = (struct rec){true, pid, tag, n};
    K.pos[p] = off + 1;
}

static void fetch_done(struct sim_conn *c, void *ctx, const void *resp)
{
    const struct rb_fetch_resp *r = resp;
    K.busy = false;
    int64_t before = K.pos[K.part];
    if (r && r->responses_n == 1 && r->responses[0].partitions_n == 1) {
        const struct rb_fetch_resp_partition *fp = &r->responses[0].partitions[0];
        if (fp->error_code)
            sim_fail("check: fetch p%d at %lld: error %d", K.part, (long long)K.pos[K.part],
                     fp->error_code);
        else if (fp->records.len > 0)
            sim_batches_walk(fp->records.ptr, (size_t)fp->records.len, check_record, NULL);
    }
    if (K.pos[K.part] == before)
        retry_or_fail("Fetch");
    if (sim_failures)
        K.phase = 5;
}

static void of_done(struct sim_conn *c, void *ctx, const void *resp)
{
    const struct rb_offset_fetch_resp *r = resp;
    K.busy = false;
    if (!r || r->error_code || r->topics_n != 1) {
        retry_or_fail("OffsetFetch");
        return;
    }
    for (int i = 0; i < r->topics[0].partitions_n; i++) {
        const struct rb_offset_fetch_resp_partition *p = &r->topics[0].partitions[i];
        if (p->partition_index >= 0 && p->partition_index < SIM_PARTITIONS)
            K.committed[K.group][p->partition_index] = p->error_code ? -2 : p->committed_offset;
    }
    if (++K.group >= K.n_groups)
        next_phase();
}

static void check_send(void)
{
    int r = -1;
    int64_t deadline = sim_now_ns + sim_ms(20000);
    if (K.phase == 0) {
        struct rb_metadata_req_topic mt = {.name = topic_name};
        struct rb_metadata_req q = {&mt, 1, true, false, false};
        r = sim_conn_send(&K.c, 3, 8, &q, md_done, NULL, deadline);
    } else if (K.phase == 1 || K.phase == 2) {
        struct rb_list_offsets_req_partition lp[SIM_PARTITIONS];
        for (int i = 0; i < SIM_PARTITIONS; i++)
            lp[i] = (struct rb_list_offsets_req_partition){i, -1, K.phase == 1 ? -2 : -1, 1};
        struct rb_list_offsets_req_topic lt = {topic_name, lp, SIM_PARTITIONS};
        struct rb_list_offsets_req q = {-1, 0, &lt, 1};
        r = sim_conn_send(&K.c, 2, 5, &q, lo_done, NULL, deadline);
    } else if (K.phase == 3) {
        if (!K.recs[0])
            for (int p = 0; p < SIM_PARTITIONS; p++) {
                int64_t span = K.latest[p] - K.earliest[p];
                if (span < 0) {
                    sim_fail("check p%d: earliest %lld above latest %lld", p,
                             (long long)K.earliest[p], (long long)K.latest[p]);
                    span = 0;
                    K.latest[p] = K.earliest[p];
                }
                K.recs[p] = calloc((size_t)span + 1, sizeof(struct rec));
                RB_ASSERT(K.recs[p]);
                K.pos[p] = K.earliest[p];
            }
        while (K.part < SIM_PARTITIONS && K.pos[K.part] >= K.latest[K.part])
            K.part++;
        if (K.part == SIM_PARTITIONS) {
            next_phase();
            if (!K.n_groups)
                K.phase = 5;
            return;
        }
        struct rb_fetch_req_partition fp = {K.part, -1, K.pos[K.part], -1, -1, 1 << 20};
        struct rb_fetch_req_topic ft = {.topic = topic_name, .partitions = &fp, .partitions_n = 1};
        struct rb_fetch_req q = {.cluster_id = RB_STR_NULL,
                                 .replica_id = -1,
                                 .max_wait_ms = 0,
                                 .min_bytes = 1,
                                 .max_bytes = 1 << 20,
                                 .session_epoch = -1,
                                 .topics = &ft,
                                 .topics_n = 1,
                                 .rack_id = rb_str_c("")};
        r = sim_conn_send(&K.c, 1, 11, &q, fetch_done, NULL, deadline);
    } else if (K.phase == 4) {
        char g[32];
        snprintf(g, sizeof(g), "%s-%d", SIM_GROUP, K.group);
        int32_t parts[SIM_PARTITIONS];
        for (int p = 0; p < SIM_PARTITIONS; p++)
            parts[p] = p;
        struct rb_offset_fetch_req_topic ft = {topic_name, parts, SIM_PARTITIONS};
        struct rb_offset_fetch_req q = {rb_str_c(g), &ft, 1, NULL, 0, false};
        r = sim_conn_send(&K.c, 9, 5, &q, of_done, NULL, deadline);
    }
    if (!r)
        K.busy = true;
}

static int check_act(void *arg, int64_t *wake)
{
    (void)arg;
    int prog = sim_conn_pump(&K.c);
    if (!sim_conn_is_open(&K.c))
        sim_conn_open(&K.c, "checker");
    if (K.phase >= 5)
        return -1;
    if (!K.busy) {
        check_send();
        prog = 1;
    }
    (void)wake;
    return prog;
}

/* Compare what was read with the ledger. */
static void evaluate(const struct sim_ledger_rec *l, int n)
{
    /* Records below a DeleteRecords offset may be gone, acknowledged or not (its
     * answer may have been lost with the connection). */
    int64_t deleted[SIM_PARTITIONS] = {0};
    for (int i = 0; i < n; i++)
        if ((l[i].kind == LEDGER_DELETE || l[i].kind == LEDGER_DELETE_TRY) &&
            l[i].offset > deleted[l[i].part])
            deleted[l[i].part] = l[i].offset;
    long acked = 0, lost = 0;
    for (int p = 0; p < SIM_PARTITIONS; p++)
        if (K.earliest[p] > deleted[p] && K.earliest[p] > 0)
            SIM_LOG("check p%d: log starts at %lld, DeleteRecords acknowledged up to %lld", p,
                    (long long)K.earliest[p], (long long)deleted[p]);
    for (int i = 0; i < n; i++) {
        if (l[i].kind != LEDGER_ACK)
            continue;
        int p = l[i].part;
        for (int j = 0; j < l[i].count; j++) {
            int64_t off = l[i].offset + j;
            if (off < deleted[p])
                continue;
            acked++;
            const struct rec *r =
                off >= K.earliest[p] && off < K.latest[p] ? &K.recs[p][off - K.earliest[p]] : NULL;
            if (!r || !r->have || r->tag != l[i].tag || r->n != l[i].first + (uint32_t)j) {
                if (lost++ < 5)
                    sim_fail("check p%d: acknowledged record %u of producer %u at offset %lld is "
                             "%s (log %lld..%lld)",
                             p, l[i].first + (uint32_t)j, l[i].tag, (long long)off,
                             !r         ? "outside the log"
                             : !r->have ? "missing"
                                        : "another record",
                             (long long)K.earliest[p], (long long)K.latest[p]);
            }
        }
    }
    /* no duplicates per idempotent producer id */
    long dups = 0;
    for (int p = 0; p < SIM_PARTITIONS; p++) {
        int64_t span = K.latest[p] - K.earliest[p];
        for (int64_t a = 0; a < span; a++) {
            const struct rec *x = &K.recs[p][a];
            if (!x->have || x->pid < 0)
                continue;
            for (int64_t b = a + 1; b < span && b < a + 400; b++) {
                const struct rec *y = &K.recs[p][b];
                if (y->have && y->pid == x->pid && y->tag == x->tag && y->n == x->n && dups++ < 5)
                    sim_fail("check p%d: record %u of idempotent producer %u (id %lld) at offsets "
                             "%lld and %lld",
                             p, x->n, x->tag, (long long)x->pid, (long long)(K.earliest[p] + a),
                             (long long)(K.earliest[p] + b));
            }
        }
    }
    /* committed offsets: the last acknowledged commit, or an attempt after it */
    for (int g = 0; g < K.n_groups; g++)
        for (int p = 0; p < SIM_PARTITIONS; p++) {
            int64_t last_ack = -1;
            int last_ack_i = -1;
            for (int i = 0; i < n; i++)
                if (l[i].kind == LEDGER_COMMIT && l[i].count == g && l[i].part == p) {
                    last_ack = l[i].offset;
                    last_ack_i = i;
                }
            if (last_ack < 0)
                continue;
            int64_t got = K.committed[g][p];
            bool ok = got == last_ack;
            for (int i = last_ack_i + 1; i < n && !ok; i++)
                ok = l[i].kind == LEDGER_COMMIT_TRY && l[i].count == g && l[i].part == p &&
                     l[i].offset == got;
            if (!ok)
                sim_fail("check: group %s-%d p%d committed offset %lld, last acknowledged %lld",
                         SIM_GROUP, g, p, (long long)got, (long long)last_ack);
        }
    SIM_LOG("check: %ld acknowledged records verified, %ld lost, %ld duplicates", acked, lost,
            dups);
}

int sim_check_run(const char *dir, int n_shards)
{
    struct sim_ledger_rec *l;
    int n = sim_ledger_load(dir, &l);
    memset(&K, 0, sizeof(K));
    K.c.fd = -1;
    for (int i = 0; i < n; i++)
        if ((l[i].kind == LEDGER_COMMIT || l[i].kind == LEDGER_COMMIT_TRY) &&
            l[i].count + 1 > K.n_groups)
            K.n_groups = l[i].count + 1;
    if (K.n_groups > 64)
        K.n_groups = 64;
    struct sim_broker *b;
    if (sim_broker_start(&b, dir, n_shards, sim_broker_props)) {
        sim_fail("the broker did not start");
        return 0;
    }
    if (!K.n_groups)
        K.n_groups = 0;
    int r = sim_world_run(sim_ms(120000), check_act, NULL);
    if (K.phase < 5 && !sim_failures) {
        if (K.phase == 4 && K.group >= K.n_groups)
            K.phase = 5;
        else
            sim_fail("check: did not finish (phase %d, result %d)", K.phase, r);
    }
    if (!sim_failures)
        evaluate(l, n);
    sim_conn_close(&K.c);
    if (sim_broker_stop(b, NULL, NULL))
        sim_fail("the broker did not finish stopping");
    free(l);
    return 0;
}
