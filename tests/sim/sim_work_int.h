/*
 * tests/sim/sim_work_int.h - the client state of one lifetime (sim_work.c,
 * sim_group.c), shared by those files only.
 */
#ifndef RB_SIM_SIM_WORK_INT_H
#define RB_SIM_SIM_WORK_INT_H

#include "tests/sim/sim_client.h"
#include "tests/sim/sim_work.h"

#define SIM_MAX_PRODUCERS 8

struct producer {
    struct sim_conn c;
    char name[24];
    uint32_t tag;
    bool idem, busy, retry, have_batch;
    int64_t pid;
    int16_t epoch;
    int32_t seq[SIM_PARTITIONS];
    uint32_t next_n;
    int part, count, left;
    uint32_t first;
    int64_t wake_ns;
};

struct fetcher {
    struct sim_conn c;
    bool busy;
    int64_t pos[SIM_PARTITIONS];
    int64_t acked_at_ask[SIM_PARTITIONS]; /* acked_end when the fetch was sent */
    int64_t wake_ns;
};

struct admin {
    struct sim_conn c;
    bool busy, asked_latest, have_md;
    bool asked_time; /* by timestamp 0: the first record (a scan inside its batch) */
    int64_t acked_at_ask[SIM_PARTITIONS];
    int64_t earliest[SIM_PARTITIONS];
    int64_t del_to;
    int64_t wake_ns;
};

enum member_state { M_FIND, M_JOIN, M_SYNC, M_COMMIT, M_FETCH_OFFSETS };

struct member {
    struct sim_conn c;
    char group[32];
    enum member_state st;
    bool busy;
    char member_id[128];
    int32_t generation;
    int64_t next_commit;
    int64_t acked[SIM_PARTITIONS];   /* last acknowledged commit, -1: none */
    int64_t unknown[SIM_PARTITIONS]; /* a commit whose answer was lost, -1: none */
    int64_t wake_ns;
    int commits_left;
};

struct work {
    int lifetime;
    bool quiesce; /* no new requests: let everything in flight finish */
    bool overdue_reported;
    struct producer prod[SIM_MAX_PRODUCERS];
    int n_prod;
    struct fetcher fetch;
    struct admin admin;
    struct member member;
    int64_t acked_end[SIM_PARTITIONS]; /* highest acked offset + 1 this lifetime */
};

extern struct work W;

int64_t sim_ms(int64_t ms);
void conn_ensure(struct sim_conn *c, const char *name, int64_t *wake);
void sim_work_setup(int lifetime);
int sim_work_act(void *arg, int64_t *wake);
void sim_group_setup(struct member *m, int lifetime);
int sim_group_act(struct member *m, int64_t *wake);
/* Every request of every client answered (or its connection closed)? */
bool sim_work_idle(void);

#endif
