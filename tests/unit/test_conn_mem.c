/*
 * tests/unit/test_conn_mem.c - net/conn_mem.c: the shard's memory figure counts
 * the tail cache up to its floor (min(log.tail.cache.bytes, budget / 8)), the
 * shard's memory turn makes the cache give back what the connections leave of
 * shard.memory.budget.bytes (never below the floor) and says memory came back,
 * and the cache grows again once the connections' memory is gone; the shard's
 * decompression scratch counts too.
 * A partition layer over the simulated disk (part_test_util.h) and a struct
 * rb_net without a ring or sockets (nothing here issues I/O).
 */
#include "net/conn_int.h"
#include "part_test_util.h"
#include "storage/compress.h"

#include <zstd.h>

#define KIB 1024

static struct rb_broker g_b;
static struct rb_net g_n;

static void setup(void)
{
    pt_setup();
    pt_bc.shard_memory_budget_bytes = 1024 * KIB; /* floor: 128 KiB */
    pt_bc.connection_memory_max_bytes = 1024 * KIB;
    pt_bc.queued_max_request_bytes = -1;
    memset(&g_b, 0, sizeof(g_b));
    g_b.bc = &pt_bc;
    memset(&g_n, 0, sizeof(g_n));
    g_n.b = &g_b;
    g_n.shard = &pt_shard;
}

TestSuite(conn_mem, .init = setup, .fini = pt_teardown);

/* Append nrec records (acks=0) and flush them: ~110 bytes a record. */
static void produce(int nrec, uint32_t seed)
{
    struct rb_part_append a;
    struct pt_answer ans = {0};
    pt_append(&a, &ans, pt_batch(nrec, -1, -1, seed), 0);
    cr_assert_eq(ans.calls, 1);
    pt_flush();
}

static void fill_cache(void)
{
    for (int i = 0; i < 40; i++)
        produce(100, (uint32_t)i + 1);
    cr_assert_gt(rb_part_mem(pt_ps), 384 * KIB, "cached %lld", (long long)rb_part_mem(pt_ps));
}

Test(conn_mem, the_cache_yields_what_connections_take_down_to_its_floor)
{
    fill_cache();
    int64_t cached = rb_part_mem(pt_ps);
    /* room for both: nothing given back */
    rb_net_mem_turn(&g_n);
    cr_assert_eq(rb_part_mem(pt_ps), cached);
    cr_assert_not(g_n.mem_freed);
    /* connections hold 768 KiB: the cache keeps at most the 256 KiB left */
    rb_net_mem_charge(&g_n, 768 * KIB);
    g_n.mem_freed = false;
    rb_net_mem_turn(&g_n);
    cr_assert_leq(rb_part_mem(pt_ps), 256 * KIB);
    cr_assert_gt(rb_part_mem(pt_ps), 256 * KIB - 16 * KIB, "oldest chunks only, as few as needed");
    cr_assert(g_n.mem_freed, "the memory given back resumes the waiting");
    /* over the budget: down to the floor, not below */
    rb_net_mem_charge(&g_n, 512 * KIB);
    rb_net_mem_turn(&g_n);
    cr_assert_eq(rb_part_mem(pt_ps), 128 * KIB);
    produce(100, 77); /* written meanwhile: still capped */
    cr_assert_leq(rb_part_mem(pt_ps), 128 * KIB);
    /* the connections' memory goes: the cache may grow again */
    rb_net_mem_charge(&g_n, -(768 + 512) * KIB);
    cr_assert_eq(g_n.mem, 0);
    rb_net_mem_turn(&g_n);
    for (int i = 0; i < 30; i++)
        produce(100, (uint32_t)i + 100);
    cr_assert_gt(rb_part_mem(pt_ps), 256 * KIB, "cached %lld", (long long)rb_part_mem(pt_ps));
}

Test(conn_mem, the_cache_counts_up_to_its_floor_when_pausing)
{
    fill_cache(); /* > 384 KiB cached, floor 128 KiB */
    struct rb_conn c;
    memset(&c, 0, sizeof(c));
    c.net = &g_n;
    rb_conn_charge(&c, 300 * KIB, false); /* a big connection (> 256 KiB) */
    rb_net_mem_charge(&g_n, 500 * KIB);
    /* 800 KiB + the floor (128 KiB) < 1 MiB: the cache above its floor yields,
     * so nobody is paused for it */
    cr_assert_not(rb_conn_over(&c, 1, 1));
    cr_assert(rb_conn_may_dispatch(&c));
    /* 950 KiB + 128 KiB >= 1 MiB: over, though the connections alone are not */
    rb_net_mem_charge(&g_n, 150 * KIB);
    cr_assert_lt(g_n.mem, pt_bc.shard_memory_budget_bytes);
    cr_assert(rb_conn_over(&c, 1, 1));
    /* the turn takes the cache to the floor; resuming needs 3/4 of the budget */
    rb_net_mem_turn(&g_n);
    cr_assert_eq(rb_part_mem(pt_ps), 128 * KIB);
    cr_assert(rb_conn_over(&c, 3, 4));
    rb_net_mem_charge(&g_n, -650 * KIB);
    cr_assert_not(rb_conn_over(&c, 3, 4)); /* 300 + 128 < 768 KiB */
    rb_conn_charge(&c, -300 * KIB, false);
    cr_assert_eq(c.mem, 0);
    cr_assert_eq(g_n.mem, 0);
}

Test(conn_mem, decompression_scratch_counts_in_the_shard_figure)
{
    struct rb_conn c;
    memset(&c, 0, sizeof(c));
    c.net = &g_n;
    rb_conn_charge(&c, 300 * KIB, false); /* a big connection (> 256 KiB) */
    cr_assert_not(rb_conn_over(&c, 1, 1));
    /* a zstd frame of 800 KiB of zeros decompressed on the shard: its scratch
     * takes the shard over its 1 MiB budget though the connections hold 300 KiB */
    static uint8_t zeros[800 * KIB], comp[64 * KIB];
    size_t clen = ZSTD_compress(comp, sizeof(comp), zeros, sizeof(zeros), 1);
    cr_assert(!ZSTD_isError(clen));
    const uint8_t *out;
    size_t out_len;
    cr_assert_eq(
        rb_decompress(rb_part_codec(pt_ps), RB_CODEC_ZSTD, comp, clen, 1 << 20, &out, &out_len), 0);
    cr_assert_eq(out_len, sizeof(zeros));
    cr_assert_geq(rb_part_codec_mem(pt_ps), 800 * KIB);
    cr_assert(rb_conn_over(&c, 1, 1), "the scratch counts");
    rb_conn_charge(&c, -300 * KIB, false);
}
