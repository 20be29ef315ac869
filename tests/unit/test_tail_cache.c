/*
 * tests/unit/test_tail_cache.c - the shard's tail cache (storage/tail_cache.c)
 * with real logs over the simulated disk: written chunks stay readable from
 * memory within the budget, eviction goes oldest-first across logs, reads that
 * span evicted (file) and cached bytes return exactly what was appended, spares
 * are reused, closing a log gives its chunks back.
 */
#include "core/rb.h"
#include "storage/disk_sim.h"
#include "storage/log.h"
#include "storage/tail_cache.h"
#include "storage_test_util.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CB   (16u << 10) /* chunk bytes */
#define MAXB 256

struct tlog {
    struct rb_log *log;
    char dir[128];
    int n;
    uint32_t salt; /* changes the bytes of later batches */
    int64_t base[MAXB];
    uint32_t len[MAXB];
    uint32_t seed[MAXB];
};

static char g_root[64];
static struct rb_disk_sim *g_sim;
static uint8_t g_buf[1 << 20];
static uint8_t g_batch[1 << 16];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void setup(void)
{
    strcpy(g_root, "/tmp/rb-test-tc-XXXXXX");
    cr_assert_not_null(mkdtemp(g_root));
    cr_assert_eq(rb_disk_sim_new(&g_sim), 0);
}

static void teardown(void)
{
    nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    rb_disk_sim_free(g_sim);
}

TestSuite(tail_cache, .init = setup, .fini = teardown);

static void topen(struct tlog *t, const char *name, struct rb_tail_cache *tc)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 8 << 20;
    c.prealloc_bytes = 1 << 20;
    c.chunk_bytes = CB;
    c.max_dirty_bytes = 1 << 20;
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "%s/%s", g_root, name);
    cr_assert_eq(rb_log_open(&t->log, t->dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    rb_log_set_tail_cache(t->log, tc);
}

/* Build batch i of t (deterministic from its seed) into g_batch. */
static uint32_t build(struct tlog *t, int i)
{
    struct tu_batch_spec s = {.nrec = 2,
                              .base_ts = 1000 + i,
                              .producer_id = -1,
                              .base_seq = -1,
                              .value_bytes = 1900,
                              .seed = t->seed[i]};
    return (uint32_t)tu_build(g_batch, &s);
}

/* Append g_batch like the broker: -ENOBUFS (a roll or more preallocation is
 * due) is retried after a flush, whose completion lets the background work run. */
static int append_retry(struct tlog *t, const struct rb_batch_info *bi, int64_t *base)
{
    int err, tries = 0;
    while ((err = rb_log_append(t->log, g_batch, bi, 1000, base)) == -ENOBUFS && tries++ < 8)
        cr_assert_eq(rb_disk_sim_flush_log(g_sim, t->log), 0);
    return err;
}

/* Append n batches of ~3.9 KB and flush them. */
static void tappend(struct tlog *t, int n)
{
    for (int k = 0; k < n; k++) {
        cr_assert_lt(t->n, MAXB);
        int i = t->n;
        t->seed[i] = (uint32_t)(i * 131 + t->dir[strlen(t->dir) - 1]) + t->salt;
        uint32_t len = build(t, i);
        struct rb_batch_info bi;
        cr_assert_eq(rb_batch_validate(g_batch, len, &bi), RB_BATCH_OK);
        cr_assert_eq(append_retry(t, &bi, &t->base[i]), 0);
        t->len[i] = len;
        t->n++;
    }
    cr_assert_eq(rb_disk_sim_flush_log(g_sim, t->log), 0);
}

/* Position in the file where the memory of t's log begins (0: all in memory). */
static uint64_t mem_start(struct tlog *t)
{
    struct rb_log_slice s;
    cr_assert_eq(rb_log_read(t->log, 0, rb_log_end_offset(t->log), 1 << 20, true, &s), 0);
    cr_assert_gt(s.n, 0);
    return s.piece[0].mem ? 0 : s.piece[0].len;
}

/* Every batch from batch `from` on reads back exactly, whatever mix of file and
 * memory. */
static void check_from(struct tlog *t, int from)
{
    int i = from;
    int64_t off = t->base[from];
    while (off < rb_log_end_offset(t->log)) {
        uint32_t len = 0;
        cr_assert_eq(rb_log_read_copy(t->log, off, rb_log_end_offset(t->log), 50000, true, g_buf,
                                      sizeof(g_buf), &len),
                     0);
        cr_assert_gt(len, 0);
        uint32_t pos = 0;
        while (pos < len) {
            cr_assert_lt(i, t->n);
            uint32_t want = build(t, i);
            cr_assert_eq(want, t->len[i]);
            cr_assert_eq(memcmp(g_buf + pos + 8, g_batch + 8, want - 8), 0, "batch %d", i);
            pos += want;
            off = t->base[i] + 2;
            i++;
        }
    }
    cr_assert_eq(i, t->n);
}

static void check_exact(struct tlog *t)
{
    check_from(t, 0);
}

Test(tail_cache, keeps_written_chunks_within_budget)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(3 * CB);
    struct tlog a;
    topen(&a, "a", tc);
    tappend(&a, 40); /* ~156 KB: ~9 full chunks written */
    cr_assert_eq(rb_tail_cache_bytes(tc), 3 * CB, "cached %lu", rb_tail_cache_bytes(tc));
    /* memory starts 3 chunks below the chunk holding the partial last block */
    uint64_t size = rb_log_size_bytes(a.log);
    uint64_t want = (size / CB - 3) * CB;
    cr_assert_eq(mem_start(&a), want, "mem from %lu, want %lu", mem_start(&a), want);
    cr_assert_eq(tc->evicted_chunks, size / CB - 3);
    check_exact(&a);
    rb_log_close(a.log);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    rb_tail_cache_free(tc);
}

Test(tail_cache, read_spans_file_and_cache_exactly)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(2 * CB);
    struct tlog a;
    topen(&a, "a", tc);
    tappend(&a, 30);
    struct rb_log_slice s;
    cr_assert_eq(rb_log_read(a.log, 0, rb_log_end_offset(a.log), 1 << 20, true, &s), 0);
    cr_assert_geq(s.n, 2);
    cr_assert_null(s.piece[0].mem); /* evicted: the file */
    cr_assert_geq(s.piece[0].fd, 0);
    for (int i = 1; i < s.n; i++)
        cr_assert_not_null(s.piece[i].mem); /* cached + tail */
    uint64_t sum = 0;
    for (int i = 0; i < s.n; i++)
        sum += s.piece[i].len;
    cr_assert_eq(sum, s.bytes);
    cr_assert_eq(s.bytes, rb_log_size_bytes(a.log));
    /* one copy of the whole range equals the batches appended */
    uint32_t len = 0;
    cr_assert_eq(rb_log_read_copy(a.log, 0, rb_log_end_offset(a.log), 1 << 20, true, g_buf,
                                  sizeof(g_buf), &len),
                 0);
    cr_assert_eq(len, rb_log_size_bytes(a.log));
    uint32_t pos = 0;
    for (int i = 0; i < a.n; i++) {
        build(&a, i);
        cr_assert_eq(memcmp(g_buf + pos + 8, g_batch + 8, a.len[i] - 8), 0, "batch %d", i);
        pos += a.len[i];
    }
    check_exact(&a);
    rb_log_close(a.log);
    rb_tail_cache_free(tc);
}

Test(tail_cache, evicts_oldest_first_across_logs)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(4 * CB);
    struct tlog a, b;
    topen(&a, "a", tc);
    topen(&b, "b", tc);
    tappend(&a, 9); /* ~35 KB: chunks 0, 1 written */
    cr_assert_eq(rb_tail_cache_bytes(tc), 2 * CB);
    cr_assert_eq(mem_start(&a), 0);
    tappend(&b, 9);
    cr_assert_eq(rb_tail_cache_bytes(tc), 4 * CB);
    cr_assert_eq(mem_start(&a), 0);
    cr_assert_eq(mem_start(&b), 0);
    /* b writes one more chunk: a's oldest goes, not b's */
    tappend(&b, 4);
    cr_assert_eq(rb_tail_cache_bytes(tc), 4 * CB);
    cr_assert_eq(mem_start(&a), CB);
    cr_assert_eq(mem_start(&b), 0);
    /* and again: a's second */
    tappend(&b, 4);
    cr_assert_eq(mem_start(&a), 2 * CB);
    cr_assert_eq(mem_start(&b), 0);
    /* now a writes: b's oldest goes, a's new chunk stays */
    tappend(&a, 5);
    cr_assert_eq(mem_start(&b), CB);
    cr_assert_eq(mem_start(&a), 2 * CB);
    cr_assert_eq(rb_tail_cache_bytes(tc), 4 * CB);
    check_exact(&a);
    check_exact(&b);
    rb_log_close(a.log);
    cr_assert_eq(rb_tail_cache_bytes(tc), 3 * CB); /* b's three */
    rb_log_close(b.log);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    rb_tail_cache_free(tc);
}

Test(tail_cache, zero_budget_keeps_nothing_and_reuses_buffers)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(0);
    struct tlog a;
    topen(&a, "a", tc);
    tappend(&a, 20);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    uint64_t size = rb_log_size_bytes(a.log);
    cr_assert_eq(mem_start(&a), size / CB * CB);
    /* freed chunks wait as spares; the next chunks take them */
    cr_assert_gt(tc->n_spares, 0);
    int spares = tc->n_spares;
    tappend(&a, 5); /* crosses into a new chunk */
    cr_assert_leq(tc->n_spares, spares);
    cr_assert_leq(tc->n_spares, RB_TAIL_CACHE_SPARES);
    check_exact(&a);
    rb_log_close(a.log);
    rb_tail_cache_free(tc);
}

/* Close t's log (its chunks leave the cache: nothing stays) and free the cache. */
static void close_and_free(struct tlog *t, struct rb_tail_cache *tc)
{
    rb_log_close(t->log);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    rb_tail_cache_free(tc);
}

/* A log over small segments (64 KiB): appends roll it every ~16 batches. */
static void topen_small_segs(struct tlog *t, const char *name, struct rb_tail_cache *tc)
{
    struct rb_log_config c;
    rb_log_config_defaults(&c);
    c.segment_bytes = 64 << 10;
    c.prealloc_bytes = 64 << 10;
    c.chunk_bytes = CB;
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "%s/%s", g_root, name);
    cr_assert_eq(rb_log_open(&t->log, t->dir, &c, rb_disk_sim_disk(g_sim), 1000), 0);
    rb_log_set_tail_cache(t->log, tc);
}

/* Whether batch i of t is read from memory (its first piece). */
static bool in_memory(struct tlog *t, int i)
{
    struct rb_log_slice s;
    cr_assert_eq(rb_log_read(t->log, t->base[i], rb_log_end_offset(t->log), 1, true, &s), 0);
    cr_assert_gt(s.n, 0);
    return s.piece[0].mem != NULL;
}

/* Index of the first batch read from memory (t->n: none). */
static int first_in_memory(struct tlog *t)
{
    int i = 0;
    while (i < t->n && !in_memory(t, i))
        i++;
    for (int k = i; k < t->n; k++)
        cr_assert(in_memory(t, k), "batch %d after the first in memory (%d) is not", k, i);
    return i;
}

Test(tail_cache, roll_keeps_chunks_of_inactive_segments)
{
    /* 8 chunks of budget over 64 KiB segments (4 chunks each): a consumer two
     * segments behind the active one still reads memory; older ones the file */
    struct rb_tail_cache *tc = rb_tail_cache_new(8 * CB);
    struct tlog a;
    topen_small_segs(&a, "r", tc);
    tappend(&a, 80); /* ~312 KB: ~5 segments */
    cr_assert_eq(rb_tail_cache_bytes(tc), 8 * CB, "cached %lu", rb_tail_cache_bytes(tc));
    int m = first_in_memory(&a);
    cr_assert_gt(m, 0);
    /* the memory reaches back past the active segment's start: it holds more
     * than one segment's bytes */
    uint64_t mem = 0;
    for (int i = m; i < a.n; i++)
        mem += a.len[i];
    cr_assert_gt(mem, (64u << 10) + 4096, "memory %lu bytes from batch %d", mem, m);
    check_exact(&a);
    /* writing on evicts the oldest kept chunks first: memory starts later */
    tappend(&a, 20);
    cr_assert_eq(rb_tail_cache_bytes(tc), 8 * CB);
    int m2 = first_in_memory(&a);
    cr_assert_gt(m2, m);
    check_exact(&a);
    close_and_free(&a, tc);
}

/* A cache smaller than a segment (and none at all): the roll's own chunks are
 * evicted while it keeps them (the rolling segment is still the last one). */
Test(tail_cache, roll_with_cache_smaller_than_a_segment)
{
    uint64_t budgets[] = {2 * CB, 0};
    for (int k = 0; k < 2; k++) {
        struct rb_tail_cache *tc = rb_tail_cache_new(budgets[k]);
        struct tlog a;
        topen_small_segs(&a, k ? "z" : "s", tc);
        tappend(&a, 80);
        cr_assert_leq(rb_tail_cache_bytes(tc), budgets[k]);
        check_exact(&a);
        close_and_free(&a, tc);
    }
}

Test(tail_cache, retention_drops_kept_chunks)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(64 * CB); /* holds everything */
    struct tlog a;
    topen_small_segs(&a, "d", tc);
    tappend(&a, 80);
    cr_assert_eq(first_in_memory(&a), 0);
    uint64_t before = rb_tail_cache_bytes(tc);
    /* DeleteRecords to batch 40: the segments below it go, with their chunks */
    struct rb_log_removed rm;
    cr_assert_eq(rb_log_retain(a.log, 1000, a.base[40], &rm), 0);
    int dropped = rm.n;
    cr_assert_gt(dropped, 0);
    rb_log_removed_unlink(&rm);
    uint64_t after = rb_tail_cache_bytes(tc);
    cr_assert_lt(after, before);
    cr_assert_eq(before - after, (uint64_t)dropped * 4 * CB, "dropped %d segments: %lu -> %lu",
                 dropped, before, after);
    check_from(&a, 40);
    /* a full cache evicts across what is left without touching the dropped */
    tappend(&a, 60);
    check_from(&a, 40);
    close_and_free(&a, tc);
}

Test(tail_cache, truncation_drops_kept_chunks)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(64 * CB);
    struct tlog a;
    topen_small_segs(&a, "t", tc);
    tappend(&a, 60);
    cr_assert_gt(rb_tail_cache_bytes(tc), 4 * CB);
    /* cut into an early segment: every kept chunk goes (its bytes are in the files) */
    cr_assert_eq(rb_log_truncate_to(a.log, a.base[20]), 0);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    a.n = 20;
    check_exact(&a);
    a.salt = 7777;
    /* new batches (other bytes) at the same offsets read back as written, not the
     * old ones */
    tappend(&a, 40);
    check_exact(&a);
    close_and_free(&a, tc);
}

/* The shard's budget tightens: the cache gives back its oldest chunks down to the
 * limit at once (spares too), stays under it while more is written, reads of what
 * it gave back come from the file with the same bytes, and it grows back once the
 * limit is lifted. Accounting ends at zero. */
Test(tail_cache, yields_to_the_limit_oldest_first)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(8 * CB);
    struct tlog a, b;
    topen(&a, "a", tc);
    topen(&b, "b", tc);
    tappend(&a, 9); /* a: chunks 0, 1 written */
    tappend(&b, 9); /* b: chunks 0, 1 */
    tappend(&a, 9); /* a: chunks 2, 3 */
    cr_assert_eq(rb_tail_cache_bytes(tc), 6 * CB);
    cr_assert_eq(mem_start(&a), 0);
    cr_assert_eq(mem_start(&b), 0);
    cr_assert_geq(rb_tail_cache_mem(tc), rb_tail_cache_bytes(tc));

    /* limit 3 chunks: a's 0, 1 and b's 0 go (the oldest written), nothing else */
    uint64_t before = rb_tail_cache_mem(tc);
    uint64_t freed = rb_tail_cache_limit(tc, 3 * CB);
    cr_assert_eq(rb_tail_cache_bytes(tc), 3 * CB);
    cr_assert_eq(freed, before - rb_tail_cache_mem(tc));
    cr_assert_geq(freed, 3 * CB);
    cr_assert_eq(tc->n_spares, 0, "spares freed while yielding");
    cr_assert_eq(rb_tail_cache_mem(tc), 3 * CB);
    cr_assert_eq(tc->yielded_chunks, 3);
    cr_assert_eq(mem_start(&a), 2 * CB);
    cr_assert_eq(mem_start(&b), CB);
    check_exact(&a); /* the evicted part from the file, exactly */
    check_exact(&b);

    /* more writes stay under the limit; freed chunks are not kept as spares */
    tappend(&b, 12);
    cr_assert_leq(rb_tail_cache_bytes(tc), 3 * CB);
    cr_assert_eq(tc->n_spares, 0);
    check_exact(&b);

    /* the limit to zero: nothing is kept, every read still exact */
    rb_tail_cache_limit(tc, 0);
    cr_assert_eq(rb_tail_cache_mem(tc), 0);
    cr_assert_eq(mem_start(&a), rb_log_size_bytes(a.log) / CB * CB);
    check_exact(&a);
    check_exact(&b);

    /* lifted (above the cache's own budget): it fills up to its budget again */
    cr_assert_eq(rb_tail_cache_limit(tc, UINT64_MAX), 0);
    tappend(&a, 60);
    cr_assert_eq(rb_tail_cache_bytes(tc), 8 * CB);
    check_exact(&a);
    rb_log_close(a.log);
    rb_log_close(b.log);
    cr_assert_eq(rb_tail_cache_bytes(tc), 0);
    cr_assert_leq(rb_tail_cache_mem(tc), (uint64_t)RB_TAIL_CACHE_SPARES * CB);
    rb_tail_cache_free(tc);
}

/* A limit above what is cached evicts nothing and keeps the spares. */
Test(tail_cache, limit_above_usage_is_a_no_op)
{
    struct rb_tail_cache *tc = rb_tail_cache_new(8 * CB);
    struct tlog a;
    topen(&a, "a", tc);
    tappend(&a, 9);
    uint64_t cached = rb_tail_cache_bytes(tc);
    cr_assert_eq(rb_tail_cache_limit(tc, 16 * CB), 0);
    cr_assert_eq(rb_tail_cache_limit(tc, 8 * CB), 0);
    cr_assert_eq(rb_tail_cache_bytes(tc), cached);
    cr_assert_eq(tc->yielded_chunks, 0);
    check_exact(&a);
    rb_log_close(a.log);
    rb_tail_cache_free(tc);
}
