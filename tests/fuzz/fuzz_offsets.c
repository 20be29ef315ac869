/*
 * tests/fuzz/fuzz_offsets.c - libFuzzer target for the __consumer_offsets loader's
 * decoders (coord/offsets_log.c): the first byte picks what the rest is -
 *   0: a log's worth of batches, every record applied to a group manager
 *      (rb_orec_iterate + rb_orec_apply), as the loader does at startup;
 *   1: one record: a 2-byte key length, the key, the rest the value (rb_orec_apply);
 *   2: a group metadata value (rb_gmeta_decode).
 * Invariants: nothing crashes or leaks; every group the records left behind
 * encodes (rb_gmeta_write) to a value that decodes again to the same membership.
 */
#include "coord/group.h"
#include "coord/offsets_log.h"
#include "core/rb.h"
#include "core/timer.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply(void *arg, const uint8_t *k, int32_t kl, const uint8_t *v, int32_t vl)
{
    (void)rb_orec_apply(arg, k, kl, v, vl);
}

static void roundtrip(struct rb_group *g)
{
    struct rb_writer w;
    rb_writer_init(&w, 256);
    rb_gmeta_write(&w, g);
    RB_ASSERT(!w.err);
    struct rb_gmeta meta;
    char *pool;
    int r = rb_gmeta_decode(w.buf, (int32_t)w.len, &meta, &pool);
    RB_ASSERT(r == 0);
    RB_ASSERT(meta.n_members == g->n_members);
    RB_ASSERT(meta.generation == g->generation);
    int i = 0;
    for (const struct rb_gmember *m = g->members; m; m = m->next, i++)
        RB_ASSERT(strcmp(meta.members[i].id, m->id) == 0);
    rb_gmeta_free(&meta, pool);
    rb_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    if (mode == 2) {
        struct rb_gmeta meta;
        char *pool;
        (void)rb_gmeta_decode(data, (int32_t)RB_MIN(size, (size_t)INT32_MAX), &meta, &pool);
        rb_gmeta_free(&meta, pool);
        return 0;
    }
    struct rb_timers timers;
    int64_t now = 1000;
    struct rb_group_mgr mgr;
    rb_timers_init(&timers);
    rb_group_mgr_init(&mgr, &timers, &now, 0, 50);
    if (mode == 0) {
        (void)rb_orec_iterate(data, size, apply, &mgr);
    } else if (size >= 2) {
        size_t kl = (size_t)data[0] << 8 | data[1];
        if (kl <= size - 2) {
            const uint8_t *v = size - 2 - kl ? data + 2 + kl : NULL;
            (void)rb_orec_apply(&mgr, data + 2, (int32_t)kl, v, (int32_t)(size - 2 - kl));
        }
    }
    for (struct rb_group *g = mgr.groups; g; g = g->next)
        roundtrip(g);
    rb_group_mgr_free(&mgr, RB_KERR_COORDINATOR_NOT_AVAILABLE);
    rb_timers_free(&timers);
    return 0;
}
