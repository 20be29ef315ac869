/*
 * tests/sim/sim_repl_check.c - the invariants of the replication simulation
 * (sim_repl.c, README.md "sim(repl)"):
 *   committed   a broker's log below its own high watermark is the committed log:
 *               the first broker to expose an offset (its HW past it) fixes the
 *               batch there (base, last offset, leader epoch, CRC, size); every
 *               other broker's log below its HW, at any later time, must hold the
 *               same batch (no divergent logs below the HW; nothing exposed is
 *               later truncated and replaced);
 *   acks        an acknowledged batch (acks=all) is in the committed log at its
 *               offset when acknowledged, and in every broker's log at the end;
 *   consumers   a consumer's fetch returns only committed batches;
 *   epochs      one broker appends as leader in a given leader epoch;
 *   idempotence the idempotent producer's batches follow each other in the
 *               committed log sequence by sequence: none twice, none skipped.
 * Owns: the committed log (batch descriptors, not bytes), the acknowledgement list.
 */
#include "core/endian.h"
#include "core/rb.h"
#include "storage/batch.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_repl.h"

#include <stdlib.h>
#include <string.h>

struct cbatch {
    int64_t base, last;
    uint32_t crc, len;
    int32_t epoch;
};

static struct cbatch *ref;
static int n_ref, cap_ref;
static int64_t ref_end; /* offset after the committed log */

struct ack {
    int64_t base;
    uint32_t crc, len;
};
static struct ack *acks;
static int n_acks, cap_acks;

#define MAX_EPOCHS 4096
static int32_t epoch_leader[MAX_EPOCHS];

static uint8_t rbuf[1 << 20];
static int64_t idem_next; /* the next sequence of SR_IDEM_PID in the committed log */

void sr_check_reset(void)
{
    free(ref);
    free(acks);
    ref = NULL;
    acks = NULL;
    n_ref = cap_ref = n_acks = cap_acks = 0;
    ref_end = 0;
    idem_next = 0;
    memset(epoch_leader, 0, sizeof(epoch_leader));
}

uint64_t sr_check_acked(void)
{
    return (uint64_t)n_acks;
}

int64_t sr_check_committed_end(void)
{
    return ref_end;
}

static struct cbatch describe(const uint8_t *b, uint32_t bytes, int64_t base)
{
    struct cbatch c = {.base = base,
                       .last = base + (int64_t)rb_get_be32(b + 23),
                       .crc = rb_get_be32(b + 17),
                       .len = bytes,
                       .epoch = (int32_t)rb_get_be32(b + 12)};
    return c;
}

/* The index of the first committed batch ending at or after off (n_ref: none). */
static int first_ending_from(int64_t off)
{
    int lo = 0, hi = n_ref;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ref[mid].last < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The committed batch starting at base, or NULL. */
static const struct cbatch *find(int64_t base)
{
    int i = first_ending_from(base);
    return i < n_ref && ref[i].base == base ? &ref[i] : NULL;
}

static bool same(const struct cbatch *a, const struct cbatch *b)
{
    return a->base == b->base && a->last == b->last && a->crc == b->crc && a->len == b->len &&
           a->epoch == b->epoch;
}

struct walk {
    int32_t id;
    const char *what;
    int64_t hw;
    int64_t next; /* the offset the next batch must start at */
    bool extend;
};

static void on_batch(void *arg, const uint8_t *b, uint32_t bytes, int64_t base)
{
    struct walk *w = arg;
    struct cbatch c = describe(b, bytes, base);
    if (base != w->next) {
        sim_fail("broker %d: %s: batch at %lld where %lld was expected (not dense)", w->id, w->what,
                 (long long)base, (long long)w->next);
        w->next = c.last + 1;
        return;
    }
    w->next = c.last + 1;
    if (c.last >= w->hw)
        return; /* not exposed by this broker */
    if (base < ref_end) {
        const struct cbatch *r = find(base);
        if (!r || !same(r, &c))
            sim_fail("broker %d: %s: batch [%lld, %lld] epoch %d crc %08x differs from the "
                     "committed log (%s, epoch %d crc %08x): divergent below the high watermark",
                     w->id, w->what, (long long)base, (long long)c.last, c.epoch, c.crc,
                     r ? "a different batch" : "no batch starts there", r ? r->epoch : -1,
                     r ? r->crc : 0);
        return;
    }
    if (!w->extend) {
        sim_fail("broker %d: %s: batch [%lld, %lld] beyond the committed end %lld", w->id, w->what,
                 (long long)base, (long long)c.last, (long long)ref_end);
        return;
    }
    if (n_ref == cap_ref) {
        cap_ref = cap_ref ? 2 * cap_ref : 1024;
        ref = realloc(ref, sizeof(*ref) * (size_t)cap_ref);
        RB_ASSERT(ref);
    }
    ref[n_ref++] = c;
    ref_end = c.last + 1;
    if ((int64_t)rb_get_be64(b + 43) == SR_IDEM_PID) {
        int64_t seq = (int32_t)rb_get_be32(b + 53);
        if (seq != idem_next)
            sim_fail("broker %d: committed batch at %lld holds producer %d's sequence %lld, "
                     "%lld expected (%s)",
                     w->id, (long long)base, SR_IDEM_PID, (long long)seq, (long long)idem_next,
                     seq < idem_next ? "a duplicate" : "a gap");
        idem_next = seq + (c.last - c.base) + 1;
    }
}

uint32_t sr_read_log(struct sr_inc *inc, int64_t from, int64_t upto, uint8_t *buf, uint32_t cap)
{
    struct rb_part_key k = sr_key();
    uint32_t len = 0;
    if (from >= upto)
        return 0;
    int r = rb_part_read_copy(inc->ps, &k, from, upto, cap, buf, cap, &len);
    if (r) {
        sim_fail("reading [%lld, %lld) back: %d", (long long)from, (long long)upto, r);
        return 0;
    }
    return len;
}

/* Walk inc's log [from, hw) in pieces through w. */
static void walk_log(struct sr_inc *inc, int64_t from, int64_t hw, struct walk *w)
{
    w->next = from;
    while (w->next < hw && !sim_failures) {
        int64_t at = w->next;
        uint32_t len = sr_read_log(inc, at, hw, rbuf, sizeof(rbuf));
        if (!len)
            break;
        int64_t end = rb_part_batches_each(rbuf, len, on_batch, w);
        if (end < 0 || w->next <= at)
            break;
    }
}

void sr_check_broker(int32_t id, struct sr_inc *inc, bool full)
{
    struct rb_part_key k = sr_key();
    int64_t hw = -1;
    struct rb_part_follow_pos fp;
    if (rb_part_high_watermark(inc->ps, &k, &hw) || rb_part_follow_pos(inc->ps, &k, &fp))
        return;
    if (hw > fp.fetch_offset)
        sim_fail("broker %d: high watermark %lld above the log end %lld", id, (long long)hw,
                 (long long)fp.fetch_offset);
    if (full || inc->checked_upto > fp.fetch_offset)
        inc->checked_upto = fp.log_start; /* truncated: look again */
    if (inc->checked_upto < fp.log_start)
        inc->checked_upto = fp.log_start;
    if (hw <= inc->checked_upto)
        return;
    /* start at a batch boundary: the committed batch holding checked_upto */
    int64_t from = inc->checked_upto;
    if (from > fp.log_start) {
        int i = first_ending_from(from);
        from = i < n_ref ? ref[i].base : ref_end;
        if (from > inc->checked_upto)
            from = fp.log_start;
    }
    struct walk w = {.id = id, .what = "log", .hw = hw, .extend = true};
    walk_log(inc, from, hw, &w);
    inc->checked_upto = w.next < hw ? w.next : hw;
}

void sr_check_consumed(int32_t id, const uint8_t *buf, uint32_t len)
{
    if (!len)
        return;
    struct walk w = {.id = id, .what = "consumer fetch", .hw = INT64_MAX, .extend = false};
    struct rb_batch_info bi;
    if (rb_batch_parse(buf, len, &bi) != RB_BATCH_OK)
        return;
    w.next = bi.base_offset;
    (void)rb_part_batches_each(buf, len, on_batch, &w);
}

void sr_check_ack(int32_t id, int64_t base, const uint8_t *batch, uint32_t len)
{
    struct ack a = {.base = base, .crc = rb_get_be32(batch + 17), .len = len};
    const struct cbatch *r = base < ref_end ? find(base) : NULL;
    if (!r || r->crc != a.crc || r->len != len)
        sim_fail("broker %d acknowledged a batch at %lld that is not committed there (committed "
                 "end %lld)",
                 id, (long long)base, (long long)ref_end);
    if (n_acks == cap_acks) {
        cap_acks = cap_acks ? 2 * cap_acks : 1024;
        acks = realloc(acks, sizeof(*acks) * (size_t)cap_acks);
        RB_ASSERT(acks);
    }
    acks[n_acks++] = a;
}

void sr_check_leader_append(int32_t id, int32_t epoch)
{
    if (epoch < 0 || epoch >= MAX_EPOCHS)
        return;
    if (epoch_leader[epoch] && epoch_leader[epoch] != id)
        sim_fail("brokers %d and %d both appended as leader in epoch %d", epoch_leader[epoch], id,
                 epoch);
    epoch_leader[epoch] = id;
}

struct final_walk {
    int32_t id;
    int i; /* the next committed batch expected */
    int64_t end;
};

static void on_final(void *arg, const uint8_t *b, uint32_t bytes, int64_t base)
{
    struct final_walk *f = arg;
    struct cbatch c = describe(b, bytes, base);
    f->end = c.last + 1;
    if (f->i < n_ref) {
        if (!same(&ref[f->i], &c))
            sim_fail("broker %d: at the end, batch [%lld, %lld] where the committed log has "
                     "[%lld, %lld] (epoch %d, crc %08x vs %08x)",
                     f->id, (long long)base, (long long)c.last, (long long)ref[f->i].base,
                     (long long)ref[f->i].last, ref[f->i].epoch, c.crc, ref[f->i].crc);
        f->i++;
    }
}

void sr_check_final(int32_t id, struct sr_inc *inc)
{
    struct rb_part_key k = sr_key();
    struct rb_part_follow_pos fp;
    if (rb_part_follow_pos(inc->ps, &k, &fp)) {
        sim_fail("broker %d: no partition at the end", id);
        return;
    }
    if (fp.fetch_offset < ref_end) {
        sim_fail("broker %d: log end %lld below the committed end %lld: committed records lost", id,
                 (long long)fp.fetch_offset, (long long)ref_end);
        return;
    }
    struct final_walk f = {.id = id};
    int64_t at = fp.log_start;
    while (at < ref_end && !sim_failures) {
        uint32_t len = sr_read_log(inc, at, ref_end, rbuf, sizeof(rbuf));
        if (!len || rb_part_batches_each(rbuf, len, on_final, &f) < 0 || f.end <= at)
            break;
        at = f.end;
    }
    if (f.i < n_ref && !sim_failures)
        sim_fail("broker %d: only %d of %d committed batches read back", id, f.i, n_ref);
    for (int i = 0; i < n_acks && !sim_failures; i++) {
        const struct cbatch *r = find(acks[i].base);
        if (!r || r->crc != acks[i].crc)
            sim_fail("acknowledged batch at %lld lost", (long long)acks[i].base);
    }
}
