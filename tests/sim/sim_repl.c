/*
 * tests/sim/sim_repl.c - the replication simulation, sim(repl) (README.md): three
 * brokers' part/ tables (the real part/isr.c leader logic, part/follow.c and
 * part/epoch.c follower logic, part/read.c's replica reads, storage/ over the
 * simulated disk) replicating partition "r"-0 (RF 3, min.insync.replicas 2) over
 * simulated links, with the partition state kept by a model of the quorum and
 * its controller (Kafka 2.8's rules: leaders elected from the live ISR only, a
 * dead broker leaves the ISR with a new leader epoch, a leader's ISR change
 * applied only while it leads that epoch, a broker's view arriving late), acks=all
 * producers and a consumer. Faults from the seed: links cut between brokers,
 * messages dropped, delayed and reordered, brokers killed (page cache kept) or
 * losing power (unsynced writes lost) at any step and restarted, paused past
 * their session, cut off from the quorum, a disk full for a moment (fallocate
 * ENOSPC). Invariants: sim_repl_check.c.
 *
 * Owns: the brokers' lifetimes, the links (a message queue ordered by due time),
 * the partition state (Q), the follower's fetch loop (net/replica_fetch.c's rules)
 * and the leader's answer (net/h_fetch.c's: a part/ read set), the clients.
 */
#include "core/logging.h"
#include "core/rb.h"
#include "core/timer.h"
#include "part/part_int.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_repl.h"
#include "tests/sim/sim_work.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MS         1000000LL
#define SESSION_MS 3000
#define LEASE_MS   2000
#define FAULT_MS   30000
#define SETTLE_MS  25000
#define MAX_MSGS   512

enum bst { B_UP, B_PAUSED, B_DOWN };

struct sbroker {
    int32_t id;
    enum bst st;
    int64_t until_ns;      /* PAUSED: resume; DOWN: restart */
    int64_t qcut_until_ns; /* cut off from the quorum until then */
    int64_t sess_ns;       /* last contact with the quorum */
    bool sess_lost;        /* the quorum expired its session */
    int gen;               /* lifetime */
    struct sr_inc *inc;
    int32_t applied, leader, epoch; /* the partition state it applied */
    bool inflight;
    int32_t corr;
    int64_t sent_ns, next_fetch_ns;
    char dir[300];
};

static struct sbroker br[SR_BROKERS];
static const int32_t replicas[SR_BROKERS] = {1, 2, 3};
static int64_t cut_until[SR_BROKERS + 1][SR_BROKERS + 1]; /* link a-b cut until */

/* The quorum's partition state. */
static struct {
    int32_t leader, epoch, version, n_isr;
    int32_t isr[SR_BROKERS];
} Q;

static struct {
    uint32_t drop_ppm, late_ppm, fault_ppm, poll_ppm;
    int64_t late_max_ms, lag_ms;
} cfg;

static uint64_t fingerprint;

static void fp_mix(uint64_t v)
{
    fingerprint = (fingerprint ^ v) * 0x100000001b3ULL;
    fingerprint ^= (uint64_t)sim_now_ns;
}

static int64_t now_ms(void)
{
    return sim_now_ns / MS;
}

/* ---- messages between brokers (fetch requests and responses, ISR changes) ---- */

enum mkind { M_FETCH, M_RESP, M_ISR };

struct msg {
    int64_t due;
    int32_t from, to;
    int gen; /* the follower's lifetime (fetch and answer) */
    enum mkind kind;
    int32_t corr, cur_epoch, last_epoch, div_epoch;
    int64_t offset, hw, log_start, div_end;
    int16_t err;
    bool diverged;
    int32_t add, remove; /* M_ISR */
    uint8_t *bytes;
    uint32_t len;
};
static struct msg msgs[MAX_MSGS];
static int n_msgs;

static bool link_cut(int32_t a, int32_t b)
{
    return cut_until[a][b] > sim_now_ns;
}

static void send_msg(struct msg *m)
{
    if ((m->kind != M_ISR && link_cut(m->from, m->to)) || sim_chance(cfg.drop_ppm) ||
        n_msgs == MAX_MSGS) {
        free(m->bytes);
        return;
    }
    int64_t d = sim_chance(cfg.late_ppm) ? (int64_t)sim_below((uint64_t)cfg.late_max_ms * 1000)
                                         : (int64_t)(100 + sim_below(5000));
    m->due = sim_now_ns + d * 1000;
    msgs[n_msgs++] = *m;
}

/* ---- a broker's lifetime ---- */

static struct sbroker *broker(int32_t id)
{
    return id >= 1 && id <= SR_BROKERS ? &br[id - 1] : NULL;
}

static void isr_sink(void *arg, const struct rb_part_isr_change *c)
{
    struct sbroker *b = arg;
    if (b->qcut_until_ns > sim_now_ns || b->sess_lost)
        return; /* the quorum write fails; part/ proposes again later */
    struct msg m = {.from = b->id,
                    .to = 0,
                    .kind = M_ISR,
                    .cur_epoch = c->leader_epoch,
                    .add = c->add,
                    .remove = c->remove};
    send_msg(&m);
}

static void apply_state(struct sbroker *b)
{
    struct rb_part_key k = sr_key();
    enum rb_part_role role = Q.leader == b->id ? RB_PART_LEADER
                             : Q.leader >= 0   ? RB_PART_FOLLOWER
                                               : RB_PART_NO_ROLE;
    struct rb_part_shard *ps = b->inc->ps;
    RB_ASSERT(rb_part_set_role(ps, &k, role, Q.epoch) == 0);
    RB_ASSERT(rb_part_set_isr(ps, &k, replicas, SR_BROKERS, Q.isr, Q.n_isr, -1, 2) == 0);
    b->applied = Q.version;
    b->leader = Q.leader;
    b->epoch = Q.epoch;
    b->next_fetch_ns = sim_now_ns; /* news: fetch at once */
    SIM_LOG("broker %d: applied version %d: leader %d epoch %d isr %d", b->id, Q.version, Q.leader,
            Q.epoch, Q.n_isr);
}

static void broker_start(struct sbroker *b)
{
    if (b->qcut_until_ns > sim_now_ns) {
        b->until_ns = sim_now_ns + 200 * MS; /* needs the quorum to start */
        return;
    }
    struct sr_inc *inc = calloc(1, sizeof(*inc));
    RB_ASSERT(inc);
    inc->rt.n_shards = 1;
    inc->rt.n_threads = 2;
    inc->shard.rt = &inc->rt;
    inc->shard.now_ms = now_ms();
    rb_timers_init(&inc->shard.timers);
    inc->bc.broker_id = b->id;
    inc->bc.log_tail_cache_bytes = 1 << 20;
    inc->bc.log_retention_check_interval_ms = 300000;
    RB_ASSERT(rb_disk_sim_new(&inc->disk) == 0);
    inc->ps = rb_part_shard_new(&inc->shard, NULL, &inc->bc);
    RB_ASSERT(inc->ps);
    inc->shard.part = inc->ps;
    inc->ps->maint.set = true; /* no retention or checkpoint timers */
    inc->ps->replica_lag_ms = cfg.lag_ms;
    rb_part_set_isr_sink(inc->ps, isr_sink, b);
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = (uint64_t)(16 + sim_below(240)) << 10;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = 16 << 10;
    c.max_dirty_bytes = 256 << 10;
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/r-0", b->dir);
    (void)mkdir(dir, 0755);
    struct rb_log *log = NULL;
    RB_ASSERT(rb_log_open(&log, dir, &c, rb_disk_sim_disk(inc->disk), now_ms()) == 0);
    uint8_t id[16] = {7};
    RB_ASSERT(rb_part_add(inc->ps, SR_TOPIC, id, 0, log) == 0);
    b->inc = inc;
    b->gen++;
    b->st = B_UP;
    b->inflight = false;
    b->sess_ns = sim_now_ns;
    b->sess_lost = false;
    apply_state(b); /* roles before it serves anything (cmd/broker.c) */
    SIM_LOG("broker %d: up (lifetime %d)", b->id, b->gen);
    fp_mix(0x100 + (uint64_t)b->id);
}

static void broker_crash(struct sbroker *b, bool power)
{
    if (b->st == B_DOWN)
        return;
    /* the lifetime is left as it is, never touched again (the run is a child) */
    RB_ASSERT(rb_disk_sim_crash(b->inc->disk, power) == 0);
    b->inc = NULL;
    b->st = B_DOWN;
    b->until_ns = sim_now_ns + (int64_t)(200 + sim_below(4000)) * MS;
    SIM_LOG("broker %d: %s", b->id, power ? "power lost" : "killed");
    fp_mix(0x200 + (uint64_t)b->id);
}

static bool may_lead(const struct sbroker *b)
{
    return b->st == B_UP && !b->sess_lost && sim_now_ns - b->sess_ns < LEASE_MS * MS;
}

/* ---- the leader's answer to a fetch (net/h_fetch.c's part) ---- */

static void poll_answered(const struct sr_poll_ctx *c, const struct rb_part_read *rd,
                          uint8_t *bytes, uint32_t len)
{
    struct msg r = {.from = c->leader,
                    .to = c->follower,
                    .gen = c->gen,
                    .kind = M_RESP,
                    .corr = c->corr,
                    .bytes = bytes,
                    .len = len,
                    .err = rd->it.error,
                    .hw = rd->high_watermark,
                    .log_start = rd->log_start_offset,
                    .diverged = rd->diverged,
                    .div_epoch = rd->diverging_epoch,
                    .div_end = rd->diverging_end_offset};
    if (sim_verbose >= 3)
        SIM_LOG("broker %d: fetch from %d at %lld: err %d diverged %d (%d, %lld) hw %lld, %u "
                "bytes",
                c->leader, c->follower, (long long)rd->offset, r.err, r.diverged, r.div_epoch,
                (long long)r.div_end, (long long)r.hw, r.len);
    send_msg(&r);
}

static void on_fetch(struct sbroker *b, const struct msg *m)
{
    struct sr_poll_ctx c = {.leader = b->id, .follower = m->from, .corr = m->corr, .gen = m->gen};
    int64_t wait = sim_chance(cfg.poll_ppm) ? 1 + (int64_t)sim_below(500) : 0;
    b->inc->shard.now_ms = now_ms();
    sr_read_poll(b->inc, m->from, m->offset, m->cur_epoch, m->last_epoch, wait, poll_answered, &c);
}

/* ---- the follower's fetch loop (net/replica_fetch.c's rules) ---- */

static void backoff(struct sbroker *b, int16_t err)
{
    bool moving = err == RB_KERR_NOT_LEADER_OR_FOLLOWER || err == RB_KERR_UNKNOWN_LEADER_EPOCH ||
                  err == RB_KERR_FENCED_LEADER_EPOCH;
    b->next_fetch_ns = sim_now_ns + (moving ? 100 : 500) * MS;
}

static void on_resp(struct sbroker *b, const struct msg *m)
{
    if (!b->inflight || m->corr != b->corr || m->gen != b->gen)
        return; /* an answer to an abandoned fetch */
    b->inflight = false;
    struct rb_part_shard *ps = b->inc->ps;
    struct rb_part_key k = sr_key();
    if (m->err) {
        backoff(b, m->err);
        return;
    }
    if (m->diverged && m->div_epoch >= 0 && m->div_end >= 0) {
        int64_t hw = -1, from = -1;
        (void)rb_part_high_watermark(ps, &k, &hw);
        int r = rb_part_diverged(ps, &k, m->div_epoch, m->div_end, hw, &from);
        SIM_LOG("broker %d: diverged from %d (epoch %d ends at %lld): %d, fetching from %lld",
                b->id, m->from, m->div_epoch, (long long)m->div_end, r, (long long)from);
        fp_mix(0x300 + (uint64_t)from);
        if (r < 0)
            backoff(b, 0);
        return;
    }
    if (m->log_start > 0)
        (void)rb_part_follow_log_start(ps, &k, m->log_start);
    if (!m->len) {
        b->next_fetch_ns = sim_now_ns + (int64_t)(10 + sim_below(200)) * MS; /* long poll */
        return;
    }
    int appended = 0;
    int r = rb_part_append_replica(ps, &k, m->bytes, m->len, m->hw, &appended);
    if (r && r != -ENOBUFS) {
        SIM_LOG("broker %d: replica append from %d: %d", b->id, m->from, r);
        backoff(b, 0);
    }
}

static void fetch_step(struct sbroker *b)
{
    if (b->inflight && sim_now_ns - b->sent_ns > 3000 * MS) {
        b->inflight = false; /* replica.socket.timeout.ms */
        backoff(b, 0);
    }
    if (b->inflight || b->leader < 0 || b->leader == b->id || sim_now_ns < b->next_fetch_ns)
        return;
    struct rb_part_key k = sr_key();
    struct rb_part_follow_pos pos;
    if (rb_part_follow_pos(b->inc->ps, &k, &pos) || pos.role != RB_PART_FOLLOWER || pos.offline)
        return;
    if (pos.unwritten) {
        b->next_fetch_ns = sim_now_ns + 2 * MS; /* the position the leader sees is on disk */
        return;
    }
    int32_t last_epoch = -1;
    int64_t leo;
    (void)rb_part_latest_epoch(b->inc->ps, &k, &last_epoch, &leo);
    struct msg m = {.from = b->id,
                    .to = b->leader,
                    .gen = b->gen,
                    .kind = M_FETCH,
                    .corr = ++b->corr,
                    .cur_epoch = pos.leader_epoch,
                    .last_epoch = last_epoch,
                    .offset = pos.fetch_offset,
                    .log_start = pos.log_start};
    b->inflight = true;
    b->sent_ns = sim_now_ns;
    send_msg(&m);
}

/* ---- the quorum and its controller ---- */

static bool registered(int32_t id)
{
    return !broker(id)->sess_lost;
}

static bool in_isr(int32_t id)
{
    for (int i = 0; i < Q.n_isr; i++)
        if (Q.isr[i] == id)
            return true;
    return false;
}

static void state_changed(const char *why)
{
    Q.version++;
    SIM_LOG("quorum: %s: leader %d epoch %d isr [%d %d %d] (%d) version %d", why, Q.leader, Q.epoch,
            Q.n_isr > 0 ? Q.isr[0] : -1, Q.n_isr > 1 ? Q.isr[1] : -1, Q.n_isr > 2 ? Q.isr[2] : -1,
            Q.n_isr, Q.version);
    fp_mix(0x400 + (uint64_t)Q.version * 31 + (uint64_t)(Q.leader + 1));
}

static void controller_step(void)
{
    if (Q.leader < 0 || !registered(Q.leader)) {
        int32_t pick = -1;
        for (int i = 0; i < SR_BROKERS && pick < 0; i++)
            if (in_isr(replicas[i]) && registered(replicas[i]) && replicas[i] != Q.leader)
                pick = replicas[i]; /* no unclean election */
        if (pick < 0 && Q.leader < 0)
            return;
        int n = 0;
        int32_t isr[SR_BROKERS];
        for (int i = 0; i < Q.n_isr; i++)
            if (pick >= 0 && registered(Q.isr[i]))
                isr[n++] = Q.isr[i];
        if (pick >= 0) {
            memcpy(Q.isr, isr, sizeof(isr));
            Q.n_isr = n;
        }
        Q.leader = pick;
        Q.epoch++;
        state_changed(pick >= 0 ? "leader elected" : "no live ISR member");
        return;
    }
    /* a dead follower leaves the ISR, with a new leader epoch (coord/isr_change.c) */
    int n = 0;
    int32_t isr[SR_BROKERS];
    for (int i = 0; i < Q.n_isr; i++)
        if (Q.isr[i] == Q.leader || registered(Q.isr[i]))
            isr[n++] = Q.isr[i];
    if (n != Q.n_isr) {
        memcpy(Q.isr, isr, sizeof(isr));
        Q.n_isr = n;
        Q.epoch++;
        state_changed("dead follower out of the ISR");
    }
}

/* A leader's ISR change (coord/isr_change.c): only while it leads that epoch. */
static void on_isr_change(const struct msg *m)
{
    const struct sbroker *b = broker(m->from);
    if (Q.leader != m->from || Q.epoch != m->cur_epoch || b->sess_lost)
        return;
    int n = 0;
    int32_t isr[SR_BROKERS];
    isr[n++] = Q.leader;
    for (int i = 0; i < Q.n_isr; i++)
        if (Q.isr[i] != Q.leader && Q.isr[i] != m->remove)
            isr[n++] = Q.isr[i];
    if (m->add >= 0 && !in_isr(m->add) && n < SR_BROKERS)
        isr[n++] = m->add;
    if (n == Q.n_isr && (m->add < 0 || in_isr(m->add)))
        return; /* already so */
    memcpy(Q.isr, isr, sizeof(isr));
    Q.n_isr = n;
    state_changed(m->add >= 0 ? "ISR expanded" : "ISR shrunk");
}

static void sessions_step(void)
{
    for (int i = 0; i < SR_BROKERS; i++) {
        struct sbroker *b = &br[i];
        bool reach = b->st == B_UP && b->qcut_until_ns <= sim_now_ns;
        if (reach) {
            if (b->sess_lost) {
                b->sess_lost = false; /* a new session; its view comes first */
                apply_state(b);
            }
            b->sess_ns = sim_now_ns;
        } else if (!b->sess_lost && sim_now_ns - b->sess_ns > SESSION_MS * MS) {
            b->sess_lost = true;
            SIM_LOG("quorum: broker %d's session expired", b->id);
            fp_mix(0x500 + (uint64_t)b->id);
        }
    }
}

/* ---- message delivery ---- */

static void deliver_due(void)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < n_msgs; i++) {
            const struct msg *m = &msgs[i];
            const struct sbroker *to = m->kind == M_ISR ? NULL : broker(m->to);
            if (m->due > sim_now_ns || (to && to->st == B_PAUSED))
                continue;
            if (best < 0 || m->due < msgs[best].due)
                best = i;
        }
        if (best < 0)
            return;
        struct msg m = msgs[best];
        msgs[best] = msgs[--n_msgs];
        struct sbroker *to = m.kind == M_ISR ? NULL : broker(m.to);
        if (m.kind == M_ISR)
            on_isr_change(&m);
        else if (to->st == B_UP && m.kind == M_FETCH)
            on_fetch(to, &m);
        else if (to->st == B_UP && m.kind == M_RESP)
            on_resp(to, &m);
        free(m.bytes);
    }
}

/* ---- what the clients see (sim_repl_clients.c) ---- */

struct sr_inc *sr_broker_inc(int32_t id, int *gen)
{
    struct sbroker *b = broker(id);
    if (!b || b->st != B_UP)
        return NULL;
    *gen = b->gen;
    return b->inc;
}

bool sr_broker_alive(int32_t id, int gen)
{
    const struct sbroker *b = broker(id);
    return b && b->st != B_DOWN && b->gen == gen;
}

bool sr_may_lead(int32_t id)
{
    const struct sbroker *b = broker(id);
    return b && may_lead(b);
}

int32_t sr_quorum_leader(void)
{
    return Q.leader;
}

void sr_fp(uint64_t v)
{
    fp_mix(v);
}

/* ---- the run ---- */

static void broker_step(struct sbroker *b)
{
    /* a restart registers once the old session expired (Kafka 2.8 on ZooKeeper): the
     * controller sees every crash as a failure */
    if (b->st == B_DOWN && sim_now_ns >= b->until_ns && b->sess_lost)
        broker_start(b);
    if (b->st == B_PAUSED && sim_now_ns >= b->until_ns) {
        b->st = B_UP;
        SIM_LOG("broker %d: resumed", b->id);
    }
    if (b->st != B_UP)
        return;
    struct sr_inc *inc = b->inc;
    inc->shard.now_ms = now_ms();
    if (b->applied != Q.version && !b->sess_lost && b->qcut_until_ns <= sim_now_ns &&
        sim_chance(400000))
        apply_state(b);
    rb_timers_run(&inc->shard.timers, inc->shard.now_ms);
    rb_part_turn(inc->ps);
    if (sim_chance(700000))
        rb_disk_sim_run(inc->disk);
    fetch_step(b);
}

static void fault_step(void)
{
    if (!sim_chance(cfg.fault_ppm))
        return;
    struct sbroker *b = &br[sim_below(SR_BROKERS)];
    int64_t len = (int64_t)(300 + sim_below(2 * SESSION_MS)) * MS;
    switch (sim_below(8)) {
    case 7: /* a full disk for a moment: the next fallocates fail (retriable) */
        if (b->inc) {
            rb_disk_sim_fail_fallocate(b->inc->disk, 1 + (unsigned)sim_below(3), ENOSPC);
            SIM_LOG("broker %d: disk full", b->id);
        }
        break;
    case 0:
        broker_crash(b, false);
        break;
    case 1:
        broker_crash(b, true);
        break;
    case 2:
        if (b->st == B_UP) {
            b->st = B_PAUSED;
            b->until_ns = sim_now_ns + len;
            SIM_LOG("broker %d: paused", b->id);
        }
        break;
    case 3:
        b->qcut_until_ns = sim_now_ns + len;
        SIM_LOG("broker %d: cut off from the quorum", b->id);
        break;
    case 4: /* cut off from the other brokers */
        for (int32_t o = 1; o <= SR_BROKERS; o++)
            cut_until[b->id][o] = cut_until[o][b->id] = sim_now_ns + len;
        SIM_LOG("broker %d: cut off from the other brokers", b->id);
        break;
    default: { /* one link */
        int32_t o = 1 + (int32_t)((b->id + sim_below(SR_BROKERS - 1)) % SR_BROKERS);
        cut_until[b->id][o] = cut_until[o][b->id] = sim_now_ns + len;
        SIM_LOG("link %d-%d cut", b->id, o);
        break;
    }
    }
}

static void step(bool faults)
{
    sessions_step();
    controller_step();
    for (int i = 0; i < SR_BROKERS; i++)
        broker_step(&br[sim_below(SR_BROKERS)]);
    deliver_due();
    clients_step(faults);
    for (int i = 0; i < SR_BROKERS && !sim_failures; i++)
        if (br[i].inc)
            sr_check_broker(br[i].id, br[i].inc, false);
    clients_check();
    if (faults)
        fault_step();
    sim_now_ns += (int64_t)(1 + sim_below(20)) * MS;
}

static void heal(void)
{
    memset(cut_until, 0, sizeof(cut_until));
    for (int i = 0; i < SR_BROKERS; i++) {
        struct sbroker *b = &br[i];
        b->qcut_until_ns = 0;
        if (b->st == B_PAUSED)
            b->until_ns = sim_now_ns;
        if (b->st == B_DOWN)
            b->until_ns = sim_now_ns;
    }
}

static void check_end(void)
{
    struct sbroker *l = Q.leader >= 0 ? broker(Q.leader) : NULL;
    if (!l || l->st != B_UP || l->applied != Q.version) {
        sim_fail("no live leader after the faults healed (leader %d)", Q.leader);
        return;
    }
    struct rb_part_key k = sr_key();
    struct rb_part_follow_pos lp;
    int64_t hw = -1;
    RB_ASSERT(rb_part_follow_pos(l->inc->ps, &k, &lp) == 0);
    RB_ASSERT(rb_part_high_watermark(l->inc->ps, &k, &hw) == 0);
    if (Q.n_isr != SR_BROKERS || hw != lp.fetch_offset)
        sim_fail("not converged after the faults healed: ISR of %d, leader %d's high watermark "
                 "%lld, log end %lld",
                 Q.n_isr, l->id, (long long)hw, (long long)lp.fetch_offset);
    for (int i = 0; i < SR_BROKERS && !sim_failures; i++) {
        struct sbroker *b = &br[i];
        struct rb_part_follow_pos fp;
        RB_ASSERT(b->inc && rb_part_follow_pos(b->inc->ps, &k, &fp) == 0);
        if (fp.fetch_offset != lp.fetch_offset)
            sim_fail("broker %d: log end %lld, the leader's %lld after the faults healed", b->id,
                     (long long)fp.fetch_offset, (long long)lp.fetch_offset);
        sr_check_broker(b->id, b->inc, true);
        sr_check_final(b->id, b->inc);
    }
}

int sr_run(uint64_t seed, const char *root, char *why, size_t whylen, uint64_t *fp)
{
    sim_rng_seed(seed);
    rb_loglevel_max = sim_verbose >= 2 ? RB_LL_INFO : RB_LL_ERROR;
    sim_clock_install(1800000000000LL);
    sim_now_ns = 1000 * MS;
    sim_failures = 0;
    fingerprint = 0;
    sr_check_reset();
    memset(cut_until, 0, sizeof(cut_until));
    n_msgs = 0;
    cfg.drop_ppm = (uint32_t)sim_below(50000);
    cfg.late_ppm = (uint32_t)sim_below(100000);
    cfg.late_max_ms = 20 + (int64_t)sim_below(1000);
    cfg.fault_ppm = 2000 + (uint32_t)sim_below(8000);
    cfg.lag_ms = 1000 + (int64_t)sim_below(3000);
    cfg.poll_ppm = (uint32_t)sim_below(1000001); /* replica fetches that long-poll */
    Q.leader = 1;
    Q.epoch = 0;
    Q.version = 0;
    Q.n_isr = SR_BROKERS;
    memcpy(Q.isr, replicas, sizeof(replicas));
    clients_reset();
    for (int i = 0; i < SR_BROKERS; i++) {
        br[i] = (struct sbroker){.id = replicas[i], .applied = -1};
        snprintf(br[i].dir, sizeof(br[i].dir), "%s/b%d", root, br[i].id);
        (void)mkdir(br[i].dir, 0755);
        broker_start(&br[i]);
    }
    int64_t fault_end = sim_now_ns + FAULT_MS * MS, settle_end = fault_end + SETTLE_MS * MS;
    while (sim_now_ns < fault_end && !sim_failures)
        step(true);
    heal();
    while (sim_now_ns < settle_end && !sim_failures)
        step(false);
    if (!sim_failures)
        check_end();
    snprintf(why, whylen, "%s", sim_failures ? sim_first_failure : "");
    *fp = fingerprint;
    return sim_failures ? 1 : 0;
}
