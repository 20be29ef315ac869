/*
 * coord/resolve.h - broker host names resolved on the coordination thread.
 *
 * Shards never block on DNS, so the coordination thread (which may) keeps a
 * cache of the live brokers' advertised host:port pairs and their resolved
 * addresses (IPv4 preferred, else IPv6), copied into each metadata snapshot
 * (rb_broker_meta.addr). It looks a name up when the broker appears or its
 * registration changes, again every RB_RESOLVE_INTERVAL_MS, and sooner (not
 * more often than RB_RESOLVE_AGAIN_MS) when a shard reports a failed connect. A
 * name that does not resolve is logged once per interval and tried again (every
 * RB_RESOLVE_AGAIN_MS while it never resolved; a failure after a success keeps
 * the last good address).
 */
#ifndef RB_COORD_RESOLVE_H
#define RB_COORD_RESOLVE_H

#include "coord/kafka_zk.h"
#include "coord/metadata.h"

#include <stdbool.h>
#include <stdint.h>

#define RB_RESOLVE_INTERVAL_MS 30000
#define RB_RESOLVE_AGAIN_MS    5000

/* One lookup: 0 and *out (port set), or -ENOENT (no such name), -EAGAIN (a
 * temporary failure), -EIO. "" means localhost. Blocks (getaddrinfo). */
typedef int (*rb_lookup_fn)(const char *host, uint16_t port, struct rb_sockaddr *out);
int rb_resolve_lookup(const char *host, uint16_t port, struct rb_sockaddr *out);

struct rb_resolve_entry {
    char host[RB_KZK_HOST_MAX];
    uint16_t port;
    struct rb_sockaddr addr; /* len 0: not resolved */
    int err;                 /* the last lookup's */
    int64_t at_ms;           /* of the last lookup */
    int64_t warned_ms;       /* of the last warning about it (INT64_MIN: none) */
};

struct rb_resolver {
    rb_lookup_fn lookup;
    int64_t interval_ms;
    int n;
    struct rb_resolve_entry *e;
    int64_t lookups;  /* how many were made (tests) */
    int64_t warnings; /* how many "does not resolve" lines were logged (tests) */
};

/* lookup NULL: rb_resolve_lookup. */
void rb_resolver_init(struct rb_resolver *r, rb_lookup_fn lookup, int64_t interval_ms);
void rb_resolver_free(struct rb_resolver *r);
/* Make the cache hold exactly the brokers' host:port pairs: new pairs are looked
 * up now, known ones whose last lookup is max_age_ms old or more again (pass
 * r->interval_ms normally, RB_RESOLVE_AGAIN_MS after a connect failure; never
 * resolved ones: RB_RESOLVE_AGAIN_MS at most). True
 * when any pair's address differs from before (a snapshot to publish). */
bool rb_resolver_sync(struct rb_resolver *r, const struct rb_kzk_broker *b, int n, int64_t now_ms,
                      int64_t max_age_ms);
/* The cached address of host:port, or NULL (not in the cache or not resolved). */
const struct rb_sockaddr *rb_resolver_addr(const struct rb_resolver *r, const char *host,
                                           uint16_t port);
/* "1.2.3.4:9092" or "[::1]:9092" (tests, logs); "-" when not resolved. */
void rb_sockaddr_str(const struct rb_sockaddr *a, char *buf, size_t cap);

#endif
