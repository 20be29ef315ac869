/*
 * tests/sim/sim_repl_clients.c - the clients of the replication simulation
 * (sim_repl.c): two acks=all producers (one batch in flight each, to the leader
 * their metadata names, a produce timeout of 3 s; a retry is a new batch, so an
 * acknowledgement names exactly one batch) appending through part/'s produce path
 * (rb_part_append: min.insync.replicas, the ISR waiters), and a consumer reading
 * from the leader below its high watermark. The first producer is idempotent: it
 * sends the same batch (producer id, sequence) until it is acknowledged, through
 * failovers, so the producer state a follower kept decides; it must never get
 * OUT_OF_ORDER_SEQUENCE_NUMBER, and the committed log holds each sequence once
 * (sim_repl_check.c).
 *
 * Owns: the producers' batches in flight (heap: a batch whose broker paused is
 * abandoned and freed by its late answer; one whose broker crashed is left with
 * that lifetime), the acknowledgements and consumer reads waiting for their check.
 */
#include "core/kerr.h"
#include "core/rb.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_repl.h"
#include "tests/sim/sim_work.h"

#include <stdlib.h>
#include <string.h>

#define MS        1000000LL
#define N_PROD    2
#define MAX_TAKEN 64

struct send {
    struct rb_part_append a;
    bool orphan, answered;
    int16_t err;
    int32_t broker, epoch;
    int gen;
    int64_t sent_ns;
    uint32_t len;
    uint8_t buf[8192];
};

struct prod {
    bool idem;
    uint32_t cur_len; /* idempotent: the batch until it is acknowledged */
    int cur_count;
    uint8_t cur[8192];
    uint32_t seq;
    int32_t target;
    int64_t next_ns;
    struct send *s;
};

static struct prod prods[N_PROD];
static struct send *acked[MAX_TAKEN];
static int n_acked;

static struct {
    int64_t pos, next_ns;
    int32_t from;
    uint8_t *data;
    uint32_t len;
} cons;

void clients_reset(void)
{
    memset(prods, 0, sizeof(prods));
    for (int i = 0; i < N_PROD; i++)
        prods[i].target = -1;
    prods[0].idem = true;
    n_acked = 0;
    memset(&cons, 0, sizeof(cons));
}

static void answered(struct rb_shard *s, struct rb_part_item *it, void *arg)
{
    (void)s;
    struct send *x = arg;
    if (x->orphan) {
        free(x);
        return;
    }
    x->answered = true;
    x->err = it->error;
}

static bool appended(int16_t err)
{
    return err == RB_KERR_NONE || err == RB_KERR_REQUEST_TIMED_OUT ||
           err == RB_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
}

static void prod_answer(struct prod *p)
{
    struct send *x = p->s;
    if (x->answered) {
        int16_t err = x->err;
        p->s = NULL;
        if (appended(x->err))
            sr_check_leader_append(x->broker, x->epoch);
        sr_fp(0x600 + (uint64_t)x->err * 7 + (uint64_t)x->a.base_offset);
        if (err == RB_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER)
            sim_fail("broker %d: the idempotent producer's retry (sequence %u) got "
                     "OUT_OF_ORDER_SEQUENCE_NUMBER",
                     x->broker, p->seq);
        if (!err && p->idem) {
            p->seq += (uint32_t)p->cur_count;
            p->cur_len = 0;
        }
        if (!x->err && n_acked < MAX_TAKEN) {
            acked[n_acked++] = x;
        } else {
            SIM_LOG("producer: broker %d answered %d", x->broker, x->err);
            if (x->err)
                p->target = -1; /* metadata again */
            free(x);
        }
        p->next_ns = sim_now_ns + (int64_t)(err ? 50 + sim_below(100) : sim_below(20)) * MS;
    } else if (!sr_broker_alive(x->broker, x->gen)) {
        p->s = NULL; /* crashed: left with its lifetime, never answered */
        p->target = -1;
    } else if (sim_now_ns - x->sent_ns > 6000 * MS) {
        x->orphan = true; /* the connection times out; the answer frees it */
        p->s = NULL;
        p->target = -1;
    }
}

static void prod_send(int idx, struct prod *p)
{
    if (p->target < 0)
        p->target = sr_quorum_leader();
    int gen = 0;
    struct sr_inc *inc = p->target >= 0 ? sr_broker_inc(p->target, &gen) : NULL;
    if (!inc || !sr_may_lead(p->target)) {
        p->target = -1; /* refused, or no connection */
        p->next_ns = sim_now_ns + (int64_t)(20 + sim_below(100)) * MS;
        return;
    }
    struct send *x = calloc(1, sizeof(*x));
    RB_ASSERT(x);
    if (p->idem && p->cur_len) { /* the same batch again */
        memcpy(x->buf, p->cur, p->cur_len);
        x->len = p->cur_len;
    } else {
        int count = 1 + (int)sim_below(5);
        x->len = (uint32_t)sim_batch_build(x->buf, sizeof(x->buf), (uint32_t)(idx + 1), p->seq,
                                           count, p->idem ? SR_IDEM_PID : -1, 0, (int32_t)p->seq);
        if (p->idem) {
            memcpy(p->cur, x->buf, x->len);
            p->cur_len = x->len;
            p->cur_count = count;
        } else {
            p->seq += (uint32_t)count;
        }
    }
    struct rb_part_key k = sr_key();
    struct rb_part_follow_pos pos;
    RB_ASSERT(rb_part_follow_pos(inc->ps, &k, &pos) == 0);
    x->broker = p->target;
    x->gen = gen;
    x->epoch = pos.leader_epoch;
    x->sent_ns = sim_now_ns;
    x->a.it.key = k;
    x->a.it.done = answered;
    x->a.it.done_arg = x;
    x->a.records = x->buf;
    x->a.len = x->len;
    x->a.acks = -1;
    x->a.max_bytes = 1 << 20;
    x->a.timeout_ms = 3000;
    p->s = x;
    inc->shard.now_ms = sim_now_ns / MS;
    rb_part_append(inc->ps, &x->a);
}

static void consume(void)
{
    int32_t l = sr_quorum_leader();
    int gen;
    struct sr_inc *inc = l >= 0 ? sr_broker_inc(l, &gen) : NULL;
    cons.next_ns = sim_now_ns + (int64_t)(20 + sim_below(300)) * MS;
    if (!inc)
        return;
    struct rb_part_read rd;
    inc->shard.now_ms = sim_now_ns / MS;
    sr_read_part(inc, &rd, -1, cons.pos, -1, -1, &cons.data, &cons.len);
    cons.from = l;
    if (rd.it.error || !cons.len) {
        free(cons.data);
        cons.data = NULL;
        cons.len = 0;
    }
}

void clients_step(bool produce)
{
    for (int i = 0; i < N_PROD; i++) {
        struct prod *p = &prods[i];
        if (p->s)
            prod_answer(p);
        if (!p->s && produce && sim_now_ns >= p->next_ns)
            prod_send(i, p);
    }
    if (!cons.data && sim_now_ns >= cons.next_ns)
        consume();
}

static void count_end(void *arg, const uint8_t *b, uint32_t bytes, int64_t base)
{
    (void)bytes;
    *(int64_t *)arg = base +
                      (int64_t)(int32_t)((uint32_t)b[23] << 24 | (uint32_t)b[24] << 16 |
                                         (uint32_t)b[25] << 8 | b[26]) +
                      1;
}

void clients_check(void)
{
    for (int i = 0; i < n_acked; i++) {
        struct send *x = acked[i];
        sr_check_ack(x->broker, x->a.base_offset, x->buf, x->len);
        free(x);
    }
    n_acked = 0;
    if (cons.data) {
        sr_check_consumed(cons.from, cons.data, cons.len);
        int64_t end = cons.pos;
        (void)rb_part_batches_each(cons.data, cons.len, count_end, &end);
        cons.pos = end;
        free(cons.data);
        cons.data = NULL;
        cons.len = 0;
    }
}
