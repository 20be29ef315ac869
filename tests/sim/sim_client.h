/*
 * tests/sim/sim_client.h - a simulated Kafka client connection: the client end
 * of a socketpair whose other end the broker accepts (sim_net_connect), request
 * encoding with the generated codecs (net/proto_gen.h), response decoding and
 * dispatch by correlation id. Non-blocking: sim_conn_pump moves what it can.
 *
 * Every request gets exactly one callback: with the decoded response, or with
 * resp == NULL when the connection closed first (dropped by a fault, closed by
 * the broker, or the broker went away). A request outstanding past its
 * deadline is a parked waiter: sim_conn_overdue reports it.
 */
#ifndef RB_SIM_SIM_CLIENT_H
#define RB_SIM_SIM_CLIENT_H

#include "net/proto_gen.h"
#include "tests/sim/sim.h"

#define SIM_MAX_PENDING 64

struct sim_conn;
typedef void (*sim_resp_fn)(struct sim_conn *c, void *ctx, const void *resp);

struct sim_pending {
    int32_t corr;
    int16_t key, ver;
    sim_resp_fn fn;
    void *ctx;
    int64_t deadline_ns;
};

struct sim_conn {
    int fd; /* -1: closed */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    uint8_t *in;
    size_t in_len, in_cap;
    struct sim_pending pend[SIM_MAX_PENDING];
    int n_pend;
    int32_t next_corr;
    struct rb_arena arena;
    const char *name; /* for logs */
};

/* Open (connect) c; 0 or -errno. */
int sim_conn_open(struct sim_conn *c, const char *name);
bool sim_conn_is_open(const struct sim_conn *c);
/* Queue a request; fn runs later (never inline). deadline_ns: when an answer
 * is overdue (sim_conn_overdue). Returns 0, or -EAGAIN when too many pending. */
int sim_conn_send(struct sim_conn *c, int16_t key, int16_t ver, const void *req, sim_resp_fn fn,
                  void *ctx, int64_t deadline_ns);
/* Send and receive what the sockets allow; runs callbacks. > 0 if progress. */
int sim_conn_pump(struct sim_conn *c);
/* Close now (pending callbacks get NULL). */
void sim_conn_close(struct sim_conn *c);
/* The oldest pending request past its deadline, or NULL. */
const struct sim_pending *sim_conn_overdue(const struct sim_conn *c);

#endif
