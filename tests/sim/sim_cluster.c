/*
 * tests/sim/sim_cluster.c - the cluster simulation: 3-5 brokers' control planes
 * (the real coord/cluster.c and coord/controller.c, as detached nodes: the
 * quorum logic of a broker without its shards) on the simulated quorum
 * (sim_quorum.c) and clock, with faults drawn from the seed: brokers paused past
 * their session timeout, cut off from the quorum, killed (the session lingers until
 * it expires) and restarted, stopped cleanly; an operator creating topics the way
 * Kafka 2.8's TopicCommand does (replication factor 1-3, no topic id), growing and
 * deleting them. Partitions are created with every live replica in the ISR (a
 * test knob: replication itself is not simulated here) so leadership moves
 * between brokers when a leader goes.
 *
 * Invariants, checked after every step:
 *   fencing     a partition state is written only in a multi that checks the current
 *               /controller_epoch, by the owner of /controller (checked in the quorum);
 *   one leader  for every partition, at most one broker both believes it is the leader
 *               and holds a valid leader lease (the split-brain check);
 *   one epoch   no two brokers act as controller with the same controller epoch;
 *   topic ids   a topic's id never changes once given;
 * and at the end, once every fault is healed and every broker is back:
 *   exactly one controller, the owner of /controller; every partition with a live ISR
 *   member has a live leader from its ISR; every broker's view of the leaders is the
 *   quorum's; no deletion request is left and deleted topics are gone.
 */
#include "coord/cluster_int.h"
#include "core/logging.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_quorum.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BROKERS 5
#define SESSION_MS  6000
#define MS          1000000LL

enum bstate { B_UP, B_PAUSED, B_DOWN };

struct sbroker {
    int32_t id;
    struct rb_cluster *cl;
    enum bstate st;
    int64_t until_ns; /* PAUSED: resume; DOWN: restart */
    int64_t cut_until_ns;
    int64_t next_tick_ns;
};

static struct sbroker brokers[MAX_BROKERS];
static int n_brokers;
static struct rb_quorum *op_q; /* the operator's session (never expires) */
static int topic_seq;

struct tid {
    char name[32];
    uint8_t id[16];
};
static struct tid tids[256];
static int n_tids;

static const char *first_failure;
static char fail_buf[256];

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[256];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sim_fail("%s", buf);
    if (!first_failure) {
        snprintf(fail_buf, sizeof(fail_buf), "%s", buf);
        first_failure = fail_buf;
    }
}

static void broker_open(struct sbroker *b)
{
    struct rb_kzk_broker me = {.id = b->id, .port = (uint16_t)(9090 + b->id)};
    snprintf(me.host, sizeof(me.host), "10.0.0.%d", b->id);
    struct rb_quorum_config qc = {.backend = "test",
                                  .connect = "sim",
                                  .session_timeout_ms = SESSION_MS,
                                  .connection_timeout_ms = SESSION_MS};
    char err[256] = "";
    b->cl = rb_cl_detached_open(b->id, &me, &qc, err, sizeof(err));
    if (!b->cl) {
        SIM_LOG("broker %d: cannot start: %s (retrying)", b->id, err);
        b->st = B_DOWN;
        b->until_ns = sim_now_ns + 500 * MS;
        return;
    }
    b->st = B_UP;
    b->next_tick_ns = sim_now_ns;
    SIM_LOG("broker %d: up", b->id);
}

static void broker_crash(struct sbroker *b, bool clean)
{
    if (b->st == B_DOWN || !b->cl)
        return;
    if (!clean && b->cl->q) {
        sim_quorum_abandon(b->cl->q);
        b->cl->q = NULL;
    }
    rb_cl_detached_close(b->cl);
    b->cl = NULL;
    b->st = B_DOWN;
    b->until_ns = sim_now_ns + (int64_t)(200 + sim_below(3 * SESSION_MS)) * MS;
    SIM_LOG("broker %d: %s", b->id, clean ? "stopped" : "killed");
}

/* ---- the operator (Kafka 2.8's TopicCommand, through its own session) ---- */

static int registered(struct rb_kzk_broker *out)
{
    char **names = NULL;
    int n = 0, k = 0;
    if (rb_quorum_children(op_q, "/brokers/ids", false, &names, &n))
        return 0;
    for (int i = 0; i < n && k < MAX_BROKERS; i++) {
        char path[64], *data = NULL;
        snprintf(path, sizeof(path), "/brokers/ids/%s", names[i]);
        if (rb_quorum_get(op_q, path, false, &data, NULL, NULL) == 0 &&
            rb_kzk_parse_broker(data, (int32_t)atoi(names[i]), &out[k]) == 0)
            k++;
        free(data);
    }
    free(names);
    return k;
}

static uint32_t op_rand(void *ctx)
{
    (void)ctx;
    return (uint32_t)sim_rand();
}

static void op_create(void)
{
    struct rb_kzk_broker live[MAX_BROKERS];
    int n = registered(live);
    if (n == 0)
        return;
    int32_t rf = 1 + (int32_t)sim_below((uint64_t)(n < 3 ? n : 3));
    int32_t np = 1 + (int32_t)sim_below(6);
    struct rb_kzk_assignment a;
    if (rb_kzk_assignment_alloc(&a, np) || rb_kzk_assign(live, n, rf, 0, np, &a, op_rand, NULL))
        abort();
    char name[32], path[64];
    snprintf(name, sizeof(name), "t%d", topic_seq++);
    char *js = rb_kzk_assignment_json(&a, false);
    snprintf(path, sizeof(path), "/config/topics/%s", name);
    const char *cfg = "{\"version\":1,\"config\":{}}";
    rb_quorum_create(op_q, path, cfg, strlen(cfg), 0, NULL, 0);
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int r = rb_quorum_create(op_q, path, js, strlen(js), 0, NULL, 0);
    SIM_LOG("operator: create %s (%d partitions, rf %d): %d", name, np, rf, r);
    free(js);
    rb_kzk_assignment_free(&a);
}

static bool pick_topic(char *name, size_t cap)
{
    char **names = NULL;
    int n = 0;
    if (rb_quorum_children(op_q, "/brokers/topics", false, &names, &n) || n == 0) {
        free(names);
        return false;
    }
    snprintf(name, cap, "%s", names[sim_below((uint64_t)n)]);
    free(names);
    return true;
}

static void op_delete(void)
{
    char name[64], path[128];
    if (!pick_topic(name, sizeof(name)))
        return;
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", name);
    int r = rb_quorum_create(op_q, path, NULL, 0, 0, NULL, 0);
    SIM_LOG("operator: delete %s: %d", name, r);
}

static void op_grow(void)
{
    char name[64], path[128], *data = NULL;
    struct rb_kzk_broker live[MAX_BROKERS];
    int n = registered(live);
    if (!n || !pick_topic(name, sizeof(name)))
        return;
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int64_t ver;
    struct rb_kzk_assignment old, a;
    if (rb_quorum_get(op_q, path, false, &data, NULL, &ver) ||
        rb_kzk_parse_assignment(data, &old)) {
        free(data);
        return;
    }
    free(data);
    int32_t rf = old.n_replicas[0], add = 1 + (int32_t)sim_below(3);
    if (rf <= n && !rb_kzk_assignment_alloc(&a, old.n_partitions + add)) {
        for (int32_t p = 0; p < old.n_partitions; p++) {
            a.n_replicas[p] = old.n_replicas[p];
            memcpy(a.replicas[p], old.replicas[p], sizeof(a.replicas[p]));
        }
        a.has_id = old.has_id;
        memcpy(a.topic_id, old.topic_id, 16);
        rb_kzk_assign(live, n, rf, old.n_partitions, add, &a, op_rand, NULL);
        char *js = rb_kzk_assignment_json(&a, true);
        int r = rb_quorum_set(op_q, path, js, strlen(js), ver, NULL);
        SIM_LOG("operator: grow %s to %d partitions: %d", name, a.n_partitions, r);
        free(js);
        rb_kzk_assignment_free(&a);
    }
    rb_kzk_assignment_free(&old);
}

/* ---- invariants ---- */

static bool believes_leader(const struct sbroker *b, const char *topic, int32_t p)
{
    if (!b->cl || b->st == B_DOWN)
        return false;
    for (int i = 0; i < b->cl->n_topics; i++) {
        const struct rb_cl_topic *t = &b->cl->topics[i];
        if (strcmp(t->name, topic) == 0)
            return p < t->a.n_partitions && t->st_version[p] >= 0 && t->st[p].leader == b->id;
    }
    return false;
}

static void check_step(void)
{
    int64_t now_ms = sim_now_ns / MS;
    /* one leader with a valid lease per partition */
    char **names = NULL;
    int n = 0;
    if (sim_quorum_count_children("/brokers/topics") > 0 &&
        rb_quorum_children(op_q, "/brokers/topics", false, &names, &n) == 0) {
        for (int i = 0; i < n; i++) {
            for (int32_t p = 0; p < 64; p++) {
                int holders = 0;
                for (int k = 0; k < n_brokers; k++) {
                    const struct sbroker *b = &brokers[k];
                    if (believes_leader(b, names[i], p) &&
                        atomic_load(&b->cl->lease_until) > now_ms)
                        holders++;
                }
                if (holders > 1)
                    failf("split brain: %d brokers lead %s-%d with a valid lease", holders,
                          names[i], p);
            }
            /* topic ids never change */
            char path[128], *data = NULL;
            snprintf(path, sizeof(path), "/brokers/topics/%s", names[i]);
            struct rb_kzk_assignment a;
            if (sim_quorum_read(path, &data, NULL) == 0 && rb_kzk_parse_assignment(data, &a) == 0) {
                if (a.has_id) {
                    int j;
                    for (j = 0; j < n_tids && strcmp(tids[j].name, names[i]) != 0; j++)
                        ;
                    if (j == n_tids && n_tids < 256) {
                        snprintf(tids[j].name, sizeof(tids[j].name), "%s", names[i]);
                        memcpy(tids[j].id, a.topic_id, 16);
                        n_tids++;
                    } else if (j < n_tids && memcmp(tids[j].id, a.topic_id, 16) != 0) {
                        failf("topic %s changed its id", names[i]);
                    }
                }
                rb_kzk_assignment_free(&a);
            }
            free(data);
        }
    }
    free(names);
    /* one controller per epoch */
    for (int a = 0; a < n_brokers; a++)
        for (int b = a + 1; b < n_brokers; b++) {
            const struct rb_cluster *x = brokers[a].cl, *y = brokers[b].cl;
            if (x && y && x->is_controller && y->is_controller && x->ctl_epoch == y->ctl_epoch)
                failf("brokers %d and %d are both controller in epoch %d", brokers[a].id,
                      brokers[b].id, x->ctl_epoch);
        }
}

static bool is_registered(int32_t id)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", id);
    return sim_quorum_read(path, NULL, NULL) == 0;
}

static void check_end(void)
{
    char *data = NULL;
    int32_t ctl = -1;
    if (sim_quorum_read("/controller", &data, NULL) == 0)
        rb_kzk_parse_controller(data, &ctl);
    free(data);
    int n_ctl = 0;
    for (int k = 0; k < n_brokers; k++) {
        const struct sbroker *b = &brokers[k];
        if (b->cl && b->cl->is_controller) {
            n_ctl++;
            if (b->id != ctl || !sim_quorum_owner_is("/controller", b->cl->q))
                failf("broker %d acts as controller but /controller names %d", b->id, ctl);
        }
    }
    if (n_ctl != 1)
        failf("%d controllers after the faults healed (/controller: %d)", n_ctl, ctl);
    if (sim_quorum_count_children("/admin/delete_topics") != 0)
        failf("%d topic deletions left undone", sim_quorum_count_children("/admin/delete_topics"));
    char **names = NULL;
    int n = 0;
    if (rb_quorum_children(op_q, "/brokers/topics", false, &names, &n))
        return;
    for (int i = 0; i < n; i++) {
        char path[160];
        snprintf(path, sizeof(path), "/brokers/topics/%s", names[i]);
        struct rb_kzk_assignment a;
        if (sim_quorum_read(path, &data, NULL) || rb_kzk_parse_assignment(data, &a)) {
            free(data);
            failf("topic %s has no readable assignment", names[i]);
            continue;
        }
        free(data);
        if (!a.has_id)
            failf("topic %s has no topic id", names[i]);
        for (int32_t p = 0; p < a.n_partitions; p++) {
            struct rb_kzk_state st;
            snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", names[i], p);
            if (sim_quorum_read(path, &data, NULL) || rb_kzk_parse_state(data, &st)) {
                free(data);
                failf("%s-%d has no state", names[i], p);
                continue;
            }
            free(data);
            bool live_isr = false, leader_in_isr = false;
            for (int32_t q = 0; q < st.n_isr; q++) {
                live_isr |= is_registered(st.isr[q]);
                leader_in_isr |= st.isr[q] == st.leader;
            }
            if (live_isr && (st.leader < 0 || !is_registered(st.leader) || !leader_in_isr))
                failf("%s-%d: leader %d although a live ISR member exists", names[i], p, st.leader);
            for (int k = 0; k < n_brokers; k++) {
                const struct sbroker *b = &brokers[k];
                if (!b->cl)
                    continue;
                bool mine = believes_leader(b, names[i], p);
                if (mine != (st.leader == b->id))
                    failf("broker %d's view of %s-%d's leader is stale (quorum: %d)", b->id,
                          names[i], p, st.leader);
            }
        }
        rb_kzk_assignment_free(&a);
    }
    free(names);
}

/* ---- the run ---- */

static bool pending_events(struct rb_cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    bool any = cl->n_ev > 0 || cl->ev_all || cl->ev_expired;
    pthread_mutex_unlock(&cl->mu);
    return any;
}

static void step(bool faults)
{
    for (int k = 0; k < n_brokers; k++) {
        struct sbroker *b = &brokers[k];
        if (b->st == B_DOWN && sim_now_ns >= b->until_ns && (!faults || sim_chance(500000)))
            broker_open(b);
        if (b->st == B_PAUSED && sim_now_ns >= b->until_ns) {
            b->st = B_UP;
            SIM_LOG("broker %d: resumed", b->id);
        }
        if (b->cl && b->cut_until_ns && sim_now_ns >= b->cut_until_ns) {
            b->cut_until_ns = 0;
            sim_quorum_set_cut(b->cl->q, false);
            SIM_LOG("broker %d: network healed", b->id);
        }
        if (b->st != B_UP)
            continue;
        if (sim_now_ns >= b->next_tick_ns) {
            rb_cl_tick(b->cl);
            b->next_tick_ns = sim_now_ns + (int64_t)(SESSION_MS / 6 - 100 + sim_below(200)) * MS;
        }
        if (pending_events(b->cl) && (!faults || sim_chance(700000)))
            rb_cl_sync(NULL, b->cl);
        else if (!faults && sim_chance(200000))
            rb_cl_sync(NULL, b->cl); /* a retry of reads that failed earlier */
    }
    check_step();
    if (faults && sim_chance(60000)) {
        struct sbroker *b = &brokers[sim_below((uint64_t)n_brokers)];
        switch (sim_below(9)) {
        case 0:
        case 1:
            if (b->st == B_UP) {
                b->st = B_PAUSED;
                b->until_ns = sim_now_ns + (int64_t)(300 + sim_below(3 * SESSION_MS)) * MS;
                SIM_LOG("broker %d: paused", b->id);
            }
            break;
        case 2:
            if (b->cl && b->cl->q && !b->cut_until_ns) {
                sim_quorum_set_cut(b->cl->q, true);
                b->cut_until_ns = sim_now_ns + (int64_t)(300 + sim_below(3 * SESSION_MS)) * MS;
                SIM_LOG("broker %d: cut off from the quorum", b->id);
            }
            break;
        case 3:
            broker_crash(b, false);
            break;
        case 4:
            broker_crash(b, true);
            break;
        case 5:
        case 6:
            op_create();
            break;
        case 7:
            op_delete();
            break;
        case 8:
            op_grow();
            break;
        }
    }
    sim_now_ns += (int64_t)(1 + sim_below(150)) * MS;
    sim_quorum_expire_due();
}

int sim_cluster_run(uint64_t seed, char *why, size_t whylen)
{
    sim_rng_seed(seed);
    rb_loglevel_max = sim_verbose >= 2 ? RB_LL_INFO : RB_LL_ERROR;
    sim_clock_install(1800000000000LL);
    sim_now_ns = 1000 * MS;
    sim_failures = 0;
    first_failure = NULL;
    n_tids = 0;
    topic_seq = 0;
    sim_quorum_reset();
    sim_quorum_install();
    struct rb_quorum_config oc = {
        .backend = "test", .connect = "operator", .session_timeout_ms = INT32_MAX};
    char err[256];
    if (rb_quorum_open(&op_q, &oc, err, sizeof(err)))
        abort();
    n_brokers = 3 + (int)sim_below(3);
    for (int k = 0; k < n_brokers; k++) {
        brokers[k] = (struct sbroker){.id = k + 1};
        broker_open(&brokers[k]);
    }
    for (int i = 0; i < 3; i++)
        op_create();
    int64_t fault_end = sim_now_ns + 30000 * MS, settle_end = fault_end + 60000 * MS;
    while (sim_now_ns < fault_end && !first_failure && !sim_failures)
        step(true);
    /* heal everything, bring every broker back, let it settle */
    for (int k = 0; k < n_brokers; k++) {
        struct sbroker *b = &brokers[k];
        if (b->st == B_PAUSED)
            b->st = B_UP;
        if (b->cl && b->cut_until_ns) {
            b->cut_until_ns = 0;
            sim_quorum_set_cut(b->cl->q, false);
        }
        if (b->st == B_DOWN)
            b->until_ns = sim_now_ns;
    }
    while (sim_now_ns < settle_end && !first_failure && !sim_failures)
        step(false);
    for (int round = 0; round < 3 && !first_failure; round++)
        for (int k = 0; k < n_brokers; k++)
            if (brokers[k].cl) {
                rb_cl_tick(brokers[k].cl);
                rb_cl_sync(NULL, brokers[k].cl);
            }
    if (!first_failure)
        check_end();
    for (int k = 0; k < n_brokers; k++) {
        rb_cl_detached_close(brokers[k].cl);
        brokers[k].cl = NULL;
    }
    rb_quorum_close(op_q);
    op_q = NULL;
    if (!first_failure && sim_failures)
        first_failure = "an invariant of the quorum (see above)";
    if (first_failure)
        snprintf(why, whylen, "%s", first_failure);
    return first_failure ? 1 : 0;
}
