/*
 * net/peer.h - an outgoing connection from one shard to another broker, over the
 * shard's io_uring: connect, send one request frame, receive its response frame.
 * One request at a time (the replica fetcher's long poll needs no more). Used by
 * net/replica_fetch.c: one peer per (follower shard, leader broker), not one per
 * partition.
 *
 * A failure (connect refused, reset, EOF, a frame over the limit, the request's
 * timeout) closes the socket once every operation in flight is back and reports
 * the error to the callback; the next rb_peer_send connects again (the caller
 * backs off). Addresses come resolved (IPv4 or IPv6) from the metadata snapshot:
 * the coordination thread resolves broker names (coord/resolve.h), never a shard.
 */
#ifndef RB_NET_PEER_H
#define RB_NET_PEER_H

#include "coord/metadata.h"
#include "core/shard.h"
#include "core/wire.h"

#include <stdbool.h>
#include <stdint.h>

struct rb_peer;
/* The response to the request in flight: err 0 and the frame's bytes after its
 * size (the response header first), valid during the call; or err < 0 and no
 * bytes. */
typedef void (*rb_peer_resp_fn)(struct rb_peer *p, int err, const uint8_t *body, uint32_t len,
                                void *arg);

struct rb_peer *rb_peer_new(struct rb_shard *s, int32_t broker_id, rb_peer_resp_fn fn, void *arg);
/* The broker's resolved address (copied); a change closes the connection (the
 * request in flight fails). 0, or -EINVAL (not resolved: len 0, or not IPv4/IPv6),
 * after which sends fail with -EINVAL until an address is set. */
int rb_peer_set_addr(struct rb_peer *p, const struct rb_sockaddr *a);
/* Send one whole request frame (size prefix included; copied), connecting first
 * when needed; the response (or the failure) comes to the callback, at the
 * latest after timeout_ms. max_resp bounds the response frame. 0, -EBUSY (one in
 * flight or closing), -EINVAL (no address), -errno (socket). */
int rb_peer_send(struct rb_peer *p, const uint8_t *frame, uint32_t len, uint32_t max_resp,
                 int64_t timeout_ms);
bool rb_peer_busy(const struct rb_peer *p);
/* Stopping: abort what is in flight (no callback any more); quiet once nothing
 * is in flight, then rb_peer_free. */
void rb_peer_close(struct rb_peer *p);
bool rb_peer_quiet(const struct rb_peer *p);
void rb_peer_free(struct rb_peer *p);

#endif
