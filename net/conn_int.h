/*
 * net/conn_int.h - what net/listen.c and net/conn.c share; not a public header.
 *
 * listen.c accepts and admits a connection, then hands it to conn.c; conn.c's
 * recvs draw from the buffer ring listen.c registers, and listen.c's idle sweep
 * and shutdown close connections through conn.c.
 */
#ifndef RB_NET_CONN_INT_H
#define RB_NET_CONN_INT_H

#include "net/net.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The provided-buffer group of every connection's recv. */
#define RB_NET_BGID 1

/* Take over fd, admitted with slot (rb_conn_admit), and start reading. On failure
 * closes fd and leaves slot. ss: the peer's address, read during the call. */
void rb_conn_new(struct rb_net *n, int fd, int32_t slot, const struct sockaddr_storage *ss);

/* Close c now (CLOSING); c is freed once nothing refers to it (may be at once).
 * why: for the debug log, or NULL. */
void rb_conn_close(struct rb_conn *c, const char *why);

/* Memory came back since the last turn: dispatch the requests waiting for their
 * connection's budget and resume the connections paused by a budget. */
void rb_net_conn_turn(struct rb_net *n);

/* net/conn_mem.c: the budgets. charge: bytes (< 0: give back) to c and its
 * shard (frame: also the frame figures). over: c has reached, at num/den of
 * them, what stops reading it. may_dispatch: c's next request may go now. */
void rb_conn_charge(struct rb_conn *c, int64_t bytes, bool frame);
bool rb_conn_over(const struct rb_conn *c, int num, int den);
bool rb_conn_may_dispatch(const struct rb_conn *c);
/* The shard's memory turn: the tail cache yields to the budget, and free memory
 * goes back to the OS after a flood. */
void rb_net_mem_turn(struct rb_net *n);

/* Hand the receive buffer bid back to the shard's ring. */
void rb_net_buf_return(struct rb_net *n, unsigned bid);

#endif
