/*
 * coord/liveness.h - fast detection of dead brokers (coord/liveness.c): the
 * coordination thread probes the other live brokers' listeners with a
 * non-blocking TCP connect every `broker.liveness.probe.interval.ms` (ringbroker's
 * key, default 300, 0 = off: Kafka's behaviour, session expiry only).
 *
 * Why a refused connect: a process that died leaves no listener, so a connect to
 * it is refused at once (ECONNREFUSED); a paused (SIGSTOP) or partitioned broker
 * never refuses (the kernel still completes the handshake into the backlog, or
 * the connect stays pending). A shard whose connection to a broker failed (a
 * follower's fetch, net/replica_fetch.c) hints the coordination thread
 * (rb_coord_liveness_hint, coord/coord.h): a round of probes runs at once and
 * the next RB_LIVE_HINT_GAP_MS later. Rules (rb_live_note):
 *   - only a broker that accepted a probe since its current registration counts
 *     (a starting broker registers before its listener opens: never declared dead
 *     while it starts; one that dies before listening waits for session expiry);
 *   - RB_LIVE_REFUSALS refusals in a row declare it dead; anything else (accepted,
 *     pending, another error) resets the count;
 *   - a new incarnation (the registration's version or data changed: a broker
 *     restarted and registered again) starts from scratch.
 * Declared dead, its registration goes (rb_live_remove): /brokers/ids/<id> is
 * deleted only while it is the incarnation probed (same version and data; the
 * data holds the registration's timestamp), together with /controller when that
 * names it (same multi), so the controller election and the leader elections run
 * now instead of at session expiry. A live broker whose registration vanished
 * registers again at once (coord/cluster.c watches /brokers/ids).
 */
#ifndef RB_COORD_LIVENESS_H
#define RB_COORD_LIVENESS_H

#include "coord/kafka_zk.h"
#include "coord/quorum.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_LIVE_REFUSALS 2
/* After a shard's hint (a connection to a broker failed): a round of probes at
 * once and the next one this much later, at most one hinted round per gap. */
#define RB_LIVE_HINT_GAP_MS 50

enum rb_probe {
    RB_PROBE_UP = 1,      /* the connect succeeded */
    RB_PROBE_REFUSED = 2, /* ECONNREFUSED: nobody listens there */
    RB_PROBE_UNKNOWN = 3  /* pending, unreachable, no address: proves nothing */
};

struct rb_live_peer {
    int32_t id;
    int64_t reg_version; /* the incarnation probed */
    uint64_t reg_hash;
    bool seen_up; /* accepted a probe in this incarnation */
    int refusals; /* in a row */
    int fd;       /* a connect in flight, or -1 */
};

struct rb_liveness {
    int n, cap;
    struct rb_live_peer *p;
};

/* FNV-1a of a registration's bytes. */
uint64_t rb_live_hash(const char *data, size_t len);
/* Match the peers to the live brokers (sorted by id; self left out): new ones
 * and new incarnations start from scratch, gone ones are dropped (their probe
 * closed). */
void rb_live_sync(struct rb_liveness *lv, const struct rb_kzk_broker *b, int n, int32_t self);
/* One probe's outcome; true when the peer is now to be declared dead. */
bool rb_live_note(struct rb_live_peer *p, enum rb_probe r);
/* Remove broker id's registration when it is still the incarnation (version,
 * hash), with /controller in the same multi when that names it. 0 (removed, or
 * already gone), -ESTALE (another incarnation, or /controller changed
 * meanwhile), or the quorum's error. */
int rb_live_remove(struct rb_quorum *q, int32_t id, int64_t version, uint64_t hash);
void rb_live_free(struct rb_liveness *lv);

#endif
