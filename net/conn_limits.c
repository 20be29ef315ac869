/*
 * net/conn_limits.c - connection limits shared by every shard of the broker:
 * max.connections (one broker-wide count) and max.connections.per.ip (a count
 * per peer address), checked when a shard accepts a connection.
 *
 * Kafka closes a connection over max.connections.per.ip at once; over
 * max.connections it stops accepting until a slot frees. Here both close the new
 * connection at once (the client retries with its reconnect back-off), so a flood
 * never holds descriptors or memory beyond the limits.
 *
 * The counts are shared without locks: an atomic total in struct rb_broker and a
 * fixed open-addressing table of RB_IP_SLOTS (address hash -> count) whose
 * slots are claimed by compare-and-swap and never given back (a count drops to
 * 0). An address that finds no slot in RB_IP_PROBE probes is not limited per
 * address (the table is full of other addresses); the total still applies.
 * Invariant: every admitted connection is released exactly once (conn free).
 */
#include "core/rb.h"
#include "net/net.h"

#include <netinet/in.h>
#include <string.h>

#define RB_IP_PROBE 32

/* FNV-1a of the address bytes (not the port), never 0 (0 marks a free slot). */
static uint64_t addr_key(const struct sockaddr_storage *ss)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    if (ss->ss_family == AF_INET) {
        p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
        len = 4;
    } else if (ss->ss_family == AF_INET6) {
        p = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
        len = 16;
    }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h | 1;
}

static int32_t ip_slot(struct rb_broker *b, uint64_t key)
{
    for (uint32_t i = 0; i < RB_IP_PROBE; i++) {
        uint32_t at = (uint32_t)(key + i) & (RB_IP_SLOTS - 1);
        uint64_t k = atomic_load(&b->ip_slots[at].key);
        if (k == key)
            return (int32_t)at;
        if (k == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&b->ip_slots[at].key, &zero, key) || zero == key)
                return (int32_t)at;
        }
    }
    return -1;
}

const char *rb_conn_admit(struct rb_broker *b, const struct sockaddr_storage *ss, int32_t *slot)
{
    *slot = -1;
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        int32_t at = ip_slot(b, addr_key(ss));
        if (at >= 0) {
            int32_t had = atomic_fetch_add(&b->ip_slots[at].n, 1);
            if (had >= b->bc->max_connections_per_ip) {
                atomic_fetch_sub(&b->ip_slots[at].n, 1);
                return "max.connections.per.ip";
            }
            *slot = at;
        }
    }
    int32_t total = atomic_fetch_add(&b->conns, 1);
    if (total >= b->bc->max_connections) {
        atomic_fetch_sub(&b->conns, 1);
        rb_conn_leave(b, *slot, false);
        *slot = -1;
        return "max.connections";
    }
    return NULL;
}

void rb_conn_leave(struct rb_broker *b, int32_t slot, bool counted)
{
    if (slot >= 0) {
        RB_ASSERT(slot < RB_IP_SLOTS && atomic_load(&b->ip_slots[slot].n) > 0);
        atomic_fetch_sub(&b->ip_slots[slot].n, 1);
    }
    if (counted) {
        RB_ASSERT(atomic_load(&b->conns) > 0);
        atomic_fetch_sub(&b->conns, 1);
    }
}
