/*
 * coord/cluster_int.h - state shared by the files of the cluster backend: this
 * broker's view of the quorum (brokers, controller, topics, partition states,
 * topic configs), the session and its events, the controller's own state and the
 * admin operations waiting for their effect to be published. Not a public API:
 * everything here runs on the coordination thread (and at open on the main
 * thread), except the event queue, which the quorum's thread fills under `mu`.
 *
 * Files: coord/cluster.c (events, snapshots and their publication, the
 * coordination thread's timers), coord/cluster_open.c (session, registration,
 * lease renewal, startup, close), coord/controller.c (election and the
 * controller's duties; coord/reassign.c partition reassignment), coord/cluster_admin.c (topic
 * creation, deletion, growth and config changes through the quorum), coord/cluster_local.c (the
 * file of this broker's local replicas and their shards), coord/cluster_view.c (reading the view:
 * brokers, controller, topics, states, configs), coord/liveness.c (the probes that find dead
 * brokers before their sessions expire).
 */
#ifndef RB_COORD_CLUSTER_INT_H
#define RB_COORD_CLUSTER_INT_H

#include "coord/kafka_zk.h"
#include "coord/liveness.h"
#include "coord/quorum.h"
#include "coord/resolve.h"
#include "coord/standalone_int.h"
#include "core/timer.h"

#include <pthread.h>
#include <stdatomic.h>

struct rb_cl_local;

#define RB_CL_MAX_EVENTS 4096 /* queued watch paths; beyond: re-read everything */

struct rb_cl_topic {
    char *name;
    bool assign_dirty;      /* /brokers/topics/<t> to re-read */
    bool config_dirty;      /* /config/topics/<t> to re-read */
    bool id_unwritten;      /* the node lost its topic_id: the controller writes it back */
    int64_t assign_version; /* -1: not read */
    struct rb_kzk_assignment a;
    /* per partition [a.n_partitions] */
    struct rb_kzk_state *st;
    int64_t *st_version; /* -1: no state node */
    bool *st_dirty;
    struct rb_kzk_config cfg;
};

/* An admin operation written to the quorum, answered once this broker published
 * its effect (or at its deadline). */
struct rb_cl_wait {
    struct rb_cl_wait *next;
    struct rb_coord_op *op;
    int64_t deadline_ms;
    bool (*ready)(struct rb_coord *c, struct rb_coord_op *op); /* effect visible in c->md */
    void (*timeout)(struct rb_coord *c, struct rb_coord_op *op);
};

struct rb_cluster {
    struct rb_coord *c;
    struct rb_quorum *q;
    struct rb_quorum_config qcfg;
    char backend[16];
    int32_t self;
    int32_t session_ms; /* negotiated */
    int32_t connect_ms;
    struct rb_kzk_broker me; /* what /brokers/ids/<self> says */

    /* events (the quorum thread -> the coordination thread) */
    pthread_mutex_t mu;
    bool ev_expired, ev_all;
    int n_ev;
    char *ev_paths[RB_CL_MAX_EVENTS];
    bool ev_children[RB_CL_MAX_EVENTS];
    int efd;
    struct rb_io efd_io;
    uint64_t efd_buf;
    bool efd_armed;

    /* the view */
    bool brokers_dirty, controller_dirty, topics_dirty, configs_dirty, deletes_dirty;
    bool isr_notes_dirty; /* the controller: /isr_change_notification to consume */
    int n_brokers;
    struct rb_kzk_broker *brokers; /* live, sorted by id */
    int32_t controller_id;         /* -1: none */
    int n_topics;
    struct rb_cl_topic *topics;
    int n_dyn; /* dynamic broker configs (/config/brokers/...) */
    struct rb_dyn_config_kv *dyn;
    bool view_changed;    /* since the last snapshot */
    bool deferred;        /* replicas wait for an older incarnation's log to go */
    bool configs_changed; /* topic configs: shards reconfigure their logs */
    bool session_lost;    /* expired, not re-established yet */

    /* the controller (when this broker is it) */
    bool is_controller;
    int32_t ctl_epoch;
    int64_t ctl_epoch_version;
    uint64_t rnd_state;

    /* leader lease: monotonic ms until which this broker may accept writes */
    _Atomic int64_t lease_until;
    /* After a session expiry no lease is granted until a view read in the new
     * session has been published and applied by every shard (until then a shard's
     * snapshot may still name this broker leader of partitions moved meanwhile). */
    bool lease_hold;
    uint64_t pub_seq, pub_done_seq, hold_release_seq; /* publications: made, applied */
    int64_t next_renew_ms;
    struct rb_timer lease_timer;
    struct rb_timer retry_timer;
    struct rb_timer wait_timer;

    /* controlled shutdown (coord/shutdown.c) */
    bool shutdown_dirty; /* /ringbroker/controlled_shutdown to re-read */
    int n_shutting;      /* brokers that asked for a controlled shutdown */
    int32_t *shutting;
    _Atomic bool cs_requested; /* the main thread asked for this broker's */
    _Atomic int cs_left;       /* partitions still led here that others could lead; -1: not yet */

    /* preferred leader election (coord/preferred.c) */
    bool pe_dirty;   /* /admin/preferred_replica_election to re-read */
    bool pe_pending; /* it exists: the controller runs it */
    char *pe_data;   /* its JSON */
    int64_t pe_version;
    bool rebalance_due; /* auto.leader.rebalance.enable: check now */

    /* partition reassignment (coord/reassign.c) */
    bool ra_dirty;   /* /admin/reassign_partitions to re-read */
    bool ra_pending; /* it exists: the controller runs it */
    char *ra_data;   /* its JSON */
    int64_t ra_version;
    struct rb_timer rebalance_timer;

    /* the live brokers' names resolved here, never on a shard (coord/resolve.c) */
    struct rb_resolver res;
    atomic_bool resolve_again; /* a shard failed to connect to a broker */
    struct rb_timer resolve_timer;

    /* the other brokers' listeners probed (coord/liveness.c) */
    struct rb_liveness live;
    struct rb_timer probe_timer;
    int64_t hint_next_ms; /* a shard's hint runs a round no sooner */

    int64_t pid_next, pid_end; /* the producer id block in hand: [next, end) */
    struct rb_cl_wait *waits;
    bool started; /* the coordination thread runs the backend */
};

/* ---- cluster_view.c ---- */
/* Re-read everything marked dirty; 0 or the quorum's error (noted with
 * rb_cl_quorum_error). */
int rb_cl_read_dirty(struct rb_cluster *cl);
/* Re-read (and watch) an admin request node for the controller
 * (/admin/preferred_replica_election, /admin/reassign_partitions): its data and
 * version into *data (the old freed) and *version, *pending whether it exists,
 * *dirty cleared once read. 0 or the quorum's error. */
int rb_cl_read_request(struct rb_cluster *cl, const char *path, char **data, int64_t *version,
                       bool *pending, bool *dirty);
void rb_cl_topic_free(struct rb_cl_topic *t);
void rb_cl_dyn_free(struct rb_dyn_config_kv *d, int n);

/* ---- cluster_open.c ---- */
/* A quorum round trip that, when it succeeds, extends the leader lease (unless
 * lease_hold). */
void rb_cl_renew_lease(struct rb_cluster *cl);
/* The lease hold after an expiry: set it; a publication made (complete: of a view
 * with nothing left to read); a publication applied by every shard (the one that
 * releases the hold renews the lease). */
void rb_cl_lease_hold(struct rb_cluster *cl);
void rb_cl_lease_published(struct rb_cluster *cl, bool complete);
void rb_cl_lease_applied(struct rb_cluster *cl);
/* After an expiry: a new session, registered again; false when it failed. */
bool rb_cl_reconnect(struct rb_cluster *cl);

/* ---- shutdown.c ---- */
/* Whether broker id asked for a controlled shutdown. */
bool rb_cl_shutting(const struct rb_cluster *cl, int32_t id);
/* Re-read (and watch) the brokers asking for a controlled shutdown. */
int rb_cs_read(struct rb_cluster *cl);
/* After a sync: ask when the main thread wants a controlled shutdown, and count
 * what this broker still leads. */
void rb_cs_step(struct rb_cluster *cl);
/* The controller: move leaderships and ISR membership off shutting brokers. */
bool rb_cs_ctl_run(struct rb_cluster *cl);
/* Main thread, on SIGTERM: ask and wait (bounded); 0 or -ETIMEDOUT. */
int rb_coord_cluster_controlled_shutdown(struct rb_cluster *cl, const struct rb_broker_config *bc);

/* ---- preferred.c ---- */
/* The controller: run a preferred election request, and the periodic rebalance
 * when due. */
bool rb_pe_ctl_run(struct rb_cluster *cl);

/* ---- reassign.c, reassign_api.c ---- */
/* Partition p's assignment during its move to m: RS = TRS + (ORS - TRS), adding
 * TRS - ORS, removing ORS - TRS, where ORS is a's replicas minus a's adding. */
struct rb_ra_moving {
    int32_t n_rs, n_add, n_rem;
    int32_t rs[RB_KZK_MAX_REPLICAS * 2], add[RB_KZK_MAX_REPLICAS], rem[RB_KZK_MAX_REPLICAS];
};
void rb_ra_plan(const struct rb_kzk_assignment *a, int32_t p, const struct rb_kzk_move *m,
                struct rb_ra_moving *mv);
/* The controller: the next step of the reassignments asked for; true when it
 * wrote. */
bool rb_ra_ctl_run(struct rb_cluster *cl);

/* ---- cluster.c ---- */
/* The quorum's event callback (records and wakes the coordination thread). */
void rb_cl_on_event(void *ctx, enum rb_qevent ev, const char *path);
void rb_cl_mark_all_dirty(struct rb_cluster *cl);
/* A snapshot of the view; local partitions placed from old, then loc, else the
 * least loaded shard. */
struct rb_metadata *rb_cl_build_md(struct rb_cluster *cl, const struct rb_metadata *old,
                                   const struct rb_cl_local *loc, int n_loc);
/* Open (create or recover) local replica p of t. */
int rb_cl_open_local(struct rb_coord *c, const struct rb_topic_meta *t, int32_t p,
                     struct rb_log **log);
/* Renew the leader lease now when it is due (long work calls it on the way). */
void rb_cl_lease_tick(struct rb_cluster *cl);
/* Bring the view up to date with the quorum, run the controller's duties when
 * this broker is the controller, and publish a new snapshot when anything
 * changed. Runs on the coordination thread (cs), or at open (cs NULL). */
void rb_cl_sync(struct rb_shard *cs, struct rb_cluster *cl);
struct rb_cl_topic *rb_cl_topic_find(struct rb_cluster *cl, const char *name);
bool rb_cl_broker_live(const struct rb_cluster *cl, int32_t id);
/* A quorum call failed with a session error: note it (the next sync reconnects). */
void rb_cl_quorum_error(struct rb_cluster *cl, int err);
uint32_t rb_cl_rand(void *cl);
/* Admin op bookkeeping: wait until ready(c, op) after a publication. */
void rb_cl_wait_add(struct rb_shard *cs, struct rb_cluster *cl, struct rb_coord_op *op,
                    int64_t timeout_ms, bool (*ready)(struct rb_coord *, struct rb_coord_op *),
                    void (*timeout)(struct rb_coord *, struct rb_coord_op *));

/* Detached nodes (the simulator, tests/sim/clustersim.c): a broker's quorum logic -
 * registration, the view, elections, the controller's duties, the lease - with no
 * coordinator, shards or logs. The caller drives it: rb_cl_sync(NULL, cl) after
 * events, rb_cl_tick(cl) every session_timeout/6 (lease, reconnection). */
struct rb_cluster *rb_cl_detached_open(int32_t self, const struct rb_kzk_broker *me,
                                       const struct rb_quorum_config *qc, char *err, size_t errlen);
void rb_cl_tick(struct rb_cluster *cl);
void rb_cl_detached_close(struct rb_cluster *cl);

/* ---- controller.c ---- */
/* Try to become the controller when /controller is free. */
void rb_ctl_elect(struct rb_cluster *cl);
/* The controller's duties over the current view (topic ids, partition states,
 * leader elections, deletions). Returns true when it wrote something (the caller
 * re-reads what changed). */
bool rb_ctl_run(struct rb_cluster *cl);
/* The controller's writes: ops[0] is the epoch check (filled here). */
int rb_ctl_multi(struct rb_cluster *cl, struct rb_qop *ops, int n);
/* Write /brokers/topics/<t> (js, freed here; fenced, conditional on the version
 * read; the node is read again after); true when written. */
bool rb_ctl_set_topic(struct rb_cluster *cl, struct rb_cl_topic *t, char *js);
/* Write partition p's new state (fenced, conditional on its version); true when
 * written. */
bool rb_ctl_update_state(struct rb_cluster *cl, struct rb_cl_topic *t, int32_t p,
                         const struct rb_kzk_state *ns);

/* The next producer id, from a block of RB_PID_BLOCK_SIZE reserved in
 * /latest_producer_id_block ({"version":1,"broker":B,"block_start":"S",
 * "block_end":"E"}, Kafka 2.8's) with a version-conditional write. 0 or -errno. */
int rb_cl_alloc_producer_id(struct rb_cluster *cl, int64_t *id);

/* ---- isr_change.c ---- */
/* The leader's ISR change of topic-p, proposed in leader_epoch: broker add joins
 * or broker remove leaves (-1: none), applied to the state node as read, written
 * conditionally on its version (re-read and re-applied when it lost a race)
 * while the node names this broker leader in that epoch; then a
 * /isr_change_notification node. 0 (written, or already so), -ESTALE (no longer
 * that leadership), -EINVAL (add is no replica), or the quorum's error. */
int rb_cl_isr_change(struct rb_cluster *cl, const char *topic, int32_t p, int32_t leader_epoch,
                     int32_t add, int32_t remove);
/* The controller: partition p's state with its dead ISR members removed (never the
 * leader, never empty) and the leader epoch bumped; false when nothing to do. */
bool rb_ctl_isr_dead(struct rb_cluster *cl, const struct rb_cl_topic *t, int32_t p,
                     struct rb_kzk_state *ns);
/* The controller: consume /isr_change_notification (re-arms its watch). */
bool rb_ctl_isr_notes(struct rb_cluster *cl);

/* ---- liveness.c ---- */
/* One round of probes of the other live brokers' listeners (the coordination
 * thread's timer); true when a dead broker's registration was removed (the
 * caller re-reads the brokers). */
bool rb_cl_live_probe(struct rb_cluster *cl);
/* A round, and the view re-read and published when a registration was removed. */
void rb_cl_live_round(struct rb_shard *cs, struct rb_cluster *cl);

/* ---- cluster_local.c ---- */
/* The local replicas file (<first log dir>/ringbroker-replicas): one line per
 * partition hosted here: "<topic> <partition> <shard> <topic id>". */
struct rb_cl_local {
    char topic[256];
    int32_t partition;
    int16_t shard;
    uint8_t id[16];
};
int rb_cl_local_load(const char *dir, struct rb_cl_local **out, int *n, char *err, size_t errlen);
int rb_cl_local_save(const char *dir, const struct rb_metadata *md);

#endif
