/*
 * storage/tail_cache.h - a shard's tail cache: the partition logs' chunk buffers
 * that were written out (and so are in the file too) stay in memory under one
 * byte budget shared by all the logs of the shard, so recent data is read from
 * memory (the segment files are written with O_DIRECT: the page cache does not
 * hold them). Over budget, the oldest written chunk of the whole shard goes first
 * (written order, across partitions); within a log that is always its lowest chunk.
 *
 * Also a small pool of spare chunk buffers, so a log that needs a new chunk
 * reuses an evicted one instead of allocating.
 *
 * Budget: counts written ("clean") chunks only. Chunks not yet written are bounded
 * by each log's max_dirty_bytes; the spare pool holds at most RB_TAIL_CACHE_SPARES
 * buffers.
 * Yield: the shard's memory budget may hold the cache below its own budget
 * (rb_tail_cache_limit, from the partition layer's owner each turn): it gives the
 * memory back at once, oldest chunks first, and its spares too, and stays under
 * the limit until the limit rises again. Reads of what it gave back go to the file.
 * Threading: one cache per shard, used only by the shard that owns its logs.
 */
#ifndef RB_STORAGE_TAIL_CACHE_H
#define RB_STORAGE_TAIL_CACHE_H

#include "core/list.h"
#include <stdbool.h>
#include <stdint.h>

#define RB_TAIL_CACHE_SPARES 8

struct rb_log;

/* One chunk buffer of a log (storage-internal; see log_int.h). */
struct rb_chunk {
    uint8_t *buf; /* chunk_bytes, 4 KiB aligned */
    uint64_t pos; /* file position of buf[0] */
    uint32_t bytes;
    bool cached;              /* written, on the cache's list */
    struct rb_log *log;       /* owner, while cached */
    struct rb_list_node link; /* on the cache list (oldest first) or the spares */
};

struct rb_tail_cache {
    uint64_t budget_bytes;
    uint64_t limit_bytes;       /* the shard's budget's cap (UINT64_MAX: none) */
    uint64_t bytes;             /* cached chunks */
    struct rb_list_node cached; /* rb_chunk.link, oldest first */
    struct rb_list_node spares; /* rb_chunk.link, all of one size */
    int n_spares;
    uint64_t evicted_chunks; /* statistics (yielded_chunks included) */
    uint64_t yielded_chunks; /* evicted because of limit_bytes */
};

/* budget_bytes 0: nothing is kept once written (the behaviour without a cache). */
struct rb_tail_cache *rb_tail_cache_new(uint64_t budget_bytes);
/* Every log using it must be closed first. */
void rb_tail_cache_free(struct rb_tail_cache *tc);
uint64_t rb_tail_cache_bytes(const struct rb_tail_cache *tc);
/* The memory it holds: cached chunks and spare buffers (tc may be NULL: 0). */
uint64_t rb_tail_cache_mem(const struct rb_tail_cache *tc);
/* Keep at most min(budget_bytes, bytes) cached from now on: evicts the oldest
 * chunks at once; below budget_bytes the spares are freed too. Owner shard only,
 * never from inside a storage call (the logs' chunk arrays change). Returns the
 * bytes given back. */
uint64_t rb_tail_cache_limit(struct rb_tail_cache *tc, uint64_t bytes);

/* ---- storage-internal ---- */

/* A chunk of `bytes`, from the spares when one fits (tc may be NULL). Its bytes
 * are NOT zeroed: a fresh buffer's pages are touched (become resident) only as
 * appends fill them, so a partition written a little holds little memory (issue
 * 14: 10,000 written partitions held 10,000 x 256 KiB); the log zeroes the pad
 * of a partial last block before writing it (rb_log_zero_pad). */
struct rb_chunk *rb_chunk_get(struct rb_tail_cache *tc, uint32_t bytes);
/* Give a chunk back (to the spares, else freed). Must not be cached. */
void rb_chunk_put(struct rb_tail_cache *tc, struct rb_chunk *c);
/* c (of log, written out) becomes the newest cached chunk. Does not evict. */
void rb_tail_cache_push(struct rb_tail_cache *tc, struct rb_log *log, struct rb_chunk *c);
/* Take c off the cache list (its log drops it). */
void rb_tail_cache_unlink(struct rb_tail_cache *tc, struct rb_chunk *c);
/* Evict oldest-first until within budget (calls rb_log_chunk_evict). */
void rb_tail_cache_trim(struct rb_tail_cache *tc);

#endif
