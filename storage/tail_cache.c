/*
 * storage/tail_cache.c - the shard's tail cache of written chunk buffers and its
 * spare pool (see tail_cache.h).
 *
 * Eviction order: chunks join the list when their log's flush has written them,
 * which happens in file order within a log, so the oldest cached chunk of a log is
 * always its lowest one (chunks[0]): evicting the list head is a removal from the
 * front of that log's chunk array (rb_log_chunk_evict), never from its middle.
 */
#include "storage/tail_cache.h"
#include "storage/log_int.h"

#include "core/rb.h"

#include <stdlib.h>
#include <string.h>

struct rb_tail_cache *rb_tail_cache_new(uint64_t budget_bytes)
{
    struct rb_tail_cache *tc = calloc(1, sizeof(*tc));
    if (!tc)
        return NULL;
    tc->budget_bytes = budget_bytes;
    tc->limit_bytes = UINT64_MAX;
    rb_list_init(&tc->cached);
    rb_list_init(&tc->spares);
    return tc;
}

static void chunk_free(struct rb_chunk *c)
{
    free(c->buf);
    free(c);
}

void rb_tail_cache_free(struct rb_tail_cache *tc)
{
    if (!tc)
        return;
    RB_ASSERT(rb_list_empty(&tc->cached) && tc->bytes == 0);
    struct rb_chunk *c;
    while ((c = rb_list_first_entry(&tc->spares, struct rb_chunk, link))) {
        rb_list_del(&c->link);
        chunk_free(c);
    }
    free(tc);
}

uint64_t rb_tail_cache_bytes(const struct rb_tail_cache *tc)
{
    return tc ? tc->bytes : 0;
}

uint64_t rb_tail_cache_mem(const struct rb_tail_cache *tc)
{
    if (!tc)
        return 0;
    struct rb_chunk *spare = rb_list_first_entry(&tc->spares, struct rb_chunk, link);
    return tc->bytes + (spare ? (uint64_t)tc->n_spares * spare->bytes : 0);
}

static bool yielding(const struct rb_tail_cache *tc)
{
    return tc->limit_bytes < tc->budget_bytes;
}

struct rb_chunk *rb_chunk_get(struct rb_tail_cache *tc, uint32_t bytes)
{
    struct rb_chunk *c = tc ? rb_list_first_entry(&tc->spares, struct rb_chunk, link) : NULL;
    if (c && c->bytes == bytes) {
        rb_list_del(&c->link);
        tc->n_spares--;
    } else {
        c = calloc(1, sizeof(*c));
        if (!c)
            return NULL;
        void *buf;
        if (posix_memalign(&buf, RB_BLOCK_BYTES, bytes)) {
            free(c);
            return NULL;
        }
        c->buf = buf;
        c->bytes = bytes;
        rb_list_init(&c->link);
    }
    c->pos = 0;
    c->cached = false;
    c->log = NULL;
    return c;
}

void rb_chunk_put(struct rb_tail_cache *tc, struct rb_chunk *c)
{
    RB_ASSERT(!c->cached && !rb_list_linked(&c->link));
    struct rb_chunk *spare = tc ? rb_list_first_entry(&tc->spares, struct rb_chunk, link) : NULL;
    if (!tc || tc->n_spares >= RB_TAIL_CACHE_SPARES || (spare && spare->bytes != c->bytes) ||
        yielding(tc)) {
        chunk_free(c);
        return;
    }
    c->log = NULL;
    rb_list_add_head(&tc->spares, &c->link);
    tc->n_spares++;
}

void rb_tail_cache_push(struct rb_tail_cache *tc, struct rb_log *log, struct rb_chunk *c)
{
    RB_ASSERT(!c->cached);
    c->cached = true;
    c->log = log;
    rb_list_add_tail(&tc->cached, &c->link);
    tc->bytes += c->bytes;
}

void rb_tail_cache_unlink(struct rb_tail_cache *tc, struct rb_chunk *c)
{
    RB_ASSERT(c->cached && tc->bytes >= c->bytes);
    rb_list_del(&c->link);
    c->cached = false;
    c->log = NULL;
    tc->bytes -= c->bytes;
}

/* Evict oldest-first until within keep bytes. */
static void trim_to(struct rb_tail_cache *tc, uint64_t keep, bool yield)
{
    while (tc->bytes > keep) {
        struct rb_chunk *c = rb_list_first_entry(&tc->cached, struct rb_chunk, link);
        RB_ASSERT(c);
        struct rb_log *log = c->log;
        rb_tail_cache_unlink(tc, c);
        rb_log_chunk_evict(log, c); /* may put c on the spares (not while yielding) */
        tc->evicted_chunks++;
        tc->yielded_chunks += yield;
    }
}

void rb_tail_cache_trim(struct rb_tail_cache *tc)
{
    trim_to(tc, RB_MIN(tc->budget_bytes, tc->limit_bytes), yielding(tc));
}

uint64_t rb_tail_cache_limit(struct rb_tail_cache *tc, uint64_t bytes)
{
    uint64_t before = rb_tail_cache_mem(tc);
    tc->limit_bytes = bytes;
    if (!yielding(tc))
        return 0;
    trim_to(tc, bytes, true);
    struct rb_chunk *c;
    while ((c = rb_list_first_entry(&tc->spares, struct rb_chunk, link))) {
        rb_list_del(&c->link);
        tc->n_spares--;
        chunk_free(c);
    }
    return before - rb_tail_cache_mem(tc);
}
