/*
 * tests/sim/sim_work.c - the clients of one broker lifetime: idempotent and plain
 * producers (acks=all, one batch in flight each, retried after errors and
 * dropped connections), a long-polling fetcher, an admin doing ListOffsets and
 * DeleteRecords, and a group member (sim_group.c). Each acknowledgement goes to
 * the ledger (sim_work.h) at once.
 *
 * Checked while running: records read back have the contents their keys imply;
 * fetched offsets are dense and below the high watermark; ListOffsets latest
 * covers every batch acknowledged before it was asked, and so does a fetch's high
 * watermark (last stable offset <= high watermark); an idempotent producer
 * never gets OUT_OF_ORDER_SEQUENCE_NUMBER (it only ever retries its last batch);
 * no request stays unanswered past its deadline (parked waiters).
 */
#include "tests/sim/sim_work_int.h"
#include "core/kerr.h"
#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

struct work W;

static const struct rb_str topic_name = {SIM_TOPIC, sizeof(SIM_TOPIC) - 1};

int64_t sim_ms(int64_t ms)
{
    return ms * 1000000;
}

void conn_ensure(struct sim_conn *c, const char *name, int64_t *wake)
{
    if (sim_conn_is_open(c) || W.quiesce)
        return;
    if (*wake > sim_now_ns)
        return;
    sim_conn_open(c, name);
}

/* ---- producers ---- */

static void produce_send(struct producer *p);

static void init_pid_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct producer *p = ctx;
    const struct rb_init_producer_id_resp *r = resp;
    p->busy = false;
    p->wake_ns = sim_now_ns + sim_ms(5 + (int64_t)sim_below(20));
    if (!r || r->error_code) {
        return;
    }
    p->pid = r->producer_id;
    p->epoch = r->producer_epoch;
    memset(p->seq, 0, sizeof(p->seq));
    p->retry = false;
    SIM_LOG("%s: producer id %lld epoch %d", p->name, (long long)p->pid, p->epoch);
}

static void produce_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct producer *p = ctx;
    const struct rb_produce_resp *r = resp;
    p->busy = false;
    p->wake_ns = sim_now_ns + sim_ms((int64_t)sim_below(12));
    if (!r) { /* connection gone: retry the same batch on a new connection */
        p->retry = true;
        p->wake_ns = sim_now_ns + sim_ms(20 + (int64_t)sim_below(200));
        return;
    }
    const struct rb_produce_resp_partition *pr = &r->responses[0].partition_responses[0];
    if (pr->error_code == RB_KERR_NONE) {
        struct sim_ledger_rec l = {LEDGER_ACK, p->part,  pr->base_offset, p->count,
                                   p->tag,     p->first, p->idem};
        sim_ledger_add(&l);
        sim_stats.acked += (uint64_t)p->count;
        if (pr->base_offset + p->count > W.acked_end[p->part])
            W.acked_end[p->part] = pr->base_offset + p->count;
        SIM_LOG("%s: acked p%d offset %lld x%d (producer %u records %u..)", p->name, p->part,
                (long long)pr->base_offset, p->count, p->tag, p->first);
        if (p->idem)
            p->seq[p->part] += p->count;
        p->next_n = p->first + (uint32_t)p->count;
        p->have_batch = false;
        p->retry = false;
        p->left--;
        return;
    }
    sim_stats.produce_err++;
    SIM_LOG("%s: produce p%d error %d", p->name, p->part, pr->error_code);
    if (pr->error_code == RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER && p->idem)
        sim_fail("%s: OUT_OF_ORDER_SEQUENCE_NUMBER for batch seq %d on p%d (%s): the broker "
                 "lost track of an acknowledged batch or of its dedup window",
                 p->name, p->seq[p->part], p->part, p->retry ? "a retry" : "first try");
    if (pr->error_code == RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER || pr->error_code == 59 ||
        pr->error_code == 47)
        p->pid = -1; /* start over with a new producer id */
    p->retry = true;
    p->wake_ns = sim_now_ns + sim_ms(20 + (int64_t)sim_below(100));
}

static void produce_send(struct producer *p)
{
    if (p->idem && p->pid < 0) {
        struct rb_init_producer_id_req q = {RB_STR_NULL, 60000, -1, -1};
        if (!sim_conn_send(&p->c, 22, 1, &q, init_pid_done, p, sim_now_ns + sim_ms(10000)))
            p->busy = true;
        return;
    }
    if (!p->have_batch) {
        p->part = (int)sim_below(SIM_PARTITIONS);
        p->count = 1 + (int)sim_below(8);
        p->first = p->next_n;
        p->have_batch = true;
    }
    uint8_t buf[4096];
    size_t n = sim_batch_build(buf, sizeof(buf), p->tag, p->first, p->count, p->idem ? p->pid : -1,
                               p->epoch, p->seq[p->part]);
    struct rb_produce_req_partition rp = {p->part, {buf, (int32_t)n}};
    struct rb_produce_req_topic rt = {topic_name, &rp, 1};
    struct rb_produce_req q = {RB_STR_NULL, -1, 30000, &rt, 1};
    if (!sim_conn_send(&p->c, 0, 8, &q, produce_done, p, sim_now_ns + sim_ms(35000))) {
        p->busy = true;
        sim_stats.produced += (uint64_t)p->count;
    }
}

static int producer_act(struct producer *p, int64_t *wake)
{
    int prog = sim_conn_pump(&p->c);
    conn_ensure(&p->c, p->name, &p->wake_ns);
    if (!p->busy && sim_conn_is_open(&p->c) && !W.quiesce && p->left > 0 && W.admin.have_md) {
        if (p->wake_ns <= sim_now_ns) {
            produce_send(p);
            prog = 1;
        }
    }
    if (!p->busy && p->left > 0 && !W.quiesce && W.admin.have_md && p->wake_ns < *wake)
        *wake = p->wake_ns;
    return prog;
}

/* ---- fetcher: long polls over every partition ---- */

struct fetch_walk {
    int part;
    int64_t from, expect, hw;
    bool bad;
};

static void fetch_record(void *arg, int64_t off, int64_t pid, uint32_t tag, uint32_t n)
{
    struct fetch_walk *fw = arg;
    (void)pid;
    (void)tag;
    (void)n;
    if (off < fw->from)
        return; /* the batch holding the fetch offset starts before it */
    if (off != fw->expect && !fw->bad) {
        sim_fail("fetch p%d: offset %lld where %lld was expected (offsets not dense)", fw->part,
                 (long long)off, (long long)fw->expect);
        fw->bad = true;
    }
    if (off >= fw->hw && !fw->bad) {
        sim_fail("fetch p%d: offset %lld at or above the high watermark %lld", fw->part,
                 (long long)off, (long long)fw->hw);
        fw->bad = true;
    }
    fw->expect = off + 1;
    sim_stats.fetched_records++;
}

static void fetch_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct fetcher *f = ctx;
    const struct rb_fetch_resp *r = resp;
    f->busy = false;
    f->wake_ns = sim_now_ns + sim_ms((int64_t)sim_below(20));
    if (!r) {
        f->wake_ns = sim_now_ns + sim_ms(50);
        return;
    }
    for (int t = 0; t < r->responses_n; t++)
        for (int i = 0; i < r->responses[t].partitions_n; i++) {
            const struct rb_fetch_resp_partition *fp = &r->responses[t].partitions[i];
            int p = fp->partition_index;
            if (p < 0 || p >= SIM_PARTITIONS)
                continue;
            if (fp->error_code == RB_KERR_OFFSET_OUT_OF_RANGE) {
                f->pos[p] = fp->log_start_offset >= 0 ? fp->log_start_offset : 0;
                continue;
            }
            if (fp->error_code)
                continue;
            if (fp->high_watermark < f->acked_at_ask[p])
                sim_fail("fetch p%d: high watermark %lld below the acknowledged end %lld", p,
                         (long long)fp->high_watermark, (long long)f->acked_at_ask[p]);
            if (fp->last_stable_offset > fp->high_watermark)
                sim_fail("fetch p%d: last stable offset %lld above the high watermark %lld", p,
                         (long long)fp->last_stable_offset, (long long)fp->high_watermark);
            if (fp->log_start_offset > fp->high_watermark)
                sim_fail("fetch p%d: log start %lld above the high watermark %lld", p,
                         (long long)fp->log_start_offset, (long long)fp->high_watermark);
            struct fetch_walk fw = {p, f->pos[p], f->pos[p], fp->high_watermark, false};
            if (fp->records.len > 0)
                sim_batches_walk(fp->records.ptr, (size_t)fp->records.len, fetch_record, &fw);
            f->pos[p] = fw.expect;
        }
}

static void fetch_send(struct fetcher *f)
{
    struct rb_fetch_req_partition fp[SIM_PARTITIONS];
    for (int p = 0; p < SIM_PARTITIONS; p++) {
        fp[p] = (struct rb_fetch_req_partition){p, -1, f->pos[p], -1, -1, 16384};
        f->acked_at_ask[p] = W.acked_end[p];
    }
    struct rb_fetch_req_topic ft = {
        .topic = topic_name, .partitions = fp, .partitions_n = SIM_PARTITIONS};
    int32_t max_wait = 50 + (int32_t)sim_below(500);
    struct rb_fetch_req q = {.cluster_id = RB_STR_NULL,
                             .replica_id = -1,
                             .max_wait_ms = max_wait,
                             .min_bytes = 1 + (int32_t)sim_below(3000),
                             .max_bytes = 1 << 20,
                             .session_epoch = -1,
                             .topics = &ft,
                             .topics_n = 1,
                             .forgotten_topics_data_n = 0,
                             .rack_id = rb_str_c("")};
    if (!sim_conn_send(&f->c, 1, 11, &q, fetch_done, f, sim_now_ns + sim_ms(max_wait + 5000))) {
        f->busy = true;
        sim_stats.fetches++;
        sim_stats.long_polls++;
    }
}

static int fetcher_act(struct fetcher *f, int64_t *wake)
{
    int prog = sim_conn_pump(&f->c);
    conn_ensure(&f->c, "fetcher", &f->wake_ns);
    if (!f->busy && sim_conn_is_open(&f->c) && !W.quiesce && W.admin.have_md &&
        f->wake_ns <= sim_now_ns) {
        fetch_send(f);
        prog = 1;
    }
    if (!f->busy && !W.quiesce && W.admin.have_md && f->wake_ns < *wake)
        *wake = f->wake_ns;
    return prog;
}

/* ---- admin: ListOffsets, DeleteRecords ---- */

static void list_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct admin *a = ctx;
    const struct rb_list_offsets_resp *r = resp;
    a->busy = false;
    a->wake_ns = sim_now_ns + sim_ms(20 + (int64_t)sim_below(200));
    if (!r)
        return;
    for (int i = 0; i < r->topics_n; i++)
        for (int j = 0; j < r->topics[i].partitions_n; j++) {
            const struct rb_list_offsets_resp_partition *lp = &r->topics[i].partitions[j];
            int p = lp->partition_index;
            if (lp->error_code || p < 0 || p >= SIM_PARTITIONS)
                continue;
            if (a->asked_time) { /* the first record at or after 0: any it names */
                if (lp->offset >= 0 && lp->timestamp < 0)
                    sim_fail("ListOffsets p%d by time: offset %lld with timestamp %lld", p,
                             (long long)lp->offset, (long long)lp->timestamp);
                continue;
            }
            if (a->asked_latest && lp->offset < a->acked_at_ask[p])
                sim_fail("ListOffsets p%d: latest %lld below acknowledged end %lld", p,
                         (long long)lp->offset, (long long)a->acked_at_ask[p]);
            if (!a->asked_latest)
                a->earliest[p] = lp->offset;
        }
}

static void delete_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct admin *a = ctx;
    const struct rb_delete_records_resp *r = resp;
    a->busy = false;
    a->wake_ns = sim_now_ns + sim_ms(20 + (int64_t)sim_below(200));
    if (!r || r->topics_n < 1 || r->topics[0].partitions_n < 1)
        return;
    const struct rb_delete_records_resp_partition *dp = &r->topics[0].partitions[0];
    if (dp->error_code)
        return;
    if (dp->low_watermark < a->del_to)
        sim_fail("DeleteRecords p%d: low watermark %lld below the requested %lld",
                 dp->partition_index, (long long)dp->low_watermark, (long long)a->del_to);
    struct sim_ledger_rec l = {LEDGER_DELETE, dp->partition_index, dp->low_watermark, 0, 0, 0, 0};
    sim_ledger_add(&l);
    sim_stats.delete_records++;
}

static void md_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct admin *a = ctx;
    const struct rb_metadata_resp *r = resp;
    a->busy = false;
    a->wake_ns = sim_now_ns + sim_ms(20);
    if (r && r->topics_n == 1 && r->topics[0].error_code == 0 &&
        r->topics[0].partitions_n == SIM_PARTITIONS)
        a->have_md = true;
}

static void admin_send(struct admin *a)
{
    if (!a->have_md) {
        struct rb_metadata_req_topic mt = {.name = topic_name};
        struct rb_metadata_req q = {&mt, 1, true, false, false};
        if (!sim_conn_send(&a->c, 3, 8, &q, md_done, a, sim_now_ns + sim_ms(10000)))
            a->busy = true;
        return;
    }
    int p = (int)sim_below(SIM_PARTITIONS);
    if (sim_chance(100000) && W.acked_end[p] > a->earliest[p]) {
        a->del_to = a->earliest[p] +
                    (int64_t)sim_below((uint64_t)(W.acked_end[p] - a->earliest[p]) / 2 + 1);
        struct rb_delete_records_req_partition dp = {p, a->del_to};
        struct rb_delete_records_req_topic dt = {topic_name, &dp, 1};
        struct rb_delete_records_req q = {&dt, 1, 30000};
        struct sim_ledger_rec l = {LEDGER_DELETE_TRY, p, a->del_to, 0, 0, 0, 0};
        sim_ledger_add(&l);
        if (!sim_conn_send(&a->c, 21, 1, &q, delete_done, a, sim_now_ns + sim_ms(35000)))
            a->busy = true;
        return;
    }
    struct rb_list_offsets_req_partition lp[SIM_PARTITIONS];
    a->asked_latest = sim_below(3) != 0;
    /* sometimes by timestamp: a compressed batch's scan, handed off to the validator
     * thread (run inline by the simulator) when its records are over the inline cap */
    a->asked_time = sim_below(4) == 0;
    for (int i = 0; i < SIM_PARTITIONS; i++) {
        int64_t ts = a->asked_time ? 0 : a->asked_latest ? -1 : -2;
        lp[i] = (struct rb_list_offsets_req_partition){i, -1, ts, 1};
        a->acked_at_ask[i] = W.acked_end[i];
    }
    struct rb_list_offsets_req_topic lt = {topic_name, lp, SIM_PARTITIONS};
    struct rb_list_offsets_req q = {-1, 0, &lt, 1};
    if (!sim_conn_send(&a->c, 2, 5, &q, list_done, a, sim_now_ns + sim_ms(10000))) {
        a->busy = true;
        sim_stats.list_offsets++;
    }
}

static int admin_act(struct admin *a, int64_t *wake)
{
    int prog = sim_conn_pump(&a->c);
    conn_ensure(&a->c, "admin", &a->wake_ns);
    if (!a->busy && sim_conn_is_open(&a->c) && !W.quiesce && a->wake_ns <= sim_now_ns) {
        admin_send(a);
        prog = 1;
    }
    if (!a->busy && !W.quiesce && a->wake_ns < *wake)
        *wake = a->wake_ns;
    return prog;
}

/* ---- the actor ---- */

static void check_overdue(struct sim_conn *c)
{
    const struct sim_pending *p = sim_conn_overdue(c);
    if (p && !W.overdue_reported) {
        sim_fail("%s: request api %d (correlation %d) unanswered past its deadline: a parked "
                 "waiter",
                 c->name, p->key, p->corr);
        W.overdue_reported = true;
    }
}

int sim_work_act(void *arg, int64_t *wake)
{
    (void)arg;
    int prog = 0;
    for (int i = 0; i < W.n_prod; i++) {
        prog |= producer_act(&W.prod[i], wake);
        check_overdue(&W.prod[i].c);
    }
    prog |= fetcher_act(&W.fetch, wake);
    check_overdue(&W.fetch.c);
    prog |= admin_act(&W.admin, wake);
    check_overdue(&W.admin.c);
    prog |= sim_group_act(&W.member, wake);
    check_overdue(&W.member.c);
    /* pending requests have deadlines: wake up to look at them */
    return prog;
}

void sim_work_setup(int lifetime)
{
    memset(&W, 0, sizeof(W));
    W.lifetime = lifetime;
    W.n_prod = 2 + (int)sim_below(3);
    for (int i = 0; i < W.n_prod; i++) {
        struct producer *p = &W.prod[i];
        p->tag = (uint32_t)(lifetime * 100 + i + 1);
        p->idem = i % 2 == 0;
        p->pid = -1;
        p->left = 1000000; /* until the lifetime ends */
        snprintf(p->name, sizeof(p->name), "%s%d", p->idem ? "idem" : "plain", i);
        p->c.fd = -1;
        p->wake_ns = sim_now_ns + sim_ms((int64_t)sim_below(50));
    }
    W.fetch.c.fd = -1;
    W.admin.c.fd = -1;
    sim_group_setup(&W.member, lifetime);
}

bool sim_work_idle(void)
{
    for (int i = 0; i < W.n_prod; i++)
        if (W.prod[i].c.n_pend)
            return false;
    return !W.fetch.c.n_pend && !W.admin.c.n_pend && !W.member.c.n_pend;
}
