/*
 * tests/sim/sim_group.c - a simulated consumer-group member: FindCoordinator,
 * JoinGroup (with the MEMBER_ID_REQUIRED round trip), SyncGroup as the leader,
 * then OffsetCommit of rising offsets for every partition and now and then an
 * OffsetFetch that must return the last acknowledged commit (or one whose
 * answer was lost). Each commit is written to the ledger before it is sent
 * (LEDGER_COMMIT_TRY) and when acknowledged (LEDGER_COMMIT), so the final check
 * knows which values may survive a crash. Any group error sends the member back
 * to FindCoordinator after a pause.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "tests/sim/sim_work_int.h"

#include <string.h>

static const struct rb_str topic_name = {SIM_TOPIC, sizeof(SIM_TOPIC) - 1};

static void restart(struct member *m, int64_t pause_ms)
{
    m->st = M_FIND;
    m->wake_ns = sim_now_ns + sim_ms(pause_ms);
}

static void lost_answer(struct member *m)
{
    /* The connection went away with a request in flight: wait long enough for
     * the broker to have finished whatever it received, then start over. */
    restart(m, 1000);
}

static void find_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct member *m = ctx;
    const struct rb_find_coordinator_resp *r = resp;
    m->busy = false;
    if (!r)
        return lost_answer(m);
    if (r->error_code)
        return restart(m, 100);
    m->st = M_JOIN;
    m->member_id[0] = 0;
    m->wake_ns = sim_now_ns;
}

static void join_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct member *m = ctx;
    const struct rb_join_group_resp *r = resp;
    m->busy = false;
    if (!r)
        return lost_answer(m);
    if (r->member_id.len > 0 && r->member_id.len < (int32_t)sizeof(m->member_id)) {
        memcpy(m->member_id, r->member_id.ptr, (size_t)r->member_id.len);
        m->member_id[r->member_id.len] = 0;
    }
    if (r->error_code == 79) { /* MEMBER_ID_REQUIRED: join again with it */
        m->wake_ns = sim_now_ns;
        return;
    }
    if (r->error_code)
        return restart(m, 100);
    m->generation = r->generation_id;
    m->st = M_SYNC;
    m->wake_ns = sim_now_ns;
    sim_stats.group_joins++;
}

static void sync_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct member *m = ctx;
    const struct rb_sync_group_resp *r = resp;
    m->busy = false;
    if (!r)
        return lost_answer(m);
    if (r->error_code)
        return restart(m, 100);
    m->st = M_COMMIT;
    m->wake_ns = sim_now_ns;
}

static void commit_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct member *m = ctx;
    const struct rb_offset_commit_resp *r = resp;
    m->busy = false;
    m->wake_ns = sim_now_ns + sim_ms(10 + (int64_t)sim_below(100));
    if (!r) {
        for (int p = 0; p < SIM_PARTITIONS; p++)
            m->unknown[p] = m->next_commit;
        m->next_commit++;
        return lost_answer(m);
    }
    bool ok = r->topics_n == 1 && r->topics[0].partitions_n == SIM_PARTITIONS;
    for (int i = 0; ok && i < SIM_PARTITIONS; i++)
        ok = r->topics[0].partitions[i].error_code == 0;
    if (!ok) {
        for (int p = 0; p < SIM_PARTITIONS; p++)
            m->unknown[p] = m->next_commit; /* a partial failure may have stored some */
        m->next_commit++;
        return restart(m, 100);
    }
    for (int p = 0; p < SIM_PARTITIONS; p++) {
        m->acked[p] = m->next_commit;
        m->unknown[p] = -1;
        struct sim_ledger_rec l = {LEDGER_COMMIT, p, m->next_commit, W.lifetime, 0, 0, 0};
        sim_ledger_add(&l);
    }
    sim_stats.commits++;
    m->next_commit++;
    m->commits_left--;
    if (sim_below(3) == 0)
        m->st = M_FETCH_OFFSETS;
}

static void offsets_done(struct sim_conn *c, void *ctx, const void *resp)
{
    struct member *m = ctx;
    const struct rb_offset_fetch_resp *r = resp;
    m->busy = false;
    m->wake_ns = sim_now_ns + sim_ms(10 + (int64_t)sim_below(100));
    m->st = M_COMMIT;
    if (!r)
        return lost_answer(m);
    if (r->error_code || r->topics_n != 1)
        return;
    for (int i = 0; i < r->topics[0].partitions_n; i++) {
        const struct rb_offset_fetch_resp_partition *p = &r->topics[0].partitions[i];
        int k = p->partition_index;
        if (p->error_code || k < 0 || k >= SIM_PARTITIONS || m->acked[k] < 0)
            continue;
        if (p->committed_offset != m->acked[k] && p->committed_offset != m->unknown[k])
            sim_fail("OffsetFetch %s p%d: %lld, but the last acknowledged commit was %lld",
                     m->group, k, (long long)p->committed_offset, (long long)m->acked[k]);
    }
}

static void member_send(struct member *m)
{
    struct rb_str group = rb_str_c(m->group);
    struct rb_str member = rb_str_c(m->member_id);
    int64_t deadline = sim_now_ns + sim_ms(40000);
    int r = -1;
    switch (m->st) {
    case M_FIND: {
        struct rb_find_coordinator_req q = {group, 0, NULL, 0};
        r = sim_conn_send(&m->c, 10, 2, &q, find_done, m, deadline);
        break;
    }
    case M_JOIN: {
        static const uint8_t meta[] = {0, 1, 0, 0, 0, 1, 0, 4, 's', 'i', 'm', 't', 0, 0, 0, 0};
        struct rb_join_group_req_protocol pr = {rb_str_c("range"), {meta, sizeof(meta)}};
        struct rb_join_group_req q = {
            group, 30000, 3000, member, RB_STR_NULL, rb_str_c("consumer"), &pr, 1, RB_STR_NULL};
        r = sim_conn_send(&m->c, 11, 5, &q, join_done, m, deadline);
        break;
    }
    case M_SYNC: {
        static const uint8_t asg[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        struct rb_sync_group_req_assignment a = {member, {asg, sizeof(asg)}};
        struct rb_sync_group_req q = {group,       m->generation, member, RB_STR_NULL,
                                      RB_STR_NULL, RB_STR_NULL,   &a,     1};
        r = sim_conn_send(&m->c, 14, 3, &q, sync_done, m, deadline);
        break;
    }
    case M_COMMIT: {
        struct rb_offset_commit_req_partition cp[SIM_PARTITIONS];
        for (int p = 0; p < SIM_PARTITIONS; p++) {
            cp[p] = (struct rb_offset_commit_req_partition){p, m->next_commit, -1, -1, RB_STR_NULL};
            struct sim_ledger_rec l = {LEDGER_COMMIT_TRY, p, m->next_commit, W.lifetime, 0, 0, 0};
            sim_ledger_add(&l);
        }
        struct rb_offset_commit_req_topic ct = {topic_name, cp, SIM_PARTITIONS};
        struct rb_offset_commit_req q = {group, m->generation, member, RB_STR_NULL, -1, &ct, 1};
        r = sim_conn_send(&m->c, 8, 7, &q, commit_done, m, deadline);
        break;
    }
    case M_FETCH_OFFSETS: {
        int32_t parts[SIM_PARTITIONS];
        for (int p = 0; p < SIM_PARTITIONS; p++)
            parts[p] = p;
        struct rb_offset_fetch_req_topic ft = {topic_name, parts, SIM_PARTITIONS};
        struct rb_offset_fetch_req q = {group, &ft, 1, NULL, 0, false};
        r = sim_conn_send(&m->c, 9, 5, &q, offsets_done, m, deadline);
        break;
    }
    }
    if (!r)
        m->busy = true;
}

int sim_group_act(struct member *m, int64_t *wake)
{
    int prog = sim_conn_pump(&m->c);
    conn_ensure(&m->c, "member", &m->wake_ns);
    bool want = m->commits_left > 0 && !W.quiesce;
    if (!m->busy && want && sim_conn_is_open(&m->c) && m->wake_ns <= sim_now_ns) {
        member_send(m);
        prog = 1;
    }
    if (!m->busy && want && m->wake_ns < *wake)
        *wake = m->wake_ns;
    return prog;
}

void sim_group_setup(struct member *m, int lifetime)
{
    memset(m, 0, sizeof(*m));
    m->c.fd = -1;
    snprintf(m->group, sizeof(m->group), "%s-%d", SIM_GROUP, lifetime);
    m->next_commit = 1;
    m->commits_left = 5 + (int)sim_below(30);
    for (int p = 0; p < SIM_PARTITIONS; p++)
        m->acked[p] = m->unknown[p] = -1;
    m->wake_ns = sim_now_ns + sim_ms((int64_t)sim_below(100));
}
